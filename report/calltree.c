/*
 * report/calltree: see calltree.h.
 */
#include "report/calltree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "report/frames.h"


static size_t child(struct calltree *t, size_t parent, const struct sym_frame *f)
{
	const char *file = f->file ? f->file : f->module;
	size_t last = 0;

	for (size_t c = t->nodes[parent].first_child; c; c = t->nodes[c].next_sibling) {
		const struct calltree_node *n = &t->nodes[c];

		if (n->function == f->function && n->file == file && n->line == f->line)
			return c;	/* interned strings: pointer equality */
		last = c;
	}
	if (GROW(t->nodes, t->n + 1, t->cap) < 0)
		return 0;
	t->nodes[t->n] = (struct calltree_node){ f->function, file, f->line, 0, 0, 0, 0 };
	if (last)
		t->nodes[last].next_sibling = t->n;
	else
		t->nodes[parent].first_child = t->n;
	return t->n++;
}

static const struct analysis_entry *sort_entries;
static enum figure sort_fig;

static uint64_t bytes_of(const struct analysis_entry *e, enum figure fig)
{
	uint64_t bytes;

	figure_of(e, fig, &bytes, NULL);
	return bytes;
}

static int by_bytes(const void *x, const void *y)
{
	const struct analysis_entry *a = &sort_entries[*(const size_t *)x];
	const struct analysis_entry *b = &sort_entries[*(const size_t *)y];
	uint64_t va = bytes_of(a, sort_fig), vb = bytes_of(b, sort_fig);

	if (va != vb)
		return va < vb ? 1 : -1;
	return a->stack < b->stack ? -1 : a->stack > b->stack;
}

int calltree_build(struct calltree *t, struct analysis *a, struct symbolizer *s, enum figure fig,
		   size_t biggest, int inverted)
{
	const struct sym_frame *frames;
	size_t *order = malloc((a->nentries + 1) * sizeof(*order)), n = 0;
	struct calltree_node other = { 0 };

	t->cap = 256;
	t->n = 1;
	t->nodes = calloc(t->cap, sizeof(*t->nodes));
	if (!order || !t->nodes)
		goto fail;
	t->nodes[0].function = "<root>";
	t->nodes[0].file = "";
	for (size_t i = 0; i < a->nentries; i++)
		if (bytes_of(&a->entries[i], fig))
			order[n++] = i;
	sort_entries = a->entries;
	sort_fig = fig;
	qsort(order, n, sizeof(*order), by_bytes);
	for (size_t k = 0; k < n; k++) {
		const struct analysis_entry *e = &a->entries[order[k]];
		uint64_t bytes, count;
		int nf, own;
		size_t at = 0;

		figure_of(e, fig, &bytes, &count);
		t->nodes[0].bytes += bytes;
		t->nodes[0].count += count;
		if (biggest && k >= biggest) {
			other.bytes += bytes;
			other.count += count;
			continue;
		}
		nf = analysis_stack(a, s, e->stack, &frames);
		own = frames_own(frames, nf);
		if (e->tid) {	/* split by thread: a level of its own under the root */
			struct sym_frame thread = { analysis_thread_label(a, e->tid), "", 0, "", 0 };

			at = child(t, at, &thread);
			if (!at)
				goto fail;
			t->nodes[at].bytes += bytes;
			t->nodes[at].count += count;
		}
		for (int j = 0; j < nf; j++) {
			/* from the outermost frame in, or, inverted, from the innermost out */
			int idx = inverted ? j : nf - 1 - j;

			/* runtime frames are left out, but a stack keeps the one it is charged to */
			if (idx != own && frames_is_hidden(&frames[idx]))
				continue;
			at = child(t, at, &frames[idx]);
			if (!at)
				goto fail;
			t->nodes[at].bytes += bytes;
			t->nodes[at].count += count;
		}
	}
	if (other.bytes || other.count) {	/* what the cut leaves out, so the root's children add up */
		struct sym_frame f = { t->other_label, "", 0, "", 0 };
		size_t at;

		snprintf(t->other_label, sizeof(t->other_label), "<%zu other stacks>", n - biggest);
		at = child(t, 0, &f);
		if (!at)
			goto fail;
		t->nodes[at].bytes = other.bytes;
		t->nodes[at].count = other.count;
	}
	free(order);
	return 0;
fail:
	free(order);
	calltree_release(t);
	return -1;
}

size_t calltree_label(struct calltree *t, const struct sym_frame *f)
{
	return child(t, 0, f);
}

void calltree_release(struct calltree *t)
{
	free(t->nodes);
	memset(t, 0, sizeof(*t));
}

static const struct calltree *sort_tree;

static int by_node_bytes(const void *x, const void *y)
{
	const struct calltree_node *a = &sort_tree->nodes[*(const size_t *)x];
	const struct calltree_node *b = &sort_tree->nodes[*(const size_t *)y];

	if (a->bytes != b->bytes)
		return a->bytes < b->bytes ? 1 : -1;
	return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

size_t calltree_children(const struct calltree *t, size_t i, size_t **out)
{
	size_t n = 0;

	for (size_t c = t->nodes[i].first_child; c; c = t->nodes[c].next_sibling)
		n++;
	*out = malloc((n + 1) * sizeof(**out));
	if (!*out)
		return 0;
	n = 0;
	for (size_t c = t->nodes[i].first_child; c; c = t->nodes[c].next_sibling)
		(*out)[n++] = c;
	sort_tree = t;
	qsort(*out, n, sizeof(**out), by_node_bytes);
	return n;
}
