"""`memray transform csv`: the peak's stacks as RFC 4180 CSV."""
import csv

from conftest import FIXTURES, line_of, record, record_blocks_in, run


def test_csv_of_the_peak_and_leaks(fixtures, tmp_path):
    _, out = record(tmp_path, fixtures.build("blocks.c"))
    assert run("transform", "csv", out).returncode == 0
    rows = list(csv.DictReader(open(tmp_path / "memray-csv-out.csv", newline="")))
    assert list(rows[0]) == ["allocator", "num_allocations", "size", "stack_trace"]
    make = "make_blocks;%s;%d" % (FIXTURES / "blocks.c", line_of("blocks.c", "make_blocks"))
    peak = [r for r in rows if r["stack_trace"].startswith(make + "|")]
    assert [(r["allocator"], r["num_allocations"], r["size"]) for r in peak] == [("MALLOC", "1000", "4096000")]
    assert peak[0]["stack_trace"].split("|")[1].startswith("main;")
    leaks = tmp_path / "leaks.csv"
    assert run("transform", "csv", "--leaks", "-o", leaks, out).returncode == 0
    leak = "leak_some;%s;%d" % (FIXTURES / "blocks.c", line_of("blocks.c", "leak_some"))
    rows = list(csv.DictReader(open(leaks, newline="")))
    assert [(r["num_allocations"], r["size"]) for r in rows if r["stack_trace"].startswith(leak)] == [("10", "10000")]


def test_csv_quotes_odd_paths(fixtures, tmp_path):
    odd = tmp_path / 'a,b"c'
    out = record_blocks_in(tmp_path, 'a,b"c', "odd")
    target = tmp_path / "odd.csv"
    assert run("transform", "csv", "-o", target, out).returncode == 0
    rows = list(csv.DictReader(open(target, newline="")))
    assert any(r["stack_trace"].startswith('make_blocks;%s/blocks.c;' % odd) for r in rows)


def test_gprof2dot_json(fixtures, tmp_path):
    import json
    _, out = record(tmp_path, fixtures.build("blocks.c"))
    assert run("transform", "gprof2dot", out).returncode == 0
    data = json.load(open(tmp_path / "memray-gprof2dot-out.json"))
    assert data["version"] == 0 and data["costs"] == [{"description": "Memory", "unit": "bytes"}]
    make = "make_blocks at %s:%d" % (FIXTURES / "blocks.c", line_of("blocks.c", "make_blocks"))
    names = [f["name"] for f in data["functions"]]
    peak = [e for e in data["events"] if names[e["callchain"][0]] == make]
    assert len(peak) == 1 and peak[0]["cost"] == [4096000]
    # innermost first: the caller comes next
    assert names[peak[0]["callchain"][1]].startswith("main at ")
    assert sum(e["cost"][0] for e in data["events"]) == 4096000


def test_speedscope_json(fixtures, tmp_path):
    import json
    _, out = record(tmp_path, fixtures.build("blocks.c"))
    target = tmp_path / "leaks.speedscope.json"
    assert run("transform", "speedscope", "--leaks", "-o", target, out).returncode == 0
    data = json.load(open(target))
    assert data["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    profile = data["profiles"][0]
    assert profile["type"] == "sampled" and profile["unit"] == "bytes"
    assert len(profile["samples"]) == len(profile["weights"])
    assert profile["endValue"] == sum(profile["weights"])
    frames = data["shared"]["frames"]
    # outermost first: the leaking function is the last frame of its sample
    leak = [w for s, w in zip(profile["samples"], profile["weights"]) if frames[s[-1]]["name"] == "leak_some"]
    assert leak == [10000]
    assert frames[[s for s in profile["samples"] if frames[s[-1]]["name"] == "leak_some"][0][-1]]["line"] == \
        line_of("blocks.c", "leak_some")


def test_transform_bad_input(fixtures, tmp_path):
    _, out = record(tmp_path, fixtures.build("blocks.c"))
    assert run("transform", "pprof", out).returncode == 2
    assert run("transform", out).returncode == 2
    assert run("transform", "csv").returncode == 2
    assert run("transform", "csv", out).returncode == 0
    again = run("transform", "csv", out)
    assert again.returncode == 1 and "already exists" in again.stderr
