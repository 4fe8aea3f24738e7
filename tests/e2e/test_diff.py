"""`memray diff BASE HEAD`: two builds of tests/fixtures/diff_growth.c, where
grow() holds exactly 1 MiB more in the head and shrink() one 4 KiB block
fewer; every output must show exactly those figures on those stacks."""
import json
import re
import subprocess

import pytest

from conftest import FIXTURES, line_of, record, run

SRC = FIXTURES / "diff_growth.c"
MIB, KIB4 = 1 << 20, 4096


def build(tmp, name, *defines, source=SRC):
    out = tmp / name
    subprocess.run(["gcc", "-g", "-O0", "-fno-omit-frame-pointer", "-o", str(out), str(source)]
                   + list(defines), check=True)
    return out


@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    """(base capture, head capture, head capture built from a moved copy)."""
    tmp = tmp_path_factory.mktemp("diff")
    base = record(tmp, build(tmp, "base"), name="base.bin")[1]
    head = record(tmp, build(tmp, "head", "-DHEAD"), name="head.bin")[1]
    # the head again from a renamed file whose lines all moved down by three
    moved_src = tmp / "renamed_growth.c"
    moved_src.write_text("\n\n\n" + SRC.read_text())
    moved = record(tmp, build(tmp, "moved", "-DHEAD", source=moved_src), name="moved.bin")[1]
    return base, head, moved


def diff_json(*args):
    result = run("diff", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def functions(row):
    return [f["function"] for f in row["frames"]]


def test_json_names_the_stacks_that_grew_and_shrank(captures):
    base, head, _ = captures
    d = diff_json(base, head)
    assert d["match"] == "frames"
    assert d["totals"]["peak"]["change"] == MIB - KIB4
    assert d["totals"]["leaked"]["change"] == MIB
    assert d["totals"]["allocations"] == {"base": 5, "head": 4, "change": -1}
    assert len(d["stacks"]) == 2          # steady() did not change: not listed
    grew, shrank = d["stacks"]
    assert functions(grew)[:2] == ["grow", "main"]
    assert grew["frames"][0]["file"] == str(SRC)
    assert grew["frames"][0]["line"] == line_of("diff_growth.c", "grow")
    assert grew["frames"][1]["line"] == line_of("diff_growth.c", "main_grow")
    assert grew["peak"] == {"base": MIB, "head": 2 * MIB, "change": MIB}
    assert grew["leaked"]["change"] == MIB and grew["allocated"]["change"] == MIB
    assert grew["allocations"]["change"] == 0
    assert functions(shrank)[:2] == ["shrink", "main"]
    assert shrank["frames"][0]["line"] == line_of("diff_growth.c", "shrink")
    assert shrank["peak"] == {"base": 3 * KIB4, "head": 2 * KIB4, "change": -KIB4}
    assert shrank["leaked"]["change"] == 0      # freed before exit in both
    assert shrank["allocations"] == {"base": 3, "head": 2, "change": -1}
    locs = {l["location"]["function"]: l for l in d["locations"]}
    assert set(locs) == {"grow", "shrink"}
    assert locs["grow"]["peak"]["change"] == MIB and locs["shrink"]["peak"]["change"] == -KIB4


def test_sort_by_allocations(captures):
    base, head, _ = captures
    d = diff_json("-s", "allocations", base, head)
    assert [functions(s)[0] for s in d["stacks"]] == ["shrink", "grow"]


def test_text(captures):
    base, head, _ = captures
    result = run("diff", base, head)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    grow_at = "grow  %s:%d" % (SRC, line_of("diff_growth.c", "grow"))
    shrink_at = "shrink  %s:%d" % (SRC, line_of("diff_growth.c", "shrink"))
    assert "peak memory" in out and "+1020.000KiB (+1044480 B)" in out
    stacks = out.split("Stacks that changed (2)")[1].split("Locations")[0]
    first, second = stacks.split("\n  2. ")
    assert "peak +1.000MiB (+1048576 B): 1.000MiB -> 2.000MiB" in first and grow_at in first
    assert "peak -4.000KiB (-4096 B): 12.000KiB -> 8.000KiB" in second and shrink_at in second
    assert "allocations -1" in second
    assert "steady" not in out


def test_markdown(captures):
    base, head, _ = captures
    result = run("diff", "--markdown", base, head)
    assert result.returncode == 0, result.stderr
    md = result.stdout
    assert "**Peak memory +1020.000KiB (+1044480 B)**, **leaked +1.000MiB (+1048576 B)**" in md
    grew = md.split("#### Stacks whose peak memory grew")[1].split("####")[0]
    shrank = md.split("#### Stacks whose peak memory shrank")[1]
    assert "1. peak +1.000MiB (+1048576 B): 1.000MiB \u2192 2.000MiB" in grew
    assert "- grow at %s:%d" % (str(SRC).replace("_", "\\_"), line_of("diff_growth.c", "grow")) in grew
    assert "1. peak -4.000KiB (-4096 B): 12.000KiB \u2192 8.000KiB" in shrank
    assert "- shrink at" in shrank and "- grow at" not in shrank


def test_moved_line_and_renamed_file_match_by_function(captures):
    base, _, moved = captures
    by_frames = diff_json(base, moved)
    # every line moved: by frames, nothing matches, each stack is new or gone
    assert all(s["in_base"] != s["in_head"] for s in by_frames["stacks"])
    d = diff_json("--match", "function", base, moved)
    assert d["match"] == "function"
    assert len(d["stacks"]) == 2
    grew, shrank = d["stacks"]
    assert functions(grew)[:2] == ["grow", "main"] and grew["peak"]["change"] == MIB
    assert grew["in_base"] and grew["in_head"]
    # the head's frames are shown: the renamed file, the moved line
    assert grew["frames"][0]["file"].endswith("renamed_growth.c")
    assert grew["frames"][0]["line"] == line_of("diff_growth.c", "grow") + 3
    assert functions(shrank)[:2] == ["shrink", "main"] and shrank["peak"]["change"] == -KIB4


def test_same_capture_has_no_change(captures):
    base, _, _ = captures
    d = diff_json(base, base)
    assert d["stacks"] == [] and d["totals"]["peak"]["change"] == 0
    md = run("diff", "--markdown", base, base).stdout
    assert "No stack changed." in md


def one_error_line(result):
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("memray: error: "), lines
    return lines[0]


def test_bad_input(captures, tmp_path):
    base, head, _ = captures
    foreign = tmp_path / "notes.txt"
    foreign.write_text("not a capture at all, but long enough to have a header\n" * 3)
    result = run("diff", base, foreign)
    assert result.returncode == 1 and "notes.txt: not a memray capture file" in one_error_line(result)
    result = run("diff", tmp_path / "absent.bin", head)
    assert result.returncode == 1 and "absent.bin" in one_error_line(result)
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    result = run("diff", empty, head)
    assert result.returncode == 1 and "empty.bin: empty file" in one_error_line(result)
    # damaged in the middle: an error naming the file and offset, or with --partial a warning
    data = bytearray(head.read_bytes())
    cut = tmp_path / "cut.bin"
    cut.write_bytes(bytes(data[:len(data) // 2]))
    result = run("diff", base, cut)
    assert result.returncode in (0, 1)
    assert "cut.bin" in result.stderr and "offset" in result.stderr


@pytest.mark.parametrize("args", [["diff"], ["diff", "a.bin"], ["diff", "a", "b", "c"],
                                  ["diff", "--match", "line", "a", "b"], ["diff", "-s", "rss", "a", "b"],
                                  ["diff", "--json", "--markdown", "a", "b"]])
def test_usage_errors(args):
    result = run(*args)
    assert result.returncode == 2
    one_error_line(result)


def test_help():
    result = run("diff", "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: memray diff")
    assert "diff" in run("--help").stdout


def html_data(html):
    return json.loads(html.read_text().split('id="data">')[1].split("</script>")[0])


def find(node, name):
    if node["name"] == name:
        return node
    for c in node["children"]:
        hit = find(c, name)
        if hit:
            return hit
    return None


def test_flamegraph_diff(captures, tmp_path):
    from test_flamegraph import dom_after_scripts
    base, head, _ = captures
    html = tmp_path / "fd.html"
    result = run("flamegraph", "--diff", "-o", html, base, head)
    assert result.returncode == 0, result.stderr
    data = html_data(html)
    assert data["value"] == 2 * MIB + 2 * KIB4 + 65536 and data["base"] == MIB + 3 * KIB4 + 65536
    grow, shrink, steady = find(data, "grow"), find(data, "shrink"), find(data, "steady")
    assert (grow["value"], grow["base"]) == (2 * MIB, MIB)
    assert (shrink["value"], shrink["base"]) == (2 * KIB4, 3 * KIB4)
    assert steady["value"] == steady["base"] == 65536
    assert grow["loc"] == "%s:%d" % (SRC, line_of("diff_growth.c", "grow"))
    dom = dom_after_scripts(html, tmp_path)
    grow_title = "grow at %s: head 2.000MiB, base 1.000MiB, change +1.000MiB" % grow["loc"]
    assert "<title>%s</title>" % grow_title in dom
    shrink_title = "shrink at %s: head 8.000KiB, base 12.000KiB, change -4.000KiB" % shrink["loc"]
    assert "<title>%s</title>" % shrink_title in dom

    def fill(title):  # the fill of the frame whose tooltip is title
        frame = dom.split("<title>%s</title>" % title)[0].rsplit("<g", 1)[1]
        return re.search(r'fill="([^"]+)"', frame).group(1)
    assert fill(grow_title).startswith("rgb(255,")            # red: grew
    assert fill(shrink_title).endswith(",255)")               # blue: shrank
    assert "Peak memory</dt><dd>1.074MiB -&gt; 2.070MiB (+1020.000KiB, +1044480 B)</dd>" in dom
    # --leaks: shrink() leaks nothing in either build, so it is not in the graph
    leaks = tmp_path / "fdl.html"
    assert run("flamegraph", "--diff", "--leaks", "-o", leaks, base, head).returncode == 0
    data = html_data(leaks)
    assert find(data, "shrink") is None and find(data, "grow")["value"] == 2 * MIB


def test_table_diff_sorted_by_change(captures, tmp_path):
    from test_flamegraph import dom_after_scripts
    base, head, _ = captures
    html = tmp_path / "td.html"
    assert run("table", "--diff", "-o", html, base, head).returncode == 0
    rows = html_data(html)
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in rows] == [(2 * MIB, MIB, MIB, 1, 0),
                                                             (2 * KIB4, 3 * KIB4, -KIB4, 2, -1)]
    dom = dom_after_scripts(html, tmp_path)
    body = dom.split("<tbody>")[1]
    assert body.index("+1.000MiB") < body.index("-4.000KiB")
    assert "2 of 2 stacks" in dom


def test_html_diff_default_name_and_usage(captures, tmp_path):
    base, head, _ = captures
    import shutil
    h = tmp_path / "head.bin"
    shutil.copy(head, h)
    result = run("flamegraph", "--diff", base, h)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "memray-flamegraph-diff-head.html").exists()
    assert run("flamegraph", "--diff", base, h).returncode == 1      # exists, no -f
    for args in (["flamegraph", "--diff", base], ["table", "--match", "function", base],
                 ["flamegraph", "--diff", "--temporal", base, head]):
        result = run(*args)
        assert result.returncode == 2
        one_error_line(result)


HOSTILE = 'we<img src=x onerror="document.title=\'pwned\'">ird&dir|x'


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    weird = tmp / HOSTILE
    weird.mkdir()
    src = weird / "diff_growth.c"
    src.write_text(SRC.read_text())
    base = record(tmp, build(tmp, "base", source=src), name="base.bin")[1]
    head = record(tmp, build(tmp, "head", "-DHEAD", source=src), name="head.bin")[1]
    return tmp, base, head


@pytest.mark.parametrize("report", ["flamegraph", "table"])
def test_hostile_names_stay_text_in_html(hostile, report):
    from test_flamegraph import dom_after_scripts
    tmp, base, head = hostile
    html = tmp / ("%s.html" % report)
    assert run(report, "--diff", "-f", "-o", html, base, head).returncode == 0
    text = html.read_text()
    assert "<img" not in text and 'onerror="document' not in text
    dom = dom_after_scripts(html, tmp)
    assert "<img" not in dom
    assert re.search(r"<title>memray: [a-z ()]+, head against base</title>", dom)
    assert "we&lt;img src=x onerror=\"document.title='pwned'\"&gt;ird&amp;dir|x/diff_growth.c" in dom


def test_hostile_names_stay_text_in_markdown_and_terminal(hostile):
    _, base, head = hostile
    md = run("diff", "--markdown", base, head).stdout
    assert "<img" not in md
    assert "we&lt;img src=x onerror=\"document.title='pwned'\"&gt;ird&amp;dir\\|x/diff\\_growth.c" in md
    assert "peak +1.000MiB (+1048576 B)" in md


def test_markdown_fits_a_comment_however_many_stacks(tmp_path):
    """300 changed Python stacks, 20 deep, with 3,000-character names full
    of markup: the Markdown stays under GitHub's 65,536 characters and says
    how many stacks it left out."""
    script = """
import sys
N = int(sys.argv[1])
keep = []
def make(i, depth):
    name = 'f%d_' % i + '<b>|x*' * 600
    src = 'def g(n, d):\\n    return g(n, d - 1) if d else bytearray(n)\\n'
    ns = {}
    exec(compile(src, 'gen_%d.py' % i, 'exec'), ns)
    ns['g'].__code__ = ns['g'].__code__.replace(co_name=name)
    ns['g'].__globals__['g'] = ns['g']
    return ns['g']
for i in range(300):
    keep.append(make(i, 20)(1000 * (i + 1) + N * 4096, 20))
"""
    path = tmp_path / "many.py"
    path.write_text(script)
    import sys
    base = record(tmp_path, path, "0", name="base.bin")[1]
    head = record(tmp_path, path, "1", name="head.bin")[1]
    result = run("diff", "--markdown", "-r", "0", base, head)
    assert result.returncode == 0, result.stderr
    md = result.stdout
    assert len(md) < 65536, len(md)
    assert "<b>" not in md and "&lt;b&gt;" in md
    left = re.search(r"(\d+) more not shown", md)
    assert left and 0 < int(left.group(1)) < 300
    shown = re.findall(r"^\d+\. peak \+4\.000KiB \(\+4096 B\)", md, re.M)
    assert len(shown) + int(left.group(1)) == 300
    d = diff_json(base, head)
    assert len([s for s in d["stacks"] if s["peak"]["change"] == 4096]) == 300


@pytest.fixture(scope="module")
def kept_runs(tmp_path_factory):
    """Two `memray check --keep-captures` runs of tests/fixtures/marked.c:
    scale 1, then scale 2 with 3 more allocations (suite.churn's peak
    grows by 1000 x 100 B, its allocations by 3 x 16 B)."""
    from conftest import ROOT
    tmp = tmp_path_factory.mktemp("kept")
    prog = tmp / "marked"
    subprocess.run(["gcc", "-g", "-O0", "-I", str(ROOT), "-o", str(prog), str(FIXTURES / "marked.c")], check=True)
    for name, args in (("base", ["1"]), ("head", ["2", "3"])):
        result = run("check", "--keep-captures", tmp / name, "--", prog, *args)
        assert result.returncode == 0, result.stderr
    return tmp / "base", tmp / "head"


def test_two_kept_check_runs_compare_tests(kept_runs):
    base, head = kept_runs
    d = diff_json(base, head)
    assert [t["id"] for t in d["tests"]] == ["suite.churn"]     # leaky and empty did not change
    churn = d["tests"][0]
    assert churn["peak"] == {"base": 108000, "head": 208000, "change": 100000}
    assert churn["allocations"] == {"base": 1001, "head": 1004, "change": 3}
    assert churn["allocated"]["change"] == 100000 + 3 * 16
    assert d["totals"]["peak"]["change"] == 100000 and d["totals"]["allocations"]["change"] == 3
    grew = d["stacks"][0]
    assert grew["frames"][0]["function"] == "churn"
    assert grew["frames"][0]["line"] == line_of("marked.c", "churn")
    assert grew["peak"]["change"] == 100000
    md = run("diff", "--markdown", base, head).stdout
    assert "#### Tests that changed (1 of 3), by peak memory" in md
    assert "| suite.churn | 105.469KiB | 203.125KiB | +97.656KiB (+100000 B) | +3 |" in md
    text = run("diff", base, head).stdout
    assert "Tests that changed (1 of 3)" in text and "suite.churn\n     peak +97.656KiB (+100000 B)" in text


def test_a_capture_and_a_directory_do_not_mix(kept_runs, captures):
    base, _ = kept_runs
    result = run("diff", base, captures[1])
    assert result.returncode == 2
    assert "give two captures or two directories" in one_error_line(result)
    empty = base.parent / "empty-dir"
    empty.mkdir(exist_ok=True)
    result = run("diff", empty, base)
    assert result.returncode == 1 and "no capture of memray check in this directory" in one_error_line(result)


def test_html_diff_of_two_kept_runs(kept_runs, tmp_path):
    base, head = kept_runs
    html = tmp_path / "runs.html"
    result = run("flamegraph", "--diff", "-o", html, base, head)
    assert result.returncode == 0, result.stderr
    def churns(node):
        own = [node["value"] - node["base"]] if node["name"] == "churn" else []
        return own + [c for child in node["children"] for c in churns(child)]
    assert sorted(churns(html_data(html))) == [0, 100000]     # the 8000 B array, the 1000 blocks
    assert "the captures a memray check run kept" in html.read_text()
    table = tmp_path / "runs-table.html"
    assert run("table", "--diff", "-o", table, base, head).returncode == 0
    grew = [r for r in html_data(table) if r[3]]
    assert [(r[0].split(" at ")[0], r[3]) for r in grew] == [("churn", 100000)]
