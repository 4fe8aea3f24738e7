/*
 * Unit tests of ci/windows: a capture built here with MARKER records gives
 * each test window exactly the figures its allocations make, including
 * the odd cases (an END with no test open, a BEGIN inside a test, a test
 * still open when its process ends), and a damaged file is refused.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/block.h"
#include "capture/codec.h"
#include "capture/format.h"
#include "capture/header.h"
#include "ci/windows.h"
#include "common/strbuf.h"
#include "tests/unit/unit.h"

struct builder {
	uint8_t raw[4096], *p;
	uint64_t prev;
};

static void alloc(struct builder *b, uint64_t addr, uint64_t size, uint32_t stack)
{
	*b->p++ = CAPTURE_REC_ALLOC + CAPTURE_ALLOC_MALLOC;
	b->p = codec_put_svarint(b->p, (int64_t)(addr - b->prev));
	b->p = codec_put_varint(b->p, size);
	b->p = codec_put_varint(b->p, stack);
	b->prev = addr;
}

static void release(struct builder *b, uint64_t addr)
{
	*b->p++ = CAPTURE_REC_FREE + CAPTURE_ALLOC_FREE;
	b->p = codec_put_svarint(b->p, (int64_t)(addr - b->prev));
	b->prev = addr;
}

static void marker(struct builder *b, unsigned kind, const char *label)
{
	*b->p++ = CAPTURE_REC_MARKER;
	b->p = codec_put_varint(b->p, kind);
	b->p = codec_put_string(b->p, label, strlen(label), 100);
}

static char *build(void)
{
	char a0[] = "./prog";
	char *argv[] = { a0 };
	struct capture_header h = { .flags = CAPTURE_F_NATIVE, .rss_interval_ms = 10, .pid = 5, .start_ns = 1,
				    .argc = 1, .argv = argv };
	struct builder b = { .p = NULL };
	struct strbuf file = STRBUF_INIT;
	uint8_t out[8192];
	char *path = strdup("/tmp/memray-test-windows-XXXXXX");
	int fd = mkstemp(path);

	b.p = b.raw;
	capture_header_encode(&file, &h);
	*b.p++ = CAPTURE_REC_SEGMENT;
	b.p = codec_put_varint(b.p, 5);
	b.p = codec_put_varint(b.p, 1);
	b.p = codec_put_varint(b.p, 2);
	b.p = codec_put_varint(b.p, CAPTURE_SEG_START);
	b.p = codec_put_string(b.p, "/bin/prog", 9, 100);
	b.p = codec_put_varint(b.p, 1);
	b.p = codec_put_string(b.p, "./prog", 6, 100);
	for (int i = 0; i < 2; i++) {	/* stacks 1 and 2 */
		*b.p++ = CAPTURE_REC_FRAME;
		b.p = codec_put_varint(b.p, 0);
		b.p = codec_put_svarint(b.p, 0x401000 + 0x10 * i);
	}
	*b.p++ = CAPTURE_REC_THREAD;
	b.p = codec_put_varint(b.p, 5);
	marker(&b, CAPTURE_MARK_TEST_END, "");	/* no test open: ignored */
	alloc(&b, 0x1000, 4000, 1);		/* before any test */
	marker(&b, CAPTURE_MARK_TEST_BEGIN, "t1");
	alloc(&b, 0x2000, 1000, 1);
	alloc(&b, 0x3000, 500, 2);
	release(&b, 0x2000);
	alloc(&b, 0x4000, 200, 2);
	release(&b, 0x1000);			/* older than t1: does not lower its figures */
	marker(&b, CAPTURE_MARK_TEST_END, "");
	marker(&b, CAPTURE_MARK_TEST_BEGIN, "t2\x1flimit_memory=1 MB");
	alloc(&b, 0x5000, 300, 1);
	marker(&b, CAPTURE_MARK_TEST_BEGIN, "t3");	/* ends t2 */
	alloc(&b, 0x6000, 50, 1);
	*b.p++ = CAPTURE_REC_END;			/* t3 still open */
	for (int i = 0; i < 7; i++)
		b.p = codec_put_varint(b.p, i == 0 ? CAPTURE_END_EXIT : 6);
	capture_block_encode(out, b.raw, (size_t)(b.p - b.raw), 1);
	strbuf_add(&file, out, CAPTURE_BLOCK_HEADER + codec_get_u32(out + 12));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, file.buf, file.len), (ssize_t)file.len);
	close(fd);
	strbuf_release(&file);
	return path;
}

START_TEST(windows_figures)
{
	char *path = build();
	struct ci_windows ws;
	const struct ci_window *w;

	ck_assert_int_eq(ci_windows_read(&ws, path), 0);
	unlink(path);
	free(path);
	ck_assert_uint_eq(ws.n, 3);
	w = &ws.w[0];
	ck_assert_str_eq(w->name, "t1");
	ck_assert(w->peak == 1500 && w->peak_count == 2);
	ck_assert(w->allocations == 3 && w->bytes == 1700);
	ck_assert(w->leaked == 700 && w->leaked_count == 2 && !w->is_unfinished);
	/* at the peak: stack 1 held 1000, stack 2 held 500; at the end only stack 2, 700 */
	ck_assert_uint_eq(w->nat_peak, 2);
	ck_assert(w->at_peak[0].stack == 1 && w->at_peak[0].bytes == 1000 && w->at_peak[1].bytes == 500);
	ck_assert_uint_eq(w->nleaks, 1);
	ck_assert(w->leaks[0].stack == 2 && w->leaks[0].bytes == 700 && w->leaks[0].count == 2);
	w = &ws.w[1];
	ck_assert_str_eq(w->name, "t2\x1flimit_memory=1 MB");
	ck_assert(w->peak == 300 && w->leaked == 300 && w->allocations == 1 && w->is_unfinished);
	w = &ws.w[2];
	ck_assert_str_eq(w->name, "t3");
	ck_assert(w->peak == 50 && w->leaked == 50 && w->is_unfinished);
	ci_windows_release(&ws);
	ck_assert_uint_eq(ws.n, 0);
}
END_TEST

START_TEST(not_a_capture)
{
	char path[] = "/tmp/memray-test-windows-XXXXXX";
	int fd = mkstemp(path);
	struct ci_windows ws;
	FILE *quiet = freopen("/dev/null", "w", stderr);

	ck_assert_ptr_nonnull(quiet);
	ck_assert_int_eq(write(fd, "hello, world\n", 13), 13);
	close(fd);
	ck_assert_int_eq(ci_windows_read(&ws, path), -1);
	ck_assert_uint_eq(ws.n, 0);
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("windows");
	TCase *tc = tcase_create("read");

	tcase_add_test(tc, windows_figures);
	tcase_add_test(tc, not_a_capture);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
