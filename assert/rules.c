/*
 * assert/rules: see rules.h.
 */
#include "assert/rules.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/grow.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "common/utf8.h"

/*
 * Locations and process names come from the tested program: a function,
 * file or command named with a newline would forge a line of its own in
 * the details `memray check` prints (and a JUnit body), so they are
 * appended escaped (common/utf8.h); the details' own line breaks stay.
 *
 * Every append below is checked: strbuf keeps what it had when memory
 * runs out, so an unchecked one would hand on a verdict with half its
 * message, silently. Appends are or-ed into one status (0 or -1) that
 * finish() turns into the one error line.
 */

/*
 * Append the first CI_TOP_STACKS lines of ls to sb, one per line:
 * "  SIZE (N bytes) in K allocations at LOC", with " (suppressed by 'GLOB')"
 * for suppressed lines. 0, or -1 when out of memory.
 */
static int lines_format(struct strbuf *sb, const struct ci_lines *ls)
{
	int bad = 0;

	for (size_t i = 0; i < ls->n && i < CI_TOP_STACKS; i++) {
		const struct ci_stack_line *l = &ls->l[i];
		char size[UNITS_BUF];

		bad |= strbuf_addf(sb, "  %s (%llu bytes) in %llu allocations at ", units_human(size, l->bytes),
				   (unsigned long long)l->bytes, (unsigned long long)l->count);
		bad |= utf8_add_printable(sb, l->location, 0);
		if (l->suppressed_by)
			bad |= strbuf_addf(sb, " (suppressed by '%s', %s)", l->suppressed_by->glob,
					   l->suppressed_by->why);
		bad |= strbuf_addch(sb, '\n');
	}
	if (ls->n > CI_TOP_STACKS)
		bad |= strbuf_addf(sb, "  ... and %zu more locations\n", ls->n - CI_TOP_STACKS);
	return bad;
}

static const char *const whole_names[LIMIT_KINDS] = { "peak memory", "leaked memory", "allocations" };
static const char *const test_rules[LIMIT_KINDS] = { "peak", "leaks", "allocations" };
static const char *const what[LIMIT_KINDS] = { "peak", "leaked", "allocations" };
static const char *const failure_types[LIMIT_KINDS] = { "BudgetExceeded", "LeakDetected", "BudgetExceeded" };

/* keep sb's string for as long as v */
static const char *own(struct verdicts *v, struct strbuf *sb)
{
	char *s;

	if (GROW(v->owned, v->nowned + 1, v->owned_alloc) < 0)
		return NULL;
	s = strbuf_detach(sb, NULL);
	if (s)
		v->owned[v->nowned++] = s;
	return s;
}

/* a new verdict on s, with its time and place (a test's) */
static struct check_result *new_result(struct verdicts *v, const struct ci_subject *s)
{
	struct check_result *r;

	if (GROW(v->r, v->n + 1, v->r_alloc) < 0)
		return NULL;
	r = memset(&v->r[v->n++], 0, sizeof(v->r[0]));
	r->seconds = (double)s->ns / 1e9;
	r->file = s->file;
	r->line = s->line;
	return r;
}

static void prop(struct check_result *r, const char *name, uint64_t value)
{
	if (r->nprops < CHECK_MAX_PROPS)
		r->props[r->nprops++] = (struct check_property){ name, value };
}

static void test_props(struct check_result *r, const struct ci_subject *s)
{
	prop(r, "peak_bytes", s->peak);
	prop(r, "allocated_bytes", s->bytes);
	prop(r, "allocations", s->allocations);
	prop(r, "leaked_bytes", s->leaked);
	prop(r, "suppressed_bytes", s->suppressed);
	if (s->processes.n)
		prop(r, "started_bytes", s->started);	/* held by the processes it started, at its peak */
}

static uint64_t figure_of(const struct ci_subject *s, enum limit_kind k)
{
	return k == LIMIT_PEAK ? s->peak : k == LIMIT_LEAKS ? s->leaked : s->allocations;
}

/* "3.906MiB" for sizes, "1234" for counts */
static const char *amount(char *buf, enum limit_kind k, uint64_t n)
{
	if (k != LIMIT_COUNT)
		return units_human(buf, n);
	snprintf(buf, UNITS_BUF, "%llu", (unsigned long long)n);
	return buf;
}

/* a job of several processes: what each held when the job peaked, most first */
static int processes_format(struct strbuf *d, const struct ci_subject *s)
{
	int bad = s->is_test ? strbuf_addstr(d, "held at the test's peak, by the test and the processes it started:\n")
		: strbuf_addf(d, "held at the job's peak, %llu.%03llu s into the run, by process:\n",
			      (unsigned long long)(s->peak_ms / 1000), (unsigned long long)(s->peak_ms % 1000));

	for (size_t i = 0; i < s->processes.n && i < CI_TOP_STACKS; i++) {
		const struct ci_stack_line *l = &s->processes.l[i];
		char size[UNITS_BUF];

		bad |= strbuf_addf(d, "  %s (%llu bytes) by ", units_human(size, l->bytes), (unsigned long long)l->bytes);
		bad |= utf8_add_printable(d, l->location, 0);
		bad |= strbuf_addch(d, '\n');
	}
	if (s->processes.n > CI_TOP_STACKS)
		bad |= strbuf_addf(d, "  ... and %zu more processes\n", s->processes.n - CI_TOP_STACKS);
	return bad;
}

static int add_stacks(struct strbuf *d, const struct ci_subject *s, enum limit_kind k)
{
	int bad = 0;

	if (k == LIMIT_LEAKS) {
		if (s->leak_stacks.n) {
			bad |= strbuf_addstr(d, "leaked at:\n");
			bad |= lines_format(d, &s->leak_stacks);
		}
		if (s->suppressed_stacks.n) {
			char h[UNITS_BUF];

			bad |= strbuf_addf(d, "suppressed, not counted: %s (%llu bytes) in %llu allocations:\n",
					   units_human(h, s->suppressed), (unsigned long long)s->suppressed,
					   (unsigned long long)s->suppressed_count);
			bad |= lines_format(d, &s->suppressed_stacks);
		}
		return bad;
	}
	if (k == LIMIT_PEAK && s->processes.n > 1)
		bad |= processes_format(d, s);
	if (s->peak_stacks.n) {
		bad |= strbuf_addstr(d, k != LIMIT_PEAK ? "the peak's stacks:\n" : s->processes.n > 1 && s->is_test ?
				     "live at the test's own peak, in its own window:\n" : s->processes.n > 1 ?
				     "live at the peak of the process that peaked highest:\n" : "live at the peak:\n");
		bad |= lines_format(d, &s->peak_stacks);
	}
	return bad;
}

/*
 * Hand msg and details (details may be NULL) over to r and count a
 * failure; bad says an append to them failed. 0, or -1 after one error
 * line; the strbufs are released either way.
 */
static int finish(struct verdicts *v, struct check_result *r, struct strbuf *msg, struct strbuf *details,
		  int failed, int bad)
{
	if (!bad) {
		r->message = own(v, msg);
		r->details = details ? own(v, details) : NULL;
	}
	strbuf_release(msg);
	if (details)
		strbuf_release(details);
	if (bad || !r->message || (details && !r->details))
		return error("check: out of memory");
	v->failed += failed;
	return 0;
}

/* a limit from a pytest mark fails at the limit itself, as pytest-memray's marks do */
static int from_mark(const char *from)
{
	return from && (!strcmp(from, "limit_memory mark") || !strcmp(from, "limit_leaks mark"));
}

/* one limit of one subject */
static int judge(struct verdicts *v, const struct ci_subject *s, enum limit_kind k, uint64_t limit,
		 const char *from)
{
	struct check_result *r = new_result(v, s);
	struct strbuf msg = STRBUF_INIT, d = STRBUF_INIT;
	uint64_t figure = figure_of(s, k);
	char f[UNITS_BUF], l[UNITS_BUF];
	int failed = figure > limit || (figure == limit && from_mark(from)), bad = 0;

	if (!r)
		return error("check: out of memory");
	r->name = s->is_test ? s->id : whole_names[k];
	r->rule = s->is_test ? test_rules[k] : NULL;
	r->is_count = k == LIMIT_COUNT;
	r->figure = figure;
	r->limit = limit;
	r->has_limit = 1;
	r->failure_type = failed ? failure_types[k] : NULL;
	bad |= strbuf_addf(&msg, "%s %s %s %s %s", what[k], amount(f, k, figure),
			   !failed ? "within" : figure == limit ? "reaches" : "exceeds",
			   k == LIMIT_COUNT ? "limit" : "budget", amount(l, k, limit));
	if (limit)
		bad |= strbuf_addf(&msg, " (%+.1f%%)", 100.0 * ((double)figure - (double)limit) / (double)limit);
	if (k == LIMIT_LEAKS && s->suppressed)
		bad |= strbuf_addf(&msg, "; %s more suppressed", units_human(f, s->suppressed));
	if (k == LIMIT_COUNT)
		bad |= strbuf_addf(&d, "allocations: %llu; limit: %llu (%s)\n", (unsigned long long)figure,
				   (unsigned long long)limit, from);
	else
		bad |= strbuf_addf(&d, "%s: %llu bytes; limit: %llu bytes (%s)\n", what[k],
				   (unsigned long long)figure, (unsigned long long)limit, from);
	if (k == LIMIT_LEAKS && s->is_filtered)
		bad |= strbuf_addstr(&d, "leaked: the bytes its limit_leaks filter_fn kept, in locations at or over "
				     "the limit (judged in pytest)\n");
	if (s->is_unfinished)
		bad |= strbuf_addstr(&d, "the test never ended (it crashed or was killed): figures up to the end of "
				     "its process\n");
	bad |= add_stacks(&d, s, k);
	prop(r, "bytes", figure);
	prop(r, "limit_bytes", limit);
	if (s->is_test)
		test_props(r, s);
	else if (k == LIMIT_LEAKS && s->suppressed)
		prop(r, "suppressed_bytes", s->suppressed);
	return finish(v, r, &msg, &d, failed, bad);
}

/* the pytest plugin's marks: "limit_memory=24 MB", 0x1f-separated */
static int marks(struct verdicts *v, const struct ci_subject *s, struct limits *lim, struct limits *own_marks)
{
	char *copy, *field, *save = NULL;
	int ret = 0;

	if (!s->marks)
		return 0;
	copy = strdup(s->marks);
	if (!copy)
		return error("check: out of memory");
	for (field = strtok_r(copy, "\x1f", &save); field; field = strtok_r(NULL, "\x1f", &save)) {
		char *eq = strchr(field, '=');
		enum limit_kind k;
		uint64_t value;
		const char *why;

		if (!eq)
			continue;
		*eq = '\0';
		if (!strcmp(field, "limit_memory"))
			k = LIMIT_PEAK;
		else if (!strcmp(field, "limit_leaks"))
			k = LIMIT_LEAKS;
		else
			continue;
		if (units_parse(eq + 1, &value, &why) < 0) {
			struct check_result *r = new_result(v, s);
			struct strbuf msg = STRBUF_INIT;

			if (!r) {
				ret = error("check: out of memory");
				break;
			}
			r->name = s->id;
			r->rule = test_rules[k];
			r->error_type = "BadLimit";
			if (strbuf_addf(&msg, "bad size '%s' in @pytest.mark.%s: %s", eq + 1, field, why) < 0 ||
			    !(r->message = own(v, &msg))) {
				strbuf_release(&msg);
				ret = error("check: out of memory");
				break;
			}
			error("%s: %s", s->id, r->message);
			v->errors++;
			continue;
		}
		/* from_mark() knows these two names */
		if (limits_set(own_marks, k, value, k == LIMIT_PEAK ? "limit_memory mark" : "limit_leaks mark") < 0) {
			ret = -1;
			break;
		}
		lim->has[k] = 1;
		lim->value[k] = value;
		lim->from[k] = own_marks->from[k];
	}
	free(copy);
	return ret;
}

/*
 * The baseline's figure plus the allowed increase, saturating at 2^64 - 1:
 * a baseline near 2^64 or an absurd increase (+16000000TiB, 1000000%)
 * wrapped the sum, and a double past 2^64 converted to uint64_t is
 * undefined, so either turned a huge limit into a tiny one.
 */
static uint64_t allowed_figure(uint64_t was, const struct increase *inc)
{
	double extra;

	if (!inc->is_percent)
		return units_add(was, inc->bytes);
	extra = (double)was * inc->percent / 100.0;
	/* 2^64 as a double; !(extra < ...) also catches NaN */
	if (!(extra < 18446744073709551616.0))
		return UINT64_MAX;
	return units_add(was, (uint64_t)extra);
}

/* each baseline figure: its name in messages, the whole run's verdict name, the test's rule */
static const struct {
	const char *what, *whole, *rule;
	int is_count;
} baseline_figures[INCREASE_FIGURES] = {
	[INCREASE_PEAK] = { "peak", "peak memory (baseline)", "baseline", 0 },
	[INCREASE_ALLOCATIONS] = { "allocations", "allocations (baseline)", "baseline-allocations", 1 },
	[INCREASE_ALLOCATED] = { "allocated", "allocated memory (baseline)", "baseline-allocated", 0 },
};

/* "1.000MiB" for bytes, "12" for a count */
static const char *figure_text(char *buf, uint64_t v, int is_count)
{
	if (!is_count)
		return units_human(buf, v);
	snprintf(buf, UNITS_BUF, "%llu", (unsigned long long)v);
	return buf;
}

/*
 * The peak's top locations that grew since the baseline, in bytes or (by_count) in allocations
 * live; a rule on another figure than the peak says that these are the peak's.
 */
static int grown_stacks(struct strbuf *d, const struct ci_subject *s, const struct baseline_entry *e, int by_count,
			int is_peak)
{
	char buf[UNITS_BUF];
	int grew = 0, bad = 0;

	for (size_t i = 0; i < s->peak_stacks.n && i < CI_TOP_STACKS; i++) {
		const struct ci_stack_line *l = &s->peak_stacks.l[i];
		uint64_t before = 0, now = by_count ? l->count : l->bytes;

		for (size_t j = 0; j < e->nstacks; j++)
			if (!strcmp(e->stacks[j].location, l->location))
				before = by_count ? e->stacks[j].count : e->stacks[j].bytes;
		if (now <= before)
			continue;
		if (!grew++)
			bad |= strbuf_addstr(d, is_peak ? "grew since the baseline:\n"
						: by_count ? "allocations live at the peak that grew since the baseline:\n"
						: "bytes live at the peak that grew since the baseline:\n");
		if (by_count)
			bad |= strbuf_addf(d, "  +%llu (%llu allocations, was %llu) at ", (unsigned long long)(now - before),
					   (unsigned long long)now, (unsigned long long)before);
		else
			bad |= strbuf_addf(d, "  +%s (+%llu bytes; %llu bytes, was %llu) at ", units_human(buf, now - before),
					   (unsigned long long)(now - before), (unsigned long long)now,
					   (unsigned long long)before);
		bad |= utf8_add_printable(d, l->location, 0);
		bad |= strbuf_addch(d, '\n');
	}
	return bad;
}

static int regression(struct verdicts *v, const struct ci_subject *s, const struct baseline_entry *e,
		      enum increase_figure fig, const struct increase *inc)
{
	struct check_result *r;
	struct strbuf msg = STRBUF_INIT, d = STRBUF_INIT;
	int is_count = baseline_figures[fig].is_count;
	const char *name = baseline_figures[fig].what, *unit = is_count ? "allocations" : "bytes";
	uint64_t now = fig == INCREASE_PEAK ? s->peak : fig == INCREASE_ALLOCATIONS ? s->allocations : s->bytes;
	uint64_t was = fig == INCREASE_PEAK ? e->peak : fig == INCREASE_ALLOCATIONS ? e->allocations : e->allocated;
	uint64_t allowed = allowed_figure(was, inc);
	char now_s[UNITS_BUF], was_s[UNITS_BUF], lim[UNITS_BUF];
	int failed = now > allowed, bad = 0;

	if (fig == INCREASE_ALLOCATED && !e->has_allocated)
		return 0;	/* a version 1 baseline has no such figure */
	if (!(r = new_result(v, s)))
		return error("check: out of memory");
	r->name = s->is_test ? s->id : baseline_figures[fig].whole;
	r->rule = s->is_test ? baseline_figures[fig].rule : NULL;
	r->figure = now;
	r->limit = allowed;
	r->has_limit = 1;
	r->is_count = is_count;
	r->failure_type = failed ? "Regression" : NULL;
	bad |= strbuf_addf(&msg, "%s %s %s baseline %s", name, figure_text(now_s, now, is_count),
			   failed ? "grew beyond" : "within", figure_text(was_s, was, is_count));
	if (was)
		bad |= strbuf_addf(&msg, " (%+.1f%%", 100.0 * ((double)now - (double)was) / (double)was);
	else
		bad |= strbuf_addstr(&msg, " (");
	if (inc->is_percent)
		bad |= strbuf_addf(&msg, "%sallowed +%g%%)", was ? ", " : "", inc->percent);
	else
		bad |= strbuf_addf(&msg, "%sallowed +%s)", was ? ", " : "", figure_text(lim, inc->bytes, is_count));
	bad |= strbuf_addf(&d, "%s: %llu %s; baseline: %llu %s; allowed up to %llu %s\n", name,
			   (unsigned long long)now, unit, (unsigned long long)was, unit, (unsigned long long)allowed,
			   unit);
	bad |= grown_stacks(&d, s, e, is_count, fig == INCREASE_PEAK);
	prop(r, is_count ? "allocations" : "bytes", now);
	prop(r, is_count ? "limit_allocations" : "limit_bytes", allowed);
	prop(r, is_count ? "baseline_allocations" : "baseline_bytes", was);
	return finish(v, r, &msg, &d, failed, bad);
}

/* every baseline rule the manifest asks for, on one subject */
static int regressions(struct verdicts *v, const struct ci_subject *s, const struct baseline_entry *e,
		       const struct manifest *m)
{
	for (int f = 0; f < INCREASE_FIGURES; f++)
		if (m->max_increase[f].is_set && regression(v, s, e, (enum increase_figure)f, &m->max_increase[f]) < 0)
			return -1;
	return 0;
}

/* the verdict of a test that has no rule: it passes and shows its figures */
static int figures_only(struct verdicts *v, const struct ci_subject *s)
{
	struct check_result *r = new_result(v, s);
	struct strbuf msg = STRBUF_INIT;
	char p[UNITS_BUF], l[UNITS_BUF];
	int bad;

	if (!r)
		return error("check: out of memory");
	r->name = s->id;
	r->rule = "memory";
	r->figure = s->peak;
	bad = strbuf_addf(&msg, "peak %s, leaked %s, %llu allocations (no rule)", units_human(p, s->peak),
			  units_human(l, s->leaked), (unsigned long long)s->allocations);
	test_props(r, s);
	r->is_unjudged = 1;
	return finish(v, r, &msg, NULL, 0, bad);
}

int rules_eval(struct verdicts *v, const struct manifest *m, const struct ci_results *res,
	       const struct baseline *b)
{
	const struct baseline_entry *e;

	memset(v, 0, sizeof(*v));
	for (int k = 0; k < LIMIT_KINDS; k++)
		if (m->run.has[k] && judge(v, &res->whole, (enum limit_kind)k, m->run.value[k], m->run.from[k]) < 0)
			return -1;
	if (b && (e = baseline_find(b, res->whole.id)) && regressions(v, &res->whole, e, m) < 0)
		return -1;
	for (size_t i = 0; i < res->ntests; i++) {
		const struct ci_subject *s = &res->tests[i];
		struct limits lim, from_marks = { 0 };
		size_t before = v->n;
		int ret = 0;

		manifest_limits_for(m, s->id, &lim);
		ret = marks(v, s, &lim, &from_marks);
		for (int k = 0; !ret && k < LIMIT_KINDS; k++)
			if (lim.has[k])
				ret = judge(v, s, (enum limit_kind)k, lim.value[k], lim.from[k]);
		if (!ret && b && (e = baseline_find(b, s->id)))
			ret = regressions(v, s, e, m);
		if (!ret && v->n == before)
			ret = figures_only(v, s);
		limits_release(&from_marks);
		if (ret < 0)
			return -1;
	}
	return 0;
}

void verdicts_release(struct verdicts *v)
{
	for (size_t i = 0; i < v->nowned; i++)
		free(v->owned[i]);
	free(v->owned);
	free(v->r);
	memset(v, 0, sizeof(*v));
}
