/* Unit tests of common/json: the tools' JSON writer. */
#include <check.h>
#include <locale.h>
#include <stdint.h>
#include <string.h>

#include "common/json.h"
#include "common/strbuf.h"
#include "tests/unit/fault.h"
#include "tests/unit/unit.h"

/* a small document with every kind of value, nested */
static int write_doc(struct strbuf *out, unsigned flags)
{
	struct json j;

	json_init(&j, out, flags);
	json_object_begin(&j);
	json_key(&j, "n");
	json_uint(&j, UINT64_MAX);
	json_key(&j, "list");
	json_array_begin(&j);
	json_int(&j, -3);
	json_double(&j, 0.5);
	json_string(&j, "a\"b\\c\n\x01<&>");
	json_array_begin(&j);
	json_array_end(&j);
	json_object_begin(&j);
	json_key(&j, "t");
	json_bool(&j, 1);
	json_object_end(&j);
	json_array_end(&j);
	json_key(&j, "none");
	json_null(&j);
	json_object_end(&j);
	return json_finish(&j);
}

START_TEST(json_puts_commas_and_colons_itself)
{
	struct strbuf sb = STRBUF_INIT;

	ck_assert_int_eq(write_doc(&sb, 0), 0);
	ck_assert_str_eq(sb.buf, "{\"n\":18446744073709551615,\"list\":[-3,0.5,\"a\\\"b\\\\c\\u000a\\u0001<&>\","
				 "[],{\"t\":true}],\"none\":null}");
	strbuf_release(&sb);
}
END_TEST

START_TEST(json_spaced_top_lines_and_script_safe)
{
	struct strbuf sb = STRBUF_INIT;

	ck_assert_int_eq(write_doc(&sb, JSON_SPACED | JSON_TOP_LINES | JSON_SCRIPT_SAFE), 0);
	ck_assert_str_eq(sb.buf, "{\n  \"n\": 18446744073709551615,\n  \"list\": [-3, 0.5, "
				 "\"a\\\"b\\\\c\\u000a\\u0001\\u003c\\u0026\\u003e\", [], {\"t\": true}],\n"
				 "  \"none\": null\n}");
	strbuf_release(&sb);
}
END_TEST

START_TEST(json_strings_are_unicode_and_terminal_safe)
{
	struct strbuf sb = STRBUF_INIT;

	/* ill-formed UTF-8 as U+FFFD (as many as Python's "replace" gives), DEL and C1 escaped */
	ck_assert_int_eq(json_add_string(&sb, "caf\xc3\xa9 \xed\xa0\x80|\xff|\x7f\xc2\x9b", 0), 0);
	ck_assert_str_eq(sb.buf, "\"caf\xc3\xa9 \\ufffd\\ufffd\\ufffd|\\ufffd|\\u007f\\u009b\"");
	strbuf_release(&sb);
}
END_TEST

START_TEST(json_doubles_in_the_c_locale)
{
	struct strbuf sb = STRBUF_INIT;
	struct json j;

	/* a decimal-comma locale, if this machine has one */
	setlocale(LC_NUMERIC, "de_DE.UTF-8");
	json_init(&j, &sb, 0);
	json_array_begin(&j);
	json_double(&j, 1.25);
	json_double(&j, 0.1);
	json_double(&j, 1e300 * 1e300);
	json_array_end(&j);
	ck_assert_int_eq(json_finish(&j), 0);
	setlocale(LC_NUMERIC, "C");
	ck_assert_str_eq(sb.buf, "[1.25,0.1,null]");
	strbuf_release(&sb);
}
END_TEST

#if FAULT_INJECTION
START_TEST(json_says_when_memory_ran_out)
{
	for (int n = 0;; n++) {
		struct strbuf sb = STRBUF_INIT;
		long live = fault_live_allocs();
		int ret;

		fault_fail_alloc_after(n);
		ret = write_doc(&sb, JSON_SPACED);
		fault_reset();
		strbuf_release(&sb);
		ck_assert_int_eq(fault_live_allocs(), live);
		if (ret == 0)
			break;
		ck_assert_int_eq(ret, -1);
		ck_assert_int_lt(n, 100);
	}
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, json_puts_commas_and_colons_itself);
	tcase_add_test(tc, json_spaced_top_lines_and_script_safe);
	tcase_add_test(tc, json_strings_are_unicode_and_terminal_safe);
	tcase_add_test(tc, json_doubles_in_the_c_locale);
#if FAULT_INJECTION
	tcase_add_test(tc, json_says_when_memory_ran_out);
#endif
	suite_add_tcase(s, tc);
	return unit_run(s);
}
