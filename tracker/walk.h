/*
 * tracker/walk: the tracker's own stack walk (x86-64), which finds each
 * caller with one table lookup and two loads, where libunwind's
 * unw_backtrace() spends about 7 ns a frame. The rules it applies come
 * from the modules' own unwind tables, read by elfutils (libdw) on the
 * writer thread, never on the program's: a return address the table does
 * not know yet sends the stack to libunwind and is learned for the next
 * time. Every rule beyond "CFA is RSP or RBP plus an offset, the return
 * address and RBP saved at fixed offsets from it" (signal frames, DWARF
 * expressions, code without unwind tables) makes the walk give up, and
 * libunwind unwinds that stack as before. walk.c says why each step is
 * sound; MEMRAY_VERIFY_UNWIND checks every stack against libunwind's slow
 * walk (tracker/unwind.c).
 */
#ifndef TRACKER_WALK_H
#define TRACKER_WALK_H

#include <stdint.h>

/* one frame as the walk found it, before it stepped to the caller, and what the step read */
struct walk_frame {
	uintptr_t key, sp, bp;	/* its return address (the walk's own frame: label + 1), RSP, RBP */
	const uintptr_t *ra_at;	/* where the step read the caller's key (NULL: no caller) */
	const uintptr_t *bp_at;	/* where it read the caller's RBP (NULL: not read) */
	uintptr_t bp_val;	/* what it read there */
	uintptr_t is_bp_known;
};

#define WALK_LOG 512

/*
 * A thread's last walk, root first, so that the next can stop where it
 * joins it; and the frames the walk under way found before joining.
 */
enum walk_how { WALK_LIBUNWIND, WALK_WALKED, WALK_JOINED };

struct walk_log {
	const void *table;	/* the rules it was walked with; another table: nothing to join */
	int n;
	enum walk_how how;	/* the last walk's way: walked whole, or joined this log */
	struct walk_frame frame[WALK_LOG];
	struct walk_frame fresh[WALK_LOG];	/* innermost first */
};

/*
 * The calling thread's return addresses, innermost first, starting with
 * the one into tracker_walk's caller: at most max of them. -1 when a
 * frame needs libunwind; then tracker_walk_learn() on what libunwind
 * found. log is the thread's own, only ever used by it, inside the
 * tracker's guard. Lock-free, no call out: safe wherever the hooks run.
 */
int tracker_walk(struct walk_log *log, uintptr_t *buf, int max);
/* queue the return addresses of buf (n) that have no rule yet, for the writer */
void tracker_walk_learn(const uintptr_t *buf, int n);
/* the writer's tick, no lock held: find the rules of the queued addresses */
void tracker_walk_resolve(void);
/* at start, before the program can fork: the queue forked children hand their keys up with (--follow-fork) */
void tracker_walk_init(void);
/* after fork(), in the child (is_child) or in the parent */
void tracker_walk_forked(int is_child);
/* code was unloaded: every rule may be stale; the walk gives up until the writer starts afresh */
void tracker_walk_forget(void);

#endif
