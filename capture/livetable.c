/*
 * capture/livetable: see livetable.h.
 *
 * A slot is (place in the region) << 16 | (local info number, 1-based):
 * never 0 when used, so 0 marks an empty slot. The place of an address
 * is its bits 4 to 18; the region key holds the bits above 18 and the
 * four below 4, so (key, place) gives the address back. Linear probing;
 * a removal shifts the rest of its run back (no tombstones), so a table
 * that churns through billions of blocks never degrades. Regions are
 * never dropped: a heap that shrinks and grows again reuses them.
 */
#include "capture/livetable.h"

#include <string.h>

#include "capture/mapmem.h"

#define REGION_SHIFT 19		/* 512 KiB of addresses a region */
#define PLACE_MASK 0x7fffu	/* 2^15 places: one per 16 bytes */
#define FIRST_CAP 16		/* slots of a new region */
/*
 * The most slots a region needs: 32768 live blocks at most, and a table
 * grows when one more would fill it past 85%; 32768 * 20 <= MAX_CAP * 17.
 */
#define MAX_CAP 38560u
#define ARENA_BYTES (2u << 20)

struct livetable_info {
	uint64_t size;		/* unused: the next unused info, 1-based */
	uint32_t entry;
	uint32_t refs;		/* live blocks of the region with this triple; 0: unused */
	uint32_t category;	/* part of the key: a reachability verdict, usually 0 */
};

struct livetable_region {
	uint64_t key;		/* 1 + (address >> 19 << 4 | address % 16); 0: an unused directory slot */
	uint32_t *slots;
	uint64_t *born;		/* with_born only */
	struct livetable_info *infos;	/* by local number - 1 */
	uint16_t *info_index;	/* (entry, size, category) -> local number; 0: empty */
	uint32_t cap, used;
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
 * Every region's tables grow through the same few sizes, so an array a
 * region outgrows is kept on a list of its size for the next region that
 * gets there: mapping and unmapping each array instead cost a report on
 * 6.9M live blocks 4000 munmap calls and a second of system time.
 */
#define ARRAY_ALIGN 64u		/* a cache line */

static size_t array_size(size_t bytes)
{
	return (bytes + ARRAY_ALIGN - 1) & ~(size_t)(ARRAY_ALIGN - 1);
}

/* the free list of arrays of `size` bytes; with `create`, made if new; NULL if none */
static struct livetable_spare *spare_of(struct livetable *lt, size_t size, int create)
{
	for (size_t i = 0; i < lt->nspares; i++)
		if (lt->spares[i].size == size)
			return &lt->spares[i];
	if (!create || lt->nspares == LIVETABLE_SPARE_SIZES)
		return NULL;
	lt->spares[lt->nspares] = (struct livetable_spare){ size, NULL };
	return &lt->spares[lt->nspares++];
}

/* zeroed memory for an array of `bytes` (at most ARENA_BYTES - 64), or NULL */
static void *tab_alloc(struct livetable *lt, size_t bytes)
{
	size_t size = array_size(bytes);
	struct livetable_spare *sp = spare_of(lt, size, 0);
	void *p;

	if (sp && sp->head) {
		p = sp->head;
		sp->head = *(void **)p;
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
	struct livetable_spare *sp;

	if (!p || !(sp = spare_of(lt, array_size(bytes), 1)))
		return;
	*(void **)p = sp->head;
	sp->head = p;
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

/* ---- a region's slots ---- */

/*
 * The slot where place p's search starts in a table of cap slots. Blocks
 * of one 4 KiB page (256 places) go to consecutive slots from a place the
 * page's hash picks (a multiply-shift: any cap will do), in address
 * order: a program allocates and frees its neighbours together, so one
 * cache line of slots serves several records in a row instead of each
 * record missing the cache somewhere in a table of many kilobytes.
 */
static inline uint32_t home_of(uint32_t p, uint32_t cap)
{
	uint32_t j = (uint32_t)(((mix(p >> 8) >> 32) * cap) >> 32) + (p & 255);

	if (j < cap)
		return j;
	return cap > 255 ? j - cap : j % cap;
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

static int region_resize(struct livetable *lt, struct livetable_region *r, uint32_t cap)
{
	uint32_t *slots = tab_alloc(lt, (size_t)cap * sizeof(uint32_t));
	uint64_t *born = lt->with_born ? tab_alloc(lt, (size_t)cap * sizeof(uint64_t)) : NULL;

	if (!slots || (lt->with_born && !born)) {
		tab_free(lt, slots, (size_t)cap * sizeof(uint32_t));
		tab_free(lt, born, (size_t)cap * sizeof(uint64_t));
		return -1;
	}
	for (uint32_t i = 0; i < r->cap; i++) {
		uint32_t j;

		if (!r->slots[i])
			continue;
		for (j = home_of(r->slots[i] >> 16, cap); slots[j]; j = next_slot(j, cap))
			;
		slots[j] = r->slots[i];
		if (born)
			born[j] = r->born[i];
	}
	tab_free(lt, r->slots, (size_t)r->cap * sizeof(uint32_t));
	tab_free(lt, r->born, (size_t)r->cap * sizeof(uint64_t));
	r->slots = slots;
	r->born = born;
	r->cap = cap;
	return 0;
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
	if (!create)
		return NULL;
	memset(&lt->regions[j], 0, sizeof(lt->regions[j]));
	if (region_resize(lt, &lt->regions[j], FIRST_CAP) < 0)
		return NULL;
	lt->regions[j].key = key;
	lt->nregions++;
	lt->last_region = j;
	return &lt->regions[j];
}

/* the slot holding place p in r, or r->cap when absent; *hole: where it would go */
static uint32_t find(const struct livetable_region *r, uint32_t p, uint32_t *hole)
{
	uint32_t j;

	for (j = home_of(p, r->cap); r->slots[j]; j = next_slot(j, r->cap))
		if (r->slots[j] >> 16 == p)
			return j;
	*hole = j;
	return r->cap;
}

static void fill(const struct livetable_region *r, struct livetable_block *out, uint32_t j)
{
	const struct livetable_info *in = &r->infos[(r->slots[j] & 0xffff) - 1];

	*out = (struct livetable_block){ in->size, r->born ? r->born[j] : 0, in->entry, in->category };
}

int livetable_put(struct livetable *lt, uintptr_t addr, const struct livetable_block *b,
		  struct livetable_block *old)
{
	uint32_t p = place_of(addr), j, hole = 0, info;
	struct livetable_region *r = region_of(lt, key_of(addr), 1);
	int was_live;

	if (!r)
		return -1;
	j = find(r, p, &hole);
	if (j == r->cap && (uint64_t)(r->used + 1) * 20 > (uint64_t)r->cap * 17) {
		uint32_t cap = r->cap + r->cap / 2 < MAX_CAP ? r->cap + r->cap / 2 : MAX_CAP;

		if (cap <= r->cap || region_resize(lt, r, cap) < 0)
			return -1;
		j = find(r, p, &hole);
	}
	info = info_get(lt, r, b);
	if (!info)
		return -1;
	was_live = j < r->cap;
	if (was_live) {	/* we missed its free */
		fill(r, old, j);
		info_put(lt, r, r->slots[j] & 0xffff);
	} else {
		j = hole;
		r->used++;
		lt->count++;
	}
	r->slots[j] = p << 16 | info;
	if (r->born)
		r->born[j] = b->born;
	return was_live;
}

int livetable_get(struct livetable *lt, uintptr_t addr, struct livetable_block *out)
{
	uint32_t j, hole;
	struct livetable_region *r = region_of(lt, key_of(addr), 0);

	if (!r || (j = find(r, place_of(addr), &hole)) == r->cap)
		return 0;
	fill(r, out, j);
	return 1;
}

int livetable_take(struct livetable *lt, uintptr_t addr, struct livetable_block *out)
{
	uint32_t j, i, hole;
	struct livetable_region *r = region_of(lt, key_of(addr), 0);

	if (!r || (j = find(r, place_of(addr), &hole)) == r->cap)
		return 0;
	fill(r, out, j);
	info_put(lt, r, r->slots[j] & 0xffff);
	/* shift the rest of the run back over the hole at j */
	for (i = next_slot(j, r->cap); r->slots[i]; i = next_slot(i, r->cap)) {
		uint32_t home = home_of(r->slots[i] >> 16, r->cap);

		if (dist(home, i, r->cap) >= dist(j, i, r->cap)) {
			r->slots[j] = r->slots[i];
			if (r->born)
				r->born[j] = r->born[i];
			j = i;
		}
	}
	r->slots[j] = 0;
	r->used--;
	lt->count--;
	return 1;
}

int livetable_each(const struct livetable *lt, int (*fn)(void *ctx, uintptr_t addr, const struct livetable_block *b),
		   void *ctx)
{
	for (size_t i = 0; lt->regions_mask && i <= lt->regions_mask; i++) {
		const struct livetable_region *r = &lt->regions[i];

		for (uint32_t j = 0; r->key && j < r->cap; j++) {
			struct livetable_block b;
			int ret;

			if (!r->slots[j])
				continue;
			fill(r, &b, j);
			ret = fn(ctx, address_of(r->key, r->slots[j] >> 16), &b);
			if (ret)
				return ret;
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
