/*
 * ci/windows: the per-test windows of one capture, for `memray check`.
 *
 * A test runner marks each test with MARKER records (memray_test_begin()
 * and memray_test_end(), see tracker/memray_test.h). ci_windows_read()
 * reads a capture once more, after the analysis, and gives each marked
 * test its own heap model, fed only the blocks allocated while the test
 * ran (and their frees). So a window's figures are:
 *   peak       the highest sum of live bytes the test itself allocated:
 *              the peak above the heap live at its start. A free of an
 *              older block does not lower it (as pytest-memray counts).
 *   allocations, bytes   made inside the window
 *   leaked     allocated inside and still live when the test ended
 * with the stacks behind the peak and the leak, by stack id numbered as
 * report/analysis numbers them (ids shifted per image), so the caller
 * symbolizes them with the analysis of the same capture.
 *
 * A BEGIN while a window is open ends that window first; an END with no
 * window open is ignored; a window still open when its image ends (the
 * test crashed or the process exited) is closed there and flagged.
 *
 * Ownership: ci_windows_read() fills a ci_windows the caller releases
 * with ci_windows_release(); every array and string in it is owned.
 */
#ifndef CI_WINDOWS_H
#define CI_WINDOWS_H

#include <stddef.h>
#include <stdint.h>

struct ci_stack_bytes {
	uint32_t stack;
	uint64_t bytes, count;
};

struct ci_window {
	char *name;		/* the marker's label: the test id */
	uint64_t peak, peak_count;	/* bytes and blocks live at the window's peak */
	uint64_t allocations, bytes;
	uint64_t leaked, leaked_count;
	int is_unfinished;	/* no END marker: closed with its image */
	struct ci_stack_bytes *at_peak;	/* stacks live at the peak, most bytes first */
	size_t nat_peak;
	struct ci_stack_bytes *leaks;	/* stacks live at the end, most bytes first */
	size_t nleaks;
};

struct ci_windows {
	struct ci_window *w;
	size_t n;
};

/* 0, or -1 after an error message (the capture cannot be read, out of memory) */
int ci_windows_read(struct ci_windows *ws, const char *path);
void ci_windows_release(struct ci_windows *ws);

#endif
