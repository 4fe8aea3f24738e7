/*
 * ci/checkrunner: how `memray check` recognises the tests of a C suite
 * run by the Check library in fork mode, from the stacks alone.
 *
 * In fork mode Check runs each test in a forked child, so each test has a
 * capture of its own (memray check runs with --follow-fork). START_TEST(x)
 * defines a function x_fn, and in the child the stacks read
 *	malloc < ... < x_fn < srunner_run_tagged < ... < main
 * so the test is the function called straight from Check's srunner_*() or
 * tcase_*() whose name ends in _fn. Its allocations are those made under
 * x_fn; what the child does in Check's own functions (suite setup,
 * messages to the parent) is not the test's. The test binary must keep
 * its symbols. A function called from Check that is not x_fn and not
 * Check's own means a tail call hid the test (-O2 sibling calls): the
 * caller is told how to build so the test can be judged.
 *
 * The stacks name a test binary:test, the binary by its file name (stable
 * from one machine to the next, for baselines): two binaries may share a
 * test name. Suite and tcase are not on them: they live in the parent's
 * memory, created before the fork (the names given to suite_create() and
 * tcase_create() are arguments, which stacks do not keep). The runner's
 * own XML log has them (ci/checklog), and ci/collect names the test
 * binary:suite:tcase:test from it when there is one; without it a test
 * run again in the same binary (a loop test, or one function in two
 * tcases) is told apart by order, "#2" on.
 *
 * Only a fork that did not exec, of a program outside the system's
 * directories, is looked into: a runner started by ctest, make or sh
 * exec'd, and calls Check's helpers from srunner_*() itself.
 *
 * This heuristic is one runner's: another runner (CTest, GoogleTest)
 * gets a sibling file with the same shape.
 */
#ifndef CI_CHECKRUNNER_H
#define CI_CHECKRUNNER_H

#include <stdint.h>

struct analysis;
struct symbolizer;

struct checkrunner_test {
	char name[512];		/* binary:x, for START_TEST(x) in binary (the stacks' name) */
	char function[260];	/* x_fn */
};

/*
 * Is this analysed capture a forked Check test? 1 with *t filled in, or
 * 0 (after a warning naming `path` when a tail call seems to have hidden
 * the test).
 */
int checkrunner_identify(struct analysis *a, struct symbolizer *s, const char *path, struct checkrunner_test *t);

/* does this stack run through the test's own function (not Check's work in the child)? */
int checkrunner_owns(struct analysis *a, struct symbolizer *s, uint32_t stack, const struct checkrunner_test *t);

#endif
