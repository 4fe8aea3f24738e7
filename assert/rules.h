/*
 * assert/rules: judges what `memray check` measured (ci/collect) against
 * the rules (assert/manifest, flags already applied) and an optional
 * baseline, giving one verdict per rule in the form junit/ writes.
 *
 * Which limits a test gets: the manifest's defaults, then its first test
 * rule whose glob matches the test id (key by key), then the test's own
 * pytest marks (limit_memory for the peak, limit_leaks for leaks), which
 * are the most specific. A test with no limit and no baseline entry gets
 * one passing verdict ("memory") that carries its figures. The baseline
 * compares peaks: a peak above the baseline's by more than the allowed
 * increase is a Regression, naming the locations that grew.
 *
 * Every verdict says the figure, the limit, the margin (percent over or
 * under), where the limit came from, and the top stacks.
 *
 * Ownership: verdicts own their results and every string in them;
 * verdicts_release() frees them. The inputs are only read.
 */
#ifndef ASSERT_RULES_H
#define ASSERT_RULES_H

#include "assert/baseline.h"
#include "assert/manifest.h"
#include "ci/collect.h"
#include "junit/junit.h"

struct verdicts {
	struct check_result *r;
	size_t n;
	size_t failed;		/* failures */
	size_t errors;		/* rules that could not be judged (bad marks) */
	size_t r_alloc;
	char **owned;
	size_t nowned, owned_alloc;
};

/* 0, or -1 after an error message when out of memory; b may be NULL */
int rules_eval(struct verdicts *v, const struct manifest *m, const struct ci_results *res,
	       const struct baseline *b);
void verdicts_release(struct verdicts *v);

#endif
