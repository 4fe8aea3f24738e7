"""The reports of a capture with a reachability scan (`memray run
--reachability`): `summary` splits
the leaks by verdict, lost first, and name what holds a still reachable
block. The graph is tests/fixtures/reach.c's, so every figure is exact."""
import re

from conftest import FIXTURES, parse, record, run

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
