/*
 * report/tree: `memray tree`, the biggest stacks live at the peak merged
 * into a call tree (report/calltree) and drawn for the terminal with box
 * characters, as the Python tool's tree reporter.
 *
 * Ownership: tree_report() only appends to `out`.
 */
#ifndef REPORT_TREE_H
#define REPORT_TREE_H

#include <stddef.h>

#include "report/analysis.h"

struct strbuf;

struct tree_options {
	size_t biggest;	/* how many stacks; 0: all */
	int width;	/* terminal columns to cut lines at; 0: no limit */
};

/* append the tree to out: 0, or -1 when out of memory (no message) */
int tree_report(struct strbuf *out, struct analysis *a, struct symbolizer *s, const struct tree_options *opts);

#endif
