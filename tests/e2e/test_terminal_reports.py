"""`memray summary` and `memray tree`: the peak, in the terminal."""
from conftest import FIXTURES, line_of, record, run


def test_summary_of_the_peak(fixtures, tmp_path):
    prog = fixtures.build("mmaps.c")
    _, out = record(tmp_path, prog)
    result = run("summary", out)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Peak memory: 65.000MiB in 2 allocations"
    rows = {l.split("  ")[-1]: l.split() for l in lines[3:]}
    mapped = rows["map_big (%s)" % (FIXTURES / "mmaps.c")]
    assert mapped[:6] == ["64.000MiB", "98.46%", "64.000MiB", "98.46%", "1", "map_big"]
    main = rows["main (%s)" % (FIXTURES / "mmaps.c")]
    # main holds 1 MiB itself and, through map_big, all 65 MiB
    assert main[:6] == ["65.000MiB", "100.00%", "1.000MiB", "1.54%", "1", "main"]
    # sorted by own memory, map_big comes first
    by_own = run("summary", "-s", "own", out).stdout.splitlines()
    assert by_own[3].split()[-2] == "map_big"


def test_tree_of_the_peak(fixtures, tmp_path):
    prog = fixtures.build("blocks.c")
    _, out = record(tmp_path, prog)
    result = run("tree", out)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[2] == "[3.906MiB 100.00%] <ROOT>"
    make = "make_blocks  %s:%d" % (FIXTURES / "blocks.c", line_of("blocks.c", "make_blocks"))
    assert any(l.endswith("[3.906MiB 100.00%] " + make) for l in lines), lines
    depth = [l for l in lines if make in l][0].index("[")
    main = [l for l in lines if "] main  " in l][0]
    assert main.index("[") < depth


def test_terminal_reports_bad_input(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_text("not a capture at all, really not")
    for cmd in ("summary", "tree"):
        result = run(cmd, junk)
        assert result.returncode == 1 and "not a memray capture" in result.stderr
        assert run(cmd).returncode == 2
        assert run(cmd, "--bogus", junk).returncode == 2
    assert run("summary", "-s", "size", junk).returncode == 2
    assert run("tree", "-b", "x", junk).returncode == 2
