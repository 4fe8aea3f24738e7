"""What a pytest test is charged with under `memray check` (issue 12): the
processes it starts, not its fixtures' setup (shown apart, per fixture and
scope), and for a unittest.TestCase only its test method's call."""
import re
import subprocess
import textwrap
import xml.etree.ElementTree as ET

from conftest import ROOT, run

PYTHON = "/usr/bin/python3"
MiB = 1024 * 1024


def check(tmp_path, suite, manifest, *pre):
    (tmp_path / "test_s.py").write_text(textwrap.dedent(suite))
    (tmp_path / "memray.yml").write_text(textwrap.dedent(manifest))
    return run("check", "-v", "--manifest", tmp_path / "memray.yml", "--junit", tmp_path / "j.xml",
               "--markdown", tmp_path / "m.md", *pre, "--", PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "test_s.py", "--junitxml", tmp_path / "p.xml", cwd=tmp_path)


def validate(path):
    result = subprocess.run(["xmllint", "--noout", "--schema", str(ROOT / "tests" / "schema" / "junit.xsd"),
                             str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def cases(path):
    return {(c.get("name"), c.get("classname")): c for c in ET.parse(path).iter("testcase")}


def figures(case):
    """A testcase's system-out "name: value" lines, as ints."""
    return {k: int(v) for k, v in re.findall(r"^(\w+): (\d+)$", case.find("system-out").text, re.M)}


def test_a_test_is_charged_with_the_processes_it_starts(tmp_path, fixtures):
    hold32 = fixtures.build("hold32.c")
    result = check(tmp_path, '''
        import subprocess, sys, pytest
        HOLD = %r
        def test_c_child():
            subprocess.run([HOLD], check=True)
        def test_python_child():
            subprocess.run([sys.executable, "-c", "b = bytearray(32 * 1024 * 1024)"], check=True)
        @pytest.mark.limit_memory("16 MB")
        def test_marked_child():
            subprocess.run([HOLD], check=True)
        def test_alone():
            b = bytearray(1000)
    ''' % str(hold32), '''
        version: 1
        defaults:
          budget: 32MiB
    ''')
    # pytest sees its own process only, as pytest-memray does: every test passes there
    assert "4 passed" in result.stdout and result.returncode == 1, result.stdout + result.stderr
    validate(tmp_path / "j.xml")
    judged = cases(tmp_path / "j.xml")
    failed = {k for k, c in judged.items() if c.find("failure") is not None}
    assert failed == {("test_s.py::test_c_child", "memray.peak"), ("test_s.py::test_python_child", "memray.peak"),
                      ("test_s.py::test_marked_child", "memray.peak")}, result.stderr
    # the C child held exactly 32 MiB at once; the test's own window a few KiB of subprocess's
    child = figures(judged[("test_s.py::test_c_child", "memray.peak")])
    assert child["started_bytes"] == 32 * MiB, child
    assert 32 * MiB < child["peak_bytes"] < 32 * MiB + 256 * 1024, child
    assert re.search(r"FAIL test_s\.py::test_c_child \(peak\): .*\n.*\nheld at the test's peak, by the test and "
                     r"the processes it started:\n  32\.000MiB \(33554432 bytes\) by pid \d+: %s\n  .* by pid \d+: "
                     r"%s -m pytest .* \(the test's own window\)\n" % (re.escape(str(hold32)), PYTHON),
                     result.stderr), result.stderr
    python = figures(judged[("test_s.py::test_python_child", "memray.peak")])
    assert python["started_bytes"] > 32 * MiB, python    # bytearray(32 MiB) is 32 MiB + 1 and the interpreter's
    # the mark is judged on the children too by memray check, not inside pytest (which cannot see them)
    assert "limit_memory mark" in judged[("test_s.py::test_marked_child", "memray.peak")].find("failure").text
    assert all(c.find("failure") is None for c in cases(tmp_path / "p.xml").values())
    alone = figures(judged[("test_s.py::test_alone", "memray.peak")])
    assert "started_bytes" not in alone and alone["peak_bytes"] < 64 * 1024, alone


def test_fixture_setup_peaks_per_scope(tmp_path):
    result = check(tmp_path, '''
        import pytest
        MiB = 1024 * 1024
        @pytest.fixture(scope="session")
        def big8():
            return bytearray(8 * MiB - 1)      # bytearray(n) holds n + 1 bytes
        @pytest.fixture(scope="module")
        def mod2():
            scratch = bytearray(3 * MiB - 1)
            keep = bytearray(2 * MiB - 1)
            del scratch
            yield keep
        @pytest.fixture
        def per_test():
            return bytearray(4 * MiB - 1)
        class TestC:
            @pytest.fixture(scope="class")
            def cls1(self):
                return bytearray(MiB - 1)
            def test_in_class(self, cls1, big8):
                assert len(cls1) < len(big8)
        def test_uses(big8, mod2):
            assert len(big8) > len(mod2)
        def test_again(big8, mod2, per_test):
            b = bytearray(1000)
    ''', '''
        version: 1
        defaults:
          budget: 1MiB
    ''')
    # the setups' memory is no test's: each test stays under its 1 MiB
    assert "3 passed" in result.stdout and result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("memray check: fixture ")]
    assert lines == [
        "memray check: fixture big8 (session): setup peak 8.000MiB (8388608 bytes), held after setup 8.000MiB "
        "(8388608 bytes)",
        "memray check: fixture test_s.py::mod2 (module): setup peak 5.000MiB (5242880 bytes), held after setup "
        "2.000MiB (2097152 bytes)",
        "memray check: fixture test_s.py::TestC::cls1 (class): setup peak 1.000MiB (1048576 bytes), held after "
        "setup 1.000MiB (1048576 bytes)"], result.stderr
    validate(tmp_path / "j.xml")
    suite_out = ET.parse(tmp_path / "j.xml").getroot().find("testsuite").find("system-out").text
    assert "big8 (session): setup peak 8.000MiB (8388608 bytes)" in suite_out
    assert "test_s.py::mod2 (module): setup peak 5.000MiB (5242880 bytes), held after setup 2.000MiB" in suite_out
    assert "per_test" not in suite_out        # a function-scoped fixture's setup is its test's setup
    md = (tmp_path / "m.md").read_text()
    assert "| test\\_s.py::mod2 | module | 5.000MiB (5242880 bytes) | 2.000MiB (2097152 bytes) |" in md, md
    # a test that did not use the session fixture first is not charged with its setup either
    assert figures(cases(tmp_path / "j.xml")[("test_s.py::test_again", "memray.peak")])["peak_bytes"] == 1001


def test_unittest_window_is_the_test_method_call(tmp_path):
    result = check(tmp_path, '''
        import unittest
        KEPT = []
        class TestState(unittest.TestCase):
            def setUp(self):
                self.fixture = bytearray(100000)
            def test_keeps_on_self(self):
                self.made = bytearray(200000)
            def test_keeps_nothing(self):
                b = bytearray(300000)
            def tearDown(self):
                del self.fixture
                self.__dict__.pop("made", None)
        class TestAsync(unittest.IsolatedAsyncioTestCase):
            async def asyncSetUp(self):
                self.fixture = bytearray(10000)
            async def test_async(self):
                self.made = bytearray(20000)
            async def asyncTearDown(self):
                del self.fixture, self.made
        class TestLeak(unittest.TestCase):
            def test_leaks(self):
                KEPT.append(bytearray(50000))
            @unittest.expectedFailure
            def test_xfail(self):
                self.big = bytearray(400000)
                assert False
    ''', '''
        version: 1
        defaults:
          leak-budget: 0
    ''')
    assert "4 passed, 1 xfailed" in result.stdout and result.returncode == 1, result.stdout + result.stderr
    validate(tmp_path / "j.xml")
    judged = cases(tmp_path / "j.xml")
    failed = {k for k, c in judged.items() if c.find("failure") is not None}
    # pytest's PYTEST_CURRENT_TEST for teardown (77 B) and setUp's state are outside the method's window
    assert failed == {("test_s.py::TestLeak::test_leaks", "memray.leaks")}, result.stderr
    assert figures(judged[("test_s.py::TestLeak::test_leaks", "memray.leaks")])["leaked_bytes"] == 50001
    on_self = figures(judged[("test_s.py::TestState::test_keeps_on_self", "memray.leaks")])
    assert (on_self["peak_bytes"], on_self["leaked_bytes"]) == (200001, 0), on_self
    assert figures(judged[("test_s.py::TestState::test_keeps_nothing", "memray.leaks")])["peak_bytes"] == 300001
    in_async = figures(judged[("test_s.py::TestAsync::test_async", "memray.leaks")])
    assert (in_async["peak_bytes"], in_async["leaked_bytes"]) == (20001, 0), in_async
    assert not any("xfail" in name for name, _ in judged)
    # pytest's end-of-session report reads the same window in-process
    assert "test_s.py::TestState::test_keeps_on_self: peak 195.3KiB (200001 bytes)" in result.stdout
