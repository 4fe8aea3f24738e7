/*
 * ci/windows: see windows.h.
 */
#include "ci/windows.h"

#include <stdlib.h>
#include <string.h>

#include "capture/reader.h"
#include "common/error.h"
#include "capture/heapmodel.h"

struct pass {
	struct ci_windows *ws;
	struct heapmodel *hm;	/* the open window's model, or NULL */
	uint32_t base;		/* stack id shift of the current image */
	uint32_t frames;	/* FRAME and PYFRAME records so far, all images */
};

static int by_bytes(const void *x, const void *y)
{
	const struct ci_stack_bytes *a = x, *b = y;

	if (a->bytes != b->bytes)
		return a->bytes < b->bytes ? 1 : -1;
	return a->stack < b->stack ? -1 : a->stack > b->stack;
}

static int by_stack(const void *x, const void *y)
{
	const struct ci_stack_bytes *a = x, *b = y;

	return a->stack < b->stack ? -1 : a->stack > b->stack;
}

/* the entries of hm with a non-zero figure (peak or live), most bytes first */
static int collect(const struct heapmodel *hm, int at_peak, uint32_t base, struct ci_stack_bytes **out,
		   size_t *n)
{
	size_t k = 0, merged = 0;

	*out = NULL;
	*n = 0;
	if (!hm->nentries)
		return 0;
	*out = calloc(hm->nentries, sizeof(**out));
	if (!*out)
		return error("check: out of memory");
	for (size_t i = 0; i < hm->nentries; i++) {
		const struct heapmodel_entry *e = &hm->entries[i];
		uint64_t bytes = at_peak ? e->peak_bytes : e->live_bytes;
		uint64_t count = at_peak ? e->peak_count : e->live_count;

		if (!bytes && !count)
			continue;
		(*out)[k++] = (struct ci_stack_bytes){ e->stack ? e->stack + base : 0, bytes, count };
	}
	/* the same stack under several allocators is one line */
	qsort(*out, k, sizeof(**out), by_stack);
	for (size_t i = 1; i < k; i++) {
		if ((*out)[i].stack == (*out)[merged].stack) {
			(*out)[merged].bytes += (*out)[i].bytes;
			(*out)[merged].count += (*out)[i].count;
		} else {
			(*out)[++merged] = (*out)[i];
		}
	}
	k = k ? merged + 1 : 0;
	qsort(*out, k, sizeof(**out), by_bytes);
	*n = k;
	return 0;
}

/* close the open window, keeping its figures */
static int close_window(struct pass *p, int unfinished)
{
	struct ci_window *w;
	int ret;

	if (!p->hm)
		return 0;
	w = &p->ws->w[p->ws->n - 1];
	heapmodel_finish(p->hm);
	w->peak = p->hm->peak;
	w->peak_count = p->hm->peak_allocations;
	w->leaked = p->hm->heap;
	w->leaked_count = p->hm->live_allocations;
	w->is_unfinished = unfinished;
	ret = collect(p->hm, 1, p->base, &w->at_peak, &w->nat_peak);
	if (!ret)
		ret = collect(p->hm, 0, p->base, &w->leaks, &w->nleaks);
	heapmodel_free(p->hm);
	p->hm = NULL;
	return ret;
}

static int open_window(struct pass *p, const struct capture_string *label)
{
	struct ci_window *grown, *w;

	if (close_window(p, 1) < 0)
		return -1;
	grown = realloc(p->ws->w, (p->ws->n + 1) * sizeof(*grown));
	if (!grown)
		return error("check: out of memory");
	p->ws->w = grown;
	w = &grown[p->ws->n];
	memset(w, 0, sizeof(*w));
	w->name = strndup(label->s, label->len);
	p->hm = heapmodel_new();
	if (!w->name || !p->hm) {
		free(w->name);
		heapmodel_free(p->hm);
		p->hm = NULL;
		return error("check: out of memory");
	}
	p->ws->n++;
	return 0;
}

static int on_record(struct pass *p, const struct capture_record *rec)
{
	struct ci_window *w = p->hm ? &p->ws->w[p->ws->n - 1] : NULL;

	switch (rec->type) {
	case CAPTURE_REC_ALLOC:
		if (!w)
			return 0;
		w->allocations++;
		w->bytes += rec->size;
		return heapmodel_alloc(p->hm, rec->address, rec->size, rec->stack, rec->allocator, 0) < 0 ?
			error("check: out of memory") : 0;
	case CAPTURE_REC_FREE:
		if (!w)
			return 0;
		return heapmodel_free_block(p->hm, rec->address, rec->size, rec->allocator) < 0 ?
			error("check: out of memory") : 0;
	case CAPTURE_REC_FRAME:
	case CAPTURE_REC_PYFRAME:	/* both are stack nodes: ids count them alike */
		p->frames++;
		return 0;
	case CAPTURE_REC_SEGMENT:
		if (close_window(p, 1) < 0)
			return -1;
		p->base = p->frames;
		return 0;
	case CAPTURE_REC_END:
		return close_window(p, 1);
	case CAPTURE_REC_MARKER:
		if (rec->kind == CAPTURE_MARK_TEST_BEGIN)
			return open_window(p, &rec->label);
		if (rec->kind == CAPTURE_MARK_TEST_END)
			return close_window(p, 0);
		return 0;
	default:
		return 0;
	}
}

int ci_windows_read(struct ci_windows *ws, const char *path)
{
	struct capture_reader *r = capture_reader_open(path);
	struct pass p = { .ws = ws };
	struct capture_record rec;
	int ret = 0;

	memset(ws, 0, sizeof(*ws));
	if (!r)
		return -1;
	while (!ret && capture_reader_next(r, &rec))
		ret = on_record(&p, &rec);
	if (!ret)
		ret = close_window(&p, 1);	/* cut short inside a test */
	heapmodel_free(p.hm);
	capture_reader_free(r);
	return ret;
}

void ci_windows_release(struct ci_windows *ws)
{
	for (size_t i = 0; i < ws->n; i++) {
		free(ws->w[i].name);
		free(ws->w[i].at_peak);
		free(ws->w[i].leaks);
	}
	free(ws->w);
	memset(ws, 0, sizeof(*ws));
}
