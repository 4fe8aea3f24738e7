"""`memray check`, test by test: a real pytest suite, a real Check suite in fork
mode, C programs with memray_test.h markers, baselines, suppressions, and the
JUnit, Markdown and GitHub annotations they give."""
import json
import os
import re
import shutil
import subprocess
import textwrap
import xml.etree.ElementTree as ET

import junitparser
import pytest

from conftest import FIXTURES, MEMRAY, ROOT, line_of, run

PYTHON = "/usr/bin/python3"
XSD = ROOT / "tests" / "schema" / "junit.xsd"
MIB = 1024 * 1024
# what CPython adds around a bytearray's buffer and what the test's own call makes
SLACK = 4096

SUITE = '''
import pytest

KEPT = []

def test_small():
    assert sum([1, 2, 3]) == 6

def test_big():
    block = bytearray(30 * 1024 * 1024)
    assert len(block) == 30 * 1024 * 1024

def test_leaks():
    KEPT.append(bytearray(1000000))

@pytest.mark.limit_memory("24 MB")
def test_marked_within():
    block = bytearray(20 * 1024 * 1024)
    assert block[0] == 0

@pytest.mark.limit_memory("1 MiB")
def test_marked_over():
    block = bytearray(2 * 1024 * 1024)
    assert block[0] == 0

@pytest.mark.limit_leaks("2 MB")
def test_leak_allowed():
    KEPT.append(bytearray(1500000))

@pytest.mark.limit_leaks("1 KiB")
def test_leak_marked():
    KEPT.append(bytearray(300000))

def test_fails_on_its_own():
    assert 1 + 1 == 3
'''

MANIFEST = '''
version: 1
defaults:
  budget: 16MiB
  leak-budget: 16KiB
'''


def validate(path):
    result = subprocess.run(["xmllint", "--noout", "--schema", str(XSD), str(path)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def failed_cases(path):
    suite = ET.parse(path).getroot().find("testsuite")
    return {(c.get("name"), c.get("classname")): c for c in suite.iter("testcase")
            if c.find("failure") is not None}


def props(case):
    """A testcase's figures: its system-out's "name: value" lines (no properties in a testcase)."""
    assert case.find("properties") is None
    lines = (case.find("system-out").text or "").splitlines()
    return {m.group(1): int(m.group(2)) for m in (re.fullmatch(r"(\w+): (\d+)", l) for l in lines) if m}


def junitparser_counts(path):
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = list(xml) if isinstance(xml, junitparser.JUnitXml) else [xml]
    assert len(suites) == 1
    suite = suites[0]
    failures = errors = cases = 0
    for case in suite:
        cases += 1
        failures += any(isinstance(r, junitparser.Failure) for r in case.result)
        errors += any(isinstance(r, junitparser.Error) for r in case.result)
    assert (suite.tests, suite.failures, suite.errors) == (cases, failures, errors)
    return cases, failures, errors


MD_HEADER = "| Result | Rule | Measured | Limit | Details |"


def markdown_rows(path):
    """The rows of the report's verdict tables (failures, closest to their
    limits, the others), in order, as lists of cells; checks each table is
    well formed."""
    text = path.read_text()
    assert len(text.encode()) < 1024 * 1024
    lines = text.splitlines()
    assert MD_HEADER in lines
    rows, in_table = [], False
    for n, line in enumerate(lines):
        if line == MD_HEADER:
            assert lines[n + 1] == "|---|---|---|---|---|"
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and line != "|---|---|---|---|---|":
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            assert len(cells) == 5, line
            rows.append(cells)
    return rows


def suite_line(text):
    """The line of SUITE (as written to test_suite.py) that holds text."""
    return next(n for n, line in enumerate(SUITE.splitlines(), 1) if text in line)


@pytest.fixture(scope="module")
def pytest_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pysuite")
    (tmp / "test_suite.py").write_text(SUITE)
    (tmp / "memray.yml").write_text(MANIFEST)
    result = run("check", "--manifest", tmp / "memray.yml", "--junit", tmp / "j.xml", "--markdown", tmp / "m.md",
                 "--", PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_suite.py", cwd=tmp,
                 env={"GITHUB_ACTIONS": "true"})
    return tmp, result


def test_pytest_names_exactly_the_failed_tests(pytest_run):
    tmp, result = pytest_run
    failed = failed_cases(tmp / "j.xml")
    assert set(failed) == {("test_suite.py::test_big", "memray.peak"), ("test_suite.py::test_leaks", "memray.leaks"),
                           ("test_suite.py::test_marked_over", "memray.peak"),
                           ("test_suite.py::test_leak_marked", "memray.leaks")}, result.stderr
    big = failed[("test_suite.py::test_big", "memray.peak")]
    assert big.get("file") == "test_suite.py"	# GitHub's annotations land on the test file
    p = props(big)
    assert 30 * MIB <= p["bytes"] <= 30 * MIB + SLACK and p["limit_bytes"] == 16 * MIB
    assert big.find("failure").get("type") == "BudgetExceeded"
    assert re.fullmatch(r"peak 30\.0\d\dMiB exceeds budget 16\.000MiB \(\+87\.5%\)",
                        big.find("failure").get("message"))
    assert "limit: 16777216 bytes (%s:4:11)" % (tmp / "memray.yml") in big.find("failure").text
    # the stacks that explain it are Python frames: function, file and line
    assert "30.000MiB (31457281 bytes) in 1 allocations at test_big:%s:%d" % (
        tmp / "test_suite.py", suite_line("block = bytearray(30")) in big.find("failure").text
    leak = failed[("test_suite.py::test_leaks", "memray.leaks")]
    p = props(leak)
    assert 1000000 <= p["bytes"] <= 1000000 + SLACK and p["limit_bytes"] == 16384
    assert leak.find("failure").get("type") == "LeakDetected"
    assert "(1000001 bytes) in 1 allocations at test_leaks:%s:%d" % (
        tmp / "test_suite.py", suite_line("KEPT.append(bytearray(1000000))")) in leak.find("failure").text
    over = props(failed[("test_suite.py::test_marked_over", "memray.peak")])
    assert 2 * MIB <= over["bytes"] <= 2 * MIB + SLACK and over["limit_bytes"] == MIB
    marked_leak = failed[("test_suite.py::test_leak_marked", "memray.leaks")]
    assert 300000 <= props(marked_leak)["bytes"] <= 300000 + SLACK
    assert "(limit_leaks mark)" in marked_leak.find("failure").text


def test_schema_refuses_properties_in_a_testcase(tmp_path):
    """tests/schema/junit.xsd follows the Jenkins xUnit plugin's rule: a
    testcase holds no properties (a testsuite does)."""
    doc = ('<testsuite name="s" tests="1"><properties><property name="a" value="1"/></properties>'
           '<testcase name="t"%s</testcase></testsuite>')
    (tmp_path / "ok.xml").write_text(doc % "><system-out>bytes: 1</system-out>")
    validate(tmp_path / "ok.xml")
    (tmp_path / "bad.xml").write_text(doc % '><properties><property name="bytes" value="1"/></properties>')
    lint = subprocess.run(["xmllint", "--noout", "--schema", str(XSD), str(tmp_path / "bad.xml")],
                          capture_output=True, text=True)
    assert lint.returncode != 0 and "properties" in lint.stderr


def test_pytest_marks_override_the_defaults(pytest_run):
    tmp, result = pytest_run
    cases = {(c.get("name"), c.get("classname")): c for c in ET.parse(tmp / "j.xml").iter("testcase")}
    within = props(cases[("test_suite.py::test_marked_within", "memray.peak")])
    assert within["limit_bytes"] == 24 * MIB and 20 * MIB <= within["bytes"] <= 20 * MIB + SLACK
    allowed = props(cases[("test_suite.py::test_leak_allowed", "memray.leaks")])
    assert allowed["limit_bytes"] == 2 * MIB and 1500000 <= allowed["bytes"] <= 1500000 + SLACK
    small = props(cases[("test_suite.py::test_small", "memray.peak")])
    assert small["bytes"] < SLACK and cases[("test_suite.py::test_small", "memray.peak")].find("failure") is None


def test_pytest_own_verdicts_are_untouched(pytest_run):
    tmp, result = pytest_run
    # pytest's own summary is passed through, and its failure wins the exit status
    # ...except a mark over its limit, which fails the test inside pytest too (issue 12)
    assert "3 failed, 5 passed" in result.stdout
    assert result.returncode == 1
    suite = ET.parse(tmp / "j.xml").getroot().find("testsuite")
    assert suite.find("testcase[@classname='memray.command']/error").get("message").endswith("exited with status 1")


def test_pytest_reports_validate_and_agree(pytest_run):
    tmp, result = pytest_run
    validate(tmp / "j.xml")
    cases, failures, errors = junitparser_counts(tmp / "j.xml")
    # 7 passed tests with a peak and a leak rule each (a failed test gets no verdict), the command's own
    assert (cases, failures, errors) == (15, 4, 1)
    rows = markdown_rows(tmp / "m.md")
    assert [r[0] for r in rows[:4]] == ["FAIL"] * 4 and {r[0] for r in rows[4:]} == {"pass"}
    # names are Markdown-escaped text: GitHub shows test_suite.py::test_big
    assert "test\\_suite.py::test\\_big (peak)" in [r[1] for r in rows[:4]]


def test_github_annotations(pytest_run):
    tmp, result = pytest_run
    lines = [l for l in result.stdout.splitlines() if l.startswith("::error")]
    assert "::error title=memray%3A command::" + PYTHON + " exited with status 1" in lines
    big = [l for l in lines
           if l.startswith("::error file=test_suite.py,title=memray%3A test_suite.py%3A%3Atest_big::")]
    assert len(big) == 1 and re.search(r"::peak 30\.0\d\dMiB exceeds budget 16\.000MiB \(\+87\.5%25\)$", big[0])
    assert len(lines) == 5


def test_annotations_escape_names(tmp_path):
    (tmp_path / "test_odd.py").write_text(textwrap.dedent('''
        import pytest
        @pytest.mark.parametrize("x", ["a,b%c:d"])
        @pytest.mark.limit_memory("1 KiB")
        def test_odd(x):
            block = bytearray(100000)
    '''))
    result = run("check", "--", PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_odd.py",
                 cwd=tmp_path, env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 1, result.stderr
    lines = [l for l in result.stdout.splitlines() if l.startswith("::error") and "memray%3A command" not in l]
    assert len(lines) == 1
    assert lines[0].startswith("::error file=test_odd.py,"
                               "title=memray%3A test_odd.py%3A%3Atest_odd[a%2Cb%25c%3Ad]::peak ")
    assert lines[0].endswith("%25)")
    quiet = run("check", "--", PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_odd.py",
                cwd=tmp_path, env={"GITHUB_ACTIONS": "false"})
    assert not [l for l in quiet.stdout.splitlines() if l.startswith("::")]


def test_bad_mark_is_an_error(tmp_path):
    (tmp_path / "test_bad.py").write_text(textwrap.dedent('''
        import pytest
        @pytest.mark.limit_memory("12 parsecs")
        def test_bad():
            pass
    '''))
    result = run("check", "--junit", tmp_path / "j.xml", "--", PYTHON, "-m", "pytest", "-q", "-p",
                 "no:cacheprovider", "test_bad.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "memray: error: test_bad.py::test_bad: bad size '12 parsecs' in @pytest.mark.limit_memory: " \
           "unknown unit" in result.stderr
    error = ET.parse(tmp_path / "j.xml").getroot().find("testsuite/testcase/error")
    assert error.get("type") == "BadLimit"
    validate(tmp_path / "j.xml")


def test_check_suite_in_fork_mode(tmp_path):
    suite = tmp_path / "suite"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(suite), str(FIXTURES / "check_suite.c"), "-lcheck",
                    "-lsubunit", "-lm", "-lrt", "-lpthread"], check=True)
    (tmp_path / "memray.yml").write_text("version: 1\ndefaults:\n  leak-budget: 0\n")
    keep = tmp_path / "captures"
    result = run("check", "--manifest", tmp_path / "memray.yml", "--junit", tmp_path / "j.xml",
                 "--keep-captures", keep, "--", suite)
    assert result.returncode == 1, result.stderr
    assert "100%: Checks: 3, Failures: 0, Errors: 0" in result.stdout
    failed = failed_cases(tmp_path / "j.xml")
    assert set(failed) == {("suite:memray:core:test_leaky", "memray.leaks")}
    failure = failed[("suite:memray:core:test_leaky", "memray.leaks")].find("failure")
    assert failure.get("message") == "leaked 11.719KiB exceeds budget 0B"
    where = "test_leaky_fn:%s:%d" % (FIXTURES / "check_suite.c", line_of("check_suite.c", "leaky"))
    assert "11.719KiB (12000 bytes) in 3 allocations at %s" % where in failure.text
    names = sorted(p.name for p in keep.iterdir() if p.suffix == ".bin")
    assert len(names) == 4 and names[0] == "memray-check.bin"
    assert [p.name for p in keep.iterdir() if p.suffix == ".xml"][0].startswith("memray-check-log.")
    assert [re.sub(r"\.\d+\.bin$", "", n) for n in names[1:]] == \
           ["memray-check.suite:test_leaky", "memray-check.suite:test_nothing", "memray-check.suite:test_tidy"]
    validate(tmp_path / "j.xml")
    # the same directory again: the earlier run's captures are replaced, not judged twice
    (keep / "notes.txt").write_text("mine")
    again = run("check", "--manifest", tmp_path / "memray.yml", "--keep-captures", keep, "--", suite)
    assert again.returncode == 1
    assert "memray check: 3 verdicts on the whole run and 3 tests: 1 failed, 0 errors" in again.stderr
    assert len(list(keep.iterdir())) == 6 and (keep / "notes.txt").read_text() == "mine"


@pytest.fixture(scope="module")
def marked(tmp_path_factory):
    out = tmp_path_factory.mktemp("marked") / "marked"
    subprocess.run(["gcc", "-g", "-O0", "-I", str(ROOT), "-o", str(out), str(FIXTURES / "marked.c")], check=True)
    return out


def test_c_markers_give_exact_figures(marked, tmp_path):
    (tmp_path / "memray.yml").write_text(textwrap.dedent('''
        version: 1
        tests:
          - match: "suite.churn"
            budget: 108000B
            max-allocations: 1001
          - match: "suite.*"
            leak-budget: 1499
    '''))
    result = run("-v", "check", "--manifest", tmp_path / "memray.yml", "--junit", tmp_path / "j.xml",
                 "--markdown", tmp_path / "m.md", "--", marked)
    assert result.returncode == 1, result.stderr
    assert "memray check: pass suite.churn (peak): peak 105.469KiB within budget 105.469KiB (+0.0%) " \
           "(108000 bytes, limit 108000)" in result.stderr
    assert "memray check: pass suite.churn (allocations): allocations 1001 within limit 1001 (+0.0%) " \
           "(1001, limit 1001)" in result.stderr
    assert "memray check: FAIL suite.leaky (leaks): leaked 1.465KiB exceeds budget 1.464KiB (+0.1%) " \
           "(1500 bytes, limit 1499)" in result.stderr
    leaky = "leaky:%s:%d" % (FIXTURES / "marked.c", line_of("marked.c", "leaky"))
    assert "1.465KiB (1500 bytes) in 5 allocations at %s" % leaky in result.stderr
    assert set(failed_cases(tmp_path / "j.xml")) == {("suite.leaky", "memray.leaks")}
    rows = markdown_rows(tmp_path / "m.md")
    assert rows[0] == ["FAIL", "suite.leaky (leaks)", "1.465KiB (1500 bytes)", "1.464KiB (1499 bytes)",
                       "leaked 1.465KiB exceeds budget 1.464KiB (+0.1%)"]
    assert ["pass", "suite.churn (allocations)", "1001", "1001", "allocations 1001 within limit 1001 (+0.0%)"] in rows
    validate(tmp_path / "j.xml")
    # churn: peak and allocations; leaky and empty: leaks
    assert junitparser_counts(tmp_path / "j.xml") == (4, 1, 0)


def test_baseline_regression_then_update(marked, tmp_path):
    base = tmp_path / "base.json"
    first = run("check", "--update-baseline", base, "--", marked, "1")
    assert first.returncode == 0, first.stderr
    assert "memray check: wrote the baseline '%s' (3 tests)" % base in first.stderr
    grown = run("check", "--baseline", base, "--max-increase", "10%", "--junit", tmp_path / "j.xml", "--",
                marked, "2")
    assert grown.returncode == 1, grown.stderr
    assert "memray check: FAIL suite.churn (baseline): peak 203.125KiB grew beyond baseline 105.469KiB " \
           "(+92.6%, allowed +10%) (208000 bytes, limit 118800)" in grown.stderr
    churn = "churn:%s:%d" % (FIXTURES / "marked.c", line_of("marked.c", "churn"))
    assert "+97.656KiB (+100000 bytes; 200000 bytes, was 100000) at %s" % churn in grown.stderr
    failed = failed_cases(tmp_path / "j.xml")
    assert set(failed) == {("suite.churn", "memray.baseline"), ("peak memory (baseline)", "memray")}
    assert failed[("suite.churn", "memray.baseline")].find("failure").get("type") == "Regression"
    # bytes allowed: +100000 B is within +100000 B
    assert run("check", "--baseline", base, "--max-increase", "+100000B", "--", marked, "2").returncode == 0
    assert run("check", "--update-baseline", base, "--", marked, "2").returncode == 0
    again = run("-v", "check", "--baseline", base, "--", marked, "2")
    assert again.returncode == 0, again.stderr
    assert "memray check: pass suite.churn (baseline): peak 203.125KiB within baseline 203.125KiB " \
           "(+0.0%, allowed +10%)" in again.stderr


def test_suppressions(fixtures, tmp_path):
    # every block live at exit, reachable or not: the runtime's own are suppressed
    prog = fixtures.build("threads.c")
    plain = run("check", "--reachable-leaks", "--leak-budget", "0", "--junit", tmp_path / "j.xml", "--", prog)
    counted = run("check", "--reachable-leaks", "--leak-budget", "0", "--no-builtin-suppressions", "--", prog)
    assert counted.returncode == 1, counted.stderr
    m = re.search(r"FAIL leaked memory: leaked \S+ exceeds budget 0B \((\d+) bytes", counted.stderr)
    runtime = int(m.group(1))
    assert plain.returncode == 0 and runtime > 0, plain.stderr
    assert "more suppressed (0 bytes, limit 0)" in plain.stderr
    assert "(suppressed by '_dl_allocate_tls*', built-in)" in plain.stderr
    assert "suppressed, not counted: " in plain.stderr and "(%d bytes)" % runtime in plain.stderr
    case = ET.parse(tmp_path / "j.xml").getroot().find("testsuite/testcase")
    assert props(case)["suppressed_bytes"] == runtime and "_dl_allocate_tls" in case.find("system-out").text
    blocks = fixtures.build("blocks.c")
    mine = run("check", "--reachable-leaks", "--leak-budget", "4096", "--suppress", "leak_some", "--", blocks)
    assert mine.returncode == 0, mine.stderr
    assert "leaked 4.000KiB within budget 4.000KiB (+0.0%); 9.766KiB more suppressed" in mine.stderr
    assert "(suppressed by 'leak_some', --suppress)" in mine.stderr


def test_help_lists_the_builtin_suppressions():
    result = run("check", "--help")
    assert result.returncode == 0
    assert "_dl_allocate_tls*" in result.stdout and "glibc: each thread's TLS blocks" in result.stdout
    assert "--no-builtin-suppressions" in result.stdout
    assert "COMMAND's\nfailure wins over a memory failure" in result.stdout


def error_case(path):
    validate(path)
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite.get("errors") == "1" and suite.get("tests") == "1"
    return suite.find("testcase/error").get("message")


@pytest.mark.parametrize("text, message", [
    ("version: 1\nbudget: [1, 2\n", "memray.yml:3:1: bad YAML: did not find expected ',' or ']'"),
    ("version: 1\nbudgett: 5MB\n", "memray.yml:2:1: unknown key 'budgett'"),
    ("version: 1\nbudget: 12 parsecs\n", "memray.yml:2:9: bad size '12 parsecs' for 'budget': unknown unit"),
])
def test_bad_manifest(tmp_path, text, message):
    (tmp_path / "memray.yml").write_text(text)
    result = run("check", "--manifest", "memray.yml", "--junit", tmp_path / "j.xml", "--", "true", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("memray: error: " + message), result.stderr
    assert error_case(tmp_path / "j.xml").startswith(message)


def test_bad_baseline(fixtures, tmp_path):
    other = tmp_path / "other.json"
    other.write_text('{"version": 3, "results": []}\n')
    result = run("check", "--baseline", other, "--junit", tmp_path / "j.xml", "--", "true")
    assert result.returncode == 2
    assert result.stderr == "memray: error: %s: not a memray baseline (no \"format\": \"memray-baseline\")\n" % other
    assert "not a memray baseline" in error_case(tmp_path / "j.xml")
    capture = tmp_path / "capture.bin"
    run("run", "-q", "-o", capture, fixtures.build("blocks.c"))
    binary = run("check", "--baseline", capture, "--", "true")
    assert binary.returncode == 2 and binary.stderr.count("\n") == 1 and "not a memray baseline" in binary.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "memray-baseline", "version": 1, "tests": [{"id": "x", "peak": "lots"}]}')
    wrong = run("check", "--baseline", bad, "--", "true")
    assert wrong.returncode == 2
    assert wrong.stderr == "memray: error: %s:1:75: 'peak' must be a whole number of bytes\n" % bad
    assert run("check", "--baseline", tmp_path / "none.json", "--", "true").returncode == 2


def test_missing_and_killed_commands(fixtures, tmp_path):
    missing = run("check", "--junit", tmp_path / "m.xml", "--", "no-such-command-here")
    assert missing.returncode == 127
    assert "no-such-command-here could not be run (status 127)" in error_case(tmp_path / "m.xml")
    killed = run("check", "--budget", "1MiB", "--junit", tmp_path / "k.xml", "--", fixtures.build("killer.c"))
    assert killed.returncode == 128 + 9, killed.stderr
    suite = ET.parse(tmp_path / "k.xml").getroot().find("testsuite")
    validate(tmp_path / "k.xml")
    assert suite.get("errors") == "1"
    assert suite.find("testcase/error").get("message").endswith("was killed by signal 9 (SIGKILL), status 137")
    # what it did before it died is still judged: 100 x 1000 B
    assert "memray check: pass peak memory: peak 97.656KiB within budget 1.000MiB" in killed.stderr


def test_bad_flags():
    assert run("check", "--max-increase", "lots", "--", "true").returncode == 2
    assert run("check", "--suppress", "a[b", "--", "true").returncode == 2
    assert run("check", "--max-allocations", "-3", "--", "true").returncode == 2
    result = run("check", "--budget")
    assert result.returncode == 2 and result.stderr.count("\n") == 1


def test_markers_in_forked_children(tmp_path):
    prog = tmp_path / "marked_fork"
    subprocess.run(["gcc", "-g", "-O0", "-I", str(ROOT), "-o", str(prog), str(FIXTURES / "marked_fork.c")],
                   check=True)
    (tmp_path / "memray.yml").write_text("version: 1\ndefaults:\n  leak-budget: 0\n")
    result = run("-v", "check", "--manifest", tmp_path / "memray.yml", "--junit", tmp_path / "j.xml", "--", prog)
    assert result.returncode == 1, result.stderr
    assert "memray check: FAIL child.a (leaks): leaked 1.367KiB exceeds budget 0B (1400 bytes, limit 0)" \
        in result.stderr
    where = "in_child:%s:%d" % (FIXTURES / "marked_fork.c", line_of("marked_fork.c", "child_a"))
    assert "1.367KiB (1400 bytes) in 2 allocations at %s" % where in result.stderr
    assert "memray check: pass child.b (leaks): leaked 0B within budget 0B (0 bytes, limit 0)" in result.stderr
    assert set(failed_cases(tmp_path / "j.xml")) == {("child.a", "memray.leaks")}


def test_markers_in_an_image_after_python(marked, tmp_path):
    """Python execs the marked C program: the test's stacks are numbered after
    the Python image's nodes, PYFRAME ones included, and must still name it."""
    (tmp_path / "memray.yml").write_text("version: 1\ntests:\n  - match: 'suite.leaky'\n    leak-budget: 1499\n")
    result = run("check", "--manifest", tmp_path / "memray.yml", "--", PYTHON, "-c",
                 "import os, sys; x = [bytearray(1000) for i in range(50)]; "
                 "os.execv(sys.argv[1], [sys.argv[1]])", marked)
    assert result.returncode == 1, result.stderr
    leaky = "leaky:%s:%d" % (FIXTURES / "marked.c", line_of("marked.c", "leaky"))
    assert "1.465KiB (1500 bytes) in 5 allocations at %s" % leaky in result.stderr, result.stderr


def test_each_capture_is_read_once(marked, fixtures, tmp_path):
    """One analysis pass per capture: the test windows ride on it (strace counts the opens). The command's
    capture is opened once more, while it runs, for its module list (ci/prewarm)."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    forker = fixtures.build("forker.c")
    for prog, captures in ((marked, 1), (forker, 2)):
        log = tmp_path / ("%s.strace" % prog.name)
        # LeakSanitizer (make sanitize) cannot run under ptrace: the leak check is not what is tested
        asan = [o for o in os.environ.get("ASAN_OPTIONS", "").split(":") if o] + ["detect_leaks=0"]
        env = dict(os.environ, ASAN_OPTIONS=":".join(asan))
        result = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat", "-o", str(log),
                                 str(MEMRAY), "check", "--leak-budget", "1MiB", "--", str(prog)],
                                capture_output=True, text=True, timeout=120, env=env)
        assert result.returncode == 0, result.stderr
        reads = re.findall(r'openat\(AT_FDCWD, "([^"]*/memray-check\.bin[^"]*)", O_RDONLY', log.read_text())
        assert len(set(reads)) == captures, reads
        for path in set(reads):
            assert reads.count(path) == (2 if path.endswith("/memray-check.bin") else 1), reads


THOUSAND = r'''
#include <stdio.h>
#include <stdlib.h>
#include "tracker/memray_test.h"

int main(void)
{
	char name[64];

	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "suite.case_%04d", i);
		MEMRAY_TEST_BEGIN(name);
		free(malloc(1000 + 100 * (size_t)i));	/* suite.case_0999 peaks highest: 100900 B */
		MEMRAY_TEST_END();
	}
	return 0;
}
'''


def test_a_thousand_tests_report_for_people(tmp_path):
    """1,000 marked tests, 11 over their budget (case_0988 is exactly at it): the Markdown has a headline
    and sections and stays small by design; GitHub gets at most 10
    annotations, the last one counting the rest; stderr lists the failures
    and a tally, not 989 passing lines (-v does)."""
    (tmp_path / "thousand.c").write_text(THOUSAND)
    prog = tmp_path / "thousand"
    subprocess.run(["gcc", "-g", "-O0", "-I", str(ROOT), "-o", str(prog), str(tmp_path / "thousand.c")], check=True)
    (tmp_path / "memray.yml").write_text("version: 1\ntests:\n  - match: \"suite.*\"\n    budget: 99800B\n")
    result = run("check", "--manifest", tmp_path / "memray.yml", "--junit", tmp_path / "j.xml",
                 "--markdown", tmp_path / "m.md", "--", prog, env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 1, result.stderr
    validate(tmp_path / "j.xml")
    md = (tmp_path / "m.md").read_text()
    assert len(md.encode()) < 100 * 1024, len(md.encode())
    assert "**1000 verdicts** on the whole run and 1000 tests: **11 failed**" in md
    assert "biggest test suite.case\\_0999, peak 98.535KiB (100900 bytes)" in md
    sections = [l for l in md.splitlines() if l.startswith("### ")]
    assert sections == ["### Failures (11)", "### Highest peaks (top 10 of 1000 tests)",
                        "### Closest to their limits (top 10 of 989 passed rules)"]
    assert "<details><summary>979 other verdicts</summary>" in md and "879 more are in the JUnit file." in md
    rows = markdown_rows(tmp_path / "m.md")
    assert [r[0] for r in rows[:11]] == ["FAIL"] * 11 and {r[0] for r in rows[11:]} == {"pass"}
    assert rows[11][1] == "suite.case\\_0988 (peak)"	# 99800 B of 99800: the closest
    notes = [l for l in result.stdout.splitlines() if l.startswith("::error")]
    assert len(notes) == 10 and notes[0].startswith("::error title=memray%3A suite.case_0989::peak ")
    assert notes[9] == "::error title=memray%3A more failures::2 more memory failures; " \
                       "the job summary and the JUnit file list them all"
    lines = result.stderr.splitlines()
    assert sum(l.startswith("memray check: FAIL suite.case_") for l in lines) == 11
    assert not any(l.startswith("memray check: pass") for l in lines)
    assert "memray check: 1000 verdicts on the whole run and 1000 tests: 11 failed, 0 errors; " \
           "989 passed, not listed (-v lists them)" in lines
    verbose = run("-v", "check", "--manifest", tmp_path / "memray.yml", "--", prog)
    assert sum(l.startswith("memray check: pass suite.case_") for l in verbose.stderr.splitlines()) == 989


def test_nothing_judged_says_so(fixtures, tmp_path):
    """A run with no rule and no marked test passes, and says plainly that
    nothing was judged and how to ask for a judgement."""
    prog = fixtures.build("blocks.c")
    result = run("check", "--junit", tmp_path / "j.xml", "--markdown", tmp_path / "m.md", "--", prog)
    assert result.returncode == 0, result.stderr
    assert "0 verdicts" not in result.stderr
    assert "memray check: nothing was judged: no rule for the whole run and no marked test; ask with --budget" \
        in result.stderr
    assert "**Nothing was judged**: no rule for the whole run" in (tmp_path / "m.md").read_text()
    validate(tmp_path / "j.xml")
    case = ET.parse(tmp_path / "j.xml").getroot().find("testsuite/testcase")
    assert case.get("classname") == "memray.command" and case.find("system-out").text.startswith("nothing was judged")


def test_baseline_on_allocations_and_allocated(marked, tmp_path):
    """The deterministic figures: `max-increase` on allocations (a count) and
    allocated bytes, from the flag and from the manifest; and a version 1
    baseline (no allocated figure) still judges what it has."""
    base = tmp_path / "base.json"
    assert run("check", "--update-baseline", base, "--", marked, "1").returncode == 0
    saved = json.loads(base.read_text())
    assert saved["version"] == 2
    churn = [t for t in saved["tests"] if t["id"] == "suite.churn"][0]
    assert (churn["allocations"], churn["allocated"]) == (1001, 108000)
    assert churn["stacks"][0]["count"] == 1000 and churn["stacks"][0]["bytes"] == 100000
    # three more allocations of 16 B, the peak unchanged
    more = run("check", "--baseline", base, "--max-increase", "allocations=0%", "--max-increase", "allocated=+48",
               "--junit", tmp_path / "j.xml", "--markdown", tmp_path / "m.md", "--", marked, "1", "3")
    assert more.returncode == 1, more.stderr
    assert "memray check: FAIL suite.churn (baseline-allocations): allocations 1004 grew beyond baseline 1001 " \
           "(+0.3%, allowed +0%) (1004, limit 1001)" in more.stderr, more.stderr
    # +48 bytes allocated is within +48; the peak did not move
    assert "FAIL suite.churn (baseline-allocated)" not in more.stderr
    assert "FAIL suite.churn (baseline):" not in more.stderr
    assert "FAIL allocations (baseline): allocations 1010 grew beyond baseline 1007" in more.stderr
    failed = failed_cases(tmp_path / "j.xml")
    assert ("suite.churn", "memray.baseline-allocations") in failed
    assert failed[("suite.churn", "memray.baseline-allocations")].find("failure").get("type") == "Regression"
    validate(tmp_path / "j.xml")
    rows = markdown_rows(tmp_path / "m.md")
    assert ["FAIL", "suite.churn (baseline-allocations)", "1004", "1001",
            "allocations 1004 grew beyond baseline 1001 (+0.3%, allowed +0%)"] in rows
    # the manifest's map judges only the figures it names: allocated, not the peak that doubled
    (tmp_path / "memray.yml").write_text("version: 1\nbaseline:\n  file: %s\n  max-increase: {allocated: 0%%}\n" % base)
    grown = run("check", "--manifest", tmp_path / "memray.yml", "--", marked, "2")
    assert grown.returncode == 1, grown.stderr
    assert "FAIL suite.churn (baseline-allocated): allocated 203.125KiB grew beyond baseline 105.469KiB " \
           "(+92.6%, allowed +0%)" in grown.stderr
    where = "churn:%s:%d" % (FIXTURES / "marked.c", line_of("marked.c", "churn"))
    assert "+97.656KiB (+100000 bytes; 200000 bytes, was 100000) at %s" % where in grown.stderr
    assert "(baseline): peak" not in grown.stderr
    # the Markdown names what grew under the failures
    assert run("check", "--manifest", tmp_path / "memray.yml", "--markdown", tmp_path / "g.md", "--",
               marked, "2").returncode == 1
    md = (tmp_path / "g.md").read_text()
    assert "What grew in suite.churn (baseline-allocated):\n\n- +97.656KiB (+100000 bytes; 200000 bytes, " \
           "was 100000) at churn:%s:%d\n" % (str(FIXTURES / "marked.c").replace("_", "\\_"),
                                             line_of("marked.c", "churn")) in md, md
    # a version 1 baseline: no allocated figure, so that rule has nothing to judge; allocations still judged
    old = tmp_path / "old.json"
    for t in saved["tests"]:
        del t["allocated"]
        for s in t["stacks"]:
            del s["count"]
    saved["version"] = 1
    old.write_text(json.dumps(saved))
    judged = run("check", "--baseline", old, "--max-increase", "allocated=0%", "--max-increase", "allocations=+2",
                 "--", marked, "2", "3")
    assert judged.returncode == 1, judged.stderr
    assert "baseline-allocated" not in judged.stderr
    assert "FAIL suite.churn (baseline-allocations): allocations 1004 grew beyond baseline 1001 (+0.3%, allowed +2)" \
        in judged.stderr
    bad = run("check", "--baseline", base, "--max-increase", "rss=5%", "--", "true")
    assert bad.returncode == 2 and "no figure 'rss' (peak, allocations or allocated)" in bad.stderr
    (tmp_path / "bad.yml").write_text("version: 1\nbaseline:\n  file: x.json\n  max-increase: {rss: 1%}\n")
    bad = run("check", "--manifest", tmp_path / "bad.yml", "--", "true")
    assert bad.returncode == 2 and "bad.yml:4:18: unknown key 'rss' in 'max-increase'" in bad.stderr, bad.stderr
