"""Every command parses its options alike (cli/options): -o X, --output=X and
--output X mean the same, and a trailing -o or an unknown option is one line
on stderr and exit status 2."""
import pytest

from conftest import record, run

# the commands that take -o, with what they need besides it
OUTPUT_COMMANDS = [
    ("run", []),
    ("stats", ["CAPTURE"]),
    ("transform", ["csv", "CAPTURE"]),
    ("flamegraph", ["CAPTURE"]),
    ("table", ["CAPTURE"]),
]


@pytest.fixture(scope="module")
def capture(fixtures, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("options")
    result, out = record(tmp, fixtures.build("blocks.c"))
    assert result.returncode == 0, result.stderr
    return out


def arguments(cmd, rest, capture, fixtures):
    if cmd == "run":
        return [fixtures.build("blocks.c")]
    return [capture if a == "CAPTURE" else a for a in rest]


@pytest.mark.parametrize("cmd,rest", OUTPUT_COMMANDS, ids=[c for c, _ in OUTPUT_COMMANDS])
@pytest.mark.parametrize("form", ["-o X", "--output=X", "--output X"])
def test_every_form_of_output(cmd, rest, form, capture, fixtures, tmp_path):
    target = tmp_path / "result.out"
    option = ["--output=%s" % target] if "=" in form else [form.split()[0], target]
    result = run(cmd, *option, *arguments(cmd, rest, capture, fixtures))
    assert result.returncode == 0, result.stderr
    assert target.is_file() and target.stat().st_size > 0
    assert "error" not in result.stderr


@pytest.mark.parametrize("cmd", [c for c, _ in OUTPUT_COMMANDS])
def test_a_trailing_output_option_needs_a_value(cmd, capture, tmp_path):
    # the capture (or nothing, for run) first, then -o with no value after it
    args = [] if cmd == "run" else ([capture] if cmd != "transform" else ["csv", capture])
    result = run(cmd, *args, "-o", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "memray: error: %s: option '-o' needs a value (see 'memray %s --help')\n" % (cmd, cmd)
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


ALL_COMMANDS = ["run", "check", "stats", "flamegraph", "table", "summary", "tree", "transform", "parse"]


@pytest.mark.parametrize("cmd", ALL_COMMANDS)
@pytest.mark.parametrize("bad", ["--bogus", "--bogus=1", "-Z"])
def test_an_unknown_option_is_one_line(cmd, bad, capture, tmp_path):
    result = run(cmd, bad, capture, cwd=tmp_path)
    assert result.returncode == 2
    name = bad.split("=")[0]
    assert result.stderr == "memray: error: %s: unknown option '%s' (see 'memray %s --help')\n" % (cmd, name, cmd)
    assert list(tmp_path.iterdir()) == []


def test_a_flag_takes_no_value(capture):
    result = run("stats", "--json=yes", capture)
    assert result.returncode == 2
    assert result.stderr == "memray: error: stats: option '--json' takes no value (see 'memray stats --help')\n"


def test_double_dash_ends_the_options(capture, tmp_path):
    # a capture whose name starts with a dash is reachable after --
    odd = tmp_path / "-odd.bin"
    odd.write_bytes(capture.read_bytes())
    result = run("stats", "--json", "--", "-odd.bin", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("{")


def test_run_leaves_the_programs_options_alone(fixtures, tmp_path):
    # -o after the program is the program's (here: echo prints it)
    result = run("run", "-q", "-o", tmp_path / "e.bin", "/bin/echo", "-o", "--bogus", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "-o --bogus\n"


def test_check_leaves_everything_after_double_dash_alone(tmp_path):
    result = run("check", "--", "/bin/echo", "--budget", "--", "-o", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "--budget -- -o\n"
