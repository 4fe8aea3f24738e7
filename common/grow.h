/*
 * common/grow: the one way the tools grow an array, after git's ALLOC_GROW.
 *
 *	struct row *rows = NULL;
 *	size_t nrows = 0, rows_alloc = 0;
 *
 *	if (GROW(rows, nrows + 1, rows_alloc) < 0)
 *		return error("out of memory");
 *	rows[nrows++] = r;
 *
 * GROW(arr, need, alloc) makes arr hold at least `need` elements. The
 * capacity grows by half again (at least 16), so n appends cost O(n)
 * copies in all, never a realloc per element. It returns 0, or -1 when the
 * memory runs out or the byte size would overflow; arr and alloc are then
 * unchanged, so what the array held is still there to free. arr may move:
 * pointers into it die with the call.
 *
 * The tracker does not use it: it never calls the program's allocator and
 * grows its mmap'd tables with tracker/ helpers of its own.
 */
#ifndef COMMON_GROW_H
#define COMMON_GROW_H

#include <stddef.h>

/* the worker behind GROW: 0, or -1 leaving *arr and *alloc as they were */
int grow_array(void **arr, size_t need, size_t *alloc, size_t elem_size);

#define GROW(arr, need, alloc) \
	((size_t)(need) <= (alloc) ? 0 : grow_array((void **)&(arr), (need), &(alloc), sizeof(*(arr))))

#endif
