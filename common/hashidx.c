/*
 * common/hashidx: see hashidx.h.
 */
#include "common/hashidx.h"

#include <stdlib.h>
#include <string.h>

uint64_t hash_u64(uint64_t v)
{
	/* the finaliser of splitmix64: every input bit reaches every output bit */
	v ^= v >> 30;
	v *= 0xbf58476d1ce4e5b9ull;
	v ^= v >> 27;
	v *= 0x94d049bb133111ebull;
	return v ^ (v >> 31);
}

uint64_t hash_bytes(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a, then mixed */

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return hash_u64(h ^ len);
}

uint64_t hash_string(const char *s)
{
	return hash_bytes(s, strlen(s));
}

uint32_t hashidx_find(const struct hashidx *ix, uint64_t hash, int (*eq)(const void *ctx, uint32_t pos),
		      const void *ctx)
{
	if (!ix->slots)
		return HASHIDX_NONE;
	for (size_t j = hash & ix->mask; ix->slots[j].pos != HASHIDX_NONE; j = (j + 1) & ix->mask) {
		const struct hashidx_slot *s = &ix->slots[j];

		if (s->hash == hash && (!eq || eq(ctx, s->pos)))
			return s->pos;
	}
	return HASHIDX_NONE;
}

static void place(struct hashidx_slot *slots, size_t mask, uint64_t hash, uint32_t pos)
{
	size_t j = hash & mask;

	while (slots[j].pos != HASHIDX_NONE)
		j = (j + 1) & mask;
	slots[j] = (struct hashidx_slot){ hash, pos };
}

int hashidx_add(struct hashidx *ix, uint64_t hash, uint32_t pos)
{
	if (!ix->slots || (ix->used + 1) * 2 > ix->mask + 1) {
		size_t mask = ix->slots ? ix->mask * 2 + 1 : 63;
		struct hashidx_slot *slots;

		if (mask + 1 > SIZE_MAX / sizeof(*slots) || !(slots = malloc((mask + 1) * sizeof(*slots))))
			return -1;
		for (size_t j = 0; j <= mask; j++)
			slots[j].pos = HASHIDX_NONE;
		for (size_t j = 0; ix->slots && j <= ix->mask; j++)
			if (ix->slots[j].pos != HASHIDX_NONE)
				place(slots, mask, ix->slots[j].hash, ix->slots[j].pos);
		free(ix->slots);
		ix->slots = slots;
		ix->mask = mask;
	}
	place(ix->slots, ix->mask, hash, pos);
	ix->used++;
	return 0;
}

void hashidx_release(struct hashidx *ix)
{
	free(ix->slots);
	memset(ix, 0, sizeof(*ix));
}
