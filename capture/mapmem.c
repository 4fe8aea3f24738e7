/*
 * capture/mapmem: see mapmem.h.
 */
#include "capture/mapmem.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

void *mapmem_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void *mapmem_alloc_scratch(size_t bytes)
{
	void *p = mapmem_alloc(bytes);

#ifdef MADV_WIPEONFORK
	if (p)
		(void)madvise(p, bytes, MADV_WIPEONFORK);	/* before Linux 4.14: shared until written, as before */
#endif
	return p;
}

void mapmem_free(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}

void mapmem_zero(void *p, size_t bytes)
{
	if (p && bytes && madvise(p, bytes, MADV_DONTNEED) != 0)
		memset(p, 0, bytes);
}

int mapmem_grow(void **arr, size_t *cap, size_t need, size_t size, size_t first)
{
	size_t ncap = *cap ? *cap : first;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -1;
		ncap *= 2;
	}
	if (!size || ncap > SIZE_MAX / size || !(p = mapmem_alloc(ncap * size)))
		return -1;
	if (*arr)
		memcpy(p, *arr, *cap * size);
	mapmem_free(*arr, *cap * size);
	*arr = p;
	*cap = ncap;
	return 0;
}
