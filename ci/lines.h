/*
 * ci/lines: the lines that explain a figure of `memray check` (the top
 * stacks of a peak or of leaks, the processes at a job's peak): a
 * location and its bytes and allocations, gathered in any order, then
 * merged by location and sorted most bytes first.
 *
 * Ownership: a ci_lines (zeroed) owns its array and every location
 * string; ci_lines_release() frees them.
 */
#ifndef CI_LINES_H
#define CI_LINES_H

#include <stddef.h>
#include <stdint.h>

struct suppress_pattern;

struct ci_stack_line {
	char *location;		/* "function:file:line" */
	uint64_t bytes, count;
	const struct suppress_pattern *suppressed_by;	/* suppressed lines only */
};

struct ci_lines {
	struct ci_stack_line *l;	/* most bytes first */
	size_t n, alloc;
};

/* append a copy of location with its figures: 0, or -1 after an error */
int ci_lines_add(struct ci_lines *ls, const char *location, uint64_t bytes, uint64_t count,
		 const struct suppress_pattern *by);
/* merge the lines of one location (figures added), most bytes first */
void ci_lines_finish(struct ci_lines *ls);
/* move every line of from to the end of to (from keeps its array, empty): 0, or -1 after an error */
int ci_lines_move(struct ci_lines *to, struct ci_lines *from);
void ci_lines_release(struct ci_lines *ls);

#endif
