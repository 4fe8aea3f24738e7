#!/usr/bin/env python3
"""The tree's shape, checked by `make check-style`: folders depend strictly
downward, no source file is over 800 lines, and no function is over 100
lines unless a comment just above it says why (a line holding "long:").

Layers, from the top: cli > assert > ci > report > capture > common; junit
sits beside assert (assert and cli use it; it uses only common); live (the
live view) sits under cli and uses report, capture and common only. The
tracker is a separate program loaded into others: it may use capture/ and
common/ only. Exits 1 with one line per problem, "file:line: what"."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RANK = {"common": 0, "capture": 1, "report": 2, "ci": 3, "junit": 3.5, "assert": 4, "live": 4.5, "cli": 5}
ALLOWED = {"tracker": {"tracker", "capture", "common"}, "junit": {"junit", "common"},
           "live": {"live", "report", "capture", "common"}}
MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 100
INCLUDE = re.compile(r'^#include "([a-z]+)/[^"]+"')


def allowed(src, dst):
    if src in ALLOWED:
        return dst in ALLOWED[src]
    if src not in RANK or dst not in RANK:
        return dst != "tracker" or src == "tracker"
    return RANK[dst] <= RANK[src] and not (dst == "junit" and src not in ("assert", "cli", "junit"))


def functions(lines):
    """(first line, length, name) of each top-level function body: '{' to '}' in column 0."""
    start = None
    for i, line in enumerate(lines):
        if line == "{" and i > 0:
            start = i
        elif line == "}" and start is not None:
            head = start - 1
            while head > 0 and "(" not in lines[head]:
                head -= 1
            yield head, i - start + 1, lines[head]
            start = None


def main():
    problems = []
    for path in sorted(ROOT.glob("*/*.[ch]")) + sorted(ROOT.glob("report/*/*.[ch]")):
        top = path.relative_to(ROOT).parts[0]
        if top in ("tests", "bench", "build", "build-san"):
            continue
        rel = path.relative_to(ROOT)
        lines = path.read_text(errors="replace").split("\n")
        if len(lines) > MAX_FILE_LINES:
            problems.append("%s:1: %d lines (at most %d)" % (rel, len(lines), MAX_FILE_LINES))
        for n, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if m and not allowed(top, m.group(1)):
                problems.append("%s:%d: %s/ includes %s/, against the layers" % (rel, n, top, m.group(1)))
        for head, length, text in functions(lines):
            why = "\n".join(lines[max(0, head - 12):head])
            if length > MAX_FUNCTION_LINES and "long:" not in why:
                problems.append("%s:%d: function of %d lines (at most %d without a 'long:' comment): %s"
                                % (rel, head + 1, length, MAX_FUNCTION_LINES, text.strip()[:60]))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
