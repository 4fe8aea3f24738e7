/*
 * capture/regions: see regions.h.
 *
 * The treap is written with split and merge, both recursive to the depth
 * of the tree: O(log n) expected, a few dozen frames for millions of
 * ranges (the priorities are random, so no input order degrades it).
 */
#include "capture/regions.h"

#include "capture/mapmem.h"

struct region_node {
	uintptr_t start, end;
	uint32_t entry;
	uint32_t prio;
	uint32_t left, right;	/* node indexes; 0: none. A free node links the free list by left */
};

static uint32_t next_prio(struct regions *rs)
{
	uint32_t x = rs->seed;	/* xorshift32 */

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rs->seed = x;
	return x;
}

/* split tree t into *l (starts below key) and *r (the rest) */
static void split(struct region_node *n, uint32_t t, uintptr_t key, uint32_t *l, uint32_t *r)
{
	if (!t) {
		*l = *r = 0;
	} else if (n[t].start < key) {
		split(n, n[t].right, key, &n[t].right, r);
		*l = t;
	} else {
		split(n, n[t].left, key, l, &n[t].left);
		*r = t;
	}
}

/* join trees a and b, every start in a below every start in b */
static uint32_t merge(struct region_node *n, uint32_t a, uint32_t b)
{
	if (!a || !b)
		return a ? a : b;
	if (n[a].prio > n[b].prio) {
		n[a].right = merge(n, n[a].right, b);
		return a;
	}
	n[b].left = merge(n, a, n[b].left);
	return b;
}

int regions_reserve(struct regions *rs, size_t more)
{
	size_t spare = 0;

	for (uint32_t f = rs->free_list; f && spare < more; f = rs->nodes[f].left)
		spare++;
	if (spare >= more)
		return 0;
	/* + 1: node 0 is the empty tree */
	return mapmem_grow((void **)&rs->nodes, &rs->cap, rs->used + 1 + (more - spare), sizeof(*rs->nodes), 256);
}

int regions_insert(struct regions *rs, uintptr_t start, uintptr_t end, uint32_t entry)
{
	uint32_t t, l, r;

	if (regions_reserve(rs, 1) < 0)
		return -1;
	if (rs->free_list) {
		t = rs->free_list;
		rs->free_list = rs->nodes[t].left;
	} else {
		t = (uint32_t)++rs->used;
	}
	rs->nodes[t] = (struct region_node){ start, end, entry, next_prio(rs), 0, 0 };
	split(rs->nodes, rs->root, start, &l, &r);
	rs->root = merge(rs->nodes, merge(rs->nodes, l, t), r);
	rs->count++;
	return 0;
}

void regions_remove(struct regions *rs, uintptr_t start)
{
	uint32_t l, mid, r;

	split(rs->nodes, rs->root, start, &l, &mid);
	split(rs->nodes, mid, start + 1, &mid, &r);
	if (mid) {	/* one node: starts are unique */
		rs->nodes[mid].left = rs->free_list;
		rs->free_list = mid;
		rs->count--;
	}
	rs->root = merge(rs->nodes, l, r);
}

int regions_first_after(const struct regions *rs, uintptr_t addr, struct region *out)
{
	const struct region_node *n = rs->nodes;
	uint32_t below = 0, above = 0;

	/* the last range starting at or below addr, and the first starting above it */
	for (uint32_t t = rs->root; t;) {
		if (n[t].start <= addr) {
			below = t;
			t = n[t].right;
		} else {
			above = t;
			t = n[t].left;
		}
	}
	if (below && n[below].end > addr)
		above = below;	/* addr falls inside it */
	if (!above)
		return 0;
	*out = (struct region){ n[above].start, n[above].end, n[above].entry };
	return 1;
}

void regions_release(struct regions *rs)
{
	mapmem_free(rs->nodes, rs->cap * sizeof(*rs->nodes));
	*rs = (struct regions)REGIONS_INIT;
}
