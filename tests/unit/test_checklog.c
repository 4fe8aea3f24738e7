/*
 * Unit tests of ci/checklog: a Check XML log as Check 0.15 writes it (the
 * places, a loop test, one function in two tcases), one cut short, one
 * that is no log, and one that is not there.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ci/checklog.h"
#include "tests/unit/unit.h"

#define TEST(path, fn, id, iteration, tcase) \
	"    <test result=\"success\">\n      <path>" path "</path>\n      <fn>" fn "</fn>\n" \
	"      <id>" id "</id>\n      <iteration>" iteration "</iteration>\n" \
	"      <duration>0.000100</duration>\n      <description>" tcase "</description>\n" \
	"      <message>Passed</message>\n    </test>\n"

static const char log_text[] =
	"<?xml version=\"1.0\"?>\n<testsuites xmlns=\"http://check.sourceforge.net/ns\">\n"
	"  <datetime>2026-12-02 18:18:03</datetime>\n  <suite>\n    <title>io &amp; more</title>\n"
	TEST("/src/tests", "check_io.c:18", "test_read", "0", "core")
	TEST("/src/tests", "check_io.c:18", "test_read", "0", "again")
	TEST("", "check_io.c:40", "test_loop", "0", "loop")
	TEST("", "check_io.c:41", "test_loop", "1", "loop")
	TEST("/src/tests", "odd", "test_odd", "0", "core")
	"  </suite>\n  <suite>\n    <title>other</title>\n"
	TEST("/src/tests", "check_other.c:7", "test_later", "5", "core")
	"  </suite>\n  <duration>0.046831</duration>\n</testsuites>\n";

static char *write_temp(const char *text, size_t len)
{
	char *path = strdup("/tmp/memray-checklog-XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

START_TEST(a_log_in_run_order)
{
	char *path = write_temp(log_text, strlen(log_text));
	struct checklog l = { 0 };
	const struct checklog_test *t;

	ck_assert_int_eq(checklog_read(&l, path), 0);
	ck_assert_uint_eq(l.n, 6);
	ck_assert_str_eq(l.t[0].suite, "io & more");
	ck_assert_str_eq(l.t[0].file, "/src/tests/check_io.c");
	ck_assert_uint_eq(l.t[0].line, 18);
	ck_assert_str_eq(l.t[2].file, "check_io.c");	/* no folder: the file alone */
	ck_assert_str_eq(l.t[4].file, "/src/tests/odd");	/* no line */
	ck_assert_uint_eq(l.t[4].line, 0);
	ck_assert_str_eq(l.t[5].suite, "other");
	/* loops: iterations 0 and 1 in a row; an iteration other than 0; not one function in two tcases */
	ck_assert(!l.t[0].is_loop && !l.t[1].is_loop && l.t[2].is_loop && l.t[3].is_loop && l.t[5].is_loop);
	/* matched in run order, each entry once */
	t = checklog_match(&l, "test_read");
	ck_assert_str_eq(t->tcase, "core");
	t = checklog_match(&l, "test_read");
	ck_assert_str_eq(t->tcase, "again");
	ck_assert_ptr_null(checklog_match(&l, "test_read"));
	t = checklog_match(&l, "test_later");	/* the loop's entries are passed over */
	ck_assert_uint_eq(t->iteration, 5);
	ck_assert_ptr_null(checklog_match(&l, "test_loop"));
	checklog_release(&l);
	ck_assert_uint_eq(l.n, 0);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(a_log_cut_short_gives_what_it_holds)
{
	const char *cut = strstr(log_text, "<id>test_loop");
	char *path = write_temp(log_text, (size_t)(cut - log_text));
	struct checklog l = { 0 };

	ck_assert_int_eq(checklog_read(&l, path), 0);
	ck_assert_uint_ge(l.n, 2);
	ck_assert_str_eq(l.t[1].tcase, "again");
	checklog_release(&l);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(no_log_is_no_test)
{
	char *path = write_temp("not <xml", 8);
	struct checklog l = { 0 };
	const char *said;

	unit_stderr_begin();
	ck_assert_int_eq(checklog_read(&l, path), 0);
	said = unit_stderr_end();
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_nonnull(strstr(said, "not a Check XML log"));
	ck_assert_ptr_nonnull(strstr(said, path));
	ck_assert_ptr_eq(strchr(said, '\n'), said + strlen(said) - 1);	/* one line */
	unlink(path);
	unit_stderr_begin();
	ck_assert_int_eq(checklog_read(&l, path), 0);	/* gone: no runner wrote it, nothing to say */
	ck_assert_str_eq(unit_stderr_end(), "");
	ck_assert_uint_eq(l.n, 0);
	free(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("checklog");
	TCase *tc = tcase_create("read");

	tcase_add_test(tc, a_log_in_run_order);
	tcase_add_test(tc, a_log_cut_short_gives_what_it_holds);
	tcase_add_test(tc, no_log_is_no_test);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
