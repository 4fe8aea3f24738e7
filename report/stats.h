/*
 * report/stats: `memray stats`, the high-level figures of a capture as
 * text or as JSON with the keys of the Python tool's stats --json (plus
 * "peak", "leaks" and "capture", which it does not have).
 *
 * "capture" says whether the figures are whole: "complete" is false when
 * the capture ended early or the tracker dropped records ("lost_records"
 * counts them), and "warnings" says why in the words the text uses.
 *
 * A location is the innermost frame outside the runtime
 * (analysis_location); the top lists group entries by location.
 *
 * Ownership: stats_report() only appends to `out`; everything it makes
 * on the way is freed before it returns.
 */
#ifndef REPORT_STATS_H
#define REPORT_STATS_H

#include <stddef.h>

#include "report/analysis.h"

struct capture_reader;
struct strbuf;

struct stats_options {
	size_t limit;	/* locations in each top list; 0: all */
	int json;	/* JSON instead of text */
};

/*
 * Append the statistics of `a`, read from r (its header and how it
 * ended), to out. Returns 0, or -1 when out of memory (no message).
 */
int stats_report(struct strbuf *out, struct analysis *a, struct symbolizer *s, struct capture_reader *r,
		 const struct stats_options *opts);

#endif
