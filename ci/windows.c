/*
 * ci/windows: see windows.h.
 */
#include "ci/windows.h"

#include <stdlib.h>
#include <string.h>

#include "capture/heapmodel.h"
#include "capture/reader.h"
#include "common/error.h"
#include "common/grow.h"
#include "report/analysis.h"

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
static int collect(const struct heapmodel *hm, int at_peak, struct ci_stack_bytes **out, size_t *n)
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
		(*out)[k++] = (struct ci_stack_bytes){ e->stack, bytes, count };
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
static int close_window(struct ci_windows *ws, int unfinished)
{
	struct heapmodel *hm = ws->open;
	struct ci_window *w;
	int ret;

	if (!hm)
		return 0;
	w = &ws->w[ws->n - 1];
	heapmodel_finish(hm);
	w->peak = hm->peak;
	w->peak_count = hm->peak_allocations;
	w->leaked = hm->heap;
	w->leaked_count = hm->live_allocations;
	w->is_unfinished = unfinished;
	ret = collect(hm, 1, &w->at_peak, &w->nat_peak);
	if (!ret)
		ret = collect(hm, 0, &w->leaks, &w->nleaks);
	if (!unfinished && ws->has_began && ws->has_time && ws->time_ns >= ws->began_ns)
		w->ns = ws->time_ns - ws->began_ns;
	heapmodel_free(hm);
	ws->open = NULL;
	return ret;
}

static int open_window(struct ci_windows *ws, const struct capture_string *label, uint32_t tid)
{
	struct ci_window *w;

	if (close_window(ws, 1) < 0)
		return -1;
	if (GROW(ws->w, ws->n + 1, ws->alloc) < 0)
		return error("check: out of memory");
	w = &ws->w[ws->n];
	memset(w, 0, sizeof(*w));
	w->name = strndup(label->s, label->len);
	if (w->name && strstr(w->name, "\x1f" "current_thread_only"))
		w->only_tid = tid;
	ws->open = heapmodel_new();
	if (!w->name || !ws->open) {
		free(w->name);
		heapmodel_free(ws->open);
		ws->open = NULL;
		return error("check: out of memory");
	}
	ws->n++;
	ws->has_began = ws->has_time;
	ws->began_ns = ws->time_ns;
	return 0;
}

static int on_alloc(void *ctx, const struct capture_record *rec, uint32_t stack)
{
	struct ci_windows *ws = ctx;
	struct ci_window *w;

	if (!ws->open)
		return 0;
	w = &ws->w[ws->n - 1];
	if (w->only_tid && rec->tid != w->only_tid)
		return 0;
	w->allocations++;
	w->bytes += rec->size;
	if (heapmodel_alloc(ws->open, rec->address, rec->size, stack, rec->allocator, 0) < 0)
		return error("check: out of memory");
	return 0;
}

static int on_free(void *ctx, const struct capture_record *rec)
{
	struct ci_windows *ws = ctx;

	if (ws->open && heapmodel_free_block(ws->open, rec->address, rec->size, rec->allocator) < 0)
		return error("check: out of memory");
	return 0;
}

#define FILTERED "filtered-leaks="
#define FILTERED_LEN (sizeof(FILTERED) - 1)

/* the moment of the marker that follows */
static int on_time(void *ctx, const struct capture_record *rec)
{
	struct ci_windows *ws = ctx;

	ws->time_ns = rec->since_ns;
	ws->has_time = 1;
	return 0;
}

/* an END marker: the open window closes, or the last one gets its filtered leaks */
static int marker_end(struct ci_windows *ws, const struct capture_record *rec)
{
	if (rec->kind == CAPTURE_MARK_TEST_END && !ws->open && ws->n &&
	    rec->label.len > FILTERED_LEN && !memcmp(rec->label.s, FILTERED, FILTERED_LEN)) {
		struct ci_window *w = &ws->w[ws->n - 1];

		w->is_filtered = 1;
		w->filtered = 0;
		for (size_t i = FILTERED_LEN; i < rec->label.len && rec->label.s[i] >= '0' && rec->label.s[i] <= '9'; i++)
			w->filtered = w->filtered * 10 + (uint64_t)(rec->label.s[i] - '0');
		return 0;
	}
	if (rec->kind == CAPTURE_MARK_TEST_END) {
		if (ws->open && rec->label.len == 6 && !memcmp(rec->label.s, "raised", 6))
			ws->w[ws->n - 1].has_raised = 1;
		return close_window(ws, 0);
	}
	return 0;
}

static int on_marker(void *ctx, const struct capture_record *rec)
{
	struct ci_windows *ws = ctx;
	int ret = 0;

	if (rec->kind == CAPTURE_MARK_TEST_BEGIN)
		ret = open_window(ws, &rec->label, rec->tid);
	else
		ret = marker_end(ws, rec);
	ws->has_time = 0;	/* a TIME tells the one marker after it */
	return ret;
}

static int on_segment_end(void *ctx, int is_last)
{
	struct ci_windows *ws = ctx;

	(void)is_last;
	ws->has_time = 0;	/* the next image's clock starts afresh */
	return close_window(ws, 1);	/* the test never ended in this image */
}

void ci_windows_observer(struct ci_windows *ws, struct analysis_observer *obs)
{
	*obs = (struct analysis_observer){ .ctx = ws, .alloc = on_alloc, .free = on_free, .marker = on_marker,
					   .time = on_time, .segment_end = on_segment_end };
}

void ci_windows_release(struct ci_windows *ws)
{
	for (size_t i = 0; i < ws->n; i++) {
		free(ws->w[i].name);
		free(ws->w[i].at_peak);
		free(ws->w[i].leaks);
	}
	free(ws->w);
	heapmodel_free(ws->open);
	memset(ws, 0, sizeof(*ws));
}
