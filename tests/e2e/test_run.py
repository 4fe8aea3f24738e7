"""`memray run` leaves the program's behaviour alone and follows processes."""
import os
import signal
import subprocess

import pytest

from conftest import MEMRAY, entry, location, parse, record, run, stats


def test_output_and_exit_status_unchanged(fixtures, tmp_path):
    prog = fixtures.build("blocks.c")
    plain = subprocess.run([str(prog), "3"], capture_output=True, text=True)
    tracked = run("run", "-q", "-o", tmp_path / "o.bin", prog, "3")
    assert (tracked.returncode, tracked.stdout, tracked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert plain.returncode == 3


def test_not_quiet_says_where_on_stderr_only(fixtures, tmp_path):
    prog = fixtures.build("blocks.c")
    result = run("run", "-o", tmp_path / "o.bin", prog)
    assert result.stdout == "blocks: done\n"
    assert "memray: wrote %s" % (tmp_path / "o.bin") in result.stderr
    assert "memray stats" in result.stderr


def test_default_output_name(fixtures, tmp_path):
    prog = fixtures.build("blocks.c")
    result = run("run", "-q", prog, cwd=tmp_path)
    assert result.returncode == 0
    names = [p.name for p in tmp_path.iterdir()]
    assert len(names) == 1 and names[0].startswith("memray-blocks.") and names[0].endswith(".bin"), names


def test_killed_by_signal(fixtures, tmp_path):
    prog = fixtures.build("killer.c")
    result, out = record(tmp_path, prog)
    assert result.returncode == 128 + signal.SIGKILL
    assert "killed by signal 9 (SIGKILL)" in result.stderr
    # what was flushed before the kill is still readable: stats warns, exits 0
    rs = run("stats", "--json", "-n", "0", out)
    assert rs.returncode == 0
    assert "ends without its END record" in rs.stderr
    import json
    data = json.loads(rs.stdout)
    grab = location("grab", "killer.c", "grab")
    assert entry(data["top_allocations_by_size"], grab)["size"] == 100 * 1000
    assert data["capture"]["complete"] is False and data["capture"]["warnings"]


def test_sigterm_to_memray_reaches_the_program(fixtures, tmp_path):
    proc = subprocess.Popen([str(MEMRAY), "run", "-q", "-o", str(tmp_path / "o.bin"), "sleep", "30"],
                            stderr=subprocess.PIPE, text=True)
    import time
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "SIGTERM" in err


def test_fork_without_follow_fork(fixtures, tmp_path):
    prog = fixtures.build("forker.c")
    result, out = record(tmp_path, prog)
    assert result.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    data = stats(out)
    locs = [e["location"] for e in data["top_allocations_by_size"]]
    assert location("parent_work", "forker.c", "parent_work") in locs
    assert location("child_work", "forker.c", "child_work") not in locs


def test_fork_with_follow_fork(fixtures, tmp_path):
    prog = fixtures.build("forker.c")
    for how in ("exit", "_exit"):
        for p in tmp_path.iterdir():
            p.unlink()
        result, out = record(tmp_path, prog, how, options=["--follow-fork"])
        assert result.returncode == 0
        children = [p for p in tmp_path.iterdir() if p.name.startswith("out.bin.")]
        assert len(children) == 1, list(tmp_path.iterdir())
        child = stats(children[0])
        work = location("child_work", "forker.c", "child_work")
        assert entry(child["top_allocations_by_size"], work) == {"location": work, "size": 5 * 2222}
        assert child["capture"]["complete"] is True, how
        assert location("parent_work", "forker.c", "parent_work") not in \
            [e["location"] for e in child["top_allocations_by_size"]]
        assert any(" kind=fork " in l for l in parse(children[0]) if l.startswith("SEGMENT"))


def test_exec_continues_in_the_same_file(fixtures, tmp_path):
    prog = fixtures.build("execer.c")
    blocks = fixtures.build("blocks.c")
    result, out = record(tmp_path, prog, blocks)
    assert result.returncode == 0
    assert result.stdout == "blocks: done\n"
    data = stats(out)
    assert data["capture"]["segments"] == 2
    sizes = {e["location"]: e["size"] for e in data["top_allocations_by_size"]}
    assert sizes[location("before_exec", "execer.c", "before_exec")] == 999
    assert sizes[location("make_blocks", "blocks.c", "make_blocks")] == 4096000
    # the first image's blocks went away with it: not leaks
    assert location("before_exec", "execer.c", "before_exec") not in \
        [e["location"] for e in data["leaks"]["top_by_size"]]
    kinds = [l.split(" kind=")[1].split()[0] for l in parse(out) if l.startswith("SEGMENT")]
    assert kinds == ["start", "exec"]


def test_program_that_drops_ld_preload_stays_tracked(fixtures, tmp_path):
    blocks = fixtures.build("blocks.c")
    # env -u LD_PRELOAD execs the program without the tracker in its environment
    result, out = record(tmp_path, "/usr/bin/env", "-u", "LD_PRELOAD", str(blocks))
    assert result.returncode == 0
    data = stats(out)
    assert data["capture"]["segments"] == 2
    assert location("make_blocks", "blocks.c", "make_blocks") in \
        [e["location"] for e in data["top_allocations_by_size"]]


def test_full_disk_stops_tracking_not_the_program(fixtures, tmp_path):
    prog = fixtures.build("churn.c")
    out = tmp_path / "out.bin"
    # a 2 MiB file size limit: the capture (13 MB) fills it long before the end; a block can be 300 KB
    script = 'ulimit -f 2048; exec "%s" run -o "%s" "%s" 3000000 vary' % (MEMRAY, out, prog)
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 5, result.stderr
    assert result.stdout == "churn: finished\n"
    stopped = [l for l in result.stderr.splitlines() if "tracking stopped" in l]
    assert len(stopped) == 1 and "File too large" in stopped[0], result.stderr
    assert out.stat().st_size <= 2048 * 1024
    rs = run("stats", "--json", out)
    assert rs.returncode == 0 and "warning" in rs.stderr


def test_deep_stacks_are_recorded_whole(fixtures, tmp_path):
    """1000 frames of recursion: every frame is in the capture (heaptrack
    stops at about 64)."""
    prog = fixtures.build("deep.c")
    _, out = record(tmp_path, prog, "1000")
    lines = parse(out)
    parent = {}
    for l in lines:
        if l.startswith("FRAME "):
            fields = dict(f.split("=", 1) for f in l.split()[2:])
            parent[int(fields["id"])] = int(fields["parent"])
    alloc = [l for l in lines if l.startswith("ALLOC ") and " size=4321 " in l]
    assert len(alloc) == 1
    node, depth = int(alloc[0].rsplit("stack=", 1)[1]), 0
    while node:
        node, depth = parent[node], depth + 1
    # descend() 1001 times, plus main and the C runtime's start frames
    assert 1003 <= depth <= 1010, depth
    data = stats(out)
    assert location("descend", "deep.c", "bottom") in [e["location"] for e in data["top_allocations_by_size"]]


def test_verbose_flags_stop_at_the_program(tmp_path):
    out = tmp_path / "o.bin"
    result = run("-v", "run", "-q", "-o", out, "/bin/echo", "-v", "-vv", "hi")
    assert result.returncode == 0
    assert result.stdout == "-v -vv hi\n"
    assert "memray: tracker " in result.stderr and "memray: running" not in result.stderr
    result = run("run", "-vv", "-q", "-f", "-o", out, "/bin/echo", "x")
    assert "memray: running /bin/echo" in result.stderr
    result = run("stats", "-v", out)
    assert result.returncode == 0 and "records in 1 segment(s)" in result.stderr


def test_no_room_for_the_header_is_memray_s_error(fixtures, tmp_path):
    """The program never ran: exit 1 with one line, not 126 or "killed by SIGXFSZ"."""
    prog = fixtures.build("blocks.c")
    out = tmp_path / "out.bin"
    script = 'ulimit -f 0; exec "%s" run -o "%s" "%s"' % (MEMRAY, out, prog)
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr == "memray: error: cannot write the capture header to '%s': File too large\n" % out
    assert not out.exists()


def test_a_full_disk_before_the_header_is_memray_s_error(fixtures, tmp_path):
    prog = fixtures.build("blocks.c")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(disk)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        (disk / "fill").write_bytes(b"\0" * 4096)
        result = run("run", "-o", disk / "out.bin", prog)
        assert result.returncode == 1, result.stderr
        assert result.stdout == ""
        assert "cannot write the capture header to '%s': No space left on device" % (disk / "out.bin") \
            in result.stderr
    finally:
        subprocess.run(["umount", str(disk)])


def test_a_trie_past_its_first_table_keeps_every_stack(fixtures, tmp_path):
    """65,536 leaves, each reached by its own path of left()/right()
    calls: the tracker's stack trie grows twice (it starts with room for
    32,768 nodes) and every allocation still has its own whole stack."""
    prog = fixtures.build("paths.c")
    _, out = record(tmp_path, prog, "16")
    lines = parse(out)
    parent = {}
    for l in lines:
        if l.startswith("FRAME "):
            fields = dict(f.split("=", 1) for f in l.split()[2:])
            parent[int(fields["id"])] = int(fields["parent"])
    stacks = [int(l.rsplit("stack=", 1)[1]) for l in lines if l.startswith("ALLOC ") and " size=16 " in l]
    assert len(stacks) == 65536 and len(set(stacks)) == 65536
    assert len(parent) > 2 * 65536
    for node in stacks[::4099]:
        depth = 0
        while node:
            node, depth = parent[node], depth + 1
        # walk() 17 times, left() or right() 16 times, main and the C runtime's start
        assert 35 <= depth <= 40, depth
    data = stats(out)
    leaf = location("walk", "paths.c", "leaf")
    assert entry(data["top_allocations_by_size"], leaf)["size"] == 65536 * 16
    assert data["leaks"]["allocations"] == 32768 and data["leaks"]["bytes"] == 32768 * 16



def test_a_capture_stopped_early_says_so_in_every_reader(fixtures, tmp_path):
    prog = fixtures.build("churn.c")
    out = tmp_path / "out.bin"
    script = 'ulimit -f 2048; exec "%s" run -o "%s" "%s" 3000000 vary' % (MEMRAY, out, prog)
    subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    data = stats(out)
    assert data["capture"]["complete"] is False
    assert any("tracking stopped early" in w for w in data["capture"]["warnings"])
    text = run("stats", out)
    assert text.returncode == 0 and "memray: warning: %s: tracking stopped early" % out in text.stderr
