/* Unit tests of common/grow, common/hashidx and capture/mapmem: the tools' containers. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/mapmem.h"
#include "common/grow.h"
#include "common/hashidx.h"
#include "tests/unit/fault.h"
#include "tests/unit/unit.h"

START_TEST(grow_appends_without_a_realloc_each)
{
	int *a = NULL;
	size_t n = 0, alloc = 0, reallocs = 0, last = 0;

	for (int i = 0; i < 100000; i++) {
		ck_assert_int_eq(GROW(a, n + 1, alloc), 0);
		if (alloc != last)
			reallocs++, last = alloc;
		a[n++] = i;
	}
	for (int i = 0; i < 100000; i++)
		ck_assert_int_eq(a[i], i);
	ck_assert_uint_ge(alloc, n);
	ck_assert_uint_lt(reallocs, 30);	/* geometric: about log1.5(100000/16) */
	free(a);
}
END_TEST

START_TEST(grow_refuses_an_overflowing_size)
{
	uint64_t *a = NULL;
	size_t alloc = 0;

	ck_assert_int_eq(GROW(a, SIZE_MAX / 4, alloc), -1);
	ck_assert_ptr_null(a);
	ck_assert_uint_eq(alloc, 0);
}
END_TEST

#if FAULT_INJECTION
START_TEST(grow_keeps_the_array_when_memory_runs_out)
{
	int *a = NULL;
	size_t alloc = 0;
	int ret;

	ck_assert_int_eq(GROW(a, 16, alloc), 0);
	a[15] = 7;
	fault_fail_alloc_after(0);
	ret = GROW(a, 17, alloc);
	fault_reset();	/* before any ck_assert: Check allocates */
	ck_assert_int_eq(ret, -1);
	ck_assert_uint_eq(alloc, 16);
	ck_assert_int_eq(a[15], 7);
	free(a);
}
END_TEST
#endif

static const char *const *names;

static int same_name(const void *key, uint32_t pos)
{
	return !strcmp(names[pos], key);
}

START_TEST(hashidx_finds_every_key_and_only_those)
{
	enum { N = 20000 };
	static char store[N][16];
	static const char *list[N];
	struct hashidx ix = HASHIDX_INIT;

	names = list;
	ck_assert_uint_eq(hashidx_find(&ix, hash_string("x"), same_name, "x"), HASHIDX_NONE);
	for (uint32_t i = 0; i < N; i++) {
		snprintf(store[i], sizeof(store[i]), "key%u", i);
		list[i] = store[i];
		ck_assert_uint_eq(hashidx_find(&ix, hash_string(store[i]), same_name, store[i]), HASHIDX_NONE);
		ck_assert_int_eq(hashidx_add(&ix, hash_string(store[i]), i), 0);
	}
	ck_assert_uint_eq(ix.used, N);
	ck_assert_uint_le(ix.used * 2, ix.mask + 1);
	for (uint32_t i = 0; i < N; i++)
		ck_assert_uint_eq(hashidx_find(&ix, hash_string(store[i]), same_name, store[i]), i);
	ck_assert_uint_eq(hashidx_find(&ix, hash_string("key20000"), same_name, "key20000"), HASHIDX_NONE);
	hashidx_release(&ix);
	ck_assert_ptr_null(ix.slots);
}
END_TEST

static int always(const void *key, uint32_t pos)
{
	(void)key;
	return pos == 1;	/* of two elements with one hash, the second is wanted */
}

START_TEST(hashidx_asks_eq_on_a_shared_hash)
{
	struct hashidx ix = HASHIDX_INIT;

	ck_assert_int_eq(hashidx_add(&ix, 42, 0), 0);
	ck_assert_int_eq(hashidx_add(&ix, 42, 1), 0);
	ck_assert_uint_eq(hashidx_find(&ix, 42, always, NULL), 1);
	ck_assert_uint_eq(hashidx_find(&ix, 42, NULL, NULL), 0);
	ck_assert_uint_eq(hash_u64(1) == hash_u64(2), 0);
	hashidx_release(&ix);
}
END_TEST

#if FAULT_INJECTION
START_TEST(hashidx_is_unchanged_when_memory_runs_out)
{
	struct hashidx ix = HASHIDX_INIT;
	uint32_t i;
	int ret;

	for (i = 0; i < 32; i++)
		ck_assert_int_eq(hashidx_add(&ix, hash_u64(i), i), 0);
	fault_fail_alloc_after(0);
	ret = hashidx_add(&ix, hash_u64(i), i);	/* the 33rd needs a bigger table */
	fault_reset();
	ck_assert_int_eq(ret, -1);
	for (i = 0; i < 32; i++)
		ck_assert_uint_eq(hashidx_find(&ix, hash_u64(i), NULL, NULL), i);
	ck_assert_uint_eq(ix.used, 32);
	hashidx_release(&ix);
}
END_TEST
#endif

/* how many of bytes at p are not `c` */
static size_t count_not(const unsigned char *p, size_t bytes, unsigned char c)
{
	size_t n = 0;

	for (size_t i = 0; i < bytes; i++)
		n += p[i] != c;
	return n;
}

/* the tracker's buffers: a forked child finds them zeroed, the parent keeps what it wrote */
START_TEST(mapmem_scratch_is_zero_in_a_forked_child_only)
{
	size_t bytes = 3 * 4096 + 100;
	unsigned char *scratch = mapmem_alloc_scratch(bytes), *kept = mapmem_alloc(bytes);
	pid_t pid;
	int status;

	ck_assert_ptr_nonnull(scratch);
	ck_assert_ptr_nonnull(kept);
	memset(scratch, 0xa5, bytes);
	memset(kept, 0x5a, bytes);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int wiped = count_not(scratch, bytes, 0) == 0, copied = count_not(kept, bytes, 0x5a) == 0;

		memset(scratch, 1, bytes);	/* the parent's stays its own */
		_exit(wiped && copied ? 0 : 1 + wiped);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_uint_eq(count_not(scratch, bytes, 0xa5), 0);
	ck_assert_uint_eq(count_not(kept, bytes, 0x5a), 0);
	mapmem_free(scratch, bytes);
	mapmem_free(kept, bytes);
}
END_TEST

START_TEST(mapmem_zero_clears_and_the_memory_stays_usable)
{
	size_t bytes = 5 * 4096;
	unsigned char *p = mapmem_alloc(bytes);

	ck_assert_ptr_nonnull(p);
	memset(p, 0x77, bytes);
	mapmem_zero(p, bytes);
	ck_assert_uint_eq(count_not(p, bytes, 0), 0);
	memset(p, 0x33, bytes);
	ck_assert_uint_eq(count_not(p, bytes, 0x33), 0);
	mapmem_free(p, bytes);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("containers");
	TCase *tc = tcase_create("containers");

	tcase_add_test(tc, grow_appends_without_a_realloc_each);
	tcase_add_test(tc, grow_refuses_an_overflowing_size);
	tcase_add_test(tc, hashidx_finds_every_key_and_only_those);
	tcase_add_test(tc, hashidx_asks_eq_on_a_shared_hash);
	tcase_add_test(tc, mapmem_scratch_is_zero_in_a_forked_child_only);
	tcase_add_test(tc, mapmem_zero_clears_and_the_memory_stays_usable);
#if FAULT_INJECTION
	tcase_add_test(tc, grow_keeps_the_array_when_memory_runs_out);
	tcase_add_test(tc, hashidx_is_unchanged_when_memory_runs_out);
#endif
	suite_add_tcase(s, tc);
	return unit_run(s);
}
