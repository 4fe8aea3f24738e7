/*
 * tracker/liveidx: every live block of the process, address -> (size,
 * allocator), kept only with CAPTURE_F_REACHABILITY so that the
 * reachability scan (tracker/reach.c) knows each block's extent without
 * reading the capture.
 *
 * An open-addressing table in mapped memory (the program's allocator
 * would recurse into our hooks), rebuilt when three quarters full (of
 * blocks and tombstones: freed slots), twice as large only when half of
 * it is live blocks. Everything here runs under
 * tracker_lock, from tracker_emit_alloc/free: so the index changes in the
 * same order as the records. When the table cannot grow the index is
 * marked incomplete and the scan at exit refuses to judge (a block it
 * does not know could hold the only pointer to another).
 *
 * A munmap of the front of a mapping moves its entry; one of the middle
 * or the end leaves the entry's extent as it was: the scan reads mappings
 * through process_vm_readv, which skips what is gone instead of faulting.
 */
#include "tracker/internal.h"

struct tracker_live tracker_live;

#define TOMB ((uintptr_t)1)

static size_t hash_of(uintptr_t a)
{
	return (size_t)(((uint64_t)a * 0x9E3779B97F4A7C15ull) >> 17);
}

static struct live_block *find(uintptr_t a)
{
	struct tracker_live *l = &tracker_live;

	if (!l->slots)
		return NULL;
	for (size_t i = hash_of(a) & l->mask;; i = (i + 1) & l->mask) {
		if (l->slots[i].addr == a)
			return &l->slots[i];
		if (!l->slots[i].addr)
			return NULL;
	}
}

/*
 * The live slots into a new table of mask + 1 slots. Not
 * tracker_grow_table(), which always doubles: a program that allocates
 * and frees fills the table with tombstones, not blocks, and doubling
 * then would grow it without end.
 */
static int rebuild(size_t mask)
{
	struct tracker_live *l = &tracker_live;
	struct live_block *t = mapmem_alloc((mask + 1) * sizeof(*t));

	if (!t)
		return -1;
	for (size_t i = 0; i <= l->mask; i++) {
		size_t j;

		if (l->slots[i].addr <= TOMB)
			continue;
		for (j = hash_of(l->slots[i].addr) & mask; t[j].addr; j = (j + 1) & mask)
			;
		t[j] = l->slots[i];
	}
	mapmem_free(l->slots, (l->mask + 1) * sizeof(*t));
	l->slots = t;
	l->mask = mask;
	l->used = l->count;
	l->tombs = 0;
	return 0;
}

static int make_room(void)
{
	struct tracker_live *l = &tracker_live;

	if (!l->slots) {
		if (!(l->slots = mapmem_alloc(4096 * sizeof(*l->slots))))
			return -1;
		l->mask = 4095;
		return 0;
	}
	if ((l->used + 1) * 4 <= (l->mask + 1) * 3)
		return 0;
	/* twice as large when half full of live blocks; else as large, without the tombstones */
	return rebuild(l->count * 2 >= l->mask + 1 ? l->mask * 2 + 1 : l->mask);
}

void tracker_live_alloc(void *ptr, size_t size, unsigned kind)
{
	struct tracker_live *l = &tracker_live;
	uintptr_t a = (uintptr_t)ptr;
	struct live_block *s;
	size_t i;

	if (a <= TOMB || l->is_incomplete)
		return;
	if (make_room() < 0) {
		l->is_incomplete = 1;
		return;
	}
	if (!(s = find(a))) {	/* else: a block whose free we never saw, replaced */
		for (i = hash_of(a) & l->mask; l->slots[i].addr > TOMB; i = (i + 1) & l->mask)
			;
		s = &l->slots[i];
		if (s->addr == TOMB)
			l->tombs--;
		else
			l->used++;
		l->count++;
	}
	if (size >> LIVE_KIND_SHIFT)	/* no allocator hands out 64 PiB */
		size = ((uint64_t)1 << LIVE_KIND_SHIFT) - 1;
	*s = (struct live_block){ a, size | (uint64_t)kind << LIVE_KIND_SHIFT };
}

void tracker_live_free(void *ptr, size_t size, unsigned kind)
{
	struct tracker_live *l = &tracker_live;
	struct live_block *s = find((uintptr_t)ptr);

	if (!s)
		return;
	if (kind == CAPTURE_ALLOC_MUNMAP && size < LIVE_SIZE(s)) {
		uintptr_t addr = s->addr + ((size + 4095) & ~(uintptr_t)4095);
		uint64_t left = LIVE_SIZE(s), gone = addr - s->addr;

		left -= gone < left ? gone : left;
		kind = LIVE_KIND(s);
		s->addr = TOMB;
		l->tombs++;
		l->count--;
		if (left)
			tracker_live_alloc((void *)addr, left, kind);
		return;
	}
	s->addr = TOMB;
	l->tombs++;
	l->count--;
}
