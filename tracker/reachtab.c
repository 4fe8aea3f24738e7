/*
 * tracker/reachtab: the scan's sorted table of blocks and its directory.
 * reachtab.h says what they are for and why they are shaped so.
 */
#include "tracker/internal.h"
#include "tracker/reachtab.h"

struct reach_tab reach_tab;

#define RB_REGION ((uint64_t)1 << 63)	/* in size between the copy and the sort's end */

#define DIGIT_BITS 11
#define DIGITS 6			/* 66 bits: any address */
#define DIGIT(a, d) (((a) >> ((d) * DIGIT_BITS)) & ((1u << DIGIT_BITS) - 1))

static uint32_t radix_count[DIGITS][1u << DIGIT_BITS];	/* filled while the blocks are copied */

/*
 * Sort b[0..n) by address, least significant digit first, through tmp
 * (n slots), skipping the digits all blocks share: a heap in one arena
 * varies in its low 30 bits or so, three passes. Digits of 11 bits keep
 * the counts and the 2048 places written to in the first level caches.
 * qsort may call malloc; a heapsort of a million blocks spent most of the
 * scan in cache misses. Tried on a million blocks and measured slower:
 * 12-bit digits, digits that skip the 4 alignment bits (fewer passes,
 * but each scatters to all 2048 places where the first touches only
 * 128), write-combining buffers per bucket, and a first pass on the top
 * digit with the rest sorted per bucket in cache (1.7 times slower there,
 * 10% faster on 16 million). Returns the sorted array: b or tmp.
 */
static struct rblock *sort_blocks(struct rblock *b, struct rblock *tmp, size_t n)
{
	for (unsigned d = 0; n && d < DIGITS; d++) {
		uint32_t *count = radix_count[d], sum = 0;
		struct rblock *t;

		if (count[DIGIT(b[0].addr, d)] == n)
			continue;
		for (size_t k = 0; k < (1u << DIGIT_BITS); k++) {
			uint32_t c = count[k];

			count[k] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[DIGIT(b[i].addr, d)]++] = b[i];
		t = b;
		b = tmp;
		tmp = t;
	}
	return b;
}

/* fresh memory, its pages touched now rather than in the scan; NULL if none */
static void *map_touched(size_t bytes)
{
	volatile char *p = mapmem_alloc(bytes);

	if (!p)
		return NULL;
	madvise((void *)p, bytes, MADV_HUGEPAGE);	/* a hint: fewer faults where granted */
	for (size_t i = 0; i < bytes; i += 4096)
		p[i] = 0;
	return (void *)p;
}

static size_t first_bytes(size_t max_chunks)
{
	return max_chunks * (REACH_SLOTS + 1) * sizeof(uint32_t);
}

static void unmap_tables(void)
{
	struct reach_tab *t = &reach_tab;

	mapmem_free(t->b, t->cap * sizeof(*t->b));
	mapmem_free(t->v, t->cap * sizeof(*t->v));
	mapmem_free(t->spare, t->cap * sizeof(*t->b));
	mapmem_free(t->chunks, (t->chunk_mask + 1) * sizeof(*t->chunks));
	mapmem_free(t->first, first_bytes(t->max_chunks));
	*t = (struct reach_tab){ 0 };
}

/*
 * A quarter to spare for the blocks that come before the world stops.
 * The directory gets room for a chunk per 4096 blocks: 4 bytes a block,
 * enough for a heap of small blocks; one of large blocks needs fewer
 * lookups, and the search over all of it is short.
 */
int reach_tab_reserve(size_t want)
{
	struct reach_tab *t = &reach_tab;
	size_t cap = want + want / 4 + 1024, chunks = cap / 4096 + 16, mask = 63;

	if (want < t->cap && t->cap <= 4 * cap)
		return 0;
	unmap_tables();
	if (cap > UINT32_MAX / 2)
		return -1;	/* the work list holds 32-bit indexes */
	while (mask + 1 < 2 * chunks)
		mask = mask * 2 + 1;
	t->cap = cap;
	t->max_chunks = chunks;
	t->chunk_mask = mask;
	t->b = map_touched(cap * sizeof(*t->b));
	t->v = map_touched(cap * sizeof(*t->v));
	t->spare = map_touched(cap * sizeof(*t->b));
	t->chunks = map_touched((mask + 1) * sizeof(*t->chunks));
	t->first = map_touched(first_bytes(chunks));
	if (t->b && t->v && t->spare && t->chunks && t->first)
		return 0;
	unmap_tables();
	return -1;
}

static int is_in_flight(uintptr_t a)
{
	for (unsigned i = 0; i < tracker_inflight.n; i++)
		if (tracker_inflight.slot[i].addr == a)
			return 1;
	return 0;
}

/* copy the index's blocks into b, counting each digit of their addresses */
static size_t copy_blocks(struct rblock *b)
{
	const struct tracker_live *l = &tracker_live;
	size_t n = 0;

	memset(radix_count, 0, sizeof(radix_count));
	for (size_t i = 0; l->slots && i <= l->mask && n < l->count; i++) {
		const struct live_block *s = &l->slots[i];
		uintptr_t a = s->addr;

		if (a <= 1 || LIVE_KIND(s) >= CAPTURE_ALLOC_PYMALLOC_MALLOC || (tracker_inflight.n && is_in_flight(a)))
			continue;
		b[n].addr = a;
		b[n].size = LIVE_SIZE(s) | (LIVE_KIND(s) == CAPTURE_ALLOC_MMAP ? RB_REGION : 0);
		for (unsigned d = 0; d < DIGITS; d++)
			radix_count[d][DIGIT(a, d)]++;
		n++;
	}
	return n;
}

/* the verdicts' first state (regions are roots), and the span */
static void set_out(void)
{
	struct reach_tab *t = &reach_tab;

	t->lo = t->n ? t->b[0].addr : 0;
	t->hi = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct rblock *b = &t->b[i];

		t->v[i] = (struct rverdict){ 0 };
		if (b->size & RB_REGION) {
			b->size &= ~RB_REGION;
			t->v[i].is_region = 1;
			t->v[i].state = CAPTURE_REACH_REACHABLE;
			t->v[i].root_kind = CAPTURE_ROOT_MAPPING_SELF;
		}
		if (b->addr + b->size > t->hi)
			t->hi = b->addr + b->size;
	}
}

/* a chunk's entry per chunk holding a start, as long as there is room */
static void build_directory(void)
{
	struct reach_tab *t = &reach_tab;
	size_t i = 0, used = 0;

	memset(t->chunks, 0, (t->chunk_mask + 1) * sizeof(*t->chunks));
	while (i < t->n && used < t->max_chunks) {
		uintptr_t id = (t->b[i].addr >> REACH_CHUNK_BITS) + 1, base = (id - 1) << REACH_CHUNK_BITS;
		uint32_t *first = t->first + used++ * (REACH_SLOTS + 1);
		size_t h;

		for (size_t s = 0; s <= REACH_SLOTS; s++) {
			uintptr_t from = base + ((uintptr_t)s << REACH_SLOT_BITS);

			while (i < t->n && t->b[i].addr < from)
				i++;
			first[s] = (uint32_t)i;
		}
		for (h = (size_t)((id * 0x9E3779B97F4A7C15ull) >> 40) & t->chunk_mask; t->chunks[h].id;
		     h = (h + 1) & t->chunk_mask)
			;
		t->chunks[h] = (struct reach_chunk){ id, first };
	}
}

int reach_tab_take(void)
{
	struct reach_tab *t = &reach_tab;
	struct rblock *sorted;

	if (tracker_live.count >= t->cap && reach_tab_reserve(tracker_live.count) < 0)
		return -1;
	t->n = copy_blocks(t->b);
	sorted = sort_blocks(t->b, t->spare, t->n);
	if (sorted != t->b) {	/* keep b the sorted one */
		t->spare = t->b;
		t->b = sorted;
	}
	set_out();
	build_directory();
	return 0;
}

void reach_tab_clear(void)
{
	reach_tab.n = 0;
	reach_tab.lo = reach_tab.hi = 0;
}
