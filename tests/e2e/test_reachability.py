"""The reachability scan at exit (`memray run --reachability`): exact
verdicts on known pointer graphs (tests/fixtures/reach.c), the root that
holds each reachable block, and memcheck's figures on the same binary."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import parse, record, stats

NODE, RING = 48, 80


def verdicts(capture):
    """{category: (allocations, bytes)} from stats --json."""
    data = stats(capture)
    by = data["leaks"]["by_reachability"]
    return {k: (v["allocations"], v["bytes"]) for k, v in by.items()}


def blocks(capture):
    """address -> (category, root kind, root value) from the REACH_BLOCK records,
    and address -> (size, allocator) from the ALLOC records."""
    reach, alloc = {}, {}
    for line in parse(capture):
        m = re.search(r'^REACH_BLOCK .*address=(0x[0-9a-f]+) category="([a-z ]+)" root=(\d+) '
                      r'root_value=(0x[0-9a-f]+)', line)
        if m:
            reach[int(m.group(1), 16)] = (m.group(2), int(m.group(3)), int(m.group(4), 16))
        m = re.search(r"^ALLOC .*tid=(\d+) allocator=(\w+) address=(0x[0-9a-f]+) size=(\d+)", line)
        if m:
            alloc[int(m.group(3), 16)] = (int(m.group(4)), m.group(2), int(m.group(1)))
    return reach, alloc


def scan(fixtures, tmp_path, *args):
    prog = fixtures.build("reach.c")
    result, out = record(tmp_path, prog, *args, options=("--reachability",))
    assert result.returncode == 7, result.stderr
    assert "scan skipped" not in result.stderr
    return out


# 3000: more blocks than tracker/reachtab.c sorts in place (FEW_BLOCKS), so its radix sort runs
@pytest.mark.parametrize("n", [1, 2, 7, 3000])
def test_a_lost_chain_is_one_definite_and_the_rest_indirect(fixtures, tmp_path, n):
    v = verdicts(scan(fixtures, tmp_path, "chain", n))
    assert v["definitely_lost"] == (1, NODE)
    assert v["indirectly_lost"] == (n - 1, (n - 1) * NODE)
    assert v["possibly_lost"] == (0, 0)
    assert v["still_reachable"] == (0, 0)
    assert v["not_scanned"] == (0, 0)


@pytest.mark.parametrize("n", [1, 3, 6])
def test_a_lost_cycle_is_one_definite_and_the_rest_indirect(fixtures, tmp_path, n):
    v = verdicts(scan(fixtures, tmp_path, "cycle", n))
    assert v["definitely_lost"] == (1, RING)
    assert v["indirectly_lost"] == (n - 1, (n - 1) * RING)


def test_an_interior_pointer_is_possibly_lost(fixtures, tmp_path):
    out = scan(fixtures, tmp_path, "interior")
    v = verdicts(out)
    assert v["possibly_lost"] == (1, 200)
    assert v["definitely_lost"] == (0, 0)
    reach, alloc = blocks(out)
    [addr] = [a for a, (size, _, _) in alloc.items() if size == 200]
    assert reach[addr][:2] == ("possibly lost", 1)  # held by a global


# a lost chain of 2000 more: over FEW_BLOCKS (tracker/reachtab.c), so the scan builds its directory
@pytest.mark.parametrize("chain", [0, 2000])
def test_blocks_over_many_chunks_and_pointers_deep_inside_them(fixtures, tmp_path, chain):
    """The scan's directory has room for fewer 4 MiB chunks than these blocks
    start in, and the deep pointers fall in chunks where no block starts:
    the lookups that miss the directory must find the same blocks."""
    big, spread = (4 << 20) + 8192, 24
    v = verdicts(scan(fixtures, tmp_path, "spread", *(("chain", str(chain)) if chain else ())))
    assert v["still_reachable"] == (2 * spread, spread * (big + 800))
    assert v["possibly_lost"] == (1, big)
    assert v["definitely_lost"] == (1 + bool(chain), big + bool(chain) * NODE)
    assert v["indirectly_lost"] == (1 + max(chain - 1, 0), 900 + max(chain - 1, 0) * NODE)


def test_a_global_holds_its_block(fixtures, tmp_path):
    out = scan(fixtures, tmp_path, "global")
    assert verdicts(out)["still_reachable"] == (1, 300)
    reach, alloc = blocks(out)
    [addr] = [a for a, (size, _, _) in alloc.items() if size == 300]
    category, kind, word = reach[addr]
    assert (category, kind) == ("still reachable", 1)
    # the root is the word of `cache` itself: its symbol's address in the binary
    prog = fixtures.build("reach.c")
    nm = subprocess.run(["nm", str(prog)], capture_output=True, text=True, check=True).stdout
    cache = int(re.search(r"^([0-9a-f]+) B cache$", nm, re.M).group(1), 16)
    assert word % 4096 == cache % 4096


def test_another_threads_stack_holds_its_block(fixtures, tmp_path):
    out = scan(fixtures, tmp_path, "thread")
    reach, alloc = blocks(out)
    [addr] = [a for a, (size, _, _) in alloc.items() if size == 400]
    tid = alloc[addr][2]
    main_tid = min(t for _, _, t in alloc.values())
    assert tid != main_tid
    assert reach[addr] == ("still reachable", 2, tid)  # that thread's stack


def test_tls_holds_its_block(fixtures, tmp_path):
    out = scan(fixtures, tmp_path, "tls")
    reach, alloc = blocks(out)
    [addr] = [a for a, (size, _, _) in alloc.items() if size == 500]
    assert reach[addr] == ("still reachable", 4, alloc[addr][2])  # the main thread's TLS


def test_a_mapping_of_the_program_holds_its_block(fixtures, tmp_path):
    out = scan(fixtures, tmp_path, "mapped")
    reach, alloc = blocks(out)
    [addr] = [a for a, (size, kind, _) in alloc.items() if size == 600]
    [region] = [a for a, (size, kind, _) in alloc.items() if kind == "MMAP"]
    assert reach[addr] == ("still reachable", 5, region + 7 * 8)  # word 7 of the mapping
    assert reach[region] == ("still reachable", 6, 0)  # the mapping is a root, never a leak


def test_a_page_the_program_made_unreadable_is_not_read(fixtures, tmp_path):
    """The program's own memory is read in place where a readable mapping
    holds it; a page of its .bss it made PROT_NONE is not: the program
    exits as it would (scan() asserts it), and the block only that page
    holds is lost."""
    out = scan(fixtures, tmp_path, "sealed")
    assert verdicts(out)["definitely_lost"] == (1, 1000)


@pytest.mark.parametrize("how, why", [
    (["deaf"], r"memray: reachability scan skipped: thread \d+ did not stop within a second"),
    (["thread", "signal"], r"memray: reachability scan skipped: the program uses the signal it needs \(SIGRTMAX-4\)"),
])
def test_a_scan_that_cannot_stop_the_world_gives_up_in_one_line(fixtures, tmp_path, how, why):
    prog = fixtures.build("reach.c")
    result, out = record(tmp_path, prog, "chain", 3, *how, options=("--reachability",))
    assert result.returncode == 7  # the program's own status
    lines = [line for line in result.stderr.splitlines() if line.startswith("memray: reach")]
    assert len(lines) == 1 and re.fullmatch(why, lines[0]), result.stderr
    data = stats(out)
    assert "by_reachability" not in data["leaks"] and data["capture"]["complete"]
    assert data["leaks"]["allocations"] >= 3  # every live block still counts as leaked


def test_without_the_flag_there_is_no_verdict(fixtures, tmp_path):
    prog = fixtures.build("reach.c")
    _, out = record(tmp_path, prog, "all")
    assert "by_reachability" not in stats(out)["leaks"]
    assert not [line for line in parse(out) if line.startswith("REACH")]


def test_text_stats_list_lost_first(fixtures, tmp_path):
    out = scan(fixtures, tmp_path, "chain", 3, "global")
    from conftest import run
    text = run("stats", out).stdout
    part = text[text.index("Leaked memory by reachability"):]
    assert part.splitlines()[1:5] == [
        "\tdefinitely lost: 48B in 1 allocations",
        "\tindirectly lost: 96B in 2 allocations",
        "\tpossibly lost: 0B in 0 allocations",
        "\tstill reachable: 300B in 1 allocations",
    ]


def test_stats_say_what_holds_each_still_reachable_block(fixtures, tmp_path):
    from conftest import FIXTURES, location
    out = scan(fixtures, tmp_path, "global", "tls", "thread", "chain", 2)
    reach, alloc = blocks(out)
    tid = {size: t for _, (size, _, t) in alloc.items()}
    held = {e["location"]: (e["size"], e["held_by"], e["chain"]) for e in stats(out)["leaks"]["still_reachable_by_size"]}
    assert held[location("hold_global", "reach.c", "cached")] == (300, "global cache in reach", 1)
    assert held[location("hold_in_tls", "reach.c", "tls")] == (500, "thread %d TLS" % tid[500], 1)
    assert held[location("holder", "reach.c", "thread")] == (400, "thread %d stack" % tid[400], 1)
    lost = stats(out)["leaks"]["lost_by_size"]
    assert lost == [{"location": location("lose_chain", "reach.c", "chain"), "size": 2 * NODE, "count": 2}]
    from conftest import run
    text = run("stats", out).stdout
    assert "\t- %s -> 300B (1 allocations), held by global cache in reach (chain 1)\n" % \
        location("hold_global", "reach.c", "cached") in text


@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind is not installed")
def test_figures_equal_memchecks(fixtures, tmp_path):
    """The same binary under memcheck: the same blocks and bytes in every
    category. memcheck does not count mappings as blocks; ours is in still
    reachable (a root), so its 4096 bytes are taken out. No thread: the
    thread's DTV differs in size between the two (each preloads its own
    libraries)."""
    args = ["chain", "5", "cycle", "4", "interior", "global", "tls", "mapped"]
    prog = fixtures.build("reach.c")
    v = verdicts(scan(fixtures, tmp_path, *args))
    vg = subprocess.run(["valgrind", "--leak-check=full", "--show-leak-kinds=all", str(prog)] + args,
                        capture_output=True, text=True, timeout=300)
    summary = {}
    for kind in ("definitely lost", "indirectly lost", "possibly lost", "still reachable"):
        m = re.search(r"%s: ([\d,]+) bytes in ([\d,]+) blocks" % kind, vg.stderr)
        assert m, vg.stderr
        summary[kind.replace(" ", "_")] = (int(m.group(2).replace(",", "")), int(m.group(1).replace(",", "")))
    assert summary["definitely_lost"] == v["definitely_lost"] == (2, NODE + RING)
    assert summary["indirectly_lost"] == v["indirectly_lost"] == (7, 4 * NODE + 3 * RING)
    assert summary["possibly_lost"] == v["possibly_lost"] == (1, 200)
    count, size = v["still_reachable"]
    assert summary["still_reachable"] == (count - 1, size - 4096) == (3, 300 + 500 + 600)


# --- the gate: only lost blocks leak ------------------------------------------------------

def gate(*command, cwd=None):
    from conftest import run
    return run("check", "--leak-budget", "0", "--", *command, cwd=cwd)


@pytest.mark.parametrize("command", [["sh", "-c", "ls"], ["/usr/bin/python3", "-c", "pass"]])
def test_programs_that_keep_memory_in_globals_pass(command, tmp_path):
    result = gate(*command, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "pass leaked memory: leaked 0B within budget 0B" in result.stderr


def test_make_on_a_trivial_makefile_passes(tmp_path):
    (tmp_path / "Makefile").write_text("all:\n\t@echo built\n")
    result = gate("make", "-s", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "pass leaked memory: leaked 0B" in result.stderr


def test_a_leak_free_check_suite_passes(fixtures):
    suite = fixtures.build("check_suite.c", "-DLEAK_FREE", "-lcheck", "-lsubunit", "-lm", "-lrt", name="tidy")
    result = gate(suite)
    assert result.returncode == 0, result.stderr
    assert "100%: Checks: 2, Failures: 0, Errors: 0" in result.stdout
    assert "0 failed, 0 errors" in result.stderr


def test_a_cache_in_a_global_passes_and_a_dropped_list_fails(fixtures):
    from conftest import FIXTURES, line_of
    prog = fixtures.build("lostlist.c")
    cached = gate(prog, "cache")
    assert cached.returncode == 0, cached.stderr
    dropped = gate(prog, "drop")
    assert dropped.returncode == 1, dropped.stderr
    assert "leaked 1.000MiB exceeds budget 0B (1048576 bytes, limit 0)" in dropped.stderr
    where = "make_list:%s:%d" % (FIXTURES / "lostlist.c", line_of("lostlist.c", "node"))
    assert "1.000MiB (1048576 bytes) in 1024 allocations at %s" % where in dropped.stderr
    # every block live at exit, as before the scan: the cache counts too
    every = run_every(prog, "cache")
    assert every.returncode == 1 and "(1048576 bytes, limit 0)" in every.stderr


def run_every(*command):
    from conftest import run
    return run("check", "--reachable-leaks", "--leak-budget", "0", "--", *command)


def test_a_manifest_selects_reachable_leaks(fixtures, tmp_path):
    from conftest import run
    prog = fixtures.build("lostlist.c")
    (tmp_path / "memray.yml").write_text("version: 1\nleak-budget: 0\nreachable-leaks: true\n")
    result = run("check", "--manifest", tmp_path / "memray.yml", "--", prog, "cache")
    assert result.returncode == 1 and "(1048576 bytes, limit 0)" in result.stderr
    (tmp_path / "bad.yml").write_text("version: 1\nreachable-leaks: maybe\n")
    bad = run("check", "--manifest", tmp_path / "bad.yml", "--", prog, "cache")
    assert bad.returncode == 2
    assert bad.stderr.strip().endswith("bad.yml:2:18: 'reachable-leaks' must be true or false")


def test_python_objects_are_reachable_and_its_arenas_are_no_leak(tmp_path):
    _, out = record(tmp_path, "/usr/bin/python3", "-c", "x = [dict(a=i) for i in range(1000)]",
                    options=("--reachability",))
    v = verdicts(out)
    assert v["definitely_lost"] == (0, 0) and v["indirectly_lost"] == (0, 0)
    reach, alloc = blocks(out)
    arenas = [a for a, (size, kind, _) in alloc.items() if kind == "MMAP" and a in reach]
    assert arenas and all(reach[a] == ("still reachable", 6, 0) for a in arenas)


# --- the tracker never runs the program's own environment functions -----------------------

def test_a_shell_under_the_gate_leaks_nothing(tmp_path):
    # bash has its own setenv: the tracker's call to it ran bash's code before its main and
    # made 30 KiB of its variables look lost (valgrind: none lost)
    result = gate("bash", "-c", "x=$(echo hi); echo $x", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi\n"
    assert "pass leaked memory: leaked 0B within budget 0B" in result.stderr


def test_the_programs_own_getenv_and_setenv_are_never_called(fixtures, tmp_path):
    prog = fixtures.build("own_env.c", name="own_env")
    result = gate(prog, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # the tracker put Check's log variable in environ itself, for the program to see
    assert result.stdout == "calls before main: 0\nlog: set\n"
    plain = subprocess.run([prog], capture_output=True, text=True, cwd=tmp_path)
    assert plain.stdout == "calls before main: 0\nlog: unset\n"


def test_a_string_only_the_trackers_environment_array_holds_is_reachable(fixtures, tmp_path):
    prog = fixtures.build("own_env.c", name="own_env")
    # under the gate's variable the array is the tracker's (mapped): a root of its own
    _, capture = record(tmp_path, prog, "keep", options=("--reachability",),
                     env={**os.environ, "MEMRAY_CHECK_LOGS": str(tmp_path)})
    leaks = stats(capture)["leaks"]
    assert leaks["by_reachability"]["definitely_lost"]["bytes"] == 0
    held = [e for e in leaks["still_reachable_by_size"] if e["size"] == 64]
    assert held and held[0]["held_by"].startswith("a global at 0x"), leaks["still_reachable_by_size"]


# --- a native test's leak is what it lost: a scan at each window's end ---------------------

def test_a_marked_test_leaks_only_what_it_lost(fixtures, tmp_path):
    from conftest import FIXTURES, ROOT, line_of, run
    prog = fixtures.build("marked_reach.c", "-I%s" % ROOT, name="marked_reach")
    manifest = tmp_path / "memray.yml"
    manifest.write_text("version: 1\ndefaults:\n  leak-budget: 0\n")
    result = run("check", "--manifest", manifest, "--", prog)
    assert result.returncode == 1, result.stderr
    said = [line for line in result.stderr.splitlines() if line.startswith("memray check: ")]
    assert said == [
        "memray check: FAIL suite.loses (leaks): leaked 1.000KiB exceeds budget 0B (1024 bytes, limit 0)",
        "memray check: 3 verdicts on the whole run and 3 tests: 1 failed, 0 errors; 2 passed, not listed "
        "(-v lists them)"], result.stderr
    where = "loses:%s:%d" % (FIXTURES / "marked_reach.c", line_of("marked_reach.c", "lost"))
    assert "1.000KiB (1024 bytes) in 8 allocations at %s" % where in result.stderr
    # counting every block held at the test's end, as before the scan: all three leak
    every = run("check", "--manifest", manifest, "--reachable-leaks", "--", prog)
    assert "(3000 bytes, limit 0)" in every.stderr and "(512 bytes, limit 0)" in every.stderr
    assert "3 failed" in every.stderr
