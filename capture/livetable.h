/*
 * capture/livetable: the live heap blocks of a heap model, by address,
 * in about 8 bytes each.
 *
 * A capture of a program that keeps millions of small objects alive (a
 * parsed JSON document, a compiler's syntax tree) has that many live
 * blocks at its peak, and every free must find the (size, entry) of its
 * block. A plain table of (address, size, entry, ...) costs 32 bytes a
 * slot and twice that at half load: 6.9M live blocks took 512 MiB and
 * most of a report's time went to page faults and cache misses. So:
 *
 * - Each block is one 64-bit slot: the low 32 bits of its address and a
 *   32-bit `info` number. The high 32 bits of the address are not stored:
 *   they pick the shard (below), and a shard only ever holds addresses
 *   sharing them.
 * - An info is a distinct (entry, size, category) triple, interned and
 *   counted by the live blocks using it (the category, a reachability
 *   verdict, is 0 until a scan judges the block); when the last such block goes, its number is
 *   reused. A program's live blocks share few pairs (one stack allocates
 *   nodes of one size), so the interned table stays small; at worst it
 *   holds one pair per live block.
 * - A shard is a linear-probing table of slots for one (high 32 bits,
 *   hash bits) pair, 16 shards per 4 GiB zone of addresses. It doubles
 *   when 85% full (growing by half instead cost twice the rehashing and
 *   no less memory on the jq-like bench), and growing copies one shard,
 *   never the whole table at once: a report's peak memory is the table,
 *   not the table twice. Its capacity need not be a power of two: the
 *   home slot is a multiply-shift of a hash.
 * - Blocks of one 4 KiB page have consecutive home slots, in address
 *   order, from a place the page's hash picks: neighbours are allocated
 *   and freed together, so a cache line of slots serves several records
 *   in a row (this halved the time of a report on 6.9M live blocks).
 * - The birth number of a block (for temporary allocations) is kept in a
 *   parallel array only when asked for (`with_born`).
 *
 * Memory comes from capture/mapmem, so the tracker's --aggregate mode can
 * use it inside the tracked process. Not thread-safe.
 * Ownership: livetable_release() unmaps everything.
 */
#ifndef CAPTURE_LIVETABLE_H
#define CAPTURE_LIVETABLE_H

#include <stddef.h>
#include <stdint.h>

struct livetable_shard;
struct livetable_info;

struct livetable {
	int with_born;		/* set before the first put: keep births */
	size_t count;		/* live blocks */
	/* private */
	struct livetable_shard *shards;	/* open addressing by tag */
	size_t shards_mask, nshards;
	size_t last_shard;		/* the one the last call used, tried first */
	struct livetable_info *infos;
	size_t infos_cap, ninfos;
	uint32_t free_info;		/* 1 + the first unused info; 0: none */
	uint32_t *info_index;		/* (entry, size) -> 1 + info; 0: empty */
	size_t info_mask, info_used;
};

/* what the table holds of one block */
struct livetable_block {
	uint64_t size;
	uint64_t born;		/* 0 unless with_born */
	uint32_t entry;
	uint32_t category;	/* CAPTURE_REACH_*: the last reachability verdict, 0 until one */
};

#define LIVETABLE_INIT { 0, 0, NULL, 0, 0, 0, NULL, 0, 0, 0, NULL, 0, 0 }

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
