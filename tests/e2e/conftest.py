"""Shared helpers for the end-to-end tests: they run the real `memray`
binary on fixture programs compiled here, and assert exact figures."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
BUILD = Path(os.environ.get("MEMRAY_BUILD", ROOT / "build")).resolve()
MEMRAY = BUILD / "memray"

# what a crash of memray itself looks like on stderr
CRASH_SIGNS = ("Segmentation", "Traceback", "BUG", "Aborted", "core dumped", "AddressSanitizer")


def line_of(source, marker):
    """The line number of the `@marker` comment in a fixture."""
    for number, text in enumerate((FIXTURES / source).read_text().splitlines(), 1):
        if re.search(r"@%s\b" % re.escape(marker), text):
            return number
    raise AssertionError("no @%s in %s" % (marker, source))


def location(function, source, marker):
    """The `function:file:line` memray reports for a fixture line."""
    return "%s:%s:%d" % (function, FIXTURES / source, line_of(source, marker))


class Fixtures:
    """Compiles each fixture once per test session, with -g -O0 and its
    absolute source path, so debug info names the file exactly."""

    def __init__(self, outdir):
        self.outdir = outdir
        self.built = {}

    def build(self, source, *extra, name=None):
        key = (source, extra, name)
        if key not in self.built:
            src = FIXTURES / source
            out = self.outdir / (name or src.stem)
            compiler = "g++" if src.suffix == ".cpp" else "gcc"
            cmd = [compiler, "-g", "-O0", "-fno-omit-frame-pointer", "-o", str(out), str(src)]
            cmd += list(extra) + ["-lpthread"]
            subprocess.run(cmd, check=True)
            self.built[key] = out
        return self.built[key]


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory):
    return Fixtures(tmp_path_factory.mktemp("fixtures"))


# MEMRAY_E2E_VERIFY_UNWIND=1 make e2e: every program the tests run under memray through run()
# checks each stack against the slow unwinder (tracker/unwind.c); a run with a mismatch fails,
# and the verification's lines are taken out of stderr before the test sees it. The programs
# run many times slower, so a figure that grows with run time can fail (test_aggregate_is_small:
# the RSS samples of a slow run outweigh the aggregate records).
VERIFY_ALL = os.environ.get("MEMRAY_E2E_VERIFY_UNWIND") == "1"
VERIFY_LINE = re.compile(r"^memray: unwind verification: \d+ stacks compared, (\d+) mismatches.*\n", re.M)


def run(*args, cwd=None, env=None, timeout=120, stdin=subprocess.DEVNULL):
    """Run memray with args; returns the CompletedProcess (text mode)."""
    full_env = dict(os.environ)
    full_env.pop("MEMRAY_VERIFY_STACKS", None)
    full_env.pop("MEMRAY_VERIFY_UNWIND", None)
    if VERIFY_ALL:
        full_env["MEMRAY_VERIFY_UNWIND"] = "1"
    if env:
        full_env.update(env)
    result = subprocess.run([str(MEMRAY)] + [str(a) for a in args], cwd=cwd, env=full_env,
                            capture_output=True, text=True, timeout=timeout, stdin=stdin)
    assert_no_crash(result)
    if VERIFY_ALL and not (env and "MEMRAY_VERIFY_UNWIND" in env):
        for mismatches in VERIFY_LINE.findall(result.stderr):
            assert mismatches == "0", result.stderr
        result.stderr = VERIFY_LINE.sub("", result.stderr)
    return result


def assert_no_crash(result):
    assert result.returncode < 128 or result.returncode in (128 + 9, 128 + 6, 128 + 15) and \
        "was killed by signal" in result.stderr, result
    for sign in CRASH_SIGNS:
        assert sign not in result.stderr, result.stderr


def record(tmp_path, program, *args, options=(), env=None, name="out.bin"):
    """`memray run` a program into tmp_path/name; returns (result, path)."""
    out = tmp_path / name
    result = run("run", "-q", "-f", "-o", out, *options, program, *args, env=env)
    return result, out


def record_blocks_in(tmp_path, dirname, name):
    """blocks.c copied into a directory of an odd name, built there (so debug
    info names that path) and recorded; returns the capture's path."""
    import shutil
    odd = tmp_path / dirname
    odd.mkdir()
    shutil.copy(FIXTURES / "blocks.c", odd / "blocks.c")
    prog = tmp_path / name
    subprocess.run(["gcc", "-g", "-O0", "-o", str(prog), str(odd / "blocks.c")], check=True)
    return record(tmp_path, prog)[1]


def stats(capture, *options):
    result = run("stats", "--json", "-n", "0", *options, capture)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def by_location(entries, key="size"):
    return {e["location"]: e[key] for e in entries}


def entry(entries, loc):
    matches = [e for e in entries if e["location"] == loc]
    assert matches, "%s not in %s" % (loc, [e["location"] for e in entries])
    return matches[0]


def parse(capture):
    result = run("parse", capture)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()
