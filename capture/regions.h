/*
 * capture/regions: the mmap'd ranges of a heap model, ordered by address.
 *
 * A process's mappings never overlap: a new mapping over an old one
 * (MAP_FIXED, mremap to a fixed address, or an old unmap we never saw)
 * replaces the part it covers, and munmap may take any part of one
 * mapping or of several. So the set keeps disjoint half-open ranges
 * [start, end), each charged to an entry of the heap model, and finds the
 * ranges a span touches in O(log n): a treap (a binary search tree kept
 * balanced by random priorities) keyed on the start address. A program
 * with 100,000 live mappings pays a few tree steps per mmap and munmap,
 * not a walk over all of them.
 *
 * Nodes live in one array from capture/mapmem (never the program's
 * allocator: the tracker uses this too); freed nodes are reused.
 * Not thread-safe. Ownership: regions_release() unmaps everything.
 */
#ifndef CAPTURE_REGIONS_H
#define CAPTURE_REGIONS_H

#include <stddef.h>
#include <stdint.h>

struct region_node;

struct regions {
	struct region_node *nodes;	/* nodes[0] is the empty tree */
	size_t cap, used;
	uint32_t root, free_list;
	uint32_t seed;			/* for the priorities */
	size_t count;			/* ranges in the set */
};

/* a range as the set reports it */
struct region {
	uintptr_t start, end;
	uint32_t entry;
};

#define REGIONS_INIT { NULL, 0, 0, 0, 0, 0x9e3779b9u, 0 }

/* add [start, end) charged to entry; it must overlap nothing in the set. 0, or -1 when out of memory */
int regions_insert(struct regions *rs, uintptr_t start, uintptr_t end, uint32_t entry);
/* the range with the lowest start whose end is above addr, if any: 1 with *out filled, else 0 */
int regions_first_after(const struct regions *rs, uintptr_t addr, struct region *out);
/* drop the range starting at start (it must be in the set) */
void regions_remove(struct regions *rs, uintptr_t start);
/* make room for `more` inserts ahead, so they cannot fail: 0 or -1 */
int regions_reserve(struct regions *rs, size_t more);
void regions_release(struct regions *rs);

#endif
