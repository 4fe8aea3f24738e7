/*
 * cli/cmd_summary: `memray summary`, the functions live at the peak in a
 * terminal table: their own memory (allocated right there) and their total
 * (allocated anywhere below them), as the Python tool's summary reporter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/reader.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "report/analysis.h"

static const char summary_usage[] =
	"usage: memray summary [-h] [-s COLUMN] [-r N] [--partial] CAPTURE\n"
	"\n"
	"The functions that held memory at the peak, one per row: own memory (allocated\n"
	"in the function itself), total memory (allocated in it or anything it called)\n"
	"and the number of allocations. Runtime frames (libc, libstdc++, ...) are left\n"
	"out (and standard library templates); their memory counts as their\n"
	"caller's own.\n"
	"\n"
	"options:\n"
	"  -s, --sort-column COLUMN  own, total or count (default: total)\n"
	"  -r, --max-rows N          rows to show (default 10; 0: all)\n"
	"  --partial                 report what comes before damage in the capture\n"
	"\n"
	"exit status: 0 success, 1 unreadable or damaged capture, 2 usage error.\n";


struct row {
	const char *function, *file;	/* symbolizer-owned */
	uint64_t own, total, count;
	uint64_t seen_at;		/* the entry that last added to total, to count a stack once */
};

struct table {
	struct row *rows;
	size_t n, cap;
};

static struct row *row_of(struct table *t, const struct sym_frame *f)
{
	const char *file = f->file ? f->file : f->module;

	for (size_t i = 0; i < t->n; i++)	/* interned strings: pointer equality */
		if (t->rows[i].function == f->function && t->rows[i].file == file)
			return &t->rows[i];
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct row *p = realloc(t->rows, cap * sizeof(*p));

		if (!p)
			return NULL;
		t->rows = p;
		t->cap = cap;
	}
	t->rows[t->n] = (struct row){ f->function, file, 0, 0, 0, UINT64_MAX };
	return &t->rows[t->n++];
}

static int sort_column;	/* 0 total, 1 own, 2 count */

static int by_column(const void *x, const void *y)
{
	const struct row *a = x, *b = y;
	uint64_t va = sort_column == 1 ? a->own : sort_column == 2 ? a->count : a->total;
	uint64_t vb = sort_column == 1 ? b->own : sort_column == 2 ? b->count : b->total;

	if (va != vb)
		return va < vb ? 1 : -1;
	return strcmp(a->function, b->function);
}

static int build(struct analysis *a, struct symbolizer *s, struct table *t)
{
	const struct sym_frame *frames;

	for (size_t i = 0; i < a->nentries; i++) {
		const struct analysis_entry *e = &a->entries[i];
		int n, own_done = 0;

		if (!e->peak_bytes && !e->peak_count)
			continue;
		n = analysis_stack(a, s, e->stack, &frames);
		for (int k = 0; k < n; k++) {
			struct row *r;

			if (analysis_is_hidden(&frames[k]))
				continue;
			r = row_of(t, &frames[k]);
			if (!r)
				return -1;
			if (!own_done) {
				r->own += e->peak_bytes;
				r->count += e->peak_count;
				own_done = 1;
			}
			if (r->seen_at != i) {	/* recursion: once per stack */
				r->total += e->peak_bytes;
				r->seen_at = i;
			}
		}
	}
	return 0;
}

static void render(const struct analysis *a, struct table *t, size_t max_rows, int width)
{
	char own[UNITS_BUF], total[UNITS_BUF], peak[UNITS_BUF];
	struct strbuf line = STRBUF_INIT;
	int loc_width = width ? width - 52 : 0;

	printf("Peak memory: %s in %llu allocations\n\n", units_human(peak, a->peak_bytes),
	       (unsigned long long)a->peak_allocations);
	printf("%-12s %7s %12s %7s %10s  %s\n", "Total", "Total%", "Own", "Own%", "Allocs", "Location");
	for (size_t i = 0; i < t->n && (!max_rows || i < max_rows); i++) {
		const struct row *r = &t->rows[i];
		double tp = a->peak_bytes ? 100.0 * (double)r->total / (double)a->peak_bytes : 0;
		double op = a->peak_bytes ? 100.0 * (double)r->own / (double)a->peak_bytes : 0;

		strbuf_reset(&line);
		strbuf_addf(&line, "%s (%s)", r->function, r->file);
		if (loc_width > 10 && line.len > (size_t)loc_width) {	/* keep the end: the file */
			memmove(line.buf + 3, line.buf + line.len - (size_t)loc_width + 3, (size_t)loc_width - 3);
			memcpy(line.buf, "...", 3);
			strbuf_setlen(&line, (size_t)loc_width);
		}
		printf("%-12s %6.2f%% %12s %6.2f%% %10llu  %s\n", units_human(total, r->total), tp,
		       units_human(own, r->own), op, (unsigned long long)r->count, line.buf);
	}
	if (!t->n)
		printf("(nothing was live at the peak)\n");
	strbuf_release(&line);
}

int cmd_summary(int argc, char **argv)
{
	const char *path = NULL;
	size_t max_rows = 10;
	int partial = 0, ret;
	struct table t = { 0 };
	struct reading rd;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (is_help(arg)) {
			fputs(summary_usage, stdout);
			return 0;
		} else if (!strcmp(arg, "--partial")) {
			partial = 1;
		} else if (!strcmp(arg, "-s") || !strcmp(arg, "--sort-column")) {
			const char *v = i + 1 < argc ? argv[++i] : "";

			if (!strcmp(v, "total"))
				sort_column = 0;
			else if (!strcmp(v, "own"))
				sort_column = 1;
			else if (!strcmp(v, "count"))
				sort_column = 2;
			else {
				error("summary: -s takes own, total or count, not '%s'", v);
				return EXIT_USAGE;
			}
		} else if (!strcmp(arg, "-r") || !strcmp(arg, "--max-rows")) {
			if ((ret = count_arg("summary", arg, i + 1 < argc ? argv[++i] : "", &max_rows)))
				return ret;
		} else if ((ret = reading_arg("summary", arg, &path))) {
			return ret;
		}
	}
	ret = reading_open(&rd, "summary", path, partial);
	if (ret)
		return ret;
	if (build(&rd.a, rd.sym, &t) < 0) {
		error("summary: out of memory");
		ret = EXIT_CAPTURE_ERROR;
	} else {
		qsort(t.rows, t.n, sizeof(*t.rows), by_column);
		render(&rd.a, &t, max_rows, terminal_width());
	}
	free(t.rows);
	reading_close(&rd);
	return ret;
}
