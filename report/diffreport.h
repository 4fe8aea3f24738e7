/*
 * report/diffreport: a diff of two captures (report/diff) written out for
 * a terminal, for programs (JSON) and for a pull-request comment
 * (Markdown).
 *
 * Every report leads with the captures' own figures, base, head and
 * change, then lists the stacks whose figures changed, largest change of
 * the chosen figure first, each with its frames (innermost first), then
 * the locations the same way. A change is head minus base, shown with its
 * sign; bytes are shown in binary units and exact.
 *
 * The Markdown report is built to fit a comment: GitHub refuses one over
 * 65,536 characters, GitLab's notes are larger. Names are cut at
 * DIFF_MD_NAME bytes before escaping, at most DIFF_MD_FRAMES frames show
 * per stack, and a section that would take the text past DIFF_MD_LIMIT
 * bytes is left out with a line that says how many were. So however
 * hostile or deep the stacks, the text stays under the limit; the JSON
 * report has everything.
 *
 * Ownership: the functions only append to `out`; names are escaped for
 * where they go (terminal escapes, JSON, Markdown as plain text).
 */
#ifndef REPORT_DIFFREPORT_H
#define REPORT_DIFFREPORT_H

#include <stddef.h>

#include "report/diff.h"

struct strbuf;

#define DIFF_MD_LIMIT 60000
#define DIFF_MD_NAME 160
#define DIFF_MD_FRAMES 8

struct diff_report_options {
	const char *base_name, *head_name;	/* how to name the captures */
	enum diff_figure sort;	/* rows by the change in this figure */
	size_t max_rows;	/* stacks and locations to show; 0: all (text and Markdown) */
};

/*
 * Sort d's rows by opts->sort (diff_sort) and append the report to out.
 * Each returns 0, or -1 when out of memory (no message).
 */
int diff_report_text(struct strbuf *out, struct diff *d, const struct diff_report_options *opts);
int diff_report_json(struct strbuf *out, struct diff *d, const struct diff_report_options *opts);
int diff_report_markdown(struct strbuf *out, struct diff *d, const struct diff_report_options *opts);

#endif
