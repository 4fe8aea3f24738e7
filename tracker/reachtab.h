/*
 * tracker/reachtab: the reachability scan's table of blocks (reach.c is
 * the scan): every live block of the index copied out, sorted by address,
 * and the question each word of memory asks: which block holds you?
 *
 * THE TABLES
 *
 * The extents (what every lookup reads) and the verdicts (what a hit
 * writes) are apart, 16 bytes each, so a lookup's cache lines hold twice
 * as many blocks. A third array as large holds the sort's keys and their
 * other buffer (reachtab.c), then serves the marking as its work list,
 * then the collector as its list of blocks to free.
 *
 * They are kept from scan to scan (the collector scans again and again)
 * and mapped and touched by reach_tab_reserve() before the world stops:
 * the first touch of a fresh page faults, and on a virtual machine a
 * fault can cost 10 us (measured here: 64 MiB touched page by page in
 * 190 ms, written again in 3 ms), which was most of the pause. Only when
 * the heap outgrew the estimate meanwhile are they remapped while the
 * world is stopped. A table four times too large is given back. The
 * first scan still pays for the touching (a million blocks: 0.28 s on
 * this VM, which backs fresh memory slowly), but the threads keep
 * running meanwhile, and later scans pay nothing.
 *
 * THE LOOKUP
 *
 * A binary search over a million blocks misses the cache on most of its
 * twenty steps. So the sorted table gets a directory: per 4 MiB chunk of
 * address space that holds a block's start, one slot per KiB, the index
 * of the first block starting at or after that KiB (so the slot of a KiB
 * where no block starts still names, one below, the block that may run
 * over it). A word's chunk is found by hashing, its KiB gives a range of
 * a few blocks, and the binary search runs only in that range. Words in
 * a chunk without a start (the middle of a mapping larger than 4 MiB), or
 * in a chunk beyond the directory's room, take the search over the whole
 * table: slower, the same answer. Before any of that, the block found
 * last and its two neighbours are tried: a list or an array of blocks
 * allocated one after another points from each block to the next one
 * in the table (16.7 million listed blocks: 0.12 s of a 0.55 s marking).
 *
 * Ownership: all of it is the scan's, used under reach.c's scan lock; the
 * table is filled under tracker_lock with the world stopped. Nothing here
 * allocates through the program's allocator or takes a lock.
 */
#ifndef TRACKER_REACHTAB_H
#define TRACKER_REACHTAB_H

#include <stddef.h>
#include <stdint.h>

struct rblock {
	uintptr_t addr;
	uint64_t size;
};

struct rverdict {
	uint64_t root_value;
	uint32_t chain;
	uint8_t state;		/* CAPTURE_REACH_*, 0 unreached */
	uint8_t root_kind;	/* CAPTURE_ROOT_* */
	uint8_t is_region;	/* a mapping of the program: a root, never a block */
};

#define REACH_CHUNK_BITS 22	/* a directory entry covers 4 MiB */
#define REACH_SLOT_BITS 10	/* in slots of 1 KiB */
#define REACH_SLOTS (1u << (REACH_CHUNK_BITS - REACH_SLOT_BITS))

struct reach_chunk {
	uintptr_t id;		/* address >> REACH_CHUNK_BITS, plus one; 0 empty */
	uint32_t *first;	/* REACH_SLOTS + 1 indexes into b */
};

struct reach_tab {
	struct rblock *b;	/* n blocks sorted by address */
	struct rverdict *v;	/* what the scan says of each */
	void *spare;		/* cap 16-byte slots: sort buffer, work list, collector's list */
	size_t n, cap;		/* blocks; slots of each of the three */
	uintptr_t lo, hi;	/* the span of all blocks */
	struct reach_chunk *chunks;	/* open addressing, chunk_mask + 1 slots */
	size_t chunk_mask, max_chunks;
	uint32_t *first;	/* max_chunks * (REACH_SLOTS + 1) */
	size_t ndir;		/* chunks in the directory: none for a few blocks */
	size_t finger;		/* the block the last lookup found, tried first */
};

extern struct reach_tab reach_tab;

/*
 * Tables for about `want` blocks, mapped and touched now; call before
 * the world stops. 0, or -1 out of memory (then none are kept).
 */
int reach_tab_reserve(size_t want);

/*
 * Copy the index's blocks (not Python's, not a realloc's source in
 * flight), sort them, mark the program's mappings as regions and build
 * the directory. tracker_lock held, world stopped. 0, or -1 out of
 * memory.
 */
int reach_tab_take(void);

/* forget the blocks, keep the memory */
void reach_tab_clear(void);

/* reach_tab_find() for a v within [lo, hi) */
long reach_tab_find_within(uintptr_t v);

/*
 * The index of the block holding address v (its start, or inside it), or
 * -1. Inline for the test most words of memory fail, not being between
 * the first block and the end of the last.
 */
static inline __attribute__((always_inline)) long reach_tab_find(uintptr_t v)
{
	if (v < reach_tab.lo || v >= reach_tab.hi)
		return -1;
	return reach_tab_find_within(v);
}

#endif
