/*
 * make bench: an allocation-heavy Check suite (fork mode) for the cost of
 * `memray check` on a C test binary. Each test builds and frees linked
 * lists and strings: ROUNDS x 1000 small allocations, all freed.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 500

struct node {
	struct node *next;
	char *text;
};

static void build_and_free(size_t size)
{
	for (int r = 0; r < ROUNDS; r++) {
		struct node *head = NULL;

		for (int i = 0; i < 500; i++) {
			struct node *n = malloc(sizeof(*n));

			n->text = malloc(size + (size_t)(i % 7));
			memset(n->text, 'x', size);
			n->next = head;
			head = n;
		}
		while (head) {
			struct node *next = head->next;

			free(head->text);
			free(head);
			head = next;
		}
	}
}

START_TEST(test_small_strings)
{
	build_and_free(16);
}
END_TEST

START_TEST(test_medium_strings)
{
	build_and_free(200);
}
END_TEST

START_TEST(test_large_strings)
{
	build_and_free(2000);
}
END_TEST

START_TEST(test_mixed)
{
	build_and_free(48);
	build_and_free(700);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bench");
	TCase *tc = tcase_create("alloc");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_small_strings);
	tcase_add_test(tc, test_medium_strings);
	tcase_add_test(tc, test_large_strings);
	tcase_add_test(tc, test_mixed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
