"""Python programs under `memray run`: Python frames with the right function,
file and line, every kind of thread, exceptions and generators, forks,
--native, --trace-python-allocators, -m and -c, and Python's own errors."""
import csv
import os
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, MEMRAY, entry, line_of, location, parse, record, run, stats

PYTHON = "/usr/bin/python3"
# what `memray run script.py` runs: the python3 in PATH (pyenv's shim resolved)
RUN_PYTHON = subprocess.run(["python3", "-c", "import sys; print(sys.executable)"], capture_output=True,
                            text=True, check=True).stdout.strip()
PYENV_310 = Path("/root/.pyenv/versions/3.10.13/bin/python3.10")
MIB = 1024 * 1024


def script(name):
    return FIXTURES / name


def plain(*args, env=None, python=PYTHON):
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([python] + [str(a) for a in args], capture_output=True, text=True,
                          env=full, timeout=120)


def stacks(capture, *options):
    """The peak's (or --leaks') stacks: [(allocator, count, size, [frames...])],
    frames as "function:file:line", innermost first."""
    out = capture.with_suffix(".csv")
    result = run("transform", "csv", "-f", "-o", out, *options, capture)
    assert result.returncode == 0, result.stderr
    rows = []
    with open(out, newline="") as f:
        for row in csv.DictReader(f):
            frames = [":".join(fr.split(";")) for fr in row["stack_trace"].split("|") if fr]
            rows.append((row["allocator"], int(row["num_allocations"]), int(row["size"]), frames))
    return rows


def stack_with(rows, size):
    matches = [r for r in rows if r[2] == size]
    assert len(matches) == 1, [(r[2], r[3][:2]) for r in rows]
    return matches[0][3]


def py(function, source, marker):
    return location(function, source, marker)


def test_functions_threads_and_c_extensions(tmp_path):
    # Debian's python3, whose threading.py lines are known below
    result, out = record(tmp_path, script("py_alloc.py"), env={"MEMRAY_PYTHON": PYTHON})
    reference = plain(script("py_alloc.py"))
    # the program's own output and exit status are untouched
    assert (result.returncode, result.stdout, result.stderr) == \
        (reference.returncode, reference.stdout, reference.stderr) == \
        (3, "py_alloc: 3 arrays\n", "py_alloc: a line on stderr\n")
    s = stats(out)
    by_size = s["top_allocations_by_size"]
    # bytearray(n) is one malloc of n + 1 bytes: 8 MiB in a thread, 3 MiB in main
    assert entry(by_size, py("make_array", "py_alloc.py", "make_array"))["size"] == 11 * MIB + 2
    # bytes(range(256)) * 8192: 2 MiB of data and a 33-byte object header
    assert entry(by_size, py("main", "py_alloc.py", "data"))["size"] == 2 * MIB + 33
    # zlib's deflate state (window, prev and head: 3 x 64 KiB at least) is
    # charged to the Python line that called zlib.compress
    assert entry(by_size, py("compress_it", "py_alloc.py", "compress_it"))["size"] >= 3 * 65536
    assert s["metadata"]["has_native_traces"] is False
    assert s["metadata"]["command_line"] == "%s %s" % (PYTHON, script("py_alloc.py"))

    rows = stacks(out)
    in_thread = stack_with(rows, 8 * MIB + 1)
    assert in_thread == [
        py("make_array", "py_alloc.py", "make_array"),
        py("in_thread", "py_alloc.py", "in_thread"),
        "run:/usr/lib/python3.11/threading.py:975",
        "_bootstrap_inner:/usr/lib/python3.11/threading.py:1038",
        "_bootstrap:/usr/lib/python3.11/threading.py:995",
    ]
    assert stack_with(rows, 3 * MIB + 1) == [
        py("make_array", "py_alloc.py", "make_array"),
        py("main", "py_alloc.py", "main_array"),
        py("<module>", "py_alloc.py", "module_main"),
    ]


def test_every_kind_of_thread(tmp_path, fixtures):
    lib = fixtures.build("py_cthread.c", "-shared", "-fPIC", name="libpycthread.so")
    result, out = record(tmp_path, script("py_threads.py"), lib)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "threads done\n"
    by_size = stats(out)["top_allocations_by_size"]
    expected = {
        "early_alloc": 1_100_001,       # started at import, before main()
        "pool_alloc": 4 * 1_200_001,    # four calls in a thread pool
        "daemon_alloc": 1_300_001,      # a daemon thread still running at exit
        "c_alloc": 1_400_001,           # a thread created in C that calls into Python
    }
    for function, size in expected.items():
        assert entry(by_size, py(function, "py_threads.py", function))["size"] == size
    s = stats(out)
    assert s["capture"]["complete"] is True


def test_exceptions_generators_and_exit_from_a_thread(tmp_path):
    result, out = record(tmp_path, script("py_unwind.py"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "unwind done\n"
    rows = stacks(out)
    # at the bottom of 300 recursive calls: 301 dive frames, then main and <module>
    bottom = stack_with(rows, 1_600_001)
    assert bottom[0] == py("dive", "py_unwind.py", "bottom")
    assert bottom[1:301] == [py("dive", "py_unwind.py", "dive")] * 300
    assert bottom[301:] == [py("main", "py_unwind.py", "main_dive"),
                            py("<module>", "py_unwind.py", "module_main")]
    # after the exception unwound them, 50 abandoned generators and a thread
    # that called sys.exit, the stack is exactly what the source says
    assert stack_with(rows, 1_500_001) == [
        py("after_all", "py_unwind.py", "after_all"),
        py("main", "py_unwind.py", "main_after"),
        py("<module>", "py_unwind.py", "module_main"),
    ]


def test_native_merges_python_and_native_frames(tmp_path):
    result, out = record(tmp_path, script("py_alloc.py"), options=["--native"])
    assert result.returncode == 3
    s = stats(out)
    assert s["metadata"]["has_native_traces"] is True
    # a location is still the Python line: the interpreter's own frames are skipped
    by_size = s["top_allocations_by_size"]
    assert entry(by_size, py("make_array", "py_alloc.py", "make_array"))["size"] == 11 * MIB + 2
    frames = stack_with(stacks(out), 3 * MIB + 1)
    functions = [f.split(":")[0] for f in frames]
    inner = functions.index("make_array")
    # native frames of the interpreter inside the Python frame, Python frames
    # where the eval loop was, and the C start-up outside them
    assert "PyByteArray_Resize" in functions[:inner]
    assert functions[inner + 1:inner + 3] == ["main", "<module>"]
    assert frames[inner] == py("make_array", "py_alloc.py", "make_array")
    assert "_PyEval_EvalFrameDefault" not in functions
    assert functions[-1] == "_start" and "Py_BytesMain" in functions[inner:]
    # zlib's own allocation: libz, then the interpreter, then the Python caller
    rows = stacks(out)
    deflate = [r[3] for r in rows if r[3][0].startswith("deflateInit2_:")]
    assert deflate, [r[3][0] for r in rows]
    functions = [f.split(":")[0] for f in deflate[0]]
    caller = functions.index("compress_it")
    assert deflate[0][caller] == py("compress_it", "py_alloc.py", "compress_it")
    assert functions[caller + 1] == "main"


def test_trace_python_allocators(tmp_path):
    loc = py("small_objects", "py_small.py", "small")
    _, plain_out = record(tmp_path, script("py_small.py"), name="plain.bin")
    _, traced = record(tmp_path, script("py_small.py"), options=["--trace-python-allocators"],
                       name="traced.bin")
    untraced = stats(plain_out)
    full = stats(traced)
    assert full["metadata"]["trace_python_allocators"] is True
    assert not any(k.startswith("PYMALLOC") for k in untraced["allocator_type_distribution"])
    assert full["allocator_type_distribution"]["PYMALLOC_MALLOC"] >= 20000
    # each [i] is one list object of pymalloc (56 bytes with its GC header)
    # and one 8-byte item array: 20000 of each, and nothing counted twice
    counts = {e["location"]: e["count"] for e in full["top_allocations_by_count"]}
    assert counts[loc] >= 40000
    # without the option, pymalloc's objects are not seen one by one
    plain_counts = {e["location"]: e["count"] for e in untraced["top_allocations_by_count"]}
    assert plain_counts.get(loc, 0) < 1000


def test_dash_m_and_dash_c(tmp_path):
    env = {"PYTHONPATH": str(FIXTURES / "pymod")}
    out = tmp_path / "m.bin"
    result = run("run", "-q", "-o", out, "-m", "py_module", "one", "two", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "module ran with ['one', 'two']\n"
    by_size = stats(out)["top_allocations_by_size"]
    assert entry(by_size, py("<module>", "pymod/py_module.py", "module_alloc"))["size"] == 2_500_001

    out = tmp_path / "c.bin"
    result = run("run", "-q", "-o", out, "-c", "x = bytearray(3_000_000); print('c ran')")
    assert (result.returncode, result.stdout) == (0, "c ran\n"), result.stderr
    assert stack_with(stacks(out), 3_000_001) == ["<module>:<string>:1"]


def test_default_output_name_follows_the_script(tmp_path):
    result = run("run", script("py_small.py"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = [p.name for p in tmp_path.iterdir()]
    assert len(names) == 1 and names[0].startswith("memray-py_small.py.") and names[0].endswith(".bin")


def test_follow_fork_with_multiprocessing(tmp_path):
    result, out = record(tmp_path, script("py_fork.py"), options=["--follow-fork"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "child exit code 0\n"
    children = sorted(tmp_path.glob("out.bin.*"))
    assert len(children) == 1, children
    child = stats(children[0])["top_allocations_by_size"]
    assert entry(child, py("child_work", "py_fork.py", "child_work"))["size"] == 2_100_001
    parent = stats(out)["top_allocations_by_size"]
    assert entry(parent, py("<module>", "py_fork.py", "parent_work"))["size"] == 900_001
    assert py("child_work", "py_fork.py", "child_work") not in [e["location"] for e in parent]


@pytest.mark.parametrize("case", ["missing", "syntax", "module"])
def test_python_errors_are_pythons_own(tmp_path, case):
    if case == "missing":
        args, py_args = [tmp_path / "nope.py"], [tmp_path / "nope.py"]
    elif case == "syntax":
        bad = tmp_path / "bad.py"
        bad.write_text("def broken(:\n    pass\n")
        args, py_args = [bad], [bad]
    else:
        args, py_args = ["-m", "no_such_module_here"], ["-m", "no_such_module_here"]
    out = tmp_path / "err.bin"
    result = run("run", "-q", "-o", out, *args)
    reference = plain(*py_args, python=RUN_PYTHON)
    assert reference.returncode != 0
    assert (result.returncode, result.stdout, result.stderr) == \
        (reference.returncode, reference.stdout, reference.stderr)
    # and the capture of that short life is whole and readable
    s = stats(out)
    assert s["capture"]["complete"] is True and s["total_num_allocations"] > 0


def test_parse_shows_code_and_python_frames(tmp_path):
    _, out = record(tmp_path, script("py_small.py"))
    lines = parse(out)
    code = [l for l in lines if l.startswith("CODE ") and 'function="small_objects"' in l]
    assert len(code) == 1
    assert 'file="%s"' % script("py_small.py") in code[0]
    assert "line=%d" % line_of("py_small.py", "def_small") in code[0]
    assert any(l.startswith("PYFRAME ") for l in lines)


OTHER_PYTHONS = [Path("/root/.pyenv/versions/%s/bin/python%s" % (full, full.rsplit(".", 1)[0]))
                 for full in ("3.11.7", "3.12.1", "3.13.0")]


@pytest.mark.parametrize("python", OTHER_PYTHONS, ids=lambda p: p.name)
def test_other_pythons_on_the_machine(tmp_path, fixtures, python):
    if not python.exists():
        pytest.skip("%s is not on this machine" % python)
    env = {"MEMRAY_PYTHON": str(python)}
    result, out = record(tmp_path, script("py_unwind.py"), env=env)
    assert result.returncode == 0, result.stderr
    assert "no Python frames" not in result.stderr
    rows = stacks(out)
    assert stack_with(rows, 1_500_001) == [
        py("after_all", "py_unwind.py", "after_all"),
        py("main", "py_unwind.py", "main_after"),
        py("<module>", "py_unwind.py", "module_main"),
    ]
    assert stack_with(rows, 1_600_001)[1:301] == [py("dive", "py_unwind.py", "dive")] * 300
    lib = fixtures.build("py_cthread.c", "-shared", "-fPIC", name="libpycthread.so")
    result, out = record(tmp_path, script("py_threads.py"), lib, env=env, name="threads.bin")
    assert result.returncode == 0, result.stderr
    by_size = stats(out)["top_allocations_by_size"]
    for function, size in {"early_alloc": 1_100_001, "pool_alloc": 4 * 1_200_001,
                           "daemon_alloc": 1_300_001, "c_alloc": 1_400_001}.items():
        assert entry(by_size, py(function, "py_threads.py", function))["size"] == size
    # --native: the Python frames stand where the eval loop was
    result, out = record(tmp_path, script("py_alloc.py"), env=env, options=["--native"], name="n.bin")
    assert result.returncode == 3, result.stderr
    functions = [f.split(":")[0] for f in stack_with(stacks(out), 3 * MIB + 1)]
    inner = functions.index("make_array")
    assert functions[inner + 1:inner + 3] == ["main", "<module>"]
    assert "_PyEval_EvalFrameDefault" not in functions and functions[-1] == "_start"


@pytest.mark.skipif(not PYENV_310.exists(), reason="no Python 3.10 here")
def test_unsupported_python_falls_back_to_native_frames(tmp_path):
    result, out = record(tmp_path, script("py_small.py"), env={"MEMRAY_PYTHON": str(PYENV_310)})
    assert result.returncode == 0
    assert result.stderr.count("memray: no Python frames: Python 3.10 is not supported") == 1
    assert "recording native frames only" in result.stderr
    s = stats(out)
    assert s["metadata"]["has_native_traces"] is True
    assert not any(".py:" in e["location"] for e in s["top_allocations_by_size"])
    assert s["total_num_allocations"] > 0


def test_python_shim_runs_the_binary(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "python"),
               MEMRAY_BIN=str(MEMRAY))
    out = tmp_path / "shim.bin"
    result = subprocess.run([PYTHON, "-m", "memray", "run", "-q", "-o", str(out), str(script("py_small.py"))],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert stats(out)["total_num_allocations"] > 0
    result = subprocess.run([PYTHON, "-m", "memray", "stats", "--bogus", str(out)],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 2 and "unknown option '--bogus'" in result.stderr


def test_aggregate_keeps_python_locations(tmp_path):
    _, out = record(tmp_path, script("py_alloc.py"), options=["--aggregate"])
    s = stats(out)
    assert s["metadata"]["file_format"] == "AGGREGATED_ALLOCATIONS"
    by_size = s["top_allocations_by_size"]
    assert entry(by_size, py("make_array", "py_alloc.py", "make_array"))["size"] == 11 * MIB + 2
    assert entry(by_size, py("main", "py_alloc.py", "data"))["size"] == 2 * MIB + 33


def test_python_killed_by_a_signal_leaves_a_readable_capture(tmp_path):
    code = ("import os, signal, time\n"
            "def hold():\n"
            "    return bytearray(4_000_000)\n"
            "x = hold()\n"
            "time.sleep(0.2)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    out = tmp_path / "killed.bin"
    result = run("run", "-q", "-o", out, "-c", code)
    assert result.returncode == 128 + 9
    assert "was killed by signal 9 (SIGKILL)" in result.stderr
    s = stats(out)
    assert s["capture"]["complete"] is False
    assert entry(s["top_allocations_by_size"], "hold:<string>:3")["size"] == 4_000_001
