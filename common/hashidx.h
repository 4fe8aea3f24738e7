/*
 * common/hashidx: the tools' one hash table, an open-addressing index over
 * an array the caller owns.
 *
 * The caller keeps its elements in an array of its own (grown with GROW);
 * the index maps a 64-bit hash to the positions of the elements that have
 * it. A lookup walks the slots of one hash and asks the caller, through
 * `eq`, whether the element at a position is the one wanted, so keys of any
 * kind (integers, strings, tuples) share one table and the elements stay
 * in insertion order for reporting. Linear probing, at most half full.
 *
 *	uint64_t h = hash_string(name);
 *	uint32_t i = hashidx_find(&ix, h, same_name, name);
 *	if (i == HASHIDX_NONE) {
 *		... append the element at position n ...
 *		if (hashidx_add(&ix, h, n) < 0)
 *			return error("out of memory");
 *	}
 *
 * An index starts zeroed (HASHIDX_INIT) and holds no memory until the
 * first add; hashidx_release() frees it. The tracker has tables of its
 * own, in memory it maps itself.
 */
#ifndef COMMON_HASHIDX_H
#define COMMON_HASHIDX_H

#include <stddef.h>
#include <stdint.h>

#define HASHIDX_NONE UINT32_MAX

struct hashidx_slot {
	uint64_t hash;
	uint32_t pos;	/* HASHIDX_NONE: empty */
};

struct hashidx {
	struct hashidx_slot *slots;
	size_t mask;	/* slot count - 1; 0 before the first add */
	size_t used;
};

#define HASHIDX_INIT { NULL, 0, 0 }

/*
 * The position of the element with this hash for which eq(ctx, pos) is
 * true, or HASHIDX_NONE. eq may be NULL: then the hash alone decides.
 */
uint32_t hashidx_find(const struct hashidx *ix, uint64_t hash, int (*eq)(const void *ctx, uint32_t pos),
		      const void *ctx);
/* remember that the element at pos has this hash: 0, or -1 when out of memory (the index is unchanged) */
int hashidx_add(struct hashidx *ix, uint64_t hash, uint32_t pos);
void hashidx_release(struct hashidx *ix);

/* well-mixed hashes of an integer, of bytes and of a C string */
uint64_t hash_u64(uint64_t v);
uint64_t hash_bytes(const void *data, size_t len);
uint64_t hash_string(const char *s);

#endif
