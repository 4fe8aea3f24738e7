/* Unit tests of common/strbuf: invariants, caps, JSON escaping. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "tests/unit/unit.h"

START_TEST(empty_is_a_string)
{
	struct strbuf sb = STRBUF_INIT;

	ck_assert_ptr_nonnull(sb.buf);
	ck_assert_str_eq(sb.buf, "");
	strbuf_setlen(&sb, 0);
	strbuf_release(&sb);
	char *s = strbuf_detach(&sb, NULL);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(grows_and_keeps_nul)
{
	struct strbuf sb = STRBUF_INIT;
	size_t len;

	for (int i = 0; i < 10000; i++)
		ck_assert_int_eq(strbuf_addf(&sb, "%d,", i % 10), 0);
	ck_assert_uint_eq(sb.len, 20000);
	ck_assert_int_eq(sb.buf[sb.len], '\0');
	ck_assert_int_eq(strbuf_add(&sb, "a\0b", 3), 0);
	ck_assert_uint_eq(sb.len, 20003);
	ck_assert_int_eq(sb.buf[20001], '\0');
	char *s = strbuf_detach(&sb, &len);
	ck_assert_uint_eq(len, 20003);
	ck_assert_uint_eq(sb.len, 0);
	free(s);
}
END_TEST

START_TEST(cap_refuses_and_keeps_content)
{
	struct strbuf sb;

	strbuf_init_capped(&sb, 10);
	ck_assert_int_eq(strbuf_addstr(&sb, "0123456789"), 0);
	ck_assert_int_eq(strbuf_addch(&sb, 'x'), -1);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_str_eq(sb.buf, "0123456789");
	strbuf_release(&sb);
	ck_assert_int_eq(strbuf_grow(&sb, (size_t)1 << 40), -1);
}
END_TEST

START_TEST(json_escapes)
{
	struct strbuf sb = STRBUF_INIT;

	ck_assert_int_eq(strbuf_add_json(&sb, "a\"b\\c\n\x01<"), 0);
	ck_assert_str_eq(sb.buf, "a\\\"b\\\\c\\u000a\\u0001<");
	strbuf_release(&sb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("strbuf");
	TCase *tc = tcase_create("strbuf");

	tcase_add_test(tc, empty_is_a_string);
	tcase_add_test(tc, grows_and_keeps_nul);
	tcase_add_test(tc, cap_refuses_and_keeps_content);
	tcase_add_test(tc, json_escapes);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
