/* Unit tests of common/utf8: strict decoding, terminal escapes, U+FFFD. */
#include <check.h>
#include <stdlib.h>

#include "common/strbuf.h"
#include "common/utf8.h"
#include "tests/unit/unit.h"

static const char *printable(struct strbuf *sb, const char *s, unsigned flags)
{
	strbuf_reset(sb);
	ck_assert_int_eq(utf8_add_printable(sb, s, flags), 0);
	return sb->buf;
}

static const char *valid(struct strbuf *sb, const char *s)
{
	strbuf_reset(sb);
	ck_assert_int_eq(utf8_add_valid(sb, s), 0);
	return sb->buf;
}

START_TEST(decodes_strictly)
{
	uint32_t cp = 0;

	ck_assert_int_eq(utf8_decode("a", &cp), 1);
	ck_assert_uint_eq(cp, 'a');
	ck_assert_int_eq(utf8_decode("\xc3\xa9", &cp), 2);
	ck_assert_uint_eq(cp, 0xe9);
	ck_assert_int_eq(utf8_decode("\xe2\x82\xac", &cp), 3);
	ck_assert_uint_eq(cp, 0x20ac);
	ck_assert_int_eq(utf8_decode("\xf4\x8f\xbf\xbf", &cp), 4);
	ck_assert_uint_eq(cp, 0x10ffff);
	ck_assert_int_eq(utf8_decode("\xc0\xaf", &cp), -1);	/* overlong '/' */
	ck_assert_int_eq(utf8_decode("\xe0\x80\xaf", &cp), -1);	/* overlong, 3 bytes */
	ck_assert_int_eq(utf8_decode("\xed\xa0\x80", &cp), -1);	/* a surrogate */
	ck_assert_int_eq(utf8_decode("\xf4\x90\x80\x80", &cp), -1);	/* > U+10FFFF */
	ck_assert_int_eq(utf8_decode("\xf5\x80", &cp), -1);
	ck_assert_int_eq(utf8_decode("\xff", &cp), -1);
	ck_assert_int_eq(utf8_decode("\x80", &cp), -1);
	ck_assert_int_eq(utf8_decode("\xe2\x82", &cp), -2);	/* cut short at the end */
	ck_assert_int_eq(utf8_decode("\xf0\x9f\x98x", &cp), -3);
}
END_TEST

START_TEST(escapes_controls_for_terminals)
{
	struct strbuf sb = STRBUF_INIT;

	ck_assert_str_eq(printable(&sb, "plain caf\xc3\xa9 \xe2\x82\xac", 0), "plain caf\xc3\xa9 \xe2\x82\xac");
	ck_assert_str_eq(printable(&sb, "\x1b[2Jx\n", 0), "\\x1b[2Jx\\n");
	ck_assert_str_eq(printable(&sb, "\x1b]0;t\x07", 0), "\\x1b]0;t\\x07");
	ck_assert_str_eq(printable(&sb, "a\tb\rc\x7f", 0), "a\\tb\\rc\\x7f");
	ck_assert_str_eq(printable(&sb, "a\tb\nc", UTF8_KEEP_TAB | UTF8_KEEP_NEWLINE), "a\tb\nc");
	/* C1 CSI as a code point, a bidi override, bad bytes one by one */
	ck_assert_str_eq(printable(&sb, "\xc2\x9b" "2J \xe2\x80\xae", 0), "\\u009b2J \\u202e");
	ck_assert_str_eq(printable(&sb, "\x9b\xc0\xaf\xff", 0), "\\x9b\\xc0\\xaf\\xff");
	ck_assert_str_eq(printable(&sb, NULL, 0), "");
	strbuf_release(&sb);
}
END_TEST

START_TEST(replaces_ill_formed_like_python)
{
	struct strbuf sb = STRBUF_INIT;

	/* b"...".decode("utf-8", "replace") gives the same U+FFFD counts */
	ck_assert_str_eq(valid(&sb, "ok\xc3\xa9"), "ok\xc3\xa9");
	ck_assert_str_eq(valid(&sb, "\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_str_eq(valid(&sb, "\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_str_eq(valid(&sb, "a\xf5\xff" "b"), "a\xef\xbf\xbd\xef\xbf\xbd" "b");
	ck_assert_str_eq(valid(&sb, "\xe2\x82x"), "\xef\xbf\xbdx");
	strbuf_release(&sb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("utf8");

	tcase_add_test(tc, decodes_strictly);
	tcase_add_test(tc, escapes_controls_for_terminals);
	tcase_add_test(tc, replaces_ill_formed_like_python);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
