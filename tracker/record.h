/*
 * tracker/record: the allocation path without the lock, inline, so that
 * the malloc family's hooks (hooks.c) run it in their own frame. The
 * stack is then unwound from the hook itself: one frame fewer for
 * libunwind to walk and no call, on every allocation. What it cannot do
 * (a thread's first allocation, a stack node never seen, Python) goes
 * to tracker_record_alloc() and tracker_record_free() (tracker.c), which
 * use the same pieces. Not an interface: only the files of tracker/
 * include it.
 */
#ifndef TRACKER_RECORD_H
#define TRACKER_RECORD_H

#include "tracker/unwind.h"

/*
 * Without Python, a stack whose nodes are all known (unwound into
 * ts->scratch, n frames after `first`) is found and its ALLOC staged
 * without the lock (tracker/stage.c): 1. The trie's generation is read
 * before and after the lookup: a reset in between (odd, or moved on)
 * gives 0, as does a node not in the trie, and the caller takes the lock.
 */
static inline __attribute__((always_inline)) int tracker_stage_alloc(struct thread_state *ts, void *ptr,
								      size_t size, unsigned kind, int first, int n)
{
	uint32_t generation = __atomic_load_n(&tracker_trie.generation, __ATOMIC_ACQUIRE);
	int64_t id;

	if (generation & 1)
		return 0;
	id = tracker_stack_find(ts, generation, first, n);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (id < 0 || __atomic_load_n(&tracker_trie.generation, __ATOMIC_RELAXED) != generation)
		return 0;
	tracker_stage_push(&ts->stage, generation, ptr, size, kind, (uint32_t)id, 0);
	return 1;
}

/* the calling thread's state if it stages its records: NULL before its first allocation, or under Python */
static inline struct thread_state *tracker_staging_state(void)
{
	return tracker_cfg.has_python ? NULL : tracker_self_state;
}

/* stage a FREE of the calling thread, whose state stages (guard held) */
static inline __attribute__((always_inline)) void tracker_stage_free(struct thread_state *ts, void *ptr, size_t size,
								     unsigned kind)
{
	tracker_stage_push(&ts->stage, __atomic_load_n(&tracker_trie.generation, __ATOMIC_RELAXED) & ~1u, ptr, size,
			   kind, 0, 1);
}

/*
 * A hook's allocation, recorded in the hook's frame when it can be: 1,
 * or 0 and the caller calls tracker_record_alloc(), which unwinds again
 * (a new thread, a new node: once each).
 */
static inline __attribute__((always_inline)) int tracker_record_alloc_here(void *ptr, size_t size, unsigned kind)
{
	struct thread_state *ts = tracker_staging_state();
	int first, n, is_done;

	if (!ts)
		return 0;
	tracker_hot_enter();
	n = tracker_unwind(ts, ts->scratch, &first);
	is_done = tracker_stage_alloc(ts, ptr, size, kind, first, n);
	tracker_hot_leave();
	return is_done;
}

/* a hook's free, staged in the hook's frame when it can be */
static inline __attribute__((always_inline)) void tracker_record_free_here(void *ptr, size_t size, unsigned kind)
{
	struct thread_state *ts = tracker_staging_state();

	if (!ts) {
		tracker_record_free(ptr, size, kind);
		return;
	}
	tracker_hot_enter();
	tracker_stage_free(ts, ptr, size, kind);
	tracker_hot_leave();
}

#endif
