"""pytest under `memray check` means what pytest-memray means (issue 12): the
window is the test function's call, a mark over its limit fails the test inside
pytest, pytest-memray's options and keywords work, and no outcome changes."""
import re
import subprocess
import textwrap
import xml.etree.ElementTree as ET

from conftest import ROOT, run

PYTHON = "/usr/bin/python3"


def check(tmp_path, suite, *args, manifest=None):
    (tmp_path / "test_s.py").write_text(textwrap.dedent(suite))
    pre = ["check", "--junit", tmp_path / "j.xml"]
    if manifest:
        (tmp_path / "memray.yml").write_text(manifest)
        pre += ["--manifest", tmp_path / "memray.yml"]
    return run(*pre, "--", PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_s.py",
               "--junitxml", tmp_path / "p.xml", *args, cwd=tmp_path)


def subprocess_validate(path):
    result = subprocess.run(["xmllint", "--noout", "--schema", str(ROOT / "tests" / "schema" / "junit.xsd"),
                             str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def memray_failed(tmp_path):
    return {(c.get("name"), c.get("classname")) for c in ET.parse(tmp_path / "j.xml").iter("testcase")
            if c.find("failure") is not None}


def test_gc_state_is_left_as_the_test_left_it(tmp_path):
    # gc.freeze() after each test hid these objects from the next tests
    result = check(tmp_path, '''
        import gc
        KEEP = [object()]
        def test_a():
            KEEP.append([KEEP[0]])
        def test_b():
            assert KEEP[1] in gc.get_referrers(KEEP[0])
            assert any(o is KEEP[1] for o in gc.get_objects())
            assert gc.get_freeze_count() == 0
    ''')
    assert "2 passed" in result.stdout and result.returncode == 0, result.stdout + result.stderr


def test_window_is_the_function_call(tmp_path):
    # pytest's own PYTEST_CURRENT_TEST used to be every test's "leak"
    result = check(tmp_path, '''
        import pytest
        def test_clean():
            x = [1, 2, 3]
        def test_fails():
            kept = bytearray(100000)
            assert False
        @pytest.mark.xfail
        def test_xfail():
            kept = bytearray(100000)
            assert False
        def test_skipped_inside():
            kept = bytearray(100000)
            pytest.skip("no")
    ''', manifest="version: 1\ndefaults:\n  leak-budget: 0\n")
    assert "1 failed, 1 passed, 1 skipped, 1 xfailed" in result.stdout, result.stdout
    assert memray_failed(tmp_path) == set(), result.stderr
    names = {c.get("name") for c in ET.parse(tmp_path / "j.xml").iter("testcase")}
    # a test that did not pass gets no verdict, as pytest-memray judges only passed tests
    assert "test_s.py::test_clean" in names and not {n for n in names if "fails" in n or "xfail" in n
                                                        or "skipped" in n}


def test_mark_over_its_limit_fails_inside_pytest(tmp_path):
    result = check(tmp_path, '''
        import threading, pytest
        @pytest.mark.limit_memory("1 MB")
        def test_over():
            b = bytearray(2 * 1024 * 1024)
        @pytest.mark.limit_memory("1 MB", current_thread_only=True)
        def test_other_thread():
            t = threading.Thread(target=lambda: bytearray(2 * 1024 * 1024))
            t.start()
            t.join()
        @pytest.mark.limit_leaks("1 KB", warmups=2)
        def test_warm(cache=[]):
            if len(cache) < 2:
                cache.append(bytearray(100000))
        @pytest.mark.limit_memory("1 MB", bogus=True)
        def test_bogus():
            pass
    ''')
    assert "2 failed, 2 passed" in result.stdout, result.stdout
    assert result.returncode == 1
    cases = {c.get("name"): c for c in ET.parse(tmp_path / "p.xml").iter("testcase")}
    text = cases["test_over"].find("failure").get("message")
    assert "Test was limited to 1.0MiB but allocated 2.0MiB" in text and "limit 1048576 bytes" in text
    assert "test_s.py::test_bogus: unknown keyword 'bogus' in @pytest.mark.limit_memory" in \
        cases["test_bogus"].find("failure").get("message")
    # memray check agrees: the same test over, the other thread not counted
    assert memray_failed(tmp_path) == {("test_s.py::test_over", "memray.peak")}, result.stderr


def test_pytest_memray_options(tmp_path):
    suite = '''
        def test_small():
            b = bytearray(1000)
        def test_big():
            b = bytearray(3 * 1024 * 1024)
    '''
    result = check(tmp_path, suite, "--memray", "--most-allocations", "1", "--stacks", "3",
                   "--memray-bin-path", tmp_path / "bins")
    assert result.returncode == 0, result.stdout + result.stderr
    report = result.stdout[result.stdout.index("MEMRAY REPORT"):]
    assert "test_s.py::test_big: peak 3.0MiB" in report and "test_small" not in report
    hidden = check(tmp_path, suite, "--hide-memray-summary")
    assert hidden.returncode == 0 and "MEMRAY REPORT" not in hidden.stdout


def test_failed_mark_shows_its_stacks(tmp_path):
    # the failure text had the figure and the limit, but nothing said where the memory went
    result = check(tmp_path, '''
        import pytest
        KEPT = []
        def make_big():
            return bytearray(2 * 1024 * 1024)
        @pytest.mark.limit_memory("1 MB")
        def test_over():
            b = make_big()
        @pytest.mark.limit_leaks("1 KB")
        def test_leaks():
            KEPT.append(bytearray(300000))
        def test_passes():
            b = make_big()
    ''', "--stacks", "2")
    assert "2 failed, 1 passed" in result.stdout, result.stdout + result.stderr
    cases = {c.get("name"): c for c in ET.parse(tmp_path / "p.xml").iter("testcase")}
    over = cases["test_over"].find("failure").text
    assert "Top stacks at the peak:\n    - 2.0MiB in 1 allocation:\n        make_big:%s:5\n        " \
        "test_over:%s:8\n        ..." % (tmp_path / "test_s.py", tmp_path / "test_s.py") in over, over
    leaks = cases["test_leaks"].find("failure").text
    assert "Top leaked stacks:\n    - 293.0KiB in 1 allocation:\n        test_leaks:%s:11\n" \
        % (tmp_path / "test_s.py") in leaks, leaks
    # only failed tests ran `memray window`: no helper capture is left behind either
    assert memray_failed(tmp_path) == {("test_s.py::test_over", "memray.peak"),
                                       ("test_s.py::test_leaks", "memray.leaks")}, result.stderr


def test_limit_leaks_filter_fn(tmp_path):
    # filter_fn was accepted and ignored: every leak counted, in one total
    result = check(tmp_path, '''
        import pytest
        KEPT = []
        SEEN = []
        def cache_it(n):
            KEPT.append(bytearray(n))
        def not_cached(stack):
            SEEN.append([(f.function, f.lineno) for f in stack.frames])
            return not any(f.function == "cache_it" for f in stack.frames)
        @pytest.mark.limit_leaks("10 KB", filter_fn=not_cached)
        def test_only_cache():
            cache_it(200000)
        @pytest.mark.limit_leaks("10 KB", filter_fn=not_cached)
        def test_small_locations():
            KEPT.append(bytearray(6000))  # one location each: none reaches the limit
            KEPT.append(bytearray(6000))
        @pytest.mark.limit_leaks("10 KB", filter_fn=not_cached)
        def test_real_leak():
            cache_it(200000)
            KEPT.append(bytearray(100000))
        def test_seen():
            assert ("cache_it", 6) in [f for s in SEEN for f in s]
    ''')
    assert "1 failed, 3 passed" in result.stdout, result.stdout + result.stderr
    cases = {c.get("name"): c for c in ET.parse(tmp_path / "p.xml").iter("testcase")}
    text = cases["test_real_leak"].find("failure").text
    assert "Test was allowed to leak 10.0KiB per location; its filter_fn kept 1 location at or over it, " \
        "97.7KiB in all (100001 bytes" in text, text
    assert "    - 97.7KiB in 1 allocation:\n        test_real_leak:%s:20\n" % (tmp_path / "test_s.py") in text
    assert "cache_it" not in text
    # memray check agrees, on the bytes the filter kept
    assert memray_failed(tmp_path) == {("test_s.py::test_real_leak", "memray.leaks")}, result.stderr
    assert "test_s.py::test_real_leak (leaks): leaked 97.66KiB" in result.stderr or \
        "test_real_leak" in result.stderr


def test_one_junit_report_with_pytests_testcases(tmp_path):
    # --junit on pytest's --junitxml path silently replaced pytest's report with memray's
    (tmp_path / "test_s.py").write_text(textwrap.dedent('''
        import time, pytest
        @pytest.mark.limit_memory("1 MB")
        def test_over():
            b = bytearray(2 * 1024 * 1024)
        def test_big():
            time.sleep(0.2)
            b = bytearray(3 * 1024 * 1024)
        def test_fails():
            assert False
    '''))
    report = tmp_path / "report.xml"
    for pre in (["--junit", report], ["--junit-merge", report]):
        (tmp_path / "memray.yml").write_text("version: 1\nbudget: 1GiB\ndefaults:\n  budget: 2MiB\n")
        result = run("check", "--manifest", tmp_path / "memray.yml", *pre, "--", PYTHON, "-m", "pytest", "-q",
                     "-p", "no:cacheprovider", "test_s.py", "--junitxml=report.xml", cwd=tmp_path)
        assert result.returncode == 1, result.stdout + result.stderr
        subprocess_validate(report)
        root = ET.parse(report).getroot()
        cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
        assert set(cases) == {("test_s", "test_over"), ("test_s", "test_big"), ("test_s", "test_fails"),
                              ("memray", "peak memory")}, cases
        big = cases[("test_s", "test_big")]
        assert float(big.get("time")) >= 0.2          # pytest's own time stays
        assert big.find("failure").get("type") == "BudgetExceeded"
        assert "memray (peak): peak 3.0" in big.find("system-out").text
        assert big.find("properties") is None
        over = cases[("test_s", "test_over")]
        assert len(over.findall("failure")) == 1       # pytest's (the mark's), not a second one
        assert "Test was limited to 1.0MiB" in over.find("failure").get("message")
        assert cases[("test_s", "test_fails")].find("failure").get("message") == "assert False"
        suite = root.find("testsuite")
        assert (suite.get("tests"), suite.get("failures")) == ("4", "3"), ET.tostring(suite)[:300]


def test_a_window_of_many_blocks_agrees_with_the_gate(tmp_path):
    """10,000 blocks live and 10,000 freed inside one test: the tracker's in-process table
    grows several times and keeps exact figures, the same bytes memray check finds."""
    result = check(tmp_path, '''
        import pytest
        @pytest.mark.limit_memory("1 MB")
        def test_many():
            keep = []
            for i in range(20000):
                b = bytearray(1000)
                if i % 2:
                    keep.append(b)
    ''')
    assert "1 failed" in result.stdout and result.returncode == 1, result.stdout + result.stderr
    inside = re.search(r"Test was limited to 1\.0MiB but allocated \S+ \((\d+) bytes", result.stdout)
    gate = re.search(r"FAIL test_s\.py::test_many \(peak\): .* \((\d+) bytes, limit 1048576\)", result.stderr)
    assert inside and gate and inside.group(1) == gate.group(1), result.stdout + result.stderr
    assert int(gate.group(1)) >= 10000 * 1000


def test_tests_under_no_rule_are_measured_not_passed(tmp_path):
    # the tally said "2 verdicts ... 2 passed" and the Markdown "passed" when no rule judged anything
    suite = '''
        def test_small():
            b = bytearray(1000)
        def test_big():
            b = bytearray(300000)
    '''
    (tmp_path / "test_s.py").write_text(textwrap.dedent(suite))
    base = ["check", "--markdown", tmp_path / "m.md", "--"]
    pytest = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_s.py"]
    result = run(*base, *pytest, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        "memray check: nothing was judged: 2 tests measured (-v lists them), no rule for the whole run"), result.stderr
    md = (tmp_path / "m.md").read_text()
    assert md.startswith("## memray check: nothing judged\n") and "; 2 tests measured;" in md, md
    assert "| pass |" not in md and "| measured | test\\_s.py::test\\_big (memory) |" in md, md
    listed = run("check", "-v", "--", *pytest, cwd=tmp_path)
    assert [l.split(":", 2)[1] for l in listed.stderr.splitlines() if "test_s.py::test_" in l] == \
        [" measured test_s.py", " measured test_s.py"], listed.stderr
    judged = run("check", "--budget", "1GB", "--markdown", tmp_path / "m.md", "--", *pytest, cwd=tmp_path)
    assert judged.returncode == 0, judged.stderr
    assert judged.stderr.splitlines()[-1] == "memray check: 1 verdicts on the whole run and 2 tests: 0 failed, " \
        "0 errors; 2 tests under no rule, measured only", judged.stderr
    md = (tmp_path / "m.md").read_text()
    assert md.startswith("## memray check: passed\n") and "**1 verdicts** on the whole run and 2 tests" in md, md
