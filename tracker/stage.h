/*
 * tracker/stage: each thread's ALLOC and FREE records, staged without the
 * global lock and merged into the stream by number. Not an interface: the
 * files of tracker/ include it through internal.h. stage.c says why the
 * order it restores is the one each address needs.
 */
#ifndef TRACKER_STAGE_H
#define TRACKER_STAGE_H

#include <stddef.h>
#include <stdint.h>

/* the numbers a FREE takes one each and an ALLOC reads (stage.c); atomic */
extern uint64_t tracker_seq;
/* set after a record is staged, cleared by the drain that takes it; atomic */
extern int tracker_staged;
/* move the staged records into the stream, in their order; lock held */
void tracker_stage_drain(void);

/*
 * A thread's staged records (stage.c): a ring of STAGE_N entries. The
 * owner's fields and the drainer's sit on cache lines of their own: the
 * owner moves head on every record and reads tail only when it has used
 * up the room it last saw; the drainer reads head once per drain.
 */
/*
 * 32 KiB per thread, mapped with its state: 4096 entries ran no faster
 * (bench/ab_tracker.py: churn +96 against +95 ns, threads +122 against
 * +125) and cost 96 KiB more of each thread's resident memory.
 */
#define STAGE_N 1024u

struct stage_entry {
	uint64_t key;		/* its number times two, plus one for a FREE: the merge's order */
	uintptr_t addr;
	uint64_t size;
	uint32_t id;		/* an ALLOC's stack */
	uint16_t generation;	/* the trie's when the id was found: another one is dropped */
	uint8_t kind;		/* CAPTURE_ALLOC_* */
};

struct tracker_stage {
	uint64_t head;		/* entries staged: the owner's */
	uint64_t room_end;	/* head may reach it before tail is read again: the owner's */
	struct stage_entry *e;	/* set once; the drainer reads it once per drain */
	uint8_t pad1[40];
	uint64_t tail;		/* entries drained: under tracker_lock */
	uint8_t pad2[56];
};

/* stage.c: make the drain ready for `states` stages: 0, or -1 out of memory; lock held */
int tracker_stage_room_for(size_t states);
/* stage.c, in a forked child: every stage empty, the numbering from 0 */
void tracker_stage_after_fork(void);

/*
 * stage.c: room in a stage that used up the room it knew of: tail read
 * again, and if the stage is full, drained (the lock taken and let go).
 * 0, or -1 when the record is lost.
 */
int tracker_stage_make_room(struct tracker_stage *s);

/*
 * Stage an ALLOC or FREE of the calling thread (its stage s) without the
 * lock. A FREE is staged before the real free and takes a number of its
 * own (one atomic add); an ALLOC is staged after the real allocation
 * returned and reads the current number (a plain load): stage.c says why
 * that orders every address's records.
 */
static inline void tracker_stage_push(struct tracker_stage *s, uint32_t generation, const void *ptr,
				      size_t size, unsigned kind, uint32_t id, int is_free)
{
	uint64_t head = s->head;
	struct stage_entry *e;

	if (__builtin_expect(head == s->room_end, 0) && tracker_stage_make_room(s) < 0)
		return;
	e = &s->e[head & (STAGE_N - 1)];
	if (is_free)
		e->key = __atomic_fetch_add(&tracker_seq, 1, __ATOMIC_SEQ_CST) << 1 | 1;
	else
		e->key = __atomic_load_n(&tracker_seq, __ATOMIC_SEQ_CST) << 1;
	e->addr = (uintptr_t)ptr;
	e->size = size;
	e->id = id;
	e->generation = (uint16_t)generation;
	e->kind = (uint8_t)kind;
	__atomic_store_n(&s->head, head + 1, __ATOMIC_RELEASE);
	if (!__atomic_load_n(&tracker_staged, __ATOMIC_RELAXED))	/* a write only when it changes */
		__atomic_store_n(&tracker_staged, 1, __ATOMIC_RELEASE);
}

#endif
