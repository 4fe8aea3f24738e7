"""memray check's pytest plugin: each test's memory, judged inside pytest.

`memray check` loads this module through PYTEST_PLUGINS and PYTHONPATH; no
install is needed. It means what pytest-memray means, so a suite moves over
unchanged:

- The window is the test function's call (pytest_pyfunc_call, as
  pytest-memray wraps it), not pytest's call phase: pytest's own work
  around it (PYTEST_CURRENT_TEST, captured output) is not the test's. A
  unittest.TestCase's window is its test method's call too: no block
  enters it after the method returns (an END marker labelled "settle"),
  but what the method left on self may still be freed, by tearDown or
  when pytest drops the case; its figures are read, and the window
  closed, after pytest's teardown.
- A fixture of session, package, module or class scope gets a window of
  its own around its setup (the fixture function's call up to its yield),
  labelled "NAME<0x1f>fixture=SCOPE", so memray check can show what each
  setup allocated and still held; no rule judges it. A setup that runs
  inside a test's window (request.getfixturevalue in the test) stays the
  test's.
- A test that starts processes (subprocess, multiprocessing) is charged
  with them by memray check, which reads their captures; the marks judged
  here see this process alone, as pytest-memray's do (it does not follow
  children). So a test whose children take it over its limit_memory
  passes in pytest's summary and fails in memray check's verdict (exit 1),
  which names each process and what it held at the test's peak.
- The tracker (already loaded in this process, $MEMRAY_TRACKER, reached
  through ctypes.PyDLL so the GIL stays held) marks the window in the
  capture and keeps the window's figures in-process (tracker/window.c):
  the peak of what the test allocated and held, what it allocated, what it
  still held at its end. The plugin reads them as the test returns, so
  judging a mark needs no gc collection and no reading of the capture.
- Only a test that passed is judged, as pytest-memray does: a test that
  raised (failed, xfailed, skipped inside) ends with the outcome "raised"
  and memray check gives it no verdict either; the locals its traceback
  keeps alive are nobody's leak.
- A mark over its limit fails the test in pytest (its summary, exit status
  and --junitxml) with the figure and the limit; memray check judges the
  same window from the capture and agrees.
- A test that fails its mark shows the stacks behind the figure: the
  tracker flushes its records (memray_test_flush(), which names this
  process's capture) and the plugin runs `memray window` ($MEMRAY_BIN,
  set by memray check) on the capture so far; the top stacks, --stacks
  frames deep (1 by default, at least 5 for leaks, as pytest-memray),
  go in the failure text. Passing tests never pay for it.
- limit_leaks(filter_fn=f) is judged as pytest-memray judges it: per
  location (one stack), a location fails when it holds the limit or more
  and f(Stack) keeps it; f sees every leaked stack (frames innermost
  first, with function, filename and lineno), read the same way after
  the window ends, only for the tests that carry one. memray check
  cannot run f: a second END marker, "filtered-leaks=N", hands it the
  bytes f kept in failing locations, and memray check judges that.
- The interpreter is left as the test left it: no gc.collect(), no
  gc.freeze(). As with pytest-memray, a leak is what the test allocated
  and still held when its function returned; garbage in reference cycles
  the collector has not reached yet counts (rejected: collecting in every
  window costs 14x on a large suite, and freezing the survivors hid them
  from gc.get_referrers() and broke suites).

Installed (make install), the same module is also a pytest11 entry point
(memray_check_pytest-VERSION.dist-info in Python's dist-packages), so plain
pytest knows the marks and options and a --strict-markers suite collects
without the gate. There it judges nothing: the marks are inert, as
pytest-memray's are without --memray, and --memray on the command line is
a usage error (exit 4) that says to run the suite under memray check.
Under the gate, PYTEST_PLUGINS names this module again: pytest loads a
plugin name once, and PYTHONPATH puts the gate's copy first.

The marks' labels travel with the begin marker (fields split by the ASCII
unit separator, 0x1f); memray parses them too, so a bad size is memray's
error (exit 2), not the test's.
"""
import collections
import ctypes
import functools
import inspect
import json
import os
import re
import subprocess

import pytest

SEPARATOR = "\x1f"
MARKS = {"limit_memory": {"current_thread_only", "warmups"},
         "limit_leaks": {"current_thread_only", "filter_fn", "warmups"}}
SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
# the figures memray_test_stats() gives, in its order
LIVE, PEAK, COUNT, BYTES, OWN_LIVE, OWN_PEAK, INCOMPLETE = range(7)
_tracker = None


def _load():
    global _tracker
    path = os.environ.get("MEMRAY_TRACKER")
    if _tracker is None and path:
        try:
            lib = ctypes.PyDLL(path)    # already loaded: this only finds it
            lib.memray_test_begin.argtypes = [ctypes.c_char_p]
            lib.memray_test_begin.restype = None
            lib.memray_test_end_as.argtypes = [ctypes.c_char_p]
            lib.memray_test_end_as.restype = None
            lib.memray_test_stats.argtypes = [ctypes.POINTER(ctypes.c_uint64), ctypes.c_size_t]
            lib.memray_test_stats.restype = ctypes.c_size_t
            lib.memray_test_flush.argtypes = []
            lib.memray_test_flush.restype = ctypes.c_char_p
            lib.figures = (ctypes.c_uint64 * 7)()  # made once: ctypes caches the type
            _tracker = lib
            _stats(lib)     # ctypes builds its call's converters once, here
            lib.memray_test_end_as(None)
        except (OSError, AttributeError):
            _tracker = False
    return _tracker or None


def _stats(tracker):
    out = tracker.figures
    if tracker.memray_test_stats(out, 7) != 7 or out[INCOMPLETE]:
        return None
    return list(out)


def _in_window(func, begin, ended, warmups=0):
    """func, called inside a window: `warmups` calls first, begin() before
    the measured call, ended(raised) after it. An async func gives an async
    function."""
    if inspect.iscoroutinefunction(func):
        async def run_async(*args, **kwargs):
            for _ in range(warmups):
                await func(*args, **kwargs)
            begin()
            try:
                result = await func(*args, **kwargs)
            except BaseException:
                ended(True)
                raise
            ended(False)
            return result
        return run_async

    def run(*args, **kwargs):
        for _ in range(warmups):
            func(*args, **kwargs)
        begin()
        try:
            result = func(*args, **kwargs)
        except BaseException:
            ended(True)
            raise
        ended(False)
        return result
    return run


StackFrame = collections.namedtuple("StackFrame", "function filename lineno")


class Stack:
    """What a limit_leaks filter_fn is given: .frames, innermost first."""

    def __init__(self, frames):
        self.frames = tuple(frames)

    def __repr__(self):
        return "Stack(%r)" % (self.frames,)


def _window(tracker, stacks=5):
    """The last test window of this process's capture so far, as `memray
    window` gives it (a dict), or None when it cannot be had."""
    path, binary = tracker.memray_test_flush(), os.environ.get("MEMRAY_BIN")
    if not path or not binary:
        return None
    # MEMRAY_OUTPUT set but empty: the tracker runs the helper untracked and does not
    # put itself back into its LD_PRELOAD, so memray runs as it would anywhere else
    # (an ASan build, under make sanitize, refuses to start behind a preloaded library)
    env = dict(os.environ, MEMRAY_OUTPUT="")
    ours = os.path.realpath(os.environ.get("MEMRAY_TRACKER", "") or "/nonexistent")
    kept = [p for p in re.split(r"[: ]", env.get("LD_PRELOAD", "")) if p and os.path.realpath(p) != ours]
    if kept:
        env["LD_PRELOAD"] = ":".join(kept)
    else:
        env.pop("LD_PRELOAD", None)
    try:
        proc = subprocess.Popen([binary, "window", "-n", str(stacks), os.fsdecode(path)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out = proc.communicate()[0]
    except OSError:
        return None
    root = os.environ.get("MEMRAY_OUTPUT", "")
    try:    # a fork (not vfork) made a capture for the helper before its exec
        os.unlink("%s.%d" % (root, proc.pid))
    except OSError:
        pass
    try:
        return json.loads(out) if proc.returncode == 0 else None
    except ValueError:
        return None


def _frames(stack):
    return [StackFrame(f[0], f[1], f[2]) for f in stack["frames"]]


def _stack_text(title, stacks, depth, native):
    lines = [title]
    for stack in stacks:
        frames = [f for f in stack["frames"] if native or f[3]] or stack["frames"]
        lines.append("    - %s in %d allocation%s:" % (fmt(stack["bytes"]), stack["count"],
                                                      "" if stack["count"] == 1 else "s"))
        lines += ["        %s:%s:%d" % (f[0], f[1], f[2]) for f in frames[:depth]]
        if len(frames) > depth:
            lines.append("        ...")
    return "\n".join(lines)


def parse_size(text):
    """pytest-memray's sizes: every unit a power of 1024; None if bad."""
    m = SIZE.match(str(text))
    if not m or (m.group(2) == "" and m.group(3) and m.group(3).lower() == "ib"):
        return None
    return int(float(m.group(1)) * 1024 ** " kmgt".index(m.group(2).lower() or " "))


def fmt(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return "%.1f%s" % (n, unit) if unit != "B" else "%dB" % n
        n /= 1024.0
    return "%dB" % n


def _add(group, *names, **kw):
    try:
        group.addoption(*names, **kw)
    except ValueError:
        pass    # pytest-memray itself is installed: its option stands


def pytest_addoption(parser):
    group = parser.getgroup("memray", "memray check (pytest-memray's options)")
    _add(group, "--memray", action="store_true", default=False,
         help="track every test (implied under memray check)")
    _add(group, "--memray-bin-path", default=None,
         help="accepted; under memray check use --keep-captures DIR to keep the captures")
    _add(group, "--memray-bin-prefix", default=None, help="accepted; see --memray-bin-path")
    _add(group, "--hide-memray-summary", action="store_true", default=False,
         help="no memray report at the end of the session")
    _add(group, "--most-allocations", type=int, default=None,
         help="report the N tests with the highest peak (0: all; default 5)")
    _add(group, "--stacks", type=int, default=None,
         help="frames shown per stack in a failed mark's text (default 1; at least 5 for leaks)")
    _add(group, "--native", action="store_true", default=False,
         help="show native frames too in a failed mark's stacks")
    _add(group, "--trace-python-allocators", action="store_true", default=False,
         help="accepted, as pytest-memray's")
    _add(group, "--fail-on-increase", action="store_true", default=False,
         help="accepted; memray check --baseline does this")
    for name, kind in (("memray", "bool"), ("hide_memray_summary", "bool"), ("most_allocations", None),
                       ("stacks", None), ("native", "bool"), ("trace_python_allocators", "bool")):
        try:
            parser.addini(name, "as pytest-memray's", type=kind)
        except ValueError:
            pass


def register_marks(config):
    config.addinivalue_line("markers", "limit_memory(limit, *, current_thread_only=False, warmups=0): fail "
                            "the test when its peak memory reaches limit")
    config.addinivalue_line("markers", "limit_leaks(location_limit, *, filter_fn=None, current_thread_only="
                            "False, warmups=0): fail the test when it leaves limit or more allocated")


def pytest_configure(config):
    register_marks(config)
    if _load() is not None:
        config.pluginmanager.register(Gate(config), "memray_check_gate")
    elif config.getoption("memray", False) and not config.pluginmanager.has_plugin("memray"):
        # plain pytest, and pytest-memray (plugin "memray") is not here to take --memray
        raise pytest.UsageError("--memray needs memray check: memray check -- python3 -m pytest ...")


def _opt(config, name):
    value = config.getoption(name, None)
    if value in (None, False):
        try:
            value = config.getini(name)
        except (ValueError, KeyError):
            pass
    return value


def _marks(item):
    """{name: mark} of the memray marks on item; raises on an unknown keyword."""
    found = {}
    for name, allowed in MARKS.items():
        mark = item.get_closest_marker(name)
        if mark is None:
            continue
        unknown = sorted(set(mark.kwargs) - allowed - {"size"})
        if unknown:
            pytest.fail("%s: unknown keyword '%s' in @pytest.mark.%s" % (item.nodeid, unknown[0], name),
                              pytrace=False)
        found[name] = mark
    return found


def _limit(mark):
    return mark.args[0] if mark.args else mark.kwargs.get("size", "")


def _label(item):
    fields = [item.nodeid]
    for name in MARKS:
        mark = item.get_closest_marker(name)
        if mark is not None:
            fields.append("%s=%s" % (name, _limit(mark)))
            if mark.kwargs.get("current_thread_only"):
                fields.append("current_thread_only")    # memray check counts that thread alone too
    return SEPARATOR.join(fields).replace("\0", "")


class Gate:
    """The windows and verdicts of one session under memray check."""

    def __init__(self, config):
        self.config = config
        self.tracker = _tracker
        self.figures = {}       # nodeid -> stats of a test that passed
        self.problems = {}      # nodeid -> failure text
        self.filtered = {}      # nodeid -> the leaked stacks a filter_fn kept
        self.is_open = False    # a window is open: a fixture set up now is the test's

    def _begin(self, item):
        self.tracker.memray_test_begin(_label(item).encode("utf-8", "replace"))
        self.is_open = True

    def _end(self, item, raised):
        stats = _stats(self.tracker)
        self.tracker.memray_test_end_as(b"raised" if raised else b"")
        self.is_open = False
        if not raised and stats:
            self.figures[item.nodeid] = stats

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        """A wider-scoped fixture's setup in a window of its own."""
        func = fixturedef.func
        if self.is_open or fixturedef.scope == "function" or inspect.iscoroutinefunction(func) or \
                inspect.isasyncgenfunction(func):
            yield
            return
        nodeid = getattr(request.node, "nodeid", "")
        label = SEPARATOR.join(["%s::%s" % (nodeid, fixturedef.argname) if nodeid else fixturedef.argname,
                                "fixture=" + fixturedef.scope]).replace("\0", "")

        def begin():
            self.tracker.memray_test_begin(label.encode("utf-8", "replace"))

        def end(raised):
            self.tracker.memray_test_end_as(b"raised" if raised else b"")

        if inspect.isgeneratorfunction(func):
            def wrapper(*args, **kwargs):
                gen = func(*args, **kwargs)
                begin()
                try:
                    value = next(gen)
                except BaseException:
                    end(True)
                    raise
                end(False)
                yield value
                yield from gen      # its teardown, as pytest drives it
        else:
            wrapper = _in_window(func, begin, end)
        fixturedef.func = functools.wraps(func)(wrapper)
        try:
            yield
        finally:
            fixturedef.func = func

    @pytest.hookimpl(hookwrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        func = pyfuncitem.obj
        marks = _marks(pyfuncitem)
        warmups = max([int(m.kwargs.get("warmups", 0)) for m in marks.values()] + [0])

        def ended(raised):
            self._end(pyfuncitem, raised)
            if not raised:
                self._filter(pyfuncitem)

        run = _in_window(func, lambda: self._begin(pyfuncitem), ended, warmups)
        # a plain function, as pytest expects, that returns the coroutine of an async test
        pyfuncitem.obj = functools.wraps(func)(lambda *a, **k: run(*a, **k))
        try:
            yield
        finally:
            pyfuncitem.obj = func

    def _filter(self, item):
        """limit_leaks(filter_fn=f): the leaked stacks at or over the limit
        that f keeps; memray check is told their bytes."""
        mark = item.get_closest_marker("limit_leaks")
        fn = mark.kwargs.get("filter_fn") if mark is not None else None
        limit = parse_size(_limit(mark)) if fn is not None else None
        if limit is None or item.nodeid not in self.figures:
            return
        window = _window(self.tracker, 0)
        if window is None:
            return      # judged on the total, unfiltered, as without a filter
        kept = [s for s in window["leaks"] if s["bytes"] >= limit and fn(Stack(_frames(s)))]
        self.filtered[item.nodeid] = kept
        self.tracker.memray_test_end_as(b"filtered-leaks=%d" % sum(s["bytes"] for s in kept))

    def _stacks(self, item, name):
        """The failure text's stacks for mark name, or "" when none can be had."""
        depth = int(_opt(self.config, "stacks") or 1)
        if name == "limit_leaks" and item.nodeid in self.filtered:
            stacks = self.filtered[item.nodeid][:5]
        else:
            window = _window(self.tracker)
            if window is None:
                return ""
            stacks = window["peak_stacks" if name == "limit_memory" else "leaks"][:5]
        if name == "limit_memory":
            return _stack_text("Top stacks at the peak:", stacks, depth, _opt(self.config, "native"))
        return _stack_text("Top leaked stacks:", stacks, max(depth, 5), _opt(self.config, "native"))

    def _is_unittest(self, item):
        return not isinstance(item, pytest.Function) or type(item).__name__ == "TestCaseFunction"

    def _runtest_window(self, item):
        """An item that is no function (a doctest): its runtest, then its
        window closes after its teardown."""
        runtest = item.runtest

        def run():
            # pytest has set PYTEST_CURRENT_TEST already: not the test's
            self._begin(item)
            item._memray_open = True
            runtest()

        item.runtest = run
        yield

    def _method_window(self, item, method):
        """A TestCase's test method in its window: from its call to its
        return; what it freed later (tearDown) still leaves the window."""
        def begin():
            self._begin(item)
            item._memray_open = True

        def ended(raised):
            if raised:
                item._memray_open = False
                self._end(item, True)
            else:
                self.tracker.memray_test_end_as(b"settle")

        return functools.wraps(method)(_in_window(method, begin, ended))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        if not self._is_unittest(item):
            yield
            return
        _marks(item)
        testcase = getattr(item, "_testcase", None)
        method = getattr(item, "obj", None)
        if testcase is None or not callable(method):
            yield from self._runtest_window(item)
            return
        # pytest calls the TestCase with item.obj as its method (an async one
        # through the TestCase's own attribute, which it leaves alone)
        item.obj = wrapped = self._method_window(item, method)
        is_async = inspect.iscoroutinefunction(method)
        if is_async:
            setattr(testcase, item.name, wrapped)
        try:
            yield
        finally:
            item.obj = method
            if is_async:
                delattr(testcase, item.name)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item):
        yield
        if getattr(item, "_memray_open", False):
            item._memray_open = False
            self._end(item, getattr(item, "_memray_raised", True))

    def _judge(self, item, stats):
        """The failure text of the marks item breaks, or None."""
        for name, mark in _marks(item).items():
            limit = parse_size(_limit(mark))
            if limit is None:
                continue        # memray check reports the bad size
            own = mark.kwargs.get("current_thread_only", False)
            if name == "limit_memory":
                figure = stats[OWN_PEAK if own else PEAK]
                what = "Test was limited to %s but allocated %s" % (fmt(limit), fmt(figure))
            elif item.nodeid in self.filtered:
                kept = self.filtered[item.nodeid]
                figure = sum(s["bytes"] for s in kept)
                if kept:
                    return name, ("Test was allowed to leak %s per location; its filter_fn kept %d location%s "
                                  "at or over it, %s in all (%d bytes, limit %d bytes, @pytest.mark.%s)" % (
                                      fmt(limit), len(kept), "" if len(kept) == 1 else "s", fmt(figure), figure,
                                      limit, name))
                continue
            else:
                figure = stats[OWN_LIVE if own else LIVE]
                what = "Test was allowed to leak %s but leaked %s" % (fmt(limit), fmt(figure))
            if figure >= limit:
                return name, "%s (%d bytes, limit %d bytes, @pytest.mark.%s%s)" % (
                    what, figure, limit, name, ", current thread only" if own else "")
        return None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if call.when != "call":
            return
        if self._is_unittest(item):
            item._memray_raised = report.outcome != "passed"
            return
        stats = self.figures.get(item.nodeid)
        if report.outcome != "passed" or stats is None:
            return
        problem = self._judge(item, stats)
        if problem:
            name, text = problem
            stacks = self._stacks(item, name)
            text = text + "\n" + stacks if stacks else text
            report.outcome = "failed"
            report.longrepr = "memray: %s: %s" % (item.nodeid, text)
            report.sections.append(("memray-" + name.replace("_", "-"), text))
            self.problems[item.nodeid] = text

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_report_teststatus(self, report):
        outcome = yield
        if report.when == "call" and report.outcome == "failed" and report.nodeid in self.problems:
            outcome.force_result(("failed", "M", "MEMORY PROBLEMS"))

    def pytest_terminal_summary(self, terminalreporter):
        if _opt(self.config, "hide_memray_summary") or not self.figures:
            return
        most = _opt(self.config, "most_allocations")
        most = 5 if most in (None, "") else int(most)
        ranked = sorted(self.figures.items(), key=lambda kv: (-kv[1][PEAK], kv[0]))
        terminalreporter.write_sep("=", "MEMRAY REPORT")
        for nodeid, stats in ranked[:most or len(ranked)]:
            terminalreporter.write_line("%s: peak %s (%d bytes), %d allocations of %s, %s still held at its end"
                                        % (nodeid, fmt(stats[PEAK]), stats[PEAK], stats[COUNT],
                                           fmt(stats[BYTES]), fmt(stats[LIVE])))
