"""Check tests are named binary:suite:tcase:test (":N" on for a loop test's
iteration), from the XML log Check writes when memray check asks for one,
with their file and line on the JUnit testcase. Two binaries built from one
source share every test name; one function in two tcases and a loop test's
iterations are told apart too, so a baseline of one run fits the next."""
import json
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import FIXTURES, line_of, run
from test_check_tests import validate

CHECK_LIBS = ["-lcheck", "-lsubunit", "-lm", "-lrt", "-lpthread"]
SHARED = {"bin_a": 100000, "bin_b": 400000}
SOURCE = FIXTURES / "check_named.c"
CMAKE = '''
cmake_minimum_required(VERSION 3.13)
project(named C)
enable_testing()
foreach(b bin_a bin_b)
  add_executable(${b} %s)
  target_link_libraries(${b} check subunit m rt pthread)
  add_test(NAME ${b} COMMAND ${b})
endforeach()
target_compile_definitions(bin_a PRIVATE SHARED=100000)
target_compile_definitions(bin_b PRIVATE SHARED=400000)
''' % SOURCE


def names(binary):
    return ["%s:named:core:test_shared" % binary, "%s:named:again:test_shared" % binary] + \
        ["%s:named:loop:test_loop:%d" % (binary, i) for i in range(3)]


EXPECTED = names("bin_a") + names("bin_b")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("named")
    (d / "src").mkdir()
    (d / "src" / "CMakeLists.txt").write_text(CMAKE)
    subprocess.run(["cmake", "-S", str(d / "src"), "-B", str(d / "build"), "-DCMAKE_BUILD_TYPE=Debug"], check=True,
                   capture_output=True)
    subprocess.run(["cmake", "--build", str(d / "build")], check=True, capture_output=True)
    (d / "Makefile").write_text("check:\n\t%s/bin_a\n\t%s/bin_b\n" % (d / "build", d / "build"))
    return d


def command(built, harness):
    if harness == "ctest":
        return ["ctest", "-j2", "--test-dir", str(built / "build")]
    return ["make", "-s", "-C", str(built), "check"]


def cases(path):
    return [c for c in ET.parse(path).getroot().iter("testcase")]


@pytest.mark.parametrize("harness", ["ctest", "make"])
def test_check_tests_get_suite_and_tcase_names(built, tmp_path, harness):
    (tmp_path / "memray.yml").write_text("version: 1\ndefaults:\n  budget: 1GiB\n")
    result = run("check", "--manifest", tmp_path / "memray.yml", "--junit", tmp_path / "j.xml",
                 "--update-baseline", tmp_path / "base.json", "--", *command(built, harness), cwd=built)
    assert result.returncode == 0, result.stderr
    assert "tail call" not in result.stderr and "warning" not in result.stderr, result.stderr
    got = {c.get("name"): c for c in cases(tmp_path / "j.xml") if c.get("classname") == "memray.peak"}
    assert sorted(got) == sorted(EXPECTED)
    for binary, shared in SHARED.items():
        for tcase in ("core", "again"):
            case = got["%s:named:%s:test_shared" % (binary, tcase)]
            where = "test_shared_fn:%s:%d" % (SOURCE, line_of("check_named.c", "shared"))
            assert "(%d bytes) in 1 allocations at %s" % (shared, where) in case.find("system-out").text
            assert (case.get("file"), case.get("line")) == (str(SOURCE), str(line_of("check_named.c",
                                                                                      "shared_check")))
            assert 0.1 <= float(case.get("time")) < 1.0     # its process's life, 100 ms asleep
        for i in range(3):
            case = got["%s:named:loop:test_loop:%d" % (binary, i)]
            where = "test_loop_fn:%s:%d" % (SOURCE, line_of("check_named.c", "loop"))
            assert "(%d bytes) in 1 allocations at %s" % ((i + 1) * 10000, where) in case.find("system-out").text
            assert case.get("line") == str(line_of("check_named.c", "loop_check"))
    validate(tmp_path / "j.xml")
    # the baseline of this run fits an unchanged second run: no test is confused with another
    tests = json.loads((tmp_path / "base.json").read_text())["tests"]
    assert sorted(t["id"] for t in tests) == sorted(EXPECTED + ["(whole run)"])
    again = run("check", "--baseline", tmp_path / "base.json", "--junit", tmp_path / "k.xml", "--",
                *command(built, harness), cwd=built)
    judged = [c for c in cases(tmp_path / "k.xml") if c.get("classname") == "memray.baseline"]
    assert sorted(c.get("name") for c in judged) == sorted(EXPECTED)
    assert [c.get("name") for c in judged if c.find("failure") is not None] == []
    # under ctest -j2 the job's peak is the two binaries' overlap, which timing decides: only it may move
    assert again.returncode == 0 or (harness == "ctest" and again.returncode == 1 and
                                     "FAIL peak memory (baseline)" in again.stderr), again.stderr


def test_the_users_own_check_log_is_kept(built, tmp_path):
    mine = tmp_path / "mine.xml"
    result = run("check", "--junit", tmp_path / "j.xml", "--", built / "build" / "bin_b", cwd=tmp_path,
                 env={"CK_XML_LOG_FILE_NAME": "mine.xml"})
    assert result.returncode == 0, result.stderr
    assert sorted(c.get("name") for c in cases(tmp_path / "j.xml")) == sorted(names("bin_b"))
    log = ET.parse(mine).getroot()
    assert [t.text for t in log.iter("{http://check.sourceforge.net/ns}id")] == ["test_shared"] * 2 + ["test_loop"] * 3


def test_a_damaged_check_log_keeps_the_stack_names(built, tmp_path):
    (tmp_path / "mine.xml").write_text("")
    wrapper = tmp_path / "run.sh"
    # the runner's log is replaced by garbage once the suite has run
    wrapper.write_text("#!/bin/sh\n%s\nr=$?\necho 'not <xml' > %s\nexit $r\n" % (built / "build" / "bin_b",
                                                                                   tmp_path / "mine.xml"))
    wrapper.chmod(0o755)
    result = run("check", "--junit", tmp_path / "j.xml", "--", wrapper, cwd=tmp_path,
                 env={"CK_XML_LOG_FILE_NAME": str(tmp_path / "mine.xml")})
    assert result.returncode == 0, result.stderr
    assert "not a Check XML log; its tests are named binary:test" in result.stderr
    assert sorted(c.get("name") for c in cases(tmp_path / "j.xml")) == \
        sorted(["bin_b:test_shared", "bin_b:test_shared #2", "bin_b:test_loop", "bin_b:test_loop #2",
                "bin_b:test_loop #3"])
