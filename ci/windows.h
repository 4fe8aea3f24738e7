/*
 * ci/windows: the per-test windows of one capture, for `memray check`.
 *
 * A test runner marks each test with MARKER records (memray_test_begin()
 * and memray_test_end(), see tracker/memray_test.h). The windows are an
 * observer of the capture's one analysis pass (report/analysis.h): each
 * marked test gets its own heap model, fed only the blocks allocated
 * while the test ran (and their frees). So a window's figures are:
 *   peak       the highest sum of live bytes the test itself allocated:
 *              the peak above the heap live at its start. A free of an
 *              older block does not lower it (as pytest-memray counts).
 *   allocations, bytes   made inside the window
 *   leaked     allocated inside and still live when the test ended; when
 *              the tracker scanned at the test's end (native tests under
 *              memray check), only what it found lost
 * with the stacks behind the peak and the leak, by the global stack ids
 * the analysis hands its observers, so the caller symbolizes them with
 * that same analysis.
 *
 * Each window keeps its times, by the capture's clock (the MEMORY
 * records; the tracker writes one right before each MARKER, so a window's
 * begin and end are known to the millisecond), and its live bytes at each
 * clock reading and at its own peak: what a test held over time, for the
 * processes it started to be added to (ci/collect).
 *
 * An END labelled "settle" ends what the window takes in but not what it
 * gives back: from there on no new block enters it, but frees still leave
 * it until the next END (or BEGIN) closes it. A unittest.TestCase's window
 * is its test method's call; what the method left on self is freed in
 * tearDown, after it, and is no leak.
 * An END labelled "raised" (memray_test_end_as) says the test did not
 * pass: it gets no verdict, as pytest-memray judges passed tests only.
 * A second END, with no window open, labelled "filtered-leaks=N" gives
 * the last window the runner's own leak figure: pytest's limit_leaks
 * filter_fn (a Python function memray cannot run) kept N bytes in
 * locations at or over the limit; rules judge that figure instead.
 * A TIME record before a marker (captures of version 1.2 on) gives the
 * window its duration, the test's time in the JUnit file.
 * A label with a "current_thread_only" field counts only the allocations
 * of the thread that began the window (pytest-memray's keyword).
 * A BEGIN while a window is open ends that window first; an END with no
 * window open is ignored; a window still open when its image ends (the
 * test crashed, the process exited or exec'd, the capture was cut short)
 * is closed there and flagged.
 *
 * Ownership: the ci_windows (zeroed, or CI_WINDOWS_INIT) owns every array
 * and string in it; ci_windows_release() frees them.
 */
#ifndef CI_WINDOWS_H
#define CI_WINDOWS_H

#include <stddef.h>
#include <stdint.h>

struct ci_stack_bytes {
	uint32_t stack;
	uint64_t bytes, count;
};

/* a window's own live bytes from ms on (ms since its capture started) */
struct ci_window_point {
	uint64_t ms, heap;
};

struct ci_window {
	char *name;		/* the marker's label: the test id */
	uint64_t begin_ms, end_ms;	/* since the capture started: the clock at BEGIN and at END (or settle) */
	struct ci_window_point *points;	/* its live bytes at each clock reading and at its peak, in time order */
	size_t npoints, points_alloc;
	uint64_t peak, peak_count;	/* bytes and blocks live at the window's peak */
	uint64_t allocations, bytes;
	uint64_t leaked, leaked_count;
	int is_unfinished;	/* no END marker: closed with its image */
	int has_raised;		/* END labelled "raised": the test did not pass */
	int is_filtered;	/* a "filtered-leaks=N" END came: N is in filtered */
	uint64_t filtered;
	uint64_t ns;		/* how long the test ran, BEGIN to END by the clock (to the ns with TIME records); 0: unknown */
	uint32_t only_tid;	/* count this thread alone (label has current_thread_only), or 0 */
	struct ci_stack_bytes *at_peak;	/* stacks live at the peak, most bytes first */
	size_t nat_peak;
	struct ci_stack_bytes *leaks;	/* stacks live at the end, most bytes first */
	size_t nleaks;
};

struct ci_windows {
	struct ci_window *w;
	size_t n, alloc;
	struct heapmodel *open;	/* private: the open window's model, or NULL */
	int is_settling;	/* private: the open window takes no new block ("settle") */
	uint64_t now_ns;	/* private: the capture's clock */
	uint64_t began_ns;	/* private: when the open window began */
};

#define CI_WINDOWS_INIT { NULL, 0, 0, NULL, 0, 0, 0 }

struct analysis_observer;
/* make obs the observer that fills ws during an analysis pass */
void ci_windows_observer(struct ci_windows *ws, struct analysis_observer *obs);
void ci_windows_release(struct ci_windows *ws);

#endif
