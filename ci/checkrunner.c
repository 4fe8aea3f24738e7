/*
 * ci/checkrunner: see checkrunner.h.
 */
#include "ci/checkrunner.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "report/analysis.h"

/* START_TEST(x) defines x_fn */
static int is_test_function(const char *f)
{
	size_t len = strlen(f);

	return len > 3 && len < sizeof(((struct checkrunner_test *)0)->name) && !strcmp(f + len - 3, "_fn");
}

/*
 * The function Check calls on this stack (a frame whose caller is
 * srunner_* or tcase_*): the innermost such test function if there is
 * one, else the outermost such frame, else NULL. Names live as long as
 * the symbolizer.
 */
static const char *called_by_check(struct analysis *a, struct symbolizer *s, uint32_t stack)
{
	const struct sym_frame *frames;
	const char *called = NULL;
	int n = analysis_stack(a, s, stack, &frames);

	for (int i = 0; i + 1 < n; i++) {
		const char *outer = frames[i + 1].function;

		if (strncmp(outer, "srunner_", 8) && strncmp(outer, "tcase_", 6))
			continue;
		called = frames[i].function;
		if (is_test_function(called))
			break;
	}
	return called;
}

/* Check's own functions, which a test child also runs */
static int is_check_function(const char *f)
{
	static const char *const prefixes[] = { "srunner_", "tcase_", "check_", "suite_", "ck_", "_ck_" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(f, prefixes[i], strlen(prefixes[i])))
			return 1;
	return 0;
}

int checkrunner_identify(struct analysis *a, struct symbolizer *s, const char *path, struct checkrunner_test *t)
{
	const char *hidden = NULL;

	for (size_t i = 0; i < a->nentries; i++) {
		const char *f = called_by_check(a, s, a->entries[i].stack);

		if (f && is_test_function(f)) {
			snprintf(t->function, sizeof(t->function), "%s", f);
			snprintf(t->name, sizeof(t->name), "%.*s", (int)(strlen(f) - 3), f);
			return 1;
		}
		if (f && !is_check_function(f) && !hidden)
			hidden = f;
	}
	if (hidden)
		warning("%s: a forked Check test whose stacks show no START_TEST function: %s is "
			"called straight from Check (a tail call hid the test?); build the tests with "
			"-fno-optimize-sibling-calls to judge it on its own", path, hidden);
	return 0;
}

int checkrunner_owns(struct analysis *a, struct symbolizer *s, uint32_t stack, const struct checkrunner_test *t)
{
	const char *f = called_by_check(a, s, stack);

	return f && !strcmp(f, t->function);
}
