/*
 * report/summary: `memray summary`, the functions live at the peak as a
 * terminal table: their own memory (allocated right there), their total
 * (allocated anywhere below them) and their allocation count, as the
 * Python tool's summary reporter. Runtime frames (analysis_is_hidden) are
 * left out; their memory counts as their caller's own.
 *
 * Ownership: summary_report() only appends to `out`.
 */
#ifndef REPORT_SUMMARY_H
#define REPORT_SUMMARY_H

#include <stddef.h>

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

/* append the table to out: 0, or -1 when out of memory (no message) */
int summary_report(struct strbuf *out, struct analysis *a, struct symbolizer *s,
		   const struct summary_options *opts);

#endif
