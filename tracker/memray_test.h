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

void memray_test_begin(const char *name) __attribute__((weak));
void memray_test_end(void) __attribute__((weak));

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
