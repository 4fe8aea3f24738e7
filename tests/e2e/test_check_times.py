"""Each testcase memray check writes carries the time its test ran: from the
TIME records written with a test's markers (C markers, the pytest plugin),
from a process's life for a Check child or a program under a harness."""
import subprocess
import textwrap
import xml.etree.ElementTree as ET

from conftest import FIXTURES, ROOT, run
from test_check_tests import validate

PYTHON = "/usr/bin/python3"


def times(path):
    suite = ET.parse(path).getroot().find("testsuite")
    return {c.get("name"): float(c.get("time")) for c in suite.iter("testcase")}


def test_c_markers_time_their_tests(tmp_path):
    prog = tmp_path / "timed"
    subprocess.run(["gcc", "-g", "-O0", "-I", str(ROOT), "-o", str(prog), str(FIXTURES / "timed.c")], check=True)
    keep = tmp_path / "caps"
    result = run("check", "--junit", tmp_path / "j.xml", "--keep-captures", keep, "--", prog)
    assert result.returncode == 0, result.stderr
    got = times(tmp_path / "j.xml")
    assert set(got) == {"suite.sleepy", "suite.quick"}
    assert 0.2 <= got["suite.sleepy"] < 0.5, got
    assert got["suite.quick"] < 0.05, got
    validate(tmp_path / "j.xml")
    # each marker has its moment: a TIME record right before it, in nanoseconds since the segment began
    lines = run("parse", keep / "memray-check.bin").stdout.splitlines()
    marks = [n for n, line in enumerate(lines) if line.startswith("MARKER ")]
    assert len(marks) == 4
    stamps = [int(lines[n - 1].split("since_ns=")[1]) for n in marks]
    assert all(lines[n - 1].startswith("TIME ") for n in marks)
    assert stamps == sorted(stamps) and 200_000_000 <= stamps[1] - stamps[0] < 500_000_000


def test_pytest_tests_have_their_time(tmp_path):
    (tmp_path / "test_t.py").write_text(textwrap.dedent('''\
        import time

        def test_sleepy():
            time.sleep(0.2)

        def test_quick():
            assert True
        '''))
    result = run("check", "--junit", tmp_path / "j.xml", "--", PYTHON, "-m", "pytest", "-q", "-p",
                 "no:cacheprovider", "test_t.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    got = times(tmp_path / "j.xml")
    assert set(got) == {"test_t.py::test_sleepy", "test_t.py::test_quick"}
    assert 0.2 <= got["test_t.py::test_sleepy"] < 0.5, got
    assert got["test_t.py::test_quick"] < 0.05, got
    validate(tmp_path / "j.xml")
