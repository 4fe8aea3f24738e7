/*
 * Unit tests of report/suppress: which pattern suppresses a stack (globs
 * on function names, or on module paths when they hold a '/'), the
 * built-in list, the glob checker's every complaint, and suppress_add
 * with each allocation failing.
 */
#include <check.h>
#include <string.h>

#include "report/suppress.h"
#include "tests/unit/fault.h"
#include "tests/unit/unit.h"

static const struct sym_frame app[] = {
	{ .function = "malloc", .module = "/usr/lib/x86_64-linux-gnu/libc.so.6" },
	{ .function = "cache_fill", .module = "/opt/app/lib/libcache.so.2" },
	{ .function = "main", .module = "/opt/app/bin/app" },
};

/* the index in l of the pattern that suppresses frames, -1 for none */
static int match_index(const struct suppress_list *l, const struct sym_frame *frames, int n)
{
	const struct suppress_pattern *p = suppress_match(l, frames, n);

	return p ? (int)(p - l->p) : -1;
}

START_TEST(glob_on_function)
{
	struct suppress_list l = { 0 };

	ck_assert_int_eq(suppress_add(&l, "cache_*", "memray.yml:3:5"), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.p[0].glob, "cache_*");
	ck_assert_str_eq(l.p[0].why, "memray.yml:3:5");
	ck_assert_int_eq(match_index(&l, app, 3), 0);
	/* any frame of the stack, not only the innermost */
	ck_assert_int_eq(match_index(&l, app + 1, 1), 0);
	ck_assert_int_eq(match_index(&l, app, 1), -1);
	/* the whole name: a glob is anchored at both ends */
	suppress_release(&l);
	ck_assert_int_eq(suppress_add(&l, "cache", "x"), 0);
	ck_assert_int_eq(match_index(&l, app, 3), -1);
	/* without a '/', a pattern never looks at the module */
	ck_assert_int_eq(suppress_add(&l, "*libcache*", "x"), 0);
	ck_assert_int_eq(match_index(&l, app, 3), -1);
	ck_assert_int_eq(match_index(&l, app, 0), -1);
	suppress_release(&l);
	ck_assert_ptr_null(l.p);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(glob_with_slash_on_module)
{
	struct suppress_list l = { 0 };
	const struct sym_frame no_module[] = { { .function = "cache_fill", .module = NULL } };

	ck_assert_int_eq(suppress_add(&l, "*/libcache.so*", "--suppress"), 0);
	ck_assert_int_eq(match_index(&l, app, 3), 0);
	ck_assert_int_eq(match_index(&l, app + 2, 1), -1);
	/* a frame without a module is not matched by a path pattern */
	ck_assert_int_eq(match_index(&l, no_module, 1), -1);
	suppress_release(&l);
	/* '*' crosses '/' (no FNM_PATHNAME): one star covers a whole directory tree */
	ck_assert_int_eq(suppress_add(&l, "/opt/*", "x"), 0);
	ck_assert_int_eq(match_index(&l, app + 1, 1), 0);
	ck_assert_int_eq(match_index(&l, app, 1), -1);
	suppress_release(&l);
	/* a path pattern never looks at the function */
	ck_assert_int_eq(suppress_add(&l, "*/main", "x"), 0);
	ck_assert_int_eq(match_index(&l, app, 3), -1);
	suppress_release(&l);
}
END_TEST

START_TEST(first_matching_pattern_wins)
{
	struct suppress_list l = { 0 };

	ck_assert_int_eq(suppress_add(&l, "main", "first"), 0);
	ck_assert_int_eq(suppress_add(&l, "*", "second"), 0);
	ck_assert_int_eq(suppress_add(&l, "cache_fill", "third"), 0);
	/* patterns in order, not frames: "main" is the outermost frame, yet wins */
	ck_assert_str_eq(suppress_match(&l, app, 3)->why, "first");
	ck_assert_str_eq(suppress_match(&l, app, 2)->why, "second");
	suppress_release(&l);
}
END_TEST

START_TEST(builtins)
{
	struct suppress_list l = { 0 };
	const struct sym_frame tls[] = { { .function = "_dl_allocate_tls_init", .module = "/lib64/ld-linux-x86-64.so.2" } };
	const struct sym_frame loader[] = { { .function = "_dl_map_object", .module = "/lib64/ld-linux-x86-64.so.2" } };
	const struct sym_frame intern[] = { { .function = "PyUnicode_InternInPlace", .module = "/usr/bin/python3.11" } };
	int n = 0;

	while (suppress_builtin[n][0])
		n++;
	ck_assert_int_eq(n, 17);
	ck_assert_int_eq(suppress_add_builtin(&l), 0);
	ck_assert_uint_eq(l.n, 17);
	for (int i = 0; i < n; i++) {
		ck_assert_str_eq(l.p[i].glob, suppress_builtin[i][0]);
		ck_assert_str_eq(l.p[i].why, "built-in");
		ck_assert_ptr_null(suppress_glob_problem(l.p[i].glob));
		ck_assert_ptr_null(strchr(l.p[i].glob, '/'));	/* all on function names */
	}
	/* the narrow TLS pattern comes before the loader's catch-all */
	ck_assert_str_eq(suppress_match(&l, tls, 1)->glob, "_dl_allocate_tls*");
	ck_assert_str_eq(suppress_match(&l, loader, 1)->glob, "_dl_*");
	ck_assert_str_eq(suppress_match(&l, intern, 1)->glob, "PyUnicode_InternInPlace");
	ck_assert_ptr_null(suppress_match(&l, app, 3));
	/* the user's patterns come after the built-ins */
	ck_assert_int_eq(suppress_add(&l, "cache_*", "memray.yml:9:5"), 0);
	ck_assert_int_eq(match_index(&l, app, 3), 17);
	suppress_release(&l);
}
END_TEST

START_TEST(bad_globs)
{
	static const struct {
		const char *glob, *problem;
	} cases[] = {
		{ "", "empty glob" },
		{ "abc\\", "glob ends with a lone '\\'" },
		{ "a[b", "glob has a '[' that is never closed" },
		{ "[", "glob has a '[' that is never closed" },
		{ "[]", "glob has a '[' that is never closed" },	/* ']' first is a member */
		{ "[!]", "glob has a '[' that is never closed" },
		{ "x[a]y[", "glob has a '[' that is never closed" },
		{ "a*b?[cd]", NULL },
		{ "[]]x", NULL },
		{ "[!]]x", NULL },
		{ "[^x]y", NULL },
		{ "a\\[b", NULL },	/* an escaped '[' opens nothing */
		{ "a\\\\", NULL },	/* an escaped '\' is no lone one */
		{ "*", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_pstr_eq(suppress_glob_problem(cases[i].glob), cases[i].problem);
}
END_TEST

#if FAULT_INJECTION
static int add_run(void *ctx)
{
	struct suppress_list *l = ctx;

	/* a failed add leaves the list as it was, nothing half-added; else the loop sees -2 */
	if (suppress_add(l, "cache_*", "memray.yml:3:5") < 0)
		return l->n == 0 ? -1 : -2;
	if (l->n != 1 || strcmp(l->p[0].glob, "cache_*") || strcmp(l->p[0].why, "memray.yml:3:5"))
		return -2;	/* "succeeded" with a wrong list: the loop says so */
	return 0;
}

static int builtin_run(void *ctx)
{
	return suppress_add_builtin(ctx);
}

static void builtin_check(void *ctx)
{
	ck_assert_uint_eq(((struct suppress_list *)ctx)->n, 17);
}

static void list_release(void *ctx)
{
	struct suppress_list *l = ctx;

	/* what a failed add left must still be a list release frees whole */
	for (size_t i = 0; i < l->n; i++)
		ck_assert(l->p[i].glob && l->p[i].why);
	suppress_release(l);
}

START_TEST(out_of_memory)
{
	struct suppress_list l = { 0 };
	struct unit_fault_case add = { add_run, NULL, list_release, &l };
	struct unit_fault_case builtin = { builtin_run, builtin_check, list_release, &l };

	for (int fail_all = 0; fail_all < 2; fail_all++) {
		/* the array, the glob, the reason */
		ck_assert_int_eq(unit_fault_loop(&add, fail_all), 3);
		ck_assert_int_gt(unit_fault_loop(&builtin, fail_all), 17);
	}
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("suppress");
	TCase *tc = tcase_create("suppress");

	tcase_add_test(tc, glob_on_function);
	tcase_add_test(tc, glob_with_slash_on_module);
	tcase_add_test(tc, first_matching_pattern_wins);
	tcase_add_test(tc, builtins);
	tcase_add_test(tc, bad_globs);
#if FAULT_INJECTION
	tcase_add_test(tc, out_of_memory);
#endif
	suite_add_tcase(s, tc);
	return unit_run(s);
}
