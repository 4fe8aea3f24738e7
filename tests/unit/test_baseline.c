/* Unit tests of assert/baseline: a round trip, and every damaged or foreign file refused in one line. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assert/baseline.h"
#include "common/strbuf.h"
#include "tests/unit/fault.h"
#include "tests/unit/unit.h"

static const char good[] =
	"{ \"format\": \"memray-baseline\", \"version\": 1, \"tests\": [\n"
	"  { \"id\": \"(whole run)\", \"peak\": 158000, \"leaked\": 1500, \"allocations\": 1007,\n"
	"    \"stacks\": [ { \"location\": \"churn:m.c:21\", \"bytes\": 100000 } ] },\n"
	"  { \"id\": \"a \\\"quoted\\\" test\", \"peak\": 7, \"stacks\": [] } ] }\n";

START_TEST(parse_good)
{
	struct baseline b;
	const struct baseline_entry *e;

	ck_assert_int_eq(baseline_parse(&b, good, strlen(good), "b.json"), 0);
	ck_assert_uint_eq(b.n, 2);
	e = baseline_find(&b, "(whole run)");
	ck_assert_ptr_nonnull(e);
	ck_assert(e->peak == 158000 && e->leaked == 1500 && e->allocations == 1007 && e->nstacks == 1);
	ck_assert_str_eq(e->stacks[0].location, "churn:m.c:21");
	ck_assert(e->stacks[0].bytes == 100000);
	e = baseline_find(&b, "a \"quoted\" test");
	ck_assert(e && e->peak == 7 && !e->nstacks);
	ck_assert_ptr_null(baseline_find(&b, "missing"));
	baseline_release(&b);
}
END_TEST

START_TEST(round_trip)
{
	static char loc[] = "f:x.c:3", id[] = "t,1 \"q\"\\", whole[] = "(whole run)";
	struct ci_stack_line line = { loc, 4096, 1, NULL };
	struct ci_subject tests[1] = { { .id = id, .is_test = 1, .peak = 4096, .leaked = 1, .allocations = 2,
					 .peak_stacks = { &line, 1 } } };
	struct ci_results res = { .whole = { .id = whole, .peak = 9999 }, .tests = tests, .ntests = 1 };
	char path[] = "/tmp/memray-baseline-XXXXXX";
	int fd = mkstemp(path);
	struct baseline b;
	const struct baseline_entry *e;

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(baseline_save(path, &res), 0);
	ck_assert_int_eq(baseline_load(&b, path), 0);
	unlink(path);
	ck_assert_uint_eq(b.n, 2);
	ck_assert(baseline_find(&b, "(whole run)")->peak == 9999);
	e = baseline_find(&b, "t,1 \"q\"\\");
	ck_assert(e && e->peak == 4096 && e->leaked == 1 && e->allocations == 2 && e->nstacks == 1);
	ck_assert_str_eq(e->stacks[0].location, "f:x.c:3");
	baseline_release(&b);
}
END_TEST

START_TEST(refusals)
{
	static const char *const bad[] = {
		"",
		"[1, 2]",
		"{\"version\": 1}",
		"{\"format\": \"something-else\"}",
		"{\"format\": \"memray-baseline\", \"version\": 3}",
		"{\"format\": \"memray-baseline\", \"tests\": [{\"id\": \"x\", \"allocated\": \"many\"}]}",
		"{\"format\": \"memray-baseline\", \"tests\": 5}",
		"{\"format\": \"memray-baseline\", \"tests\": [{\"peak\": 1}]}",
		"{\"format\": \"memray-baseline\", \"tests\": [{\"id\": \"x\", \"peak\": -1}]}",
		"{\"format\": \"memray-baseline\", \"tests\": [{\"id\": \"x\", \"extra\": 1}]}",
		"{\"format\": \"memray-baseline\", \"tests\": [{\"id\": \"x\", \"stacks\": [{\"bytes\": 1}]}]}",
		"{\"format\": \"memray-baseline\", \"format\": \"memray-baseline\"}",
		"{\"format\": \"memray-baseline\", \"tests\": [",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct baseline b;

		ck_assert_msg(baseline_parse(&b, bad[i], strlen(bad[i]), "b.json") == -1, "accepted: %s", bad[i]);
		ck_assert_uint_eq(b.n, 0);
	}
}
END_TEST

/* every prefix of a good file, and every byte flipped: an answer, never a crash */
START_TEST(truncated_and_flipped)
{
	char buf[sizeof(good)];

	for (size_t n = 0; n < strlen(good); n++) {
		struct baseline b;

		if (baseline_parse(&b, good, n, "b.json") == 0)
			baseline_release(&b);
	}
	for (size_t i = 0; i < strlen(good); i++) {
		struct baseline b;

		memcpy(buf, good, sizeof(good));
		buf[i] ^= 0x20;
		if (baseline_parse(&b, buf, strlen(good), "b.json") == 0)
			baseline_release(&b);
	}
}
END_TEST

/* every test of a big suite looked up: an index, not a scan per test; an id given twice finds the first */
START_TEST(find_in_a_big_baseline)
{
	enum { TESTS = 50000 };
	struct strbuf sb = STRBUF_INIT;
	struct baseline b;
	char id[32];
	double start;

	strbuf_addstr(&sb, "{\"format\": \"memray-baseline\", \"tests\": [\n");
	for (int i = 0; i < TESTS; i++)
		strbuf_addf(&sb, "{\"id\": \"t%d\", \"peak\": %d},\n", i, i);
	strbuf_addstr(&sb, "{\"id\": \"t7\", \"peak\": 1}]}\n");
	ck_assert_int_eq(baseline_parse(&b, sb.buf, sb.len, "b.json"), 0);
	ck_assert_uint_eq(b.n, TESTS + 1);
	start = unit_seconds();
	for (int i = 0; i < TESTS; i++) {
		const struct baseline_entry *e;

		snprintf(id, sizeof(id), "t%d", i);
		e = baseline_find(&b, id);
		ck_assert(e && e->peak == (uint64_t)i);
	}
	ck_assert_msg(unit_seconds() - start < 2.0, "50,000 lookups took %.1f s", unit_seconds() - start);
	ck_assert_ptr_null(baseline_find(&b, "t50000"));
	baseline_release(&b);
	strbuf_release(&sb);
}
END_TEST

#if FAULT_INJECTION
struct parse_case {
	struct baseline b;
};

static int parse_run(void *ctx)
{
	return baseline_parse(&((struct parse_case *)ctx)->b, good, strlen(good), "b.json");
}

static void parse_check(void *ctx)
{
	const struct baseline *b = &((struct parse_case *)ctx)->b;
	const struct baseline_entry *e = baseline_find(b, "(whole run)");

	ck_assert_uint_eq(b->n, 2);
	ck_assert(e && e->peak == 158000 && e->leaked == 1500 && e->allocations == 1007 && e->nstacks == 1);
	ck_assert_str_eq(e->stacks[0].location, "churn:m.c:21");
	ck_assert_ptr_nonnull(baseline_find(b, "a \"quoted\" test"));
}

static void parse_release(void *ctx)
{
	baseline_release(&((struct parse_case *)ctx)->b);
}

START_TEST(parse_out_of_memory)
{
	struct parse_case c;
	struct unit_fault_case fc = { parse_run, parse_check, parse_release, &c };

	ck_assert_int_gt(unit_fault_loop(&fc, 1), 10);
	ck_assert_int_gt(unit_fault_loop(&fc, 0), 10);
}
END_TEST

struct save_case {
	char path[64], tmp[80];
	const struct ci_results *res;
	int ret;
};

static const char old_text[] = "old baseline\n";

static int save_run(void *ctx)
{
	struct save_case *c = ctx;

	return c->ret = baseline_save(c->path, c->res);
}

/* the file written whole: it reads back with both entries */
static void save_check(void *ctx)
{
	struct save_case *c = ctx;
	struct baseline b;

	ck_assert_int_eq(baseline_load(&b, c->path), 0);
	ck_assert_uint_eq(b.n, 2);
	ck_assert(baseline_find(&b, "(whole run)")->peak == 9999);
	ck_assert(baseline_find(&b, "t1")->nstacks == 1);
	baseline_release(&b);
}

/* a failed save leaves the old file as it was and no temporary beside it; then the next run starts from it */
static void save_release(void *ctx)
{
	struct save_case *c = ctx;
	char buf[64];
	int fd = open(c->path, O_RDONLY);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (c->ret)
		ck_assert(n == (ssize_t)strlen(old_text) && !memcmp(buf, old_text, (size_t)n));
	ck_assert_int_eq(access(c->tmp, F_OK), -1);
	fd = open(c->path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, old_text, strlen(old_text)), (ssize_t)strlen(old_text));
	close(fd);
}

START_TEST(save_out_of_memory)
{
	static char loc[] = "f:x.c:3", id[] = "t1", whole[] = "(whole run)";
	struct ci_stack_line line = { .location = loc, .bytes = 4096, .count = 1 };
	struct ci_subject tests[1] = { { .id = id, .is_test = 1, .peak = 4096, .peak_stacks = { &line, 1 } } };
	struct ci_results res = { .whole = { .id = whole, .peak = 9999 }, .tests = tests, .ntests = 1 };
	struct save_case c = { .path = "/tmp/memray-baseline-XXXXXX", .res = &res };
	struct unit_fault_case fc = { save_run, save_check, save_release, &c };
	int fd = mkstemp(c.path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(c.tmp, sizeof(c.tmp), "%s.tmp", c.path);
	save_release(&c);	/* the old file in place */
	ck_assert_int_gt(unit_fault_loop(&fc, 1), 2);
	ck_assert_int_gt(unit_fault_loop(&fc, 0), 2);
	unlink(c.path);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("baseline");
	/* the refusals are meant: their lines would only bury the summary */
	FILE *quiet = freopen("/dev/null", "w", stderr);

	if (!quiet)
		return EXIT_FAILURE;
	TCase *tc = tcase_create("parse");

	tcase_set_timeout(tc, 60);	/* 50,000 entries under the sanitizers */
	tcase_add_test(tc, parse_good);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, truncated_and_flipped);
	tcase_add_test(tc, find_in_a_big_baseline);
#if FAULT_INJECTION
	tcase_add_test(tc, parse_out_of_memory);
	tcase_add_test(tc, save_out_of_memory);
#endif
	suite_add_tcase(s, tc);
	return unit_run(s);
}
