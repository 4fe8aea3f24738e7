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


def test_every_reporter_on_cut_and_damaged_captures(fixtures, tmp_path):
    _, out = record(tmp_path, fixtures.build("threads.c"))
    data = out.read_bytes()
    cut = tmp_path / "cut.bin"
    cut.write_bytes(data[:len(data) - 7])	# inside the last block: a kill mid-write
    flipped = bytearray(data)
    header = int.from_bytes(data[12:16], "little")
    flipped[header + 30] ^= 0x10	# inside the first block's payload
    bad = tmp_path / "bad.bin"
    bad.write_bytes(bytes(flipped))
    reports = [["summary"], ["tree"], ["stats"], ["flamegraph", "-f", "-o", tmp_path / "f.html"],
               ["table", "-f", "-o", tmp_path / "t.html"], ["transform", "csv", "-f", "-o", tmp_path / "c.csv"]]
    for args in reports:
        result = run(*args, cut)
        assert result.returncode == 0, (args, result.stderr)
        assert "warning: %s: offset " % cut in result.stderr, (args, result.stderr)
        result = run(*args, bad)
        assert result.returncode == 1, (args, result.stderr)
        assert "error: %s: offset %d: block checksum mismatch" % (bad, header) in result.stderr, (args, result.stderr)
