/* Unit tests of junit/ and report/suppress: escaping for XML, Markdown and GitHub, and suppression globs. */
#include <check.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/suppress.h"
#include "common/strbuf.h"
#include "junit/junit.h"
#include "junit/markdown.h"
#include "tests/unit/unit.h"

/* write run with writer into a temporary file, and read it back into sb */
static void write_and_read(int (*writer)(const char *, const struct check_run *), const struct check_run *run,
			   struct strbuf *sb)
{
	char path[] = "/tmp/memray-report-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(writer(path, run), 0);
	ck_assert_int_eq(strbuf_read_fd(sb, fd), 0);
	close(fd);
	unlink(path);
}

START_TEST(annotations_are_escaped)
{
	struct strbuf sb = STRBUF_INIT;

	annotation_escape(&sb, "a%b\r\nc:d,e", 0);
	ck_assert_str_eq(sb.buf, "a%25b%0D%0Ac:d,e");
	strbuf_reset(&sb);
	annotation_escape(&sb, "memray: t[a,b%]", 1);
	ck_assert_str_eq(sb.buf, "memray%3A t[a%2Cb%25]");
	strbuf_release(&sb);
}
END_TEST

START_TEST(junit_strips_what_xml_forbids)
{
	struct check_result r = { .name = "bad\x01name\xff\xc3", .rule = "peak", .failure_type = "BudgetExceeded",
				  .message = "m\x1b[31m", .details = "stack \xef\xbf\xbe end\n", .figure = 2,
				  .limit = 1, .has_limit = 1, .props = { { "bytes", 2 } }, .nprops = 1 };
	struct check_run run = { .command = "cmd\x02", .seconds = 1.5, .results = &r, .nresults = 1 };
	xmlDocPtr doc;
	struct strbuf sb = STRBUF_INIT;

	write_and_read(junit_write, &run, &sb);
	doc = xmlReadMemory(sb.buf, (int)sb.len, "junit.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
	ck_assert_ptr_nonnull(doc);	/* well formed */
	xmlFreeDoc(doc);
	/* controls left out; ill-formed UTF-8 (0xff, a cut-short 0xc3) as U+FFFD, one per stretch */
	ck_assert_ptr_nonnull(strstr(sb.buf, "name=\"badname\xef\xbf\xbd\xef\xbf\xbd\""));
	ck_assert_ptr_nonnull(strstr(sb.buf, "message=\"m[31m\""));
	ck_assert_ptr_nonnull(strstr(sb.buf, "stack  end"));
	ck_assert_ptr_nonnull(strstr(sb.buf, "time=\"1.500\""));
	ck_assert_ptr_nonnull(strstr(sb.buf, "tests=\"1\" failures=\"1\" errors=\"0\""));
	strbuf_release(&sb);
}
END_TEST

START_TEST(never_an_empty_suite)
{
	struct check_run run = { .command = "true" };
	struct strbuf sb = STRBUF_INIT;

	write_and_read(junit_write, &run, &sb);
	ck_assert_ptr_nonnull(strstr(sb.buf, "tests=\"1\" failures=\"0\" errors=\"0\""));
	ck_assert_ptr_nonnull(strstr(sb.buf, "<testcase name=\"true\" classname=\"memray.command\""));
	strbuf_release(&sb);
}
END_TEST

START_TEST(markdown_cells_and_size)
{
	size_t n = 30000;
	struct check_result *r = calloc(n, sizeof(*r));
	struct check_run run = { .command = "a|b", .results = r, .nresults = n };
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < n; i++)
		r[i] = (struct check_result){ .name = "test|with\npipe", .rule = "peak", .message = "ok",
					      .failure_type = i == n - 1 ? "BudgetExceeded" : NULL };
	write_and_read(markdown_write, &run, &sb);
	ck_assert_uint_lt(sb.len, 1024 * 1024);
	/* the one failure comes first, and the cells escape pipes and newlines */
	ck_assert_ptr_nonnull(strstr(sb.buf, "|---|---|---|---|---|\n| FAIL | test\\|with pipe (peak) |"));
	ck_assert_ptr_nonnull(strstr(sb.buf, "Command: `a\\|b`"));
	/* bounded by design: the passing rows past the folded list are left to the JUnit */
	ck_assert_uint_lt(sb.len, 100 * 1024);
	ck_assert_ptr_nonnull(strstr(sb.buf, "29899 more are in the JUnit file."));
	strbuf_release(&sb);
	free(r);
}
END_TEST

START_TEST(suppression_globs)
{
	struct suppress_list l = { 0 };
	struct sym_frame frames[2] = { { .function = "malloc", .module = "/lib/libc.so.6" },
				       { .function = "_dl_allocate_tls", .module = "/lib64/ld-linux-x86-64.so.2" } };
	struct sym_frame mine[1] = { { .function = "cache_fill", .module = "/opt/app/libcache.so" } };

	ck_assert_ptr_null(suppress_glob_problem("a*b?[cd]"));
	ck_assert_ptr_null(suppress_glob_problem("[]]x"));
	ck_assert_ptr_nonnull(suppress_glob_problem(""));
	ck_assert_ptr_nonnull(suppress_glob_problem("a[b"));
	ck_assert_ptr_nonnull(suppress_glob_problem("ab\\"));
	ck_assert_int_eq(suppress_add_builtin(&l), 0);
	ck_assert_str_eq(suppress_match(&l, frames, 2)->glob, "_dl_allocate_tls*");
	ck_assert_ptr_null(suppress_match(&l, mine, 1));
	ck_assert_int_eq(suppress_add(&l, "*/libcache.so", "memray.yml:3:5"), 0);
	ck_assert_str_eq(suppress_match(&l, mine, 1)->why, "memray.yml:3:5");
	suppress_release(&l);
	ck_assert_ptr_null(suppress_match(&l, frames, 2));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("junit");
	TCase *tc = tcase_create("escape");

	tcase_add_test(tc, annotations_are_escaped);
	tcase_add_test(tc, junit_strips_what_xml_forbids);
	tcase_add_test(tc, never_an_empty_suite);
	tcase_add_test(tc, markdown_cells_and_size);
	tcase_add_test(tc, suppression_globs);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
