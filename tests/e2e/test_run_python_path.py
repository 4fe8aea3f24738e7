"""`memray run script.py` runs the python3 the user gets from PATH (a venv's,
pyenv's real interpreter behind its shell-script shim), $MEMRAY_PYTHON first."""
import os
import subprocess

import pytest

from conftest import run, stats


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    where = tmp_path_factory.mktemp("venv") / "env"
    made = subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(where)], capture_output=True)
    if made.returncode:
        pytest.skip("python3 -m venv does not work here (Debian: apt-get install python3-venv)")
    site = next((where / "lib").glob("python3*/site-packages"))
    (site / "only_in_venv.py").write_text("def grow():\n    return [bytearray(4096) for _ in range(256)]\n")
    return where


SCRIPT = "import sys, only_in_venv\nkept = only_in_venv.grow()\nprint(sys.prefix)\n"


def env_with(path_first):
    env = {"PATH": "%s:%s" % (path_first, os.environ["PATH"])}
    return env


def test_the_venv_python3_in_path_runs_the_script(venv, tmp_path):
    script = tmp_path / "uses_venv.py"
    script.write_text(SCRIPT)
    out = tmp_path / "out.bin"
    env = env_with(venv / "bin")
    env["MEMRAY_PYTHON"] = ""
    result = run("run", "-q", "-f", "-o", out, script, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(venv)
    sizes = [e["location"] for e in stats(out)["top_allocations_by_size"]]
    assert any("/site-packages/only_in_venv.py:2" in loc for loc in sizes), sizes


def test_a_script_shim_is_resolved_to_the_real_interpreter(venv, tmp_path):
    shims = tmp_path / "shims"
    shims.mkdir()
    log = tmp_path / "shim-runs"
    shim = shims / "python3"
    shim.write_text('#!/bin/sh\necho run >> "%s"\nexec "%s" "$@"\n' % (log, venv / "bin" / "python3"))
    shim.chmod(0o755)
    script = tmp_path / "uses_venv.py"
    script.write_text(SCRIPT)
    env = env_with(shims)
    env["MEMRAY_PYTHON"] = ""
    result = run("run", "-q", "-f", "-o", tmp_path / "out.bin", "-v", script, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(venv)
    # asked once for sys.executable; the tracked process is the interpreter itself
    assert log.read_text() == "run\n"
    header = run("parse", tmp_path / "out.bin").stdout.splitlines()[0]
    assert 'argv[0]="%s' % venv in header, header


def test_memray_python_comes_first(venv, tmp_path):
    script = tmp_path / "prefix.py"
    script.write_text("import sys\nprint(sys.prefix)\n")
    env = env_with(venv / "bin")
    env["MEMRAY_PYTHON"] = "/usr/bin/python3"
    result = run("run", "-q", "-f", "-o", tmp_path / "out.bin", script, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "/usr"
