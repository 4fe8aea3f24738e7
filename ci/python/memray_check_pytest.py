"""memray check's pytest plugin: marks where each test starts and ends.

`memray check` loads this module through PYTEST_PLUGINS and PYTHONPATH; no
install is needed. Around each test's call phase it tells the tracker, already
loaded in this process (its path is in $MEMRAY_TRACKER), that the test begins
and ends, so `memray check` can judge each test on its own. The test's
`limit_memory` and `limit_leaks` marks travel with the begin marker's label
(fields split by the ASCII unit separator, 0x1f); memray parses and judges
them, so a bad size is reported by memray, not here.

Leaks are judged after gc.collect(), so objects freed only by the cycle
collector do not count. A full collection walks every object the process
holds (17 ms a test in a 150-test suite here, a 6x slowdown), so after each
test the survivors are frozen (gc.freeze()): the next test's collection
walks only what was made since, and everything is unfrozen at the end of
the session. Frozen objects are never collected while frozen; a suite that
needs the cycle collector to reclaim objects made before a test, inside
that test, can set MEMRAY_CHECK_GC=full to collect fully and freeze
nothing. The plugin never fails a test: the suite's own verdicts stay as
they are, memray gives its own.
"""
import ctypes
import gc
import os

import pytest

SEPARATOR = "\x1f"
_tracker = None


def _load():
    global _tracker
    path = os.environ.get("MEMRAY_TRACKER")
    if _tracker is None and path:
        try:
            # PyDLL keeps the GIL held across the call (CDLL would drop it);
            # the library is already loaded, so this only finds it
            lib = ctypes.PyDLL(path)
            lib.memray_test_begin.argtypes = [ctypes.c_char_p]
            lib.memray_test_begin.restype = None
            lib.memray_test_end.argtypes = []
            lib.memray_test_end.restype = None
            _tracker = lib
        except (OSError, AttributeError):
            _tracker = False
    return _tracker or None


def pytest_configure(config):
    config.addinivalue_line("markers", "limit_memory(size): fail under memray check when the test's "
                            "peak memory exceeds size")
    config.addinivalue_line("markers", "limit_leaks(size): fail under memray check when the test "
                            "leaves more than size allocated")


def _label(item):
    fields = [item.nodeid]
    for mark in ("limit_memory", "limit_leaks"):
        found = item.get_closest_marker(mark)
        if found is not None:
            value = found.args[0] if found.args else found.kwargs.get("size", "")
            fields.append("%s=%s" % (mark, value))
    return SEPARATOR.join(fields).replace("\0", "")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    tracker = _load()
    if tracker is None:
        yield
        return
    tracker.memray_test_begin(_label(item).encode("utf-8", "replace"))
    try:
        yield
    finally:
        gc.collect()
        tracker.memray_test_end()
        if os.environ.get("MEMRAY_CHECK_GC") != "full":
            gc.freeze()


def pytest_unconfigure(config):
    if _tracker:
        gc.unfreeze()
