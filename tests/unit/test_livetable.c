/*
 * Unit tests of capture/livetable: every answer against a plain array
 * model through churn that grows and shrinks shards, addresses whose low
 * half is zero or equal across 4 GiB zones, replaced blocks, births; and
 * the bytes per live block the table promises; every residue of an
 * address modulo 16, and the last place of a region.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "capture/livetable.h"
#include "tests/unit/unit.h"

struct model_block {
	uintptr_t addr;
	struct livetable_block b;
	int is_live;
	int visited;
};

static uint64_t rng = 88172645463325252ull;

static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* address k of few pages in few zones, so blocks recur and share low halves (zone 0's is 0) */
static uintptr_t address_of(size_t k)
{
	static const uintptr_t zones[] = { 0x555500000000, 0x7f1200000000, 0x7f1300000000, 0x100000000 };

	return zones[k % 4] + (k / 4 % 64) * 4096 + (k / 256) * 16;
}

/* Check's ck_assert writes to a pipe each time: in loops of millions, count mismatches instead */
static unsigned long mismatches;
#define SAME(a, b) (mismatches += (uint64_t)(a) != (uint64_t)(b))

static size_t index_of(uintptr_t addr)
{
	static const uintptr_t zones[] = { 0x555500000000, 0x7f1200000000, 0x7f1300000000, 0x100000000 };
	size_t z = 0;

	while (z < 3 && addr >> 32 != zones[z] >> 32)
		z++;
	addr -= zones[z];
	return (addr % 4096 / 16) * 256 + addr / 4096 * 4 + z;
}

static int visit(void *ctx, uintptr_t addr, const struct livetable_block *b)
{
	struct model_block *m = ctx;
	size_t k = index_of(addr);

	SAME(address_of(k), addr);
	SAME(m[k].b.size, b->size);
	SAME(m[k].b.entry, b->entry);
	SAME(m[k].b.born, b->born);
	m[k].visited++;
	return 0;
}

START_TEST(matches_a_plain_model)
{
	enum { N = 4 * 64 * 256 };
	struct model_block *m = calloc(N, sizeof(*m));
	struct livetable lt = LIVETABLE_INIT;
	size_t live = 0;

	mismatches = 0;

	ck_assert_ptr_nonnull(m);
	lt.with_born = 1;
	for (uint64_t step = 1; step <= 400000; step++) {
		size_t k = next_random() % N;
		uintptr_t addr = address_of(k);
		struct livetable_block got, old;
		if (next_random() % 3) {	/* put: a size from few, so pairs are shared */
			struct livetable_block b = { .size = 16 + next_random() % 5 * 16, .born = step,
						      .entry = (uint32_t)(next_random() % 7) };
			int was = livetable_put(&lt, addr, &b, &old);

			SAME(was, m[k].is_live);
			if (was) {
				SAME(old.size, m[k].b.size);
				SAME(old.entry, m[k].b.entry);
				SAME(old.born, m[k].b.born);
			} else {
				live++;
			}
			m[k] = (struct model_block){ addr, b, 1, 0 };
		} else {
			int found = livetable_take(&lt, addr, &got);

			SAME(found, m[k].is_live);
			if (found) {
				SAME(got.size, m[k].b.size);
				SAME(got.entry, m[k].b.entry);
				SAME(got.born, m[k].b.born);
				m[k].is_live = 0;
				live--;
			}
		}
		SAME(lt.count, live);
	}
	/* every live block, once, with its figures */
	ck_assert_int_eq(livetable_each(&lt, visit, m), 0);
	for (size_t k = 0; k < N; k++)
		SAME(m[k].is_live, m[k].visited);
	ck_assert_uint_eq(mismatches, 0);
	/* take everything: the table ends empty and every interned pair is unused */
	for (size_t k = 0; k < N; k++) {
		struct livetable_block got;

		SAME(livetable_take(&lt, address_of(k), &got), m[k].is_live);
	}
	ck_assert_uint_eq(mismatches, 0);
	ck_assert_uint_eq(lt.count, 0);
	ck_assert_uint_eq(lt.info_used, 0);
	livetable_release(&lt);
	livetable_release(&lt);	/* released twice: still fine */
	free(m);
}
END_TEST

START_TEST(low_half_zero_and_same_low_half)
{
	struct livetable lt = LIVETABLE_INIT;
	struct livetable_block a = { .size = 100, .entry = 1 }, b = { .size = 200, .entry = 2 }, got;

	/* the same low 32 bits in two zones, one of them zero */
	ck_assert_int_eq(livetable_put(&lt, 0x7f0000000000, &a, &got), 0);
	ck_assert_int_eq(livetable_put(&lt, 0x7f0100000000, &b, &got), 0);
	ck_assert_int_eq(livetable_take(&lt, 0x7f0100000000, &got), 1);
	ck_assert_uint_eq(got.size, 200);
	ck_assert_uint_eq(got.entry, 2);
	ck_assert_int_eq(livetable_take(&lt, 0x7f0100000000, &got), 0);
	ck_assert_int_eq(livetable_take(&lt, 0x7f0200000000, &got), 0);
	ck_assert_int_eq(livetable_take(&lt, 0x7f0000000000, &got), 1);
	ck_assert_uint_eq(got.size, 100);
	livetable_release(&lt);
}
END_TEST

static int sum_categories(void *ctx, uintptr_t addr, const struct livetable_block *b)
{
	(void)addr;
	*(unsigned *)ctx += b->category;
	return 0;
}

/* a reachability verdict rides with its block: get, put again, each, take */
START_TEST(a_block_keeps_its_category)
{
	struct livetable lt = LIVETABLE_INIT;
	struct livetable_block a = { .size = 64, .entry = 5 }, got, old;
	unsigned sum = 0;

	ck_assert_int_eq(livetable_put(&lt, 0x1000, &a, &old), 0);
	ck_assert_int_eq(livetable_put(&lt, 0x2000, &a, &old), 0);
	ck_assert_int_eq(livetable_get(&lt, 0x3000, &got), 0);
	ck_assert_int_eq(livetable_get(&lt, 0x1000, &got), 1);
	ck_assert_uint_eq(got.category, 0);
	got.category = 3;
	ck_assert_int_eq(livetable_put(&lt, 0x1000, &got, &old), 1);
	ck_assert_uint_eq(old.category, 0);
	ck_assert_uint_eq(lt.count, 2);
	ck_assert_uint_eq(lt.info_used, 2);	/* (5, 64, 0) and (5, 64, 3) */
	ck_assert_int_eq(livetable_each(&lt, sum_categories, &sum), 0);
	ck_assert_uint_eq(sum, 3);
	ck_assert_int_eq(livetable_take(&lt, 0x2000, &got), 1);
	ck_assert_uint_eq(got.category, 0);
	ck_assert_int_eq(livetable_take(&lt, 0x1000, &got), 1);
	ck_assert_uint_eq(got.category, 3);
	ck_assert_uint_eq(got.size, 64);
	ck_assert_uint_eq(got.entry, 5);
	ck_assert_uint_eq(lt.info_used, 0);
	livetable_release(&lt);
}
END_TEST

START_TEST(a_million_small_blocks_in_little_memory)
{
	enum { N = 1000000 };
	struct livetable lt = LIVETABLE_INIT;
	struct livetable_block got;
	double per_block;
	size_t bytes;

	mismatches = 0;

	/* a parsed tree's nodes: 48-byte blocks 64 bytes apart, from three stacks */
	for (uintptr_t i = 0; i < N; i++) {
		struct livetable_block b = { .size = 48, .entry = (uint32_t)(i % 3) };

		SAME(livetable_put(&lt, 0x555555560000 + i * 64, &b, &got), 0);
	}
	ck_assert_uint_eq(mismatches, 0);
	ck_assert_uint_eq(lt.count, N);
	/* the triples are interned per 512 KiB region: 3 in each of the 123 the blocks span */
	ck_assert_uint_eq(lt.info_used, 3 * ((N * 64 + 0x60000 + (1u << 19) - 1) >> 19));
	per_block = (double)livetable_bytes(&lt) / N;
	ck_assert_double_le(per_block, 4.5);	/* 3 bytes a block in pages, the rest in a part-used 2 MiB arena */
	for (uintptr_t i = 0; i < N; i++) {
		SAME(livetable_take(&lt, 0x555555560000 + i * 64, &got), 1);
		SAME(got.entry, i % 3);
	}
	ck_assert_uint_eq(mismatches, 0);
	ck_assert_uint_eq(lt.count, 0);
	/* again, 16 bytes further: the emptied pages' arrays serve, cleared, and nothing more is mapped */
	bytes = livetable_bytes(&lt);
	for (uintptr_t i = 0; i < N; i++) {
		struct livetable_block b = { .size = 32, .entry = (uint32_t)(i % 5) };

		SAME(livetable_put(&lt, 0x555555560010 + i * 64, &b, &got), 0);
	}
	ck_assert_uint_eq(livetable_bytes(&lt), bytes);
	for (uintptr_t i = 0; i < N; i++) {
		SAME(livetable_get(&lt, 0x555555560000 + i * 64, &got), 0);
		SAME(livetable_take(&lt, 0x555555560010 + i * 64, &got), 1);
		SAME(got.entry, i % 5);
		SAME(got.size, 32);
	}
	ck_assert_uint_eq(mismatches, 0);
	ck_assert_uint_eq(lt.count, 0);
	ck_assert_uint_eq(lt.info_used, 0);
	livetable_release(&lt);
}
END_TEST

/*
 * One region filled at every place with a triple of its own, then every
 * block replaced by yet another: the local numbers reach 32769 at once,
 * and the table its largest size; then the 15 other residues of the same
 * 16 bytes, each apart.
 */
START_TEST(a_full_region_of_distinct_blocks)
{
	enum { PLACES = 1 << 15 };
	const uintptr_t base = 0x7f1234580000;	/* a region's start: 512 KiB aligned */
	struct livetable lt = LIVETABLE_INIT;
	struct livetable_block got, old;

	mismatches = 0;
	for (uint32_t i = 0; i < PLACES; i++) {
		struct livetable_block b = { .size = i + 1, .entry = 7 };

		SAME(livetable_put(&lt, base + (uintptr_t)i * 16, &b, &old), 0);
	}
	ck_assert_uint_eq(lt.info_used, PLACES);
	for (uint32_t i = 0; i < PLACES; i++) {
		struct livetable_block b = { .size = PLACES + i + 1, .entry = 8 };

		SAME(livetable_put(&lt, base + (uintptr_t)i * 16, &b, &old), 1);
		SAME(old.size, i + 1);
		SAME(old.entry, 7);
	}
	ck_assert_uint_eq(mismatches, 0);
	ck_assert_uint_eq(lt.count, PLACES);
	ck_assert_uint_eq(lt.info_used, PLACES);
	for (uintptr_t k = 1; k < 16; k++) {
		struct livetable_block b = { .size = k, .entry = 9 };

		ck_assert_int_eq(livetable_put(&lt, base + (PLACES - 1) * 16 + k, &b, &old), 0);
	}
	for (uintptr_t k = 0; k < 16; k++) {
		ck_assert_int_eq(livetable_take(&lt, base + (PLACES - 1) * 16 + k, &got), 1);
		ck_assert_uint_eq(got.size, k ? k : 2 * PLACES);
	}
	for (uint32_t i = 0; i + 1 < PLACES; i++) {
		SAME(livetable_take(&lt, base + (uintptr_t)i * 16, &got), 1);
		SAME(got.size, PLACES + i + 1);
		SAME(got.entry, 8);
	}
	ck_assert_uint_eq(mismatches, 0);
	ck_assert_uint_eq(lt.count, 0);
	ck_assert_uint_eq(lt.info_used, 0);
	livetable_release(&lt);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("livetable");
	TCase *tc = tcase_create("livetable");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, matches_a_plain_model);
	tcase_add_test(tc, low_half_zero_and_same_low_half);
	tcase_add_test(tc, a_block_keeps_its_category);
	tcase_add_test(tc, a_million_small_blocks_in_little_memory);
	tcase_add_test(tc, a_full_region_of_distinct_blocks);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
