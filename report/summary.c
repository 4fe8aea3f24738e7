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

static struct summary_row *row_of(struct summary_table *t, const struct sym_frame *f)
{
	struct row_key k = { t, f->function, f->file ? f->file : f->module };
	uint64_t h = hash_u64((uint64_t)(uintptr_t)k.function ^ hash_u64((uint64_t)(uintptr_t)k.file));
	uint32_t i = hashidx_find(&t->index, h, same_row, &k);

	if (i != HASHIDX_NONE)
		return &t->rows[i];
	if (GROW(t->rows, t->n + 1, t->alloc) < 0 || hashidx_add(&t->index, h, (uint32_t)t->n) < 0)
		return NULL;
	t->rows[t->n] = (struct summary_row){ k.function, k.file, 0, 0, 0, UINT64_MAX };
	return &t->rows[t->n++];
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

static int build(struct analysis *a, struct symbolizer *s, struct summary_table *t)
{
	for (size_t i = 0; i < a->nentries; i++) {
		uint64_t bytes, count;

		if (figure_of(&a->entries[i], FIGURE_PEAK, &bytes, &count) &&
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

int summary_report(struct strbuf *out, struct analysis *a, struct symbolizer *s,
		   const struct summary_options *opts)
{
	struct summary_table t = { 0 };
	int ret = -1;

	if (build(a, s, &t) < 0)
		goto out;
	summary_table_sort(&t, opts->sort);
	render(out, a, &t, opts);
	ret = 0;
out:
	summary_table_release(&t);
	return ret;
}
