/*
 * capture/heapmodel: see heapmodel.h.
 */
#include "capture/heapmodel.h"

#include <string.h>

#include "capture/format.h"
#include "capture/livetable.h"
#include "capture/mapmem.h"
#include "capture/regions.h"

struct heapmodel_private {
	size_t entries_cap;
	struct livetable live;	/* live heap blocks; born: hm->allocations after each was made */
	uint32_t *index;	/* (stack, kind) -> entry + 1; 0: empty */
	size_t index_mask;
	struct regions regions;	/* live mmap'd ranges */
	uint64_t generation;	/* of the peak */
	uint32_t *changed;	/* entries changed since the last take, track_changes only */
	size_t nchanged, changed_cap;
};

#define map mapmem_alloc
#define unmap mapmem_free

static inline size_t hash64(uint64_t v)
{
	v *= 0x9E3779B97F4A7C15ull;
	return (size_t)(v ^ (v >> 31));
}

static inline size_t entry_hash(uint32_t stack, unsigned kind, uint32_t thread)
{
	return hash64(((uint64_t)stack << 8 | kind) ^ (uint64_t)thread << 40);
}

/* grow a dense array of `size`-byte elements to hold `need` */
static int grow_array(void **arr, size_t *cap, size_t need, size_t size)
{
	return mapmem_grow(arr, cap, need, size, 1024);
}

struct heapmodel *heapmodel_new(void)
{
	struct heapmodel *hm = map(sizeof(*hm) + sizeof(struct heapmodel_private));
	struct heapmodel_private *pv;

	if (!hm)
		return NULL;
	pv = hm->priv = (struct heapmodel_private *)(hm + 1);
	pv->regions = (struct regions)REGIONS_INIT;
	pv->live = (struct livetable)LIVETABLE_INIT;
	pv->index_mask = (1u << 12) - 1;
	pv->index = map((pv->index_mask + 1) * sizeof(uint32_t));
	if (!pv->index) {
		heapmodel_free(hm);
		return NULL;
	}
	return hm;
}

void heapmodel_free(struct heapmodel *hm)
{
	struct heapmodel_private *pv;

	if (!hm)
		return;
	pv = hm->priv;
	livetable_release(&pv->live);
	unmap(pv->index, (pv->index_mask + 1) * sizeof(uint32_t));
	unmap(hm->entries, pv->entries_cap * sizeof(struct heapmodel_entry));
	regions_release(&pv->regions);
	unmap(pv->changed, pv->changed_cap * sizeof(uint32_t));
	unmap(hm, sizeof(*hm) + sizeof(struct heapmodel_private));
}

unsigned heapmodel_bucket(uint64_t size)
{
	return size ? 64u - (unsigned)__builtin_clzll(size) : 0;
}

static int index_grow(struct heapmodel *hm)
{
	struct heapmodel_private *pv = hm->priv;
	size_t mask = pv->index_mask * 2 + 1;
	uint32_t *index = map((mask + 1) * sizeof(uint32_t));

	if (!index)
		return -1;
	for (size_t i = 0; i < hm->nentries; i++) {
		size_t j = entry_hash(hm->entries[i].stack, hm->entries[i].kind, hm->entries[i].thread) & mask;

		while (index[j])
			j = (j + 1) & mask;
		index[j] = (uint32_t)i + 1;
	}
	unmap(pv->index, (pv->index_mask + 1) * sizeof(uint32_t));
	pv->index = index;
	pv->index_mask = mask;
	return 0;
}

/* the entry of (stack, kind, hm->thread), created if new; -1 when out of memory */
static long entry_of(struct heapmodel *hm, uint32_t stack, unsigned kind)
{
	struct heapmodel_private *pv = hm->priv;
	struct heapmodel_entry *e;
	size_t j;

	if ((hm->nentries + 1) * 2 > pv->index_mask + 1 && index_grow(hm) < 0)
		return -1;
	for (j = entry_hash(stack, kind, hm->thread) & pv->index_mask; pv->index[j]; j = (j + 1) & pv->index_mask) {
		e = &hm->entries[pv->index[j] - 1];
		if (e->stack == stack && e->kind == kind && e->thread == hm->thread)
			return (long)pv->index[j] - 1;
	}
	if (grow_array((void **)&hm->entries, &pv->entries_cap, hm->nentries + 1, sizeof(*e)) < 0)
		return -1;
	e = &hm->entries[hm->nentries];
	memset(e, 0, sizeof(*e));
	e->stack = stack;
	e->kind = kind;
	e->thread = hm->thread;
	e->synced = pv->generation;
	pv->index[j] = (uint32_t)++hm->nentries;
	return (long)hm->nentries - 1;
}

/* about to change e: if a peak happened since it last changed, keep its figures */
static inline void sync_peak(struct heapmodel *hm, struct heapmodel_entry *e)
{
	if (e->synced != hm->priv->generation) {
		e->peak_count = e->live_count;
		e->peak_bytes = e->live_bytes;
		e->synced = hm->priv->generation;
	}
}

static void change(struct heapmodel *hm, uint32_t entry, int64_t count, int64_t bytes, uint64_t now_ms)
{
	struct heapmodel_entry *e = &hm->entries[entry];
	struct heapmodel_private *pv = hm->priv;

	sync_peak(hm, e);
	if (hm->track_changes && !e->dirty &&
	    grow_array((void **)&pv->changed, &pv->changed_cap, pv->nchanged + 1, sizeof(uint32_t)) == 0) {
		pv->changed[pv->nchanged++] = entry;
		e->dirty = 1;
	}
	e->live_count += (uint64_t)count;
	e->live_bytes += (uint64_t)bytes;
	hm->live_allocations += (uint64_t)count;
	hm->heap += (uint64_t)bytes;
	if (bytes > 0 && hm->heap > hm->peak) {
		hm->peak = hm->heap;
		hm->peak_ms = now_ms;
		hm->peak_allocations = hm->live_allocations;
		hm->priv->generation++;
	}
}

static int unmap_range(struct heapmodel *hm, uintptr_t start, uintptr_t end);

int heapmodel_alloc(struct heapmodel *hm, uintptr_t addr, uint64_t size, uint32_t stack, unsigned kind,
		    uint64_t now_ms)
{
	struct heapmodel_private *pv = hm->priv;
	long entry = entry_of(hm, stack, kind);
	unsigned bucket = heapmodel_bucket(size);

	if (entry < 0)
		return -1;
	if (size > UINT64_MAX - hm->heap || size > UINT64_MAX - hm->entries[entry].bytes)
		return HEAPMODEL_OVERFLOW;
	hm->entries[entry].allocs++;
	hm->entries[entry].bytes += size;
	hm->allocations++;
	hm->histogram[bucket < HEAPMODEL_BUCKETS ? bucket : HEAPMODEL_BUCKETS - 1]++;
	if (kind == CAPTURE_ALLOC_MMAP) {
		/* a mapping replaces whatever it lands on (MAP_FIXED, mremap, an unmap we missed) */
		if (unmap_range(hm, addr, addr + size) < 0 || regions_insert(&pv->regions, addr, addr + size,
									       (uint32_t)entry) < 0)
			return -1;
	} else {
		struct livetable_block b = { .size = size, .born = hm->allocations, .entry = (uint32_t)entry }, old;
		int was_live;

		if (!pv->live.count && !pv->live.nregions)
			pv->live.with_born = hm->temporary_within != 0;
		was_live = livetable_put(&pv->live, addr, &b, &old);
		if (was_live < 0)
			return -1;
		if (was_live)	/* we missed its free: the old block is gone */
			change(hm, old.entry, -1, -(int64_t)old.size, now_ms);
	}
	change(hm, (uint32_t)entry, 1, (int64_t)size, now_ms);
	return 0;
}

/*
 * Take [start, end) out of the live mappings, whichever ranges it covers
 * in whole or in part: a part cut from the middle leaves two ranges (one
 * more live allocation), a part cut from an end leaves one.
 */
static int unmap_range(struct heapmodel *hm, uintptr_t start, uintptr_t end)
{
	struct regions *rs = &hm->priv->regions;
	struct region r;

	while (start < end && regions_first_after(rs, start, &r) && r.start < end) {
		uintptr_t lo = r.start > start ? r.start : start;
		uintptr_t hi = r.end < end ? r.end : end;
		int pieces = (r.start < lo) + (hi < r.end);

		if (regions_reserve(rs, 2) < 0)	/* before any change: a failure leaves the model whole */
			return -1;
		regions_remove(rs, r.start);
		if (r.start < lo)
			regions_insert(rs, r.start, lo, r.entry);
		if (hi < r.end)
			regions_insert(rs, hi, r.end, r.entry);
		change(hm, r.entry, pieces - 1, -(int64_t)(hi - lo), 0);
		start = hi;
	}
	return 0;
}

int heapmodel_free_block(struct heapmodel *hm, uintptr_t addr, uint64_t size, unsigned kind)
{
	struct heapmodel_private *pv = hm->priv;
	struct livetable_block b;

	if (kind == CAPTURE_ALLOC_MUNMAP)
		return unmap_range(hm, addr, addr + size);
	if (livetable_take(&pv->live, addr, &b)) {
		if (hm->allocations - b.born < hm->temporary_within) {
			hm->entries[b.entry].temp_count++;
			hm->entries[b.entry].temp_bytes += b.size;
		}
		change(hm, b.entry, -1, -(int64_t)b.size, 0);
		return 0;
	}
	hm->unknown_frees++;	/* allocated before tracking began */
	return 0;
}

void heapmodel_collect(struct heapmodel *hm, uintptr_t addr)
{
	struct livetable_block b;

	if (livetable_get(&hm->priv->live, addr, &b)) {
		hm->entries[b.entry].collected_count++;
		hm->entries[b.entry].collected_bytes += b.size;
	}
}

void heapmodel_finish(struct heapmodel *hm)
{
	for (size_t i = 0; i < hm->nentries; i++)
		sync_peak(hm, &hm->entries[i]);
}

size_t heapmodel_take_changes(struct heapmodel *hm, const uint32_t **out)
{
	struct heapmodel_private *pv = hm->priv;
	size_t n = pv->nchanged;

	for (size_t i = 0; i < n; i++)
		hm->entries[pv->changed[i]].dirty = 0;
	pv->nchanged = 0;
	*out = pv->changed;
	return n;
}

long heapmodel_set_category(struct heapmodel *hm, uintptr_t addr, unsigned category)
{
	struct heapmodel_private *pv = hm->priv;
	struct livetable_block b, old;

	if (!livetable_get(&pv->live, addr, &b))
		return -1;
	b.category = category;
	if (livetable_put(&pv->live, addr, &b, &old) < 0)
		return -2;
	return b.entry;
}

struct each_live_ctx {
	void (*fn)(void *ctx, uint32_t entry, uint64_t size, unsigned category);
	void *ctx;
};

static int each_live_block(void *ctx, uintptr_t addr, const struct livetable_block *b)
{
	struct each_live_ctx *c = ctx;

	(void)addr;
	c->fn(c->ctx, b->entry, b->size, b->category);
	return 0;
}

void heapmodel_each_live(const struct heapmodel *hm, void (*fn)(void *ctx, uint32_t entry, uint64_t size,
								 unsigned category), void *ctx)
{
	struct each_live_ctx c = { fn, ctx };

	livetable_each(&hm->priv->live, each_live_block, &c);
}
