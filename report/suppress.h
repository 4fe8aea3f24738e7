/*
 * report/suppress: which stacks a leak rule leaves out.
 *
 * A suppression is a glob (fnmatch(3), no special meaning for '/') matched
 * against each frame of a stack: its function name, and its module path
 * when the pattern holds a '/'. A stack is suppressed when any frame
 * matches any pattern. The built-in list names what the C runtime, the
 * loader and CPython keep on purpose until the process ends; it is on
 * unless switched off, listed in `memray check --help`, and its hits are
 * reported as suppressed, never hidden.
 *
 * Ownership: a suppress_list owns its patterns and reasons (copies); suppress_release()
 * frees them. The built-in table is static.
 */
#ifndef REPORT_SUPPRESS_H
#define REPORT_SUPPRESS_H

#include <stddef.h>

#include "report/symbols.h"

struct suppress_pattern {
	char *glob;
	char *why;	/* "built-in", or where it was given ("memray.yml:14:5") */
};

struct suppress_list {
	struct suppress_pattern *p;
	size_t n, alloc;
};

/* the built-in patterns, NULL-terminated pairs of (glob, what it covers) */
extern const char *const suppress_builtin[][2];

/* 0, or -1 after an error message when out of memory; glob and why are copied */
int suppress_add(struct suppress_list *l, const char *glob, const char *why);
/* add every built-in pattern */
int suppress_add_builtin(struct suppress_list *l);
void suppress_release(struct suppress_list *l);

/*
 * Is a glob well formed (a closed '[' class, no trailing '\', not empty)?
 * NULL if so, else a static description of what is wrong.
 */
const char *suppress_glob_problem(const char *glob);

/* the pattern that suppresses these n frames, or NULL */
const struct suppress_pattern *suppress_match(const struct suppress_list *l, const struct sym_frame *frames,
					      int n);

#endif
