/*
 * Unit tests of capture/codec.h, capture/block.c and capture/header.c:
 * round trips at the edges, and every malformed input refused.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "capture/block.h"
#include "capture/codec.h"
#include "capture/format.h"
#include "capture/header.h"
#include "common/strbuf.h"
#include "tests/unit/unit.h"

static const uint64_t samples[] = { 0, 1, 127, 128, 300, 16383, 16384, (1ull << 32) - 1, 1ull << 32,
				    (1ull << 63) - 1, 1ull << 63, UINT64_MAX };

START_TEST(varint_round_trip)
{
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		uint8_t buf[CODEC_VARINT_MAX];
		uint8_t *end = codec_put_varint(buf, samples[i]);
		struct codec_in in = { buf, end, 0 };

		ck_assert_uint_le((size_t)(end - buf), CODEC_VARINT_MAX);
		ck_assert_uint_eq(codec_get_varint(&in), samples[i]);
		ck_assert_int_eq(in.is_bad, 0);
		ck_assert_ptr_eq(in.p, end);
	}
}
END_TEST

START_TEST(varint_worked_example)
{
	/* the example of format.h: 300 is 0xAC 0x02 */
	uint8_t buf[CODEC_VARINT_MAX];

	ck_assert_int_eq(codec_put_varint(buf, 300) - buf, 2);
	ck_assert_uint_eq(buf[0], 0xAC);
	ck_assert_uint_eq(buf[1], 0x02);
	ck_assert_uint_eq(codec_zigzag(-1), 1);
	ck_assert_uint_eq(codec_zigzag(1), 2);
	ck_assert_uint_eq(codec_zigzag(-2), 3);
	ck_assert_uint_eq(codec_zigzag(48), 96);
	ck_assert_int_eq(codec_unzigzag(codec_zigzag(INT64_MIN)), INT64_MIN);
	ck_assert_int_eq(codec_unzigzag(codec_zigzag(INT64_MAX)), INT64_MAX);
}
END_TEST

START_TEST(varint_malformed)
{
	/* cut short */
	uint8_t cut[] = { 0x80, 0x80 };
	struct codec_in in = { cut, cut + sizeof(cut), 0 };

	ck_assert_uint_eq(codec_get_varint(&in), 0);
	ck_assert_int_eq(in.is_bad, 1);
	/* eleven continuation bytes: more than 64 bits */
	uint8_t longer[11];
	memset(longer, 0xff, sizeof(longer));
	struct codec_in in2 = { longer, longer + sizeof(longer), 0 };
	codec_get_varint(&in2);
	ck_assert_int_eq(in2.is_bad, 1);
	/* a tenth byte above 1 overflows */
	uint8_t over[10];
	memset(over, 0xff, 9);
	over[9] = 0x02;
	struct codec_in in3 = { over, over + sizeof(over), 0 };
	codec_get_varint(&in3);
	ck_assert_int_eq(in3.is_bad, 1);
	/* empty input */
	struct codec_in in4 = { cut, cut, 0 };
	codec_get_varint(&in4);
	ck_assert_int_eq(in4.is_bad, 1);
}
END_TEST

START_TEST(string_bounds)
{
	uint8_t buf[64], *end = codec_put_string(buf, "hello", 5, 100);
	struct codec_in in = { buf, end, 0 };
	size_t len;
	const char *s = codec_get_string(&in, &len, 100);

	ck_assert_int_eq(in.is_bad, 0);
	ck_assert_uint_eq(len, 5);
	ck_assert_int_eq(memcmp(s, "hello", 5), 0);
	/* longer than the reader allows */
	struct codec_in in2 = { buf, end, 0 };
	codec_get_string(&in2, &len, 4);
	ck_assert_int_eq(in2.is_bad, 1);
	/* a length past the end */
	struct codec_in in3 = { buf, end - 1, 0 };
	codec_get_string(&in3, &len, 100);
	ck_assert_int_eq(in3.is_bad, 1);
	/* the writer cuts at its maximum */
	end = codec_put_string(buf, "abcdefgh", 8, 3);
	ck_assert_int_eq(end - buf, 4);
}
END_TEST

/* the byte at i of a test block: 'a' but every fourth (lz4 shrinks it a few times), or a 6-byte record repeated (over 64 times) */
static uint8_t block_byte(size_t i, int repeats)
{
	static const uint8_t pair[6] = { 0x11, 0x00, 0x40, 0x05, 0x21, 0x00 };	/* ALLOC, FREE */

	return repeats ? pair[i % 6] : (uint8_t)(i % 4 == 0 ? (i * 2654435761u) >> 13 : 'a');
}

static size_t make_block(uint8_t *out, size_t raw_len, int compress, int repeats)
{
	uint8_t *raw = malloc(raw_len);

	for (size_t i = 0; i < raw_len; i++)
		raw[i] = block_byte(i, repeats);
	size_t n = capture_block_encode(out, raw, raw_len, compress);
	free(raw);
	return n;
}

/* raw, lz4, and lz4 twice: what each of the three kinds of block becomes */
static const struct {
	int compress, repeats;
	size_t raw_len;
	unsigned encoding;
} kinds[] = {
	{ 0, 0, 100000, CAPTURE_ENC_RAW },
	{ 1, 0, 100000, CAPTURE_ENC_LZ4 },
	{ 1, 1, 1u << 20, CAPTURE_ENC_LZ4_TWICE },
};

START_TEST(block_round_trip)
{
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t raw_len = kinds[k].raw_len;
		uint8_t *out = malloc(capture_block_bound(raw_len)), *back = malloc(raw_len);
		uint8_t *inner = malloc(capture_block_bound(raw_len));
		size_t n = make_block(out, raw_len, kinds[k].compress, kinds[k].repeats);
		struct capture_block_info bi;
		const char *why = NULL;

		ck_assert_int_eq(capture_block_parse_header(out, &bi, &why), 0);
		ck_assert_uint_eq(bi.raw_len, raw_len);
		ck_assert_uint_eq(CAPTURE_BLOCK_HEADER + bi.stored_len, n);
		ck_assert_uint_eq(bi.encoding, kinds[k].encoding);
		if (kinds[k].compress)
			ck_assert_uint_lt(n, raw_len / 2);
		if (kinds[k].encoding == CAPTURE_ENC_LZ4_TWICE) {
			/* one pass cannot go below raw/255; the second folds the runs it leaves */
			ck_assert_uint_gt(bi.inner_len, raw_len / 256);
			ck_assert_uint_lt(bi.stored_len, raw_len / 2000);
		} else {
			ck_assert_uint_eq(bi.inner_len, 0);
		}
		ck_assert_int_eq(capture_block_decode(out, &bi, back, inner, &why), 0);
		for (size_t i = 0; i < raw_len; i++)
			ck_assert_uint_eq(back[i], block_byte(i, kinds[k].repeats));
		free(out);
		free(back);
		free(inner);
	}
}
END_TEST

/* the high-compression mode: the same block format, smaller on records that repeat with variations */
START_TEST(block_high_compression)
{
	size_t raw_len = 200000;
	uint8_t *raw = malloc(raw_len), *fast = malloc(capture_block_bound(raw_len));
	uint8_t *hc = malloc(capture_block_bound(raw_len)), *back = malloc(raw_len), *inner = malloc(raw_len);
	void *state = aligned_alloc(8, (capture_block_hc_state_size() + 7) & ~(size_t)7);
	struct capture_block_info bi;
	const char *why = NULL;
	uint32_t x = 1;

	for (size_t i = 0; i < raw_len; i++) {	/* 'a's with a byte of noise in every 8 */
		x = x * 1103515245u + 12345u;
		raw[i] = i % 8 ? 'a' : (uint8_t)(x >> 24 & 7);
	}
	capture_block_hc_init(state);
	size_t nfast = capture_block_encode(fast, raw, raw_len, 1);
	size_t nhc = capture_block_encode_hc(hc, raw, raw_len, 6, state);

	ck_assert_uint_lt(nhc, nfast);
	ck_assert_int_eq(capture_block_parse_header(hc, &bi, &why), 0);
	ck_assert_uint_eq(bi.encoding, CAPTURE_ENC_LZ4);
	ck_assert_int_eq(capture_block_decode(hc, &bi, back, inner, &why), 0);
	ck_assert_mem_eq(back, raw, raw_len);
	free(raw);
	free(fast);
	free(hc);
	free(back);
	free(inner);
	free(state);
}
END_TEST

/* one high-compression state for many blocks: each block still decodes alone */
START_TEST(block_high_compression_state_keeps_no_history)
{
	size_t raw_len = 30000;	/* within lz4's 64 KiB window of the block before */
	uint8_t *a = malloc(raw_len), *b = malloc(raw_len), *out = malloc(capture_block_bound(raw_len));
	uint8_t *back = malloc(raw_len), *inner = malloc(raw_len);
	void *state = aligned_alloc(8, (capture_block_hc_state_size() + 7) & ~(size_t)7);
	struct capture_block_info bi;
	const char *why = NULL;
	uint32_t x = 7;

	for (size_t i = 0; i < raw_len; i++) {	/* noise: no match inside a block, only across */
		x = x * 1103515245u + 12345u;
		a[i] = (uint8_t)(x >> 24);
	}
	memcpy(b, a, raw_len);
	capture_block_hc_init(state);
	capture_block_encode_hc(out, a, raw_len, 6, state);
	size_t n = capture_block_encode_hc(out, b, raw_len, 6, state);	/* a copy of the block before */

	ck_assert_uint_gt(n, raw_len);	/* stored raw: the first block was no dictionary */
	ck_assert_int_eq(capture_block_parse_header(out, &bi, &why), 0);
	ck_assert_int_eq(capture_block_decode(out, &bi, back, inner, &why), 0);
	ck_assert_mem_eq(back, b, raw_len);
	free(a);
	free(b);
	free(out);
	free(back);
	free(inner);
	free(state);
}
END_TEST

START_TEST(block_every_bit_flip_is_caught)
{
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t raw_len = kinds[k].encoding == CAPTURE_ENC_LZ4_TWICE ? 30000 : 300;
		uint8_t *out = malloc(capture_block_bound(raw_len)), *back = malloc(raw_len);
		uint8_t *inner = malloc(capture_block_bound(raw_len));
		size_t n = make_block(out, raw_len, kinds[k].compress, kinds[k].repeats);

		ck_assert_uint_eq(out[8], kinds[k].encoding);
		for (size_t bit = 0; bit < n * 8; bit++) {
			struct capture_block_info bi;
			const char *why = NULL;
			int ok;

			out[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			/* as a reader does: a block must fit in what the file holds and what it allocated */
			ok = capture_block_parse_header(out, &bi, &why) == 0;
			if (ok && (bi.raw_len > raw_len || bi.inner_len > capture_block_bound(raw_len))) {
				why = "a size bigger than this block can be";
				ok = 0;
			}
			if (ok && CAPTURE_BLOCK_HEADER + (size_t)bi.stored_len > n) {
				why = "block runs past the end of the file";
				ok = 0;
			}
			ok = ok && capture_block_decode(out, &bi, back, inner, &why) == 0;
			ck_assert_msg(!ok, "flip of bit %zu went unnoticed", bit);
			ck_assert_ptr_nonnull(why);
			out[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		free(out);
		free(back);
		free(inner);
	}
}
END_TEST

START_TEST(header_round_trip)
{
	char a0[] = "./prog", a1[] = "arg one", a2[] = "";
	char *argv[] = { a0, a1, a2 };
	struct capture_header h = { .flags = CAPTURE_F_LZ4 | CAPTURE_F_NATIVE, .rss_interval_ms = 10,
				    .pid = 4242, .start_ns = 1795574476869587689ull, .argc = 3, .argv = argv };
	struct strbuf sb = STRBUF_INIT;
	struct capture_header back;
	const char *why = NULL;
	char whybuf[128];

	ck_assert_int_eq(capture_header_encode(&sb, &h), 0);
	ck_assert_uint_eq(capture_header_size((uint8_t *)sb.buf, sb.len, &why, whybuf, sizeof(whybuf)),
			  sb.len);
	ck_assert_int_eq(capture_header_decode((uint8_t *)sb.buf, sb.len, &back, &why), 0);
	ck_assert_uint_eq(back.pid, 4242);
	ck_assert_uint_eq(back.flags, CAPTURE_F_LZ4 | CAPTURE_F_NATIVE);
	ck_assert_uint_eq(back.start_ns, 1795574476869587689ull);
	ck_assert_int_eq(back.argc, 3);
	ck_assert_str_eq(back.argv[1], "arg one");
	ck_assert_str_eq(back.argv[2], "");
	capture_header_release(&back);
	strbuf_release(&sb);
}
END_TEST

START_TEST(header_refusals)
{
	char a0[] = "x";
	char *argv[] = { a0 };
	struct capture_header h = { .argc = 1, .argv = argv };
	struct strbuf sb = STRBUF_INIT;
	struct capture_header back;
	const char *why = NULL;
	char whybuf[128];
	uint8_t *b;

	capture_header_encode(&sb, &h);
	b = (uint8_t *)sb.buf;
	/* not a capture */
	ck_assert_uint_eq(capture_header_size((const uint8_t *)"hello world", 11, &why, whybuf, sizeof(whybuf)), 0);
	ck_assert_str_eq(why, "not a memray capture file (bad magic)");
	/* empty */
	ck_assert_uint_eq(capture_header_size(b, 0, &why, whybuf, sizeof(whybuf)), 0);
	/* a newer major version */
	b[8] = 2;
	b[10] = 0;
	ck_assert_uint_eq(capture_header_size(b, sb.len, &why, whybuf, sizeof(whybuf)), 0);
	ck_assert_str_eq(why, "capture format version 2.0 is newer than this memray reads (1.x)");
	b[8] = 1;
	/* truncated fixed part */
	ck_assert_uint_eq(capture_header_size(b, 20, &why, whybuf, sizeof(whybuf)), 0);
	ck_assert_str_eq(why, "file header is truncated");
	/* a flipped bit in the checked part */
	b[sb.len - 1] ^= 1;
	ck_assert_int_eq(capture_header_decode(b, sb.len, &back, &why), -1);
	ck_assert_str_eq(why, "file header checksum mismatch");
	strbuf_release(&sb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("capture_codec");
	TCase *tc = tcase_create("codec");

	tcase_set_timeout(tc, 60);	/* a block round trip takes 3-5 s under the sanitizers */
	tcase_add_test(tc, varint_round_trip);
	tcase_add_test(tc, varint_worked_example);
	tcase_add_test(tc, varint_malformed);
	tcase_add_test(tc, string_bounds);
	tcase_add_test(tc, block_round_trip);
	tcase_add_test(tc, block_high_compression);
	tcase_add_test(tc, block_high_compression_state_keeps_no_history);
	tcase_add_test(tc, block_every_bit_flip_is_caught);
	tcase_add_test(tc, header_round_trip);
	tcase_add_test(tc, header_refusals);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
