"""`memray check` over a harness: a shell script, make or ctest running test
programs. Each of the user's processes is a case named by its command line
(the harness's sh, sed, cat are not), Check tests are binary:suite:tcase:test, and a Check
runner started by a harness draws no tail-call warning."""
import re
import subprocess
import textwrap
import xml.etree.ElementTree as ET

import pytest

from conftest import FIXTURES, line_of, run

CHECK_LIBS = ["-lcheck", "-lsubunit", "-lm", "-lrt", "-lpthread"]
LEAK = 4321
PROGRAM = '''
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	char *p = malloc(%d);	/* @leak */

	memset(p, 1, %d);
	if (argc < 2 || strcmp(argv[1], "leak"))
		free(p);
	return 0;	/* with "leak": p is lost */
}
'''


def cases(path):
    suite = ET.parse(path).getroot().find("testsuite")
    return {c.get("name"): c for c in suite.iter("testcase") if c.get("classname") != "memray"}


def failed(path):
    return {name for name, c in cases(path).items() if c.find("failure") is not None}


@pytest.fixture(scope="module")
def programs(tmp_path_factory):
    d = tmp_path_factory.mktemp("harness")
    (d / "prog.c").write_text(PROGRAM % (LEAK, LEAK))
    subprocess.run(["gcc", "-g", "-O0", "-o", str(d / "prog"), str(d / "prog.c")], check=True)
    for name in ("suite_a", "suite_b"):
        subprocess.run(["gcc", "-g", "-O0", "-o", str(d / name), str(FIXTURES / "check_suite.c")] + CHECK_LIBS,
                       check=True)
    return d


def test_a_shell_script_names_the_leaking_program(programs, tmp_path):
    script = tmp_path / "t.sh"
    script.write_text(textwrap.dedent('''\
        #!/bin/sh
        cd %s
        ./prog one
        ./prog leak two
        ./prog three | cat
        echo done | sed s/d/D/ | grep -q Done
        ''' % programs))
    script.chmod(0o755)
    keep = tmp_path / "captures"
    result = run("check", "--leak-budget", "0", "--junit", tmp_path / "j.xml", "--keep-captures", keep, "--",
                 script)
    assert result.returncode == 1, result.stderr
    assert set(cases(tmp_path / "j.xml")) == {"./prog one", "./prog leak two", "./prog three"}
    assert failed(tmp_path / "j.xml") == {"./prog leak two"}
    where = "main:%s:%d" % (programs / "prog.c", line_of(programs / "prog.c", "leak"))
    assert "memray check: FAIL ./prog leak two (leaks): leaked 4.220KiB exceeds budget 0B (4321 bytes, limit 0)" \
        in result.stderr
    assert "4.220KiB (4321 bytes) in 1 allocations at %s" % where in result.stderr
    # the whole run's leaks are the user's programs' alone: sh, sed, grep and cat are the harness
    assert "memray check: FAIL leaked memory: leaked 4.220KiB exceeds budget 0B (4321 bytes, limit 0)" \
        in result.stderr
    names = sorted(re.sub(r"\.\d+\.bin$", "", p.name) for p in keep.iterdir() if "prog" in p.name)
    assert names == ["memray-check.prog"] * 3


def test_a_test_rule_selects_a_harness_program(programs, tmp_path):
    (tmp_path / "memray.yml").write_text('version: 1\ntests:\n  - match: "sed *"\n    budget: 1GiB\n')
    result = run("check", "--manifest", tmp_path / "memray.yml", "--junit", tmp_path / "j.xml", "--",
                 "sh", "-c", "%s/prog one; echo x | sed s/x/y/" % programs)
    assert result.returncode == 0, result.stderr
    assert set(cases(tmp_path / "j.xml")) == {"%s/prog one" % programs, "sed s/x/y/"}


@pytest.mark.parametrize("harness", ["sh", "make"])
def test_a_check_runner_under_a_harness(programs, tmp_path, harness):
    if harness == "sh":
        command = ["sh", "-c", "./suite_a && ./suite_b; true"]
    else:
        (tmp_path / "Makefile").write_text("check:\n\t%s/suite_a\n\t%s/suite_b\n" % (programs, programs))
        command = ["make", "-s", "-C", str(tmp_path), "check"]
    result = run("check", "--junit", tmp_path / "j.xml", "--", *command, cwd=programs)
    assert result.returncode == 0, result.stderr
    assert "tail call" not in result.stderr
    assert set(cases(tmp_path / "j.xml")) == {"suite_%s:memray:core:test_%s" % (b, t) for b in "ab"
                                              for t in ("leaky", "tidy", "nothing")}


CMAKE = '''
cmake_minimum_required(VERSION 3.13)
project(harness C)
enable_testing()
add_executable(prog prog.c)
foreach(s suite_a suite_b)
  add_executable(${s} check_suite.c)
  target_link_libraries(${s} check subunit m rt pthread)
  add_test(NAME ${s} COMMAND ${s})
  set_tests_properties(${s} PROPERTIES ENVIRONMENT CK_FORK=no)
endforeach()
add_test(NAME leaks COMMAND prog leak)
add_test(NAME tidy COMMAND prog)
'''


def test_a_ctest_suite_gives_one_case_per_program(programs, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(CMAKE)
    (src / "prog.c").write_text((programs / "prog.c").read_text())
    (src / "check_suite.c").write_text((FIXTURES / "check_suite.c").read_text())
    build = tmp_path / "build"
    subprocess.run(["cmake", "-S", str(src), "-B", str(build), "-DCMAKE_BUILD_TYPE=Debug"], check=True,
                   capture_output=True)
    subprocess.run(["cmake", "--build", str(build)], check=True, capture_output=True)
    result = run("check", "--leak-budget", "0", "--junit", tmp_path / "j.xml", "--", "ctest", "--test-dir",
                 build, cwd=build)
    assert result.returncode == 1, result.stderr
    assert "tail call" not in result.stderr
    got = cases(tmp_path / "j.xml")
    assert set(got) == {"%s/suite_a" % build, "%s/suite_b" % build, "%s/prog leak" % build, "%s/prog" % build}
    assert failed(tmp_path / "j.xml") == {"%s/suite_a" % build, "%s/suite_b" % build, "%s/prog leak" % build}
    assert "memray check: FAIL %s/prog leak (leaks): leaked 4.220KiB exceeds budget 0B (4321 bytes, limit 0)" \
        % build in result.stderr
    # in one process (CK_FORK=no) the suite's leak is its test's 3 x 4000 B, and Check's own
    where = "test_leaky_fn:%s:%d" % (src / "check_suite.c", line_of("check_suite.c", "leaky"))
    for s in ("suite_a", "suite_b"):
        text = got["%s/%s" % (build, s)].find("failure").text
        assert "11.719KiB (12000 bytes) in 3 allocations at %s" % where in text, text
