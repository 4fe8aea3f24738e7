/*
 * ci/lines: see lines.h.
 */
#include "ci/lines.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/grow.h"
#include "common/units.h"

int ci_lines_add(struct ci_lines *ls, const char *location, uint64_t bytes, uint64_t count,
		 const struct suppress_pattern *by)
{
	if (GROW(ls->l, ls->n + 1, ls->alloc) < 0)
		return error("check: out of memory");
	ls->l[ls->n] = (struct ci_stack_line){ strdup(location), bytes, count, by };
	if (!ls->l[ls->n].location)
		return error("check: out of memory");
	ls->n++;
	return 0;
}

static int line_by_location(const void *x, const void *y)
{
	const struct ci_stack_line *a = x, *b = y;

	return strcmp(a->location, b->location);
}

static int line_by_bytes(const void *x, const void *y)
{
	const struct ci_stack_line *a = x, *b = y;

	if (a->bytes != b->bytes)
		return a->bytes < b->bytes ? 1 : -1;
	return strcmp(a->location, b->location);
}

void ci_lines_finish(struct ci_lines *ls)
{
	size_t j = 0;

	if (!ls->n)
		return;
	qsort(ls->l, ls->n, sizeof(*ls->l), line_by_location);
	for (size_t i = 1; i < ls->n; i++) {
		if (!strcmp(ls->l[i].location, ls->l[j].location)) {
			ls->l[j].bytes = units_add(ls->l[j].bytes, ls->l[i].bytes);
			ls->l[j].count = units_add(ls->l[j].count, ls->l[i].count);
			free(ls->l[i].location);
		} else {
			ls->l[++j] = ls->l[i];
		}
	}
	ls->n = j + 1;
	qsort(ls->l, ls->n, sizeof(*ls->l), line_by_bytes);
}

void ci_lines_release(struct ci_lines *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		free(ls->l[i].location);
	free(ls->l);
	ls->l = NULL;
	ls->n = ls->alloc = 0;
}

int ci_lines_move(struct ci_lines *to, struct ci_lines *from)
{
	if (GROW(to->l, to->n + from->n, to->alloc) < 0)
		return error("check: out of memory");
	if (from->n)
		memcpy(to->l + to->n, from->l, from->n * sizeof(*from->l));
	to->n += from->n;
	from->n = 0;
	return 0;
}
