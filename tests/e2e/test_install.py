"""make install, and what the tracker library exports."""
import os
import subprocess
from pathlib import Path

from conftest import BUILD, ROOT, stats

# `make install` builds what it installs with the plain flags: under make sanitize, which names its
# plain build here, installing the ASan build would relink it without ASan
PLAIN = Path(os.environ.get("MEMRAY_PLAIN_BUILD", BUILD))


def test_exports_only_hooks_and_markers():
    out = subprocess.run(["nm", "-D", "--defined-only", str(BUILD / "libmemray_tracker.so")],
                         capture_output=True, text=True, check=True).stdout
    names = sorted(line.split()[-1] for line in out.splitlines() if line.strip())
    expected = sorted("""malloc free calloc realloc reallocarray posix_memalign aligned_alloc memalign
        valloc pvalloc mmap mmap64 munmap mremap execve execv execvp execvpe execl execlp execle
        fexecve _exit _Exit pthread_setname_np dlclose memray_test_begin memray_test_end memray_test_end_as
        memray_test_stats memray_test_flush memray_collect_garbage""".split())
    assert names == expected


def test_make_install_prefix(fixtures, tmp_path):
    prefix = tmp_path / "prefix"
    subprocess.run(["make", "-s", "-C", str(ROOT), "install", "PREFIX=%s" % prefix, "B=%s" % PLAIN],
                   check=True, capture_output=True)
    memray = prefix / "bin" / "memray"
    assert memray.exists()
    assert (prefix / "lib" / "memray" / "libmemray_tracker.so").exists()
    assert (prefix / "include" / "memray_test.h").exists()
    prog = fixtures.build("blocks.c")
    out = tmp_path / "o.bin"
    env = {k: v for k, v in os.environ.items() if k != "MEMRAY_TRACKER_LIB"}
    result = subprocess.run([str(memray), "run", "-q", "-o", str(out), str(prog)], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # the installed binary used the installed library: it is in the capture's modules
    parse = subprocess.run([str(memray), "parse", str(out)], capture_output=True, text=True).stdout
    assert str(prefix / "lib" / "memray" / "libmemray_tracker.so") in parse
    # python3 -m memray, as the Python tool's users type it, finds the installed binary
    site = next((prefix / "lib").glob("python3.*/dist-packages"))
    py_env = dict(env, PYTHONPATH=str(site))
    py_env.pop("MEMRAY_BIN", None)
    script = ROOT / "tests" / "fixtures" / "py_small.py"
    shim_out = tmp_path / "shim.bin"
    result = subprocess.run(["/usr/bin/python3", "-m", "memray", "run", "-q", "-o", str(shim_out), str(script)],
                            env=py_env, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = subprocess.run(["/usr/bin/python3", "-m", "memray", "flamegraph", str(shim_out)],
                            env=py_env, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "memray-flamegraph-shim.html").read_text()
    assert "small_objects" in page
    subprocess.run(["make", "-s", "-C", str(ROOT), "uninstall", "PREFIX=%s" % prefix, "B=%s" % PLAIN],
                   check=True, capture_output=True)
    assert not memray.exists()
    assert not (site / "memray").exists()


MARKED_SUITE = '''
import pytest

@pytest.mark.limit_memory("24 MB")
def test_a():
    pass

@pytest.mark.limit_leaks("1 MB", filter_fn=lambda stack: True)
def test_b():
    pass
'''


def test_installed_marks_register_without_the_gate(tmp_path):
    # a --strict-markers suite did not collect under plain pytest: nothing registered the marks
    prefix = tmp_path / "prefix"
    subprocess.run(["make", "-s", "-C", str(ROOT), "install", "PREFIX=%s" % prefix, "B=%s" % PLAIN],
                   check=True, capture_output=True)
    site = next((prefix / "lib").glob("python3.*/dist-packages"))
    (tmp_path / "test_m.py").write_text(MARKED_SUITE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMRAY", "PYTEST"))}
    env["PYTHONPATH"] = str(site)
    pytest_cmd = ["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers", "test_m.py"]
    result = subprocess.run(pytest_cmd, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout + result.stderr
    # --memray without the gate: one line that says what to run
    result = subprocess.run(pytest_cmd + ["--memray"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "--memray needs memray check: memray check -- python3 -m pytest ..." in result.stderr
    # under the gate the installed plugin is the gate's: the marks are judged
    (tmp_path / "test_m.py").write_text(MARKED_SUITE.replace('"24 MB")\ndef test_a():\n    pass',
                                                             '"1 MB")\ndef test_a():\n    b = bytearray(2 << 20)'))
    env.pop("MEMRAY_TRACKER_LIB", None)
    result = subprocess.run([str(prefix / "bin" / "memray"), "check", "--"] + pytest_cmd, env=env,
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1 and "1 failed, 1 passed" in result.stdout, result.stdout + result.stderr
    subprocess.run(["make", "-s", "-C", str(ROOT), "uninstall", "PREFIX=%s" % prefix, "B=%s" % PLAIN],
                   check=True, capture_output=True)
    assert not list(site.glob("memray*"))
