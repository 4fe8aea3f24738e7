/* Unit tests of ci/inorder: items made on workers, used in their order. */
#include <check.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "ci/inorder.h"
#include "tests/unit/unit.h"

struct items {
	uint64_t slot[INORDER_SLOTS];	/* 0: empty */
	size_t made, used, dropped, stop_at;
	int in_order;
};

static void make(void *ctx, size_t item, unsigned slot)
{
	struct items *it = ctx;

	if (item % 3 == 0)
		usleep(200 * (unsigned)(item % 4));	/* the next one finishes first */
	it->slot[slot] = item * item + 1;
	__atomic_add_fetch(&it->made, 1, __ATOMIC_RELAXED);
}

static int use(void *ctx, size_t item, unsigned slot)
{
	struct items *it = ctx;

	it->in_order &= item == it->used && it->slot[slot] == item * item + 1;
	it->used++;
	return item == it->stop_at ? 7 : 0;
}

static void drop(void *ctx, unsigned slot)
{
	struct items *it = ctx;

	if (it->slot[slot])
		it->dropped++;
	it->slot[slot] = 0;
}

static const struct inorder_ops ops = { make, use, drop };

START_TEST(every_item_is_used_once_in_order)
{
	for (unsigned workers = 0; workers <= 3; workers++) {
		struct items it = { .stop_at = SIZE_MAX, .in_order = 1 };

		ck_assert_int_eq(inorder_run(100, workers, &ops, &it), 0);
		ck_assert(it.in_order);
		ck_assert_uint_eq(it.made, 100);
		ck_assert_uint_eq(it.used, 100);
		ck_assert_uint_eq(it.dropped, 100);
	}
}
END_TEST

START_TEST(a_failed_use_stops_and_drops_what_was_made)
{
	for (unsigned workers = 0; workers <= 2; workers++) {
		struct items it = { .stop_at = 10, .in_order = 1 };

		ck_assert_int_eq(inorder_run(100, workers, &ops, &it), 7);
		ck_assert(it.in_order);
		ck_assert_uint_eq(it.used, 11);
		ck_assert_uint_le(it.made, 11 + INORDER_SLOTS);	/* never more ahead than the slots */
		ck_assert_uint_eq(it.dropped, it.made);	/* every one made is dropped, once */
	}
}
END_TEST

START_TEST(no_items)
{
	struct items it = { .stop_at = SIZE_MAX, .in_order = 1 };

	ck_assert_int_eq(inorder_run(0, 2, &ops, &it), 0);
	ck_assert_uint_eq(it.made + it.used + it.dropped, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inorder");
	TCase *tc = tcase_create("inorder");

	tcase_add_test(tc, every_item_is_used_once_in_order);
	tcase_add_test(tc, a_failed_use_stops_and_drops_what_was_made);
	tcase_add_test(tc, no_items);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
