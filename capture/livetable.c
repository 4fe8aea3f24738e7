/*
 * capture/livetable: see livetable.h.
 *
 * A slot is (low 32 bits of the address) << 32 | (1 + info): never 0
 * when used, so 0 marks an empty slot. Linear probing; a removal shifts
 * the rest of its run back (no tombstones), so a table that churns
 * through billions of blocks never degrades.
 */
#include "capture/livetable.h"

#include <sys/mman.h>

#include "capture/mapmem.h"

#define FIRST_CAP 512		/* slots of a new shard: one 4 KiB page */
#define HUGE_BYTES (4u << 20)	/* tables this big ask for huge pages: fewer TLB misses */

struct livetable_shard {
	uint64_t tag;		/* 1 + (high 32 bits << 4 | hash bits); 0: an unused directory slot */
	uint64_t *slots;
	uint64_t *born;		/* with_born only */
	uint32_t cap, used;
};

struct livetable_info {
	uint64_t size;		/* unused: the next unused info, 1-based */
	uint32_t entry;
	uint32_t refs;		/* live blocks with this pair; 0: unused */
	uint32_t category;	/* part of the key: a reachability verdict, usually 0 */
};

static inline uint64_t mix(uint64_t v)
{
	v *= 0x9E3779B97F4A7C15ull;
	return v ^ (v >> 29);
}

static void *map_table(size_t bytes)
{
	void *p = mapmem_alloc(bytes);

	if (p && bytes >= HUGE_BYTES)
		madvise(p, bytes, MADV_HUGEPAGE);	/* a hint: nothing depends on it */
	return p;
}

/* ---- the interned (entry, size, category) triples ---- */

static inline size_t info_hash(uint32_t entry, uint64_t size, uint32_t category)
{
	return (size_t)mix(size ^ mix(entry | (uint64_t)category << 32));
}

static int info_index_grow(struct livetable *lt)
{
	size_t mask = lt->info_mask ? lt->info_mask * 2 + 1 : 255;
	uint32_t *index = mapmem_alloc((mask + 1) * sizeof(uint32_t));

	if (!index)
		return -1;
	for (size_t i = 0; lt->info_mask && i <= lt->info_mask; i++) {
		const struct livetable_info *in;
		size_t j;

		if (!lt->info_index[i])
			continue;
		in = &lt->infos[lt->info_index[i] - 1];
		for (j = info_hash(in->entry, in->size, in->category) & mask; index[j]; j = (j + 1) & mask)
			;
		index[j] = lt->info_index[i];
	}
	mapmem_free(lt->info_index, lt->info_mask ? (lt->info_mask + 1) * sizeof(uint32_t) : 0);
	lt->info_index = index;
	lt->info_mask = mask;
	return 0;
}

/* the info of b's (entry, size, category) with one more reference, made if new: 0-based, or -1 when out of memory */
static long info_get(struct livetable *lt, const struct livetable_block *b)
{
	uint32_t entry = b->entry, category = b->category;
	uint64_t size = b->size;
	struct livetable_info *in;
	uint32_t id;
	size_t j;

	if ((lt->info_used + 1) * 2 > lt->info_mask + 1 && info_index_grow(lt) < 0)
		return -1;
	for (j = info_hash(entry, size, category) & lt->info_mask; lt->info_index[j]; j = (j + 1) & lt->info_mask) {
		in = &lt->infos[lt->info_index[j] - 1];
		if (in->entry == entry && in->size == size && in->category == category) {
			in->refs++;
			return (long)lt->info_index[j] - 1;
		}
	}
	if (lt->free_info) {
		id = lt->free_info - 1;
		lt->free_info = (uint32_t)lt->infos[id].size;
	} else {
		if (lt->ninfos >= UINT32_MAX - 1 ||
		    mapmem_grow((void **)&lt->infos, &lt->infos_cap, lt->ninfos + 1, sizeof(*in), 256) < 0)
			return -1;
		id = (uint32_t)lt->ninfos++;
	}
	lt->infos[id] = (struct livetable_info){ size, entry, 1, category };
	lt->info_index[j] = id + 1;
	lt->info_used++;
	return id;
}

/* drop one reference to info id; the last one frees it */
static void info_put(struct livetable *lt, uint32_t id)
{
	struct livetable_info *in = &lt->infos[id];
	size_t j, i;

	if (--in->refs)
		return;
	for (j = info_hash(in->entry, in->size, in->category) & lt->info_mask; lt->info_index[j] != id + 1;
	     j = (j + 1) & lt->info_mask)
		;
	/* shift the rest of the run back over the hole at j */
	for (i = (j + 1) & lt->info_mask; lt->info_index[i]; i = (i + 1) & lt->info_mask) {
		const struct livetable_info *o = &lt->infos[lt->info_index[i] - 1];
		size_t home = info_hash(o->entry, o->size, o->category) & lt->info_mask;

		if (((i - home) & lt->info_mask) >= ((i - j) & lt->info_mask)) {
			lt->info_index[j] = lt->info_index[i];
			j = i;
		}
	}
	lt->info_index[j] = 0;
	lt->info_used--;
	in->size = lt->free_info;
	lt->free_info = id + 1;
}

/* ---- shards ---- */

/*
 * The slot where lo's search starts in a shard of cap slots (at least
 * PAGE_GRANULES). Blocks of one 4 KiB page go to consecutive slots from a
 * place the page's hash picks (a multiply-shift: any cap will do), in
 * address order: a program allocates and frees its neighbours together,
 * so one cache line of slots serves several records in a row instead of
 * each record missing the cache somewhere in a table of many megabytes.
 */
#define PAGE_SHIFT 12
#define PAGE_GRANULES (1u << (PAGE_SHIFT - 4))	/* 16-byte malloc granules in a page */

static inline uint64_t page_hash(uint32_t lo)
{
	return mix(lo >> PAGE_SHIFT);
}

static inline uint32_t home_of(uint32_t lo, uint32_t cap)
{
	uint32_t j = (uint32_t)(((page_hash(lo) >> 28) & 0xffffffffu) * cap >> 32) + (lo >> 4) % PAGE_GRANULES;

	return j >= cap ? j - cap : j;
}

static inline uint32_t next_slot(uint32_t j, uint32_t cap)
{
	return j + 1 == cap ? 0 : j + 1;
}

/* distance from a forward to b, wrapping */
static inline uint32_t dist(uint32_t a, uint32_t b, uint32_t cap)
{
	return b >= a ? b - a : b + cap - a;
}

static int shard_resize(struct livetable *lt, struct livetable_shard *sh, uint32_t cap)
{
	uint64_t *slots = map_table((size_t)cap * sizeof(uint64_t));
	uint64_t *born = lt->with_born ? map_table((size_t)cap * sizeof(uint64_t)) : NULL;

	if (!slots || (lt->with_born && !born)) {
		mapmem_free(slots, (size_t)cap * sizeof(uint64_t));
		mapmem_free(born, (size_t)cap * sizeof(uint64_t));
		return -1;
	}
	for (uint32_t i = 0; i < sh->cap; i++) {
		uint32_t j;

		if (!sh->slots[i])
			continue;
		for (j = home_of((uint32_t)(sh->slots[i] >> 32), cap); slots[j]; j = next_slot(j, cap))
			;
		slots[j] = sh->slots[i];
		if (born)
			born[j] = sh->born[i];
	}
	mapmem_free(sh->slots, (size_t)sh->cap * sizeof(uint64_t));
	mapmem_free(sh->born, (size_t)sh->cap * sizeof(uint64_t));
	sh->slots = slots;
	sh->born = born;
	sh->cap = cap;
	return 0;
}

static inline size_t tag_hash(uint64_t tag)
{
	return (size_t)mix(tag);
}

static int directory_grow(struct livetable *lt)
{
	size_t mask = lt->shards_mask ? lt->shards_mask * 2 + 1 : 63;
	struct livetable_shard *shards = mapmem_alloc((mask + 1) * sizeof(*shards));

	if (!shards)
		return -1;
	for (size_t i = 0; lt->shards_mask && i <= lt->shards_mask; i++) {
		size_t j;

		if (!lt->shards[i].tag)
			continue;
		for (j = tag_hash(lt->shards[i].tag) & mask; shards[j].tag; j = (j + 1) & mask)
			;
		shards[j] = lt->shards[i];
	}
	mapmem_free(lt->shards, lt->shards_mask ? (lt->shards_mask + 1) * sizeof(*shards) : 0);
	lt->shards = shards;
	lt->shards_mask = mask;
	lt->last_shard = 0;
	return 0;
}

/* the shard tag of an address whose page hashes to h: 16 shards per 4 GiB zone */
static inline uint64_t tag_of(uintptr_t addr, uint64_t h)
{
	return 1 + ((uint64_t)addr >> 32 << 4 | h >> 60);
}

/* the shard of tag; with `create`, made if new; NULL when absent (or out of memory) */
static struct livetable_shard *shard_of(struct livetable *lt, uint64_t tag, int create)
{
	size_t j;

	if (lt->shards && lt->shards[lt->last_shard].tag == tag)
		return &lt->shards[lt->last_shard];
	if (create && (lt->nshards + 1) * 2 > lt->shards_mask + 1 && directory_grow(lt) < 0)
		return NULL;
	if (!lt->shards)
		return NULL;
	for (j = tag_hash(tag) & lt->shards_mask; lt->shards[j].tag; j = (j + 1) & lt->shards_mask) {
		if (lt->shards[j].tag == tag) {
			lt->last_shard = j;
			return &lt->shards[j];
		}
	}
	if (!create)
		return NULL;
	lt->shards[j] = (struct livetable_shard){ tag, NULL, NULL, 0, 0 };
	if (shard_resize(lt, &lt->shards[j], FIRST_CAP) < 0) {
		lt->shards[j].tag = 0;
		return NULL;
	}
	lt->nshards++;
	lt->last_shard = j;
	return &lt->shards[j];
}

/* the slot holding lo in sh, or sh->cap when absent; *hole: where it would go */
static uint32_t find(const struct livetable_shard *sh, uint32_t lo, uint32_t *hole)
{
	uint32_t j;

	for (j = home_of(lo, sh->cap); sh->slots[j]; j = next_slot(j, sh->cap))
		if ((uint32_t)(sh->slots[j] >> 32) == lo)
			return j;
	*hole = j;
	return sh->cap;
}

static void fill(const struct livetable *lt, struct livetable_block *out, uint64_t slot, uint64_t born)
{
	const struct livetable_info *in = &lt->infos[(uint32_t)slot - 1];

	*out = (struct livetable_block){ in->size, born, in->entry, in->category };
}

int livetable_put(struct livetable *lt, uintptr_t addr, const struct livetable_block *b,
		  struct livetable_block *old)
{
	uint32_t lo = (uint32_t)addr, j, hole = 0;
	uint64_t h = page_hash(lo);
	struct livetable_shard *sh = shard_of(lt, tag_of(addr, h), 1);
	int was_live;
	long info;

	if (!sh)
		return -1;
	j = find(sh, lo, &hole);
	if (j == sh->cap && (uint64_t)(sh->used + 1) * 20 > (uint64_t)sh->cap * 17) {
		if (sh->cap > UINT32_MAX / 3 * 2 || shard_resize(lt, sh, sh->cap * 2) < 0)
			return -1;
		j = find(sh, lo, &hole);
	}
	info = info_get(lt, b);
	if (info < 0)
		return -1;
	was_live = j < sh->cap;
	if (was_live) {	/* we missed its free */
		fill(lt, old, sh->slots[j], sh->born ? sh->born[j] : 0);
		info_put(lt, (uint32_t)sh->slots[j] - 1);
	} else {
		j = hole;
		sh->used++;
		lt->count++;
	}
	sh->slots[j] = (uint64_t)lo << 32 | (uint64_t)(info + 1);
	if (sh->born)
		sh->born[j] = b->born;
	return was_live;
}

int livetable_get(struct livetable *lt, uintptr_t addr, struct livetable_block *out)
{
	uint32_t lo = (uint32_t)addr, j, hole;
	uint64_t h = page_hash(lo);
	struct livetable_shard *sh = shard_of(lt, tag_of(addr, h), 0);

	if (!sh || (j = find(sh, lo, &hole)) == sh->cap)
		return 0;
	fill(lt, out, sh->slots[j], sh->born ? sh->born[j] : 0);
	return 1;
}

int livetable_take(struct livetable *lt, uintptr_t addr, struct livetable_block *out)
{
	uint32_t lo = (uint32_t)addr, j, i, hole;
	uint64_t h = page_hash(lo);
	struct livetable_shard *sh = shard_of(lt, tag_of(addr, h), 0);

	if (!sh || (j = find(sh, lo, &hole)) == sh->cap)
		return 0;
	fill(lt, out, sh->slots[j], sh->born ? sh->born[j] : 0);
	info_put(lt, (uint32_t)sh->slots[j] - 1);
	/* shift the rest of the run back over the hole at j */
	for (i = next_slot(j, sh->cap); sh->slots[i]; i = next_slot(i, sh->cap)) {
		uint32_t home = home_of((uint32_t)(sh->slots[i] >> 32), sh->cap);

		if (dist(home, i, sh->cap) >= dist(j, i, sh->cap)) {
			sh->slots[j] = sh->slots[i];
			if (sh->born)
				sh->born[j] = sh->born[i];
			j = i;
		}
	}
	sh->slots[j] = 0;
	sh->used--;
	lt->count--;
	return 1;
}

int livetable_each(const struct livetable *lt, int (*fn)(void *ctx, uintptr_t addr, const struct livetable_block *b),
		   void *ctx)
{
	for (size_t i = 0; lt->shards_mask && i <= lt->shards_mask; i++) {
		const struct livetable_shard *sh = &lt->shards[i];
		uintptr_t high = (uintptr_t)((sh->tag - 1) >> 4 << 32);

		for (uint32_t j = 0; sh->tag && j < sh->cap; j++) {
			struct livetable_block b;
			int ret;

			if (!sh->slots[j])
				continue;
			fill(lt, &b, sh->slots[j], sh->born ? sh->born[j] : 0);
			ret = fn(ctx, high | (uint32_t)(sh->slots[j] >> 32), &b);
			if (ret)
				return ret;
		}
	}
	return 0;
}

size_t livetable_bytes(const struct livetable *lt)
{
	size_t bytes = (lt->shards_mask ? lt->shards_mask + 1 : 0) * sizeof(struct livetable_shard) +
		       lt->infos_cap * sizeof(struct livetable_info) +
		       (lt->info_mask ? lt->info_mask + 1 : 0) * sizeof(uint32_t);

	for (size_t i = 0; lt->shards_mask && i <= lt->shards_mask; i++)
		bytes += (size_t)lt->shards[i].cap * sizeof(uint64_t) * (lt->with_born ? 2 : 1);
	return bytes;
}

void livetable_release(struct livetable *lt)
{
	for (size_t i = 0; lt->shards_mask && i <= lt->shards_mask; i++) {
		mapmem_free(lt->shards[i].slots, (size_t)lt->shards[i].cap * sizeof(uint64_t));
		mapmem_free(lt->shards[i].born, (size_t)lt->shards[i].cap * sizeof(uint64_t));
	}
	mapmem_free(lt->shards, lt->shards_mask ? (lt->shards_mask + 1) * sizeof(struct livetable_shard) : 0);
	mapmem_free(lt->infos, lt->infos_cap * sizeof(struct livetable_info));
	mapmem_free(lt->info_index, lt->info_mask ? (lt->info_mask + 1) * sizeof(uint32_t) : 0);
	*lt = (struct livetable)LIVETABLE_INIT;
}
