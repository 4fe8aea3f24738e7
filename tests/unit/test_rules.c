/*
 * Unit tests of assert/rules: hand-made figures (struct ci_results, built
 * with designated initializers so fields ci/ adds later do not matter)
 * judged against manifests and baselines parsed from text. Every verdict
 * is checked whole: name, rule, failure type, message and details to the
 * byte, figure, limit and properties. Then every allocation fails in turn.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert/baseline.h"
#include "assert/manifest.h"
#include "assert/rules.h"
#include "common/strbuf.h"
#include "tests/unit/fault.h"
#include "tests/unit/unit.h"

static char loc_grow[] = "grow:app.c:12", loc_main[] = "main:app.c:30", loc_leak[] = "leak:app.c:40",
	    loc_dl[] = "_dl_new_object:dl-object.c:9", glob_dl[] = "_dl_*", why_builtin[] = "built-in";
static char whole_id[] = "(whole run)", fast_id[] = "t::fast", slow_id[] = "t::slow_one",
	    marked_id[] = "t::marked", plain_id[] = "t::plain";

static const struct suppress_pattern dl_pattern = { .glob = glob_dl, .why = why_builtin };
static struct ci_stack_line peak_lines[] = {
	{ .location = loc_grow, .bytes = 1048576, .count = 2 },
	{ .location = loc_main, .bytes = 524288, .count = 1 },
};
static struct ci_stack_line leak_lines[] = { { .location = loc_leak, .bytes = 4096, .count = 2 } };
static struct ci_stack_line suppressed_lines[] = {
	{ .location = loc_dl, .bytes = 512, .count = 1, .suppressed_by = &dl_pattern },
};

/* the whole run: a peak of 1.5 MiB from two places, 4 KiB leaked and 512 B suppressed */
static const struct ci_subject whole = {
	.id = whole_id, .peak = 1572864, .allocations = 1234, .bytes = 2000000, .leaked = 4096, .leaked_count = 2,
	.suppressed = 512, .suppressed_count = 1,
	.peak_stacks = { peak_lines, 2 }, .leak_stacks = { leak_lines, 1 }, .suppressed_stacks = { suppressed_lines, 1 },
};

static const char *errors;

/* rules_eval with what it printed in errors */
static int eval(struct verdicts *v, const struct manifest *m, const struct ci_results *res, const struct baseline *b)
{
	int ret;

	unit_stderr_begin();
	ret = rules_eval(v, m, res, b);
	errors = unit_stderr_end();
	return ret;
}

static void manifest(struct manifest *m, const char *text)
{
	*m = (struct manifest)MANIFEST_INIT;
	ck_assert_int_eq(manifest_parse(m, text, strlen(text), "memray.yml"), 0);
}

static void verdict_is(const struct check_result *r, const char *name, const char *rule, const char *failure,
		       const char *message, const char *details)
{
	ck_assert_str_eq(r->name, name);
	ck_assert_pstr_eq(r->rule, rule);
	ck_assert_pstr_eq(r->failure_type, failure);
	ck_assert_ptr_null(r->error_type);
	ck_assert_str_eq(r->message, message);
	ck_assert_pstr_eq(r->details, details);
}

/* the properties, "name=value,..." */
static void props_are(const struct check_result *r, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < r->nprops; i++)
		strbuf_addf(&sb, "%s%s=%llu", i ? "," : "", r->props[i].name, (unsigned long long)r->props[i].value);
	ck_assert_str_eq(sb.buf, want);
	strbuf_release(&sb);
}

START_TEST(whole_run_peak)
{
	struct ci_results res = { .whole = whole };
	struct manifest m;
	struct verdicts v;

	manifest(&m, "version: 1\nbudget: 1MiB\n");
	ck_assert_int_eq(eval(&v, &m, &res, NULL), 0);
	ck_assert_str_eq(errors, "");
	ck_assert_uint_eq(v.n, 1);
	ck_assert_uint_eq(v.failed, 1);
	ck_assert_uint_eq(v.errors, 0);
	verdict_is(&v.r[0], "peak memory", NULL, "BudgetExceeded", "peak 1.500MiB exceeds budget 1.000MiB (+50.0%)",
		   "peak: 1572864 bytes; limit: 1048576 bytes (memray.yml:2:9)\n"
		   "live at the peak:\n"
		   "  1.000MiB (1048576 bytes) in 2 allocations at grow:app.c:12\n"
		   "  512.000KiB (524288 bytes) in 1 allocations at main:app.c:30\n");
	ck_assert(v.r[0].figure == 1572864 && v.r[0].limit == 1048576 && v.r[0].has_limit);
	props_are(&v.r[0], "bytes=1572864,limit_bytes=1048576");
	verdicts_release(&v);
	ck_assert_ptr_null(v.r);

	/* within: a negative margin, no failure */
	res.whole.peak = 786432;
	ck_assert_int_eq(eval(&v, &m, &res, NULL), 0);
	ck_assert_uint_eq(v.failed, 0);
	ck_assert_str_eq(v.r[0].message, "peak 768.000KiB within budget 1.000MiB (-25.0%)");
	ck_assert_ptr_null(v.r[0].failure_type);
	verdicts_release(&v);

	/* exactly at the budget is within it */
	res.whole.peak = 1048576;
	ck_assert_int_eq(eval(&v, &m, &res, NULL), 0);
	ck_assert_uint_eq(v.failed, 0);
	ck_assert_str_eq(v.r[0].message, "peak 1.000MiB within budget 1.000MiB (+0.0%)");
	verdicts_release(&v);
	manifest_release(&m);
}
END_TEST

/* a mark fails at its limit, as pytest-memray's does; a flag or manifest limit holds at it */
START_TEST(a_mark_fails_at_its_limit)
{
	static char marks[] = "limit_memory=1MB\x1flimit_leaks=2KB";
	struct ci_subject tests[] = {
		{ .id = marked_id, .is_test = 1, .marks = marks, .peak = 1048576, .leaked = 2047 },
		{ .id = plain_id, .is_test = 1, .peak = 1048576 },
	};
	struct ci_results res = { .whole = { .id = whole_id }, .tests = tests, .ntests = 2 };
	struct manifest m;
	struct verdicts v;

	manifest(&m, "version: 1\ndefaults:\n  budget: 1MiB\n");
	ck_assert_int_eq(eval(&v, &m, &res, NULL), 0);
	ck_assert_uint_eq(v.n, 3);
	ck_assert_uint_eq(v.failed, 1);
	verdict_is(&v.r[0], "t::marked", "peak", "BudgetExceeded", "peak 1.000MiB reaches budget 1.000MiB (+0.0%)",
		   "peak: 1048576 bytes; limit: 1048576 bytes (limit_memory mark)\n");
	ck_assert_str_eq(v.r[1].message, "leaked 1.999KiB within budget 2.000KiB (-0.0%)");
	ck_assert_ptr_null(v.r[1].failure_type);
	ck_assert_str_eq(v.r[2].message, "peak 1.000MiB within budget 1.000MiB (+0.0%)");
	ck_assert_ptr_null(v.r[2].failure_type);
	verdicts_release(&v);
	manifest_release(&m);
}
END_TEST

START_TEST(per_test_peak_and_marks)
{
	static char marks[] = "limit_memory=1MB\x1fother=1";
	struct ci_subject tests[] = {
		{ .id = fast_id, .is_test = 1, .peak = 3145728, .allocations = 3, .bytes = 3145728, .leaked = 0,
		  .peak_stacks = { peak_lines, 1 } },
		{ .id = slow_id, .is_test = 1, .peak = 3145728, .allocations = 4, .bytes = 4000000, .leaked = 10 },
		{ .id = marked_id, .is_test = 1, .marks = marks, .peak = 999999, .is_unfinished = 1 },
		{ .id = plain_id, .is_test = 1, .peak = 1024, .allocations = 3 },
	};
	struct ci_results res = { .whole = { .id = whole_id }, .tests = tests, .ntests = 4 };
	struct manifest m;
	struct verdicts v;

	manifest(&m, "version: 1\ndefaults:\n  budget: 2MiB\ntests:\n  - match: \"t::slow*\"\n    budget: 8MiB\n");
	/* without the default, fast and plain have no rule: figures only */
	m.defaults.has[LIMIT_PEAK] = 0;
	ck_assert_int_eq(eval(&v, &m, &res, NULL), 0);
	ck_assert_str_eq(errors, "");
	ck_assert_uint_eq(v.n, 4);
	ck_assert_uint_eq(v.failed, 0);
	ck_assert_str_eq(v.r[0].rule, "memory");
	ck_assert_str_eq(v.r[1].rule, "peak");
	ck_assert_str_eq(v.r[2].rule, "peak");
	ck_assert_str_eq(v.r[3].rule, "memory");
	verdicts_release(&v);

	m.defaults.has[LIMIT_PEAK] = 1;
	ck_assert_int_eq(eval(&v, &m, &res, NULL), 0);
	ck_assert_uint_eq(v.n, 4);
	ck_assert_uint_eq(v.failed, 1);
	verdict_is(&v.r[0], "t::fast", "peak", "BudgetExceeded", "peak 3.000MiB exceeds budget 2.000MiB (+50.0%)",
		   "peak: 3145728 bytes; limit: 2097152 bytes (memray.yml:3:11)\n"
		   "live at the peak:\n"
		   "  1.000MiB (1048576 bytes) in 2 allocations at grow:app.c:12\n");
	props_are(&v.r[0], "bytes=3145728,limit_bytes=2097152,peak_bytes=3145728,allocated_bytes=3145728,"
		  "allocations=3,leaked_bytes=0,suppressed_bytes=0");
	/* the first matching rule wins over the defaults */
	verdict_is(&v.r[1], "t::slow_one", "peak", NULL, "peak 3.000MiB within budget 8.000MiB (-62.5%)",
		   "peak: 3145728 bytes; limit: 8388608 bytes (memray.yml:6:13)\n");
	/* the mark wins over the defaults; an unfinished test says so */
	verdict_is(&v.r[2], "t::marked", "peak", NULL, "peak 976.562KiB within budget 1.000MiB (-4.6%)",
		   "peak: 999999 bytes; limit: 1048576 bytes (limit_memory mark)\n"
		   "the test never ended (it crashed or was killed): figures up to the end of its process\n");
	verdict_is(&v.r[3], "t::plain", "peak", NULL, "peak 1.000KiB within budget 2.000MiB (-100.0%)",
		   "peak: 1024 bytes; limit: 2097152 bytes (memray.yml:3:11)\n");
	verdicts_release(&v);
	manifest_release(&m);

	/* no rule at all: one passing verdict with the figures */
	manifest(&m, "");
	ck_assert_int_eq(eval(&v, &m, &res, NULL), 0);
	ck_assert_uint_eq(v.n, 4);
	verdict_is(&v.r[1], "t::slow_one", "memory", NULL, "peak 3.000MiB, leaked 10B, 4 allocations (no rule)", NULL);
	ck_assert(!v.r[1].has_limit && v.r[1].figure == 3145728);
	props_are(&v.r[1], "peak_bytes=3145728,allocated_bytes=4000000,allocations=4,leaked_bytes=10,suppressed_bytes=0");
	verdicts_release(&v);
	manifest_release(&m);
}
END_TEST

START_TEST(leaks_with_suppressed_apart)
{
	static char marks[] = "limit_leaks=0";
	struct ci_subject tests[] = {
		{ .id = fast_id, .is_test = 1, .marks = marks, .leaked = 100, .leaked_count = 1,
		  .leak_stacks = { leak_lines, 1 } },
	};
	struct ci_results res = { .whole = whole, .tests = tests, .ntests = 1 };
	struct manifest m;
	struct verdicts v;

	manifest(&m, "version: 1\nleak-budget: 1KiB\n");
	ck_assert_int_eq(eval(&v, &m, &res, NULL), 0);
	ck_assert_uint_eq(v.n, 2);
	ck_assert_uint_eq(v.failed, 2);
	verdict_is(&v.r[0], "leaked memory", NULL, "LeakDetected",
		   "leaked 4.000KiB exceeds budget 1.000KiB (+300.0%); 512B more suppressed",
		   "leaked: 4096 bytes; limit: 1024 bytes (memray.yml:2:14)\n"
		   "leaked at:\n"
		   "  4.000KiB (4096 bytes) in 2 allocations at leak:app.c:40\n"
		   "suppressed, not counted: 512B (512 bytes) in 1 allocations:\n"
		   "  512B (512 bytes) in 1 allocations at _dl_new_object:dl-object.c:9 (suppressed by '_dl_*', built-in)\n");
	props_are(&v.r[0], "bytes=4096,limit_bytes=1024,suppressed_bytes=512");
	/* a budget of 0 has no margin to give */
	verdict_is(&v.r[1], "t::fast", "leaks", "LeakDetected", "leaked 100B exceeds budget 0B",
		   "leaked: 100 bytes; limit: 0 bytes (limit_leaks mark)\n"
		   "leaked at:\n"
		   "  4.000KiB (4096 bytes) in 2 allocations at leak:app.c:40\n");
	verdicts_release(&v);
	manifest_release(&m);
}
END_TEST

START_TEST(allocation_count)
{
	struct ci_results res = { .whole = whole };
	struct manifest m;
	struct verdicts v;

	manifest(&m, "version: 1\nmax-allocations: 1000\n");
	ck_assert_int_eq(eval(&v, &m, &res, NULL), 0);
	ck_assert_uint_eq(v.n, 1);
	verdict_is(&v.r[0], "allocations", NULL, "BudgetExceeded", "allocations 1234 exceeds limit 1000 (+23.4%)",
		   "allocations: 1234; limit: 1000 (memray.yml:2:18)\n"
		   "the peak's stacks:\n"
		   "  1.000MiB (1048576 bytes) in 2 allocations at grow:app.c:12\n"
		   "  512.000KiB (524288 bytes) in 1 allocations at main:app.c:30\n");
	props_are(&v.r[0], "bytes=1234,limit_bytes=1000");
	verdicts_release(&v);
	manifest_release(&m);
}
END_TEST

/* more stacks than are shown: the rest are counted */
START_TEST(top_stacks_only)
{
	struct ci_stack_line lines[CI_TOP_STACKS + 2];
	struct ci_results res = { .whole = { .id = whole_id, .peak = 2048, .peak_stacks = { lines, CI_TOP_STACKS + 2 } } };
	struct manifest m;
	struct verdicts v;

	for (int i = 0; i < CI_TOP_STACKS + 2; i++)
		lines[i] = (struct ci_stack_line){ .location = loc_main, .bytes = 1, .count = 1 };
	manifest(&m, "version: 1\nbudget: 1KiB\n");
	ck_assert_int_eq(eval(&v, &m, &res, NULL), 0);
	ck_assert_ptr_nonnull(strstr(v.r[0].details, "at main:app.c:30\n  ... and 2 more locations\n"));
	verdicts_release(&v);
	manifest_release(&m);
}
END_TEST

static const char baseline_text[] =
	"{ \"format\": \"memray-baseline\", \"version\": 1, \"tests\": [\n"
	"  { \"id\": \"(whole run)\", \"peak\": 1000000,\n"
	"    \"stacks\": [ { \"location\": \"grow:app.c:12\", \"bytes\": 600001 },\n"
	"                { \"location\": \"main:app.c:30\", \"bytes\": 524288 } ] },\n"
	"  { \"id\": \"t::fast\", \"peak\": 0 } ] }\n";

START_TEST(baseline_regressions)
{
	struct ci_subject tests[] = { { .id = fast_id, .is_test = 1, .peak = 1024, .allocations = 1 } };
	struct ci_results res = { .whole = whole, .tests = tests, .ntests = 1 };
	struct baseline b;
	struct manifest m;
	struct verdicts v;

	ck_assert_int_eq(baseline_parse(&b, baseline_text, strlen(baseline_text), "b.json"), 0);
	manifest(&m, "version: 1\nbaseline: { file: b.json, max-increase: 10% }\n");
	ck_assert_int_eq(eval(&v, &m, &res, &b), 0);
	ck_assert_uint_eq(v.n, 2);
	ck_assert_uint_eq(v.failed, 2);
	/* only what grew is named, with how much */
	verdict_is(&v.r[0], "peak memory (baseline)", NULL, "Regression",
		   "peak 1.500MiB grew beyond baseline 976.562KiB (+57.3%, allowed +10%)",
		   "peak: 1572864 bytes; baseline: 1000000 bytes; allowed up to 1100000 bytes\n"
		   "grew since the baseline:\n"
		   "  +438.062KiB (+448575 bytes; 1048576 bytes, was 600001) at grow:app.c:12\n");
	ck_assert(v.r[0].figure == 1572864 && v.r[0].limit == 1100000);
	props_are(&v.r[0], "bytes=1572864,limit_bytes=1100000,baseline_bytes=1000000");
	/* a baseline of 0 has no percentage */
	verdict_is(&v.r[1], "t::fast", "baseline", "Regression", "peak 1.000KiB grew beyond baseline 0B (allowed +10%)",
		   "peak: 1024 bytes; baseline: 0 bytes; allowed up to 0 bytes\n");
	verdicts_release(&v);
	manifest_release(&m);

	manifest(&m, "version: 1\nbaseline: { file: b.json, max-increase: +5MiB }\n");
	ck_assert_int_eq(eval(&v, &m, &res, &b), 0);
	ck_assert_uint_eq(v.failed, 0);
	verdict_is(&v.r[0], "peak memory (baseline)", NULL, NULL,
		   "peak 1.500MiB within baseline 976.562KiB (+57.3%, allowed +5.000MiB)",
		   "peak: 1572864 bytes; baseline: 1000000 bytes; allowed up to 6242880 bytes\n"
		   "grew since the baseline:\n"
		   "  +438.062KiB (+448575 bytes; 1048576 bytes, was 600001) at grow:app.c:12\n");
	verdict_is(&v.r[1], "t::fast", "baseline", NULL, "peak 1.000KiB within baseline 0B (allowed +5.000MiB)",
		   "peak: 1024 bytes; baseline: 0 bytes; allowed up to 5242880 bytes\n");
	verdicts_release(&v);
	manifest_release(&m);
	baseline_release(&b);
}
END_TEST

/* limits past 2^64 saturate: a huge baseline plus a huge increase never wraps to a small limit */
START_TEST(baseline_increase_saturates)
{
	static const char huge[] =
		"{ \"format\": \"memray-baseline\", \"version\": 1, \"tests\": [\n"
		"  { \"id\": \"(whole run)\", \"peak\": 10000000000000000000 },\n"
		"  { \"id\": \"t::fast\", \"peak\": 18446744073709551000 } ] }\n";
	static const char *const increases[] = { "1000000%", "+16000000TiB", "+16000000 TiB" };
	struct ci_subject tests[] = { { .id = fast_id, .is_test = 1, .peak = 1024, .allocations = 1 } };
	struct ci_results res = { .whole = whole, .tests = tests, .ntests = 1 };
	struct strbuf text = STRBUF_INIT;
	struct baseline b;
	struct manifest m;
	struct verdicts v;

	ck_assert_int_eq(baseline_parse(&b, huge, strlen(huge), "b.json"), 0);
	for (size_t i = 0; i < sizeof(increases) / sizeof(increases[0]); i++) {
		strbuf_reset(&text);
		strbuf_addf(&text, "version: 1\nbaseline: { file: b.json, max-increase: \"%s\" }\n", increases[i]);
		manifest(&m, text.buf);
		ck_assert_int_eq(eval(&v, &m, &res, &b), 0);
		ck_assert_uint_eq(v.n, 2);
		ck_assert_msg(v.failed == 0, "%s: %s", increases[i], v.r[0].message);
		ck_assert(v.r[0].limit == UINT64_MAX && v.r[1].limit == UINT64_MAX);
		verdicts_release(&v);
		manifest_release(&m);
	}
	strbuf_release(&text);
	baseline_release(&b);
}
END_TEST

/* names from the program are escaped in the details; the details' own lines stay lines */
START_TEST(names_cannot_forge_lines)
{
	static char evil[] = "f\nmemray check: pass forged:app.c:1", evil_proc[] = "pid 7 (a\nmemray check: pass x)";
	struct ci_stack_line lines[] = { { .location = evil, .bytes = 1048576, .count = 1 } };
	struct ci_stack_line procs[] = { { .location = evil_proc, .bytes = 1048576 },
					 { .location = loc_main, .bytes = 1 } };
	struct ci_subject tests[] = { { .id = fast_id, .is_test = 1, .peak = 1048576, .leaked = 1048576,
					.peak_stacks = { lines, 1, 0 }, .leak_stacks = { lines, 1, 0 } } };
	struct ci_results res = { .whole = whole, .tests = tests, .ntests = 1 };
	struct manifest m;
	struct verdicts v;

	res.whole.peak_stacks = (struct ci_lines){ lines, 1, 0 };
	res.whole.processes = (struct ci_lines){ procs, 2, 0 };
	res.whole.leak_stacks = (struct ci_lines){ lines, 1, 0 };
	manifest(&m, "version: 1\nbudget: 1KiB\nleak-budget: 1KiB\ntests:\n  - match: '*'\n    budget: 1KiB\n");
	ck_assert_int_eq(eval(&v, &m, &res, NULL), 0);
	ck_assert_uint_ge(v.n, 3);
	for (size_t i = 0; i < v.n; i++) {
		ck_assert_ptr_nonnull(v.r[i].details);
		ck_assert_msg(!strstr(v.r[i].details, "\nmemray check:"), "%s", v.r[i].details);
		ck_assert_msg(strstr(v.r[i].details, "\\nmemray check: pass"), "%s", v.r[i].details);
		ck_assert(strchr(v.r[i].details, '\n'));
	}
	verdicts_release(&v);
	manifest_release(&m);
}
END_TEST

START_TEST(bad_marks)
{
	static char marks[] = "limit_memory=lots\x1flimit_leaks=1KB";
	struct ci_subject tests[] = { { .id = fast_id, .is_test = 1, .marks = marks, .leaked = 2000 } };
	struct ci_results res = { .whole = { .id = whole_id }, .tests = tests, .ntests = 1 };
	struct manifest m;
	struct verdicts v;

	manifest(&m, "");
	ck_assert_int_eq(eval(&v, &m, &res, NULL), 0);
	ck_assert_str_eq(errors, "memray: error: t::fast: bad size 'lots' in @pytest.mark.limit_memory: a size starts with a number\n");
	ck_assert_uint_eq(v.n, 2);
	ck_assert_uint_eq(v.errors, 1);
	ck_assert_uint_eq(v.failed, 1);
	ck_assert_str_eq(v.r[0].error_type, "BadLimit");
	ck_assert_str_eq(v.r[0].rule, "peak");
	ck_assert_str_eq(v.r[0].message, "bad size 'lots' in @pytest.mark.limit_memory: a size starts with a number");
	verdict_is(&v.r[1], "t::fast", "leaks", "LeakDetected", "leaked 1.953KiB exceeds budget 1.000KiB (+95.3%)",
		   "leaked: 2000 bytes; limit: 1024 bytes (limit_leaks mark)\n");
	verdicts_release(&v);
	manifest_release(&m);
}
END_TEST

#if FAULT_INJECTION
/* every verdict as text, to compare a run under fault injection with a clean one */
static void render(struct strbuf *sb, const struct verdicts *v)
{
	strbuf_reset(sb);
	strbuf_addf(sb, "n=%zu failed=%zu errors=%zu\n", v->n, v->failed, v->errors);
	for (size_t i = 0; i < v->n; i++) {
		const struct check_result *r = &v->r[i];

		strbuf_addf(sb, "%s|%s|%s|%s|%s|%s|%llu|%llu|%zu\n", r->name, r->rule ? r->rule : "-",
			    r->failure_type ? r->failure_type : "-", r->error_type ? r->error_type : "-",
			    r->message ? r->message : "(null)", r->details ? r->details : "(null)",
			    (unsigned long long)r->figure, (unsigned long long)r->limit, r->nprops);
	}
}

struct rules_case {
	struct manifest m;
	struct ci_results res;
	struct baseline b;
	struct verdicts v;
	struct strbuf want;
};

static int rules_run(void *ctx)
{
	struct rules_case *c = ctx;

	return rules_eval(&c->v, &c->m, &c->res, &c->b);
}

/* a success under fault injection is the whole answer, not one with a message cut short */
static void rules_check(void *ctx)
{
	struct rules_case *c = ctx;
	struct strbuf got = STRBUF_INIT;

	render(&got, &c->v);
	ck_assert_str_eq(got.buf, c->want.buf);
	strbuf_release(&got);
}

static void rules_release(void *ctx)
{
	verdicts_release(&((struct rules_case *)ctx)->v);
}

static void fault_loop(int fail_all)
{
	static char marks[] = "limit_memory=1MB\x1flimit_leaks=0";
	struct ci_subject tests[] = {
		{ .id = fast_id, .is_test = 1, .peak = 3145728, .leaked = 100, .marks = marks,
		  .peak_stacks = { peak_lines, 2 }, .leak_stacks = { leak_lines, 1 } },
		{ .id = slow_id, .is_test = 1, .peak = 3145728 },
		{ .id = plain_id, .is_test = 1, .peak = 1024 },
	};
	struct rules_case c = { .res = { .whole = whole, .tests = tests, .ntests = 3 }, .want = STRBUF_INIT };
	struct unit_fault_case fc = { rules_run, rules_check, rules_release, &c };

	ck_assert_int_eq(baseline_parse(&c.b, baseline_text, strlen(baseline_text), "b.json"), 0);
	manifest(&c.m, "version: 1\nbudget: 1MiB\nleak-budget: 1KiB\nmax-allocations: 1000\n"
		 "tests:\n  - match: \"t::slow*\"\n    budget: 8MiB\n");
	ck_assert_int_eq(rules_run(&c), 0);
	ck_assert_uint_eq(c.v.n, 9);
	render(&c.want, &c.v);
	rules_release(&c);
	ck_assert_int_gt(unit_fault_loop(&fc, fail_all), 20);
	strbuf_release(&c.want);
	manifest_release(&c.m);
	baseline_release(&c.b);
}

START_TEST(out_of_memory)
{
	fault_loop(1);
}
END_TEST

START_TEST(one_allocation_failing)
{
	fault_loop(0);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, whole_run_peak);
	tcase_add_test(tc, per_test_peak_and_marks);
	tcase_add_test(tc, a_mark_fails_at_its_limit);
	tcase_add_test(tc, leaks_with_suppressed_apart);
	tcase_add_test(tc, allocation_count);
	tcase_add_test(tc, top_stacks_only);
	tcase_add_test(tc, baseline_regressions);
	tcase_add_test(tc, baseline_increase_saturates);
	tcase_add_test(tc, names_cannot_forge_lines);
	tcase_add_test(tc, bad_marks);
#if FAULT_INJECTION
	tcase_add_test(tc, out_of_memory);
	tcase_add_test(tc, one_allocation_failing);
#endif
	suite_add_tcase(s, tc);
	return unit_run(s);
}
