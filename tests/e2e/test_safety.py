"""The tracker never harms the program and never loses a capture
(issue 11): the program's descriptors, its own LD_PRELOAD across exec,
allocations in signal handlers, failed reallocs, huge command lines,
--aggregate across exec, an install path with a space, and a heap laid
out as it would be untracked."""
import os
import resource
import subprocess

import pytest

from conftest import BUILD, ROOT, entry, location, record, run, stats


def program_lines():
    return b"".join(b"line %d of the program's own output\n" % i for i in range(200))


def leaks_at(data, loc):
    return entry(data["leaks"]["top_by_size"], loc)


@pytest.mark.parametrize("source,marker,size", [
    ("fd_close.c", "fd_leak", 700),   # closes every fd >= 3, then opens its file
    ("fd_dup2.c", "dup_leak", 900),   # dup2()s its file over 3, 4 and every fd not its own
])
def test_program_that_takes_the_trackers_fds_keeps_its_own_file(fixtures, tmp_path, source, marker, size):
    prog = fixtures.build(source)
    own = tmp_path / "own.txt"
    result, out = record(tmp_path, prog, own)
    assert result.returncode == 0, result.stderr
    assert own.read_bytes() == program_lines()
    data = stats(out)
    loc = location("main", source, marker)
    assert leaks_at(data, loc) == {"location": loc, "size": 200 * size, "count": 200}
    assert data["capture"]["complete"]


def test_small_fd_limit_leaves_the_low_fds_to_the_program(fixtures, tmp_path):
    prog = fixtures.build("fd_low.c")
    out = tmp_path / "out.bin"
    cmd = "ulimit -Sn 5 && exec %s run -q -f -o %s %s %s %s" % (
        BUILD / "memray", out, prog, tmp_path / "a", tmp_path / "b")
    result = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "fds 3 4\n"
    assert "memray:" not in result.stderr
    data = stats(out)
    assert data["total_num_allocations"] >= 1


def test_exec_keeps_the_programs_own_preload(fixtures, tmp_path):
    src = tmp_path / "hello.c"
    src.write_text('#include <unistd.h>\n__attribute__((constructor)) static void hello(void)\n'
                   '{ write(2, "own preload here\\n", 17); }\n')
    lib = tmp_path / "libhello.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    prog = fixtures.build("exec_env.c")
    blocks = fixtures.build("blocks.c")
    result, out = record(tmp_path, prog, lib, blocks)
    assert result.returncode == 0, result.stderr
    assert "own preload here" in result.stderr
    data = stats(out)
    assert data["capture"]["segments"] == 2
    assert entry(data["leaks"]["top_by_size"], location("leak_some", "blocks.c", "leak_some"))["count"] == 10


def test_allocations_in_a_signal_handler_are_all_counted(fixtures, tmp_path):
    prog = fixtures.build("sig_alloc.c")
    result, out = record(tmp_path, prog, "1000")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "leaked 1000\n"
    data = stats(out)
    # every leaked 64 B block: the handler's 1000, whatever stack they carry
    small = sum(e["count"] for e in data["leaks"]["top_by_size"] if e["size"] == 64 * e["count"])
    assert small == 1000, data["leaks"]
    assert data["capture"]["complete"]


def test_failed_realloc_keeps_the_block(fixtures, tmp_path):
    prog = fixtures.build("realloc_fail.c")
    result, out = record(tmp_path, prog)
    assert result.returncode == 0, result.stderr
    data = stats(out)
    keep = location("main", "realloc_fail.c", "keep")
    other = location("main", "realloc_fail.c", "other")
    assert data["total_num_allocations"] == 2
    assert data["total_bytes_allocated"] == 1500
    assert data["allocator_type_distribution"] == {"MALLOC": 2}
    assert data["leaks"]["top_by_size"] == [{"location": other, "size": 500, "count": 1}]
    assert data["peak"]["bytes"] == 1500
    assert entry(data["top_allocations_by_size"], keep)["size"] == 1000


def big_stack():
    resource.setrlimit(resource.RLIMIT_STACK, (256 << 20, resource.RLIM_INFINITY))


def test_huge_command_lines_give_a_readable_capture(fixtures, tmp_path):
    prog = fixtures.build("blocks.c")
    for total in (300 << 10, 2 << 20):
        args = ["x" * 4000] * (total // 4000 + 1)
        out = tmp_path / ("%d.bin" % total)
        result = subprocess.run([str(BUILD / "memray"), "run", "-q", "-f", "-o", str(out), str(prog), "0"]
                                + args, capture_output=True, text=True, preexec_fn=big_stack)
        assert result.returncode == 0, result.stderr
        data = stats(out)
        make = location("make_blocks", "blocks.c", "make_blocks")
        assert entry(data["top_allocations_by_size"], make)["size"] == 4096000
        assert data["peak"]["bytes"] == 4096000
        assert data["capture"]["complete"] and data["capture"]["segments"] == 1
        assert data["metadata"]["command_line"].startswith(str(prog) + " 0 xxx")
        assert "more bytes)" in data["metadata"]["command_line"]


def test_aggregate_keeps_the_peak_of_an_image_that_execs(fixtures, tmp_path):
    prog = fixtures.build("hold_exec.c")
    small = fixtures.build("realloc_fail.c")
    result, out = record(tmp_path, prog, small, options=["--aggregate"])
    assert result.returncode == 0, result.stderr
    data = stats(out)
    assert data["peak"]["bytes"] >= 50 << 20
    assert data["peak"]["bytes"] < (50 << 20) + 65536
    hold = location("main", "hold_exec.c", "hold")
    assert entry(data["peak"]["top_by_size"], hold)["size"] == 50 << 20
    # what the first image held at exec is gone, not leaked
    assert all(e["location"] != hold for e in data["leaks"]["top_by_size"])


def test_installed_under_a_path_with_a_space(fixtures, tmp_path):
    prefix = tmp_path / "with space"
    subprocess.run(["make", "-s", "-C", str(ROOT), "install", "PREFIX=%s" % prefix, "B=%s" % BUILD],
                   check=True, capture_output=True)
    memray = prefix / "bin" / "memray"
    assert (prefix / "lib" / "memray" / "libmemray_tracker.so").exists()
    prog = fixtures.build("blocks.c")
    out = tmp_path / "o.bin"
    env = {k: v for k, v in os.environ.items() if k != "MEMRAY_TRACKER_LIB"}
    result = subprocess.run([str(memray), "run", "-q", "-o", str(out), str(prog)], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "cannot be preloaded" not in result.stderr
    data = stats(out)
    make = location("make_blocks", "blocks.c", "make_blocks")
    assert entry(data["top_allocations_by_size"], make)["size"] == 4096000
    assert data["peak"]["bytes"] == 4096000
    subprocess.run(["make", "-s", "-C", str(ROOT), "uninstall", "PREFIX=%s" % prefix, "B=%s" % BUILD],
                   check=True, capture_output=True)
    assert not memray.exists()


@pytest.mark.parametrize("options", [("--follow-fork",), ("--follow-fork", "--reachability", "--native")])
def test_the_programs_heap_is_laid_out_as_untracked(fixtures, tmp_path, options):
    """Nothing of the tracker's sits in the program's heap: before main()
    the heap is untouched, and the program's blocks land at the offsets
    they have untracked, in the process and in a forked child. A block the
    tracker once took there (a 94 KB buffer for /proc/self/cmdline) moved
    the program's blocks by 89 KB, and a Check suite run with CK_FORK=no
    then trimmed and regrew its heap a page at a time: 2.8 s tracked
    against 0.5."""
    prog = fixtures.build("heap_untouched.c")
    plain = subprocess.run([str(prog)], capture_output=True, text=True, check=True).stdout
    assert plain.splitlines()[0] == "main: heap used 0"
    assert len(plain.splitlines()) == 3 and "child: heap used before" in plain
    result, _ = record(tmp_path, prog, options=options)
    assert result.returncode == 0, result.stderr
    assert result.stdout == plain


@pytest.mark.parametrize("variables", [3, 600])
def test_exec_from_a_vfork_child_leaves_nothing_in_the_parents_heap(fixtures, tmp_path, variables):
    """A child of vfork() shares its parent's memory until it execs, and the
    tracker builds the exec's environment there: in the parent's heap, it
    stayed for good (3.3 MB after 200 spawns). Now it is on the stack, or
    for a large environment (600 variables) in a mapping of its own."""
    prog = fixtures.build("vfork_env.c")
    plain = subprocess.run([str(prog), "200", str(variables)], capture_output=True, text=True, check=True).stdout
    assert plain == "failed exec: ENOENT\n200 of 200 children exited 3; the heap grew by 0 bytes\n"
    result, _ = record(tmp_path, prog, "200", str(variables))
    assert result.returncode == 0, result.stderr
    assert result.stdout == plain
