#!/usr/bin/env python3
"""Interleaved A/B of tracker libraries on bench.py's native workloads.

    python3 bench/ab_tracker.py --build build [--rounds 7] [--wall] NAME=LIB.so ...

Each round runs, per workload: the plain program, `memray run` once with
each tracker library (through MEMRAY_TRACKER_LIB), and heaptrack, in turn,
so a busy machine disturbs all of them alike. Prints the median over the
rounds of the added cost per allocation, (tracked - plain) / allocations,
and memray's overhead divided by heaptrack's. CPU seconds (user + system
of the process tree) by default, wall seconds with --wall: on a machine
shared with other work CPU time is the steadier figure. Nothing here is a
pass/fail test.
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name, argv after the binary, binary, allocations it makes
WORKLOADS = [
    ("churn", ["churn", "5000000"], "workloads", 5000000),
    ("threads", ["threads", "4000000"], "workloads", 4000004),
    ("deep", ["deep", "200000"], "workloads", 200000),
    ("cxx", ["2000000"], "workloads_cxx", 6000000),
]


def measure(cmd, env, wall):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if wall:
        return elapsed
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="the build folder with memray (default: build)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--wall", action="store_true", help="wall seconds instead of CPU seconds")
    ap.add_argument("--only", help="comma-separated workloads (default: all)")
    ap.add_argument("libs", nargs="+", metavar="NAME=LIB.so")
    args = ap.parse_args()
    memray = str(Path(args.build).resolve() / "memray")
    libs = dict(a.split("=", 1) for a in args.libs)
    heaptrack = shutil.which("heaptrack")
    only = set(args.only.split(",")) if args.only else None
    with tempfile.TemporaryDirectory(prefix="memray-ab-") as tmp:
        tmp = Path(tmp)
        subprocess.run(["gcc", "-O2", "-g", "-o", tmp / "workloads", HERE / "workloads.c", "-lpthread"], check=True)
        subprocess.run(["g++", "-O2", "-g", "-o", tmp / "workloads_cxx", HERE / "workloads_cxx.cpp"], check=True)
        print("%s seconds, median of %d interleaved rounds; ns = added cost per allocation" %
              ("wall" if args.wall else "CPU", args.rounds))
        for name, argv, binary, allocs in WORKLOADS:
            if only and name not in only:
                continue
            prog = [str(tmp / binary)] + argv
            times = {k: [] for k in ["plain", *libs] + (["heaptrack"] if heaptrack else [])}
            for _ in range(args.rounds):
                times["plain"].append(measure(prog, None, args.wall))
                for key, lib in libs.items():
                    env = dict(os.environ, MEMRAY_TRACKER_LIB=str(Path(lib).resolve()))
                    times[key].append(measure([memray, "run", "-q", "-f", "-o", str(tmp / "ab.bin")] + prog,
                                              env, args.wall))
                if heaptrack:
                    for old in tmp.glob("ht*"):
                        old.unlink()
                    times["heaptrack"].append(measure([heaptrack, "-o", str(tmp / "ht")] + prog, None, args.wall))
            med = {k: statistics.median(v) for k, v in times.items()}
            line = "%-8s plain %.3fs" % (name, med["plain"])
            for key in times:
                if key == "plain":
                    continue
                line += " | %s +%.0f ns" % (key, (med[key] - med["plain"]) / allocs * 1e9)
                if key != "heaptrack" and "heaptrack" in med and med["heaptrack"] > med["plain"]:
                    line += " (ratio %.2f)" % ((med[key] - med["plain"]) / (med["heaptrack"] - med["plain"]))
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
