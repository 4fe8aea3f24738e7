/*
 * Unit tests of capture/heapmodel: exact peaks and leaks on hand-made
 * sequences, and the lazy peak snapshot against a brute-force model that
 * recomputes everything after every event.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "capture/format.h"
#include "capture/heapmodel.h"
#include "tests/unit/unit.h"

static const struct heapmodel_entry *find(const struct heapmodel *hm, uint32_t stack, unsigned kind)
{
	for (size_t i = 0; i < hm->nentries; i++)
		if (hm->entries[i].stack == stack && hm->entries[i].kind == kind)
			return &hm->entries[i];
	return NULL;
}

START_TEST(peak_then_plateau_and_leaks)
{
	struct heapmodel *hm = heapmodel_new();

	ck_assert_ptr_nonnull(hm);
	/* stack 1: 3 x 100 B; stack 2: 1000 B; the peak is 1300 B */
	ck_assert_int_eq(heapmodel_alloc(hm, 0x1000, 100, 1, CAPTURE_ALLOC_MALLOC, 1), 0);
	ck_assert_int_eq(heapmodel_alloc(hm, 0x2000, 100, 1, CAPTURE_ALLOC_MALLOC, 2), 0);
	ck_assert_int_eq(heapmodel_alloc(hm, 0x3000, 100, 1, CAPTURE_ALLOC_MALLOC, 3), 0);
	ck_assert_int_eq(heapmodel_alloc(hm, 0x4000, 1000, 2, CAPTURE_ALLOC_CALLOC, 4), 0);
	heapmodel_free_block(hm, 0x4000, 0, CAPTURE_ALLOC_FREE);
	heapmodel_free_block(hm, 0x1000, 0, CAPTURE_ALLOC_FREE);
	/* a lower plateau afterwards, by a third stack */
	heapmodel_alloc(hm, 0x5000, 500, 3, CAPTURE_ALLOC_MALLOC, 9);
	heapmodel_free_block(hm, 0xdead, 0, CAPTURE_ALLOC_FREE);	/* never allocated */
	heapmodel_finish(hm);
	ck_assert_uint_eq(hm->peak, 1300);
	ck_assert_uint_eq(hm->peak_ms, 4);
	ck_assert_uint_eq(hm->peak_allocations, 4);
	ck_assert_uint_eq(hm->heap, 700);
	ck_assert_uint_eq(hm->unknown_frees, 1);
	ck_assert_uint_eq(find(hm, 1, CAPTURE_ALLOC_MALLOC)->peak_bytes, 300);
	ck_assert_uint_eq(find(hm, 1, CAPTURE_ALLOC_MALLOC)->peak_count, 3);
	ck_assert_uint_eq(find(hm, 1, CAPTURE_ALLOC_MALLOC)->live_bytes, 200);
	ck_assert_uint_eq(find(hm, 2, CAPTURE_ALLOC_CALLOC)->peak_bytes, 1000);
	ck_assert_uint_eq(find(hm, 2, CAPTURE_ALLOC_CALLOC)->live_bytes, 0);
	ck_assert_uint_eq(find(hm, 3, CAPTURE_ALLOC_MALLOC)->peak_bytes, 0);
	ck_assert_uint_eq(find(hm, 3, CAPTURE_ALLOC_MALLOC)->live_bytes, 500);
	ck_assert_uint_eq(find(hm, 1, CAPTURE_ALLOC_MALLOC)->allocs, 3);
	ck_assert_uint_eq(hm->histogram[heapmodel_bucket(100)], 3);
	heapmodel_free(hm);
	heapmodel_free(NULL);
}
END_TEST

START_TEST(partial_munmap_and_holes)
{
	struct heapmodel *hm = heapmodel_new();
	const uintptr_t base = 0x7f0000000000;

	heapmodel_alloc(hm, base, 64 << 20, 7, CAPTURE_ALLOC_MMAP, 0);
	heapmodel_free_block(hm, base + (16 << 20), 16 << 20, CAPTURE_ALLOC_MUNMAP);	/* a hole */
	ck_assert_uint_eq(hm->heap, 48u << 20);
	ck_assert_uint_eq(find(hm, 7, CAPTURE_ALLOC_MMAP)->live_count, 2);	/* two pieces */
	heapmodel_free_block(hm, base, 16 << 20, CAPTURE_ALLOC_MUNMAP);
	/* one munmap over the rest and beyond */
	heapmodel_free_block(hm, base + (32 << 20), 64 << 20, CAPTURE_ALLOC_MUNMAP);
	heapmodel_finish(hm);
	ck_assert_uint_eq(hm->heap, 0);
	ck_assert_uint_eq(hm->peak, 64u << 20);
	ck_assert_uint_eq(find(hm, 7, CAPTURE_ALLOC_MMAP)->live_count, 0);
	ck_assert_uint_eq(find(hm, 7, CAPTURE_ALLOC_MMAP)->peak_bytes, 64u << 20);
	heapmodel_free(hm);
}
END_TEST

START_TEST(realloc_as_free_and_alloc)
{
	struct heapmodel *hm = heapmodel_new();

	heapmodel_alloc(hm, 0x100, 10, 1, CAPTURE_ALLOC_MALLOC, 0);
	heapmodel_free_block(hm, 0x100, 0, CAPTURE_ALLOC_FREE);
	heapmodel_alloc(hm, 0x100, 20, 2, CAPTURE_ALLOC_REALLOC, 0);	/* grew in place */
	heapmodel_finish(hm);
	ck_assert_uint_eq(hm->heap, 20);
	ck_assert_uint_eq(hm->peak, 20);
	/* an address allocated twice without a free: the first is gone */
	heapmodel_alloc(hm, 0x100, 5, 3, CAPTURE_ALLOC_MALLOC, 0);
	ck_assert_uint_eq(hm->heap, 5);
	heapmodel_free(hm);
}
END_TEST

#define STACKS 6
#define ADDRS 64

/* the brute-force model: recompute live totals and keep the peak snapshot */
struct brute {
	uint64_t size[ADDRS];
	uint32_t stack[ADDRS];
	int live[ADDRS];
	uint64_t peak, peak_by_stack[STACKS], now_by_stack[STACKS];
};

START_TEST(lazy_peak_matches_brute_force)
{
	unsigned seed = 12345;

	for (int round = 0; round < 200; round++) {
		struct heapmodel *hm = heapmodel_new();
		struct brute b;

		memset(&b, 0, sizeof(b));
		for (int step = 0; step < 400; step++) {
			int a = rand_r(&seed) % ADDRS;
			uint64_t heap = 0;

			if (b.live[a] && rand_r(&seed) % 3) {
				heapmodel_free_block(hm, 0x1000 + (uintptr_t)a * 0x100, 0, CAPTURE_ALLOC_FREE);
				b.live[a] = 0;
			} else if (!b.live[a]) {
				b.size[a] = 1 + (uint64_t)(rand_r(&seed) % 200);
				b.stack[a] = 1 + (uint32_t)(rand_r(&seed) % (STACKS - 1));
				b.live[a] = 1;
				ck_assert_int_eq(heapmodel_alloc(hm, 0x1000 + (uintptr_t)a * 0x100, b.size[a], b.stack[a],
								 CAPTURE_ALLOC_MALLOC, (uint64_t)step), 0);
			}
			memset(b.now_by_stack, 0, sizeof(b.now_by_stack));
			for (int i = 0; i < ADDRS; i++) {
				if (b.live[i]) {
					heap += b.size[i];
					b.now_by_stack[b.stack[i]] += b.size[i];
				}
			}
			if (heap > b.peak) {
				b.peak = heap;
				memcpy(b.peak_by_stack, b.now_by_stack, sizeof(b.now_by_stack));
			}
			ck_assert_uint_eq(hm->heap, heap);
		}
		heapmodel_finish(hm);
		ck_assert_uint_eq(hm->peak, b.peak);
		for (uint32_t s = 1; s < STACKS; s++) {
			const struct heapmodel_entry *e = find(hm, s, CAPTURE_ALLOC_MALLOC);

			ck_assert_uint_eq(e ? e->peak_bytes : 0, b.peak_by_stack[s]);
			ck_assert_uint_eq(e ? e->live_bytes : 0, b.now_by_stack[s]);
		}
		heapmodel_free(hm);
	}
}
END_TEST

START_TEST(grows_past_its_first_tables)
{
	struct heapmodel *hm = heapmodel_new();

	for (uintptr_t i = 1; i <= 200000; i++)
		ck_assert_int_eq(heapmodel_alloc(hm, i * 16, 8, (uint32_t)(i % 5000) + 1, CAPTURE_ALLOC_MALLOC, 0), 0);
	for (uintptr_t i = 1; i <= 200000; i += 2)
		heapmodel_free_block(hm, i * 16, 0, CAPTURE_ALLOC_FREE);
	heapmodel_finish(hm);
	ck_assert_uint_eq(hm->nentries, 5000);
	ck_assert_uint_eq(hm->peak, 200000 * 8);
	ck_assert_uint_eq(hm->heap, 100000 * 8);
	ck_assert_uint_eq(hm->live_allocations, 100000);
	ck_assert_uint_eq(hm->unknown_frees, 0);
	heapmodel_free(hm);
}
END_TEST

/* a 1 GiB reservation committed in place with MAP_FIXED: the commits replace, never add */
START_TEST(map_fixed_replaces_what_it_lands_on)
{
	struct heapmodel *hm = heapmodel_new();
	const uintptr_t base = 0x7f0000000000;
	const uint64_t gib = 1ull << 30, chunk = 128ull << 20;

	heapmodel_alloc(hm, base, gib, 1, CAPTURE_ALLOC_MMAP, 0);	/* PROT_NONE reservation */
	for (uint64_t off = 0; off < 7 * chunk; off += chunk)
		heapmodel_alloc(hm, base + off, chunk, 2, CAPTURE_ALLOC_MMAP, 0);	/* MAP_FIXED commits */
	heapmodel_finish(hm);
	ck_assert_uint_eq(hm->heap, gib);
	ck_assert_uint_eq(hm->peak, gib);	/* not 1.875 GiB */
	ck_assert_uint_eq(find(hm, 1, CAPTURE_ALLOC_MMAP)->live_bytes, gib - 7 * chunk);
	ck_assert_uint_eq(find(hm, 1, CAPTURE_ALLOC_MMAP)->live_count, 1);
	ck_assert_uint_eq(find(hm, 2, CAPTURE_ALLOC_MMAP)->live_bytes, 7 * chunk);
	ck_assert_uint_eq(find(hm, 2, CAPTURE_ALLOC_MMAP)->live_count, 7);
	/* one munmap across a commit and the reservation's rest */
	heapmodel_free_block(hm, base + 6 * chunk, gib - 6 * chunk, CAPTURE_ALLOC_MUNMAP);
	ck_assert_uint_eq(hm->heap, 6 * chunk);
	ck_assert_uint_eq(hm->live_allocations, 6);
	heapmodel_free(hm);
}
END_TEST

/* mremap as the tracker records it: a munmap of the old range, then an mmap of the new one */
START_TEST(mremap_keeps_exact_bytes)
{
	struct heapmodel *hm = heapmodel_new();
	const uintptr_t a = 0x7f0000000000, b = 0x7f1000000000;

	heapmodel_alloc(hm, a, 8 << 20, 1, CAPTURE_ALLOC_MMAP, 0);
	heapmodel_free_block(hm, a, 8 << 20, CAPTURE_ALLOC_MUNMAP);	/* grown in place */
	heapmodel_alloc(hm, a, 16 << 20, 1, CAPTURE_ALLOC_MMAP, 0);
	ck_assert_uint_eq(hm->heap, 16u << 20);
	heapmodel_free_block(hm, a, 16 << 20, CAPTURE_ALLOC_MUNMAP);	/* moved */
	heapmodel_alloc(hm, b, 32 << 20, 1, CAPTURE_ALLOC_MMAP, 0);
	heapmodel_free_block(hm, b + (4 << 20), 4 << 20, CAPTURE_ALLOC_MUNMAP);	/* and a hole */
	heapmodel_finish(hm);
	ck_assert_uint_eq(hm->heap, 28u << 20);
	ck_assert_uint_eq(hm->peak, 32u << 20);
	ck_assert_uint_eq(hm->live_allocations, 2);
	heapmodel_free(hm);
}
END_TEST

/* 120,000 live mappings, then unmapped in an order far from their own: linear, not quadratic */
START_TEST(many_mappings_stay_cheap)
{
	struct heapmodel *hm = heapmodel_new();
	const uintptr_t base = 0x7f0000000000;
	const uint64_t n = 120000, page = 4096;

	for (uint64_t i = 0; i < n; i++)	/* top-down, as the kernel hands them out */
		ck_assert_int_eq(heapmodel_alloc(hm, base + (n - i) * 2 * page, page, 1, CAPTURE_ALLOC_MMAP, 0), 0);
	ck_assert_uint_eq(hm->heap, n * page);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t k = (i * 7919) % n + 1;	/* 7919 is prime: every k once */

		ck_assert_int_eq(heapmodel_free_block(hm, base + k * 2 * page, page, CAPTURE_ALLOC_MUNMAP), 0);
	}
	ck_assert_uint_eq(hm->heap, 0);
	ck_assert_uint_eq(hm->live_allocations, 0);
	heapmodel_free(hm);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("heapmodel");
	TCase *tc = tcase_create("heapmodel");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, peak_then_plateau_and_leaks);
	tcase_add_test(tc, partial_munmap_and_holes);
	tcase_add_test(tc, realloc_as_free_and_alloc);
	tcase_add_test(tc, lazy_peak_matches_brute_force);
	tcase_add_test(tc, grows_past_its_first_tables);
	tcase_add_test(tc, map_fixed_replaces_what_it_lands_on);
	tcase_add_test(tc, mremap_keeps_exact_bytes);
	tcase_add_test(tc, many_mappings_stay_cheap);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
