/*
 * tracker/aggregate: --aggregate mode; see aggregate.h.
 */
#include <string.h>
#include <sys/mman.h>

#include "capture/codec.h"
#include "capture/format.h"
#include "tracker/aggregate.h"

struct live {
	uintptr_t addr;		/* 0: empty */
	uint64_t size;
	uint32_t entry;
};

struct region {
	uintptr_t start, end;
	uint32_t entry;
};

struct entry {
	uint32_t stack;
	uint32_t kind;
	uint64_t allocs, bytes;
	uint64_t live_count, live_bytes;
	uint64_t peak_count, peak_bytes;
	uint64_t synced;	/* the peak generation live_* was last compared with */
};

static struct {
	struct live *live;
	size_t live_mask, live_used;
	struct entry *entries;
	size_t nentries, entries_cap;
	uint32_t *index;	/* (stack, kind) -> entry + 1; 0 empty */
	size_t index_mask;
	struct region *regions;
	size_t nregions, regions_cap;
	uint64_t heap, peak, peak_generation, peak_ms;
	uint64_t histogram[CAPTURE_AGG_BUCKETS];
} agg;

static void *map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void unmap(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}

static inline size_t hash64(uint64_t v)
{
	v *= 0x9E3779B97F4A7C15ull;
	return (size_t)(v ^ (v >> 31));
}

/* grow a dense array of `size`-byte elements to hold `need` */
static int grow_array(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 1024;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	p = map(ncap * size);
	if (!p)
		return -1;
	if (*arr)
		memcpy(p, *arr, *cap * size);
	unmap(*arr, *cap * size);
	*arr = p;
	*cap = ncap;
	return 0;
}

int aggregate_init(void)
{
	memset(&agg, 0, sizeof(agg));
	agg.live_mask = (1u << 16) - 1;
	agg.index_mask = (1u << 12) - 1;
	agg.live = map((agg.live_mask + 1) * sizeof(struct live));
	agg.index = map((agg.index_mask + 1) * sizeof(uint32_t));
	return agg.live && agg.index ? 0 : -1;
}

void aggregate_reset(void)
{
	unmap(agg.live, (agg.live_mask + 1) * sizeof(struct live));
	unmap(agg.index, (agg.index_mask + 1) * sizeof(uint32_t));
	unmap(agg.entries, agg.entries_cap * sizeof(struct entry));
	unmap(agg.regions, agg.regions_cap * sizeof(struct region));
	aggregate_init();
}

static int index_grow(void)
{
	size_t mask = agg.index_mask * 2 + 1;
	uint32_t *index = map((mask + 1) * sizeof(uint32_t));

	if (!index)
		return -1;
	for (size_t i = 0; i < agg.nentries; i++) {
		size_t j = hash64((uint64_t)agg.entries[i].stack << 8 | agg.entries[i].kind) & mask;

		while (index[j])
			j = (j + 1) & mask;
		index[j] = (uint32_t)i + 1;
	}
	unmap(agg.index, (agg.index_mask + 1) * sizeof(uint32_t));
	agg.index = index;
	agg.index_mask = mask;
	return 0;
}

/* the entry of (stack, kind), created if new; -1 when out of memory */
static long entry_of(uint32_t stack, unsigned kind)
{
	size_t j = hash64((uint64_t)stack << 8 | kind) & agg.index_mask;
	struct entry *e;

	for (; agg.index[j]; j = (j + 1) & agg.index_mask) {
		e = &agg.entries[agg.index[j] - 1];
		if (e->stack == stack && e->kind == kind)
			return (long)agg.index[j] - 1;
	}
	if ((agg.nentries + 1) * 2 > agg.index_mask + 1) {
		if (index_grow() < 0)
			return -1;
		return entry_of(stack, kind);
	}
	if (grow_array((void **)&agg.entries, &agg.entries_cap, agg.nentries + 1, sizeof(struct entry)) < 0)
		return -1;
	e = &agg.entries[agg.nentries];
	memset(e, 0, sizeof(*e));
	e->stack = stack;
	e->kind = kind;
	e->synced = agg.peak_generation;
	agg.index[j] = (uint32_t)++agg.nentries;
	return (long)agg.nentries - 1;
}

/* about to change e: if a peak happened since it last changed, keep its figures */
static void sync_peak(struct entry *e)
{
	if (e->synced != agg.peak_generation) {
		e->peak_count = e->live_count;
		e->peak_bytes = e->live_bytes;
		e->synced = agg.peak_generation;
	}
}

static void change(uint32_t entry, int64_t count, int64_t bytes, uint64_t now_ms)
{
	struct entry *e = &agg.entries[entry];

	sync_peak(e);
	e->live_count += (uint64_t)count;
	e->live_bytes += (uint64_t)bytes;
	agg.heap += (uint64_t)bytes;
	if (bytes > 0 && agg.heap > agg.peak) {
		agg.peak = agg.heap;
		agg.peak_ms = now_ms;
		agg.peak_generation++;
	}
}

static int live_grow(void)
{
	size_t mask = agg.live_mask * 2 + 1;
	struct live *live = map((mask + 1) * sizeof(struct live));

	if (!live)
		return -1;
	for (size_t i = 0; i <= agg.live_mask; i++) {
		size_t j;

		if (!agg.live[i].addr)
			continue;
		for (j = hash64(agg.live[i].addr) & mask; live[j].addr; j = (j + 1) & mask)
			;
		live[j] = agg.live[i];
	}
	unmap(agg.live, (agg.live_mask + 1) * sizeof(struct live));
	agg.live = live;
	agg.live_mask = mask;
	return 0;
}

static unsigned bit_length(uint64_t v)
{
	return v ? 64u - (unsigned)__builtin_clzll(v) : 0;
}

int aggregate_alloc(uintptr_t addr, uint64_t size, uint32_t stack, unsigned kind, uint64_t now_ms)
{
	long entry = entry_of(stack, kind);

	if (entry < 0)
		return -1;
	agg.entries[entry].allocs++;
	agg.entries[entry].bytes += size;
	agg.histogram[bit_length(size) < CAPTURE_AGG_BUCKETS ? bit_length(size) : CAPTURE_AGG_BUCKETS - 1]++;
	if (kind == CAPTURE_ALLOC_MMAP) {
		if (grow_array((void **)&agg.regions, &agg.regions_cap, agg.nregions + 1,
			       sizeof(struct region)) < 0)
			return -1;
		agg.regions[agg.nregions++] = (struct region){ addr, addr + size, (uint32_t)entry };
	} else {
		size_t j;

		if ((agg.live_used + 1) * 2 > agg.live_mask + 1 && live_grow() < 0)
			return -1;
		for (j = hash64(addr) & agg.live_mask; agg.live[j].addr && agg.live[j].addr != addr;
		     j = (j + 1) & agg.live_mask)
			;
		if (agg.live[j].addr)	/* a free we never saw: the old block is gone */
			change(agg.live[j].entry, -1, -(int64_t)agg.live[j].size, now_ms);
		else
			agg.live_used++;
		agg.live[j] = (struct live){ addr, size, (uint32_t)entry };
	}
	change((uint32_t)entry, 1, (int64_t)size, now_ms);
	return 0;
}

/* remove slot j of the live table, shifting later colliding entries back */
static void live_remove(size_t j)
{
	size_t i = j;

	for (;;) {
		i = (i + 1) & agg.live_mask;
		if (!agg.live[i].addr)
			break;
		size_t home = hash64(agg.live[i].addr) & agg.live_mask;
		/* can the entry at i move to the hole at j? */
		if ((i > j && (home <= j || home > i)) || (i < j && home <= j && home > i)) {
			agg.live[j] = agg.live[i];
			j = i;
		}
	}
	agg.live[j].addr = 0;
	agg.live_used--;
}

static int unmap_range(uintptr_t start, uintptr_t end)
{
	for (size_t i = 0; i < agg.nregions;) {
		struct region *r = &agg.regions[i];
		uintptr_t lo = r->start > start ? r->start : start;
		uintptr_t hi = r->end < end ? r->end : end;

		if (lo >= hi) {
			i++;
			continue;
		}
		if (lo == r->start && hi == r->end) {	/* all of it */
			change(r->entry, -1, -(int64_t)(hi - lo), 0);
			*r = agg.regions[--agg.nregions];
			continue;
		}
		/* a hole makes two pieces of one mapping: each counts as live */
		change(r->entry, lo > r->start && hi < r->end, -(int64_t)(hi - lo), 0);
		if (lo > r->start && hi < r->end) {
			if (grow_array((void **)&agg.regions, &agg.regions_cap, agg.nregions + 1,
				       sizeof(struct region)) < 0)
				return -1;
			r = &agg.regions[i];
			agg.regions[agg.nregions++] = (struct region){ hi, r->end, r->entry };
			r->end = lo;
		} else if (lo == r->start) {
			r->start = hi;
		} else {
			r->end = lo;
		}
		i++;
	}
	return 0;
}

int aggregate_free(uintptr_t addr, uint64_t size, unsigned kind)
{
	size_t j;

	if (kind == CAPTURE_ALLOC_MUNMAP)
		return unmap_range(addr, addr + size);
	for (j = hash64(addr) & agg.live_mask; agg.live[j].addr; j = (j + 1) & agg.live_mask) {
		if (agg.live[j].addr == addr) {
			change(agg.live[j].entry, -1, -(int64_t)agg.live[j].size, 0);
			live_remove(j);
			return 0;
		}
	}
	return 0;	/* allocated before tracking began */
}

void aggregate_write(void (*emit)(const uint8_t *rec, size_t len), uint32_t thread_count)
{
	uint8_t rec[1 + 8 * CODEC_VARINT_MAX + CAPTURE_AGG_BUCKETS * CODEC_VARINT_MAX], *p;

	for (size_t i = 0; i < agg.nentries; i++) {
		struct entry *e = &agg.entries[i];

		sync_peak(e);
		p = rec;
		*p++ = CAPTURE_REC_AGG_STACK;
		p = codec_put_varint(p, e->stack);
		p = codec_put_varint(p, e->kind);
		p = codec_put_varint(p, e->allocs);
		p = codec_put_varint(p, e->bytes);
		p = codec_put_varint(p, e->peak_count);
		p = codec_put_varint(p, e->peak_bytes);
		p = codec_put_varint(p, e->live_count);
		p = codec_put_varint(p, e->live_bytes);
		emit(rec, (size_t)(p - rec));
	}
	p = rec;
	*p++ = CAPTURE_REC_AGG_PEAK;
	p = codec_put_varint(p, agg.peak);
	p = codec_put_varint(p, agg.peak_ms);
	p = codec_put_varint(p, thread_count);
	for (int i = 0; i < CAPTURE_AGG_BUCKETS; i++)
		p = codec_put_varint(p, agg.histogram[i]);
	emit(rec, (size_t)(p - rec));
}
