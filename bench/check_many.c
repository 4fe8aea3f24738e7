/*
 * make bench: the shape of most Check suites, for the fixed cost of each
 * forked test under `memray check`: 100 tests in fork mode (one loop test
 * run 100 times), each making and freeing one block.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_one_block)
{
	char *p = malloc(64 + (size_t)_i);

	ck_assert_ptr_nonnull(p);
	memset(p, 'x', 64);
	free(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("many");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_one_block, 0, 100);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
