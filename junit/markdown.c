/*
 * junit/markdown: see markdown.h.
 */
#include "junit/markdown.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/file.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "common/utf8.h"
#include "junit/junit.h"

#define MARKDOWN_MAX (1000u * 1024u)	/* below GitHub's 1 MiB, with room for the tail */

/* Markdown from the tested program's text (common/utf8.h), in sb */
static const char *md_text(struct strbuf *sb, const char *s, int is_name)
{
	strbuf_reset(sb);
	utf8_add_markdown(sb, s, is_name);
	return sb->buf;
}

/*
 * The command as a code span: its text is literal there (no entities, no
 * escapes), so only backticks matter, and the fence is one longer than
 * the longest run of them inside (CommonMark). Pipes are still escaped:
 * GitHub splits table cells before it reads code spans.
 */
static void md_code(struct strbuf *out, const char *s)
{
	struct strbuf shown = STRBUF_INIT;
	size_t run = 0, longest = 0;

	utf8_add_printable(&shown, s, UTF8_KEEP_TAB);
	for (const char *p = shown.buf; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		longest = run > longest ? run : longest;
	}
	for (size_t k = 0; k <= longest; k++)
		strbuf_addch(out, '`');
	if (longest)
		strbuf_addch(out, ' ');
	for (const char *p = shown.buf; *p; p++)
		if (*p == '|')
			strbuf_addstr(out, "\\|");
		else
			strbuf_addch(out, *p == '\t' ? ' ' : *p);
	if (longest)
		strbuf_addch(out, ' ');
	for (size_t k = 0; k <= longest; k++)
		strbuf_addch(out, '`');
	strbuf_release(&shown);
}

static void md_row(struct strbuf *out, struct strbuf *cell, const struct check_result *r)
{
	char fig[UNITS_BUF], lim[UNITS_BUF];
	int is_count = r->is_count;

	strbuf_addf(out, "| %s | %s", check_result_word(r), md_text(cell, r->name, 1));
	if (r->rule)
		strbuf_addf(out, " (%s)", r->rule);
	if (is_count)
		strbuf_addf(out, " | %llu", (unsigned long long)r->figure);
	else
		strbuf_addf(out, " | %s (%llu bytes)", units_human(fig, r->figure), (unsigned long long)r->figure);
	if (!r->has_limit)
		strbuf_addstr(out, " | -");
	else if (is_count)
		strbuf_addf(out, " | %llu", (unsigned long long)r->limit);
	else
		strbuf_addf(out, " | %s (%llu bytes)", units_human(lim, r->limit), (unsigned long long)r->limit);
	strbuf_addf(out, " | %s |\n", md_text(cell, r->message, 0));
}

/* a test's peak, from whichever of its verdicts carries it; 0 if none does */
static uint64_t test_peak(const struct check_result *r)
{
	for (size_t k = 0; k < r->nprops; k++)
		if (!strcmp(r->props[k].name, "peak_bytes"))
			return r->props[k].value;
	return r->rule && !strcmp(r->rule, "baseline") ? r->figure : 0;
}

static uint64_t prop_of(const struct check_result *r, const char *name)
{
	for (size_t k = 0; k < r->nprops; k++)
		if (!strcmp(r->props[k].name, name))
			return r->props[k].value;
	return 0;
}

static int is_bad(const struct check_result *r)
{
	return r->failure_type || r->error_type;
}

/* how near a passed rule is to its limit: figure / limit */
static double nearness(const struct check_result *r)
{
	return r->limit ? (double)r->figure / (double)r->limit : r->figure ? 1e300 : 1.0;
}

/* the first verdict of each test (a test's verdicts are consecutive), by test peak */
struct md_test {
	const struct check_result *first;
	uint64_t peak;
};

static int by_peak(const void *a, const void *b)
{
	const struct md_test *x = a, *y = b;

	return x->peak < y->peak ? 1 : x->peak > y->peak ? -1 : 0;
}

static int by_nearness(const void *a, const void *b)
{
	double x = nearness(*(const struct check_result *const *)a), y = nearness(*(const struct check_result *const *)b);

	return x < y ? 1 : x > y ? -1 : 0;
}

static const char md_header[] = "| Result | Rule | Measured | Limit | Details |\n|---|---|---|---|---|\n";

/*
 * The Markdown summary, built for a suite of any size: a headline (tests
 * judged, failures, the job's peak and leaks, the biggest test), every
 * failure and error (at most MD_FAILURES rows), the MD_TOP tests that
 * peaked highest and the MD_TOP passed rules closest to their limits,
 * then at most MD_REST other verdicts folded in <details>; the JUnit file
 * has them all. Row counts bound the size, so a 1,000-test suite stays
 * far under GitHub's 1 MiB job summary limit; MARKDOWN_MAX only guards
 * against absurdly long test names.
 */
#define MD_FAILURES 100
#define MD_TOP 10
#define MD_REST 100

/* the verdicts no section showed, MD_REST of them folded in <details> */
static void md_rest(struct strbuf *out, struct strbuf *cell, const struct check_run *run, const char *is_shown)
{
	size_t rest = 0, listed = 0;

	for (size_t i = 0; i < run->nresults; i++)
		rest += !is_shown[i];
	if (!rest)
		return;
	strbuf_addf(out, "<details><summary>%zu other verdicts</summary>\n\n%s", rest, md_header);
	for (size_t i = 0; i < run->nresults && listed < MD_REST && out->len < MARKDOWN_MAX; i++)
		if (!is_shown[i]) {
			md_row(out, cell, &run->results[i]);
			listed++;
		}
	if (listed < rest)
		strbuf_addf(out, "\n%zu more are in the JUnit file.\n", rest - listed);
	strbuf_addstr(out, "\n</details>\n");
}

/* the MD_TOP fixture setups that peaked highest */
static void md_fixtures(struct strbuf *out, struct strbuf *cell, const struct check_run *run)
{
	char a[UNITS_BUF], b[UNITS_BUF];

	if (!run->nfixtures)
		return;
	strbuf_addf(out, "### Fixture setup (top %zu of %zu, not judged)\n\n| Fixture | Scope | Setup peak | "
		    "Held after setup |\n|---|---|---|---|\n", run->nfixtures < MD_TOP ? run->nfixtures : MD_TOP,
		    run->nfixtures);
	for (size_t i = 0; i < run->nfixtures && i < MD_TOP; i++) {
		const struct check_fixture *f = &run->fixtures[i];

		strbuf_addf(out, "| %s | ", md_text(cell, f->name, 1));
		strbuf_addf(out, "%s | %s (%llu bytes) | %s (%llu bytes) |\n", md_text(cell, f->scope, 1),
			    units_human(a, f->peak), (unsigned long long)f->peak, units_human(b, f->held),
			    (unsigned long long)f->held);
	}
	strbuf_addch(out, '\n');
}

/*
 * Under the failures, what grew: for each regression shown, the locations
 * its details list as grown since the baseline ("  +..." lines, rules.c).
 */
static void md_grown(struct strbuf *out, struct strbuf *cell, const struct check_run *run)
{
	size_t shown = 0;

	for (size_t i = 0; i < run->nresults && shown < MD_FAILURES && out->len < MARKDOWN_MAX; i++) {
		const struct check_result *r = &run->results[i];
		const char *p = r->details;
		int listed = 0;

		if (!r->failure_type || strcmp(r->failure_type, "Regression") || !p)
			continue;
		shown++;
		while ((p = strstr(p, "\n  +"))) {
			const char *end = strchr(p + 1, '\n');
			char *line = strndup(p + 3, end ? (size_t)(end - p - 3) : strlen(p + 3));

			if (!listed++) {
				strbuf_addf(out, "What grew in %s", md_text(cell, r->name, 1));
				strbuf_addf(out, "%s%s%s:\n\n", r->rule ? " (" : "", r->rule ? r->rule : "", r->rule ? ")" : "");
			}
			strbuf_addf(out, "- %s\n", line ? md_text(cell, line, 0) : "");
			free(line);
			p = end ? end : p + strlen(p);
		}
		if (listed)
			strbuf_addch(out, '\n');
	}
}

/* every failure and error (up to MD_FAILURES), marked in is_shown, then what grew */
static void md_failures(struct strbuf *out, struct strbuf *cell, const struct check_run *run, size_t failures,
			char *is_shown)
{
	size_t shown = 0, left_out = 0;

	strbuf_addf(out, "### Failures (%zu)\n\n%s", failures, md_header);
	for (size_t i = 0; i < run->nresults; i++) {
		if (!is_bad(&run->results[i]))
			continue;
		is_shown[i] = 1;
		if (shown++ < MD_FAILURES && out->len < MARKDOWN_MAX)
			md_row(out, cell, &run->results[i]);
		else
			left_out++;
	}
	if (left_out)
		strbuf_addf(out, "\n%zu more failures are in the JUnit file.\n", left_out);
	strbuf_addch(out, '\n');
	md_grown(out, cell, run);
}

int markdown_write(const char *path, const struct check_run *run)
{
	struct strbuf out = STRBUF_INIT, cell = STRBUF_INIT;
	size_t failures = 0, ntests = 0, nnear = 0, unjudged = 0;
	struct md_test *tests = calloc(run->nresults + 1, sizeof(*tests));
	const struct check_result **near = calloc(run->nresults + 1, sizeof(*near));
	char *is_shown = calloc(run->nresults + 1, 1);
	char a[UNITS_BUF], b[UNITS_BUF];
	int ret = 0;
	FILE *f;

	if (file_refuse_irregular(path, "Markdown") < 0 || !tests || !near || !is_shown) {
		ret = tests && near && is_shown ? -1 : error("cannot write Markdown file '%s': out of memory", path);
		goto out;
	}
	for (size_t i = 0; i < run->nresults; i++) {
		const struct check_result *r = &run->results[i];

		failures += is_bad(r);
		unjudged += r->is_unjudged;
		if (r->rule && (!ntests || strcmp(tests[ntests - 1].first->name, r->name)))
			tests[ntests++].first = r;
		if (r->rule && test_peak(r) > tests[ntests - 1].peak)
			tests[ntests - 1].peak = test_peak(r);
		if (!is_bad(r) && r->has_limit)
			near[nnear++] = r;
	}
	qsort(tests, ntests, sizeof(*tests), by_peak);
	qsort(near, nnear, sizeof(*near), by_nearness);

	strbuf_addf(&out, "## memray check: %s\n\n", failures || run->error ? "failed" :
		    unjudged == run->nresults ? "nothing judged" : "passed");
	strbuf_addstr(&out, "Command: ");
	md_code(&out, run->command);
	strbuf_addstr(&out, "\n\n");
	if (run->error)
		strbuf_addf(&out, "**Error:** %s\n\n", md_text(&cell, run->error, 0));
	if (!run->nresults && !run->error) {
		strbuf_addf(&out, "**Nothing was judged**: %s.\n", CHECK_NOTHING_JUDGED);
		goto write;
	}
	if (unjudged == run->nresults)
		strbuf_addf(&out, "**Nothing was judged**: %s; %zu tests measured", CHECK_NOTHING_JUDGED, ntests);
	else
		strbuf_addf(&out, "**%zu verdicts** on the whole run and %zu tests: **%zu failed**",
			    run->nresults - unjudged, ntests, failures);
	if (run->has_figures)
		strbuf_addf(&out, "; job peak %s (%llu bytes), leaked %s (%llu bytes)", units_human(a, run->peak_bytes),
			    (unsigned long long)run->peak_bytes, units_human(b, run->leaked_bytes),
			    (unsigned long long)run->leaked_bytes);
	if (ntests)
		strbuf_addf(&out, "; biggest test %s, peak %s (%llu bytes)", md_text(&cell, tests[0].first->name, 1),
			    units_human(a, tests[0].peak), (unsigned long long)tests[0].peak);
	strbuf_addstr(&out, ".\n\n");

	if (failures)
		md_failures(&out, &cell, run, failures, is_shown);
	if (ntests > 1) {
		strbuf_addf(&out, "### Highest peaks (top %zu of %zu tests)\n\n| Test | Peak | Leaked | Allocations |\n"
			    "|---|---|---|---|\n", ntests < MD_TOP ? ntests : MD_TOP, ntests);
		for (size_t i = 0; i < ntests && i < MD_TOP && out.len < MARKDOWN_MAX; i++)
			strbuf_addf(&out, "| %s | %s (%llu bytes) | %s | %llu |\n", md_text(&cell, tests[i].first->name, 1),
				    units_human(a, tests[i].peak), (unsigned long long)tests[i].peak,
				    units_human(b, prop_of(tests[i].first, "leaked_bytes")),
				    (unsigned long long)prop_of(tests[i].first, "allocations"));
		strbuf_addch(&out, '\n');
	}
	if (nnear) {
		strbuf_addf(&out, "### Closest to their limits (top %zu of %zu passed rules)\n\n%s",
			    nnear < MD_TOP ? nnear : MD_TOP, nnear, md_header);
		for (size_t i = 0; i < nnear && i < MD_TOP && out.len < MARKDOWN_MAX; i++) {
			is_shown[near[i] - run->results] = 1;
			md_row(&out, &cell, near[i]);
		}
		strbuf_addch(&out, '\n');
	}
	md_fixtures(&out, &cell, run);
	md_rest(&out, &cell, run, is_shown);
write:
	f = fopen(path, "w");
	if (!f || fwrite(out.buf, 1, out.len, f) != out.len || fclose(f) != 0) {
		if (f)
			fclose(f);
		ret = error_errno("cannot write Markdown file '%s'", path);
	}
out:
	free(tests);
	free(near);
	free(is_shown);
	strbuf_release(&out);
	strbuf_release(&cell);
	return ret;
}
