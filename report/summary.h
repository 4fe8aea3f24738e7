/*
 * report/summary: `memray summary`, the functions live at the peak as a
 * terminal table: their own memory (allocated right there), their total
 * (allocated anywhere below them) and their allocation count, as the
 * Python tool's summary reporter. Runtime frames (frames_is_hidden) are
 * left out; their memory counts as their caller's own.
 *
 * A capture with a reachability scan (report/reach.h) gets a second table
 * after it: each function's own leaked bytes split by verdict, lost
 * (definitely or indirectly), possibly lost, still reachable and all of
 * it, sorted lost first whatever -s says (the sort is the point: what
 * nothing points at any more comes before what is merely kept). Without a
 * scan the output is the peak table alone, as before.
 *
 * Ownership: summary_report() only appends to `out`.
 */
#ifndef REPORT_SUMMARY_H
#define REPORT_SUMMARY_H

#include <stddef.h>

#include "common/hashidx.h"
#include "report/analysis.h"

struct strbuf;

enum summary_column {
	SUMMARY_TOTAL,
	SUMMARY_OWN,
	SUMMARY_COUNT,
};

struct summary_options {
	enum summary_column sort;	/* rows by this, largest first */
	size_t max_rows;		/* 0: all */
	int width;			/* terminal columns to fit locations in; 0: no limit */
};

/*
 * The table itself, for other views of live memory (the live TUI): one
 * row per (function, file), runtime frames left out. Start from
 * `struct summary_table t = { 0 }`.
 */
struct summary_row {
	const char *function, *file;	/* symbolizer-owned */
	uint64_t own, total, count;
	uint64_t seen_at;		/* the item that last added to total, to count a stack once */
};

struct summary_table {
	struct summary_row *rows;
	size_t n, alloc;
	struct hashidx index;
};

/*
 * Add `bytes` in `count` allocations made at stack id `stack`: own to its
 * innermost shown frame, total to every frame once. `item` differs from
 * one call to the next (an entry's index). 0, or -1 out of memory.
 */
int summary_table_add(struct summary_table *t, struct analysis *a, struct symbolizer *s, uint32_t stack,
		      uint64_t bytes, uint64_t count, uint64_t item);
/*
 * Append "function (file)" of a row, escaped, in at most `width` bytes
 * (0: no limit): the start of the file cut to "...", and the end of the
 * function too if it is so long that less than 16 bytes of file fit.
 */
void summary_add_location(struct strbuf *sb, const struct summary_row *r, int width);
/* rows by `by`, largest first, ties by function name */
void summary_table_sort(struct summary_table *t, enum summary_column by);
void summary_table_release(struct summary_table *t);

/* append the table to out: 0, or -1 when out of memory (no message) */
int summary_report(struct strbuf *out, struct analysis *a, struct symbolizer *s,
		   const struct summary_options *opts);

#endif
