/*
 * capture/heapmodel: the heap as the analysis sees it, shared by the
 * readers (report/analysis) and the tracker's --aggregate mode.
 *
 * Fed allocations and deallocations in stream order, it keeps live
 * allocations by address (capture/livetable: about 3 bytes a block, so
 * millions of live blocks cost tens of megabytes), mmap'd ranges apart (a munmap may cover part of
 * one mapping or several; a mapping split in two by a hole counts as two
 * live allocations), and per (stack, allocator) entry: allocations and
 * bytes in all, what is live now, and what was live at the peak. The peak
 * is the moment the sum of live bytes (mmap'd bytes included, as the
 * Python tool counts them) was highest; leaks are what is live at the end.
 *
 * The peak snapshot is lazy: a new peak only bumps a generation number.
 * An entry about to change whose generation is stale still holds its
 * figures of the peak moment (nothing touched it since), so they are
 * copied to its at-peak figures first. No new peak ever walks all entries.
 *
 * Memory comes from mmap, never from malloc, so the tracker can use it
 * inside the tracked process; it is not thread-safe (the tracker calls it
 * under its lock). A table that cannot grow makes the call return -1.
 * Ownership: heapmodel_new() returns a model freed by heapmodel_free();
 * heapmodel_free(NULL) is a no-op.
 */
#ifndef CAPTURE_HEAPMODEL_H
#define CAPTURE_HEAPMODEL_H

#include <stddef.h>
#include <stdint.h>

#define HEAPMODEL_BUCKETS 64

struct heapmodel_entry {
	uint32_t stack;
	uint32_t kind;		/* CAPTURE_ALLOC_* */
	uint32_t thread;	/* the `thread` of its allocations (0 unless split) */
	uint64_t allocs, bytes;	/* in all */
	uint64_t live_count, live_bytes;	/* now (at the end: leaked) */
	uint64_t peak_count, peak_bytes;	/* at the peak, once heapmodel_finish() ran */
	uint64_t temp_count, temp_bytes;	/* freed within temporary_within allocations */
	uint64_t collected_count, collected_bytes;	/* freed by the garbage collector (COLLECT) */
	uint64_t synced;	/* private: peak generation last compared with */
	uint64_t dirty;		/* private: changed since heapmodel_take_changes() */
};

struct heapmodel {
	struct heapmodel_entry *entries;	/* dense, nentries of them */
	size_t nentries;
	uint64_t heap;		/* live bytes now */
	uint64_t peak;		/* the highest heap seen */
	uint64_t peak_ms;	/* `now_ms` of the allocation that made the peak */
	uint64_t peak_allocations;	/* live allocations at the peak */
	uint64_t live_allocations;
	uint64_t unknown_frees;	/* frees of addresses never allocated here */
	uint64_t histogram[HEAPMODEL_BUCKETS];	/* allocations by bit length of size */
	/*
	 * Temporary allocations: a block freed before `temporary_within` more
	 * allocations were made (1: before any other) counts in its entry's
	 * temp_*. 0 (the default) counts nothing. mmap'd ranges never count.
	 */
	uint64_t temporary_within;
	uint64_t allocations;	/* made so far, the clock of the rule above */
	/*
	 * Entries are per (stack, allocator, thread): the caller sets `thread`
	 * before each allocation to split them by thread, or leaves it 0.
	 */
	uint32_t thread;
	/* with track_changes set, heapmodel_take_changes() lists changed entries */
	int track_changes;
	/* private */
	struct heapmodel_private *priv;
};

struct heapmodel *heapmodel_new(void);
void heapmodel_free(struct heapmodel *hm);

/*
 * 0, -1 when out of memory, or HEAPMODEL_OVERFLOW (nothing changed) when
 * the size would carry a 64-bit figure (live bytes, an entry's bytes)
 * past 2^64: no real program gets there, a crafted capture may, and a
 * figure that wrapped around would be silently wrong.
 */
#define HEAPMODEL_OVERFLOW (-2)
int heapmodel_alloc(struct heapmodel *hm, uintptr_t addr, uint64_t size, uint32_t stack, unsigned kind,
		    uint64_t now_ms);
int heapmodel_free_block(struct heapmodel *hm, uintptr_t addr, uint64_t size, unsigned kind);
/* COLLECT: the live block at addr counts in its entry's collected_* (its free is heapmodel_free_block's) */
void heapmodel_collect(struct heapmodel *hm, uintptr_t addr);

/*
 * The entries changed since the last call (track_changes must be set):
 * *out points at n entry indexes, valid until the next change. For a
 * timeline: call it at each clock tick and log those entries' live_*.
 */
size_t heapmodel_take_changes(struct heapmodel *hm, const uint32_t **out);

/* bring every entry's at-peak figures up to date (after the last change) */
void heapmodel_finish(struct heapmodel *hm);

/* the bit-length bucket of a size: 0 -> 0, 1 -> 1, 2..3 -> 2, 4..7 -> 3 */
unsigned heapmodel_bucket(uint64_t size);

/*
 * Reachability (REACH_BLOCK): remember category for the live block at
 * addr (not a mapping): its entry's index, -1 when no such block is
 * live, or -2 when out of memory. Forgotten when the block is freed.
 */
long heapmodel_set_category(struct heapmodel *hm, uintptr_t addr, unsigned category);
/* call fn for every live block that is not a mapping, with its entry index, size and category */
void heapmodel_each_live(const struct heapmodel *hm, void (*fn)(void *ctx, uint32_t entry, uint64_t size,
								 unsigned category), void *ctx);

#endif
