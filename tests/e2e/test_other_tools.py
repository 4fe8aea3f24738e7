"""memray beside the tools a test suite already runs: a program under
valgrind keeps valgrind's verdict, and a process that a shell pipeline cuts
short (`tail | grep -q`) is no leak of the run."""
import shutil
import subprocess

import pytest

from conftest import run

CLEAN = r'''
#include <stdlib.h>
#include <sys/mman.h>
int main(void)
{
	char *p = malloc(1000);
	void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p[0] = 1;
	free(p);
	munmap(m, 1 << 20);
	return 0;
}
'''


@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind is not installed")
def test_a_program_under_valgrind_keeps_valgrinds_verdict(tmp_path):
    # json-c's `make test` runs each test under valgrind and fails on any valgrind error: under the gate,
    # the tracker in valgrind's guest unwound and scanned at exit, valgrind reported errors in memray's
    # code, and all of json-c's passing tests failed
    (tmp_path / "clean.c").write_text(CLEAN)
    prog = tmp_path / "clean"
    subprocess.run(["gcc", "-g", "-O0", "-o", str(prog), str(tmp_path / "clean.c")], check=True)
    vg = ["valgrind", "-q", "--error-exitcode=9", "--leak-check=full", "--errors-for-leak-kinds=all", str(prog)]
    plain = subprocess.run(vg, capture_output=True, text=True)
    assert plain.returncode == 0, plain.stderr
    gate = run("check", "--budget", "1GB", "--", *vg, cwd=tmp_path)
    assert gate.returncode == 0, gate.stderr
    assert "==" not in gate.stderr, gate.stderr    # valgrind printed nothing: no error, no leak
    # the image valgrind runs is left untracked, as a static one is, and the reader says why it may be
    assert "exec'd an image memray cannot track" in gate.stderr
    assert "memray check: pass peak memory" in gate.stderr


def test_a_process_a_pipeline_cuts_short_is_no_leak(tmp_path):
    # `yes` dies of SIGPIPE when `head` has its line: its capture ends without END and without a scan,
    # and everything it still held was counted as leaked, failing a leak budget of 0
    gate = run("check", "--leak-budget", "0", "--", "sh", "-c", "yes | head -1 >/dev/null", cwd=tmp_path)
    assert gate.returncode == 0, gate.stderr
    assert "(the process was cut short: its peak until then is judged, and what it still held is no leak)" \
        in gate.stderr
    assert "memray check: pass leaked memory: leaked 0B within budget 0B (0 bytes, limit 0)" in gate.stderr
