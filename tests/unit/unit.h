/*
 * tests/unit/unit: what every Check suite's main() does. Each test_*.c
 * builds its Suite and returns unit_run(suite); this file is linked into
 * every unit test binary (see UNIT_SUPPORT in the Makefile).
 */
#ifndef TESTS_UNIT_UNIT_H
#define TESTS_UNIT_UNIT_H

#include <check.h>

/* run every test of s; EXIT_SUCCESS if all passed. Frees s. */
int unit_run(Suite *s);

/* a monotonic clock in seconds, to bound how long a test may take */
double unit_seconds(void);

/*
 * What the code under test prints: unit_stderr_begin() sends fd 2 to a
 * temporary file (and makes stderr unbuffered, so that printing allocates
 * nothing while fault injection is armed); unit_stderr_end() puts it back
 * and returns what was written, in a static buffer valid until the next
 * call. Call begin before arming faults: its tmpfile() allocates.
 */
void unit_stderr_begin(void);
const char *unit_stderr_end(void);

/*
 * The fault loop of STYLE.md section 8, once for every suite: run the
 * code under test with allocation n failing, for n = 0, 1, ... until a run
 * meets no injected failure. Each run that fails must return -1 and print
 * one line that says "out of memory"; each run that succeeds is handed to
 * check (if not NULL) to prove its answer whole; release then frees what
 * the run made, and the blocks live must be what they were before it.
 * With fail_all every allocation from the nth on fails; without, the nth
 * alone (fault_fail_one_alloc). Returns the allocations a clean run makes.
 */
struct unit_fault_case {
	int (*run)(void *ctx);
	void (*check)(void *ctx);
	void (*release)(void *ctx);
	void *ctx;
};

int unit_fault_loop(const struct unit_fault_case *c, int fail_all);

#endif
