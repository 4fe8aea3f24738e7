#include "capture/block.h"

#include <lz4.h>
#include <lz4hc.h>
#include <string.h>
#include <xxhash.h>

#include "capture/codec.h"
#include "capture/format.h"

size_t capture_block_bound(size_t raw_len)
{
	size_t lz = (size_t)LZ4_compressBound((int)raw_len);

	return CAPTURE_BLOCK_HEADER + (lz > raw_len ? lz : raw_len);
}

/*
 * A first pass that shrinks a block 64 times or more has met lz4's limit
 * (a match costs a byte per 255 bytes of length): what it wrote is mostly
 * runs of 255, which a second pass folds. A program repeating one
 * allocation: 124 KB once, 7 KB twice, for 5 million pairs.
 */
#define TWICE_RATIO 64

size_t capture_block_hc_state_size(void)
{
	return (size_t)LZ4_sizeofStateHC();
}

void capture_block_hc_init(void *hc_state)
{
	LZ4_initStreamHC(hc_state, (size_t)LZ4_sizeofStateHC());
}

/* one block with the high-compression state: reset the fast way, no history kept */
static int compress_hc(void *hc_state, const uint8_t *raw, uint8_t *dst, int raw_len, int bound, int level)
{
	LZ4_resetStreamHC_fast(hc_state, level);
	return LZ4_compress_HC_continue(hc_state, (const char *)raw, (char *)dst, raw_len, bound);
}

/* capture_block_encode(), or with a high-compression level and its state */
static size_t encode(uint8_t *out, const uint8_t *raw, size_t raw_len, int compress, int level, void *hc_state)
{
	uint8_t *payload = out + CAPTURE_BLOCK_HEADER;
	unsigned encoding = CAPTURE_ENC_RAW;
	size_t stored = raw_len, inner = 0;

	if (compress && raw_len) {
		int bound = LZ4_compressBound((int)raw_len);
		int n = hc_state ? compress_hc(hc_state, raw, payload, (int)raw_len, bound, level)
				 : LZ4_compress_default((const char *)raw, (char *)payload, (int)raw_len, bound);
		if (n > 0 && (size_t)n < raw_len) {
			encoding = CAPTURE_ENC_LZ4;
			stored = (size_t)n;
		}
		if (n > 0 && (size_t)n <= raw_len / TWICE_RATIO) {
			/* after the first pass there is room for the second's bound: n is small */
			int m = LZ4_compress_default((const char *)payload, (char *)payload + n, n, LZ4_compressBound(n));

			if (m > 0 && m < n) {
				memmove(payload, payload + n, (size_t)m);
				encoding = CAPTURE_ENC_LZ4_TWICE;
				inner = (size_t)n;
				stored = (size_t)m;
			}
		}
	}
	if (encoding == CAPTURE_ENC_RAW)
		memcpy(payload, raw, raw_len);
	memcpy(out, CAPTURE_BLOCK_MAGIC, 4);
	out[8] = (uint8_t)encoding;
	out[9] = (uint8_t)inner;
	out[10] = (uint8_t)(inner >> 8);
	out[11] = (uint8_t)(inner >> 16);
	codec_put_u32(out + 12, (uint32_t)stored);
	codec_put_u32(out + 16, (uint32_t)raw_len);
	codec_put_u32(out + 4, XXH32(out + 8, CAPTURE_BLOCK_HEADER - 8 + stored, 0));
	return CAPTURE_BLOCK_HEADER + stored;
}

size_t capture_block_encode(uint8_t *out, const uint8_t *raw, size_t raw_len, int compress)
{
	return encode(out, raw, raw_len, compress, 0, NULL);
}

size_t capture_block_encode_hc(uint8_t *out, const uint8_t *raw, size_t raw_len, int level, void *hc_state)
{
	return encode(out, raw, raw_len, 1, level, hc_state);
}

int capture_block_parse_header(const uint8_t *hdr, struct capture_block_info *bi, const char **why)
{
	if (memcmp(hdr, CAPTURE_BLOCK_MAGIC, 4)) {
		*why = "bad block magic";
		return -1;
	}
	bi->checksum = codec_get_u32(hdr + 4);
	bi->encoding = hdr[8];
	bi->stored_len = codec_get_u32(hdr + 12);
	bi->raw_len = codec_get_u32(hdr + 16);
	bi->inner_len = (uint32_t)hdr[9] | (uint32_t)hdr[10] << 8 | (uint32_t)hdr[11] << 16;
	if (bi->encoding > CAPTURE_ENC_LZ4_TWICE || (bi->encoding != CAPTURE_ENC_LZ4_TWICE && bi->inner_len)) {
		*why = "unknown block encoding";
		return -1;
	}
	if (bi->raw_len > CAPTURE_BLOCK_RAW_MAX || bi->stored_len > CAPTURE_BLOCK_STORED_MAX ||
	    (bi->encoding == CAPTURE_ENC_RAW && bi->stored_len != bi->raw_len) ||
	    (bi->encoding == CAPTURE_ENC_LZ4_TWICE &&
	     (!bi->inner_len || bi->inner_len > (uint32_t)LZ4_compressBound((int)bi->raw_len)))) {
		*why = "impossible block size";
		return -1;
	}
	return 0;
}

int capture_block_decode(const uint8_t *block, const struct capture_block_info *bi, uint8_t *raw, uint8_t *inner,
			 const char **why)
{
	const uint8_t *payload = block + CAPTURE_BLOCK_HEADER;
	uint32_t stored = bi->stored_len;

	if (!CAPTURE_FUZZING && XXH32(block + 8, CAPTURE_BLOCK_HEADER - 8 + stored, 0) != bi->checksum) {
		*why = "block checksum mismatch";
		return -1;
	}
	if (bi->encoding == CAPTURE_ENC_RAW) {
		memcpy(raw, payload, bi->raw_len);
		return 0;
	}
	if (bi->encoding == CAPTURE_ENC_LZ4_TWICE) {
		if (LZ4_decompress_safe((const char *)payload, (char *)inner, (int)stored, (int)bi->inner_len) !=
		    (int)bi->inner_len) {
			*why = "the outer lz4 payload does not decode";
			return -1;
		}
		payload = inner;
		stored = bi->inner_len;
	}
	if (LZ4_decompress_safe((const char *)payload, (char *)raw, (int)stored, (int)bi->raw_len) != (int)bi->raw_len) {
		*why = "lz4 payload does not decode";
		return -1;
	}
	return 0;
}
