/*
 * memray_test.h: the public API a test runner uses to tell memray where
 * each test begins and ends, so `memray check` can judge tests one by one.
 *
 * Include it and call memray_test_begin("suite.test") before a test and
 * memray_test_end() after it. The symbols are weak: without the tracker
 * (a plain run) they are NULL and the macros below do nothing.
 */
#ifndef MEMRAY_TEST_H
#define MEMRAY_TEST_H

#include <stddef.h>
#include <stdint.h>

void memray_test_begin(const char *name) __attribute__((weak));
void memray_test_end(void) __attribute__((weak));
/*
 * The open (or last) test's figures as the tracker counts them in-process,
 * for a runner that fails the test itself: see tracker/window.c.
 * memray_test_end_as(outcome) ends the test with an outcome label
 * ("raised": the test did not pass, memray check gives it no verdict).
 */
size_t memray_test_stats(uint64_t *out, size_t n) __attribute__((weak));
void memray_test_end_as(const char *outcome) __attribute__((weak));
/*
 * memray_test_flush() writes out what was recorded so far and returns
 * this process's capture path (NULL when untracked), for `memray window`.
 */
const char *memray_test_flush(void) __attribute__((weak));
/*
 * memray_collect_garbage() collects now (memray run --collect-garbage or
 * --reachability): it frees the blocks a reachability scan finds lost
 * and returns their bytes (README: what the collector cannot see).
 */
size_t memray_collect_garbage(void) __attribute__((weak));

#define MEMRAY_TEST_BEGIN(name)           \
	do {                              \
		if (memray_test_begin)    \
			memray_test_begin(name); \
	} while (0)
#define MEMRAY_TEST_END()              \
	do {                           \
		if (memray_test_end)   \
			memray_test_end(); \
	} while (0)

#endif
