"""Bad input: one line naming the file and what is wrong, a documented exit
status, never a crash (conftest.run checks every result for crash signs)."""
import os
import random
import stat

import pytest

from conftest import record, run


def one_error_line(result):
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("memray: error: "), lines
    return lines[0]


def test_missing_program(tmp_path):
    result = run("run", "-o", tmp_path / "o.bin", "no-such-program-here")
    assert result.returncode == 127
    assert "no-such-program-here: command not found" in one_error_line(result)
    assert not (tmp_path / "o.bin").exists()


def test_not_executable(tmp_path):
    script = tmp_path / "script.sh"
    script.write_text("echo hi\n")
    result = run("run", "-o", tmp_path / "o.bin", script)
    assert result.returncode == 126
    assert "permission denied" in one_error_line(result)


def test_unwritable_output(fixtures, tmp_path):
    prog = fixtures.build("blocks.c")
    result = run("run", "-o", tmp_path / "missing-dir" / "o.bin", prog)
    assert result.returncode == 1
    assert "missing-dir/o.bin" in one_error_line(result)
    result = run("run", "-o", tmp_path, prog)
    assert result.returncode == 1 and "is a directory" in one_error_line(result)


def test_existing_output_needs_force(fixtures, tmp_path):
    prog = fixtures.build("blocks.c")
    out = tmp_path / "o.bin"
    out.write_text("precious")
    result = run("run", "-o", out, prog)
    assert result.returncode == 1
    assert "already exists (use -f" in one_error_line(result)
    assert out.read_text() == "precious"
    assert run("run", "-q", "-f", "-o", out, prog).returncode == 0


@pytest.mark.parametrize("args", [["run"], ["run", "--bogus", "x"], ["run", "-o"], ["stats"],
                                  ["stats", "-n", "many", "x"], ["parse", "a", "b"], ["frobnicate"]])
def test_usage_errors(args):
    result = run(*args)
    assert result.returncode == 2
    one_error_line(result)


def test_help_everywhere():
    for args in (["--help"], ["run", "--help"], ["stats", "-h"], ["parse", "--help"]):
        result = run(*args)
        assert result.returncode == 0 and result.stdout.startswith("usage: memray"), args


@pytest.fixture(scope="module")
def good_capture(fixtures, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("good")
    _, out = record(tmp, fixtures.build("threads.c"))
    return out.read_bytes()


def test_empty_and_foreign_files(tmp_path):
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    result = run("stats", empty)
    assert result.returncode == 1 and "empty.bin: empty file" in one_error_line(result)
    foreign = tmp_path / "notes.txt"
    foreign.write_text("just some text that is long enough to have a header\n" * 3)
    for cmd in ("stats", "parse"):
        result = run(cmd, foreign)
        assert result.returncode == 1
        assert "notes.txt: not a memray capture file" in one_error_line(result)
    result = run("stats", tmp_path / "absent.bin")
    assert result.returncode == 1 and "absent.bin" in one_error_line(result)


def test_newer_version(good_capture, tmp_path):
    newer = tmp_path / "newer.bin"
    data = bytearray(good_capture)
    data[8:12] = (2).to_bytes(2, "little") + (0).to_bytes(2, "little")
    newer.write_bytes(bytes(data))
    result = run("stats", newer)
    assert result.returncode == 1
    assert "capture format version 2.0 is newer than this memray reads (1.x)" in one_error_line(result)


def test_truncated_everywhere(good_capture, tmp_path):
    """Cut the capture at many offsets: exit 0 with a warning (cut short) or
    1 with an offset (header cut), and never more records than were there."""
    cut = tmp_path / "cut.bin"
    size = len(good_capture)
    offsets = sorted(set([0, 1, 8, 39, 40, 41, 60, 100, size - 1] + random.Random(7).sample(range(size), 60)))
    for n in offsets:
        cut.write_bytes(good_capture[:n])
        result = run("stats", "--json", cut)
        if n == 0:
            assert result.returncode == 1
            continue
        assert result.returncode in (0, 1), (n, result.stderr)
        if result.returncode == 0:
            assert "warning" in result.stderr and "offset" in result.stderr, (n, result.stderr)
        else:
            assert "cut.bin" in one_error_line(result), n


def test_bit_flips_are_caught(good_capture, tmp_path):
    """A flipped bit after the header is never a silent different answer:
    either the figures are the same as the clean file's, or memray warns
    (a flipped size field reads as a cut) or fails with the offset."""
    clean_path = tmp_path / "clean.bin"
    clean_path.write_bytes(good_capture)
    clean = run("stats", "--json", clean_path).stdout
    flipped = tmp_path / "flip.bin"
    rng = random.Random(11)
    for _ in range(80):
        data = bytearray(good_capture)
        bit = rng.randrange(40 * 8, len(data) * 8)
        data[bit // 8] ^= 1 << (bit % 8)
        flipped.write_bytes(bytes(data))
        result = run("stats", "--json", flipped)
        if result.returncode == 0 and not result.stderr:
            assert result.stdout == clean, bit
        elif result.returncode == 0:
            assert "warning" in result.stderr, bit
        else:
            line = one_error_line(result)
            assert "flip.bin" in line and "offset" in line, (bit, line)
            partial = run("stats", "--partial", flipped)
            if "offset 0:" in line:	# the file header itself: nothing to read past
                assert partial.returncode == 1
            else:
                assert partial.returncode == 0 and "--partial" in partial.stderr


def test_random_bytes_after_a_header(good_capture, tmp_path):
    junk = tmp_path / "junk.bin"
    rng = random.Random(3)
    header_size = int.from_bytes(good_capture[12:16], "little")
    for _ in range(40):
        tail = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        junk.write_bytes(good_capture[:header_size] + (b"MRBK" if rng.random() < 0.5 else b"") + tail)
        for cmd in ("stats", "parse"):
            result = run(cmd, junk)
            assert result.returncode in (0, 1)


def test_existing_stats_output_needs_force(good_capture, tmp_path):
    cap = tmp_path / "c.bin"
    cap.write_bytes(good_capture)
    out = tmp_path / "stats.json"
    out.write_text("keep")
    result = run("stats", "--json", "-o", out, cap)
    assert result.returncode == 1 and "already exists" in one_error_line(result)
    assert out.read_text() == "keep"
    assert run("stats", "--json", "-f", "-o", out, cap).returncode == 0
    assert out.read_text().startswith("{")
