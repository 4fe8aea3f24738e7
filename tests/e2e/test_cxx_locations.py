"""Issue 18: on C++ built at -O0 and -O2, with and without debug info and
with libstdc++ linked statically, every report charges memory to the
program's own functions (never operator new or a std:: template while the
program has a frame of its own on the stack), and the rows of `summary`
and `tree` add up to the whole peak, with an explicit row for what is cut."""
import re

import pytest

from conftest import FIXTURES, line_of, record, run, stats

SOURCE = FIXTURES / "cxx_objects.cpp"
# (function, bytes, blocks) live at the peak, as the fixture's comment says
OWN = [("make_strings()", 100 * (32 + 101), 200), ("make_vectors()", 100 * (24 + 80), 200),
       ("make_nodes()", 100 * 48, 100)]
MARKERS = {"make_strings()": "string", "make_vectors()": "vector", "make_nodes()": "node"}
BUILDS = {
    "O0": ["-O0", "-g0"],
    "O2": ["-O2", "-g0"],
    "O2-static": ["-O2", "-g0", "-static-libstdc++"],
    "O0-debug": ["-O0"],
    "O2-debug": ["-O2"],
}
RUNTIME = re.compile(r"operator new|std::|__gnu_cxx|libstdc\+\+|libc\.so|malloc")


@pytest.fixture(scope="module", params=sorted(BUILDS))
def capture(request, fixtures, tmp_path_factory):
    prog = fixtures.build("cxx_objects.cpp", *BUILDS[request.param], name="cxx_objects_" + request.param)
    result, out = record(tmp_path_factory.mktemp(request.param), prog)
    assert result.returncode == 0, result.stderr
    return request.param, prog, out


def place(build, prog, function):
    """The location memray names for a fixture function in this build."""
    if build.endswith("debug"):
        return "%s:%s:%d" % (function, SOURCE, line_of("cxx_objects.cpp", MARKERS[function]))
    return "%s:%s:0" % (function, prog)


def test_stats_names_the_programs_functions(capture):
    build, prog, out = capture
    data = stats(out)
    runtime_bytes = data["metadata"]["peak_memory"] - sum(b for _, b, _ in OWN)
    peak = {e["location"]: e["size"] for e in data["peak"]["top_by_size"]}
    sizes = {e["location"]: e["size"] for e in data["top_allocations_by_size"]}
    counts = {e["location"]: e["count"] for e in data["top_allocations_by_count"]}
    for function, nbytes, blocks in OWN:
        assert peak[place(build, prog, function)] == nbytes, peak
        assert sizes[place(build, prog, function)] == nbytes, sizes
        assert counts[place(build, prog, function)] == blocks, counts
    # what is left is the runtime's own start-up (libstdc++'s exception pool
    # when it is linked in): no stack of the program is charged to it
    assert not [loc for loc in peak if RUNTIME.search(loc.split(":")[0])], peak
    assert runtime_bytes in (0, 72704), data["metadata"]["peak_memory"]
    assert data["leaks"]["bytes"] == runtime_bytes	# the fixture frees all it made


def summary_rows(out, *options):
    result = run("summary", *options, out)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    peak = re.match(r"Peak memory: (\S+) in (\d+) allocations", lines[0])
    rows = [l.split() for l in lines[3:]]
    return peak.groups(), rows


def test_summary_own_column_adds_up_to_the_peak(capture):
    build, prog, out = capture
    (peak, allocations), rows = summary_rows(out)
    own = {r[5]: (r[2], int(r[4])) for r in rows}
    assert own["make_strings()"] == ("12.988KiB", 200), rows
    assert own["make_vectors()"] == ("10.156KiB", 200), rows
    assert own["make_nodes()"] == ("4.688KiB", 100), rows
    assert not [r for r in rows if RUNTIME.search(r[5])], rows
    assert sum(int(r[4]) for r in rows) == int(allocations)
    assert abs(sum(float(r[3].rstrip("%")) for r in rows) - 100.0) < 0.05, rows
    # cut to one row: the rest is one "<other>" row, and the columns still add up
    (_, _), cut = summary_rows(out, "-r", "1", "-s", "own")
    assert len(cut) == 2 and cut[1][5] == "<other>", cut
    assert int(cut[0][4]) + int(cut[1][4]) == int(allocations)
    assert abs(float(cut[0][3].rstrip("%")) + float(cut[1][3].rstrip("%")) - 100.0) < 0.02, cut


def test_tree_adds_up_to_the_peak_with_an_other_row(capture):
    build, prog, out = capture
    result = run("tree", "-b", "1", out)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    root = re.match(r"\[(\S+) 100\.00%\] <ROOT>", lines[2])
    assert root, lines
    top = [l for l in lines[3:] if l[:4] in ("├── ", "└── ")]
    percents = [float(re.search(r" ([\d.]+)%\]", l).group(1)) for l in top]
    assert abs(sum(percents) - 100.0) < 0.02, lines
    other = [l for l in top if re.search(r"\] <\d+ other stacks>$", l)]
    assert len(top) == 2 and len(other) == 1, lines
    assert not [l for l in lines if RUNTIME.search(l)], lines
    # the one stack shown is the biggest: the strings' 101-byte buffers (or,
    # with libstdc++ linked in, its exception pool), down to the function
    leaf = lines[-1] if lines[-1] not in other else [l for l in lines if l not in other][-1]
    if build == "O2-static":
        assert "_GLOBAL__sub_I_eh_alloc.cc" in leaf and "[71.000KiB 71.84%]" in leaf, lines
    else:
        assert "make_strings()" in leaf and "[9.863KiB 35.44%]" in leaf, lines
