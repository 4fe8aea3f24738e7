"""Names from the tracked program (functions, files, threads, tests) are
hostile input: no terminal report, message or parser output may carry
their control characters raw. They show as visible escapes (\\x1b, \\n)."""
import json
import subprocess

from conftest import FIXTURES, ROOT, record, run

PYTHON = "/usr/bin/python3"
ESC = "\x1b"

# a file name that clears the screen and breaks the line; a function that retitles the terminal
HOSTILE_SCRIPT = r'''
import types

code = compile("def f():\n    return bytearray(10**6)\n", "\x1b[2Jevil\n.py", "exec")
ns = {}
exec(code, ns)
kept = [ns["f"]()]

def g():
    return bytearray(2 * 10**6)

titled = types.FunctionType(g.__code__.replace(co_name="\x1b]0;t\x07", co_qualname="\x1b]0;t\x07"), globals())
kept.append(titled())
'''


def assert_inert(result, what):
    """No ESC or BEL byte anywhere, and no line of output starts inside a name."""
    for stream in (result.stdout, result.stderr):
        assert ESC not in stream and "\x07" not in stream, (what, stream)
        assert not any(line.startswith(".py") for line in stream.splitlines()), (what, stream)


def reports(capture):
    """Every text report of a capture, and its result."""
    for args in (["stats", "-n", "0"], ["summary", "-r", "0"], ["tree", "-b", "0"], ["parse"]):
        result = run(*args, capture)
        assert result.returncode == 0, result.stderr
        yield args[0], result


def test_python_names_are_escaped_in_text_reports(tmp_path):
    script = tmp_path / "hostile.py"
    script.write_text(HOSTILE_SCRIPT)
    result, capture = record(tmp_path, PYTHON, script)
    assert result.returncode == 0, result.stderr
    assert_inert(result, "run")
    seen = {}
    for name, out in reports(capture):
        assert_inert(out, name)
        seen[name] = out.stdout
    # the names are there, as text a reader can see
    for name in ("stats", "summary", "tree"):
        assert "\\x1b[2Jevil\\n.py" in seen[name], (name, seen[name])
        assert "\\x1b]0;t\\x07" in seen[name], (name, seen[name])
    assert "\\x1b[2Jevil\\x0a.py" in seen["parse"] or "\\x1b[2Jevil\\n.py" in seen["parse"]
    # JSON keeps the names exactly, escaped by JSON's rules
    data = json.loads(run("stats", "--json", "-n", "0", capture).stdout)
    locations = [e["location"] for e in data["top_allocations_by_size"]]
    assert any("\x1b[2Jevil\n.py" in loc for loc in locations), locations
    assert any(loc.startswith("\x1b]0;t\x07:") for loc in locations), locations


def test_thread_name_is_escaped(fixtures, tmp_path):
    result, capture = record(tmp_path, fixtures.build("hostile_thread.c"))
    assert result.returncode == 0, result.stderr
    for name, out in reports(capture):
        assert_inert(out, name)
    assert any("THREAD_NAME" in line and "\\x1b]0;pwn\\x07" in line for line in run("parse", capture).stdout.splitlines())
    html = tmp_path / "threads.html"
    assert run("flamegraph", "--split-threads", "-o", html, capture).returncode == 0
    assert ESC not in html.read_text()


def test_messages_quoting_names_are_escaped(tmp_path):
    """error() and warning() escape what they quote: here a program name."""
    result = run("run", "-q", "-o", tmp_path / "x.bin", "./\x1b]0;pwn\x07\n\x1b[2Jgone")
    assert result.returncode != 0
    assert_inert(result, "run")
    assert "\\x1b]0;pwn\\x07\\n\\x1b[2Jgone" in result.stderr, result.stderr


def hostile_check(tmp_path, *options):
    """`memray check` of a C suite with hostile test names, every test failing its leak budget."""
    prog = tmp_path / "hostile_tests"
    subprocess.run(["gcc", "-g", "-O0", "-I", str(ROOT), "-o", str(prog), str(FIXTURES / "hostile_tests.c")],
                   check=True)
    (tmp_path / "memray.yml").write_text("version: 1\ndefaults:\n  leak-budget: 0B\n")
    result = run("check", "--manifest", tmp_path / "memray.yml", *options, "--", prog, cwd=tmp_path,
                 env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 1, result.stderr
    return result


def test_check_says_test_names_escaped(tmp_path):
    """`memray check` names each test on stderr: the names stay text."""
    result = hostile_check(tmp_path)
    assert ESC not in result.stderr and "\x07" not in result.stderr, result.stderr
    assert "memray check: FAIL t.esc\\x1b]0;pwn\\x07\\n\\x1b[2J (leaks)" in result.stderr, result.stderr
    assert "memray check: FAIL t.bad\\xed\\xa0\\x80|\\xc0\\xaf|\\xf5\\xff|\u00e9 (leaks)" in result.stderr
    assert not any(line.startswith("::error::forged") for line in result.stderr.splitlines())


def test_junit_with_ill_formed_utf8_parses(tmp_path):
    """A surrogate (ED A0 80), an overlong '/' (C0 AF) and bytes F5-FF in a
    test name become U+FFFD: xmllint, ElementTree and junitparser read it."""
    import xml.etree.ElementTree as ET
    import junitparser

    hostile_check(tmp_path, "--junit", tmp_path / "j.xml")
    lint = subprocess.run(["xmllint", "--noout", str(tmp_path / "j.xml")], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stderr
    names = [c.get("name") for c in ET.parse(tmp_path / "j.xml").getroot().iter("testcase")]
    # as many U+FFFD as Python's own "replace" decoding gives, the good character kept
    bad = b"t.bad\xed\xa0\x80|\xc0\xaf|\xf5\xff|\xc3\xa9".decode("utf-8", "replace")
    assert bad in names, names
    suite = list(junitparser.JUnitXml.fromfile(str(tmp_path / "j.xml")))[0]
    assert sum(1 for _ in suite) == 4 and suite.failures == 4


def markdown_cells(text):
    """The name cells of the Markdown table (split on unescaped pipes)."""
    import re
    rows = [l for l in text.splitlines() if l.startswith("| FAIL")]
    cells = [[c.strip() for c in re.split(r"(?<!\\)\|", r)[1:-1]] for r in rows]
    assert all(len(c) == 5 for c in cells), rows
    return [c[1] for c in cells]


def test_markdown_names_are_text(tmp_path):
    """Raw HTML, links, images and table pipes in a test name are escaped."""
    hostile_check(tmp_path, "--markdown", tmp_path / "m.md")
    text = (tmp_path / "m.md").read_text()
    assert "<img" not in text and "](javascript" not in text and ESC not in text
    names = markdown_cells(text)
    assert "t.md&lt;img src=x onerror=alert\\(1\\)&gt;\\[x\\]\\(javascript:alert\\(1\\)\\)\\|\\*\\_\\`\\#\\!\\\\ (leaks)" \
        in names, names
    # the newline in a name does not end the row
    assert "t.nl ::error::forged%0A\\\\r (leaks)" in names, names


def test_annotations_stay_one_command_each(tmp_path):
    """GitHub's rules: % CR LF as %25 %0D %0A, so a name's newline starts no command."""
    result = hostile_check(tmp_path)
    lines = result.stdout.splitlines()
    assert [l for l in lines if l.startswith("::")] == lines and len(lines) == 4, lines
    assert "::error title=memray%3A t.nl%0A%3A%3Aerror%3A%3Aforged%250A%0D::leaked 1000B exceeds budget 0B" in lines
    assert ESC not in result.stdout and "\x07" not in result.stdout
