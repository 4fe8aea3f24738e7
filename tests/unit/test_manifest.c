/* Unit tests of assert/manifest: good files, and one exact error line for each mistake. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assert/manifest.h"
#include "common/strbuf.h"
#include "tests/unit/fault.h"
#include "tests/unit/unit.h"

static char errors[4096];


/* parse text as "memray.yml"; the error output lands in errors[] */
static int parse(struct manifest *m, const char *text)
{
	FILE *tmp = tmpfile();
	int saved = dup(fileno(stderr)), ret;
	size_t n;

	ck_assert_ptr_nonnull(tmp);
	fflush(stderr);
	dup2(fileno(tmp), fileno(stderr));
	ret = manifest_parse(m, text, strlen(text), "memray.yml");
	fflush(stderr);
	dup2(saved, fileno(stderr));
	close(saved);
	rewind(tmp);
	n = fread(errors, 1, sizeof(errors) - 1, tmp);
	errors[n] = '\0';
	fclose(tmp);
	return ret;
}

static void refused(const char *text, const char *message)
{
	struct manifest m = MANIFEST_INIT;

	ck_assert_msg(parse(&m, text) == -1, "accepted: %s", text);
	ck_assert_msg(strstr(errors, message) != NULL, "wanted '%s', got '%s'", message, errors);
	ck_assert_msg(strchr(errors, '\n') == errors + strlen(errors) - 1, "not one line: '%s'", errors);
	manifest_release(&m);
}

START_TEST(good_manifest)
{
	struct manifest m = MANIFEST_INIT;
	struct limits l;
	const char *text =
		"version: 1\n"
		"budget: 200MB\n"
		"leak-budget: 0\n"
		"max-allocations: 5000\n"
		"defaults:\n"
		"  budget: 64MiB\n"
		"  leak-budget: 1KiB\n"
		"tests:\n"
		"  - match: \"tests/test_io.py::*\"\n"
		"    budget: 300MiB\n"
		"  - match: \"*::test_small\"\n"
		"    max-allocations: 10\n"
		"suppressions:\n"
		"  - \"*json_cache*\"\n"
		"  - { frame: libfoo_init, reason: kept for life }\n"
		"builtin-suppressions: false\n"
		"baseline:\n"
		"  file: .memray-baseline.json\n"
		"  max-increase: +5MiB\n";

	ck_assert_int_eq(parse(&m, text), 0);
	ck_assert(m.run.has[LIMIT_PEAK] && m.run.value[LIMIT_PEAK] == 200ull << 20);	/* 200MB: MiB, as pytest-memray reads it */
	ck_assert_str_eq(m.run.from[LIMIT_PEAK], "memray.yml:2:9");
	ck_assert(m.run.has[LIMIT_LEAKS] && m.run.value[LIMIT_LEAKS] == 0);
	ck_assert(m.run.has[LIMIT_COUNT] && m.run.value[LIMIT_COUNT] == 5000);
	ck_assert_uint_eq(m.ntests, 2);
	manifest_limits_for(&m, "tests/test_io.py::test_read", &l);
	ck_assert(l.value[LIMIT_PEAK] == 300u << 20 && l.value[LIMIT_LEAKS] == 1024 && !l.has[LIMIT_COUNT]);
	ck_assert_str_eq(l.from[LIMIT_PEAK], "memray.yml:10:13");
	manifest_limits_for(&m, "tests/test_x.py::test_small", &l);
	ck_assert(l.value[LIMIT_PEAK] == 64u << 20 && l.has[LIMIT_COUNT] && l.value[LIMIT_COUNT] == 10);
	manifest_limits_for(&m, "other", &l);
	ck_assert(l.value[LIMIT_PEAK] == 64u << 20 && !l.has[LIMIT_COUNT]);
	ck_assert_uint_eq(m.sup.n, 2);
	ck_assert_str_eq(m.sup.p[1].glob, "libfoo_init");
	ck_assert_str_eq(m.sup.p[1].why, "memray.yml:15:5");
	ck_assert_int_eq(m.builtin_suppressions, 0);
	ck_assert_str_eq(m.baseline, ".memray-baseline.json");
	ck_assert(!m.max_increase[INCREASE_PEAK].is_percent && m.max_increase[INCREASE_PEAK].bytes == 5u << 20);
	manifest_release(&m);
}
END_TEST

START_TEST(empty_and_short_forms)
{
	struct manifest m = MANIFEST_INIT;

	ck_assert_int_eq(parse(&m, ""), 0);
	ck_assert(!m.run.has[LIMIT_PEAK] && m.builtin_suppressions && m.max_increase[INCREASE_PEAK].is_percent);
	ck_assert(m.max_increase[INCREASE_PEAK].percent == 10.0);
	manifest_release(&m);
	m = (struct manifest)MANIFEST_INIT;
	ck_assert_int_eq(parse(&m, "version: 1\nbaseline: b.json\n"), 0);
	ck_assert_str_eq(m.baseline, "b.json");
	manifest_release(&m);
}
END_TEST

START_TEST(mistakes)
{
	refused("version: 1\nbudgett: 5MB\n", "memray.yml:2:1: unknown key 'budgett'\n");
	refused("version: 1\nbudget: 12 parsecs\n", "memray.yml:2:9: bad size '12 parsecs' for 'budget': unknown unit");
	refused("version: 1\nbudget: [1, 2]\n", "memray.yml:2:9: 'budget' must be a size (like 64MiB), not a list");
	refused("version: 1\ntests: 5\n", "memray.yml:2:8: 'tests' must be a list of maps, not a scalar");
	refused("version: 1\ntests:\n  - budget: 1MB\n", "memray.yml:3:5: a test rule needs 'match'");
	refused("version: 1\ntests:\n  - match: \"a[b\"\n", "memray.yml:3:12: bad glob 'a[b' for 'match'");
	refused("version: 1\ntests:\n  - match: x\n    peak: 1MB\n", "memray.yml:4:5: unknown key 'peak' in a test rule");
	refused("version: 1\ndefaults:\n  budget: 1MB\n  budget: 2MB\n", "memray.yml:4:3: key 'budget' given twice");
	refused("version: 1\nsuppressions: foo\n", "memray.yml:2:15: 'suppressions' must be a list, not a scalar");
	refused("version: 1\nbuiltin-suppressions: maybe\n", "memray.yml:2:23: 'builtin-suppressions' must be true or false");
	refused("version: 1\nbaseline:\n  max-increase: lots\n", "memray.yml:3:17: bad 'max-increase' 'lots'");
	refused("version: 2\n", "memray.yml:1:10: unsupported version '2'");
	refused("budget: 1MB\n", "memray.yml:1:1: no 'version: 1' in the manifest");
	refused("- 1\n- 2\n", "memray.yml:1:1: a manifest must be a map of settings, not a list");
	refused("version: 1\nbudget: [1, 2\n", "memray.yml:3:1: bad YAML:");
	refused("version: 1\n  budget: 1\n", "memray.yml:2:9: bad YAML: mapping values are not allowed");
	refused("version: 1\nmax-allocations: 1MB\n", "memray.yml:2:18: 'max-allocations' must be a whole number, not '1MB'");
}
END_TEST

/* a '---' and a second document: refused where it starts, never read as the first alone */
START_TEST(second_document)
{
	struct manifest m = MANIFEST_INIT;

	refused("version: 1\nbudget: 1MB\n---\nversion: 1\nbudget: 2MB\n",
		"memray.yml:3:1: a second YAML document starts here (the file must hold one)\n");
	refused("version: 1\n---\n", "memray.yml:2:1: a second YAML document starts here (the file must hold one)\n");
	refused("version: 1\n...\n--- [1]\n", "memray.yml:3:1: a second YAML document starts here");
	refused("version: 1\n---\n: : [\n", "memray.yml:3:");	/* a syntax error in it is still one */
	/* one document, explicitly started and ended, is fine */
	ck_assert_int_eq(parse(&m, "---\nversion: 1\nbudget: 1MB\n...\n"), 0);
	ck_assert(m.run.has[LIMIT_PEAK] && m.run.value[LIMIT_PEAK] == 1u << 20);
	manifest_release(&m);
}
END_TEST

/* the duplicate-key check is linear: 60,000 keys used to take 35 s */
START_TEST(many_keys)
{
	enum { KEYS = 60000 };
	struct strbuf sb = STRBUF_INIT;
	char want[128];
	double start;

	strbuf_addstr(&sb, "version: 1\ndefaults:\n");
	for (int i = 0; i < KEYS; i++)
		strbuf_addf(&sb, "  k%d: 1\n", i);
	start = unit_seconds();
	/* no key twice: the check passes, and the walk stops at the first unknown key */
	refused(sb.buf, "memray.yml:3:3: unknown key 'k0' in 'defaults'\n");
	/* the last key repeats one in the middle: named where it repeats */
	strbuf_addstr(&sb, "  k30000: 2\n");
	snprintf(want, sizeof(want), "memray.yml:%d:3: key 'k30000' given twice\n", KEYS + 3);
	refused(sb.buf, want);
	ck_assert_msg(unit_seconds() - start < 5.0, "60,000 keys took %.1f s", unit_seconds() - start);
	strbuf_release(&sb);
}
END_TEST

START_TEST(increase_forms)
{
	struct increase inc;
	const char *why;

	ck_assert_int_eq(increase_parse("10%", &inc, &why), 0);
	ck_assert(inc.is_percent && inc.percent == 10.0);
	ck_assert_int_eq(increase_parse("+2.5%", &inc, &why), 0);
	ck_assert(inc.is_percent && inc.percent == 2.5);
	ck_assert_int_eq(increase_parse("+5MiB", &inc, &why), 0);
	ck_assert(!inc.is_percent && inc.bytes == 5u << 20);
	ck_assert_int_eq(increase_parse("%", &inc, &why), -1);
	ck_assert_int_eq(increase_parse("-5%", &inc, &why), -1);
	ck_assert_int_eq(increase_parse("1e3%", &inc, &why), -1);
	ck_assert_int_eq(increase_parse("5 parsecs", &inc, &why), -1);
}
END_TEST

/* every prefix of a good manifest, and every byte flipped: an answer, never a crash */
START_TEST(truncated_and_flipped)
{
	static const char good[] = "version: 1\nbudget: 1MB\ndefaults:\n  leak-budget: 0\ntests:\n"
				   "  - match: \"a*\"\n    budget: 2MB\nsuppressions: [\"x*\"]\n"
				   "baseline: { file: b.json, max-increase: 5% }\n";
	char buf[sizeof(good)];
	FILE *quiet = freopen("/dev/null", "w", stderr);

	ck_assert_ptr_nonnull(quiet);
	for (size_t n = 0; n <= strlen(good); n++) {
		struct manifest m = MANIFEST_INIT;

		manifest_parse(&m, good, n, "memray.yml");
		manifest_release(&m);
	}
	for (size_t i = 0; i < strlen(good); i++) {
		for (int bit = 0; bit < 8; bit++) {
			struct manifest m = MANIFEST_INIT;

			memcpy(buf, good, sizeof(good));
			buf[i] ^= (char)(1 << bit);
			manifest_parse(&m, buf, strlen(good), "memray.yml");
			manifest_release(&m);
		}
	}
}
END_TEST

#if FAULT_INJECTION
/* every allocation failing in turn: an error each time, nothing leaked, then success */
START_TEST(out_of_memory)
{
	static const char text[] = "version: 1\nbudget: 1MB\ndefaults:\n  leak-budget: 0\ntests:\n"
				   "  - match: \"a*\"\n    budget: 2MB\nsuppressions: [\"x*\", { frame: y }]\n"
				   "baseline: { file: b.json, max-increase: 5% }\n";
	FILE *quiet = freopen("/dev/null", "w", stderr);
	int n, ret, complete;

	ck_assert_ptr_nonnull(quiet);
	setvbuf(stderr, NULL, _IONBF, 0);
	for (n = 0;; n++) {
		struct manifest m = MANIFEST_INIT;
		long live = fault_live_allocs();

		fault_fail_alloc_after(n);
		ret = manifest_parse(&m, text, strlen(text), "memray.yml");
		complete = m.ntests == 1 && m.sup.n == 2 && m.baseline;
		manifest_release(&m);
		fault_reset();	/* before any ck_assert, which allocates */
		if (!ret)
			ck_assert(complete);
		ck_assert_msg(fault_live_allocs() == live, "allocation %d failing leaked %ld blocks", n,
			      fault_live_allocs() - live);
		if (!ret)
			break;
		ck_assert_int_eq(ret, -1);
	}
	ck_assert_int_gt(n, 5);
}
END_TEST
#endif

#if FAULT_INJECTION
struct parse_case {
	struct manifest m;
};

static const char whole_text[] = "version: 1\nbudget: 1MB\ndefaults:\n  leak-budget: 0\ntests:\n"
				 "  - match: \"a*\"\n    budget: 2MB\nsuppressions: [\"x*\", { frame: y }]\n"
				 "baseline: { file: b.json, max-increase: 5% }\n";

static int parse_run(void *ctx)
{
	struct parse_case *c = ctx;

	c->m = (struct manifest)MANIFEST_INIT;
	return manifest_parse(&c->m, whole_text, strlen(whole_text), "memray.yml");
}

/* a success is the whole manifest, down to where each setting was given */
static void parse_check(void *ctx)
{
	const struct manifest *m = &((struct parse_case *)ctx)->m;

	ck_assert(m->run.has[LIMIT_PEAK] && m->run.value[LIMIT_PEAK] == 1u << 20);
	ck_assert_str_eq(m->run.from[LIMIT_PEAK], "memray.yml:2:9");
	ck_assert_str_eq(m->defaults.from[LIMIT_LEAKS], "memray.yml:4:16");
	ck_assert_uint_eq(m->ntests, 1);
	ck_assert_str_eq(m->tests[0].glob, "a*");
	ck_assert_str_eq(m->tests[0].where, "memray.yml:6:5");
	ck_assert_str_eq(m->tests[0].lim.from[LIMIT_PEAK], "memray.yml:7:13");
	ck_assert_uint_eq(m->sup.n, 2);
	ck_assert_str_eq(m->sup.p[0].why, "memray.yml:8:16");
	ck_assert_str_eq(m->sup.p[1].glob, "y");
	ck_assert_str_eq(m->sup.p[1].why, "memray.yml:8:22");
	ck_assert_str_eq(m->baseline, "b.json");
	ck_assert(m->max_increase[INCREASE_PEAK].is_percent && m->max_increase[INCREASE_PEAK].percent == 5.0);
}

static void parse_release(void *ctx)
{
	manifest_release(&((struct parse_case *)ctx)->m);
}

/* each allocation failing alone, and from there on: never a manifest missing a part, or a place */
START_TEST(out_of_memory_whole)
{
	struct parse_case c;
	struct unit_fault_case fc = { parse_run, parse_check, parse_release, &c };

	ck_assert_int_gt(unit_fault_loop(&fc, 0), 5);
	ck_assert_int_gt(unit_fault_loop(&fc, 1), 5);
}
END_TEST
#endif

START_TEST(load_missing_file)
{
	struct manifest m = MANIFEST_INIT;

	ck_assert_int_eq(manifest_load(&m, "/nonexistent/memray.yml"), -1);
	manifest_release(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("manifest");
	TCase *tc = tcase_create("parse");

	tcase_set_timeout(tc, 60);	/* 60,000 keys under the sanitizers */
	tcase_add_test(tc, good_manifest);
	tcase_add_test(tc, empty_and_short_forms);
	tcase_add_test(tc, mistakes);
	tcase_add_test(tc, second_document);
	tcase_add_test(tc, many_keys);
	tcase_add_test(tc, increase_forms);
	tcase_add_test(tc, truncated_and_flipped);
#if FAULT_INJECTION
	tcase_add_test(tc, out_of_memory);
	tcase_add_test(tc, out_of_memory_whole);
#endif
	tcase_add_test(tc, load_missing_file);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
