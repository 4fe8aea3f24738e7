"""Inlined code keeps its whole call chain at -O1/-O2/-O3, as heaptrack and
eu-addr2line -i show it on the same binary: an inlined constructor inside
an inlined helper used to lose the helper and charge the outer function
with the constructor's call site."""
import csv

import pytest

from conftest import FIXTURES, by_location, location, record, run, stats


def frames(capture, tmp_path):
    """The peak's stacks from `memray transform csv`: [(function, file:line)]."""
    out = tmp_path / "stacks.csv"
    result = run("transform", "-f", "-o", str(out), "csv", str(capture))
    assert result.returncode == 0, result.stderr
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    stacks = []
    for row in rows:
        stack = []
        for frame in row["stack_trace"].split("|"):
            function, file, line = frame.rsplit(";", 2)
            stack.append((function, "%s:%s" % (file, line)))
        stacks.append((int(row["size"]), stack))
    return stacks


def at(source, marker):
    return location("", source, marker)[1:]


def chain_of(stacks, size):
    """The stack of the allocation(s) of `size` bytes, from the first frame in the fixture."""
    for total, stack in stacks:
        if total == size:
            own = [i for i, (_, where) in enumerate(stack) if where.startswith(str(FIXTURES))]
            return stack[own[0]:own[-1] + 1]
    raise AssertionError("no stack of %d bytes in %r" % (size, stacks))


def recorded(fixtures, tmp_path, source, level):
    """The fixture built at `level`, run under memray: (program, capture)."""
    prog = fixtures.build(source, level, name="%s%s" % (source.replace(".", "-"), level))
    result, out = record(tmp_path, prog)
    assert result.returncode == 0, result.stderr
    return prog, out


@pytest.mark.parametrize("level", ["-O1", "-O2", "-O3"])
def test_cxx_inline_chains(fixtures, tmp_path, level):
    src = "inlined.cpp"
    prog, out = recorded(fixtures, tmp_path, src, level)
    stacks = frames(out, tmp_path)

    assert chain_of(stacks, 3 * 4000) == [("Widget::Widget()", at(src, "ctor")), ("build", at(src, "build")),
                                          ("main", at(src, "call_build"))]
    assert chain_of(stacks, 700 * 8) == [("make_many<long int>", at(src, "template")),
                                         ("main", at(src, "call_template"))]
    assert chain_of(stacks, 5000) == [("operator()", at(src, "lambda")), ("main", at(src, "call_lambda"))]
    # std::vector's growth: libstdc++'s frames, then the push_back line
    vector = chain_of(stacks, 4096 + 2048)
    assert vector[-1] == ("main", at(src, "push")), vector
    sizes = by_location(stats(out)["top_allocations_by_size"])
    assert sizes[location("Widget::Widget()", src, "ctor")] == 12000
    assert sizes[location("make_many<long int>", src, "template")] == 5600
    assert sizes[location("operator()", src, "lambda")] == 5000
    assert sizes[location("main", src, "push")] == 4 * (1 + 2 + 4 + 8 + 16 + 32 + 64 + 128 + 256 + 512 + 1024)
    # an address outside every compile unit (crt1's _start) has no source line
    starts = [where for _, stack in stacks for function, where in stack if function == "_start"]
    assert starts and all(where == "%s:0" % prog for where in starts), starts


@pytest.mark.parametrize("level", ["-O1", "-O2", "-O3"])
def test_c_inline_chains(fixtures, tmp_path, level):
    src = "inlined.c"
    _, out = recorded(fixtures, tmp_path, src, level)

    assert chain_of(frames(out, tmp_path), 6000) == [("leaf", at(src, "leaf")), ("middle", at(src, "middle")),
                                                     ("main", at(src, "call_middle"))]
    assert by_location(stats(out)["top_allocations_by_size"])[location("leaf", src, "leaf")] == 6000
