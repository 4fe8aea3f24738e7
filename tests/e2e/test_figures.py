"""`memray stats --json` gives the exact figures the fixtures make."""
from conftest import FIXTURES, by_location, entry, line_of, location, parse, record, stats


def test_blocks_peak_leaks_and_locations(fixtures, tmp_path):
    prog = fixtures.build("blocks.c")
    result, out = record(tmp_path, prog)
    assert result.returncode == 0
    data = stats(out)
    make = location("make_blocks", "blocks.c", "make_blocks")
    leak = location("leak_some", "blocks.c", "leak_some")

    assert by_location(data["top_allocations_by_size"])[make] == 1000 * 4096
    assert by_location(data["top_allocations_by_count"], "count")[make] == 1000
    assert by_location(data["top_allocations_by_count"], "count")[leak] == 10
    # the peak is the 1000 blocks and nothing else: nothing else is live then
    assert data["metadata"]["peak_memory"] == 4096000
    assert data["peak"]["bytes"] == 4096000
    assert data["peak"]["allocations"] == 1000
    assert entry(data["peak"]["top_by_size"], make) == {"location": make, "size": 4096000, "count": 1000}
    # leaks: the fixture's 10 x 1000 B, plus the C library's stdout buffer,
    # allocated by printf on main's behalf (documented in the README)
    assert entry(data["leaks"]["top_by_size"], leak) == {"location": leak, "size": 10000, "count": 10}
    others = [e for e in data["leaks"]["top_by_size"] if e["location"] != leak]
    assert all(e["location"].startswith("main:") for e in others), others
    assert data["leaks"]["bytes"] == 10000 + sum(e["size"] for e in others)
    assert sum(e["size"] for e in others) <= 8192
    # the fixture's own allocations, plus at most the runtime's few
    assert 1010 <= data["total_num_allocations"] <= 1012
    assert data["metadata"]["file_format"] == "ALL_ALLOCATIONS"
    assert data["metadata"]["command_line"] == str(prog)
    assert data["metadata"]["main_thread_id"] == data["metadata"]["pid"]
    assert data["capture"] == {"complete": True, "lost_records": 0, "segments": 1,
                               "records": data["capture"]["records"], "warnings": []}
    assert data["allocator_type_distribution"]["MALLOC"] == data["total_num_allocations"]


def test_every_allocator(fixtures, tmp_path):
    prog = fixtures.build("allocators.c")
    _, out = record(tmp_path, prog)
    data = stats(out)
    sizes = by_location(data["top_allocations_by_size"])
    counts = by_location(data["top_allocations_by_count"], "count")
    dist = data["allocator_type_distribution"]

    assert sizes[location("use_calloc", "allocators.c", "calloc")] == 1000
    assert sizes[location("use_realloc", "allocators.c", "realloc_start")] == 100
    assert sizes[location("use_realloc", "allocators.c", "realloc_grow")] == 200
    assert sizes[location("use_realloc", "allocators.c", "realloc_grow2")] == 400
    assert sizes[location("use_reallocarray", "allocators.c", "reallocarray")] == 200
    assert sizes[location("use_posix_memalign", "allocators.c", "posix_memalign")] == 1024
    assert sizes[location("use_aligned_alloc", "allocators.c", "aligned_alloc")] == 2048
    assert sizes[location("use_memalign", "allocators.c", "memalign")] == 3072
    assert sizes[location("use_valloc", "allocators.c", "valloc")] == 5000
    # pvalloc rounds up to whole pages
    assert sizes[location("use_pvalloc", "allocators.c", "pvalloc")] == 8192
    assert counts[location("use_calloc", "allocators.c", "calloc")] == 1
    for kind, n in [("CALLOC", 1), ("REALLOC", 3), ("POSIX_MEMALIGN", 1), ("ALIGNED_ALLOC", 1),
                    ("MEMALIGN", 1), ("VALLOC", 1), ("PVALLOC", 1)]:
        assert dist[kind] == n, (kind, dist)
    assert data["leaks"]["bytes"] == 0
    # the largest single moment: the pvalloc'd pages
    assert data["metadata"]["peak_memory"] == 8192


def test_cxx_new_delete_and_exceptions(fixtures, tmp_path):
    prog = fixtures.build("cxx.cpp")
    result, out = record(tmp_path, prog)
    assert result.returncode == 0, "the 50 exceptions were not all caught under the tracker"
    data = stats(out)
    sizes = by_location(data["top_allocations_by_size"])
    counts = by_location(data["top_allocations_by_count"], "count")
    widget = location("shapes::make_widget()", "cxx.cpp", "new_widget")
    array = location("make_array()", "cxx.cpp", "new_array")

    assert sizes[widget] == 100 * 48 and counts[widget] == 100
    assert sizes[array] == 20 * 1000 and counts[array] == 20
    # a lambda run by std::thread: the string and its 101-byte buffer are
    # both charged to the lambda, not to operator new or libstdc++ (the
    # thread's own start-up, on the same line, is main's)
    lambda_line = ":%s:%d" % (FIXTURES / "cxx.cpp", line_of("cxx.cpp", "lambda"))
    at_lambda = {loc: size for loc, size in sizes.items() if loc.endswith(lambda_line) and "{lambda()" in loc}
    assert list(at_lambda.values()) == [32 + 101], sizes


def test_mmap_counts_in_the_peak(fixtures, tmp_path):
    prog = fixtures.build("mmaps.c")
    _, out = record(tmp_path, prog)
    data = stats(out)
    mapped = location("map_big", "mmaps.c", "mmap")
    keep = location("main", "mmaps.c", "keep")

    assert data["allocator_type_distribution"]["MMAP"] == 1
    assert data["metadata"]["peak_memory"] == (64 << 20) + (1 << 20)
    assert entry(data["peak"]["top_by_size"], mapped)["size"] == 64 << 20
    assert entry(data["peak"]["top_by_size"], keep)["size"] == 1 << 20
    assert data["leaks"]["bytes"] == 0


def test_four_threads(fixtures, tmp_path):
    prog = fixtures.build("threads.c")
    _, out = record(tmp_path, prog)
    data = stats(out)
    worker = location("worker", "threads.c", "worker")

    assert entry(data["top_allocations_by_size"], worker)["size"] == 4 * 250 * 512
    assert entry(data["top_allocations_by_count"], worker)["count"] == 1000
    # all four hold their blocks at the barrier: the peak has all 1000
    assert entry(data["peak"]["top_by_size"], worker) == {"location": worker, "size": 512000, "count": 1000}
    lines = parse(out)
    worker_tids = {l.split(" tid=")[1].split()[0] for l in lines if l.startswith("ALLOC") and "size=512 " in l}
    assert len(worker_tids) == 4
    names = sorted(l.split('name="')[1].rstrip('"') for l in lines if l.startswith("THREAD_NAME"))
    assert names == ["worker-0", "worker-1", "worker-2", "worker-3"]


def test_dlopened_library(fixtures, tmp_path):
    lib = fixtures.build("plugin.c", "-shared", "-fPIC", name="libplugin.so")
    prog = fixtures.build("dlopener.c", "-ldl")
    result, out = record(tmp_path, prog, lib)
    assert result.returncode == 0, result.stderr
    data = stats(out)
    plugin = location("plugin_alloc", "plugin.c", "plugin_alloc")
    assert entry(data["leaks"]["top_by_size"], plugin) == {"location": plugin, "size": 2331, "count": 3}
    assert any('path="%s"' % lib in l for l in parse(out) if l.startswith("MODULE "))


def test_aggregate_gives_the_same_figures(fixtures, tmp_path):
    prog = fixtures.build("mmaps.c")
    _, full = record(tmp_path, prog, name="full.bin")
    _, agg = record(tmp_path, prog, options=["--aggregate"], name="agg.bin")
    a, b = stats(full), stats(agg)
    for key in ("total_num_allocations", "total_bytes_allocated", "top_allocations_by_size",
                "allocator_type_distribution"):
        assert a[key] == b[key], key
    assert a["metadata"]["peak_memory"] == b["metadata"]["peak_memory"]
    assert a["peak"]["top_by_size"] == b["peak"]["top_by_size"]
    assert a["leaks"] == b["leaks"]
    assert b["metadata"]["file_format"] == "AGGREGATED_ALLOCATIONS"
    assert not any(l.startswith(("ALLOC ", "FREE ")) for l in parse(agg))


def test_aggregate_is_small(fixtures, tmp_path):
    prog = fixtures.build("churn.c")
    # sizes that vary: one pair repeated compresses to almost nothing either way
    _, full = record(tmp_path, prog, "200000", "vary", name="full.bin")
    _, agg = record(tmp_path, prog, "200000", "vary", options=["--aggregate"], name="agg.bin")
    a, b = stats(full), stats(agg)
    assert a["top_allocations_by_count"] == b["top_allocations_by_count"]
    assert b["total_num_allocations"] == a["total_num_allocations"] >= 200000
    assert agg.stat().st_size * 4 < full.stat().st_size


def test_one_allocation_repeated_compresses_past_lz4s_limit(fixtures, tmp_path):
    """3 million malloc/free pairs from one place: 18 MB of records, which one
    pass of lz4 cannot shrink below about 70 KB (a match costs a byte per 255
    bytes); the blocks compressed twice hold them in a few KB."""
    prog = fixtures.build("churn.c")
    _, packed = record(tmp_path, prog, "3000000", name="lz4.bin")
    _, raw = record(tmp_path, prog, "3000000", options=["--no-compress"], name="raw.bin")
    assert raw.stat().st_size > 18_000_000
    assert packed.stat().st_size < 8_000
    a, b = stats(packed), stats(raw)
    assert a["total_num_allocations"] == b["total_num_allocations"] >= 3_000_000
    assert a["top_allocations_by_count"] == b["top_allocations_by_count"]


def test_no_compress_same_figures_bigger_file(fixtures, tmp_path):
    prog = fixtures.build("threads.c")
    _, packed = record(tmp_path, prog, name="lz4.bin")
    _, raw = record(tmp_path, prog, options=["--no-compress"], name="raw.bin")
    a, b = stats(packed), stats(raw)
    assert a["top_allocations_by_size"] == b["top_allocations_by_size"]
    assert raw.stat().st_size > packed.stat().st_size


def test_memray_compress_fast_leaves_out_the_high_compression_mode(fixtures, tmp_path):
    """MEMRAY_COMPRESS=fast (set by memray check for its scratch captures):
    the same records, compressed the fast way only, in a larger file. The
    program pauses 200 ms before its exit, so the writer has compressed its
    full buffers the hard way by then (at exit it only does the last)."""
    import os
    prog = fixtures.build("varied_sizes.c")
    _, hc = record(tmp_path, prog, "200", name="hc.bin")
    _, fast = record(tmp_path, prog, "200", name="fast.bin", env=dict(os.environ, MEMRAY_COMPRESS="fast"))
    a, b = stats(hc), stats(fast)
    assert a["total_num_allocations"] == b["total_num_allocations"] >= 300_000
    assert a["top_allocations_by_size"] == b["top_allocations_by_size"]
    assert fast.stat().st_size > 1.2 * hc.stat().st_size


def test_rust_program(tmp_path):
    import shutil
    import subprocess
    import pytest
    from conftest import FIXTURES, line_of
    rustc = shutil.which("rustc")
    if not rustc:
        pytest.skip("rustc is not installed")
    prog = tmp_path / "vecs"
    source = FIXTURES / "vecs.rs"
    subprocess.run([rustc, "-g", "-C", "opt-level=0", "-o", str(prog), str(source)], check=True)
    result, out = record(tmp_path, prog)
    assert result.stdout == "vecs: 10000\n"
    data = stats(out)
    inner = "vecs::make_vectors:%s:%d" % (source, line_of("vecs.rs", "inner_vec"))
    assert entry(data["leaks"]["top_by_size"], inner) == {"location": inner, "size": 80000, "count": 10}


def test_map_fixed_and_mremap_keep_exact_bytes(fixtures, tmp_path):
    """MAP_FIXED commits inside a reservation replace it: a 1 GiB peak, not 1.875 GiB."""
    prog = fixtures.build("mapfixed.c")
    result, out = record(tmp_path, prog)
    assert result.returncode == 0 and result.stdout == "mapped\n", result.stderr
    data = stats(out)
    assert data["metadata"]["peak_memory"] == (1 << 30) + (16 << 20)
    assert data["allocator_type_distribution"]["MMAP"] == 1 + 1 + 7 + 1
    assert data["leaks"]["bytes"] == 0
