/*
 * report/htmldiff: the HTML pages of a diff (report/diff): a differential
 * flame graph and a table sortable by change, each one self-contained file
 * as report/html's pages are, names escaped the same way (JSON inside
 * <script type="application/json">, put into the page as text).
 *
 * Flame graph: the diff's stacks merged into one call tree by the diff's
 * matching rule. Widths are the head's figure (what the code does now),
 * the colour says how each frame changed against the base: red grew, blue
 * shrank, grey the same, deeper the larger the change is against the
 * frame's size. A tooltip gives head, base and change. A stack gone from
 * the head has no width; the page says how many there are and what they
 * held. Frames under 0.1% of the larger side's total are merged, and
 * stacks deeper than 2 x HTMLDIFF_ELIDE frames keep their outermost and
 * innermost HTMLDIFF_ELIDE, as report/html does.
 *
 * Table: every stack that changed, with its location, head, base and
 * change of the figure and of the allocation count, and its frames.
 *
 * Ownership: the functions append to `out` and keep nothing.
 */
#ifndef REPORT_HTMLDIFF_H
#define REPORT_HTMLDIFF_H

#include "report/diff.h"

struct strbuf;

#define HTMLDIFF_ELIDE 1000

struct htmldiff_titles {
	const char *base_path, *head_path;	/* the capture files */
	const char *base_command, *head_command;	/* what each capture ran */
};

/*
 * Append the page for figure `fig` (DIFF_PEAK or DIFF_LEAKED; the table
 * takes any) to out; `inverted` roots the graph at the allocating
 * functions. Returns 0, or -1 when out of memory.
 */
int htmldiff_flamegraph(struct strbuf *out, struct diff *d, enum diff_figure fig, int inverted,
			const struct htmldiff_titles *t);
int htmldiff_table(struct strbuf *out, struct diff *d, enum diff_figure fig, const struct htmldiff_titles *t);

#endif
