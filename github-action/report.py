"""The action's report step: reads the JUnit XML that `memray check` wrote
and turns it into the step's outputs (status, peak, leaked, failures),
`::error` annotations and the job summary.

Annotations: GitHub shows at most 10 error annotations of a step, so a
failed command and each failed rule get one, on the test's file and line
when the testcase has them (`file=`, `line=`), up to 10; past that the
tenth says how many more failed and where they are all listed.

Python's standard library only: the runner's python3, nothing installed.
Environment: EXIT_CODE, JUNIT, MARKDOWN (from the check step), SUMMARY
("true": append the Markdown to GITHUB_STEP_SUMMARY), WORKDIR (the
command's working directory, which a testcase's relative file is
relative to), GITHUB_WORKSPACE, GITHUB_OUTPUT.
"""
import os
import secrets
import sys
import xml.etree.ElementTree as ET

# GitHub cuts a step summary at 1 MiB; leave room for the note that says so
SUMMARY_LIMIT = 1024 * 1024 - 4096

# the whole run's figures: testsuite properties memray check writes whatever the
# rules, and the output each fills. Never read from a testcase by its name: a
# test of the tested suite may be called "peak memory" too.
FIGURES = {"memray.peak_bytes": "peak", "memray.leaked_bytes": "leaked"}


def escape_data(text):
    """A workflow command's message, as the actions toolkit escapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text):
    """A workflow command's property value (title=...): also , and :."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


# GitHub shows this many error annotations of one step, and drops the rest
SHOWN = 10


def annotation(title, message, file=None, line=None):
    where = ""
    if file:
        where = "file=%s," % escape_property(file)
        if line and line.isdigit():
            where += "line=%s," % line
    return "::error %stitle=%s::%s" % (where, escape_property(title), escape_data(message))


def repo_path(file):
    """A testcase's file as GitHub wants it: relative to the repository
    (GITHUB_WORKSPACE); a relative one is relative to the command's
    working directory. A file outside the repository stays as it is."""
    base = os.environ.get("GITHUB_WORKSPACE") or os.getcwd()
    full = os.path.normpath(os.path.join(base, os.environ.get("WORKDIR", "."), file))
    rel = os.path.relpath(full, base)
    return file if rel.startswith("..") else rel


def bounded(annotations):
    """At most SHOWN annotations: past that, the last one says how many more."""
    if len(annotations) <= SHOWN:
        return annotations
    more = len(annotations) - (SHOWN - 1)
    return annotations[:SHOWN - 1] + [annotation("memray check: %d more failures" % more,
                                                 "%d more failures; the job summary and the JUnit file list "
                                                 "them all" % more)]


def read_junit(path):
    """(figures, annotations, failures, has_error) of a JUnit file, or None
    when there is none or it cannot be parsed. The annotations are all of
    them, a failed command's first."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    figures, annotations, errors, failures, has_error = {}, [], [], 0, False
    for suite in root.iter("testsuite"):
        for prop in suite.findall("properties/property"):
            if prop.get("name") in FIGURES:
                figures[FIGURES[prop.get("name")]] = prop.get("value", "")
    for case in root.iter("testcase"):
        name = case.get("name", "")
        file = repo_path(case.get("file")) if case.get("file") else None
        for failure in case.findall("failure"):
            failures += 1
            annotations.append(annotation(name, failure.get("message", ""), file, case.get("line")))
        for error in case.findall("error"):
            has_error = True
            errors.append(annotation("memray check: command failed", error.get("message", "")))
    return figures, errors + annotations, failures, has_error


def status_of(exit_code, junit):
    """The documented status: passed, failed, command-failed or error."""
    if exit_code == "0":
        return "passed"
    if junit is None:
        return "error"
    _, _, failures, has_error = junit
    if has_error:
        return "command-failed"	# memray exits with the command's status then
    if exit_code == "1" and failures:
        return "failed"
    return "error"


def summary_text(markdown_path, exit_code):
    try:
        with open(markdown_path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    if not text:
        return ("## memray check: error\n\nmemray check exited with status %s before writing its report; "
                "the step's log says why.\n" % exit_code)
    if len(text.encode("utf-8")) > SUMMARY_LIMIT:
        text = text.encode("utf-8")[:SUMMARY_LIMIT].decode("utf-8", "ignore")
        text = text[:text.rfind("\n") + 1] + "\n*(cut at 1 MiB, GitHub's limit; the whole report is `%s`)*\n" \
            % markdown_path
    return text if text.endswith("\n") else text + "\n"


def set_output(out, name, value):
    delim = "memray_" + secrets.token_hex(12)	# a value cannot end the block early
    out.write("%s<<%s\n%s\n%s\n" % (name, delim, value, delim))


def main():
    exit_code = os.environ.get("EXIT_CODE", "")
    junit_path = os.environ.get("JUNIT", "")
    junit = read_junit(junit_path) if junit_path else None
    figures, annotations, failures = (junit[0], junit[1], junit[2]) if junit else ({}, [], 0)
    status = status_of(exit_code, junit)
    if junit is None and exit_code != "0":
        annotations.append(annotation("memray check", "memray check exited with status %s without a JUnit "
                                      "report; the step's log says why" % exit_code))
    for line in bounded(annotations):
        print(line)
    sys.stdout.flush()
    if os.environ.get("SUMMARY", "true") == "true" and os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as f:
            f.write(summary_text(os.environ.get("MARKDOWN", ""), exit_code))
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        set_output(out, "status", status)
        set_output(out, "peak", figures.get("peak", ""))
        set_output(out, "leaked", figures.get("leaked", ""))
        set_output(out, "failures", str(failures))
    print("memray-action: status %s, peak %s, leaked %s, %d failed rule(s)"
          % (status, figures.get("peak") or "-", figures.get("leaked") or "-", failures))


if __name__ == "__main__":
    main()
