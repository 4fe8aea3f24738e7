/*
 * tracker/defer: records that cannot be written when their call happens.
 *
 * A REALLOC IN FLIGHT
 *
 * realloc(old) must have its FREE of `old` in the stream before any other
 * thread's ALLOC of the same address (the real realloc may free `old` and
 * another thread get it at once), yet if it fails, `old` lives on with its
 * size and stack and nothing must be recorded at all: a FREE then an ALLOC
 * of `old` made it a new block of the wrong size, blamed on realloc's
 * caller. So the FREE is not written before the call; `old` is registered
 * as in flight, and whichever comes first writes it: an ALLOC of the same
 * address by any thread (tracker_emit_alloc settles it, under the lock,
 * before its own record), or the realloc's own success. A failure writes
 * nothing. RULE: a record that may have to be taken back is never written
 * early; it waits in a slot that the record which would contradict it
 * settles first. With every slot taken (64 reallocs at once), the FREE is
 * written early as before, and a failure then re-records the block.
 *
 * A SIGNAL HANDLER INSIDE THE TRACKER
 *
 * The recursion guard sends every allocation made while the tracker runs
 * on this thread straight to the real allocator, untracked: right for the
 * tracker's own, wrong for a signal handler that interrupted it (a handler
 * that mallocs while the program's main loop is inside malloc's hook).
 * The entry points record_alloc/record_free (and realloc's) count in
 * tracker_hot while they run, once the thread has its state; nothing they call reaches
 * the malloc family (their memory is mapped, libunwind maps its own), so a
 * malloc-family hook that finds tracker_hot set was called by a handler.
 * It parks the call in a per-thread slot (async-signal-safe: plain stores
 * to initial-exec TLS, no lock) and tracker_hot_leave() writes the slots
 * before the thread leaves the tracker. RULE: an allocation the tracker
 * cannot record is counted in END's "records lost", never silently
 * dropped: a full slot array counts, so readers warn and `memray check`
 * refuses the figures. A parked allocation has no stack (the handler's
 * frames are gone by then): it is recorded with the empty stack, id 0.
 * The mmap family is not parked: libunwind maps memory inside the tracker.
 */
#include <malloc.h>

#include "tracker/internal.h"

__thread int tracker_hot __attribute__((tls_model("initial-exec")));

struct tracker_inflight tracker_inflight;

#define MAX_PARKED 64

struct parked {
	void *ptr;
	size_t size;
	unsigned kind;
	int is_free;
};

static __thread struct parked parked[MAX_PARKED] __attribute__((tls_model("initial-exec")));
static __thread unsigned parked_n, parked_done, parked_lost __attribute__((tls_model("initial-exec")));

/* ------------------------------------------------------------------ */
/* realloc in flight                                                     */

void tracker_inflight_settle(void *ptr)
{
	struct tracker_inflight *f = &tracker_inflight;

	for (unsigned i = 0; i < f->n; i++) {
		if (f->slot[i].addr == (uintptr_t)ptr && !f->slot[i].is_freed) {
			tracker_emit_free(ptr, 0, CAPTURE_ALLOC_FREE, f->slot[i].tid);
			f->slot[i].is_freed = 1;
		}
	}
}

int tracker_realloc_begin(void *old)
{
	struct tracker_inflight *f = &tracker_inflight;
	int slot = 0;
	uint32_t tid;

	tracker_hot_enter();
	tid = tracker_current_tid();
	tracker_lock_take();
	if (tracker_active && f->n < TRACKER_MAX_INFLIGHT) {
		f->slot[f->n].addr = (uintptr_t)old;
		f->slot[f->n].tid = tid;
		f->slot[f->n].is_freed = 0;
		slot = (int)++f->n;
	}
	pthread_mutex_unlock(&tracker_lock);
	tracker_hot_leave();
	if (!slot)
		tracker_record_free(old, 0, CAPTURE_ALLOC_FREE);	/* no slot: the FREE goes first */
	return slot;
}

/* take `old`'s slot out; was its FREE written? Lock held */
static int inflight_end(void *old, uint32_t tid)
{
	struct tracker_inflight *f = &tracker_inflight;

	for (unsigned i = 0; i < f->n; i++) {
		if (f->slot[i].addr == (uintptr_t)old && f->slot[i].tid == tid) {
			int was_freed = f->slot[i].is_freed;

			f->slot[i] = f->slot[--f->n];
			return was_freed;
		}
	}
	return 1;	/* a new segment dropped the slots: nothing to write for it */
}

void tracker_realloc_end(int slot, void *old, void *p, size_t size)
{
	uint32_t tid;
	int was_freed = 1;

	if (slot) {
		tracker_hot_enter();
		tid = tracker_current_tid();
		tracker_lock_take();
		was_freed = inflight_end(old, tid);
		if (!was_freed && (p || !size))	/* moved, grown in place, or realloc(old, 0) freed it */
			tracker_emit_free(old, 0, CAPTURE_ALLOC_FREE, tid);
		pthread_mutex_unlock(&tracker_lock);
		tracker_hot_leave();
	}
	if (p)
		tracker_record_alloc(p, size, CAPTURE_ALLOC_REALLOC);
	else if (!slot && size)	/* failed, its FREE already written: the block lives on */
		tracker_record_alloc(old, malloc_usable_size(old), CAPTURE_ALLOC_REALLOC);
}

/* ------------------------------------------------------------------ */
/* calls parked by a signal handler                                       */

/*
 * Async-signal-safe: called by a hook that found tracker_hot set. The slot
 * is claimed with one atomic add, so a handler interrupting this handler
 * claims another; the thread that replays cannot run until both returned.
 */
void tracker_park(void *ptr, size_t size, unsigned kind, int is_free)
{
	unsigned i = __atomic_fetch_add(&parked_n, 1, __ATOMIC_RELAXED);

	if (i >= MAX_PARKED) {
		__atomic_fetch_add(&parked_lost, 1, __ATOMIC_RELAXED);
		return;
	}
	parked[i].ptr = ptr;
	parked[i].size = size;
	parked[i].kind = kind;
	parked[i].is_free = is_free;
}

/* write the parked calls; guard held, tracker_hot set */
static void replay(void)
{
	uint32_t tid = tracker_current_tid();

	tracker_lock_take();
	while (parked_done < parked_n) {
		unsigned i = parked_done++;

		if (i >= MAX_PARKED || !tracker_active)
			continue;	/* an overflow: counted in parked_lost */
		if (parked[i].is_free)
			tracker_emit_free(parked[i].ptr, 0, parked[i].kind, tid);
		else
			tracker_emit_alloc(parked[i].ptr, parked[i].size, parked[i].kind, 0, tid);
	}
	if (parked_lost && tracker_active)
		tracker_ring.lost += __atomic_exchange_n(&parked_lost, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&tracker_lock);
}

/*
 * Leave the tracker: write what handlers parked meanwhile, then drop the
 * guard. A handler may strike between any two lines: the slots are
 * emptied by one compare-and-swap of parked_n against what was replayed
 * (a handler that parked since makes it fail, and we replay again); one
 * striking between it and parked_done = 0 parks at slot 0 and is seen;
 * the guard drops before tracker_hot (a handler in between records
 * directly), and one that parked before the guard dropped is caught by
 * the look after it. With nothing parked, the compare-and-swap (a locked
 * instruction, a tenth of the tracker's time on churn) is skipped: a
 * handler that parks after the first look is caught by the last one.
 */
void tracker_hot_leave(void)
{
	for (;;) {
		unsigned seen;

		if (parked_n || parked_lost) {	/* else, the common case: no locked instruction */
			replay();
			seen = parked_done;
			if (!__atomic_compare_exchange_n(&parked_n, &seen, 0, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
				continue;
			parked_done = 0;
			if (parked_n)
				continue;
		}
		tracker_guard--;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		tracker_hot--;
		if (!parked_n && !parked_lost)
			return;
		tracker_hot_enter();
	}
}
