/*
 * capture/livetable: the live heap blocks of a heap model, by address,
 * in about 3 bytes each.
 *
 * A capture of a program that keeps millions of small objects alive (a
 * parsed JSON document, a compiler's syntax tree) has that many live
 * blocks at its peak, and every free must find the (size, entry) of its
 * block. A plain table of (address, size, entry, ...) costs 32 bytes a
 * slot and twice that at half load: 6.9M live blocks took 512 MiB. A hash
 * table of 8-byte slots took 73 MiB for them, and twice that for 8M
 * blocks, once it had doubled: a report's peak memory is this table,
 * and heaptrack_print, which keeps no per-block state at all, needs
 * 55 MiB in all. So:
 *
 * - The address space is cut into regions of 512 KiB, one per residue of
 *   the address modulo 16: a region holds at most 32768 addresses, in 128
 *   pages of 256 places (malloc returns 16-byte aligned blocks, so one
 *   residue, 0, holds them all; other residues cost nothing until an
 *   address of theirs shows up). Regions are found by a hash of their key,
 *   the last one used tried first.
 * - A page with live blocks has a bitmap of its live places and, in place
 *   order, a 16-bit `info` number per live block: a block's number is at
 *   the rank of its place among the live ones (a few popcounts). Making a
 *   block live or dead moves the numbers after it, at most 255 of them,
 *   in one small array. No hashing, no probing, no load factor: a page of
 *   64 blocks takes 192 bytes; a page whose last block goes gives its
 *   array back.
 * - An info is a distinct (entry, size, category) triple of the region,
 *   interned and counted by the region's live blocks using it (the
 *   category, a reachability verdict, is 0 until a scan judges the
 *   block); when the last such block goes, its number is reused. A region
 *   never has more live infos than live blocks, so 16 bits always do; a
 *   program's blocks share few triples (one stack allocates nodes of one
 *   size), so the infos stay small; at worst a region holds one per block.
 * - The birth number of a block (for temporary allocations) is kept after
 *   the numbers, in the same array, only when asked for (`with_born`).
 * - Arrays are carved from 2 MiB maps, and one that a page outgrew or
 *   emptied is kept for the next array of its size: growing maps and
 *   unmaps nothing. A region costs about 1.4 KiB before its first block,
 *   so blocks each alone in 512 KiB (mallocs that big) cost that much.
 *
 * Memory comes from capture/mapmem, so the tracker's --aggregate mode can
 * use it inside the tracked process. Not thread-safe.
 * Ownership: livetable_release() unmaps everything.
 */
#ifndef CAPTURE_LIVETABLE_H
#define CAPTURE_LIVETABLE_H

#include <stddef.h>
#include <stdint.h>

struct livetable_region;

#define LIVETABLE_SMALL_SPARES 128	/* arrays of up to 128 * 32 bytes kept for reuse, by size */
#define LIVETABLE_SPARE_SIZES 32	/* bigger sizes kept for reuse (infos and their index take 20) */

struct livetable_spare {
	size_t size;
	void *head;		/* arrays of that size, chained through their first word */
};

struct livetable {
	int with_born;		/* set before the first put: keep births */
	size_t count;		/* live blocks */
	size_t info_used;	/* interned triples in use, all regions together */
	/* private */
	struct livetable_region *regions;	/* open addressing by key */
	size_t regions_mask, nregions;
	size_t last_region;	/* the one the last call used, tried first */
	void *small_spares[LIVETABLE_SMALL_SPARES];	/* arrays a page outgrew or emptied */
	struct livetable_spare spares[LIVETABLE_SPARE_SIZES];
	size_t nspares;
	char *arena;		/* where the next array is carved */
	size_t arena_left;
	void *arenas;		/* every arena, chained through its first word */
	size_t arena_bytes;
};

/* what the table holds of one block */
struct livetable_block {
	uint64_t size;
	uint64_t born;		/* 0 unless with_born */
	uint32_t entry;
	uint32_t category;	/* CAPTURE_REACH_*: the last reachability verdict, 0 until one */
};

#define LIVETABLE_INIT { 0, 0, 0, NULL, 0, 0, 0, { NULL }, { { 0, NULL } }, 0, NULL, 0, NULL, 0 }

/*
 * Make addr live with b. Returns 0 when addr was not live, 1 when it was
 * (its old block, replaced, is copied to *old), or -1 when out of memory
 * (nothing changed).
 */
int livetable_put(struct livetable *lt, uintptr_t addr, const struct livetable_block *b,
		  struct livetable_block *old);
/* 1 with addr's block in *out, or 0 when it is not live; no block changes */
int livetable_get(struct livetable *lt, uintptr_t addr, struct livetable_block *out);
/* take addr out: 1 with its block in *out, or 0 when it was not live */
int livetable_take(struct livetable *lt, uintptr_t addr, struct livetable_block *out);
/*
 * Call fn for every live block, in no particular order (for readers of
 * what is live at the end, such as leak reachability); fn must not change
 * the table. Stops at, and returns, the first nonzero fn result; else 0.
 */
int livetable_each(const struct livetable *lt, int (*fn)(void *ctx, uintptr_t addr, const struct livetable_block *b),
		   void *ctx);
/* bytes mapped for the table, for tests */
size_t livetable_bytes(const struct livetable *lt);
void livetable_release(struct livetable *lt);

#endif
