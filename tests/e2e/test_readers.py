"""Readers that cannot be hurt (issue 11): a capture that shrinks while it
is read is cut short, never a crash; a FIFO, as the capture, as `run -o`
or as a module the capture names, is refused at once instead of hanging."""
import os
import shutil
import subprocess

import pytest

from conftest import FIXTURES, record, run

READERS = [("stats",), ("stats", "--json"), ("flamegraph", "-f", "-o", "{out}"), ("table", "-f", "-o", "{out}"),
           ("summary",), ("tree",), ("parse",), ("transform", "-f", "-o", "{out}", "csv")]


def argv(cmd, tmp_path, capture):
    return [a.replace("{out}", str(tmp_path / "out.html")) for a in cmd] + [capture]


def test_capture_shrinks_under_the_reader(fixtures, tmp_path):
    """MEMRAY_TEST_SHRINK_TO (capture/reader.h) truncates the file once its
    header is read: a mapped reader died of SIGBUS there."""
    _, good = record(tmp_path, fixtures.build("churn.c"), "200000", options=("--no-compress",))
    size = good.stat().st_size
    assert size > 1 << 20
    shrunk = tmp_path / "shrunk.bin"
    for cmd in READERS:
        for keep in (size // 2, 4096, 100):
            shutil.copy(good, shrunk)
            result = run(*argv(cmd, tmp_path, shrunk), env={"MEMRAY_TEST_SHRINK_TO": str(keep)})
            assert result.returncode in (0, 1), (cmd, keep, result.stderr)
            assert "shrunk.bin" in result.stderr and "offset" in result.stderr, (cmd, keep, result.stderr)
            assert os.path.getsize(shrunk) == keep


def fifo(tmp_path, name="capture.fifo"):
    path = tmp_path / name
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("cmd", READERS, ids=lambda c: " ".join(c))
def test_reader_refuses_a_fifo(tmp_path, cmd):
    path = fifo(tmp_path)
    result = run(*argv(cmd, tmp_path, path), timeout=20)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "capture.fifo" in lines[0] and "not a regular file" in lines[0], lines


def test_run_output_fifo(fixtures, tmp_path):
    prog = fixtures.build("blocks.c")
    path = fifo(tmp_path, "out.fifo")
    for force in ((), ("-f",)):
        result = run("run", *force, "-o", path, prog, timeout=20)
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "out.fifo" in lines[0] and "not a regular file" in lines[0], lines


def test_check_junit_fifo(tmp_path):
    path = fifo(tmp_path, "junit.fifo")
    result = run("check", "--junit", path, "true", timeout=30)
    assert result.returncode == 2, result.stderr
    assert "junit.fifo" in result.stderr and "not a regular file" in result.stderr, result.stderr


def test_module_path_names_a_fifo(tmp_path):
    """The program the capture names is replaced by a FIFO: its frames show
    as addresses with one warning, and symbol lookup does not hang."""
    prog = tmp_path / "prog"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(prog), str(FIXTURES / "blocks.c")], check=True)
    _, capture = record(tmp_path, prog)
    prog.unlink()
    os.mkfifo(prog)
    for cmd in (("stats",), ("summary",), ("flamegraph", "-f", "-o", "{out}"), ("tree",)):
        result = run(*argv(cmd, tmp_path, capture), timeout=30)
        assert result.returncode == 0, (cmd, result.stderr)
        warnings = [l for l in result.stderr.splitlines() if str(prog) in l]
        assert len(warnings) == 1 and "not a regular file" in warnings[0], (cmd, result.stderr)
        (tmp_path / "out.html").unlink(missing_ok=True)


def test_check_markdown_fifo(tmp_path):
    path = fifo(tmp_path, "summary.fifo")
    result = run("check", "--markdown", path, "true", timeout=30)
    assert result.returncode == 2, result.stderr
    assert "summary.fifo" in result.stderr and "not a regular file" in result.stderr, result.stderr


def test_manifest_and_baseline_fifos_are_refused(tmp_path):
    """A manifest or baseline path naming a FIFO is refused at once, never waited on."""
    fifo = tmp_path / "memray.yml"
    os.mkfifo(fifo)
    manifest = run("check", "--manifest", fifo, "--", "true", timeout=20)
    assert manifest.returncode == 2
    assert manifest.stderr == "memray: error: manifest '%s' is not a regular file (a FIFO, socket or device)\n" % fifo
    baseline = run("check", "--baseline", fifo, "--", "true", timeout=20)
    assert baseline.returncode == 2
    assert baseline.stderr == "memray: error: baseline '%s' is not a regular file (a FIFO, socket or device)\n" % fifo
