"""`memray flamegraph`: one offline HTML file, names escaped, rendered by a
real browser (Debian's chromium, headless)."""
import re
import shutil
import subprocess

import pytest

from conftest import FIXTURES, line_of, record, run

CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--virtual-time-budget=3000"]


def dom_after_scripts(html, tmp_path):
    """The document as the browser has it once the page's scripts ran."""
    if not CHROMIUM:
        pytest.skip("chromium is not installed (make deps installs it)")
    result = subprocess.run([CHROMIUM] + CHROMIUM_FLAGS + ["--user-data-dir=%s" % (tmp_path / "profile"),
                            "--dump-dom", "file://%s" % html], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_default_name_and_overwrite(fixtures, tmp_path):
    _, out = record(tmp_path, fixtures.build("blocks.c"), name="blocks-run.bin")
    result = run("flamegraph", out)
    assert result.returncode == 0, result.stderr
    html = tmp_path / "memray-flamegraph-blocks-run.html"
    assert html.exists() and "memray: wrote %s" % html in result.stderr
    again = run("flamegraph", out)
    assert again.returncode == 1 and "already exists (use -f" in again.stderr
    assert run("flamegraph", "-f", out).returncode == 0


def test_self_contained_and_rendered(fixtures, tmp_path):
    _, out = record(tmp_path, fixtures.build("blocks.c"))
    html = tmp_path / "peak.html"
    assert run("flamegraph", "-o", html, out).returncode == 0
    text = html.read_text()
    # everything inline: no script or stylesheet is fetched
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", text)
    dom = dom_after_scripts(html, tmp_path)
    # d3-flame-graph drew the frames: one SVG group per frame, named
    assert "<svg" in dom
    make = "make_blocks at %s:%d" % (FIXTURES / "blocks.c", line_of("blocks.c", "make_blocks"))
    assert "<title>%s: 3.906MiB in 1000 allocations</title>" % make in dom
    assert "Peak memory</dt><dd>3.906MiB</dd>" in dom


def test_leaks_view(fixtures, tmp_path):
    _, out = record(tmp_path, fixtures.build("blocks.c"))
    html = tmp_path / "leaks.html"
    assert run("flamegraph", "--leaks", "-o", html, out).returncode == 0
    text = html.read_text()
    leak = "%s:%d" % (FIXTURES / "blocks.c", line_of("blocks.c", "leak_some"))
    assert '"name":"leak_some","loc":"%s","value":10000,"count":10' % leak in text
    assert "make_blocks" not in text.split('id="data">')[1].split("</script>")[0]


@pytest.mark.parametrize("report", ["flamegraph", "table"])
def test_hostile_names_are_text(fixtures, tmp_path, report):
    """A source path with markup in it shows as text and runs nothing."""
    weird = tmp_path / 'we<img src=x onerror="document.title=\'pwned\'">ird&dir'
    weird.mkdir()
    source = weird / "blocks.c"
    shutil.copy(FIXTURES / "blocks.c", source)
    prog = tmp_path / "weird_blocks"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(prog), str(source)], check=True)
    _, out = record(tmp_path, prog)
    html = tmp_path / "weird.html"
    assert run(report, "-o", html, out).returncode == 0
    text = html.read_text()
    assert "<img" not in text and "onerror=\"document" not in text
    dom = dom_after_scripts(html, tmp_path)
    # no element was made from the name, and no handler ran: the title is ours
    assert "<img" not in dom
    assert re.search(r"<title>memray: [a-z ]+ at the peak</title>", dom)
    # the name is there, as text (the DOM serializes it with entities)
    assert "we&lt;img src=x onerror=\"document.title='pwned'\"&gt;ird&amp;dir/blocks.c" in dom


def test_flamegraph_bad_input(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_text("no capture here, just text")
    result = run("flamegraph", junk)
    assert result.returncode == 1 and "not a memray capture" in result.stderr
    assert not (tmp_path / "memray-flamegraph-junk.html").exists()
    assert run("flamegraph").returncode == 2
    assert run("flamegraph", "--nope", junk).returncode == 2


def test_inverted_roots_at_the_allocating_function(fixtures, tmp_path):
    _, out = record(tmp_path, fixtures.build("blocks.c"))
    html = tmp_path / "inv.html"
    assert run("flamegraph", "--inverted", "-o", html, out).returncode == 0
    data = html.read_text().split('id="data">')[1].split("</script>")[0]
    # straight under the root: the allocating function, then its caller
    assert data.startswith('{"name":"\\u003croot\\u003e","loc":"","value":4096000,"count":1000,'
                           '"children":[{"name":"make_blocks"')
    assert '"children":[{"name":"main"' in data


def test_memory_chart(fixtures, tmp_path):
    _, out = record(tmp_path, fixtures.build("killer.c"))	# sleeps 200 ms: 20 samples
    html = tmp_path / "chart.html"
    assert run("flamegraph", "-o", html, out).returncode == 0
    samples = html.read_text().split('id="samples">')[1].split("</script>")[0]
    assert samples.count("],[") >= 10
    dom = dom_after_scripts(html, tmp_path)
    assert 'class="line-heap"' in dom and 'class="line-RSS"' in dom


def test_table_rows(fixtures, tmp_path):
    _, out = record(tmp_path, fixtures.build("mmaps.c"))
    html = tmp_path / "table.html"
    assert run("table", "-o", html, out).returncode == 0
    dom = dom_after_scripts(html, tmp_path)
    assert "2 of 2 rows" in dom
    mapped = "map_big:%s:%d" % (FIXTURES / "mmaps.c", line_of("mmaps.c", "mmap"))
    # the biggest row first: the mapping, 64 MiB, 1 allocation, MMAP
    first = dom.split("<tbody>")[1].split("</tr>")[0]
    assert "<summary>%s</summary>" % mapped in first
    assert '<td class="n">64.000MiB</td><td class="n">1</td><td>MMAP</td>' in first
    assert run("table", "-o", html, out).returncode == 1	# exists
    assert run("table", "--inverted", out).returncode == 2	# a flame graph option


def flame_data(html):
    import json
    return json.loads(html.read_text().split('id="data">')[1].split("</script>")[0])


def leaves(node, out=None):
    out = {} if out is None else out
    if not node["children"] and node["loc"]:
        out[node["name"] + " " + node["loc"]] = (node["value"], node["count"])
    for c in node["children"]:
        leaves(c, out)
    return out


def test_temporary_allocations(fixtures, tmp_path):
    _, out = record(tmp_path, fixtures.build("temporary.c"))
    src = FIXTURES / "temporary.c"
    html = tmp_path / "temp.html"
    assert run("flamegraph", "--temporary-allocations", "-o", html, out).returncode == 0
    got = leaves(flame_data(html))
    assert got["quick %s:%d" % (src, line_of("temporary.c", "quick"))] == (6400, 100)
    # b was allocated before a was freed: not temporary at threshold 1
    assert not any("pair_" in k or ":%d" % line_of("temporary.c", "pair_a") in k for k in got)
    assert not any(k.startswith("kept ") for k in got)
    html2 = tmp_path / "temp2.html"
    assert run("flamegraph", "--temporary-allocation-threshold", "2", "-o", html2, out).returncode == 0
    got = leaves(flame_data(html2))
    assert got["pairs %s:%d" % (src, line_of("temporary.c", "pair_a"))] == (1600, 50)
    assert got["pairs %s:%d" % (src, line_of("temporary.c", "pair_b"))] == (800, 50)
    assert not any(k.startswith("kept ") for k in got)
    # the table shows the same rows
    table = tmp_path / "temp-table.html"
    assert run("table", "--temporary-allocations", "-o", table, out).returncode == 0
    assert "temporary allocations" in table.read_text()
    bad = run("flamegraph", "--leaks", "--temporary-allocations", out)
    assert bad.returncode == 2 and "do not go together" in bad.stderr
    assert run("flamegraph", "--temporary-allocation-threshold", "0", out).returncode == 2


def test_split_threads(fixtures, tmp_path):
    _, out = record(tmp_path, fixtures.build("threads.c"))
    html = tmp_path / "threads.html"
    assert run("flamegraph", "--split-threads", "-o", html, out).returncode == 0
    top = {c["name"].split(" (")[1].rstrip(")"): c for c in flame_data(html)["children"]}
    for i in range(4):
        worker = top["worker-%d" % i]
        assert (worker["value"], worker["count"]) == (250 * 512, 250)
        assert worker["children"][0]["name"] == "worker"	# start_thread is runtime, hidden
    assert "main" in top
    assert run("flamegraph", "-o", tmp_path / "merged.html", out).returncode == 0
    assert not any(c["name"].startswith("thread ") for c in flame_data(tmp_path / "merged.html")["children"])


def test_temporal_time_ranges(fixtures, tmp_path):
    import json
    _, out = record(tmp_path, fixtures.build("phases.c"))
    html = tmp_path / "temporal.html"
    assert run("flamegraph", "--temporal", "-o", html, out).returncode == 0
    text = html.read_text()
    samples = json.loads(text.split('id="samples">')[1].split("</script>")[0])
    b_times = [ms for ms, heap, rss in samples if heap == 8 << 20]
    assert b_times, samples
    a_loc = "phase_a at %s:%d" % (FIXTURES / "phases.c", line_of("phases.c", "phase_a"))
    b_loc = "phase_b at %s:%d" % (FIXTURES / "phases.c", line_of("phases.c", "phase_b"))
    # the whole run: its high-water mark is phase A's
    dom = dom_after_scripts(html, tmp_path)
    assert "<title>%s: 20.000MiB in 1 allocations</title>" % a_loc in dom
    assert b_loc not in dom.split("</svg>", 1)[1]
    # a range inside phase B shows phase B alone
    ranged = tmp_path / "ranged.html"
    ranged.write_text(text)
    dom = dom_after_scripts("%s#range=%d-%d" % (ranged, b_times[0], b_times[-1]), tmp_path)
    assert "<title>%s: 8.000MiB in 1 allocations</title>" % b_loc in dom
    assert a_loc not in dom
    assert "Highest live heap between %d ms and %d ms: 8.000MiB" % (b_times[0], b_times[-1]) in dom
    bad = run("flamegraph", "--temporal", "--leaks", out)
    assert bad.returncode == 2 and "does not go with" in bad.stderr
    assert run("table", "--temporal", out).returncode == 2


@pytest.mark.parametrize("report", ["flamegraph", "table"])
def test_hostile_python_names_are_text(tmp_path, report):
    """A Python script whose path and function name hold markup: text, never markup."""
    weird = tmp_path / 'py<img src=x onerror="document.title=\'pwned\'">&dir'
    weird.mkdir()
    script = weird / "alloc.py"
    # a function named by a string is still a code object with that co_name
    script.write_text("ns = {}\n"
                      "exec(compile('def f():\\n    return bytearray(3_000_000)\\n', __file__, 'exec'), ns)\n"
                      "ns['f'].__code__ = ns['f'].__code__.replace(co_name='<b>bold</b>')\n"
                      "x = ns['f']()\n")
    _, out = record(tmp_path, script)
    html = tmp_path / "weird-py.html"
    assert run(report, "-o", html, out).returncode == 0, out
    text = html.read_text()
    assert "<img" not in text and "<b>bold" not in text
    dom = dom_after_scripts(html, tmp_path)
    assert "<img" not in dom and "<b>" not in dom
    assert re.search(r"<title>memray: [a-z ]+ at the peak</title>", dom)
    assert "&lt;b&gt;bold&lt;/b&gt;" in dom
    assert "py&lt;img src=x onerror=\"document.title='pwned'\"&gt;&amp;dir/alloc.py" in dom
