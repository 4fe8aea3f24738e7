/* Unit tests of common/units: sizes parsed and printed exactly. */
#include <check.h>
#include <stdlib.h>

#include "common/units.h"
#include "tests/unit/unit.h"

START_TEST(parse_binary_and_decimal)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} ok[] = {
		/* pytest-memray's rule: every unit a power of 1024, none decimal */
		{ "0", 0 }, { "512", 512 }, { "512B", 512 }, { "1K", 1024 }, { "1KiB", 1024 }, { "1kB", 1024 },
		{ "200MB", 209715200 }, { "200 MB", 209715200 }, { "200mb", 209715200 }, { "64MiB", 67108864 },
		{ "64 mib", 67108864 }, { "1.5G", 1610612736 }, { "2GB", 2147483648ull }, { "24 MB", 25165824 },
		{ "1TiB", 1099511627776ull }, { " 3M ", 3145728 }, { ".5K", 512 }, { "1kb", 1024 },
		{ "1.5 GB", 1610612736 }, { "2 tb", 2199023255552ull },
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		const char *why = NULL;
		uint64_t v = 1;

		ck_assert_msg(units_parse(ok[i].text, &v, &why) == 0, "'%s': %s", ok[i].text, why);
		ck_assert_msg(v == ok[i].bytes, "'%s' gave %llu", ok[i].text, (unsigned long long)v);
	}
}
END_TEST

START_TEST(parse_refusals)
{
	const char *bad[] = { "", "MB", "12 parsecs", "-5MB", "1e3", "12 MB extra", "nan", "0x10" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		uint64_t v;

		ck_assert_msg(units_parse(bad[i], &v, &why) == -1, "'%s' was accepted", bad[i]);
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

START_TEST(human)
{
	char buf[UNITS_BUF];

	ck_assert_str_eq(units_human(buf, 0), "0B");
	ck_assert_str_eq(units_human(buf, 1023), "1023B");
	ck_assert_str_eq(units_human(buf, 1024), "1.000KiB");
	ck_assert_str_eq(units_human(buf, 4096000), "3.906MiB");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("units");
	TCase *tc = tcase_create("units");

	tcase_add_test(tc, parse_binary_and_decimal);
	tcase_add_test(tc, parse_refusals);
	tcase_add_test(tc, human);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
