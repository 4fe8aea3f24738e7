/*
 * Unit tests of report/stats: the JSON never says a capture is complete
 * when the tracker dropped records (the text warns; the JSON must too).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/reader.h"
#include "common/strbuf.h"
#include "report/analysis.h"
#include "report/stats.h"
#include "report/symbols.h"
#include "tests/unit/capbuild.h"
#include "tests/unit/unit.h"

/* stats --json of a small capture whose END says `lost` records were dropped */
static void stats_json(uint64_t lost, struct strbuf *out)
{
	struct stats_options so = { .limit = 0, .json = 1 };
	struct capbuild b;
	struct capture_reader *r;
	struct symbolizer *s = symbolizer_new();
	struct analysis a;
	char *path;

	capbuild_start(&b, 7);
	capbuild_alloc(&b, 0x1000, 4000, 1);
	capbuild_free(&b, 0x1000);
	path = capbuild_finish(&b, lost);
	r = capture_reader_open(path);
	ck_assert(r && s);
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(analysis_run(&a, r, NULL), 0);
	ck_assert_int_eq(stats_report(out, &a, s, r, &so), 0);
	analysis_release(&a);
	capture_reader_free(r);
	symbolizer_free(s);
	unlink(path);
	free(path);
}

START_TEST(lost_records_make_it_incomplete)
{
	struct strbuf out = STRBUF_INIT;

	stats_json(42, &out);
	ck_assert_msg(strstr(out.buf, "\"complete\": false"), "%s", out.buf);
	ck_assert_msg(strstr(out.buf, "\"lost_records\": 42"), "%s", out.buf);
	ck_assert_msg(strstr(out.buf, "dropped 42 records"), "%s", out.buf);
	strbuf_release(&out);
	stats_json(0, &out);
	ck_assert_msg(strstr(out.buf, "\"complete\": true"), "%s", out.buf);
	ck_assert_msg(strstr(out.buf, "\"lost_records\": 0"), "%s", out.buf);
	ck_assert_msg(strstr(out.buf, "\"warnings\": []"), "%s", out.buf);
	strbuf_release(&out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, lost_records_make_it_incomplete);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
