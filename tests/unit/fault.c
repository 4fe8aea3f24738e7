/*
 * tests/unit/fault: see fault.h.
 */
#include "tests/unit/fault.h"

#include <errno.h>
#include <stddef.h>

static int armed, only_one;
static long left, live, failures;

void fault_fail_alloc_after(long n)
{
	left = n;
	failures = 0;
	only_one = 0;
	armed = 1;
}

void fault_fail_one_alloc(long n)
{
	fault_fail_alloc_after(n);
	only_one = 1;
}

void fault_reset(void)
{
	armed = 0;
}

long fault_live_allocs(void)
{
	return live;
}

long fault_failures(void)
{
	return failures;
}

#if FAULT_INJECTION
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);
void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *old, size_t n);
void free(void *p);

static int fails(void)
{
	if (!armed || left-- > 0)
		return 0;
	if (only_one && failures)
		return 0;
	failures++;
	errno = ENOMEM;	/* as the real allocator says it: error_errno() callers print it */
	return 1;
}

void *malloc(size_t n)
{
	void *p = fails() ? NULL : __libc_malloc(n);

	live += p != NULL;
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = fails() ? NULL : __libc_calloc(n, size);

	live += p != NULL;
	return p;
}

void *realloc(void *old, size_t n)
{
	void *p;

	if (old && !n) {
		live--;
		return __libc_realloc(old, 0);
	}
	p = fails() ? NULL : __libc_realloc(old, n);
	live += p && !old;
	return p;
}

void free(void *p)
{
	live -= p != NULL;
	__libc_free(p);
}
#endif
