"""make bench's Python workloads: `pure` (recursion, list and dict
building) and `json_zlib` (json and zlib round trips)."""
import json
import sys
import zlib


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def build(n):
    rows = [{"id": i, "name": "row%d" % i, "tags": [i, i + 1, i + 2]} for i in range(n)]
    index = {row["name"]: row for row in rows}
    return len(index) + sum(len(r["tags"]) for r in rows)


def pure(rounds):
    total = 0
    for _ in range(rounds):
        total += fib(20) + build(20000)
    return total


def json_zlib(rounds):
    doc = {"items": [{"id": i, "text": "item %d" % i * 3, "values": list(range(20))} for i in range(2000)]}
    total = 0
    for _ in range(rounds):
        blob = zlib.compress(json.dumps(doc).encode(), 6)
        total += len(json.loads(zlib.decompress(blob))["items"])
    return total


if __name__ == "__main__":
    work, rounds = sys.argv[1], int(sys.argv[2])
    print({"pure": pure, "json_zlib": json_zlib}[work](rounds))
