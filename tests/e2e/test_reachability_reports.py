"""The reports of a capture with a reachability scan (`memray run
--reachability`): `summary`, `table --leaks` and `flamegraph --leaks` split
the leaks by verdict, lost first, and name what holds a still reachable
block. The graph is tests/fixtures/reach.c's, so every figure is exact."""
import json
import re
import shutil
import subprocess

from conftest import FIXTURES, line_of, location, parse, record, run
from test_flamegraph import dom_after_scripts

NODE, RING = 48, 80
SOURCE = FIXTURES / "reach.c"
# chain 3 (lost: 1 + 2 nodes), cycle 2 (lost: 1 + 1), interior (possibly lost),
# global, tls and deep (still reachable: held by `cache`, by TLS, and by `held`
# through chains of 1, 2 and 3 pointers)
ARGS = ("chain", "3", "cycle", "2", "interior", "global", "tls", "deep")
LOST, POSSIBLY, REACHABLE = 3 * NODE + 2 * RING, 200, 300 + 500 + 64 + 64 + 700  # 304, 200, 1628


def scanned(fixtures, tmp_path, *args, scan=True, name="out.bin"):
    prog = fixtures.build("reach.c")
    result, out = record(tmp_path, prog, *(args or ARGS), options=("--reachability",) if scan else (), name=name)
    assert result.returncode == 7, result.stderr
    return out


def main_tid(capture):
    """The thread that made the 500-byte TLS block (the main thread)."""
    for line in parse(capture):
        m = re.search(r"^ALLOC .*tid=(\d+) .*size=500\b", line)
        if m:
            return int(m.group(1))
    raise AssertionError("no 500-byte block")


def row(lost, possibly, reachable, leaked, allocs, where):
    return "%12s %12s %12s %12s %8d  %s" % (lost, possibly, reachable, leaked, allocs, where)


def fn(function):
    return "%s (%s)" % (function, SOURCE)


# --- summary --------------------------------------------------------------------------------

def test_summary_splits_each_functions_leaks_lost_first(fixtures, tmp_path):
    out = scanned(fixtures, tmp_path)
    text = run("summary", out).stdout
    part = text[text.index("Leaked at exit"):].splitlines()
    assert part[0] == "Leaked at exit: 2.082KiB in 11 allocations, by reachability (scanned at exit), lost first"
    assert part[2:] == [
        "%12s %12s %12s %12s %8s  %s" % ("Lost", "Possibly", "Reachable", "Leaked", "Allocs", "Location"),
        row("160B", "0B", "0B", "160B", 2, fn("lose_cycle")),
        row("144B", "0B", "0B", "144B", 3, fn("lose_chain")),
        row("0B", "200B", "0B", "200B", 1, fn("hold_interior")),
        row("0B", "0B", "828B", "828B", 3, fn("hold_deep")),
        row("0B", "0B", "500B", "500B", 1, fn("hold_in_tls")),
        row("0B", "0B", "300B", "300B", 1, fn("hold_global")),
    ]


def test_summary_rows_cut_by_max_rows_are_one_other_row(fixtures, tmp_path):
    out = scanned(fixtures, tmp_path)
    lines = run("summary", "-r", "2", out).stdout.splitlines()
    part = lines[lines.index(next(x for x in lines if x.startswith("Leaked at exit"))):]
    assert part[3:] == [
        row("160B", "0B", "0B", "160B", 2, fn("lose_cycle")),
        row("144B", "0B", "0B", "144B", 3, fn("lose_chain")),
        row("0B", "200B", "1.590KiB", "1.785KiB", 6, "<other> (4 more functions)"),
    ]


def test_summary_without_a_scan_shows_the_peak_only(fixtures, tmp_path):
    plain = scanned(fixtures, tmp_path, scan=False, name="plain.bin")
    text = run("summary", plain).stdout
    assert "Leaked at exit" not in text and "Lost" not in text and "Possibly" not in text
    assert text.startswith("Peak memory: 2.082KiB in 11 allocations\n")
    # the peak table is the same with a scan: the split only comes after it
    out = scanned(fixtures, tmp_path)
    with_scan = run("summary", out).stdout
    assert with_scan.startswith(text.rstrip("\n") + "\n\nLeaked at exit")


# --- table --leaks ---------------------------------------------------------------------------

def table_rows(html):
    text = html.read_text()
    return text, json.loads(text.split('id="data">')[1].split("</script>")[0])


def test_table_gives_each_verdict_its_row_and_names_the_holder(fixtures, tmp_path):
    out = scanned(fixtures, tmp_path)
    html = tmp_path / "t.html"
    assert run("table", "--leaks", "-o", html, out).returncode == 0
    text, rows = table_rows(html)
    got = sorted((r[0], r[1], r[2], r[3], r[5], r[6], r[7], r[8]) for r in rows)
    tid = main_tid(out)
    assert got == sorted([
        (location("lose_chain", "reach.c", "chain"), NODE, 1, "CALLOC", 0, "definitely lost", "", 0),
        (location("lose_chain", "reach.c", "chain"), 2 * NODE, 2, "CALLOC", 1, "indirectly lost", "", 0),
        (location("lose_cycle", "reach.c", "cycle"), RING, 1, "CALLOC", 0, "definitely lost", "", 0),
        (location("lose_cycle", "reach.c", "ring"), RING, 1, "CALLOC", 1, "indirectly lost", "", 0),
        (location("hold_interior", "reach.c", "interior"), 200, 1, "MALLOC", 2, "possibly lost", "", 0),
        (location("hold_global", "reach.c", "cached"), 300, 1, "MALLOC", 3, "still reachable",
         "global cache in reach", 1),
        (location("hold_in_tls", "reach.c", "tls"), 500, 1, "MALLOC", 3, "still reachable",
         "thread %d TLS" % tid, 1),
        (location("hold_deep", "reach.c", "deep1"), 64, 1, "CALLOC", 3, "still reachable", "global held in reach", 1),
        (location("hold_deep", "reach.c", "deep2"), 64, 1, "CALLOC", 3, "still reachable", "global held in reach", 2),
        (location("hold_deep", "reach.c", "deep3"), 700, 1, "MALLOC", 3, "still reachable", "global held in reach", 3),
    ])
    # the whole stack is still there, innermost first
    deep3 = next(r for r in rows if r[1] == 700)
    assert deep3[4][0].startswith("hold_deep at %s:%d" % (SOURCE, line_of("reach.c", "deep3")))
    # the header splits the leaks, lost first; the table has the two columns and the selector
    facts = re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", text)
    assert facts[3:8] == [("Leaked", "2.082KiB in 11 allocations"),
                          ("Definitely lost", "128B in 2 allocations"),
                          ("Indirectly lost", "176B in 3 allocations"),
                          ("Possibly lost", "200B in 1 allocations"),
                          ("Still reachable", "1.590KiB in 5 allocations")]
    assert '<table id="table" data-split="1"><thead><tr><th>Location</th><th>Category</th>' in text
    assert '<option value="lost">lost (definitely or indirectly): 304B in 5 allocations</option>' in text


def test_table_draws_lost_first_with_the_holder(fixtures, tmp_path):
    out = scanned(fixtures, tmp_path)
    html = tmp_path / "t.html"
    assert run("table", "--leaks", "-o", html, out).returncode == 0
    dom = dom_after_scripts(html, tmp_path)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S) for tr in re.findall(r"<tr>(.*?)</tr>", dom, re.S)]
    categories = [c[1] for c in cells if len(c) == 6]
    assert categories == ["definitely lost"] * 2 + ["indirectly lost"] * 2 + ["possibly lost"] + \
        ["still reachable"] * 5
    held = {c[2]: c[5] for c in cells if len(c) == 6 and c[1] == "still reachable"}
    assert held["700B"] == "global held in reach, chain 3"
    assert held["300B"] == "global cache in reach, chain 1"
    assert "10 of 10 rows" in dom


def test_table_without_a_scan_is_as_before(fixtures, tmp_path):
    out = scanned(fixtures, tmp_path, scan=False)
    html = tmp_path / "t.html"
    assert run("table", "--leaks", "-o", html, out).returncode == 0
    text, rows = table_rows(html)
    assert all(len(r) == 5 for r in rows) and len(rows) == 9  # one row per stack, no verdict
    assert '<table id="table" data-split="0"><thead><tr><th>Location</th><th>Size</th>' in text
    assert "Definitely lost" not in text and 'id="view"' not in text
    # and with a scan, the peak's table is not split either
    out = scanned(fixtures, tmp_path, name="scanned.bin")
    assert run("table", "-o", html, "-f", out).returncode == 0
    text, rows = table_rows(html)
    assert all(len(r) == 5 for r in rows) and 'id="view"' not in text


# --- flamegraph --leaks ----------------------------------------------------------------------

def trees(html):
    text = html.read_text()
    found = {}
    for key, body in re.findall(r'<script type="application/json" id="(data[a-z-]*)">(.*?)</script>', text, re.S):
        found[key] = json.loads(body)
    return text, found


def leaves(node):
    """function -> (bytes, count) of the innermost frames (inverted: the root's
    children; a function that allocates on two lines has a node for each)."""
    out = {}
    for child in node["children"]:
        bytes_, count = out.get(child["name"], (0, 0))
        out[child["name"]] = (bytes_ + child["value"], count + child["count"])
    return out


def test_flamegraph_holds_one_tree_per_verdict(fixtures, tmp_path):
    out = scanned(fixtures, tmp_path)
    html = tmp_path / "f.html"
    assert run("flamegraph", "--leaks", "--inverted", "-o", html, out).returncode == 0
    text, t = trees(html)
    assert set(t) == {"data", "data-possibly", "data-reachable", "data-all"}
    # #data is what shows at load: the lost memory
    assert (t["data"]["value"], t["data"]["count"]) == (LOST, 5)
    assert leaves(t["data"]) == {"lose_chain": (3 * NODE, 3), "lose_cycle": (2 * RING, 2)}
    assert leaves(t["data-possibly"]) == {"hold_interior": (200, 1)}
    assert leaves(t["data-reachable"]) == {"hold_deep": (828, 3), "hold_in_tls": (500, 1),
                                           "hold_global": (300, 1)}
    assert t["data-all"]["value"] == LOST + POSSIBLY + REACHABLE and t["data-all"]["count"] == 11
    chain = next(c for c in t["data"]["children"] if c["name"] == "lose_chain")
    assert chain["loc"] == "%s:%d" % (SOURCE, line_of("reach.c", "chain"))
    assert '<option value="lost" selected>lost (definitely or indirectly): 304B in 5 allocations</option>' in text
    assert '<option value="reachable">still reachable: 1.590KiB in 5 allocations</option>' in text
    # the peak of the same capture is one tree, and so are the leaks of a capture without a scan
    assert run("flamegraph", "-o", tmp_path / "peak.html", out).returncode == 0
    text, t = trees(tmp_path / "peak.html")
    assert set(t) == {"data"} and 'id="view"' not in text
    plain = scanned(fixtures, tmp_path, scan=False, name="plain.bin")
    assert run("flamegraph", "--leaks", "-o", tmp_path / "plain.html", plain).returncode == 0
    text, t = trees(tmp_path / "plain.html")
    assert set(t) == {"data"} and t["data"]["value"] == LOST + POSSIBLY + REACHABLE
    assert 'id="view"' not in text and "Definitely lost" not in text


def test_flamegraph_shows_lost_first_and_switches_views(fixtures, tmp_path):
    out = scanned(fixtures, tmp_path)
    html = tmp_path / "f.html"
    assert run("flamegraph", "--leaks", "-o", html, out).returncode == 0
    chain = "lose_chain at %s:%d: 144B in 3 allocations" % (SOURCE, line_of("reach.c", "chain"))
    held = "hold_global at %s:%d: 300B in 1 allocations" % (SOURCE, line_of("reach.c", "cached"))
    dom = dom_after_scripts(html, tmp_path)
    assert "<title>%s</title>" % chain in dom and held not in dom
    dom = dom_after_scripts("%s#view=reachable" % html, tmp_path)
    assert "<title>%s</title>" % held in dom and chain not in dom


def test_flamegraph_says_so_when_nothing_was_lost(fixtures, tmp_path):
    """The lost view shows at load; empty, it would look like a broken page."""
    out = scanned(fixtures, tmp_path, "global", "tls")
    html = tmp_path / "f.html"
    assert run("flamegraph", "--leaks", "-o", html, out).returncode == 0
    text, t = trees(html)
    assert (t["data"]["value"], t["data"]["count"], t["data"]["children"]) == (0, 0, [])
    assert leaves(t["data-reachable"]) == {"_start": (800, 2)}  # not inverted: the outermost frame
    dom = dom_after_scripts(html, tmp_path)
    assert '<p id="note"> Nothing was lost (definitely or indirectly): pick another view above.</p>' in dom
    full = scanned(fixtures, tmp_path, name="full.bin")
    assert run("flamegraph", "--leaks", "-f", "-o", html, full).returncode == 0
    assert "Nothing was lost" not in html.read_text()


def test_hostile_paths_stay_text_in_the_split_pages(tmp_path):
    """A source path with markup: every view of both pages keeps it as text."""
    weird = tmp_path / 'we<img src=x onerror="document.title=\'pwned\'">ird&dir'
    weird.mkdir()
    shutil.copy(SOURCE, weird / "reach.c")
    prog = tmp_path / "weird_reach"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(prog), str(weird / "reach.c"), "-lpthread"], check=True)
    result, out = record(tmp_path, prog, *ARGS, options=("--reachability",))
    assert result.returncode == 7, result.stderr
    for report in ("flamegraph", "table"):
        html = tmp_path / ("%s.html" % report)
        assert run(report, "--leaks", "-o", html, out).returncode == 0
        text = html.read_text()
        assert "<img" not in text and 'onerror="document' not in text
        assert "Definitely lost" in text  # the split page, not the plain one
        dom = dom_after_scripts("%s#view=reachable" % html, tmp_path)
        assert "<img" not in dom, dom[max(0, dom.find("<img") - 300):dom.find("<img") + 100]
        assert re.search(r"<title>memray: [a-z ()]+</title>", dom), "a handler ran"
