"""`memray check` checks its outputs before the command runs, and leaves no
capture directory behind, whichever way it ends."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import MEMRAY, run


def test_output_folders_are_created_before_the_run(tmp_path):
    out = tmp_path / "new"
    result = run("check", "--budget", "1GB", "--junit", out / "a" / "j.xml", "--markdown", out / "b" / "s.md",
                 "--update-baseline", out / "c" / "base.json", "--keep-captures", out / "d" / "kept",
                 "--", "true")
    assert result.returncode == 0, result.stderr
    assert (out / "a" / "j.xml").read_text().startswith("<?xml")
    assert (out / "b" / "s.md").stat().st_size > 0
    assert (out / "c" / "base.json").exists()
    assert (out / "d" / "kept" / "memray-check.bin").exists()


@pytest.mark.parametrize("flag", ["--junit", "--junit-merge", "--markdown", "--update-baseline",
                                  "--keep-captures"])
def test_an_output_that_cannot_be_written_is_refused_at_once(tmp_path, flag):
    blocker = tmp_path / "file"
    blocker.write_text("")
    marker = tmp_path / "ran"
    result = run("check", "--budget", "1GB", flag, blocker / "x", "--", "touch", marker)
    assert result.returncode == 2
    assert not marker.exists(), "the command ran"
    assert result.stderr.count("\n") == 1 and flag in result.stderr, result.stderr
    assert "parser error" not in result.stderr and "I/O" not in result.stderr


def test_a_folder_named_as_a_file_is_refused(tmp_path):
    result = run("check", "--junit", tmp_path, "--", "true")
    assert result.returncode == 2
    assert "is a folder" in result.stderr


def capture_dir(stderr):
    found = re.search(r"capture (\S+)/memray-check\.bin", stderr)
    assert found, stderr
    return found.group(1)


def start(*args, **kwargs):
    env = dict(os.environ, TMPDIR=kwargs.pop("tmpdir"))
    return subprocess.Popen([str(MEMRAY), "check", "-v", "--budget", "1GB", "--"] + list(args), env=env,
                            stdin=subprocess.DEVNULL, text=True, **kwargs)


def test_a_closed_pipe_does_not_kill_check_nor_leave_its_captures(tmp_path):
    # memray check -v ... 2>&1 | head -1
    proc = start("sh", "-c", "sleep 0.5", tmpdir=str(tmp_path), stdout=subprocess.PIPE,
                 stderr=subprocess.STDOUT)
    first = proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    assert "tracker" in first
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("sig,group", [(signal.SIGTERM, False), (signal.SIGHUP, False), (signal.SIGINT, True)])
def test_a_signal_while_the_command_runs_leaves_no_captures(tmp_path, sig, group):
    proc = start("sleep", "30", tmpdir=str(tmp_path), stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 30
    while not any(p.name.startswith("memray-check-") and any(p.iterdir()) for p in tmp_path.iterdir()):
        assert time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    if group:   # ^C at a terminal: the whole foreground group
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert not os.path.exists(capture_dir(err))
    assert os.listdir(tmp_path) == []


def test_errors_leave_no_captures(tmp_path):
    env = {"TMPDIR": str(tmp_path)}
    missing = run("check", "-v", "--", "no-such-command-here", env=env)
    assert missing.returncode == 127
    assert os.listdir(tmp_path) == []
    killed = run("check", "-v", "--", "sh", "-c", "kill -9 $$", env=env)
    assert killed.returncode == 128 + 9
    assert not os.path.exists(capture_dir(killed.stderr))
    bad = run("check", "-v", "--baseline", tmp_path / "none.json", "--", "true", env=env)
    assert bad.returncode == 2
    assert os.listdir(tmp_path) == ["none.json"] or os.listdir(tmp_path) == []
