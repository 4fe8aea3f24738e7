/*
 * Unit tests of report/analysis: the one pass over a capture. A capture
 * built record by record gives exact totals, peak and leaks; observers
 * see every alloc, free, marker and image end with global stack ids, and
 * one that fails ends the pass; a capture cut short still ends its image;
 * and every allocation failing in turn is an error that leaks nothing.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/format.h"
#include "capture/reader.h"
#include "report/analysis.h"
#include "tests/unit/capbuild.h"
#include "tests/unit/fault.h"
#include "tests/unit/unit.h"

/* 4000@1, 1000@1, 500@2, free, 200@2, free of the first, 300@1: peak 5500, 1000 leaked */
static char *build(uint64_t lost, int cut)
{
	struct capbuild b;

	capbuild_start(&b, 7);
	capbuild_alloc(&b, 0x1000, 4000, 1);
	capbuild_marker(&b, CAPTURE_MARK_TEST_BEGIN, "t");
	capbuild_alloc(&b, 0x2000, 1000, 1);
	capbuild_alloc(&b, 0x3000, 500, 2);
	capbuild_free(&b, 0x2000);
	capbuild_alloc(&b, 0x4000, 200, 2);
	capbuild_free(&b, 0x1000);
	capbuild_marker(&b, CAPTURE_MARK_TEST_END, "");
	capbuild_alloc(&b, 0x5000, 300, 1);
	return cut ? capbuild_finish_cut(&b) : capbuild_finish(&b, lost);
}

static const struct analysis_entry *entry_of(const struct analysis *a, uint32_t stack)
{
	for (size_t i = 0; i < a->nentries; i++)
		if (a->entries[i].stack == stack)
			return &a->entries[i];
	return NULL;
}

START_TEST(figures_are_exact)
{
	char *path = build(0, 0);
	struct analysis a;
	const struct analysis_entry *e1, *e2;

	ck_assert_int_eq(capbuild_analyse(&a, path, NULL), 0);
	ck_assert(a.is_complete && !a.is_aggregated && a.segments == 1 && a.lost == 0);
	ck_assert_uint_eq(a.total_allocations, 5);
	ck_assert_uint_eq(a.total_bytes, 6000);
	ck_assert_uint_eq(a.total_frees, 2);
	ck_assert_uint_eq(a.peak_bytes, 5500);
	ck_assert_uint_eq(a.peak_allocations, 3);
	ck_assert_uint_eq(a.leaked_bytes, 1000);
	ck_assert_uint_eq(a.leaked_allocations, 3);
	e1 = entry_of(&a, 1);
	e2 = entry_of(&a, 2);
	ck_assert(e1 && e2);
	ck_assert(e1->allocs == 3 && e1->bytes == 5300 && e1->peak_bytes == 5000 && e1->leak_bytes == 300);
	ck_assert(e2->allocs == 2 && e2->bytes == 700 && e2->peak_bytes == 500 && e2->leak_bytes == 700);
	ck_assert_uint_eq(a.nthreads, 1);
	ck_assert_uint_eq(a.threads[0], 7);
	analysis_release(&a);
	unlink(path);
	free(path);
}
END_TEST

/* what an observer saw, in order, as one line of text */
struct seen {
	char log[512];
	int fail_at_marker;
};

static void say(struct seen *s, const char *what)
{
	strncat(s->log, what, sizeof(s->log) - strlen(s->log) - 1);
}

static int seen_alloc(void *ctx, const struct capture_record *rec, uint32_t stack)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "A%llu@%u ", (unsigned long long)rec->size, stack);
	say(ctx, buf);
	return 0;
}

static int seen_free(void *ctx, const struct capture_record *rec)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "F%llx ", (unsigned long long)rec->address);
	say(ctx, buf);
	return 0;
}

static int seen_marker(void *ctx, const struct capture_record *rec)
{
	struct seen *s = ctx;

	say(s, rec->kind == CAPTURE_MARK_TEST_BEGIN ? "B " : "E ");
	return s->fail_at_marker ? -1 : 0;
}

static int seen_end(void *ctx, int is_last)
{
	say(ctx, is_last ? "last" : "image ");
	return 0;
}

/* a COLLECT is the block's free, counted as the collector's */
START_TEST(collected_blocks_are_freed_and_counted)
{
	struct capbuild b;
	struct seen s = { "", 0 };
	const struct analysis_observer obs = { &s, seen_alloc, seen_free, NULL, NULL, NULL, NULL };
	struct analysis_options opts = { .observers = &obs, .nobservers = 1 };
	struct analysis a;
	char *path;

	capbuild_start(&b, 7);
	capbuild_alloc(&b, 0x1000, 600, 1);
	capbuild_alloc(&b, 0x2000, 400, 2);
	capbuild_collect(&b, 0x1000, CAPTURE_REACH_DEFINITE);
	path = capbuild_finish(&b, 0);
	ck_assert_int_eq(capbuild_analyse(&a, path, &opts), 0);
	ck_assert_str_eq(s.log, "A600@1 A400@2 F1000 ");
	ck_assert_uint_eq(a.collected_allocations, 1);
	ck_assert_uint_eq(a.collected_bytes, 600);
	ck_assert_uint_eq(a.total_frees, 1);
	ck_assert_uint_eq(a.leaked_bytes, 400);
	ck_assert_uint_eq(entry_of(&a, 1)->collected_bytes, 600);
	ck_assert_uint_eq(entry_of(&a, 1)->leak_bytes, 0);
	ck_assert_uint_eq(entry_of(&a, 2)->collected_count, 0);
	analysis_release(&a);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(observers_see_the_stream_in_order)
{
	char *path = build(0, 0);
	struct seen s1 = { "", 0 }, s2 = { "", 0 };
	const struct analysis_observer obs[] = {
		{ &s1, seen_alloc, seen_free, seen_marker, seen_end, NULL, NULL },
		{ &s2, NULL, NULL, seen_marker, NULL, NULL, NULL },	/* callbacks may be missing */
	};
	struct analysis_options opts = { .observers = obs, .nobservers = 2 };
	struct analysis a;

	ck_assert_int_eq(capbuild_analyse(&a, path, &opts), 0);
	ck_assert_str_eq(s1.log, "A4000@1 B A1000@1 A500@2 F2000 A200@2 F1000 E A300@1 last");
	ck_assert_str_eq(s2.log, "B E ");
	analysis_release(&a);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(an_observer_that_fails_ends_the_pass)
{
	char *path = build(0, 0);
	struct seen s = { "", 1 };
	const struct analysis_observer obs = { &s, seen_alloc, NULL, seen_marker, seen_end, NULL, NULL };
	struct analysis_options opts = { .observers = &obs, .nobservers = 1 };
	struct analysis a;

	ck_assert_int_eq(capbuild_analyse(&a, path, &opts), -1);
	ck_assert_str_eq(s.log, "A4000@1 B ");	/* nothing after the failure */
	analysis_release(&a);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(a_capture_cut_short_still_ends_its_image)
{
	char *path = build(0, 1);
	struct seen s = { "", 0 };
	const struct analysis_observer obs = { &s, NULL, NULL, NULL, seen_end, NULL, NULL };
	struct analysis_options opts = { .observers = &obs, .nobservers = 1 };
	struct analysis a;

	ck_assert_int_eq(capbuild_analyse(&a, path, &opts), 0);
	ck_assert(!a.is_complete);
	ck_assert_str_eq(s.log, "last");
	ck_assert_uint_eq(a.peak_bytes, 5500);
	analysis_release(&a);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(records_the_tracker_dropped_are_counted)
{
	char *path = build(42, 0);
	struct analysis a;

	ck_assert_int_eq(capbuild_analyse(&a, path, NULL), 0);
	ck_assert_uint_eq(a.lost, 42);
	analysis_release(&a);
	unlink(path);
	free(path);
}
END_TEST

/* sizes that would wrap a 64-bit figure: the capture is refused, not reported with a wrapped total */
START_TEST(sizes_past_two_to_the_64_are_refused)
{
	struct capbuild b;
	char *path;
	struct analysis a;
	char msg[512] = "";
	FILE *err = tmpfile();
	int saved = dup(2), ret;

	capbuild_start(&b, 7);
	capbuild_alloc(&b, 0x1000, 1ull << 63, 1);
	capbuild_alloc(&b, 0x2000, 1ull << 63, 1);	/* 2^64 live: one past the largest figure */
	path = capbuild_finish(&b, 0);
	ck_assert_ptr_nonnull(err);
	dup2(fileno(err), 2);
	ret = capbuild_analyse(&a, path, NULL);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(err);
	ck_assert_ptr_nonnull(fgets(msg, sizeof(msg), err));
	fclose(err);
	ck_assert_int_eq(ret, -1);
	ck_assert_msg(strstr(msg, "allocation sizes add up past 2^64 bytes") && strstr(msg, path), "%s", msg);
	analysis_release(&a);
	unlink(path);
	free(path);
}
END_TEST

#if FAULT_INJECTION
struct fault_run {
	const char *path;
	struct analysis a;
};

static int fault_run(void *ctx)
{
	struct fault_run *f = ctx;
	struct analysis_options opts = { .temporal = 1, .temporary_within = 1 };

	return capbuild_analyse(&f->a, f->path, &opts);
}

static void fault_check(void *ctx)
{
	ck_assert_uint_eq(((struct fault_run *)ctx)->a.peak_bytes, 5500);
}

static void fault_release(void *ctx)
{
	analysis_release(&((struct fault_run *)ctx)->a);
}

START_TEST(every_allocation_failing_in_turn)
{
	struct fault_run f = { .path = build(0, 0) };
	const struct unit_fault_case fc = { fault_run, fault_check, fault_release, &f };

	ck_assert_int_gt(unit_fault_loop(&fc, 1), 3);
	ck_assert_int_gt(unit_fault_loop(&fc, 0), 3);
	unlink(f.path);
	free((char *)f.path);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("analysis");
	TCase *tc = tcase_create("pass");

	tcase_add_test(tc, figures_are_exact);
	tcase_add_test(tc, observers_see_the_stream_in_order);
	tcase_add_test(tc, collected_blocks_are_freed_and_counted);
	tcase_add_test(tc, an_observer_that_fails_ends_the_pass);
	tcase_add_test(tc, a_capture_cut_short_still_ends_its_image);
	tcase_add_test(tc, records_the_tracker_dropped_are_counted);
	tcase_add_test(tc, sizes_past_two_to_the_64_are_refused);
#if FAULT_INJECTION
	tcase_add_test(tc, every_allocation_failing_in_turn);
#endif
	suite_add_tcase(s, tc);
	return unit_run(s);
}
