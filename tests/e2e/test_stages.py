"""The allocation path without the global lock (tracker/stage.c): records
staged per thread still reach the capture in an order that each address
can trust, and what a thread staged is not lost when it stops allocating."""
import json
import signal

from conftest import entry, location, parse, record, run, stats


def field(line, name):
    """The value of name=... in a `memray parse` line."""
    return line.split(" %s=" % name)[1].split()[0]


def replay_blocks(lines, size):
    """Replays the ALLOC and FREE lines for blocks of `size` bytes in stream
    order; returns (allocations, addresses still live, problems, blocks freed
    by another thread than the one that made them)."""
    live, freed, problems, allocs, moved = {}, set(), [], 0, 0
    for line in lines:
        if not line.startswith(("ALLOC ", "FREE ")):
            continue
        addr = field(line, "address")
        if line.startswith("ALLOC "):
            if " size=%d " % size not in line:
                freed.discard(addr)	# the address now holds a block of another size
                continue
            allocs += 1
            if addr in live:
                problems.append("ALLOC of a live block: " + line)
            live[addr] = field(line, "tid")
            freed.discard(addr)
        elif addr in live:
            moved += live.pop(addr) != field(line, "tid")
            freed.add(addr)
        elif addr in freed:
            problems.append("FREE before the block's ALLOC: " + line)
    return allocs, set(live), problems, moved


def test_blocks_passed_between_threads_keep_their_order(fixtures, tmp_path):
    prog = fixtures.build("handoff.c", "-lpthread")
    result, out = record(tmp_path, prog)
    assert result.returncode == 0, result.stderr
    allocs, live, problems, moved = replay_blocks(parse(out), 48)
    assert problems == []
    assert allocs == 4 * 20000 and live == set()
    assert moved > 1000, moved	# addresses did change threads
    data = stats(out)
    made = location("make_one", "handoff.c", "make_one")
    kept = location("keep_some", "handoff.c", "keep_some")
    assert entry(data["top_allocations_by_count"], made)["count"] == 80000
    assert entry(data["leaks"]["top_by_size"], kept) == {"location": kept, "size": 7 * 777, "count": 7}
    assert made not in [e["location"] for e in data["leaks"]["top_by_size"]]


def test_a_thread_that_stops_allocating_is_not_left_out(fixtures, tmp_path):
    """Its 3 blocks sit in its stage until the writer's tick takes them; a
    SIGKILL 300 ms later finds them in the file."""
    prog = fixtures.build("handoff.c", "-lpthread")
    result, out = record(tmp_path, prog, "idle")
    assert result.returncode == 128 + signal.SIGKILL, result.stderr
    rs = run("stats", "--json", "-n", "0", out)
    assert rs.returncode == 0, rs.stderr
    grab = location("idle_grab", "handoff.c", "idle_grab")
    data = json.loads(rs.stdout)
    assert entry(data["top_allocations_by_size"], grab)["size"] == 3 * 4242
    assert entry(data["top_allocations_by_count"], grab)["count"] == 3


def test_a_program_that_only_allocates_loses_nothing(fixtures, tmp_path):
    """Its ALLOCs read the staging number and none takes one: the drains take
    numbers themselves, so the 50000 records of a full stage still go out."""
    prog = fixtures.build("handoff.c", "-lpthread")
    result, out = record(tmp_path, prog, "hoard")
    assert result.returncode == 0, result.stderr
    rs = run("stats", "--json", "-n", "0", out)
    assert rs.returncode == 0 and "lost" not in rs.stderr, rs.stderr
    data = json.loads(rs.stdout)
    hoard = location("hoard", "handoff.c", "hoard")
    assert entry(data["top_allocations_by_count"], hoard)["count"] == 50000
    assert entry(data["leaks"]["top_by_size"], hoard)["size"] == 50000 * 24


def test_stacks_found_while_the_trie_grows_under_other_threads(fixtures, tmp_path):
    """Two threads make 2 x 32768 distinct stacks at once: the trie grows three
    times while lookups run without the lock. Every block's stack must be the
    path its size encodes (go_left/go_right at each level, outermost first)."""
    import subprocess
    prog = fixtures.build("trie_grow.c")
    result, out = record(tmp_path, prog)
    assert result.returncode == 0, result.stderr
    syms = {}
    for line in subprocess.run(["nm", "-S", str(prog)], capture_output=True, text=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3] in ("go_left", "go_right", "leaf"):
            syms[parts[3]] = (int(parts[0], 16), int(parts[1], 16))
    assert set(syms) == {"go_left", "go_right", "leaf"}
    bias, frames, paths = None, {0: None}, []
    for line in parse(out):
        if line.startswith("MODULE ") and 'path="%s"' % prog in line:
            bias = int(field(line, "bias"), 16)
        elif line.startswith("FRAME "):
            frames[int(field(line, "id"))] = (int(field(line, "parent")), int(field(line, "ip"), 16))
        elif line.startswith("ALLOC ") and " size=" in line:
            paths.append((int(field(line, "size")) - 16, int(field(line, "stack"))))
    assert bias is not None and len(frames) > 3 * 32768

    def turns(stack):
        out = []
        while stack:
            parent, ip = frames[stack]
            out += [name for name, (start, length) in syms.items() if start < ip - bias <= start + length]
            stack = parent
        return out[::-1]	# outermost first

    paths = [(path, turns(stack)) for path, stack in paths]
    paths = [(path, seen[:-1]) for path, seen in paths if seen[-1:] == ["leaf"]]
    assert len(paths) == 2 * 32768
    wrong = [(path, seen) for path, seen in paths
             if seen != ["go_right" if path >> d & 1 else "go_left" for d in range(15)]]
    assert wrong == [], wrong[:5]
    assert sorted(p for p, _ in paths) == sorted(list(range(32768)) * 2)
