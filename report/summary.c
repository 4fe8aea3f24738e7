/*
 * report/summary: see summary.h.
 */
#include "report/summary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "common/hashidx.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "common/utf8.h"
#include "report/figure.h"
#include "report/frames.h"
#include "report/reach.h"

struct row_key {
	const struct summary_table *t;
	const char *function, *file;
};

static int same_row(const void *ctx, uint32_t pos)
{
	const struct row_key *k = ctx;

	/* interned strings: pointer equality */
	return k->t->rows[pos].function == k->function && k->t->rows[pos].file == k->file;
}

static uint64_t row_hash(const struct row_key *k)
{
	return hash_u64((uint64_t)(uintptr_t)k->function ^ hash_u64((uint64_t)(uintptr_t)k->file));
}

static struct summary_row *row_of(struct summary_table *t, const struct sym_frame *f)
{
	struct row_key k = { t, f->function, f->file ? f->file : f->module };
	uint64_t h = row_hash(&k);
	uint32_t i = hashidx_find(&t->index, h, same_row, &k);

	if (i != HASHIDX_NONE)
		return &t->rows[i];
	if (GROW(t->rows, t->n + 1, t->alloc) < 0 || hashidx_add(&t->index, h, (uint32_t)t->n) < 0)
		return NULL;
	t->rows[t->n] = (struct summary_row){ k.function, k.file, 0, 0, 0, UINT64_MAX };
	return &t->rows[t->n++];
}

/* the row of t with the key of row r (of another table over the same symbolizer), or NULL */
static const struct summary_row *row_like(const struct summary_table *t, const struct summary_row *r)
{
	struct row_key k = { t, r->function, r->file };
	uint32_t i = hashidx_find(&t->index, row_hash(&k), same_row, &k);

	return i == HASHIDX_NONE ? NULL : &t->rows[i];
}

static enum summary_column sort_column;

static uint64_t column(const struct summary_row *r)
{
	return sort_column == SUMMARY_OWN ? r->own : sort_column == SUMMARY_COUNT ? r->count : r->total;
}

static int by_column(const void *x, const void *y)
{
	const struct summary_row *a = x, *b = y;
	uint64_t va = column(a), vb = column(b);

	if (va != vb)
		return va < vb ? 1 : -1;
	return strcmp(a->function, b->function);
}

int summary_table_add(struct summary_table *t, struct analysis *a, struct symbolizer *s, uint32_t stack,
		      uint64_t bytes, uint64_t count, uint64_t item)
{
	const struct sym_frame *frames;
	int n = analysis_stack(a, s, stack, &frames), own;

	if (n < 0)
		return -1;
	own = frames_own(frames, n);
	for (int k = 0; k < n; k++) {
		struct summary_row *r;

		if (k != own && frames_is_hidden(&frames[k]))
			continue;
		r = row_of(t, &frames[k]);
		if (!r)
			return -1;
		if (k == own) {
			r->own += bytes;
			r->count += count;
		}
		if (r->seen_at != item) {	/* recursion: once per stack */
			r->total += bytes;
			r->seen_at = item;
		}
	}
	return 0;
}

void summary_table_sort(struct summary_table *t, enum summary_column by)
{
	sort_column = by;
	qsort(t->rows, t->n, sizeof(*t->rows), by_column);
}

void summary_table_release(struct summary_table *t)
{
	free(t->rows);
	hashidx_release(&t->index);
	memset(t, 0, sizeof(*t));
}

static int build(struct analysis *a, struct symbolizer *s, struct summary_table *t, enum figure fig)
{
	for (size_t i = 0; i < a->nentries; i++) {
		uint64_t bytes, count;

		if (figure_of(&a->entries[i], fig, &bytes, &count) &&
		    summary_table_add(t, a, s, a->entries[i].stack, bytes, count, i) < 0)
			return -1;
	}
	return 0;
}

/* keep the last `keep` bytes of sb behind "..." (never half a character) */
static void keep_end(struct strbuf *sb, size_t keep)
{
	size_t from;

	if (sb->len <= keep || keep < 4)
		return;
	from = sb->len - keep + 3;
	while (from < sb->len && (sb->buf[from] & 0xc0) == 0x80)
		from++;
	memmove(sb->buf + 3, sb->buf + from, sb->len - from);
	memcpy(sb->buf, "...", 3);
	strbuf_setlen(sb, sb->len - from + 3);
}

/* keep the first `keep` bytes of sb before "..." (never half a character) */
static void keep_start(struct strbuf *sb, size_t keep)
{
	size_t to;

	if (sb->len <= keep || keep < 4)
		return;
	to = keep - 3;
	while (to && (sb->buf[to] & 0xc0) == 0x80)
		to--;
	strbuf_setlen(sb, to);
	strbuf_addstr(sb, "...");
}

void summary_add_location(struct strbuf *sb, const struct summary_row *r, int width)
{
	struct strbuf fn = STRBUF_INIT, file = STRBUF_INIT;

	/* names from the tracked program: escaped before the width is measured */
	utf8_add_printable(&fn, r->function, 0);
	utf8_add_printable(&file, r->file, 0);
	if (width > 10 && fn.len + file.len + 3 > (size_t)width) {
		/* the function whole if it leaves room for the end of the file, else both cut */
		keep_end(&file, fn.len + 3 + 16 <= (size_t)width ? (size_t)width - fn.len - 3 : 16);
		if (fn.len + file.len + 3 > (size_t)width)
			keep_start(&fn, (size_t)width > file.len + 3 ? (size_t)width - file.len - 3 : 4);
	}
	strbuf_addf(sb, "%s (%s)", fn.buf, file.buf);
	strbuf_release(&fn);
	strbuf_release(&file);
}

/*
 * What the rows shown leave out of the peak's own column (rows cut by
 * --max-rows, stacks with no frame at all), as one last row, so the Own
 * column always adds up to the peak.
 */
static void other_row(struct strbuf *out, const struct analysis *a, const struct summary_table *t, size_t shown)
{
	char own[UNITS_BUF], label[64];
	uint64_t bytes = a->peak_bytes, count = a->peak_allocations;

	for (size_t i = 0; i < shown; i++) {
		bytes -= t->rows[i].own < bytes ? t->rows[i].own : bytes;
		count -= t->rows[i].count < count ? t->rows[i].count : count;
	}
	if (!bytes && !count)
		return;
	if (shown < t->n)
		snprintf(label, sizeof(label), "<other> (%zu more functions)", t->n - shown);
	else
		snprintf(label, sizeof(label), "<other> (no stack trace)");
	units_human(own, bytes);
	strbuf_addf(out, "%-12s %6.2f%% %12s %6.2f%% %10llu  %s\n", own,
		    a->peak_bytes ? 100.0 * (double)bytes / (double)a->peak_bytes : 0, own,
		    a->peak_bytes ? 100.0 * (double)bytes / (double)a->peak_bytes : 0, (unsigned long long)count, label);
}

static void render(struct strbuf *out, const struct analysis *a, const struct summary_table *t,
		   const struct summary_options *opts)
{
	char own[UNITS_BUF], total[UNITS_BUF], peak[UNITS_BUF];
	struct strbuf line = STRBUF_INIT;
	int loc_width = opts->width ? opts->width - 52 : 0;
	size_t shown;

	strbuf_addf(out, "Peak memory: %s in %llu allocations\n\n", units_human(peak, a->peak_bytes),
		    (unsigned long long)a->peak_allocations);
	strbuf_addf(out, "%-12s %7s %12s %7s %10s  %s\n", "Total", "Total%", "Own", "Own%", "Allocs", "Location");
	for (shown = 0; shown < t->n && (!opts->max_rows || shown < opts->max_rows); shown++) {
		const struct summary_row *r = &t->rows[shown];
		double tp = a->peak_bytes ? 100.0 * (double)r->total / (double)a->peak_bytes : 0;
		double op = a->peak_bytes ? 100.0 * (double)r->own / (double)a->peak_bytes : 0;

		strbuf_reset(&line);
		summary_add_location(&line, r, loc_width);
		strbuf_addf(out, "%-12s %6.2f%% %12s %6.2f%% %10llu  %s\n", units_human(total, r->total), tp,
			    units_human(own, r->own), op, (unsigned long long)r->count, line.buf);
	}
	other_row(out, a, t, shown);
	if (!t->n)
		strbuf_addstr(out, "(nothing was live at the peak)\n");
	strbuf_release(&line);
}

/*
 * LEAKS BY REACHABILITY
 *
 * With a scan at exit, a second table: each function's own leaked bytes
 * split by verdict (reach_views: lost, possibly lost, still reachable,
 * then all of it), lost first. One summary table per view, built by the
 * same walk as the peak's; the all-leaks table gives the rows and the
 * others are looked up by key, so the columns of a row add up the way
 * the figures do. Callers (no own leak) are left out: a leak's total
 * down its stack is the flame graph's job.
 */
struct leak_row {
	const struct summary_row *r;	/* of the all-leaks table */
	uint64_t own[REACH_VIEWS];	/* bytes by view, in reach_views' order */
};

static int lost_first(const void *x, const void *y)
{
	const struct leak_row *a = x, *b = y;
	int c;

	for (int k = 0; k < REACH_VIEWS; k++)
		if (a->own[k] != b->own[k])
			return a->own[k] < b->own[k] ? 1 : -1;
	c = strcmp(a->r->function, b->r->function);
	return c ? c : strcmp(a->r->file, b->r->file);
}

static void leak_line(struct strbuf *out, const uint64_t *bytes, uint64_t count, const char *where)
{
	char b[REACH_VIEWS][UNITS_BUF];

	for (int k = 0; k < REACH_VIEWS; k++)
		units_human(b[k], bytes[k]);
	strbuf_addf(out, "%12s %12s %12s %12s %8llu  %s\n", b[0], b[1], b[2], b[3], (unsigned long long)count,
		    where);
}

static void render_leaks(struct strbuf *out, const struct analysis *a, const struct leak_row *rows, size_t n,
			 const struct summary_options *opts)
{
	struct strbuf line = STRBUF_INIT;
	uint64_t rest[REACH_VIEWS], count, unjudged = a->reach_count[CAPTURE_REACH_UNKNOWN];
	char buf[UNITS_BUF];
	size_t shown;

	strbuf_addf(out, "\nLeaked at exit: %s in %llu allocations, by reachability (scanned at exit), lost first\n\n",
		    units_human(buf, a->leaked_bytes), (unsigned long long)a->leaked_allocations);
	strbuf_addf(out, "%12s %12s %12s %12s %8s  %s\n", "Lost", "Possibly", "Reachable", "Leaked", "Allocs",
		    "Location");
	for (int k = 0; k < REACH_VIEWS; k++)
		rest[k] = figure_total(a, reach_views[k].fig, &count);	/* the last, all leaks, leaves its count */
	for (shown = 0; shown < n && (!opts->max_rows || shown < opts->max_rows); shown++) {
		strbuf_reset(&line);
		summary_add_location(&line, rows[shown].r, opts->width ? opts->width - 62 : 0);
		leak_line(out, rows[shown].own, rows[shown].r->count, line.buf);
		for (int k = 0; k < REACH_VIEWS; k++)
			rest[k] -= rows[shown].own[k] < rest[k] ? rows[shown].own[k] : rest[k];
		count -= rows[shown].r->count < count ? rows[shown].r->count : count;
	}
	/* what the rows leave out, as the peak table does: the columns add up to the totals */
	strbuf_reset(&line);
	if (shown < n)
		strbuf_addf(&line, "<other> (%zu more functions)", n - shown);
	else
		strbuf_addstr(&line, "<other> (no stack trace)");
	if (rest[REACH_VIEWS - 1] || count)
		leak_line(out, rest, count, line.buf);
	if (!n && !a->leaked_allocations)
		strbuf_addstr(out, "(nothing was live at exit)\n");
	if (unjudged)
		strbuf_addf(out, "(%s in %llu allocations made after the scan have no verdict: in Leaked only)\n",
			    units_human(buf, a->reach_bytes[CAPTURE_REACH_UNKNOWN]), (unsigned long long)unjudged);
	strbuf_release(&line);
}

static int leak_split(struct strbuf *out, struct analysis *a, struct symbolizer *s,
		      const struct summary_options *opts)
{
	struct summary_table t[REACH_VIEWS] = { 0 };
	const struct summary_table *all = &t[REACH_VIEWS - 1];
	struct leak_row *rows = NULL;
	size_t n = 0;
	int ret = -1;

	for (int k = 0; k < REACH_VIEWS; k++)
		if (build(a, s, &t[k], reach_views[k].fig) < 0)
			goto out;
	rows = calloc(all->n + 1, sizeof(*rows));
	if (!rows)
		goto out;
	for (size_t i = 0; i < all->n; i++) {
		if (!all->rows[i].own && !all->rows[i].count)
			continue;	/* a caller only */
		rows[n].r = &all->rows[i];
		for (int k = 0; k < REACH_VIEWS; k++) {
			const struct summary_row *r = row_like(&t[k], &all->rows[i]);

			rows[n].own[k] = r ? r->own : 0;
		}
		n++;
	}
	qsort(rows, n, sizeof(*rows), lost_first);
	render_leaks(out, a, rows, n, opts);
	ret = 0;
out:
	free(rows);
	for (int k = 0; k < REACH_VIEWS; k++)
		summary_table_release(&t[k]);
	return ret;
}

int summary_report(struct strbuf *out, struct analysis *a, struct symbolizer *s,
		   const struct summary_options *opts)
{
	struct summary_table t = { 0 };
	int ret = -1;

	if (build(a, s, &t, FIGURE_PEAK) < 0)
		goto out;
	summary_table_sort(&t, opts->sort);
	render(out, a, &t, opts);
	if (a->has_reachability && leak_split(out, a, s, opts) < 0)
		goto out;
	ret = 0;
out:
	summary_table_release(&t);
	return ret;
}
