/*
 * report/diffreport: see diffreport.h.
 */
#include "report/diffreport.h"

#include <inttypes.h>
#include <string.h>

#include "common/json.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "common/utf8.h"

static const char *const figure_titles[DIFF_NFIGURES] = {
	[DIFF_PEAK] = "peak memory", [DIFF_LEAKED] = "leaked memory",
	[DIFF_ALLOCATED] = "allocated memory", [DIFF_ALLOCATIONS] = "allocations",
};

static const char *match_text(const struct diff *d)
{
	return d->match == DIFF_MATCH_FUNCTION ? "function names" : "function, file and line";
}


/* "1.000MiB" for bytes, "12" for a count */
static void add_value(struct strbuf *out, enum diff_figure f, uint64_t v)
{
	char human[UNITS_BUF];

	if (f == DIFF_ALLOCATIONS)
		strbuf_addf(out, "%" PRIu64, v);
	else
		strbuf_addstr(out, units_human(human, v));
}

/* "+1.000MiB (+1048576 B)" for bytes, "+3" for a count, "0" for none */
static void add_change(struct strbuf *out, enum diff_figure f, int64_t c)
{
	uint64_t mag = c < 0 ? (uint64_t)-c : (uint64_t)c;
	const char *sign = c < 0 ? "-" : c > 0 ? "+" : "";

	if (f == DIFF_ALLOCATIONS || !c) {
		strbuf_addf(out, "%s%" PRIu64, sign, mag);
		return;
	}
	strbuf_addstr(out, sign);
	add_value(out, f, mag);
	strbuf_addf(out, " (%s%" PRIu64 " B)", sign, mag);
}

/* "function  file:line", escaped for a terminal */
static void add_frame_text(struct strbuf *out, const struct sym_frame *f)
{
	utf8_add_printable(out, f->function, 0);
	if (f->file || f->module) {
		strbuf_addstr(out, "  ");
		utf8_add_printable(out, f->file ? f->file : f->module, 0);
	}
	if (f->line)
		strbuf_addf(out, ":%u", f->line);
}

static void add_side_note(struct strbuf *out, const int is_seen[2])
{
	if (!is_seen[DIFF_BASE])
		strbuf_addstr(out, " (new in head)");
	else if (!is_seen[DIFF_HEAD])
		strbuf_addstr(out, " (gone from head)");
}

static void text_totals(struct strbuf *out, const struct diff *d)
{
	struct strbuf cell = STRBUF_INIT;

	strbuf_addf(out, "%-18s %14s %14s  %s\n", "", "base", "head", "change");
	for (int f = 0; f < DIFF_NFIGURES; f++) {
		strbuf_addf(out, "%-18s ", figure_titles[f]);
		strbuf_reset(&cell);
		add_value(&cell, f, d->total[DIFF_BASE][f]);
		strbuf_addf(out, "%14s ", cell.buf);
		strbuf_reset(&cell);
		add_value(&cell, f, d->total[DIFF_HEAD][f]);
		strbuf_addf(out, "%14s  ", cell.buf);
		add_change(out, f, diff_change(d->total, f));
		strbuf_addch(out, '\n');
	}
	strbuf_release(&cell);
}

/* "peak +1.000MiB (+1048576 B): 1.000MiB -> 2.000MiB; leaked +0; ..." */
static void add_figures(struct strbuf *out, const uint64_t v[2][DIFF_NFIGURES], const int is_seen[2],
			enum diff_figure first, const char *arrow)
{
	strbuf_addf(out, "%s ", diff_figure_names[first]);
	add_change(out, first, diff_change(v, first));
	strbuf_addstr(out, ": ");
	add_value(out, first, v[DIFF_BASE][first]);
	strbuf_addstr(out, arrow);
	add_value(out, first, v[DIFF_HEAD][first]);
	for (int f = 0; f < DIFF_NFIGURES; f++) {
		if (f == (int)first)
			continue;
		strbuf_addf(out, "; %s ", diff_figure_names[f]);
		add_change(out, f, diff_change(v, f));
	}
	add_side_note(out, is_seen);
}

static size_t count_changed(const struct diff_row *rows, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += diff_is_changed(rows[i].v);
	return k;
}

static void text_rows(struct strbuf *out, const struct diff *d, const struct diff_row *rows, size_t n,
		      const char *what, int with_frames, const struct diff_report_options *opts)
{
	size_t changed = count_changed(rows, n), shown = 0;

	strbuf_addf(out, "\n%s that changed (%zu), by change in %s:\n", what, changed,
		    figure_titles[opts->sort]);
	for (size_t i = 0; i < n && (!opts->max_rows || shown < opts->max_rows); i++) {
		const struct diff_row *r = &rows[i];

		if (!diff_is_changed(r->v))
			continue;
		strbuf_addf(out, "%3zu. ", ++shown);
		add_figures(out, r->v, r->is_seen, opts->sort, " -> ");
		strbuf_addch(out, '\n');
		for (uint32_t k = 0; k < r->nframes && (with_frames || !k); k++) {
			strbuf_addstr(out, "       ");
			add_frame_text(out, &d->frames[r->frame + k]);
			strbuf_addch(out, '\n');
		}
		if (!r->nframes)
			strbuf_addstr(out, "       <stack trace unavailable>\n");
	}
	if (shown < changed)
		strbuf_addf(out, "     ... %zu more (-r 0 shows all)\n", changed - shown);
}

static size_t changed_tests(const struct diff *d)
{
	size_t k = 0;

	for (size_t i = 0; i < d->ntests; i++)
		k += diff_is_changed(d->tests[i].v);
	return k;
}

/* the tests (per-test windows of two check runs) whose figures changed */
static void text_tests(struct strbuf *out, struct diff *d, const struct diff_report_options *opts)
{
	size_t changed, shown = 0;

	if (!d->ntests)
		return;
	diff_sort_tests(d, opts->sort);
	changed = changed_tests(d);
	strbuf_addf(out, "\nTests that changed (%zu of %zu), by change in %s:\n", changed, d->ntests,
		    figure_titles[opts->sort]);
	for (size_t i = 0; i < d->ntests && (!opts->max_rows || shown < opts->max_rows); i++) {
		const struct diff_test *t = &d->tests[i];

		if (!diff_is_changed(t->v))
			continue;
		strbuf_addf(out, "%3zu. ", ++shown);
		utf8_add_printable(out, t->id, 0);
		strbuf_addstr(out, "\n     ");
		add_figures(out, t->v, t->is_seen, opts->sort, " -> ");
		strbuf_addch(out, '\n');
	}
	if (shown < changed)
		strbuf_addf(out, "     ... %zu more (-r 0 shows all)\n", changed - shown);
}

int diff_report_text(struct strbuf *out, struct diff *d, const struct diff_report_options *opts)
{
	diff_sort(d, d->stacks, d->nstacks, opts->sort);
	diff_sort(d, d->locations, d->nlocations, opts->sort);
	strbuf_addstr(out, "base: ");
	utf8_add_printable(out, opts->base_name, 0);
	strbuf_addstr(out, "\nhead: ");
	utf8_add_printable(out, opts->head_name, 0);
	strbuf_addf(out, "\nstacks matched by %s\n\n", match_text(d));
	text_totals(out, d);
	text_tests(out, d, opts);
	text_rows(out, d, d->stacks, d->nstacks, "Stacks", 1, opts);
	text_rows(out, d, d->locations, d->nlocations, "Locations", 0, opts);
	return 0;
}

static void json_figures(struct json *j, const uint64_t v[2][DIFF_NFIGURES])
{
	for (int f = 0; f < DIFF_NFIGURES; f++) {
		json_key(j, diff_figure_names[f]);
		json_object_begin(j);
		json_key(j, "base");
		json_uint(j, v[DIFF_BASE][f]);
		json_key(j, "head");
		json_uint(j, v[DIFF_HEAD][f]);
		json_key(j, "change");
		json_int(j, diff_change(v, f));
		json_object_end(j);
	}
}

static void json_frame(struct json *j, const struct sym_frame *f)
{
	json_object_begin(j);
	json_key(j, "function");
	json_string(j, f->function);
	json_key(j, "file");
	if (f->file)
		json_string(j, f->file);
	else
		json_null(j);
	json_key(j, "line");
	json_uint(j, f->line);
	json_key(j, "module");
	json_string(j, f->module ? f->module : "");
	json_object_end(j);
}

static void json_rows(struct json *j, const struct diff *d, const struct diff_row *rows, size_t n, int is_stack)
{
	json_array_begin(j);
	for (size_t i = 0; i < n; i++) {
		const struct diff_row *r = &rows[i];

		if (!diff_is_changed(r->v))
			continue;
		json_object_begin(j);
		if (is_stack) {
			json_key(j, "frames");
			json_array_begin(j);
			for (uint32_t k = 0; k < r->nframes; k++)
				json_frame(j, &d->frames[r->frame + k]);
			json_array_end(j);
		} else {
			json_key(j, "location");
			if (r->nframes)
				json_frame(j, &d->frames[r->frame]);
			else
				json_null(j);
		}
		json_key(j, "in_base");
		json_bool(j, r->is_seen[DIFF_BASE]);
		json_key(j, "in_head");
		json_bool(j, r->is_seen[DIFF_HEAD]);
		json_figures(j, r->v);
		json_object_end(j);
	}
	json_array_end(j);
}

int diff_report_json(struct strbuf *out, struct diff *d, const struct diff_report_options *opts)
{
	struct json j;

	diff_sort(d, d->stacks, d->nstacks, opts->sort);
	diff_sort(d, d->locations, d->nlocations, opts->sort);
	json_init(&j, out, JSON_SPACED | JSON_TOP_LINES);
	json_object_begin(&j);
	json_key(&j, "base");
	json_string(&j, opts->base_name);
	json_key(&j, "head");
	json_string(&j, opts->head_name);
	json_key(&j, "match");
	json_string(&j, d->match == DIFF_MATCH_FUNCTION ? "function" : "frames");
	json_key(&j, "sort");
	json_string(&j, diff_figure_names[opts->sort]);
	json_key(&j, "totals");
	json_object_begin(&j);
	json_figures(&j, d->total);
	json_object_end(&j);
	json_key(&j, "tests");
	json_array_begin(&j);
	diff_sort_tests(d, opts->sort);
	for (size_t i = 0; i < d->ntests; i++) {
		if (!diff_is_changed(d->tests[i].v))
			continue;
		json_object_begin(&j);
		json_key(&j, "id");
		json_string(&j, d->tests[i].id);
		json_key(&j, "in_base");
		json_bool(&j, d->tests[i].is_seen[DIFF_BASE]);
		json_key(&j, "in_head");
		json_bool(&j, d->tests[i].is_seen[DIFF_HEAD]);
		json_figures(&j, d->tests[i].v);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "stacks");
	json_rows(&j, d, d->stacks, d->nstacks, 1);
	json_key(&j, "locations");
	json_rows(&j, d, d->locations, d->nlocations, 0);
	json_object_end(&j);
	if (json_finish(&j) < 0)
		return -1;
	return strbuf_addch(out, '\n');
}

/* a name from the tracked program as Markdown text, cut at DIFF_MD_NAME bytes (never mid-character) */
static void md_name(struct strbuf *out, const char *s)
{
	size_t len = strlen(s), cut = len > DIFF_MD_NAME ? DIFF_MD_NAME : len;
	struct strbuf part = STRBUF_INIT;

	while (cut < len && cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	strbuf_add(&part, s, cut);
	utf8_add_markdown(out, part.buf, 1);
	if (cut < len)
		strbuf_addstr(out, "\u2026");
	strbuf_release(&part);
}

static void md_totals(struct strbuf *out, const struct diff *d)
{
	strbuf_addstr(out, "| | base | head | change |\n|---|---:|---:|---:|\n");
	for (int f = 0; f < DIFF_NFIGURES; f++) {
		strbuf_addf(out, "| %s | ", figure_titles[f]);
		add_value(out, f, d->total[DIFF_BASE][f]);
		strbuf_addstr(out, " | ");
		add_value(out, f, d->total[DIFF_HEAD][f]);
		strbuf_addstr(out, " | ");
		add_change(out, f, diff_change(d->total, f));
		strbuf_addstr(out, " |\n");
	}
}

static void md_stack(struct strbuf *out, const struct diff *d, const struct diff_row *r, size_t number,
		     enum diff_figure fig)
{
	strbuf_addf(out, "%zu. ", number);
	add_figures(out, r->v, r->is_seen, fig, " \u2192 ");
	strbuf_addch(out, '\n');
	for (uint32_t k = 0; k < r->nframes && k < DIFF_MD_FRAMES; k++) {
		const struct sym_frame *f = &d->frames[r->frame + k];

		strbuf_addstr(out, "    - ");
		md_name(out, f->function);
		if (f->file || f->module) {
			strbuf_addstr(out, " at ");
			md_name(out, f->file ? f->file : f->module);
		}
		if (f->line)
			strbuf_addf(out, ":%u", f->line);
		strbuf_addch(out, '\n');
	}
	if (r->nframes > DIFF_MD_FRAMES)
		strbuf_addf(out, "    - \u2026 %u more frames\n", r->nframes - DIFF_MD_FRAMES);
	if (!r->nframes)
		strbuf_addstr(out, "    - (stack trace unavailable)\n");
}

/* the stacks whose figure grew (sign 1) or shrank (-1), while they fit */
static void md_section(struct strbuf *out, const struct diff *d, int sign, const struct diff_report_options *opts)
{
	struct strbuf one = STRBUF_INIT;
	size_t shown = 0, left = 0;

	for (size_t i = 0; i < d->nstacks; i++) {
		int64_t c = diff_change(d->stacks[i].v, opts->sort);

		if (sign > 0 ? c <= 0 : c >= 0)
			continue;
		if (!shown && !left)
			strbuf_addf(out, "\n#### Stacks whose %s %s\n\n", figure_titles[opts->sort],
				    sign > 0 ? "grew" : "shrank");
		strbuf_reset(&one);
		md_stack(&one, d, &d->stacks[i], shown + 1, opts->sort);
		/* room for the closing lines of this section and the next */
		if ((opts->max_rows && shown >= opts->max_rows) || out->len + one.len + 2000 > DIFF_MD_LIMIT) {
			left++;
			continue;
		}
		strbuf_add(out, one.buf, one.len);
		shown++;
	}
	if (left)
		strbuf_addf(out, "\n%zu more not shown (`memray diff --json` lists all).\n", left);
	strbuf_release(&one);
}

/* a table of the tests that changed, while it fits a quarter of the comment */
static void md_tests(struct strbuf *out, struct diff *d, const struct diff_report_options *opts)
{
	size_t changed, shown = 0, start = out->len;
	enum diff_figure fig = opts->sort;

	if (!d->ntests || !(changed = changed_tests(d)))
		return;
	diff_sort_tests(d, fig);
	strbuf_addf(out, "\n#### Tests that changed (%zu of %zu), by %s\n\n| test | base | head | change | "
		    "allocations |\n|---|---:|---:|---:|---:|\n", changed, d->ntests, figure_titles[fig]);
	for (size_t i = 0; i < d->ntests; i++) {
		const struct diff_test *t = &d->tests[i];

		if (!diff_is_changed(t->v))
			continue;
		if ((opts->max_rows && shown >= opts->max_rows) || out->len - start > DIFF_MD_LIMIT / 4)
			break;
		strbuf_addstr(out, "| ");
		md_name(out, t->id);
		strbuf_addstr(out, " | ");
		add_value(out, fig, t->v[DIFF_BASE][fig]);
		strbuf_addstr(out, " | ");
		add_value(out, fig, t->v[DIFF_HEAD][fig]);
		strbuf_addstr(out, " | ");
		add_change(out, fig, diff_change(t->v, fig));
		add_side_note(out, t->is_seen);
		strbuf_addstr(out, " | ");
		add_change(out, DIFF_ALLOCATIONS, diff_change(t->v, DIFF_ALLOCATIONS));
		strbuf_addstr(out, " |\n");
		shown++;
	}
	if (shown < changed)
		strbuf_addf(out, "\n%zu more tests not shown (`memray diff --json` lists all).\n", changed - shown);
}

int diff_report_markdown(struct strbuf *out, struct diff *d, const struct diff_report_options *opts)
{
	int64_t peak = diff_change(d->total, DIFF_PEAK), leaked = diff_change(d->total, DIFF_LEAKED);

	diff_sort(d, d->stacks, d->nstacks, opts->sort);
	strbuf_addstr(out, "### memray: memory change, head against base\n\n**Peak memory ");
	add_change(out, DIFF_PEAK, peak);
	strbuf_addstr(out, "**, **leaked ");
	add_change(out, DIFF_LEAKED, leaked);
	strbuf_addf(out, "** (stacks matched by %s)\n\n", match_text(d));
	md_totals(out, d);
	md_tests(out, d, opts);
	md_section(out, d, 1, opts);
	md_section(out, d, -1, opts);
	if (!count_changed(d->stacks, d->nstacks) && !changed_tests(d))
		strbuf_addstr(out, "\nNo stack changed.\n");
	return 0;
}
