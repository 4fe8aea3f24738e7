/*
 * report/transform: `memray transform`, what was live at the peak (or
 * leaked) in a form other tools read:
 * - csv: one row per (stack, allocator): allocator, num_allocations, size
 *   and the stack as function;file;line frames, innermost first, joined
 *   by '|', quoted as RFC 4180 says; CRLF line ends;
 * - gprof2dot: its JSON (functions, then events with a call chain,
 *   innermost first, and a byte cost);
 * - speedscope: a sampled profile (frames shared, each sample a stack
 *   outermost first, weighted by bytes).
 *
 * Ownership: transform_report() only appends to `out`.
 */
#ifndef REPORT_TRANSFORM_H
#define REPORT_TRANSFORM_H

#include "report/analysis.h"
#include "report/figure.h"

struct strbuf;

enum transform_format {
	TRANSFORM_CSV,
	TRANSFORM_GPROF2DOT,
	TRANSFORM_SPEEDSCOPE,
};

struct transform_options {
	enum transform_format format;
	enum figure fig;	/* FIGURE_PEAK or FIGURE_LEAKS */
};

/* "csv", "gprof2dot" or "speedscope" into *out: 0, or -1 if name is none of them (no message) */
int transform_format_parse(const char *name, enum transform_format *out);

/* append the transformed capture to out: 0, or -1 when out of memory (no message) */
int transform_report(struct strbuf *out, struct analysis *a, struct symbolizer *s,
		     const struct transform_options *opts);

#endif
