/*
 * Unit tests of ci/windows: a capture built here with MARKER records gives
 * each test window exactly the figures its allocations make, including
 * the odd cases (an END with no test open, a BEGIN inside a test, a test
 * still open when its process ends). The windows ride on the analysis
 * pass as its observer, as `memray check` runs them.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/format.h"
#include "capture/reader.h"
#include "ci/windows.h"
#include "report/analysis.h"
#include "tests/unit/capbuild.h"
#include "tests/unit/fault.h"
#include "tests/unit/unit.h"

static char *build(void)
{
	struct capbuild b;

	capbuild_start(&b, 5);
	capbuild_marker(&b, CAPTURE_MARK_TEST_END, "");	/* no test open: ignored */
	capbuild_alloc(&b, 0x1000, 4000, 1);			/* before any test */
	capbuild_marker(&b, CAPTURE_MARK_TEST_BEGIN, "t1");
	capbuild_alloc(&b, 0x2000, 1000, 1);
	capbuild_alloc(&b, 0x3000, 500, 2);
	capbuild_free(&b, 0x2000);
	capbuild_alloc(&b, 0x4000, 200, 2);
	capbuild_free(&b, 0x1000);			/* older than t1: does not lower its figures */
	capbuild_marker(&b, CAPTURE_MARK_TEST_END, "");
	capbuild_marker(&b, CAPTURE_MARK_TEST_BEGIN, "t2\x1flimit_memory=1 MB");
	capbuild_alloc(&b, 0x5000, 300, 1);
	capbuild_marker(&b, CAPTURE_MARK_TEST_BEGIN, "t3");	/* ends t2 */
	capbuild_alloc(&b, 0x6000, 50, 1);
	return capbuild_finish(&b, 0);			/* t3 still open */
}

/* one analysis pass over path with the windows observing it: 0 or -1 */
static int read_windows(struct ci_windows *ws, const char *path)
{
	struct analysis_observer obs;
	struct analysis_options opts = { .observers = &obs, .nobservers = 1 };
	struct analysis a;
	int ret;

	memset(ws, 0, sizeof(*ws));
	ci_windows_observer(ws, &obs);
	ret = capbuild_analyse(&a, path, &opts);
	analysis_release(&a);
	return ret;
}

START_TEST(windows_figures)
{
	char *path = build();
	struct ci_windows ws;
	const struct ci_window *w;

	ck_assert_int_eq(read_windows(&ws, path), 0);
	unlink(path);
	free(path);
	ck_assert_uint_eq(ws.n, 3);
	w = &ws.w[0];
	ck_assert_str_eq(w->name, "t1");
	ck_assert(w->peak == 1500 && w->peak_count == 2);
	ck_assert(w->allocations == 3 && w->bytes == 1700);
	ck_assert(w->leaked == 700 && w->leaked_count == 2 && !w->is_unfinished);
	/* at the peak: stack 1 held 1000, stack 2 held 500; at the end only stack 2, 700 */
	ck_assert_uint_eq(w->nat_peak, 2);
	ck_assert(w->at_peak[0].stack == 1 && w->at_peak[0].bytes == 1000 && w->at_peak[1].bytes == 500);
	ck_assert_uint_eq(w->nleaks, 1);
	ck_assert(w->leaks[0].stack == 2 && w->leaks[0].bytes == 700 && w->leaks[0].count == 2);
	w = &ws.w[1];
	ck_assert_str_eq(w->name, "t2\x1flimit_memory=1 MB");
	ck_assert(w->peak == 300 && w->leaked == 300 && w->allocations == 1 && w->is_unfinished);
	w = &ws.w[2];
	ck_assert_str_eq(w->name, "t3");
	ck_assert(w->peak == 50 && w->leaked == 50 && w->is_unfinished);
	ci_windows_release(&ws);
	ck_assert_uint_eq(ws.n, 0);
}
END_TEST

/* "settle": no block enters after it, frees still leave until the END (a TestCase's tearDown) */
START_TEST(settle_takes_frees_only)
{
	struct capbuild b;
	struct ci_windows ws;
	const struct ci_window *w;
	char *path;

	capbuild_start(&b, 5);
	capbuild_marker(&b, CAPTURE_MARK_TEST_BEGIN, "u");
	capbuild_alloc(&b, 0x1000, 100, 1);		/* the method's, on self */
	capbuild_marker(&b, CAPTURE_MARK_TEST_END, "settle");
	capbuild_alloc(&b, 0x2000, 50, 1);		/* pytest's, after the method */
	capbuild_free(&b, 0x1000);			/* tearDown */
	capbuild_marker(&b, CAPTURE_MARK_TEST_END, "");
	path = capbuild_finish(&b, 0);
	ck_assert_int_eq(read_windows(&ws, path), 0);
	unlink(path);
	free(path);
	ck_assert_uint_eq(ws.n, 1);
	w = &ws.w[0];
	ck_assert(w->peak == 100 && w->allocations == 1 && w->leaked == 0 && !w->is_unfinished);
	/* one clock reading (none in the capture): the window's time line holds its peak */
	ck_assert(w->begin_ms == 0 && w->end_ms == 0 && w->npoints == 1 && w->points[0].heap == 100);
	ci_windows_release(&ws);
}
END_TEST

START_TEST(not_a_capture)
{
	char path[] = "/tmp/memray-test-windows-XXXXXX";
	int fd = mkstemp(path);
	struct ci_windows ws;
	FILE *quiet = freopen("/dev/null", "w", stderr);

	ck_assert_ptr_nonnull(quiet);
	setvbuf(stderr, NULL, _IONBF, 0);	/* no buffer allocated mid-count */
	ck_assert_int_eq(write(fd, "hello, world\n", 13), 13);
	close(fd);
	ck_assert_int_eq(read_windows(&ws, path), -1);
	ck_assert_uint_eq(ws.n, 0);
	unlink(path);
}
END_TEST

#if FAULT_INJECTION
struct fault_run {
	const char *path;
	struct ci_windows ws;
};

static int fault_run(void *ctx)
{
	struct fault_run *f = ctx;

	return read_windows(&f->ws, f->path);
}

static void fault_check(void *ctx)
{
	ck_assert_uint_eq(((struct fault_run *)ctx)->ws.n, 3);
}

static void fault_release(void *ctx)
{
	ci_windows_release(&((struct fault_run *)ctx)->ws);
}

/* fail the pass's allocations in turn: an error each time, nothing leaked */
START_TEST(windows_out_of_memory)
{
	struct fault_run f = { .path = build() };
	const struct unit_fault_case fc = { fault_run, fault_check, fault_release, &f };

	ck_assert_int_gt(unit_fault_loop(&fc, 1), 5);
	ck_assert_int_gt(unit_fault_loop(&fc, 0), 5);
	unlink(f.path);
	free((char *)f.path);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("windows");
	TCase *tc = tcase_create("read");

	tcase_add_test(tc, windows_figures);
	tcase_add_test(tc, settle_takes_frees_only);
	tcase_add_test(tc, not_a_capture);
#if FAULT_INJECTION
	tcase_add_test(tc, windows_out_of_memory);
#endif
	suite_add_tcase(s, tc);
	return unit_run(s);
}
