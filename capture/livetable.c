/*
 * capture/livetable: see livetable.h.
 *
 * A place is bits 4 to 18 of an address; the region key holds the bits
 * above 18 and the four below 4, so (key, place) gives the address back.
 * Regions are never dropped: a heap that shrinks and grows again reuses
 * them; their pages' arrays go back to the spare lists when empty.
 */
#include "capture/livetable.h"

#include <stddef.h>
#include <string.h>

#include "capture/mapmem.h"

#define REGION_SHIFT 19		/* 512 KiB of addresses a region */
#define PLACE_MASK 0x7fffu	/* 2^15 places: one per 16 bytes */
#define PAGES 128		/* 4 KiB pages a region */
#define PAGE_PLACES 256
#define PAGE_STEP 32		/* a page's array grows by this many bytes */
#define ARENA_BYTES (2u << 20)

struct livetable_info {
	uint64_t size;		/* unused: the next unused info, 1-based */
	uint32_t entry;
	uint32_t refs;		/* live blocks of the region with this triple; 0: unused */
	uint32_t category;	/* part of the key: a reachability verdict, usually 0 */
};

/*
 * The live blocks of one 4 KiB page of a region (256 places): which
 * places are live, and their info numbers in place order, so a block's
 * number is at the rank of its place among the live ones. One array:
 * this header, info[cap], then (8-aligned) born[cap] with_born.
 */
struct livetable_page {
	uint64_t bits[4];	/* live places */
	uint16_t n, cap;	/* live blocks; room for */
	uint16_t info[];	/* local info numbers, in place order */
};

struct livetable_region {
	uint64_t key;		/* 1 + (address >> 19 << 4 | address % 16); 0: an unused directory slot */
	struct livetable_page **pages;	/* PAGES of them; NULL: none live (or none since the last went) */
	struct livetable_info *infos;	/* by local number - 1 */
	uint16_t *info_index;	/* (entry, size, category) -> local number; 0: empty */
	uint32_t ninfos, infos_cap;
	uint32_t index_size, info_used;	/* index_size: a power of two, or 0 before the first info */
	uint32_t free_info;	/* the first unused info, 1-based; 0: none */
};

static inline uint64_t mix(uint64_t v)
{
	v *= 0x9E3779B97F4A7C15ull;
	return v ^ (v >> 29);
}

/*
 * ---- arrays, carved from arenas ----
 *
 * Every page's array grows through the same few sizes, so an array a
 * page outgrows is kept on a list of its size for the next page that
 * gets there: mapping and unmapping each array instead cost a report on
 * 6.9M live blocks 4000 munmap calls and a second of system time.
 */
#define ARRAY_ALIGN 32u		/* half a cache line: pages waste less */

static size_t array_size(size_t bytes)
{
	return (bytes + ARRAY_ALIGN - 1) & ~(size_t)(ARRAY_ALIGN - 1);
}

/* the free list of arrays of `size` bytes; with `create`, made if new; NULL if none */
static void **spare_of(struct livetable *lt, size_t size, int create)
{
	if (size <= LIVETABLE_SMALL_SPARES * ARRAY_ALIGN)	/* pages' arrays: a direct index */
		return &lt->small_spares[size / ARRAY_ALIGN - 1];
	for (size_t i = 0; i < lt->nspares; i++)
		if (lt->spares[i].size == size)
			return &lt->spares[i].head;
	if (!create || lt->nspares == LIVETABLE_SPARE_SIZES)
		return NULL;
	lt->spares[lt->nspares] = (struct livetable_spare){ size, NULL };
	return &lt->spares[lt->nspares++].head;
}

/* zeroed memory for an array of `bytes` (the largest, 32768 infos' room for 65536, takes 1.5 MiB), or NULL */
static void *tab_alloc(struct livetable *lt, size_t bytes)
{
	size_t size = array_size(bytes);
	void **sp, *p;

	if (size > ARENA_BYTES - ARRAY_ALIGN)
		return NULL;
	sp = spare_of(lt, size, 0);

	if (sp && *sp) {
		p = *sp;
		*sp = *(void **)p;
		memset(p, 0, size);
		return p;
	}
	if (lt->arena_left < size) {	/* the rest of the old arena stays unused: never touched, never resident */
		char *arena = mapmem_alloc(ARENA_BYTES);

		if (!arena)
			return NULL;
		*(void **)arena = lt->arenas;
		lt->arenas = arena;
		lt->arena_bytes += ARENA_BYTES;
		lt->arena = arena + ARRAY_ALIGN;
		lt->arena_left = ARENA_BYTES - ARRAY_ALIGN;
	}
	p = lt->arena;
	lt->arena += size;
	lt->arena_left -= size;
	return p;
}

/* keep p for reuse (when the list of its size cannot be made, it stays unused until the release) */
static void tab_free(struct livetable *lt, void *p, size_t bytes)
{
	void **sp;

	if (!p || !(sp = spare_of(lt, array_size(bytes), 1)))
		return;
	*(void **)p = *sp;
	*sp = p;
}

/* ---- a region's interned (entry, size, category) triples ---- */

static inline size_t info_hash(uint32_t entry, uint64_t size, uint32_t category)
{
	return (size_t)mix(size ^ mix(entry | (uint64_t)category << 32));
}

static int info_index_grow(struct livetable *lt, struct livetable_region *r)
{
	uint32_t size = r->index_size ? r->index_size * 2 : 16, mask = size - 1;
	uint16_t *index = tab_alloc(lt, (size_t)size * sizeof(uint16_t));

	if (!index)
		return -1;
	for (uint32_t i = 0; i < r->index_size; i++) {
		const struct livetable_info *in;
		size_t j;

		if (!r->info_index[i])
			continue;
		in = &r->infos[r->info_index[i] - 1];
		for (j = info_hash(in->entry, in->size, in->category) & mask; index[j]; j = (j + 1) & mask)
			;
		index[j] = r->info_index[i];
	}
	tab_free(lt, r->info_index, (size_t)r->index_size * sizeof(uint16_t));
	r->info_index = index;
	r->index_size = size;
	return 0;
}

static int infos_grow(struct livetable *lt, struct livetable_region *r)
{
	uint32_t cap = r->infos_cap ? r->infos_cap * 2 : 4;
	struct livetable_info *infos = tab_alloc(lt, (size_t)cap * sizeof(*infos));

	if (!infos)
		return -1;
	if (r->ninfos)
		memcpy(infos, r->infos, (size_t)r->ninfos * sizeof(*infos));
	tab_free(lt, r->infos, (size_t)r->infos_cap * sizeof(*infos));
	r->infos = infos;
	r->infos_cap = cap;
	return 0;
}

/*
 * The local number of b's (entry, size, category) in r with one more
 * reference, made if new; 0 when out of memory. A region has at most
 * 32768 live blocks, so at most 32769 numbers are ever in use (one more
 * while a put replaces a block): they fit the slot's 16 bits.
 */
static uint32_t info_get(struct livetable *lt, struct livetable_region *r, const struct livetable_block *b)
{
	uint32_t entry = b->entry, category = b->category, id, mask;
	uint64_t size = b->size;
	struct livetable_info *in;
	size_t j;

	if ((r->info_used + 1) * 2 > r->index_size && info_index_grow(lt, r) < 0)
		return 0;
	mask = r->index_size - 1;
	for (j = info_hash(entry, size, category) & mask; r->info_index[j]; j = (j + 1) & mask) {
		in = &r->infos[r->info_index[j] - 1];
		if (in->entry == entry && in->size == size && in->category == category) {
			in->refs++;
			return r->info_index[j];
		}
	}
	if (r->free_info) {
		id = r->free_info;
		r->free_info = (uint32_t)r->infos[id - 1].size;
	} else {
		if (r->ninfos >= UINT16_MAX || (r->ninfos == r->infos_cap && infos_grow(lt, r) < 0))
			return 0;
		id = ++r->ninfos;
	}
	r->infos[id - 1] = (struct livetable_info){ size, entry, 1, category };
	r->info_index[j] = (uint16_t)id;
	r->info_used++;
	lt->info_used++;
	return id;
}

/* drop one reference to info id of r; the last one frees it */
static void info_put(struct livetable *lt, struct livetable_region *r, uint32_t id)
{
	struct livetable_info *in = &r->infos[id - 1];
	uint32_t mask = r->index_size - 1;
	size_t j, i;

	if (--in->refs)
		return;
	for (j = info_hash(in->entry, in->size, in->category) & mask; r->info_index[j] != id; j = (j + 1) & mask)
		;
	/* shift the rest of the run back over the hole at j */
	for (i = (j + 1) & mask; r->info_index[i]; i = (i + 1) & mask) {
		const struct livetable_info *o = &r->infos[r->info_index[i] - 1];
		size_t home = info_hash(o->entry, o->size, o->category) & mask;

		if (((i - home) & mask) >= ((i - j) & mask)) {
			r->info_index[j] = r->info_index[i];
			j = i;
		}
	}
	r->info_index[j] = 0;
	r->info_used--;
	lt->info_used--;
	in->size = r->free_info;
	r->free_info = id;
}

/* ---- a region's pages ---- */

static inline size_t born_offset(uint32_t cap)
{
	return (offsetof(struct livetable_page, info) + (size_t)cap * sizeof(uint16_t) + 7) & ~(size_t)7;
}

static inline uint64_t *born_of(const struct livetable_page *pg)
{
	return (uint64_t *)((char *)pg + born_offset(pg->cap));
}

static inline size_t page_bytes(const struct livetable *lt, uint32_t cap)
{
	return born_offset(cap) + (lt->with_born ? (size_t)cap * sizeof(uint64_t) : 0);
}

/* the most blocks an array of `bytes` holds */
static uint32_t page_cap(const struct livetable *lt, size_t bytes)
{
	size_t per = sizeof(uint16_t) + (lt->with_born ? sizeof(uint64_t) : 0), head = offsetof(struct livetable_page, info);
	size_t cap = bytes > head ? (bytes - head) / per : 0;

	if (cap > PAGE_PLACES)
		cap = PAGE_PLACES;
	while (cap && page_bytes(lt, (uint32_t)cap) > bytes)	/* born's alignment: a step at most */
		cap--;
	return (uint32_t)cap;
}

/*
 * Make room for one more block in r's page k: 0, or -1 when out of
 * memory (nothing changed). The array grows by PAGE_STEP bytes at a
 * time: a page of small blocks fills one after another, and a page's
 * array is at most a few hundred bytes to copy.
 */
static int page_room(struct livetable *lt, struct livetable_region *r, uint32_t k)
{
	struct livetable_page *pg = r->pages[k], *bigger;
	size_t had = pg ? page_bytes(lt, pg->cap) : 0, bytes = (had + PAGE_STEP) & ~(size_t)(PAGE_STEP - 1);

	if (pg && pg->n < pg->cap)
		return 0;
	while (page_cap(lt, bytes) <= (pg ? pg->cap : 0u))
		bytes += PAGE_STEP;
	bigger = tab_alloc(lt, page_bytes(lt, page_cap(lt, bytes)));
	if (!bigger)
		return -1;
	bigger->cap = (uint16_t)page_cap(lt, bytes);
	if (pg) {
		memcpy(bigger->bits, pg->bits, sizeof(pg->bits));
		bigger->n = pg->n;
		memcpy(bigger->info, pg->info, pg->n * sizeof(uint16_t));
		if (lt->with_born)
			memcpy(born_of(bigger), born_of(pg), pg->n * sizeof(uint64_t));
		tab_free(lt, pg, had);
	}
	r->pages[k] = bigger;
	return 0;
}

/*
 * The bits set in x, in a few inline operations: without -mpopcnt (the
 * build targets any x86-64), __builtin_popcountll is a call into libgcc
 * that took 8% of a report's time.
 */
static inline uint32_t ones(uint64_t x)
{
	x -= (x >> 1) & 0x5555555555555555ull;
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (uint32_t)((x * 0x0101010101010101ull) >> 56);
}

/* how many live places of pg come before place i */
static inline uint32_t rank_of(const struct livetable_page *pg, uint32_t i)
{
	uint32_t w = i >> 6, rank = 0;

	for (uint32_t k = 0; k < w; k++)
		rank += ones(pg->bits[k]);
	return rank + ones(pg->bits[w] & ((1ull << (i & 63)) - 1));
}

static inline int is_live(const struct livetable_page *pg, uint32_t i)
{
	return pg && (pg->bits[i >> 6] >> (i & 63) & 1);
}

/* ---- the directory of regions ---- */

static int directory_grow(struct livetable *lt)
{
	size_t mask = lt->regions_mask ? lt->regions_mask * 2 + 1 : 63;
	struct livetable_region *regions = mapmem_alloc((mask + 1) * sizeof(*regions));

	if (!regions)
		return -1;
	for (size_t i = 0; lt->regions_mask && i <= lt->regions_mask; i++) {
		size_t j;

		if (!lt->regions[i].key)
			continue;
		for (j = (size_t)mix(lt->regions[i].key) & mask; regions[j].key; j = (j + 1) & mask)
			;
		regions[j] = lt->regions[i];
	}
	mapmem_free(lt->regions, lt->regions_mask ? (lt->regions_mask + 1) * sizeof(*regions) : 0);
	lt->regions = regions;
	lt->regions_mask = mask;
	lt->last_region = 0;
	return 0;
}

static inline uint64_t key_of(uintptr_t addr)
{
	return 1 + ((uint64_t)addr >> REGION_SHIFT << 4 | (addr & 15));
}

static inline uint32_t place_of(uintptr_t addr)
{
	return (uint32_t)(addr >> 4) & PLACE_MASK;
}

static inline uintptr_t address_of(uint64_t key, uint32_t place)
{
	return (uintptr_t)((key - 1) >> 4 << REGION_SHIFT | (uint64_t)place << 4 | ((key - 1) & 15));
}

/* the region of key; with `create`, made if new; NULL when absent (or out of memory) */
static struct livetable_region *region_of(struct livetable *lt, uint64_t key, int create)
{
	struct livetable_page **pages;
	size_t j;

	if (lt->regions && lt->regions[lt->last_region].key == key)
		return &lt->regions[lt->last_region];
	if (create && (lt->nregions + 1) * 2 > lt->regions_mask + 1 && directory_grow(lt) < 0)
		return NULL;
	if (!lt->regions)
		return NULL;
	for (j = (size_t)mix(key) & lt->regions_mask; lt->regions[j].key; j = (j + 1) & lt->regions_mask) {
		if (lt->regions[j].key == key) {
			lt->last_region = j;
			return &lt->regions[j];
		}
	}
	if (!create || !(pages = tab_alloc(lt, PAGES * sizeof(*pages))))
		return NULL;
	memset(&lt->regions[j], 0, sizeof(lt->regions[j]));
	lt->regions[j].key = key;
	lt->regions[j].pages = pages;
	lt->nregions++;
	lt->last_region = j;
	return &lt->regions[j];
}

static void fill(const struct livetable *lt, const struct livetable_region *r, const struct livetable_page *pg,
		 uint32_t rank, struct livetable_block *out)
{
	const struct livetable_info *in = &r->infos[pg->info[rank] - 1];

	*out = (struct livetable_block){ in->size, lt->with_born ? born_of(pg)[rank] : 0, in->entry, in->category };
}

int livetable_put(struct livetable *lt, uintptr_t addr, const struct livetable_block *b,
		  struct livetable_block *old)
{
	uint32_t p = place_of(addr), i = p % PAGE_PLACES, info, rank;
	struct livetable_region *r = region_of(lt, key_of(addr), 1);
	struct livetable_page *pg;
	int was_live;

	if (!r)
		return -1;
	was_live = is_live(r->pages[p / PAGE_PLACES], i);
	if (!was_live && page_room(lt, r, p / PAGE_PLACES) < 0)
		return -1;
	info = info_get(lt, r, b);
	if (!info)
		return -1;	/* a page made room for nothing is fine: its block count says it is empty */
	pg = r->pages[p / PAGE_PLACES];
	rank = rank_of(pg, i);
	if (was_live) {	/* we missed its free */
		fill(lt, r, pg, rank, old);
		info_put(lt, r, pg->info[rank]);
	} else {
		memmove(&pg->info[rank + 1], &pg->info[rank], (pg->n - rank) * sizeof(uint16_t));
		if (lt->with_born)
			memmove(&born_of(pg)[rank + 1], &born_of(pg)[rank], (pg->n - rank) * sizeof(uint64_t));
		pg->bits[i >> 6] |= 1ull << (i & 63);
		pg->n++;
		lt->count++;
	}
	pg->info[rank] = (uint16_t)info;
	if (lt->with_born)
		born_of(pg)[rank] = b->born;
	return was_live;
}

int livetable_get(struct livetable *lt, uintptr_t addr, struct livetable_block *out)
{
	uint32_t p = place_of(addr), i = p % PAGE_PLACES;
	struct livetable_region *r = region_of(lt, key_of(addr), 0);
	const struct livetable_page *pg = r ? r->pages[p / PAGE_PLACES] : NULL;

	if (!is_live(pg, i))
		return 0;
	fill(lt, r, pg, rank_of(pg, i), out);
	return 1;
}

int livetable_take(struct livetable *lt, uintptr_t addr, struct livetable_block *out)
{
	uint32_t p = place_of(addr), i = p % PAGE_PLACES, rank;
	struct livetable_region *r = region_of(lt, key_of(addr), 0);
	struct livetable_page *pg = r ? r->pages[p / PAGE_PLACES] : NULL;

	if (!is_live(pg, i))
		return 0;
	rank = rank_of(pg, i);
	fill(lt, r, pg, rank, out);
	info_put(lt, r, pg->info[rank]);
	pg->n--;
	lt->count--;
	if (!pg->n) {	/* the page's array goes back for reuse */
		tab_free(lt, pg, page_bytes(lt, pg->cap));
		r->pages[p / PAGE_PLACES] = NULL;
		return 1;
	}
	memmove(&pg->info[rank], &pg->info[rank + 1], (pg->n - rank) * sizeof(uint16_t));
	if (lt->with_born)
		memmove(&born_of(pg)[rank], &born_of(pg)[rank + 1], (pg->n - rank) * sizeof(uint64_t));
	pg->bits[i >> 6] &= ~(1ull << (i & 63));
	return 1;
}

int livetable_each(const struct livetable *lt, int (*fn)(void *ctx, uintptr_t addr, const struct livetable_block *b),
		   void *ctx)
{
	for (size_t j = 0; lt->regions_mask && j <= lt->regions_mask; j++) {
		const struct livetable_region *r = &lt->regions[j];

		for (uint32_t k = 0; r->key && k < PAGES; k++) {
			const struct livetable_page *pg = r->pages[k];
			uint32_t rank = 0;

			for (uint32_t i = 0; pg && i < PAGE_PLACES; i++) {
				struct livetable_block b;
				int ret;

				if (!is_live(pg, i))
					continue;
				fill(lt, r, pg, rank++, &b);
				ret = fn(ctx, address_of(r->key, k * PAGE_PLACES + i), &b);
				if (ret)
					return ret;
			}
		}
	}
	return 0;
}

size_t livetable_bytes(const struct livetable *lt)
{
	return (lt->regions_mask ? lt->regions_mask + 1 : 0) * sizeof(struct livetable_region) + lt->arena_bytes;
}

void livetable_release(struct livetable *lt)
{
	mapmem_free(lt->regions, lt->regions_mask ? (lt->regions_mask + 1) * sizeof(struct livetable_region) : 0);
	while (lt->arenas) {
		void *next = *(void **)lt->arenas;

		mapmem_free(lt->arenas, ARENA_BYTES);
		lt->arenas = next;
	}
	*lt = (struct livetable)LIVETABLE_INIT;
}
