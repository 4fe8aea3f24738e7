/*
 * junit/junit: the results of `memray check` as JUnit XML (written with
 * libxml2) and as Markdown for a CI job summary.
 *
 * One testsuite per run, one testcase per evaluated rule. A failed rule
 * becomes <failure type="BudgetExceeded|LeakDetected"> with a one-line
 * message and a body with exact bytes and the top stacks; a command or
 * tracker that failed becomes <error>. Numbers are printed in the C
 * locale; text is stripped of the characters XML 1.0 forbids. The suite
 * is never empty: a run with no rule gets one testcase for the command.
 *
 * Ownership: the caller owns the results and strings; the writers only
 * read them.
 */
#ifndef JUNIT_JUNIT_H
#define JUNIT_JUNIT_H

#include <stddef.h>
#include <stdint.h>

struct check_result {
	const char *name;	/* "peak memory", ... */
	const char *failure_type;	/* NULL: passed */
	const char *message;	/* one line */
	const char *details;	/* exact figures and top stacks */
	uint64_t figure, limit;
};

struct check_run {
	const char *command;
	double seconds;
	const char *error;	/* the command or the tracker failed: why; NULL if not */
	const struct check_result *results;
	size_t nresults;
};

/* 0, or -1 after an error message naming path */
int junit_write(const char *path, const struct check_run *run);
int markdown_write(const char *path, const struct check_run *run);

#endif
