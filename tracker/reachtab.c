/*
 * tracker/reachtab: the scan's sorted table of blocks and its directory.
 * reachtab.h says what they are for and why they are shaped so.
 */
#include "tracker/internal.h"
#include "tracker/reachtab.h"

struct reach_tab reach_tab;

_Static_assert(sizeof(struct rverdict) == sizeof(struct rblock), "v serves the sort of whole blocks as its buffer");

#define RB_REGION ((uint64_t)1 << 63)	/* in size between the copy and the sort's end */

/*
 * Most blocks sort as one word, half the bytes to move: the address in
 * 16-byte units above a 20-bit size. The rest (an address not 16-byte
 * aligned or above 2^48, a size of a MiB or more, a program's mapping)
 * sort apart as whole blocks, and the two runs are merged.
 */
#define KEY_SIZE_BITS 20
#define KEY_SIZE_MAX (((uint64_t)1 << KEY_SIZE_BITS) - 1)
#define KEY_UNITS(k) ((k) >> KEY_SIZE_BITS)	/* the address in 16-byte units: the same order */
#define KEY_ADDR(k) ((uintptr_t)KEY_UNITS(k) << 4)
#define BLOCK_ADDR(x) ((x).addr)

#define DIGIT_BITS 11
#define KEY_DIGITS 4		/* 44 bits: an address below 2^48 in 16-byte units */
#define BLOCK_DIGITS 6		/* 66 bits: any address */
#define DIGIT(a, d) (((a) >> ((d) * DIGIT_BITS)) & ((1u << DIGIT_BITS) - 1))

/*
 * Up to this many blocks are sorted in place (SHELL_SORT), without the
 * counts below, and found without the directory: 96 KiB and 20 KiB that
 * a short process would touch page by page for a scan of 140 blocks.
 */
#define FEW_BLOCKS 1024

/* per digit, how many keys (0) and whole blocks (1) have each value: counted while copying */
static uint32_t radix_count[2][BLOCK_DIGITS][1u << DIGIT_BITS];

/*
 * Sort the n items of `type` at b by ADDR(item), least significant digit
 * first, through tmp (room for n), skipping the digits all of them share:
 * a heap in one arena varies in its low 30 bits or so, three passes. On
 * return b points at the sorted items (the array first given as b or as
 * tmp). Digits of 11 bits keep the counts and the 2048 places written to
 * in the near caches. qsort may call malloc; a heapsort of a million
 * blocks spent most of the scan in cache misses. Measured on 1 and 16.7
 * million blocks, keys against whole blocks: 8 and 340 ms against 12 and
 * 410 ms. Also tried and not kept: 14-bit digits (two passes; 1.5 times
 * slower on a million, 5% faster on 16 million), write-combining buffers
 * per bucket, and a first pass on the top digit with the rest sorted per
 * bucket in cache.
 */
#define RADIX_SORT(type, b, tmp, n, count, digits, ADDR)                             \
	for (unsigned d = 0; (n) && d < (digits); d++) {                             \
		uint32_t *c = (count)[d], sum = 0;                                   \
		type *was_b = (b);                                                   \
                                                                                     \
		if (c[DIGIT(ADDR((b)[0]), d)] == (n))                                \
			continue;                                                    \
		for (size_t k = 0; k < (1u << DIGIT_BITS); k++) {                    \
			uint32_t x = c[k];                                           \
                                                                                     \
			c[k] = sum;                                                  \
			sum += x;                                                    \
		}                                                                    \
		for (size_t i = 0; i < (n); i++)                                     \
			(tmp)[c[DIGIT(ADDR((b)[i]), d)]++] = (b)[i];                 \
		(b) = (tmp);                                                         \
		(tmp) = was_b;                                                       \
	}

/* few items: Shell's sort with Ciura's gaps, in place */
#define SHELL_SORT(type, b, n, ADDR)                                                    \
	do {                                                                           \
		static const size_t gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };      \
                                                                                       \
		for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {          \
			for (size_t i = gaps[g]; i < (n); i++) {                        \
				type x = (b)[i];                                        \
				size_t j = i;                                           \
                                                                                       \
				for (; j >= gaps[g] && ADDR((b)[j - gaps[g]]) > ADDR(x); j -= gaps[g]) \
					(b)[j] = (b)[j - gaps[g]];                      \
				(b)[j] = x;                                             \
			}                                                               \
		}                                                                      \
	} while (0)

/*
 * Fresh memory, the pages of its first `touch` bytes touched now rather
 * than in the scan; NULL if none. A page is touched only where it will
 * be used: a first touch costs a fault, 15 us on a VM, and a short
 * process (each forked test of a Check suite) scans once.
 */
static void *map_touched(size_t bytes, size_t touch)
{
	volatile char *p = mapmem_alloc(bytes);

	if (!p)
		return NULL;
	madvise((void *)p, bytes, MADV_HUGEPAGE);	/* a hint: fewer faults where granted */
	for (size_t i = 0; i < touch && i < bytes; i += 4096)
		p[i] = 0;
	return (void *)p;
}

/* directory entries beyond one per 4096 blocks, for a heap spread thin */
#define SPARE_CHUNKS 15

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
 * A quarter to spare for the blocks that come before the world stops
 * (more make reach_tab_take() map the tables again, with the world
 * stopped), and 64. The 1024 it was cost a short process 13 more pages
 * to touch than its 140 blocks needed. The directory gets room for a
 * chunk per 4096 blocks: 4 bytes a block, enough for a heap of small
 * blocks; one of large blocks needs fewer lookups, and the search over
 * all of it is short.
 */
int reach_tab_reserve(size_t want)
{
	struct reach_tab *t = &reach_tab;
	size_t cap = want + want / 4 + 64, chunks = cap / 4096 + 1 + SPARE_CHUNKS, mask = 63;

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
	t->b = map_touched(cap * sizeof(*t->b), cap * sizeof(*t->b));
	t->v = map_touched(cap * sizeof(*t->v), cap * sizeof(*t->v));
	t->spare = map_touched(cap * sizeof(*t->b), cap * sizeof(*t->b));
	t->chunks = map_touched((mask + 1) * sizeof(*t->chunks), want <= FEW_BLOCKS ? 0 : (mask + 1) * sizeof(*t->chunks));
	t->first = map_touched(first_bytes(chunks), want <= FEW_BLOCKS ? 0 : first_bytes(chunks - SPARE_CHUNKS));
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

/*
 * Copy the index's blocks: as keys to keys[], whole blocks to the top of
 * b (they end at b + cap), counting each digit of their addresses. The
 * number of keys; the number of whole blocks in *nwhole.
 */
static size_t copy_blocks(uint64_t *keys, struct rblock *b, size_t cap, size_t *nwhole, int is_counted)
{
	const struct tracker_live *l = &tracker_live;
	size_t nk = 0, nw = 0;

	if (is_counted)
		memset(radix_count, 0, sizeof(radix_count));
	for (size_t i = 0; l->slots && i <= l->mask && nk + nw < l->count; i++) {
		const struct live_block *s = &l->slots[i];
		uintptr_t a = s->addr;
		uint64_t size = LIVE_SIZE(s);

		if (a <= 1 || LIVE_KIND(s) >= CAPTURE_ALLOC_PYMALLOC_MALLOC || (tracker_inflight.n && is_in_flight(a)))
			continue;
		if (!(a & 15) && !(a >> 48) && size < KEY_SIZE_MAX && LIVE_KIND(s) != CAPTURE_ALLOC_MMAP) {
			keys[nk++] = (uint64_t)(a >> 4) << KEY_SIZE_BITS | size;
			for (unsigned d = 0; is_counted && d < KEY_DIGITS; d++)
				radix_count[0][d][DIGIT(a >> 4, d)]++;
			continue;
		}
		nw++;
		b[cap - nw] = (struct rblock){ a, size | (LIVE_KIND(s) == CAPTURE_ALLOC_MMAP ? RB_REGION : 0) };
		for (unsigned d = 0; is_counted && d < BLOCK_DIGITS; d++)
			radix_count[1][d][DIGIT(a, d)]++;
	}
	*nwhole = nw;
	return nk;
}

/*
 * Merge the sorted keys and whole blocks (the whole ones at the top of b)
 * into b from its start. A write never overtakes the whole block to be
 * read next: before it lie at most the keys, and nk + nw <= cap.
 */
static void merge(const uint64_t *keys, size_t nk, const struct rblock *whole, size_t nw, struct rblock *b)
{
	size_t i = 0, j = 0, k = 0;

	while (i < nk || j < nw) {
		if (j == nw || (i < nk && KEY_ADDR(keys[i]) < whole[j].addr)) {
			b[k++] = (struct rblock){ KEY_ADDR(keys[i]), keys[i] & KEY_SIZE_MAX };
			i++;
		} else {
			b[k++] = whole[j++];
		}
	}
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

/*
 * A chunk's entry per chunk holding a start, as long as there is room.
 * None for a few blocks: a search over all of them is as short, and the
 * directory's pages need not be touched.
 */
static void build_directory(void)
{
	struct reach_tab *t = &reach_tab;
	size_t i = 0, used = 0;

	if (t->ndir)
		memset(t->chunks, 0, (t->chunk_mask + 1) * sizeof(*t->chunks));
	t->ndir = 0;
	if (t->n <= FEW_BLOCKS)
		return;
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
	t->ndir = used;
}

int reach_tab_take(void)
{
	struct reach_tab *t = &reach_tab;
	uint64_t *keys = t->spare, *ktmp = keys + t->cap;	/* two halves of spare */
	struct rblock *whole, *wtmp = (struct rblock *)(void *)t->v;	/* v is not written before set_out() */
	size_t nk, nw;
	int is_small;

	if (tracker_live.count >= t->cap && reach_tab_reserve(tracker_live.count) < 0)
		return -1;
	is_small = tracker_live.count <= FEW_BLOCKS;
	nk = copy_blocks(keys, t->b, t->cap, &nw, !is_small);
	whole = t->b + t->cap - nw;
	if (is_small) {
		SHELL_SORT(uint64_t, keys, nk, KEY_UNITS);
		SHELL_SORT(struct rblock, whole, nw, BLOCK_ADDR);
	} else {
		RADIX_SORT(uint64_t, keys, ktmp, nk, radix_count[0], KEY_DIGITS, KEY_UNITS);
		RADIX_SORT(struct rblock, whole, wtmp, nw, radix_count[1], BLOCK_DIGITS, BLOCK_ADDR);
	}
	merge(keys, nk, whole, nw, t->b);
	t->n = nk + nw;
	set_out();
	build_directory();
	return 0;
}

void reach_tab_clear(void)
{
	reach_tab.n = 0;
	reach_tab.lo = reach_tab.hi = 0;
}

/* ------------------------------------------------------------------ */
/* the lookup                                                            */

/* the block of b[lo..hi) holding v, or -1; the one before lo does not */
static long search(uintptr_t v, size_t lo, size_t hi)
{
	const struct rblock *b = reach_tab.b;

	if (hi <= lo)
		return -1;
	while (hi - lo > 1) {	/* the last block starting at or before v */
		size_t mid = lo + (hi - lo) / 2;

		if (b[mid].addr <= v)
			lo = mid;
		else
			hi = mid;
	}
	if (b[lo].addr > v)
		return -1;
	if (v - b[lo].addr < b[lo].size || v == b[lo].addr)
		return (long)lo;
	return -1;
}

long reach_tab_find_within(uintptr_t v)
{
	struct reach_tab *t = &reach_tab;
	uintptr_t id = (v >> REACH_CHUNK_BITS) + 1;
	size_t i = t->finger;

	if (i < t->n) {	/* a list or an array of blocks made one after another: next to the last one found */
		const struct rblock *b = t->b;

		if (b[i].addr > v && i > 0)
			i--;
		else if (i + 1 < t->n && b[i + 1].addr <= v)
			i++;
		if (b[i].addr <= v && (i + 1 == t->n || b[i + 1].addr > v))	/* i is the last block starting at or before v */
			return v - b[i].addr < b[i].size || v == b[i].addr ? (long)(t->finger = i) : -1;
	}
	for (i = (size_t)((id * 0x9E3779B97F4A7C15ull) >> 40) & t->chunk_mask; t->chunks[i].id; i = (i + 1) & t->chunk_mask) {
		if (t->chunks[i].id == id) {
			const uint32_t *f = &t->chunks[i].first[(v >> REACH_SLOT_BITS) & (REACH_SLOTS - 1)];
			long found = search(v, f[0] ? f[0] - 1 : 0, f[1]);

			if (found >= 0)
				t->finger = (size_t)found;
			return found;
		}
	}
	return search(v, 0, t->n);
}
