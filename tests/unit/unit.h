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

#endif
