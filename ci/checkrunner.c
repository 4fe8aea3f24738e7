/*
 * ci/checkrunner: see checkrunner.h.
 */
#include "ci/checkrunner.h"

#include <stdio.h>
#include <string.h>

#include "ci/programs.h"
#include "common/error.h"
#include "report/analysis.h"

/* START_TEST(x) defines x_fn */
static int is_test_function(const char *f)
{
	size_t len = strlen(f);

	return len > 3 && len < sizeof(((struct checkrunner_test *)0)->function) - 4 && !strcmp(f + len - 3, "_fn");
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

/* does this stack create an SRunner: the process that runs the suite, not a test's child? */
static int creates_runner(struct analysis *a, struct symbolizer *s, uint32_t stack)
{
	const struct sym_frame *frames;
	int n = analysis_stack(a, s, stack, &frames);

	for (int i = 0; i < n; i++)
		if (!strcmp(frames[i].function, "srunner_create"))
			return 1;
	return 0;
}

int checkrunner_identify(struct analysis *a, struct symbolizer *s, const char *path, struct checkrunner_test *t)
{
	const char *hidden = NULL, *test = NULL, *exe = programs_executable(a), *base;

	/*
	 * A Check child is a fork that did not exec, of a test binary, and
	 * starts after the suite was built: a process that created an SRunner
	 * is the runner itself, forked and exec'd by a harness (ctest, make,
	 * sh), and it calls Check's helpers (emalloc) straight from srunner_*()
	 * too. A system program (a shell's subshell) is not looked into: its
	 * stacks would be symbolized for nothing.
	 */
	if (a->segments != 1 || !exe || programs_is_system(exe))
		return 0;
	base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	for (size_t i = 0; i < a->nentries; i++) {
		const char *f = called_by_check(a, s, a->entries[i].stack);

		if (creates_runner(a, s, a->entries[i].stack))
			return 0;
		if (f && is_test_function(f) && !test)
			test = f;
		if (f && !is_check_function(f) && !hidden)
			hidden = f;
	}
	if (test) {
		snprintf(t->function, sizeof(t->function), "%s", test);
		snprintf(t->name, sizeof(t->name), "%s:%.*s", base, (int)(strlen(test) - 3), test);
		return 1;
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
