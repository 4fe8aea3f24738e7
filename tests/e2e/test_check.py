"""`memray check`: budgets on a whole run, with JUnit XML and Markdown."""
import re
import subprocess
import xml.etree.ElementTree as ET

from conftest import FIXTURES, MEMRAY, line_of, run


def test_budget_just_above_and_just_below_the_peak(fixtures, tmp_path):
    prog = fixtures.build("blocks.c")	# peak: exactly 4096000 bytes
    ok = run("check", "--budget", "4096000B", "--junit", tmp_path / "ok.xml", "--", prog)
    assert ok.returncode == 0, ok.stderr
    assert "memray check: pass peak memory: peak 3.906MiB within budget 3.906MiB (+0.0%) " \
           "(4096000 bytes, limit 4096000)" in ok.stderr
    bad = run("check", "--budget", "4095999", "--junit", tmp_path / "bad.xml", "--markdown", tmp_path / "bad.md",
              "--", prog)
    assert bad.returncode == 1, bad.stderr
    assert "memray check: FAIL peak memory: peak 3.906MiB exceeds budget 3.906MiB (+0.0%) " \
           "(4096000 bytes, limit 4095999)" in bad.stderr
    make = "make_blocks:%s:%d" % (FIXTURES / "blocks.c", line_of("blocks.c", "make_blocks"))
    assert "3.906MiB (4096000 bytes) in 1000 allocations at %s" % make in bad.stderr
    suite = ET.parse(tmp_path / "bad.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "1", "0")
    case = suite.find("testcase")
    failure = case.find("failure")
    assert case.get("name") == "peak memory" and failure.get("type") == "BudgetExceeded"
    assert failure.get("message") == "peak 3.906MiB exceeds budget 3.906MiB (+0.0%)"
    assert "peak: 4096000 bytes; limit: 4095999 bytes" in failure.text and make in failure.text
    # the figures are system-out lines: the xUnit schema allows no properties in a testcase
    assert case.find("properties") is None and case.get("file") is None
    assert case.find("system-out").text == "bytes: 4096000\nlimit_bytes: 4095999\n"
    md = (tmp_path / "bad.md").read_text().splitlines()
    assert md[0] == "## memray check: failed"
    assert "| FAIL | peak memory | 3.906MiB (4096000 bytes) | 3.906MiB (4095999 bytes) |" in "\n".join(md)
    ok_suite = ET.parse(tmp_path / "ok.xml").getroot().find("testsuite")
    assert ok_suite.get("failures") == "0" and ok_suite.find("testcase/failure") is None


def test_leak_budget(fixtures, tmp_path):
    # leaks 10 x 1000 B, and stdout's buffer (4096 B on a pipe): every block
    # live at exit with --reachable-leaks (the reachability verdicts have
    # tests of their own, test_reachability.py)
    prog = fixtures.build("blocks.c")
    ok = run("check", "--reachable-leaks", "--leak-budget", "14096", "--", prog)
    assert ok.returncode == 0, ok.stderr
    bad = run("check", "--reachable-leaks", "--leak-budget", "0", "--junit", tmp_path / "l.xml", "--", prog)
    assert bad.returncode == 1
    leak = "leak_some:%s:%d" % (FIXTURES / "blocks.c", line_of("blocks.c", "leak_some"))
    assert "9.766KiB (10000 bytes) in 10 allocations at %s" % leak in bad.stderr
    failure = ET.parse(tmp_path / "l.xml").getroot().find("testsuite/testcase/failure")
    assert failure.get("type") == "LeakDetected"
    assert failure.get("message") == "leaked 13.766KiB exceeds budget 0B"


def test_forked_children_are_judged(fixtures, tmp_path):
    # the child allocates 5 x 2222 B, the parent 111 B, each keeping the
    # last in the global `sink`: the child loses 4 x 2222 B, the parent none
    prog = fixtures.build("forker.c")
    keep = tmp_path / "captures"
    result = run("check", "--leak-budget", "1KiB", "--keep-captures", keep, "--", prog)
    assert result.returncode == 1, result.stderr
    assert "leaked 8.680KiB exceeds budget 1.000KiB" in result.stderr
    assert "(8888 bytes, limit 1024)" in result.stderr
    every = run("check", "--reachable-leaks", "--leak-budget", "1KiB", "--", prog)
    assert "(11221 bytes, limit 1024)" in every.stderr
    names = sorted(p.name for p in keep.iterdir())
    assert names[0] == "memray-check.bin" and len(names) == 2 and names[1].startswith("memray-check.bin.")


def test_command_failure_wins(fixtures, tmp_path):
    prog = fixtures.build("blocks.c")
    result = run("check", "--budget", "1MB", "--junit", tmp_path / "j.xml", "--", prog, "3")
    assert result.returncode == 3	# the memory failure is still reported
    assert "FAIL peak memory" in result.stderr
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite.get("errors") == "1" and suite.get("failures") == "1"
    assert suite.find("testcase/error").get("message").endswith("exited with status 3")


def test_check_bad_input(tmp_path):
    result = run("check", "--budget", "12 parsecs", "--", "true")
    assert result.returncode == 2
    assert "check: --budget '12 parsecs': unknown unit" in result.stderr
    assert run("check", "--budget", "1MB").returncode == 2
    assert run("check", "--frobnicate", "1", "--", "true").returncode == 2
    missing = run("check", "--budget", "1MB", "--junit", tmp_path / "m.xml", "--", "no-such-command-here")
    assert missing.returncode == 127
    error = ET.parse(tmp_path / "m.xml").getroot().find("testsuite/testcase/error")
    assert error is not None and "could not be run" in error.get("message")


def test_a_program_that_ran_untracked_is_an_error(tmp_path):
    """A static binary ignores LD_PRELOAD: nothing measured is no pass (exit 2, a JUnit error)."""
    src = tmp_path / "static.c"
    src.write_text('#include <stdlib.h>\nint main(void) { return malloc(1 << 20) == NULL; }\n')
    prog = tmp_path / "static"
    subprocess.run(["gcc", "-static", "-O0", "-o", str(prog), str(src)], check=True)
    result = run("check", "--budget", "1KiB", "--junit", tmp_path / "j.xml", "--", prog)
    assert result.returncode == 2, result.stderr
    lines = [l for l in result.stderr.splitlines() if "nothing was recorded" in l]
    assert len(lines) == 1 and lines[0].startswith("memray: error: ") and "memray-check.bin" in lines[0]
    assert "ran untracked" in lines[0]
    suite = ET.parse(tmp_path / "j.xml").getroot().find("testsuite")
    assert suite.get("errors") == "1" and suite.get("failures") == "0"
    ok = run("run", "-q", "-f", "-o", tmp_path / "s.bin", prog)
    assert ok.returncode == 0 and "recorded nothing" in ok.stderr	# run still only warns


def test_nothing_after_the_double_dash_is_touched(tmp_path):
    """`-v` and `--verbose` after `--` are the command's, not memray's."""
    (tmp_path / "f").write_text("x\ny\n")
    inverted = run("check", "--", "grep", "-v", "x", tmp_path / "f")
    assert inverted.returncode == 0 and inverted.stdout == "y\n", inverted.stderr
    loud = run("check", "-v", "--", "grep", "--verbose", "y", tmp_path / "f")
    assert loud.returncode == 2 and "unrecognized option '--verbose'" in loud.stderr	# grep's own complaint
    assert "memray: tracker " in loud.stderr	# memray's -v, before the --, was memray's
    ran = run("run", "-q", "-f", "-o", tmp_path / "g.bin", "--", "grep", "-v", "x", tmp_path / "f")
    assert ran.returncode == 0 and ran.stdout == "y\n", ran.stderr


def test_the_gates_captures_are_compressed_the_fast_way(tmp_path):
    """memray check's captures are scratch: its command runs with
    MEMRAY_COMPRESS=fast (test_figures.py shows the tracker honours it)."""
    shown = run("check", "--", "/bin/sh", "-c", "echo $MEMRAY_COMPRESS")
    assert shown.returncode == 0 and shown.stdout == "fast\n", shown.stderr


def test_the_job_peak_adds_up_processes_that_hold_memory_at_once(fixtures, tmp_path):
    """Two workers holding 64 MiB each at the same time: the job needs 128 MiB."""
    prog = fixtures.build("workers.c")
    result = run("check", "--budget", "100MB", "--junit", tmp_path / "j.xml", "--", prog)
    assert result.returncode == 1, result.stderr
    assert "memray check: FAIL peak memory: peak 128.000MiB exceeds budget 100.000MiB (+28.0%) " \
           "(134217728 bytes, limit 104857600)" in result.stderr
    held = re.findall(r"^  64\.000MiB \(67108864 bytes\) by pid (\d+): \S*workers$", result.stderr, re.M)
    assert len(set(held)) == 2, result.stderr
    assert "held at the job's peak, " in result.stderr
    ok = run("check", "--budget", "128MB", "--", prog)
    assert ok.returncode == 0, ok.stderr


def test_a_capture_cut_by_a_full_disk_is_no_pass(fixtures, tmp_path):
    """Tracking stopped early (here a 2 MiB file size limit): an error verdict, not a pass on part of the run."""
    prog = fixtures.build("churn.c")	# exits 5 on purpose: the shell's own exit 0 is the command's
    script = 'ulimit -f 2048; exec "%s" check %%s --budget 1GB --junit "%s" -- sh -c \'"%s" 3000000 vary; exit 0\'' \
        % (MEMRAY, tmp_path / "j.xml", prog)
    result = subprocess.run(["bash", "-c", script % ""], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    stopped = [l for l in result.stderr.splitlines() if "tracking stopped early" in l]
    assert len(stopped) == 1 and stopped[0].startswith("memray: error: ") and "--allow-partial" in stopped[0]
    assert ET.parse(tmp_path / "j.xml").getroot().find("testsuite").get("errors") == "1"
    partial = subprocess.run(["bash", "-c", script % "--allow-partial"], capture_output=True, text=True,
                             timeout=120)
    assert partial.returncode == 0, partial.stderr
    assert "memray: warning: " in partial.stderr and "tracking stopped early" in partial.stderr
    assert "memray check: pass peak memory" in partial.stderr
