/*
 * Unit tests of ci/collect: a directory of captures as `memray check`
 * leaves it (the command's own and a forked child's) gives the whole run
 * and each marked test exactly their figures, each file read in one
 * pass; a capture whose tracker dropped records is refused by name; and
 * every allocation failing in turn is an error that leaks nothing.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/format.h"
#include "ci/collect.h"
#include "tests/unit/capbuild.h"
#include "tests/unit/fault.h"
#include "tests/unit/unit.h"

static char dir[64];

static void put(const char *path, const char *name)
{
	char to[128];

	snprintf(to, sizeof(to), "%s/%s", dir, name);
	ck_assert_int_eq(rename(path, to), 0);
}

/* the command's process: 4000 before any test, test t allocates 1000 + 500 and leaks the 500 */
static void root_capture(uint64_t lost)
{
	struct capbuild b;
	char *path;

	capbuild_start(&b, 100);
	capbuild_alloc(&b, 0x1000, 4000, 1);
	capbuild_marker(&b, CAPTURE_MARK_TEST_BEGIN, "test_one\x1flimit_memory=1 KB");
	capbuild_alloc(&b, 0x2000, 1000, 1);
	capbuild_alloc(&b, 0x3000, 500, 2);
	capbuild_free(&b, 0x2000);
	capbuild_marker(&b, CAPTURE_MARK_TEST_END, "");
	capbuild_free(&b, 0x1000);
	path = capbuild_finish(&b, lost);
	put(path, "memray-check.bin");
	free(path);
}

/* a forked child: 9000 at once, 3000 of it leaked */
static void child_capture(void)
{
	struct capbuild b;
	char *path;

	capbuild_start(&b, 123);
	capbuild_alloc(&b, 0x8000, 6000, 2);
	capbuild_alloc(&b, 0x9000, 3000, 1);
	capbuild_free(&b, 0x8000);
	path = capbuild_finish(&b, 0);
	put(path, "memray-check.bin.123");
	free(path);
}

/* a process of program exe, pid, leaking `leak` bytes at stack 1 */
static void process_capture(const char *name, uint32_t pid, const char *exe, uint64_t leak)
{
	struct capbuild b;
	char *path;

	capbuild_start(&b, pid);
	capbuild_module(&b, exe);
	capbuild_alloc(&b, 0x1000, 700, 2);
	capbuild_free(&b, 0x1000);
	if (leak)
		capbuild_alloc(&b, 0x2000, leak, 1);
	path = capbuild_finish(&b, 0);
	put(path, name);
	free(path);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/memray-test-collect-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(whole_run_and_tests)
{
	struct ci_results res;
	const struct ci_subject *t;

	root_capture(0);
	child_capture();
	ck_assert_int_eq(ci_collect(dir, NULL, CI_WHOLE_LEAKS, NULL, &res), 0);
	ck_assert_uint_eq(res.captures, 2);
	ck_assert_str_eq(res.whole.id, "(whole run)");
	/* both processes peak at the same moment (their captures share one clock): the job holds both */
	ck_assert_uint_eq(res.whole.peak, 5500 + 9000);
	ck_assert_uint_eq(res.whole.processes.n, 2);
	ck_assert_uint_eq(res.whole.processes.l[0].bytes, 9000);
	ck_assert_str_eq(res.whole.processes.l[0].location, "pid 123: ./prog");
	ck_assert_uint_eq(res.whole.processes.l[1].bytes, 5500);
	ck_assert_uint_eq(res.whole.allocations, 5);
	ck_assert_uint_eq(res.whole.bytes, 14500);
	ck_assert_uint_eq(res.whole.leaked, 3500);
	ck_assert_uint_eq(res.whole.leaked_count, 2);
	ck_assert_uint_eq(res.whole.leak_stacks.n, 2);	/* two stacks, at two addresses */
	ck_assert_uint_eq(res.whole.peak_stacks.n, 2);
	ck_assert_uint_eq(res.whole.peak_stacks.l[0].bytes, 6000);
	ck_assert_uint_eq(res.ntests, 1);
	t = &res.tests[0];
	ck_assert_str_eq(t->id, "test_one");
	ck_assert_str_eq(t->marks, "limit_memory=1 KB");
	ck_assert(t->is_test && !t->is_unfinished);
	ck_assert_uint_eq(t->peak, 1500);
	ck_assert_uint_eq(t->allocations, 2);
	ck_assert_uint_eq(t->bytes, 1500);
	ck_assert_uint_eq(t->leaked, 500);
	ck_assert_uint_eq(t->leaked_count, 1);
	ck_assert_uint_eq(t->leak_stacks.n, 1);
	ck_assert_str_eq(t->leak_stacks.l[0].location, "0x401010:?:0");
	ci_results_release(&res);
}
END_TEST

/* a shell runs two of the user's programs and a sed: two cases, the sed's leak is no one's */
START_TEST(a_harness_runs_programs)
{
	struct ci_results res;
	const char *globs[] = { "nothing *" };
	struct ci_select sel = { globs, 1 };
	char renamed[128];

	process_capture("memray-check.bin", 100, "/bin/sh", 50);
	process_capture("memray-check.bin.101", 101, "/tmp/build/prog", 0);
	process_capture("memray-check.bin.102", 102, "/usr/bin/sed", 60);
	process_capture("memray-check.bin.103", 103, "/tmp/build/prog", 4321);
	ck_assert_int_eq(ci_collect(dir, NULL, CI_WHOLE_LEAKS, &sel, &res), 0);
	ck_assert(res.has_process_cases);
	ck_assert_uint_eq(res.ntests, 2);
	ck_assert_str_eq(res.tests[0].id, "./prog");
	ck_assert_str_eq(res.tests[1].id, "./prog #2");
	ck_assert_uint_eq(res.tests[0].peak, 700);
	ck_assert_uint_eq(res.tests[0].leaked, 0);
	ck_assert_uint_eq(res.tests[1].leaked, 4321);
	ck_assert_uint_eq(res.tests[1].allocations, 2);
	ck_assert_uint_eq(res.whole.leaked, 4321);	/* sh's 50 and sed's 60 are the harness's */
	ck_assert_uint_eq(res.whole.allocations, 7);
	snprintf(renamed, sizeof(renamed), "%s/memray-check.prog.103.bin", dir);
	ck_assert_int_eq(access(renamed, F_OK), 0);
	ci_results_release(&res);
	/* the programs' captures renamed, what is left is sh and sed: a glob on their command line selects them */
	globs[0] = "./pro?";
	ck_assert_int_eq(ci_collect(dir, NULL, CI_WHOLE_LEAKS, &sel, &res), 0);
	ck_assert_uint_eq(res.ntests, 2);
	ck_assert_uint_eq(res.tests[1].leaked, 60);
	ck_assert_uint_eq(res.whole.leaked, 110);
	ci_results_release(&res);
}
END_TEST

START_TEST(dropped_records_are_an_error)
{
	struct ci_results res;
	FILE *quiet = freopen("/dev/null", "w", stderr);

	ck_assert_ptr_nonnull(quiet);
	setvbuf(stderr, NULL, _IONBF, 0);	/* no buffer allocated mid-count */
	root_capture(7);
	ck_assert_int_eq(ci_collect(dir, NULL, CI_WHOLE_LEAKS, NULL, &res), -1);
	ck_assert_uint_eq(res.captures, 0);
	ci_results_release(&res);
}
END_TEST

START_TEST(a_missing_directory_is_an_error)
{
	struct ci_results res;
	FILE *quiet = freopen("/dev/null", "w", stderr);

	ck_assert_ptr_nonnull(quiet);
	setvbuf(stderr, NULL, _IONBF, 0);	/* no buffer allocated mid-count */
	ck_assert_int_eq(ci_collect("/nonexistent/memray", NULL, CI_WHOLE_LEAKS, NULL, &res), -1);
	ci_results_release(&res);
}
END_TEST

#if FAULT_INJECTION
START_TEST(every_allocation_failing_in_turn)
{
	FILE *quiet = freopen("/dev/null", "w", stderr);
	int n, ret;

	ck_assert_ptr_nonnull(quiet);
	setvbuf(stderr, NULL, _IONBF, 0);	/* no buffer allocated mid-count */
	root_capture(0);	/* one capture: no second thread racing the fault counters */
	for (n = 0;; n++) {
		struct ci_results res;
		long live = fault_live_allocs();
		size_t tests;

		fault_fail_alloc_after(n);
		ret = ci_collect(dir, NULL, CI_WHOLE_LEAKS, NULL, &res);
		tests = res.ntests;
		ci_results_release(&res);
		fault_reset();	/* before any ck_assert: Check allocates */
		ck_assert_msg(fault_live_allocs() == live, "allocation %d failing leaked %ld blocks", n,
			      fault_live_allocs() - live);
		if (!ret) {
			ck_assert_uint_eq(tests, 1);
			break;
		}
		ck_assert_int_eq(ret, -1);
	}
	ck_assert_int_gt(n, 5);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("collect");
	TCase *tc = tcase_create("collect");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, whole_run_and_tests);
	tcase_add_test(tc, a_harness_runs_programs);
	tcase_add_test(tc, dropped_records_are_an_error);
	tcase_add_test(tc, a_missing_directory_is_an_error);
#if FAULT_INJECTION
	tcase_add_test(tc, every_allocation_failing_in_turn);
#endif
	suite_add_tcase(s, tc);
	return unit_run(s);
}
