/*
 * tracker/unwind: how the tracker gets the stack of an allocation. Its
 * own walk first (tracker/walk.h), libunwind's unw_backtrace() where the
 * walk gives up; what keeps libunwind right after code is unloaded; and
 * the verification mode that checks every stack against a slow walk.
 * unwind.c says how. Not an interface: only the files of tracker/
 * include it.
 */
#ifndef TRACKER_UNWIND_H
#define TRACKER_UNWIND_H

#include "tracker/internal.h"

/*
 * With ENV_VERIFY_UNWIND, unwind again the slow way (unw_step, libunwind's
 * cache flushed first) and count a mismatch if the program's frames of
 * `fast` (n of them, innermost first, found the way `how` says) differ.
 * Lock not held; called from tracker_unwind only, so both unwinds start
 * in the same caller.
 */
void tracker_unwind_verify(const uintptr_t *fast, int n, int is_full, enum walk_how how);
/* the verification's one line on fd 2 (nothing without ENV_VERIFY_UNWIND) */
void tracker_unwind_verify_report(void);
/* after fork, in the child: its own verification counts, a fresh taint lock */
void tracker_unwind_after_fork(void);

/*
 * Nonzero once a module was unloaded; then tracker_unwind_recheck(buf, n)
 * unwinds again the slow way (from its caller, like unw_backtrace) when a
 * frame of buf lies in unloaded code, and returns the new count. Lock not
 * held.
 */
extern int tracker_unwind_taints;
int tracker_unwind_recheck(uintptr_t *buf, int n);
/* the writer's tick: taint what left the module list since the last tick */
void tracker_unwind_rescan(void);

/*
 * Unwind the calling thread (outside the lock) into buf, innermost first:
 * by tracker/walk, or else libunwind. Returns the frame count after the
 * tracker's own frames, which *first skips.
 */
static inline int tracker_unwind(struct thread_state *ts, uintptr_t *buf, int *first)
{
	int n = tracker_walk(&ts->walk, buf, MAX_FRAMES), skip = 0;
	enum walk_how how = ts->walk.how;

	if (n < 0) {
		how = WALK_LIBUNWIND;
		n = unw_backtrace((void **)buf, MAX_FRAMES);
		if (__builtin_expect(__atomic_load_n(&tracker_unwind_taints, __ATOMIC_RELAXED), 0))
			n = tracker_unwind_recheck(buf, n);
		tracker_walk_learn(buf, n);	/* from the stack as corrected: libunwind's may be stale */
	}
	while (skip < n && buf[skip] >= tracker_cfg.self_lo && buf[skip] < tracker_cfg.self_hi)
		skip++;
	if (__builtin_expect(tracker_cfg.verify_unwind, 0))
		tracker_unwind_verify(buf + skip, n - skip, n == MAX_FRAMES, how);
	*first = skip;
	return n - skip;
}

#endif
