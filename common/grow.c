/*
 * common/grow: see grow.h.
 */
#include "common/grow.h"

#include <stdint.h>
#include <stdlib.h>

int grow_array(void **arr, size_t need, size_t *alloc, size_t elem_size)
{
	size_t cap = *alloc + *alloc / 2;
	void *p;

	if (need <= *alloc)
		return 0;
	if (cap < 16)
		cap = 16;
	if (cap < need)
		cap = need;
	if (!elem_size || cap > SIZE_MAX / elem_size)
		return -1;
	p = realloc(*arr, cap * elem_size);
	if (!p)
		return -1;
	*arr = p;
	*alloc = cap;
	return 0;
}
