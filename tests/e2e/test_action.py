"""The GitHub action (github-action/action.yml), run here by
tests/action/run_action.py on small projects built from blocks.c, whose
peak (4096000 B) and leaks (10 x 1000 B, plus stdout's 4096 B buffer on a
pipe, still reachable: counted with --reachable-leaks) are known exactly; its metadata against GitHub's schema; its JUnit
against tests/schema/junit.xsd and through junitparser."""
import json
import os
import re
import shutil
import subprocess
import sys

import junitparser
import pytest
import yaml

from conftest import BUILD, FIXTURES, ROOT, line_of

ACTION = ROOT / "github-action"
RUNNER = ROOT / "tests" / "action" / "run_action.py"
VALIDATOR = ROOT / "tests" / "action" / "validate.mjs"
XSD = ROOT / "tests" / "schema" / "junit.xsd"

sys.path.insert(0, str(RUNNER.parent))
import run_action  # noqa: E402  (the runner's expression evaluator, tested directly below)

PEAK, LEAKED = 4096000, 14096


def metadata():
    return yaml.safe_load((ACTION / "action.yml").read_text())


@pytest.fixture
def project(fixtures, tmp_path):
    """A project directory holding the blocks program."""
    def make(name="project"):
        path = tmp_path / name
        path.mkdir()
        shutil.copy(fixtures.build("blocks.c"), path / "blocks")
        return path
    return make


def act(tmp_path, workspace, env=None, **inputs):
    """Run the action; returns (CompletedProcess, result JSON). Input names
    are given with _ for -; env: the runner's environment variables."""
    result = tmp_path / "result.json"
    argv = [sys.executable, str(RUNNER), str(ACTION), "--workspace", str(workspace),
            "--temp", str(tmp_path / "runner-temp"), "--result", str(result)]
    for name, value in inputs.items():
        argv += ["--input", "%s=%s" % (name.replace("_", "-"), value)]
    for name, value in (env or {}).items():
        argv += ["--env", "%s=%s" % (name, value)]
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    assert "run_action: error" not in proc.stderr, proc.stderr
    return proc, json.loads(result.read_text())


def annotations(proc):
    return [line for line in proc.stdout.splitlines() if line.startswith("::")]


def test_action_metadata_is_valid_for_github():
    assert (VALIDATOR.parent / "node_modules" / "@action-validator" / "core").is_dir(), \
        "the schema validator is not installed: run 'make deps' (npm ci in tests/action)"
    result = subprocess.run(["node", str(VALIDATOR), str(ACTION / "action.yml"), str(ACTION / "README.md")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "ok action %s" % (ACTION / "action.yml")
    assert len([x for x in lines if x.startswith("ok workflow")]) >= 4	# the README's copy-paste workflows


def test_validator_refuses_a_broken_action(tmp_path):
    broken = tmp_path / "action.yml"
    meta = metadata()
    del meta["runs"]["steps"][0]["shell"]	# composite run: steps must name their shell
    broken.write_text(yaml.safe_dump(meta))
    result = subprocess.run(["node", str(VALIDATOR), str(broken)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "/runs/steps/0/shell" in result.stdout


def test_inputs_reach_scripts_only_through_env():
    meta = metadata()
    used = set()
    for step in meta["runs"]["steps"]:
        if "run" in step:
            assert step.get("shell") in ("bash", "sh"), step["name"]
            assert "${{" not in step["run"], "expression pasted into the script of %r" % step["name"]
        for value in (step.get("env") or {}).values():
            used |= set(re.findall(r"\binputs\.([a-z-]+)", str(value)))
        assert not re.search(r"\binputs\.", json.dumps(step.get("with") or {}))
    assert used == set(meta["inputs"])	# every input is used, and only through env:
    for group in ("inputs", "outputs"):
        for name, spec in meta[group].items():
            assert spec.get("description"), "%s %s is not documented" % (group, name)


def test_action_scripts_pass_shellcheck(tmp_path):
    for n, step in enumerate(metadata()["runs"]["steps"]):
        if "run" in step:
            script = tmp_path / ("step%d.sh" % n)
            script.write_text("#!/bin/bash\n" + step["run"])
            result = subprocess.run(["shellcheck", "-s", "bash", str(script)], capture_output=True, text=True)
            assert result.returncode == 0, "%s:\n%s" % (step["name"], result.stdout)


def test_passing_project(project, tmp_path):
    proj = project()
    proc, res = act(tmp_path, tmp_path, command="./blocks", budget="5MB", leak_budget="20KiB",
                    junit="memray-junit.xml", markdown="memray.md", working_directory="project",
                    memray_args="--reachable-leaks")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert res["outputs"] == {"status": "passed", "exit-code": "0", "peak": str(PEAK), "leaked": str(LEAKED),
                              "failures": "0", "junit": str(proj / "memray-junit.xml"),
                              "markdown": str(proj / "memray.md")}
    assert annotations(proc) == []
    md = (proj / "memray.md").read_text()
    assert res["summary"] == md + ("" if md.endswith("\n") else "\n")
    assert md.startswith("## memray check: passed\n")
    assert "| pass | peak memory | 3.906MiB (4096000 bytes) | 5.000MiB (5242880 bytes) |" in md
    assert "| pass | leaked memory | 13.766KiB (14096 bytes) | 20.000KiB (20480 bytes) |" in md
    outcomes = {s["name"]: s["outcome"] for s in res["steps"]}
    assert outcomes["Fail when the gate failed"] == "skipped"
    assert outcomes["Restore the memray build"] == "skipped"	# uses: steps are not run here
    assert "blocks: done" in proc.stdout	# the command's own output is the step's


def test_failing_project(project, tmp_path):
    proj = project()
    proc, res = act(tmp_path, proj, command="./blocks", budget="4000000", leak_budget="10000B",
                      junit="memray-junit.xml", memray_args="--reachable-leaks")
    assert proc.returncode == 1	# the job fails
    out = res["outputs"]
    assert out["status"] == "failed" and out["exit-code"] == "1" and out["failures"] == "2"
    assert (out["peak"], out["leaked"], out["junit"]) == (str(PEAK), str(LEAKED), str(proj / "memray-junit.xml"))
    assert out["markdown"].startswith(str(tmp_path / "runner-temp" / "memray-markdown."))
    # one annotation per failed rule: the action's, memray's own are switched off
    assert annotations(proc) == [
        "::error title=peak memory::peak 3.906MiB exceeds budget 3.815MiB (+2.4%25)",
        "::error title=leaked memory::leaked 13.766KiB exceeds budget 9.766KiB (+41.0%25)",
    ]
    summary = res["summary"].splitlines()
    assert summary[0] == "## memray check: failed"
    assert "| FAIL | peak memory | 3.906MiB (4096000 bytes) | 3.815MiB (4000000 bytes) | " \
           "peak 3.906MiB exceeds budget 3.815MiB (+2.4%) |" in summary
    assert [s["outcome"] for s in res["steps"]][-1] == "failure"
    assert "memray-action: memray check: failed (exit status 1)" in proc.stderr

    # the JUnit a CI system reads: the schema, then junitparser as a reporter would
    lint = subprocess.run(["xmllint", "--noout", "--schema", str(XSD), out["junit"]], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stderr
    xml = junitparser.JUnitXml.fromfile(out["junit"])
    suites = list(xml)
    assert len(suites) == 1 and (suites[0].tests, suites[0].failures, suites[0].errors) == (2, 2, 0)
    cases = {case.name: case for case in suites[0]}
    assert sorted(cases) == ["leaked memory", "peak memory"]
    peak = cases["peak memory"].result[0]
    assert isinstance(peak, junitparser.Failure) and peak.type == "BudgetExceeded"
    assert peak.message == "peak 3.906MiB exceeds budget 3.815MiB (+2.4%)"
    make = "make_blocks:%s:%d" % (FIXTURES / "blocks.c", line_of("blocks.c", "make_blocks"))
    assert "peak: 4096000 bytes; limit: 4000000 bytes" in peak.text and make in peak.text
    leak = cases["leaked memory"].result[0]
    assert leak.type == "LeakDetected" and "leaked: 14096 bytes; limit: 10000 bytes" in leak.text
    # figures in system-out, as the xUnit schema wants (no properties in a testcase)
    assert cases["peak memory"].child(junitparser.Properties) is None
    assert cases["peak memory"].system_out == "bytes: 4096000\nlimit_bytes: 4000000\n"


def test_failing_command_wins(project, tmp_path):
    proj = project()
    proc, res = act(tmp_path, proj, command="./blocks 3", budget="4000000B", memray_args="--reachable-leaks")
    assert proc.returncode == 3
    out = res["outputs"]
    # the whole run's figures come with or without a rule of their kind (no leak rule here)
    assert (out["status"], out["exit-code"], out["peak"], out["leaked"]) == \
        ("command-failed", "3", str(PEAK), str(LEAKED))
    # one annotation each, in the order of the JUnit (which lists the command first)
    assert sorted(annotations(proc)) == [
        "::error title=memray check%3A command failed::bash exited with status 3",
        "::error title=peak memory::peak 3.906MiB exceeds budget 3.815MiB (+2.4%25)",
    ]
    assert "**Error:** bash exited with status 3" in res["summary"]


def test_inputs_are_text_never_shell(project, tmp_path):
    """Quotes, $(...), backticks and newlines in the inputs reach memray
    check as text: files appear under those exact names, no marker file is
    ever made, and nothing can forge an output or a workflow command."""
    payload = "\"dq\" 'sq' $(touch m1) `touch m2` ${HOME}\nstatus=passed\n::error::forged"
    workdir = "proj $(touch m3) `touch m4`"
    proj = project(workdir)
    junit = "j " + payload + ".xml"
    markdown = "m " + payload + ".md"
    caps = "caps$(touch${IFS}m5)`touch${IFS}m6`"
    command = "printf '%s\\n' \"$(echo hi)\" \"it's\" > said.txt"
    proc, res = act(tmp_path, tmp_path, command=command, budget="1GB", junit=junit, markdown=markdown,
                    working_directory=workdir, memray_args="--keep-captures\n " + caps)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for place in (tmp_path, proj, ROOT, ROOT / "github-action"):
        for marker in ("m1", "m2", "m3", "m4", "m5", "m6"):
            assert not (place / marker).exists(), "%s ran" % marker
    out = res["outputs"]
    assert out["status"] == "passed"
    assert out["junit"] == str(proj / junit) and out["markdown"] == str(proj / markdown)
    assert junitparser.JUnitXml.fromfile(out["junit"]) is not None
    assert (proj / caps).is_dir() and (proj / caps / "memray-check.bin").exists()
    # the command is the author's shell text: bash ran it as written
    assert (proj / "said.txt").read_text() == "hi\nit's\n"
    assert "Command: `bash -c %s`" % command in (proj / markdown).read_text()
    assert "forged" not in "\n".join(annotations(proc)) and "\n::error::forged" not in proc.stderr


def test_a_bad_input_is_refused_as_text(project, tmp_path):
    proj = project()
    budget = "$(touch m1) `touch m2` 'x\"\nMB"
    proc, res = act(tmp_path, proj, command="./blocks", budget=budget)
    assert proc.returncode == 2
    assert not (proj / "m1").exists() and not (proj / "m2").exists()
    # verbatim, the newline shown as \n: an error message stays one line (common/utf8.h)
    assert "memray: error: check: --budget '%s': " % budget.replace("\n", "\\n") in proc.stderr
    out = res["outputs"]
    assert (out["status"], out["exit-code"], out["peak"], out["failures"]) == ("error", "2", "", "0")
    assert annotations(proc) == ["::error title=memray check::memray check exited with status 2 without a "
                                 "JUnit report; the step's log says why"]
    assert res["summary"].startswith("## memray check: error\n")


def test_runner_expressions(tmp_path):
    job = run_action.Job(str(tmp_path), str(tmp_path), str(tmp_path), {"leak-budget": "1K", "empty": ""}, {})
    job.steps["cache"] = {"outputs": {}, "outcome": "skipped"}
    assert job.condition("steps.cache.outputs.cache-hit != 'true'")
    assert not job.condition("${{ steps.cache.outputs.cache-hit == 'true' }}")
    assert job.interpolate("a ${{ inputs.leak-budget }} b ${{ inputs['empty'] || 'none' }}") == "a 1K b none"
    assert job.evaluate("'ABC' == 'abc' && !inputs.empty && format('{0}-{1}', 1, true)") == "1-true"
    assert job.evaluate("contains('memray check', 'CHECK') && startsWith(inputs.leak-budget, '1')") is True
    job.failed = 1
    assert not job.condition("inputs.leak-budget != ''") and job.condition("always()")
    with pytest.raises(run_action.ActionError):
        job.evaluate("hashFiles('x')")	# not supported: say so, never guess


def test_runner_file_commands(tmp_path):
    f = tmp_path / "out"
    f.write_text("a=1=2\nb<<EOF\nline one\nc=not an output\nEOF\n\n")
    assert run_action.read_file_commands(str(f)) == {"a": "1=2", "b": "line one\nc=not an output"}
    f.write_text("b<<EOF\nno end\n")
    with pytest.raises(run_action.ActionError):
        run_action.read_file_commands(str(f))


def junit_option(command):
    m = re.search(r"memray check .*--junit (\S+) .*-- ", command)
    assert m, command
    return m.group(1)


def test_gitlab_example_reports_the_junit_it_writes(tmp_path):
    job = yaml.safe_load((ROOT / "ci" / "examples" / "gitlab-ci.yml").read_text())["memory"]
    gate = [line for line in job["script"] if "memray check" in line]
    assert len(gate) == 1
    assert job["artifacts"]["reports"]["junit"] == junit_option(gate[0])
    assert job["artifacts"]["when"] == "always"	# a failed gate still reports
    script = tmp_path / "gitlab.sh"
    script.write_text("#!/bin/bash\nset -e\n" + "\n".join(job["before_script"] + job["script"]) + "\n")
    result = subprocess.run(["shellcheck", "-s", "bash", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_jenkins_example_reports_the_junit_it_writes():
    text = (ROOT / "ci" / "examples" / "Jenkinsfile").read_text()
    gate = re.findall(r"^\s*sh '(\.memray/bin/memray check [^']*)'$", text, flags=re.MULTILINE)
    assert len(gate) == 1
    assert re.search(r"junit .*testResults: '%s'" % re.escape(junit_option(gate[0])), text)
    assert re.search(r"post \{\s*always \{\s*junit ", text)	# a failed gate still reports


def test_runner_carries_env_path_and_outputs_between_steps(tmp_path):
    """The runner itself, on a small action: GITHUB_ENV, GITHUB_PATH,
    multi-line outputs, sh and python shells, working-directory, if:."""
    action = tmp_path / "toy"
    (action / "bin").mkdir(parents=True)
    (tmp_path / "sub").mkdir()
    (action / "bin" / "toy-tool").write_text("#!/bin/sh\necho tool\n")
    (action / "bin" / "toy-tool").chmod(0o755)
    (action / "action.yml").write_text(yaml.safe_dump({
        "name": "toy", "description": "runner test",
        "inputs": {"who": {"description": "d", "default": "${{ runner.os }}"}},
        "outputs": {"said": {"description": "d", "value": "${{ steps.b.outputs.said }}"},
                    "where": {"description": "d", "value": "${{ steps.c.outputs.where }}"}},
        "runs": {"using": "composite", "steps": [
            {"id": "a", "shell": "bash", "env": {"DIR": "${{ github.action_path }}/bin"},
             "run": 'echo "GREETING=hello" >>"$GITHUB_ENV"; echo "$DIR" >>"$GITHUB_PATH"'},
            {"id": "b", "shell": "sh", "env": {"WHO": "${{ inputs.who }}"},
             "run": 'printf "said<<X\\n%s %s\\n%s\\nX\\n" "$GREETING" "$WHO" "$(toy-tool)" >>"$GITHUB_OUTPUT"'},
            {"id": "c", "shell": "python", "working-directory": "sub",
             "run": "import os\nopen(os.environ['GITHUB_OUTPUT'], 'a').write('where=' + os.getcwd())\n"},
            {"id": "d", "if": "steps.b.outputs.said == 'nothing'", "shell": "bash", "run": "exit 9"},
            {"id": "e", "shell": "bash", "run": "exit 4"},
            {"id": "f", "shell": "bash", "run": "echo never"},
            {"id": "g", "if": "failure() && steps.e.outcome == 'failure'", "shell": "bash",
             "run": 'echo "## after" >>"$GITHUB_STEP_SUMMARY"'},
        ]}}))
    result = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, str(RUNNER), str(action), "--workspace", str(tmp_path),
                           "--result", str(result)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 4, proc.stderr
    res = json.loads(result.read_text())
    assert res["outputs"] == {"said": "hello Linux\ntool", "where": str(tmp_path / "sub")}
    assert [s["outcome"] for s in res["steps"]] == ["success", "success", "success", "skipped", "failure",
                                                    "skipped", "success"]
    assert res["summary"] == "## after\n" and res["failed"]
    bad = subprocess.run([sys.executable, str(RUNNER), str(action), "--input", "whom=x"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "unknown input(s) whom" in bad.stderr


def test_manifest_and_baseline_inputs(tmp_path, fixtures):
    """The manifest, baseline, max-increase and update-baseline inputs reach
    memray check: per-test rules from memray.yml, then a baseline written
    by one run and a regression against it found by the next."""
    proj = tmp_path / "cproject"
    proj.mkdir()
    subprocess.run(["gcc", "-g", "-O0", "-I", str(ROOT), "-o", str(proj / "marked"),
                    str(FIXTURES / "marked.c")], check=True)
    # suite.leaky keeps 5 x 300 B: a per-test leak budget of 1000 B fails it, and only it
    (proj / "memray.yml").write_text("version: 1\ntests:\n  - match: 'suite.leaky'\n    leak-budget: 1000B\n")
    proc, res = act(tmp_path, proj, command="./marked 1", manifest="memray.yml", junit="j.xml")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert res["outputs"]["status"] == "failed" and res["outputs"]["failures"] == "1"
    assert annotations(proc) == [
        "::error title=suite.leaky::leaked 1.465KiB exceeds budget 1000B (+50.0%25)"]

    # a baseline from scale 1, then scale 2 doubles suite.churn's churn: 108000 -> 208000 B
    base = "memray-baseline.json"
    proc, res = act(tmp_path, proj, command="./marked 1", update_baseline=base)
    assert proc.returncode == 0 and res["outputs"]["status"] == "passed", proc.stderr
    assert json.loads((proj / base).read_text())["format"] == "memray-baseline"
    proc, res = act(tmp_path, proj, command="./marked 2", baseline=base, max_increase="10%", junit="j.xml")
    assert proc.returncode == 1 and res["outputs"]["status"] == "failed", proc.stderr
    suite = next(iter(junitparser.JUnitXml.fromfile(res["outputs"]["junit"])))
    regressions = [c for c in suite if c.result and c.result[0].type == "Regression"]
    assert "suite.churn" in [c.name for c in regressions]
    proc, res = act(tmp_path, proj, command="./marked 2", baseline=base, max_increase="+100000B")
    assert proc.returncode == 0 and res["outputs"]["status"] == "passed", proc.stderr


NAMED_LIKE_RULES = r"""
#include <stdlib.h>
#include <string.h>
#include "tracker/memray_test.h"

static void *volatile keep;

int main(void)
{
	char *big = malloc(3000000);	/* the whole run's peak, in no test */

	memset(big, 1, 3000000);
	free(big);
	memray_test_begin("peak memory");	/* a test, named like the whole-run rule */
	big = malloc(1000);
	free(big);
	memray_test_end();
	memray_test_begin("leaked memory");
	big = malloc(5000);
	free(big);
	keep = malloc(777);
	keep = NULL;	/* lost */
	memray_test_end();
	return 0;
}
"""


def test_outputs_come_from_the_whole_run_not_a_test_named_like_a_rule(tmp_path):
    """peak and leaked are the testsuite's memray.peak_bytes and
    memray.leaked_bytes: tests called "peak memory" and "leaked memory"
    (each with a rule of its own, so its testcase carries a "bytes"
    line in system-out) cannot supply them; the JUnit still validates."""
    proj = tmp_path / "named"
    proj.mkdir()
    (proj / "named.c").write_text(NAMED_LIKE_RULES)
    subprocess.run(["gcc", "-g", "-O0", "-I", str(ROOT), "-o", str(proj / "named"), str(proj / "named.c")],
                   check=True)
    (proj / "memray.yml").write_text("version: 1\ndefaults:\n  budget: 1MiB\n")
    proc, res = act(tmp_path, proj, command="./named", manifest="memray.yml", junit="j.xml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = res["outputs"]
    assert int(out["peak"]) >= 3000000 and out["leaked"] == "777", out
    lint = subprocess.run(["xmllint", "--noout", "--schema", str(XSD), out["junit"]], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stderr
    suite = next(iter(junitparser.JUnitXml.fromfile(out["junit"])))
    assert {p.name: p.value for p in suite.properties()} == {"memray.peak_bytes": out["peak"],
                                                             "memray.leaked_bytes": "777"}
    cases = {case.name: case for case in suite}
    assert sorted(cases) == ["leaked memory", "peak memory"]
    assert "bytes: 1000\n" in cases["peak memory"].system_out


def test_annotations_land_on_the_test_and_stop_at_githubs_limit(tmp_path):
    """Eleven failures (the whole run's peak, and each of two Check binaries'
    five tests) give GitHub's ten shown annotations: the whole run's, eight
    on the failing test's file and line, relative to the repository, then
    one that says how many more there are."""
    proj = tmp_path / "proj"
    (proj / "src").mkdir(parents=True)
    shutil.copy(FIXTURES / "check_named.c", proj / "src" / "check_named.c")
    for name, shared in (("bin_a", 100000), ("bin_b", 400000)):
        subprocess.run(["gcc", "-g", "-O0", "-DSHARED=%d" % shared, "-o", str(proj / name), "src/check_named.c",
                        "-lcheck", "-lsubunit", "-lm", "-lrt", "-lpthread"], check=True, cwd=proj)
    (proj / "memray.yml").write_text("version: 1\ndefaults:\n  budget: 1KiB\n")
    proc, res = act(tmp_path, tmp_path, command="./bin_a && ./bin_b", budget="1KiB", manifest="memray.yml",
                    working_directory="proj")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert res["outputs"]["failures"] == "11"
    shown = annotations(proc)
    assert len(shown) == 10
    assert shown[-1] == "::error title=memray check%3A 2 more failures::2 more failures; the job summary and the " \
                        "JUnit file list them all"
    at = {"test_shared": line_of("check_named.c", "shared_check"), "test_loop": line_of("check_named.c", "loop_check")}
    # the whole run's rule comes first in the JUnit, and has no file
    assert shown[0].startswith("::error title=peak memory::peak ")
    placed = shown[1:-1]
    for a in placed:
        test = "test_loop" if "test_loop" in a else "test_shared"
        assert a.startswith("::error file=proj/src/check_named.c,line=%d,title=bin_" % at[test]), a
        assert "::peak " in a and "exceeds budget 1.000KiB" in a


VERSION = re.search(r'#define MEMRAY_VERSION "(.*)"', (ROOT / "cli" / "main.c").read_text()).group(1)
# a clean program by any C programmer's standard: its cache lives in a global until exit
CACHED = r"""
#include <stdlib.h>
#include <string.h>

static char *cache;

int main(void)
{
	char *work = malloc(100000);

	memset(work, 1, 100000);
	free(work);
	cache = malloc(4096);	/* kept for the program's life, on purpose */
	memset(cache, 2, 4096);
	return 0;
}
"""


def test_examples_name_the_action_as_documented():
    """No example names a repository or tag that exists nowhere: in this
    repository the action is ./github-action; elsewhere the one documented
    placeholder OWNER/memray at the release tag of `memray --version`."""
    placeholder = "OWNER/memray/github-action@v%s" % VERSION
    for doc in (ROOT / "README.md", ACTION / "README.md"):
        uses = re.findall(r"uses: ([^\s`]*github-action[^\s`,]*)", doc.read_text())
        assert uses and set(uses) <= {"./github-action", placeholder}, (doc, uses)
        assert "./github-action" in uses
    for example in ("Jenkinsfile", "gitlab-ci.yml"):
        text = (ROOT / "ci" / "examples" / example).read_text()
        assert re.search(r"MEMRAY_REF\W+v%s\b" % re.escape(VERSION), text), example
        assert "@v1" not in text and "--leak-budget 0" not in junit_line(text)


def junit_line(text):
    return next(line for line in text.splitlines() if "memray check --" in line and "--junit" in line)


@pytest.mark.parametrize("example", ["Jenkinsfile", "gitlab-ci.yml"])
def test_pipeline_examples_pass_on_a_clean_project(example, tmp_path):
    """The examples' gate, as written, on a clean C project whose test
    program keeps a cache in a global until exit."""
    (tmp_path / "cached.c").write_text(CACHED)
    (tmp_path / "Makefile").write_text("test: cached\n\t./cached\ncached: cached.c\n\t$(CC) -g -o $@ $<\n")
    line = junit_line((ROOT / "ci" / "examples" / example).read_text())
    gate = re.search(r"\.memray/bin/memray (check [^']*)", line).group(1)
    proc = subprocess.run("%s %s" % (BUILD / "memray", gate), shell=True, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    suite = next(iter(junitparser.JUnitXml.fromfile(str(tmp_path / "memray-junit.xml"))))
    assert [c.name for c in suite] == ["peak memory", "./cached"]


def test_the_in_repository_workflow_passes(tmp_path):
    """The README's workflow for memray's own repository: its build step,
    then the action with its inputs, on the bundled example."""
    text = (ACTION / "README.md").read_text()
    block = re.search(r"### In memray's own repository.*?```yaml\n(.*?)```", text, re.S).group(1)
    steps = yaml.safe_load(block)["jobs"]["memray"]["steps"]
    build = [s["run"] for s in steps if "run" in s]
    action = [s for s in steps if s.get("uses") == "./github-action"][0]
    (tmp_path / "tests" / "fixtures").mkdir(parents=True)
    shutil.copy(FIXTURES / "example.c", tmp_path / "tests" / "fixtures" / "example.c")
    for command in build:
        subprocess.run(command, shell=True, cwd=tmp_path, check=True)
    proc, res = act(tmp_path, tmp_path, **{k.replace("-", "_"): v for k, v in action["with"].items()})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert res["outputs"]["status"] == "passed" and int(res["outputs"]["peak"]) > 2 * 1024 * 1024


class FakeGitHub:
    """GitHub's issue-comment API on 127.0.0.1, in a thread: records every
    request and keeps the comments of pull request 7 of o/r."""

    def __init__(self, fail=None):
        import http.server
        import threading
        self.requests, self.comments, self.fail = [], [{"id": 1, "body": "LGTM, someone else"}], fail
        gh = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, code, payload):
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                gh.requests.append((self.command, self.path, self.headers.get("Authorization"), body))
                if gh.fail:
                    return self.answer(gh.fail, {"message": "Resource not accessible by integration"})
                if self.command == "GET" and self.path.startswith("/repos/o/r/issues/7/comments"):
                    return self.answer(200, gh.comments)
                if self.command == "POST" and self.path == "/repos/o/r/issues/7/comments":
                    gh.comments.append({"id": 100 + len(gh.comments), "body": body["body"]})
                    return self.answer(201, gh.comments[-1])
                if self.command == "PATCH" and self.path.startswith("/repos/o/r/issues/comments/"):
                    cid = int(self.path.rsplit("/", 1)[1])
                    for c in gh.comments:
                        if c["id"] == cid:
                            c["body"] = body["body"]
                            return self.answer(200, c)
                return self.answer(404, {"message": "Not Found"})

            do_GET = do_POST = do_PATCH = handle_any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def env(self, tmp_path, event=None):
        path = tmp_path / "event.json"
        path.write_text(json.dumps(event if event is not None else {"pull_request": {"number": 7}}))
        return {"GITHUB_API_URL": "http://127.0.0.1:%d" % self.server.server_address[1],
                "GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_NAME": "pull_request",
                "GITHUB_EVENT_PATH": str(path), "GITHUB_TOKEN": "t0k3n"}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def github():
    gh = FakeGitHub()
    yield gh
    gh.close()


def test_comment_posted_then_updated_in_place(project, tmp_path, github):
    """The first run posts the report as a comment, the second finds it by
    its hidden marker and updates it; the other comment is left alone."""
    proj = project()
    env = github.env(tmp_path)
    proc, res = act(tmp_path, proj, env=env, command="./blocks", budget="5MB", comment="true")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "memray-action: commented on pull request #7" in proc.stdout
    assert [(m, p, a) for m, p, a, _ in github.requests] == [
        ("GET", "/repos/o/r/issues/7/comments?per_page=100&page=1", "Bearer t0k3n"),
        ("POST", "/repos/o/r/issues/7/comments", "Bearer t0k3n")]
    posted = github.requests[1][3]["body"]
    assert posted.startswith("<!-- memray-action comment  -->\n## memray check: passed\n")
    assert "| pass | peak memory | 3.906MiB (4096000 bytes) | 5.000MiB (5242880 bytes) |" in posted
    github.requests.clear()
    proc, res = act(tmp_path, proj, env=env, command="./blocks", budget="3MB", comment="true")
    assert proc.returncode == 1 and res["outputs"]["status"] == "failed"
    assert "memray-action: updated comment 101 on pull request #7" in proc.stdout
    assert [(m, p) for m, p, _, _ in github.requests] == [
        ("GET", "/repos/o/r/issues/7/comments?per_page=100&page=1"), ("PATCH", "/repos/o/r/issues/comments/101")]
    assert len(github.comments) == 2 and github.comments[0]["body"] == "LGTM, someone else"
    assert github.comments[1]["body"].startswith("<!-- memray-action comment  -->\n## memray check: failed\n")


def test_comment_with_a_diff_file(fixtures, tmp_path, github):
    """comment-file posts another report: here `memray diff --markdown` of
    two builds, one stack 1 MiB bigger, one 4 KiB smaller."""
    from conftest import ROOT, record
    proj = tmp_path / "diffproj"
    proj.mkdir()
    src = FIXTURES / "diff_growth.c"
    for name, extra in (("base", []), ("head", ["-DHEAD"])):
        subprocess.run(["gcc", "-g", "-O0", "-o", str(proj / name), str(src)] + extra, check=True)
        record(proj, proj / name, name=name + ".bin")
    # the plain build: the gate tracks this command, and an ASan build (make sanitize) refuses the tracker
    command = "%s diff --markdown -o diff.md base.bin head.bin" % (ROOT / "build" / "memray")
    proc, res = act(tmp_path, proj, env=github.env(tmp_path), command=command, comment="true",
                    comment_file="diff.md", comment_tag="linux")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    body = github.requests[-1][3]["body"]
    assert body.startswith("<!-- memray-action comment linux -->\n### memray: memory change, head against base")
    assert "1. peak +1.000MiB (+1048576 B): 1.000MiB \u2192 2.000MiB" in body
    assert "1. peak -4.000KiB (-4096 B): 12.000KiB \u2192 8.000KiB" in body


def test_comment_never_fails_the_gate(project, tmp_path):
    """Not a pull request: nothing is asked. A read-only token (a fork's pull
    request): a warning, and the step's status is the gate's."""
    proj = project()
    gh = FakeGitHub(fail=403)
    try:
        proc, res = act(tmp_path, proj, env=gh.env(tmp_path, event={"ref": "refs/heads/main"}),
                        command="./blocks", comment="true")
        assert proc.returncode == 0 and gh.requests == []
        assert "memray-action: not a pull request (pull_request): no comment posted" in proc.stdout
        proc, res = act(tmp_path, proj, env=gh.env(tmp_path), command="./blocks", comment="true")
        assert proc.returncode == 0 and res["outputs"]["status"] == "passed", proc.stdout + proc.stderr
        assert "::warning title=memray-action::could not comment on pull request #7: HTTP 403" in proc.stdout
        assert len(gh.requests) == 1
    finally:
        gh.close()
