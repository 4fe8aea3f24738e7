/*
 * tracker/window: the figures of the test running now, kept in-process so
 * that a test runner can fail the test itself, inside its own report,
 * without reading the capture (memray check's pytest plugin does).
 *
 * A window opens at memray_test_begin() and closes at memray_test_end().
 * While it is open, every allocation recorded (tracker_emit_alloc, under
 * tracker_lock, as the threads' staged records reach the stream) enters a
 * small open-addressing table, address -> size and
 * "made by the thread that opened the window", in memory from mmap
 * (capture/mapmem.h: the program's allocator would recurse into our hooks
 * and disturb the figures). A free of an address in the table takes it out.
 * So, exactly as memray check's reading of the capture (ci/windows.h) sees
 * the same records between the same two markers:
 *   live      bytes allocated inside the window and not freed yet
 *   peak      the highest `live` (frees of older blocks never lower it)
 *   count, bytes   allocations made inside the window
 * and the same two figures for the opening thread alone (pytest-memray's
 * current_thread_only).
 *
 * After the END marker no new block enters, but frees still leave the
 * table until the next BEGIN: a runner may read the figures once more,
 * later, when what it kept alive on purpose (a traceback) is gone.
 *
 * Locking: every function here runs under tracker_lock, called from the
 * record paths, so nothing here locks, allocates or prints. When the table
 * cannot grow (mmap failed) the window is flagged incomplete and the
 * runner is told so through the stats; tracking goes on.
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "capture/format.h"
#include "capture/mapmem.h"
#include "tracker/internal.h"
#include "tracker/memray_test.h"
#include "tracker/tracker.h"

struct slot {
	uintptr_t addr;		/* 0: empty; TOMB: deleted */
	uint64_t size;
	uint32_t is_opener;
};

#define TOMB ((uintptr_t)1)

static struct {
	int is_open, is_settling, is_incomplete;
	uint32_t opener;
	uint64_t live, peak, count, bytes, own_live, own_peak;
	struct slot *t;
	size_t cap, used;	/* used counts tombstones too */
	size_t tombs;
} win;

static size_t hash_of(uintptr_t a)
{
	return (size_t)(((uint64_t)a * 0x9E3779B97F4A7C15ull) >> 17);
}

static size_t hash(uintptr_t a, size_t cap)
{
	return hash_of(a) & (cap - 1);
}

static struct slot *find(uintptr_t a)
{
	size_t i;

	if (!win.cap)
		return NULL;
	for (i = hash(a, win.cap);; i = (i + 1) & (win.cap - 1)) {
		if (win.t[i].addr == a)
			return &win.t[i];
		if (!win.t[i].addr)
			return NULL;
	}
}

static size_t slot_hash(const void *slot)
{
	return hash_of(((const struct slot *)slot)->addr);
}

static int slot_used(const void *slot)
{
	return ((const struct slot *)slot)->addr > TOMB;
}

/* the first table, or one twice as large without the tombstones (tracker_grow_table); -1 if mmap fails */
static int grow(void)
{
	size_t mask = win.cap - 1;

	if (!win.t) {
		if (!(win.t = mapmem_alloc(1024 * sizeof(*win.t))))
			return -1;
		win.cap = 1024;
		return 0;
	}
	if (tracker_grow_table((void **)&win.t, &mask, sizeof(*win.t), slot_hash, slot_used, 0) < 0)
		return -1;
	win.cap = mask + 1;
	win.used -= win.tombs;
	win.tombs = 0;
	return 0;
}

void tracker_window_alloc(void *ptr, size_t size, uint32_t tid)
{
	uintptr_t a = (uintptr_t)ptr;
	struct slot *s;
	size_t i;

	if (!win.is_open || a <= TOMB)
		return;
	if ((win.used + 1) * 4 > win.cap * 3 && grow() < 0) {
		win.is_incomplete = 1;
		return;
	}
	win.count++;
	win.bytes += size;
	if ((s = find(a))) {	/* a block we never saw freed: replace it */
		win.live -= s->size;
		if (s->is_opener)
			win.own_live -= s->size;
	} else {
		for (i = hash(a, win.cap); win.t[i].addr > TOMB; i = (i + 1) & (win.cap - 1))
			;
		s = &win.t[i];
		if (!s->addr)
			win.used++;
		else
			win.tombs--;	/* a tombstone reused */
	}
	*s = (struct slot){ a, size, tid == win.opener };
	win.live += size;
	if (win.live > win.peak)
		win.peak = win.live;
	if (s->is_opener) {
		win.own_live += size;
		if (win.own_live > win.own_peak)
			win.own_peak = win.own_live;
	}
}

void tracker_window_free(void *ptr, size_t size, unsigned kind)
{
	struct slot *s;
	uint64_t gone;

	if ((!win.is_open && !win.is_settling) || !(s = find((uintptr_t)ptr)))
		return;
	/* munmap may give back part of a mapping; anything else frees all */
	gone = kind == CAPTURE_ALLOC_MUNMAP && size < s->size ? size : s->size;
	win.live -= gone;
	if (s->is_opener)
		win.own_live -= gone;
	s->size -= gone;
	if (!s->size) {
		s->addr = TOMB;
		win.tombs++;
	}
}

void tracker_window_mark(unsigned kind, uint32_t tid)
{
	if (kind == CAPTURE_MARK_TEST_BEGIN) {
		struct slot *t = win.t;
		size_t cap = win.cap;

		if (cap)
			memset(t, 0, cap * sizeof(*t));	/* the table is kept, emptied */
		memset(&win, 0, sizeof(win));
		win.t = t;
		win.cap = cap;
		win.is_open = 1;
		win.opener = tid;
	} else if (kind == CAPTURE_MARK_TEST_END && win.is_open) {
		win.is_open = 0;
		win.is_settling = 1;
	}
}

/*
 * memray_test_stats: the figures of the current (or last) window, in
 * bytes, into out[0..n-1], in this order: live, peak, allocations, bytes
 * allocated, live and peak of the opening thread alone, and 1 when the
 * figures are incomplete (no memory for the table) or no window was
 * opened. Returns how many it wrote (at most 7), 0 when not tracking.
 * Safe to call at any time from any thread; it takes the tracker's lock.
 */
TRACKER_EXPORT size_t memray_test_stats(uint64_t *out, size_t n)
{
	uint64_t v[7];
	size_t k;

	if (!tracker_active || !out)
		return 0;
	tracker_guard++;
	tracker_lock_take();
	v[0] = win.live;
	v[1] = win.peak;
	v[2] = win.count;
	v[3] = win.bytes;
	v[4] = win.own_live;
	v[5] = win.own_peak;
	v[6] = win.is_incomplete || !(win.is_open || win.is_settling);
	pthread_mutex_unlock(&tracker_lock);
	tracker_guard--;
	for (k = 0; k < n && k < 7; k++)
		out[k] = v[k];
	return k;
}

/*
 * memray_test_flush: write out every record made so far and return the
 * path of this process's capture (borrowed: valid while the process
 * runs), or NULL when this process is not tracked. A runner reads the
 * capture so far (`memray window`) for the stacks of a test that failed;
 * the writer goes on appending after it returns. Not from a hook.
 */
TRACKER_EXPORT const char *memray_test_flush(void)
{
	if (!tracker_active || tracker_guard || getpid() != tracker_cfg.pid)
		return NULL;
	tracker_flush_before_exec();	/* modules, then every buffer, written */
	return tracker_cfg.output;
}

/*
 * memray_test_end_as: memray_test_end() with a label on the END marker,
 * the test's outcome as the runner saw it (format.h: "raised" means the
 * test did not pass, so memray check gives it no verdict).
 */
TRACKER_EXPORT void memray_test_end_as(const char *outcome)
{
	if (tracker_active && !tracker_guard)
		tracker_record_marker(CAPTURE_MARK_TEST_END, outcome ? outcome : "");
}

int tracker_window_is_open(void)
{
	return __atomic_load_n(&win.is_open, __ATOMIC_RELAXED);
}

int tracker_window_holds(uintptr_t addr)
{
	return win.is_open && addr > TOMB && find(addr) != NULL;
}
