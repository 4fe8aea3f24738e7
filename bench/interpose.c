/*
 * The floor of `make bench`: a preload library that only forwards the
 * allocation calls to glibc, so the cost of interposition itself (the
 * extra call through the PLT, no recording) can be measured beside the
 * tracker. Built and used by bench/bench.py only.
 */
#include <stddef.h>

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void __libc_free(void *p);

void *malloc(size_t size)
{
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	return __libc_realloc(p, size);
}

void free(void *p)
{
	__libc_free(p);
}
