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

/*
 * The open window's live bytes now, as a point of its time line. One
 * point per clock reading, the highest: between two readings the window
 * counts with its highest, so a sum over processes never misses its peak.
 */
static int add_point(struct ci_windows *ws, uint64_t heap)
{
	struct ci_window *w = &ws->w[ws->n - 1];

	uint64_t ms = ws->now_ns / 1000000u;

	if (w->npoints && w->points[w->npoints - 1].ms == ms) {
		if (heap > w->points[w->npoints - 1].heap)
			w->points[w->npoints - 1].heap = heap;
		return 0;
	}
	if (GROW(w->points, w->npoints + 1, w->points_alloc) < 0)
		return error("check: out of memory");
	w->points[w->npoints++] = (struct ci_window_point){ ms, heap };
	return 0;
}

/* the open window stops taking blocks: its end, by the clock */
static int stop_taking(struct ci_windows *ws)
{
	if (ws->is_settling)
		return 0;
	ws->is_settling = 1;
	ws->w[ws->n - 1].end_ms = ws->now_ns / 1000000u;
	return add_point(ws, ws->open->heap);
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
	if (stop_taking(ws) < 0)
		return -1;
	ws->is_settling = 0;
	heapmodel_finish(hm);
	w->peak = hm->peak;
	w->peak_count = hm->peak_allocations;
	w->leaked = hm->heap;
	w->leaked_count = hm->live_allocations;
	w->is_unfinished = unfinished;
	ret = collect(hm, 1, &w->at_peak, &w->nat_peak);
	if (!ret)
		ret = collect(hm, 0, &w->leaks, &w->nleaks);
	if (!unfinished)
		w->ns = ws->now_ns - ws->began_ns;
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
	w->begin_ms = w->end_ms = ws->now_ns / 1000000u;
	ws->open = heapmodel_new();
	if (!w->name || !ws->open) {
		free(w->name);
		heapmodel_free(ws->open);
		ws->open = NULL;
		return error("check: out of memory");
	}
	ws->n++;
	ws->began_ns = ws->now_ns;
	return add_point(ws, 0);
}

static int on_alloc(void *ctx, const struct capture_record *rec, uint32_t stack)
{
	struct ci_windows *ws = ctx;
	struct ci_window *w;
	uint64_t before;

	if (!ws->open || ws->is_settling)
		return 0;
	w = &ws->w[ws->n - 1];
	if (w->only_tid && rec->tid != w->only_tid)
		return 0;
	w->allocations++;
	w->bytes += rec->size;
	before = ws->open->peak;
	if (heapmodel_alloc(ws->open, rec->address, rec->size, stack, rec->allocator, 0) < 0)
		return error("check: out of memory");
	return ws->open->peak > before ? add_point(ws, ws->open->peak) : 0;
}

/* the clock moved on (never back): the open window's live bytes from then on */
static int on_clock(void *ctx, uint64_t ns)
{
	struct ci_windows *ws = ctx;

	if (ns > ws->now_ns)
		ws->now_ns = ns;
	return ws->open && !ws->is_settling ? add_point(ws, ws->open->heap) : 0;
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
	if (rec->kind == CAPTURE_MARK_TEST_END && ws->open && rec->label.len == 6 &&
	    !memcmp(rec->label.s, "settle", 6))
		return stop_taking(ws);
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

	if (rec->kind == CAPTURE_MARK_TEST_BEGIN)
		return open_window(ws, &rec->label, rec->tid);
	return marker_end(ws, rec);
}

/*
 * A scan at the open window's end (a native test under memray check, which
 * scans only when lost blocks are what leaks): the test's body is over, so
 * the window stops taking blocks, and a block still held (still reachable
 * or possibly lost) leaves it: what stays at its END is what it lost.
 */
static int on_reach_block(void *ctx, const struct capture_record *rec)
{
	struct ci_windows *ws = ctx;

	if (!ws->open || rec->category == CAPTURE_REACH_DEFINITE || rec->category == CAPTURE_REACH_INDIRECT)
		return 0;
	if (stop_taking(ws) < 0 || heapmodel_free_block(ws->open, rec->address, 0, CAPTURE_ALLOC_FREE) < 0)
		return error("check: out of memory");
	return 0;
}

static int on_segment_end(void *ctx, int is_last)
{
	(void)is_last;
	return close_window(ctx, 1);	/* the test never ended in this image */
}

void ci_windows_observer(struct ci_windows *ws, struct analysis_observer *obs)
{
	*obs = (struct analysis_observer){ .ctx = ws, .alloc = on_alloc, .free = on_free, .marker = on_marker,
					   .clock = on_clock, .segment_end = on_segment_end, .reach_block = on_reach_block };
}

void ci_windows_release(struct ci_windows *ws)
{
	for (size_t i = 0; i < ws->n; i++) {
		free(ws->w[i].name);
		free(ws->w[i].at_peak);
		free(ws->w[i].leaks);
		free(ws->w[i].points);
	}
	free(ws->w);
	heapmodel_free(ws->open);
	memset(ws, 0, sizeof(*ws));
}
