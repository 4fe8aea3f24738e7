/*
 * tests/unit/fault: fail the Nth allocation, for every unit suite.
 *
 * Linked into every unit test binary, this file replaces the malloc
 * family with thin wrappers over glibc's own (__libc_malloc...). Disarmed
 * they only count the blocks live; armed by fault_fail_alloc_after(n),
 * the first n allocations succeed and every later one fails, until
 * fault_reset(). A test loops n from 0 until the code under test succeeds
 * and checks at each step that the failure returned an error and left
 * fault_live_allocs() where it was:
 *
 *	for (int n = 0;; n++) {
 *		long live = fault_live_allocs();
 *
 *		fault_fail_alloc_after(n);
 *		ret = thing_new(...);
 *		fault_reset();		// before any ck_assert: Check allocates
 *		...
 *	}
 *
 * Under AddressSanitizer, whose allocator must own every block, the
 * wrappers are left out and FAULT_INJECTION is 0: such tests skip.
 */
#ifndef TESTS_UNIT_FAULT_H
#define TESTS_UNIT_FAULT_H

#ifdef __SANITIZE_ADDRESS__
#define FAULT_INJECTION 0
#else
#define FAULT_INJECTION 1
#endif

void fault_fail_alloc_after(long n);
/*
 * Fail allocation n alone (counting from 0) and let the later ones
 * succeed: code that ignores one failure and carries on (a strbuf append
 * whose status nobody checks) then finishes "successfully" with a wrong
 * answer, which a test can see; with every later allocation failing too,
 * a later check usually hides it.
 */
void fault_fail_one_alloc(long n);
void fault_reset(void);
/* blocks handed out and not yet freed, by this program's malloc family */
long fault_live_allocs(void);
/* allocations failed since the last fault_fail_alloc_after() */
long fault_failures(void);

#endif
