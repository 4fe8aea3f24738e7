"""Stacks are right: every fixture that is hard to unwind runs with
MEMRAY_VERIFY_UNWIND=1, under which the tracker unwinds each allocation a
second time the slow, uncached way and counts the stacks that differ
(tracker/unwind.c). Each test asserts that it compared stacks, that none
differed, and the exact functions of the recorded stacks."""
import csv
import re

import pytest

from conftest import record, run

VERIFY = {"MEMRAY_VERIFY_UNWIND": "1"}
BUILDS = {"O0-fp": ("-O0", "-fno-omit-frame-pointer"), "O2-nofp": ("-O2", "-fomit-frame-pointer")}


def verified(result, at_least=1, processes=1):
    """The verification lines of a run: each compared stacks, none differed.
    Returns {"compared", "walked", "joined", "libunwind"}: how many stacks,
    and how the fast unwind found them (tracker/walk.c, or libunwind)."""
    lines = re.findall(r"^memray: unwind verification: (\d+) stacks compared, (\d+) mismatches; "
                       r"(\d+) walked, (\d+) joined, (\d+) by libunwind(.*)$", result.stderr, re.M)
    assert len(lines) == processes, result.stderr
    for compared, mismatches, *_, first in lines:
        assert int(mismatches) == 0, "stacks differ%s" % first
        assert int(compared) >= at_least, result.stderr
    counts = [sum(int(line[i]) for line in lines) for i in (0, 2, 3, 4)]
    assert counts[0] == sum(counts[1:]), lines
    return dict(zip(("compared", "walked", "joined", "libunwind"), counts))


def leak_stacks(tmp_path, capture):
    """{block size: [function names, innermost first]} of the blocks leaked, one
    stack per size (asserted), from `transform csv --leaks`."""
    out = tmp_path / (capture.stem + ".csv")
    result = run("transform", "csv", "--leaks", "-f", "-o", out, capture)
    assert result.returncode == 0, result.stderr
    stacks = {}
    with open(out, newline="") as f:
        for row in csv.DictReader(f):
            size = int(row["size"]) // int(row["num_allocations"])
            names = [re.sub(r" \[clone [^]]*\]$", "", frame.split(";")[0])
                     for frame in row["stack_trace"].split("|")]
            assert stacks.get(size, names) == names, "two stacks leak %d B: %s, %s" % (size, stacks[size], names)
            stacks[size] = names
    return stacks


def verified_stacks(tmp_path, prog, *args, at_least=1, walked=0):
    """Run prog with verification, then without: zero mismatches, and the same
    leak stacks both ways (the verification must not change what it checks).
    At least `walked` stacks must come from the tracker's own walk. It walks
    what the writer thread learned on its 10 ms tick, during the fixture's
    pause; a machine that kept the writer from running through the whole
    pause gets one more run (seen once in a CI run: 0 of 47)."""
    for attempt in (1, 2):
        result, out = record(tmp_path, prog, *args, env=VERIFY, name="verified.bin")
        assert result.returncode == 0, result.stderr
        counts = verified(result, at_least=at_least)
        if counts["walked"] + counts["joined"] >= walked:
            break
    assert counts["walked"] + counts["joined"] >= walked, counts
    plain, plain_out = record(tmp_path, prog, *args, name="plain.bin")
    assert plain.returncode == 0 and "unwind verification" not in plain.stderr, plain.stderr
    stacks = leak_stacks(tmp_path, out)
    assert leak_stacks(tmp_path, plain_out) == stacks
    return result, counts, stacks


def starts_with(stacks, size, expected):
    assert size in stacks, "no leak of %d B in %s" % (size, sorted(stacks))
    assert stacks[size][:len(expected)] == expected, stacks[size]


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_longjmp_signal_alloca_vla_coroutine_threads(fixtures, tmp_path, build):
    prog = fixtures.build("unwind_cases.c", *BUILDS[build], name="unwind_cases-" + build)
    # the third round, once the writer learned the rules of the frames the first two met, is
    # the tracker's own walk's, but for the two stacks through the signal frame
    stacks = verified_stacks(tmp_path, prog, "all", "pause", "all", "pause", "all", at_least=57, walked=12)[2]
    main = ["main", "__libc_start_call_main"]
    starts_with(stacks, 1001, ["leak", "lj_after", "lj_outer"] + main)
    starts_with(stacks, 1002, ["leak", "lj_deeper", "lj_deep", "lj_outer"] + main)
    # the handler, the kernel's signal frame (libc's restorer, no symbol), then
    # the interrupted function itself, on the other side of the alternate stack
    assert stacks[1003][:2] == ["leak", "on_alarm"], stacks[1003]
    assert stacks[1003][3:6] == ["sig_spin", "case_signal", "main"], stacks[1003]
    starts_with(stacks, 1004, ["leak", "va_leaf", "va_frame"] + main)
    starts_with(stacks, 1005, ["leak", "va_leaf2", "vla_frame"] + main)
    for size in (1006, 1007):	# the coroutine's stack ends in makecontext's trampoline
        assert stacks[size][:3] == ["leak", "co_leaf", "co_body"] and len(stacks[size]) == 4, stacks[size]
    assert stacks[1008] == ["leak", "th_leaf", "th_main", "start_thread", "__clone3"]


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_cxx_exceptions(fixtures, tmp_path, build):
    prog = fixtures.build("unwind_cxx.cpp", *BUILDS[build], name="unwind_cxx-" + build)
    stacks = verified_stacks(tmp_path, prog, "pause", at_least=24, walked=5)[2]
    leak, main = ["ex_leak(unsigned long)"], ["main", "__libc_start_call_main"]
    starts_with(stacks, 2001, leak + ["ex_thrower(int)", "ex_middle(int)", "ex_catcher(int)"] + main)
    # the destructor runs in ex_middle's landing pad, where the unwinder resumed it
    starts_with(stacks, 2002, leak + ["Guard::~Guard()", "ex_middle(int)", "ex_catcher(int)"] + main)
    starts_with(stacks, 2003, leak + ["ex_catcher(int)"] + main)
    starts_with(stacks, 2004, leak + ["ex_after()"] + main)


def test_dlclose_then_another_module_at_the_same_address(fixtures, tmp_path):
    """libunwind's fast walk keeps a frame rule per address for good: module
    B, mapped where A was, has a different rule at the same return address.
    Without the tracker's taint the walk read B's caller from A's slot."""
    mod_a = fixtures.build("unwind_mod.S", "-shared", "-fPIC", "-DFRAME=0x108", name="unwind_mod_a.so")
    mod_b = fixtures.build("unwind_mod.S", "-shared", "-fPIC", "-DFRAME=0x208", name="unwind_mod_b.so")
    prog = fixtures.build("unwind_cases.c", *BUILDS["O0-fp"], name="unwind_cases-O0-fp")
    result, _, stacks = verified_stacks(tmp_path, prog, "dlclose", mod_a, mod_b, at_least=200, walked=60)
    if " same" not in result.stdout:
        pytest.skip("module B was not mapped where A was: %s" % result.stdout.strip())
    for size in (1009, 1010):
        starts_with(stacks, size, ["leak", "mod_callback", "mod_entry", "call_module", "main"])
    # walked=60 above: the last 50 calls into each module are walked by the tracker once it
    # learned their rules (into B with B's, learned anew after A's dlclose); over 60 means B's were


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_the_walk_joins_the_last_stack_only_where_it_is_the_same(fixtures, tmp_path, build):
    """tracker/walk.c stops where the stack joins the one it walked last, if
    every word that walk read from there on is unchanged. walk_joins runs
    leaf() at the same RSP under two callers (a join that compared less
    took via_a's stack for via_b's), at six depths, and under alloca."""
    prog = fixtures.build("walk_joins.c", *BUILDS[build], name="walk_joins-" + build)
    counts, stacks = verified_stacks(tmp_path, prog, "200", at_least=2400, walked=2000)[1:]
    assert counts["joined"] >= 2000, counts
    tail = ["join_round", "main", "__libc_start_call_main"]
    starts_with(stacks, 3001, ["leaf", "via_a"] + tail)
    starts_with(stacks, 3002, ["leaf", "via_b"] + tail)
    for d in range(6):
        starts_with(stacks, 3003 + d, ["leaf"] + ["down"] * (d + 1) + tail)
    starts_with(stacks, 3010, ["leaf", "sized"] + tail)


def test_memray_unwind_libunwind_leaves_every_stack_to_libunwind(fixtures, tmp_path):
    prog = fixtures.build("walk_joins.c", *BUILDS["O2-nofp"], name="walk_joins-O2-nofp")
    result, out = record(tmp_path, prog, "20", env=dict(VERIFY, MEMRAY_UNWIND="libunwind"), name="lib.bin")
    assert result.returncode == 0, result.stderr
    counts = verified(result, at_least=250)
    assert counts["libunwind"] == counts["compared"], counts
    own, own_out = record(tmp_path, prog, "20", name="own.bin")
    assert own.returncode == 0, own.stderr
    assert leak_stacks(tmp_path, out) == leak_stacks(tmp_path, own_out)


@pytest.mark.parametrize("source,args,options,processes", [
    ("deep.c", ("300",), (), 1),
    ("threads.c", (), (), 1),
    ("sig_alloc.c", ("200",), (), 1),	# handlers that land inside the tracker
    ("cxx.cpp", (), (), 1),
    ("cxx_objects.cpp", (), (), 1),
    ("forker.c", (), ("--follow-fork",), 2),
    ("inlined.c", (), (), 1),
    ("realloc_fail.c", (), (), 1),
])
def test_fixtures_unwind_the_same_both_ways(fixtures, tmp_path, source, args, options, processes):
    prog = fixtures.build(source)
    result = run("run", "-q", "-f", "-o", tmp_path / "out.bin", *options, prog, *args, env=VERIFY)
    assert result.returncode == 0, result.stderr
    verified(result, processes=processes)


def test_forked_children_walk_what_an_earlier_child_lacked(fixtures, tmp_path):
    """A Check suite in fork mode runs each test's code in a child only: its rules were learned by the child's
    writer and died with it, so every child unwound its test's stacks with libunwind. Children now hand the
    addresses they lacked up to their parent, whose writer learns them. Of five children (fork_learn.c), the
    first two run one function and the other three another: the first child of each needs libunwind, the
    ones after it none (the third child hands up its new code although its parent had forked before), and
    every stack is the slow walk's."""
    prog = fixtures.build("fork_learn.c", "-O2")
    for attempt in (1, 2):	# the parent's writer learns on its 10 ms tick, in the 100 ms after each child
        result = run("run", "-q", "-f", "--follow-fork", "-o", tmp_path / "out.bin", prog, "5", env=VERIFY)
        assert result.returncode == 0, result.stderr
        verified(result, at_least=1, processes=6)
        # children exit one after another, each printing its line; the parent's comes last
        lines = re.findall(r"^memray: unwind verification: (\d+) stacks compared, 0 mismatches; "
                           r"(\d+) walked, (\d+) joined, (\d+) by libunwind", result.stderr, re.M)
        first, second, third, fourth, fifth = (int(line[3]) for line in lines[:5])
        if first > 0 and third > 0 and second == fourth == fifth == 0:
            break
    assert first > 0 and third > 0 and second == fourth == fifth == 0, result.stderr
    assert all(int(line[0]) >= 100 for line in lines[:5]), lines	# each child's 100 blocks were compared
