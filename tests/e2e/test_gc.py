"""The garbage collector: `memray run --collect-garbage`, SIGUSR2 and
memray_collect_garbage() free what a reachability scan finds lost, and
nothing else."""
import subprocess

import pytest

from conftest import FIXTURES, ROOT, line_of, record, run, stats

MiB = 1 << 20


def graph(fixtures, opt):
    return fixtures.build("gc_graph.c", "-I%s" % ROOT, opt, name="gc_graph" + opt)


def numbers(stdout):
    lines = dict(line.split(" ", 1) for line in stdout.splitlines())
    count, size = map(int, lines["unreachable"].split())
    whole, of = map(int, lines["intact"].split(" of "))
    return count, size, int(lines["freed"]), whole, of


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_random_graphs_free_exactly_what_nothing_reaches(fixtures, tmp_path, seed, opt):
    prog = graph(fixtures, opt)
    result, capture = record(tmp_path, prog, str(seed), options=("--reachability",))
    assert result.returncode == 0, result.stdout + result.stderr
    count, size, freed, whole, of = numbers(result.stdout)
    assert count > 400 and of > 2000  # the graph has both kinds, plenty of each
    assert freed == size  # every unreachable node, and nothing else, by bytes
    assert whole == of  # no node the program can reach was freed under it
    collected = stats(capture)["collected"]
    assert (collected["allocations"], collected["bytes"]) == (count, size)


def test_without_the_tracker_the_call_is_absent(fixtures):
    prog = graph(fixtures, "-O0")
    out = subprocess.run([prog, "1"], capture_output=True, text=True, check=True).stdout
    count, size, freed, whole, of = numbers(out)
    assert freed == 0 and whole == of and count > 0


def leak_line():
    return "leak:%s:%d" % (FIXTURES / "gc_leaky.c", line_of("gc_leaky.c", "leak"))


def test_the_collector_keeps_a_leaking_program_flat(fixtures, tmp_path):
    prog = fixtures.build("gc_leaky.c")
    plain, _ = record(tmp_path, prog, "60", name="plain.bin")
    collected, capture = record(tmp_path, prog, "60", options=("--collect-garbage=50ms",), name="gc.bin")
    grew = int(plain.stdout.split()[3])
    assert grew >= 55, plain.stdout
    assert int(collected.stdout.split()[3]) <= 16, collected.stdout
    data = stats(capture)
    freed = data["collected"]
    assert freed["bytes"] == freed["allocations"] * MiB and freed["allocations"] >= 40
    # every leaked block was either collected or is lost at exit: none is counted twice or missed
    assert freed["allocations"] + data["leaks"]["by_reachability"]["definitely_lost"]["allocations"] == 60
    assert [e["location"] for e in freed["top_by_size"]] == [leak_line()]
    text = run("stats", capture).stdout
    assert "Freed by the garbage collector (found lost while the program ran):\n\t%d.000MiB in %d allocations" % (
        freed["allocations"], freed["allocations"]) in text


def test_sigusr2_collects_at_once(fixtures, tmp_path):
    prog = fixtures.build("gc_leaky.c")
    result, capture = record(tmp_path, prog, "10", "signal", options=("--collect-garbage=1000s",))
    assert result.returncode == 0, result.stderr
    data = stats(capture)
    assert data["collected"]["allocations"] >= 9
    assert data["collected"]["allocations"] + data["leaks"]["by_reachability"]["definitely_lost"]["allocations"] == 10


def test_python_keeps_running_under_a_busy_collector(tmp_path):
    # about a second of building and dropping objects, collected every 100 ms
    code = ("data = {i: [str(i)] * 3 for i in range(50000)}\n"
            "for step in range(12):\n"
            "    data = {k: v + [str(step)] for k, v in data.items() if k % 2 == 0 or len(v) < 5}\n"
            "print(sum(len(v) for v in data.values()), len(data))\n")
    plain = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, check=True)
    result, capture = record(tmp_path, "-c", code, options=("--collect-garbage=100ms",))
    assert result.returncode == 0, result.stderr
    assert result.stdout == plain.stdout
    assert stats(capture)["capture"]["complete"] is True


@pytest.mark.parametrize("value, said", [
    ("5x", "--collect-garbage=5x: not an interval such as 500ms or 2s (at least 10ms)"),
    ("1ms", "--collect-garbage=1ms: not an interval such as 500ms or 2s (at least 10ms)"),
])
def test_a_bad_interval_is_one_line(fixtures, value, said):
    result = run("run", "--collect-garbage=" + value, fixtures.build("gc_leaky.c"))
    assert result.returncode == 2
    assert result.stderr == "memray: error: run: %s\n" % said


def test_no_collector_with_aggregate(fixtures):
    result = run("run", "--aggregate", "--collect-garbage", fixtures.build("gc_leaky.c"))
    assert result.returncode == 2
    assert "no --aggregate" in result.stderr


def test_a_bad_environment_value_is_said_and_the_program_runs(fixtures, tmp_path):
    import os
    result, _ = record(tmp_path, fixtures.build("gc_leaky.c"), "1", env={**os.environ, "MEMRAY_GC": "often"})
    assert result.returncode == 0
    assert "memray: MEMRAY_GC: not an interval such as 500ms or 2s (at least 10ms); no garbage collection" in result.stderr
