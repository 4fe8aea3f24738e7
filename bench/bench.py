#!/usr/bin/env python3
"""make bench: memray's overhead, side by side with the plain program and
Debian's heaptrack, measured in one run on this machine.

For each workload it prints: the plain time, the slowdown under memray and
under heaptrack, memray's overhead divided by heaptrack's (overhead =
slowdown - 1; the target is at most 0.5), capture bytes per recorded
allocation for both, and the extra peak resident memory of the tracked
program. Then start-up cost and `memray stats` throughput, and the whole
cost of the CI gate: `memray check` (tracking, analysis of every capture
and test window, JUnit and Markdown) against the same command plain, on a
pytest suite and on an allocation-heavy Check suite in fork mode. Then
every report's time and peak RSS on a capture with millions of blocks live
at once (bench/jqlike.c) against heaptrack_print on heaptrack's capture of
the same run, and `stats` from 1M to 50M records. Live mode (`run
--live-remote` streaming to a `memray live -o` reader in tmux) is timed
beside file mode. Times are the best of a few runs; nothing here is a
pass/fail test.
"""
import argparse
import collections
import json
import math
import os
import re
import resource
import shutil
import statistics
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

WORKLOADS = [
    # name, argv after the binary, which binary, description
    ("churn", ["churn", "5000000"], "workloads", "5M malloc(32)/free, 3 call levels"),
    ("thread1", ["threads", "4000000", "1"], "workloads", "1 thread, 4M pairs"),
    ("thread2", ["threads", "4000000", "2"], "workloads", "2 threads, 2M pairs each"),
    ("thread4", ["threads", "4000000", "4"], "workloads", "4 threads, 1M pairs each"),
    ("thread8", ["threads", "4000000", "8"], "workloads", "8 threads, 500k pairs each"),
    ("deep", ["deep", "200000"], "workloads", "200k pairs 200 frames deep"),
    ("cxx", ["2000000"], "workloads_cxx", "2M x (new Node + new string)"),
    ("mmap", ["mmap", "2000"], "workloads", "2000 mmap/munmap of 1-64 MiB"),
]


def timed(cmd, env=None, cwd=None, with_cpu=False):
    """Wall time and peak RSS (KiB) of cmd, and its stderr; with_cpu, also
    its CPU seconds (user + system), which a busy machine disturbs less
    than wall time. The RSS comes from GNU time, whose small process is
    what cmd replaces at exec: a child forked from this Python would carry
    Python's own peak into its figure."""
    rss_file = tempfile.NamedTemporaryFile(prefix="memray-bench-rss-", delete=False)
    rss_file.close()
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-q", "-f", "%U %S %M", "-o", rss_file.name] + [str(c) for c in cmd],
                          env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    err = proc.stderr.decode(errors="replace")
    lines = Path(rss_file.name).read_text().strip().splitlines()
    os.unlink(rss_file.name)
    if proc.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(map(str, cmd)), err[-500:]))
    user, system, rss = lines[-1].split() if lines else ("0", "0", "0")
    if with_cpu:
        return elapsed, int(rss), err, float(user) + float(system)
    return elapsed, int(rss), err


def tracked_rss(build, prog, tmp):
    """Peak RSS (KiB) of the program itself with the tracker loaded, started
    without the `memray run` parent (whose own size would hide it): the
    tracker, as for a followed fork, writes OUTPUT.<pid> by itself."""
    env = dict(os.environ, LD_PRELOAD=str(build / "libmemray_tracker.so"),
               MEMRAY_OUTPUT=str(tmp / "rss.bin"), MEMRAY_PID="1",
               MEMRAY_TRACKER=str(build / "libmemray_tracker.so"),
               MEMRAY_OPTIONS=str(1 | 4 | 8))  # lz4, native, follow-fork
    _, rss, _ = timed(prog, env=env)
    for f in tmp.glob("rss.bin*"):
        f.unlink()
    return rss


# a pytest suite of ordinary tests: containers, strings, a little JSON
PYTEST_SUITE = '''
import json
import pytest

@pytest.mark.parametrize("n", range(600))
def test_work(n):
    rows = [{"id": i, "name": "row-%d" % i, "tags": ["a", "b", str(n)]} for i in range(300)]
    text = json.dumps(rows)
    assert json.loads(text)[n % 300]["id"] == n % 300
    words = " ".join(r["name"] for r in rows).split()
    assert len(set(words)) == 300
    blob = bytearray(64 * 1024)
    assert len(blob) == 65536
'''


def gate_cost(memray, tmp, repeat):
    """`memray check` against the plain command, on a pytest suite and a C test binary."""
    (tmp / "gate").mkdir()
    (tmp / "gate" / "test_bench.py").write_text(PYTEST_SUITE)
    check_bins = {}
    for name in ("check_tests", "check_many"):
        check_bins[name] = tmp / name
        # -fno-optimize-sibling-calls keeps each START_TEST function on the stack (see README)
        subprocess.run(["gcc", "-O2", "-g", "-fno-optimize-sibling-calls", "-o", check_bins[name],
                        HERE / (name + ".c"), "-lcheck", "-lsubunit", "-lm", "-lrt", "-lpthread"], check=True)
    cases = [
        ("pytest", ["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_bench.py"],
         "600 tests, JSON and containers", 1.3),
        ("check", [str(check_bins["check_tests"])], "Check, fork mode, 4 tests x 500k malloc/free", 3.0),
        ("check100", [str(check_bins["check_many"])], "Check, fork mode, 100 tests of one block each", 3.0),
    ]
    print("\nmemray check, the whole gate (tracking, analysis, JUnit, Markdown) against the plain command;")
    print("'tracked' is the same command under `memray run --follow-fork` with the plugin loaded, no analysis;")
    print("'no scan' is `memray check --reachable-leaks`: no live-block index and no reachability scan, the gate")
    print("as it was before the scan (issue 14's target: the scan costs nothing visible on a suite that leaks nothing):")
    head = "%-8s %9s %9s %9s %9s %9s %9s %7s  %s" % ("suite", "plain s", "tracked s", "no scan s", "check s",
                                                    "scan x", "slowdown", "target", "what")
    print(head)
    print("-" * len(head))
    plugin_env = dict(os.environ, PYTHONPATH=str(memray.parent / "python"), PYTEST_PLUGINS="memray_check_pytest")
    for name, cmd, what, target in cases:
        run = [str(memray), "run", "-q", "-f", "--follow-fork", "-o", str(tmp / "gate.bin")] + cmd
        gate = [str(memray), "check", "--junit", str(tmp / "gate.xml"), "--markdown", str(tmp / "gate.md"),
                "--"] + cmd
        no_scan = gate[:2] + ["--reachable-leaks"] + gate[2:]
        # the four take turns, so a noisy machine slows them alike; the best of each
        times = {"plain": [], "tracked": [], "no scan": [], "check": []}
        for _ in range(max(repeat, 5)):
            times["plain"].append(timed(cmd, cwd=tmp / "gate")[0])
            times["tracked"].append(timed(run, cwd=tmp / "gate", env=plugin_env)[0])
            for old in tmp.glob("gate.bin*"):
                old.unlink()
            times["no scan"].append(timed(no_scan, cwd=tmp / "gate")[0])
            times["check"].append(timed(gate, cwd=tmp / "gate")[0])
        plain, tracked, bare, ours = (min(times[k]) for k in ("plain", "tracked", "no scan", "check"))
        print("%-8s %9.3f %9.3f %9.3f %9.3f %8.2fx %8.2fx %6.1fx  %s" % (name, plain, tracked, bare, ours,
                                                                     ours / bare, ours / plain, target, what))
        spread = max(statistics.median(v) / min(v) for v in times.values())
        print("%-8s scan x of the medians %.2fx; a variant's median is up to %.2fx its best (the noise)" %
              ("", statistics.median(times["check"]) / statistics.median(times["no scan"]), spread))


def best(n, fn):
    runs = [fn() for _ in range(n)]
    return min(runs, key=lambda r: r[0]), runs


PY_WORKLOADS = [
    ("pure", ["pure", "60"], "recursion, list and dict building"),
    ("json_zlib", ["json_zlib", "150"], "json and zlib round trips"),
]


def python_bench(memray, heaptrack, tmp, repeat):
    """Python workloads: plain, under memray run (Python frames), with
    --native, and under heaptrack. The variants take turns, run after run,
    so a busy machine slows them alike; each figure is the best run."""
    python = "/usr/bin/python3"
    script = str(HERE / "py_workloads.py")
    print("\nPython (%s, %s): best of %d, the variants interleaved" % (python, script, repeat))
    head = "%-10s %9s %10s %10s %9s %12s %8s" % ("workload", "plain s", "memray x", "--native x", "--trace x",
                                                 "heaptrack x", "allocs")
    print(head)
    print("-" * len(head))
    for name, argv, what in PY_WORKLOADS:
        prog = [python, script] + argv
        cap = tmp / ("py-%s.bin" % name)
        variants = {
            "plain": prog,
            "memray": [str(memray), "run", "-q", "-f", "-o", str(cap)] + prog,
            "native": [str(memray), "run", "-q", "-f", "--native", "-o", str(tmp / "py-native.bin")] + prog,
            "trace": [str(memray), "run", "-q", "-f", "--trace-python-allocators",
                      "-o", str(tmp / "py-trace.bin")] + prog,
        }
        if heaptrack:
            variants["heaptrack"] = [heaptrack, "-o", str(tmp / ("ht-py-%s" % name))] + prog
        times = {k: [] for k in variants}
        for _ in range(repeat):
            for key, cmd in variants.items():
                for old in tmp.glob("ht-py-%s*" % name):
                    old.unlink()
                times[key].append(timed(cmd)[0])
        t = {k: min(v) for k, v in times.items()}
        allocs = json.loads(subprocess.run([str(memray), "stats", "--json", str(cap)], capture_output=True,
                                           text=True, check=True).stdout)["total_num_allocations"]
        print("%-10s %9.3f %10.2f %10.2f %9.2f %12s %8d" % (
            name, t["plain"], t["memray"] / t["plain"], t["native"] / t["plain"], t["trace"] / t["plain"],
            "%.2f" % (t["heaptrack"] / t["plain"]) if "heaptrack" in t else "-", allocs))
    print("targets: memray <= 1.1x, --native <= 1.3x (x = time / plain time, start-up included);"
          " --trace = --trace-python-allocators, which records every object")


def order_cost(memray, cap):
    """What the order of a threaded capture's ALLOC and FREE records costs
    at the least: the records come in runs by thread, and an exact peak
    needs the runs as they happened. Returns (records, runs, bytes), bytes
    being the empirical conditional entropy of the run sequence: each run's
    thread given the previous run's, and its length given the previous
    length. No coder of that sequence does much better; lz4, without an
    entropy stage, does worse."""
    def cond_entropy(pairs):
        joint, first = collections.Counter(pairs), collections.Counter(a for a, _ in pairs)
        return -sum(v * math.log2(v / first[a]) for (a, _), v in joint.items())
    runs, prev, records = [], None, 0
    with subprocess.Popen([str(memray), "parse", str(cap)], stdout=subprocess.PIPE, text=True) as parse:
        for line in parse.stdout:
            if line.startswith("ALLOC ") or line.startswith("FREE "):
                tid = line.split(" tid=", 1)[1].split(" ", 1)[0]
                records += 1
                if tid == prev:
                    runs[-1][1] += 1
                else:
                    runs.append([tid, 1])
                    prev = tid
    threads = [(runs[i - 1][0], runs[i][0]) for i in range(1, len(runs))]
    lengths = [(runs[i - 1][1], runs[i][1]) for i in range(1, len(runs))]
    return records, len(runs), (cond_entropy(threads) + cond_entropy(lengths)) / 8


def native_bench(build, memray, heaptrack, tmp, repeat):
    """The native workloads (WORKLOADS), issue 15's targets: each run plain,
    with a preload that only forwards malloc and free (bench/interpose.c,
    the floor of any interposing tracker), under memray run and under
    heaptrack, the four taking turns round after round; the median of each.
    Prints ns per allocation (a malloc/free pair) over plain, the overhead
    ratio against heaptrack's, capture bytes per allocation and the
    tracker's extra peak RSS. Returns churn's capture and record count for
    the stats throughput figure."""
    subprocess.run(["gcc", "-O2", "-g", "-o", tmp / "workloads", HERE / "workloads.c", "-lpthread"], check=True)
    subprocess.run(["g++", "-O2", "-g", "-o", tmp / "workloads_cxx", HERE / "workloads_cxx.cpp"], check=True)
    bare_lib = tmp / "interpose.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", bare_lib, HERE / "interpose.c"], check=True)
    rounds = max(repeat, 5)
    print("memray bench: %s, %d cores; median of %d interleaved rounds; load average %.1f" %
          (os.uname().machine, os.cpu_count(), rounds, os.getloadavg()[0]))
    if not heaptrack:
        print("heaptrack is not installed (make deps installs it): its columns are empty")
    head = "%-8s %8s %8s %8s %8s %8s %7s %8s %8s %6s %7s" % (
        "workload", "plain s", "bare ns", "ours ns", "heapt ns", "ours x", "ratio", "ours B/a", "heapt B/a",
        "size x", "+RSS Mi")
    print(head)
    print("-" * len(head))
    churn_capture = None
    misses = []
    threaded = []
    for name, argv, binary, what in WORKLOADS:
        prog = [str(tmp / binary)] + argv
        cap = tmp / ("%s.bin" % name)

        def run_memray():
            if cap.exists():
                cap.unlink()
            return timed([str(memray), "run", "-q", "-o", str(cap)] + prog)

        def run_heaptrack():
            for old in tmp.glob("ht-%s*" % name):
                old.unlink()
            return timed([heaptrack, "-o", str(tmp / ("ht-%s" % name))] + prog)
        variants = {"plain": lambda: timed(prog),
                    "bare": lambda: timed(prog, env=dict(os.environ, LD_PRELOAD=str(bare_lib))),
                    "memray": run_memray}
        if heaptrack:
            variants["heaptrack"] = run_heaptrack
        times = {k: [] for k in variants}
        ht_err = ""
        for _ in range(rounds):
            for key, fn in variants.items():
                wall, _, err = fn()
                times[key].append(wall)
                if key == "heaptrack":
                    ht_err = err
        med = {k: statistics.median(v) for k, v in times.items()}
        plain_rss = timed(prog)[1]
        ours_rss = tracked_rss(build, prog, tmp)
        data = json.loads(subprocess.run([str(memray), "stats", "--json", str(cap)], capture_output=True,
                                         text=True, check=True).stdout)
        allocs = max(data["total_num_allocations"], 1)
        ours_per = cap.stat().st_size / allocs
        if name == "churn":
            churn_capture = (cap, data["capture"]["records"])
        ht_per = None
        files = list(tmp.glob("ht-%s*" % name))
        m = re.search(r"allocations:\s+(\d+)", ht_err)
        if files and m and int(m.group(1)):
            ht_per = files[0].stat().st_size / int(m.group(1))
        if argv[0] == "threads" and argv[-1] != "1":
            threaded.append((name, cap, allocs, ht_per))

        def ns(key):
            return (med[key] - med["plain"]) / allocs * 1e9
        comparable = "heaptrack" in med and name != "mmap"     # heaptrack does not see mmap
        ratio = ns("memray") / ns("heaptrack") if comparable and ns("heaptrack") > 0 else None
        size_x = ours_per / ht_per if comparable and ht_per else None
        print("%-8s %8.3f %8.1f %8.1f %8s %8.1f %7s %8.3f %8s %6s %7.1f" % (
            name, med["plain"], ns("bare"), ns("memray"), "%.1f" % ns("heaptrack") if "heaptrack" in med else "-",
            med["memray"] / med["plain"], "%.2f" % ratio if ratio is not None else "-", ours_per,
            "%.3f" % ht_per if ht_per else "-", "%.1f" % size_x if size_x is not None else "-",
            max(0, ours_rss - plain_rss) / 1024))
        if ratio is not None and ratio > 0.33:
            misses.append("%s overhead %.2fx heaptrack's (target <= 0.33)" % (name, ratio))
        if size_x and size_x > 2:
            misses.append("%s capture %.1fx heaptrack's bytes (target <= 2)" % (name, size_x))
        if name == "churn" and med["memray"] / med["plain"] > 4:
            misses.append("churn %.1fx plain (target <= 4)" % (med["memray"] / med["plain"]))
    print("\nns = time over plain per allocation (a malloc/free pair); bare = a preload that only forwards to"
          " glibc;\nratio = our overhead / heaptrack's; B/a = capture bytes per allocation (heaptrack: its zstd"
          " file);\nmmap: heaptrack does not see mmap, so its figures there are not comparable.")
    print("issue 15 targets: %s" % ("all met" if not misses else "missed: " + "; ".join(misses)))
    print("\nThe order of the threaded captures' records, which an exact peak needs: runs by thread, and"
          " what\ncoding them at their entropy (thread and length, each given the run before) would cost"
          " at the least:")
    head = "%-8s %9s %8s %9s %9s %9s %9s" % ("workload", "records", "runs", "mean run", "order B/a", "ours B/a",
                                             "heapt B/a")
    print(head)
    print("-" * len(head))
    for name, cap, allocs, ht_per in threaded:
        records, runs, order_bytes = order_cost(memray, cap)
        print("%-8s %9d %8d %9.1f %9.3f %9.3f %9s" % (name, records, runs, records / max(runs, 1),
                                                       order_bytes / allocs, cap.stat().st_size / allocs,
                                                       "%.3f" % ht_per if ht_per else "-"))
    print("order B/a: the order alone, coded at its entropy; issue 15's size target is 2 x heapt B/a for"
          " everything.\nheaptrack's records name neither the thread nor the block, so their order costs it"
          " next to nothing.")
    return churn_capture


def reach_bench(memray, tmp, repeat):
    """The reachability scan (--reachability, on under memray check): the
    tracking overhead with the live-block index on against off, the two
    variants taking turns run after run on the same workload; then the
    scan's own time per GiB of live heap, from its REACH record (the world
    stopped, roots and heap read, verdicts made)."""
    prog = [str(tmp / "workloads"), "churn", "5000000"]
    cap = tmp / "reach.bin"
    times = {"plain": [], "off": [], "on": []}
    for _ in range(max(repeat, 3)):
        times["plain"].append(timed(prog)[0])
        for variant, extra in (("off", []), ("on", ["--reachability"])):
            if cap.exists():
                cap.unlink()
            times[variant].append(timed([str(memray), "run", "-q", "-o", str(cap)] + extra + prog)[0])
    plain, off, on = (min(times[k]) for k in ("plain", "off", "on"))
    print("\nreachability: churn (5M malloc/free) %.3f s plain, %.2fx tracked, %.2fx with the live-block index;"
          " overhead with the index / without: %.2f (target <= 1.2; best of %d, taking turns)" %
          (plain, off / plain, on / plain, (on - plain) / (off - plain), len(times["plain"])))
    for n, size in ((4096, 65536), (1000000, 64), (1 << 24, 64)):  # the last: 1 GiB exactly
        runs = []
        for _ in range(repeat):
            if cap.exists():
                cap.unlink()
            timed([str(memray), "run", "-q", "--reachability", "-o", str(cap), str(tmp / "workloads"), "live",
                   str(n), str(size)])
            m = re.search(r"blocks=(\d+) root_bytes=(\d+) heap_bytes=(\d+) stopped_us=(\d+)", reach_line(memray, cap))
            if m:
                runs.append((int(m.group(4)), int(m.group(1)), int(m.group(3))))
        if not runs:
            print("  scan of %d x %d B: no REACH record" % (n, size))
            continue
        us, blocks, heap = min(runs)
        print("  scan at exit, %d blocks of %d B (%.0f MiB live): %.3f s stopped, %.2f s per GiB of live heap"
              " (target < 1 s; best of %d, median %.3f s; load average %.1f)" %
              (blocks, size, heap / 2**20, us / 1e6, us / 1e6 / (heap / 2**30), len(runs),
               sorted(runs)[len(runs) // 2][0] / 1e6, os.getloadavg()[0]))


def reach_line(memray, cap):
    """The REACH record of a capture as `memray parse` prints it, read as it
    streams: it comes after every ALLOC, 16 million lines in the largest case."""
    with subprocess.Popen([str(memray), "parse", str(cap)], stdout=subprocess.PIPE, text=True) as parse:
        for line in parse.stdout:
            if line.startswith("REACH "):
                parse.kill()
                return line
    return ""


def report_bench(memray, heaptrack, tmp, repeat):
    """Issue 18: every report on a capture with millions of small blocks
    live at once (bench/jqlike.c, a JSON document parsed into a tree: 15M
    records, 6.9M blocks live at the peak) against heaptrack_print on
    heaptrack's capture of the same run, interleaved round after round so
    a busy machine slows both alike; then stats from 1M to 50M records."""
    prog = tmp / "jqlike"
    subprocess.run(["gcc", "-O2", "-g", "-o", prog, HERE / "jqlike.c"], check=True)
    cap = tmp / "jq.bin"
    timed([str(memray), "run", "-q", "-f", "-o", str(cap), str(prog), "300000"])
    data = json.loads(subprocess.run([str(memray), "stats", "--json", str(cap)], capture_output=True,
                                     text=True, check=True).stdout)
    print("\nreports on a jq-like capture: %.1fM records, %.1fM blocks live at the peak; load average %.1f"
          % (data["capture"]["records"] / 1e6, data["peak"]["allocations"] / 1e6, os.getloadavg()[0]))
    variants = {}
    ht_print = shutil.which("heaptrack_print")
    if heaptrack and ht_print:
        for old in tmp.glob("ht-jq*"):
            old.unlink()
        timed([heaptrack, "-o", str(tmp / "ht-jq"), str(prog), "300000"])
        variants["heaptrack_print"] = [ht_print, str(next(tmp.glob("ht-jq*")))]
    for report, extra in [("stats", []), ("summary", []), ("tree", []), ("flamegraph", ["-f", "-o"]),
                          ("table", ["-f", "-o"])]:
        variants[report] = [str(memray), report] + extra + ([str(tmp / ("jq-" + report))] if extra else []) + \
            [str(cap)]
    runs = {k: [] for k in variants}
    for _ in range(repeat):
        for key, cmd in variants.items():
            wall, rss, _, cpu = timed(cmd, with_cpu=True)
            runs[key].append((wall, cpu, rss))
    fastest = {k: tuple(min(r[i] for r in v) for i in range(3)) for k, v in runs.items()}
    head = "%-16s %8s %8s %9s %8s %8s %8s" % ("report", "wall s", "CPU s", "RSS MiB", "wall x", "CPU x", "RSS x")
    print(head)
    print("-" * len(head))
    base = fastest.get("heaptrack_print")
    for key, figures in fastest.items():
        ratios = ["%.2f" % (f / b) if base and b else "-" for f, b in zip(figures, base or figures)]
        print("%-16s %8.2f %8.2f %9.1f %8s %8s %8s" % ((key, figures[0], figures[1], figures[2] / 1024) +
                                                        tuple(ratios)))
    print("x = against heaptrack_print (target <= 1.5); best of %d interleaved rounds; load average now %.1f"
          % (repeat, os.getloadavg()[0]))
    print("\nstats against capture size (linear: the same time per million records), beside heaptrack_print on"
          "\nheaptrack's capture of the same run (its figures after the slash):")
    for n in (20000, 200000, 1000000):
        big = tmp / "jq-lin.bin"
        timed([str(memray), "run", "-q", "-f", "-o", str(big), str(prog), str(n)])
        data = json.loads(subprocess.run([str(memray), "stats", "--json", str(big)], capture_output=True,
                                         text=True, check=True).stdout)
        records = data["capture"]["records"]
        (secs, rss, _, cpu), _ = best(2, lambda: timed([str(memray), "stats", str(big)], with_cpu=True))
        other = ""
        if heaptrack and ht_print:
            for old in tmp.glob("ht-lin*"):
                old.unlink()
            timed([heaptrack, "-o", str(tmp / "ht-lin"), str(prog), str(n)])
            ht_cap = str(next(tmp.glob("ht-lin*")))
            (_, ht_rss, _, ht_cpu), _ = best(2, lambda: timed([ht_print, ht_cap], with_cpu=True))
            other = " / %.2f s CPU, %.1f MiB RSS (CPU x %.2f, RSS x %.2f)" % (ht_cpu, ht_rss / 1024, cpu / ht_cpu,
                                                                         rss / ht_rss)
        print("  %5.1fM records, %5.1fM live at the peak: %6.2f s CPU, %.3f s per million, %7.1f MiB RSS%s" % (
            records / 1e6, data["peak"]["allocations"] / 1e6, cpu, cpu / records * 1e6, rss / 1024, other))
        big.unlink()


def diff_bench(memray, tmp, big, records):
    """memray diff of two captures of that size, against reading both alone."""
    other = tmp / "big2.bin"
    timed([str(memray), "run", "-q", "-o", str(other), str(tmp / "workloads"), "threads", "10000000"])
    (read_a, _, _), _ = best(2, lambda: timed([str(memray), "stats", str(big)]))
    (read_b, _, _), _ = best(2, lambda: timed([str(memray), "stats", str(other)]))
    (secs, _, _), _ = best(2, lambda: timed([str(memray), "diff", str(big), str(other)]))
    print("  %-10s %.3f s for two captures of %.1f million records; reading both (stats) %.3f s, "
          "so %.3f s beyond reading" % ("diff", secs, records / 1e6, read_a + read_b, secs - read_a - read_b))


def cpu_of(cmd, cwd=None):
    """CPU seconds (user + system) of cmd and the children it waited for: the
    tracked program's own cost under `memray run`, steady on a busy machine
    where wall time is not."""
    out = tempfile.NamedTemporaryFile(prefix="memray-bench-cpu-", delete=False)
    out.close()
    subprocess.run(["/usr/bin/time", "-q", "-f", "%U %S", "-o", out.name] + [str(c) for c in cmd], cwd=cwd,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    user, system = Path(out.name).read_text().split()[-2:]
    os.unlink(out.name)
    return float(user) + float(system)


def live_once(memray, prog, cap, tmux_socket):
    """One run under --live-remote with a `memray live -o cap` reader in tmux:
    the CPU seconds of the run (the reader's are its own)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if cap.exists():
        cap.unlink()
    subprocess.run(["tmux", "-L", tmux_socket, "new-session", "-d", "-x", "80", "-y", "24", "-s", "bench",
                    "%s live -o %s %d; sleep 60" % (memray, cap, port)], check=True)
    try:
        cpu = cpu_of([str(memray), "run", "--live-remote", "--live-port", str(port)] + prog)
        end = time.time() + 30
        while subprocess.run([str(memray), "stats", str(cap)], capture_output=True).returncode and time.time() < end:
            time.sleep(0.1)  # the reader takes the last block
    finally:
        subprocess.run(["tmux", "-L", tmux_socket, "kill-session", "-t", "bench"], check=False)
    return cpu


def live_bench(memray, tmp, repeat):
    """Live mode beside file mode: the CPU time of the tracked run (the
    program and its writer thread; a live reader's own CPU is not the
    program's), the modes interleaved run after run."""
    if not shutil.which("tmux"):
        print("\nlive mode: tmux is not installed (the reader needs a terminal); skipped")
        return
    tmux_socket = "memray-bench-%d" % os.getpid()
    print("\nlive mode beside file mode: best of %d, CPU seconds of the tracked run" % repeat)
    head = "%-8s %9s %9s %9s %10s" % ("workload", "plain s", "file s", "live s", "live/file")
    print(head)
    print("-" * len(head))
    try:
        for name, argv, binary, _ in WORKLOADS[:3]:
            prog = [str(tmp / binary)] + argv
            plain, file_t, live_t = [], [], []
            cap = tmp / ("file-%s.bin" % name)
            for _ in range(repeat):
                plain.append(cpu_of(prog))
                if cap.exists():
                    cap.unlink()
                file_t.append(cpu_of([str(memray), "run", "-q", "-o", str(cap)] + prog))
                live_t.append(live_once(memray, prog, tmp / ("live-%s.bin" % name), tmux_socket))
            p, f, lv = min(plain), min(file_t), min(live_t)
            print("%-8s %9.3f %9.3f %9.3f %10.2f" % (name, p, f, lv, (lv - p) / (f - p) if f > p else float("nan")))
    finally:
        subprocess.run(["tmux", "-L", tmux_socket, "kill-server"], check=False, capture_output=True)
    print("live/file = (live - plain) / (file - plain): live mode's overhead over file mode's (target <= 1.10)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(HERE.parent / "build"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=["native", "python", "gate", "reach", "reports", "diff", "live"],
                    help="run one part only")
    args = ap.parse_args()
    build = Path(args.build)
    memray = build / "memray"
    heaptrack = shutil.which("heaptrack")
    tmp = Path(tempfile.mkdtemp(prefix="memray-bench-"))
    if args.only:
        try:
            if args.only == "native":
                native_bench(build, memray, heaptrack, tmp, args.repeat)
            elif args.only == "reports":
                report_bench(memray, heaptrack, tmp, args.repeat)
            elif args.only == "diff":
                big = tmp / "big.bin"
                subprocess.run(["gcc", "-O2", "-g", "-o", tmp / "workloads", HERE / "workloads.c", "-lpthread"],
                               check=True)
                timed([str(memray), "run", "-q", "-o", str(big), str(tmp / "workloads"), "threads", "10000000"])
                records = json.loads(subprocess.run([str(memray), "stats", "--json", str(big)], capture_output=True,
                                                    text=True, check=True).stdout)["capture"]["records"]
                diff_bench(memray, tmp, big, records)
            elif args.only == "python":
                python_bench(memray, heaptrack, tmp, max(args.repeat, 5))
            elif args.only == "reach":
                subprocess.run(["gcc", "-O2", "-g", "-o", tmp / "workloads", HERE / "workloads.c", "-lpthread"],
                               check=True)
                reach_bench(memray, tmp, args.repeat)
            elif args.only == "live":
                subprocess.run(["gcc", "-O2", "-g", "-o", tmp / "workloads", HERE / "workloads.c", "-lpthread"],
                               check=True)
                live_bench(memray, tmp, args.repeat)
            else:
                gate_cost(memray, tmp, args.repeat)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return 0
    try:
        churn_capture = native_bench(build, memray, heaptrack, tmp, args.repeat)
        live_bench(memray, tmp, args.repeat)
        # start-up: an empty program
        (plain, _, _), _ = best(10, lambda: timed(["/bin/true"]))

        def run_true():
            out = tmp / "true.bin"
            if out.exists():
                out.unlink()
            return timed([str(memray), "run", "-q", "-o", str(out), "/bin/true"])
        (ours, _, _), _ = best(10, run_true)
        (_, true_rss, _), _ = best(3, lambda: timed(["/bin/true"]))
        ours_rss = tracked_rss(build, ["/bin/true"], tmp)
        gate_cost(memray, tmp, args.repeat)
        reach_bench(memray, tmp, args.repeat)
        print("\nstart-up: /bin/true %.1f ms plain, %.1f ms under memray run (+%.1f ms); its RSS %.1f MiB "
              "plain, %.1f MiB tracked" % (plain * 1e3, ours * 1e3, (ours - plain) * 1e3, true_rss / 1024,
                                          ours_rss / 1024))
        if heaptrack:
            (ht, ht_rss, _), _ = best(3, lambda: timed([heaptrack, "-o", str(tmp / "ht-true"), "/bin/true"]))
            print("          under heaptrack %.1f ms, %.1f MiB peak RSS" % (ht * 1e3, ht_rss / 1024))
        if churn_capture:
            cap, records = churn_capture
            (secs, _, _), _ = best(3, lambda: timed([str(memray), "stats", str(cap)]))
            print("stats: %d records in %.3f s = %.1f million records/s" % (records, secs, records / secs / 1e6))
        # every report on one capture of 20 million records (10M allocations, 4 threads)
        big = tmp / "big.bin"
        timed([str(memray), "run", "-q", "-o", str(big), str(tmp / "workloads"), "threads", "10000000"])
        records = json.loads(subprocess.run([str(memray), "stats", "--json", str(big)], capture_output=True,
                                            text=True, check=True).stdout)["capture"]["records"]
        print("\nreports on a capture of %.1f million records (%.1f MiB):" % (records / 1e6, big.stat().st_size / 2**20))
        for report, extra in [("stats", []), ("summary", []), ("tree", []), ("flamegraph", ["-f", "-o"]),
                              ("table", ["-f", "-o"]), ("transform", ["csv", "-f", "-o"])]:
            out = tmp / ("report-" + report)
            cmd = [str(memray), report] + extra + ([str(out)] if extra else []) + [str(big)]
            (secs, _, _), _ = best(2, lambda: timed(cmd))
            size = " (%.0f KiB)" % (out.stat().st_size / 1024) if out.exists() else ""
            print("  %-10s %.3f s, %.3f s per million records%s" % (report, secs, secs / records * 1e6, size))
        report_bench(memray, heaptrack, tmp, args.repeat)
        diff_bench(memray, tmp, big, records)
        python_bench(memray, heaptrack, tmp, max(args.repeat, 5))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
