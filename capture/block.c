#include "capture/block.h"

#include <lz4.h>
#include <string.h>
#include <xxhash.h>

#include "capture/codec.h"
#include "capture/format.h"

size_t capture_block_bound(size_t raw_len)
{
	size_t lz = (size_t)LZ4_compressBound((int)raw_len);

	return CAPTURE_BLOCK_HEADER + (lz > raw_len ? lz : raw_len);
}

size_t capture_block_encode(uint8_t *out, const uint8_t *raw, size_t raw_len, int compress)
{
	uint8_t *payload = out + CAPTURE_BLOCK_HEADER;
	unsigned encoding = CAPTURE_ENC_RAW;
	size_t stored = raw_len;

	if (compress && raw_len) {
		int n = LZ4_compress_default((const char *)raw, (char *)payload, (int)raw_len,
					     LZ4_compressBound((int)raw_len));
		if (n > 0 && (size_t)n < raw_len) {
			encoding = CAPTURE_ENC_LZ4;
			stored = (size_t)n;
		}
	}
	if (encoding == CAPTURE_ENC_RAW)
		memcpy(payload, raw, raw_len);
	memcpy(out, CAPTURE_BLOCK_MAGIC, 4);
	out[8] = (uint8_t)encoding;
	out[9] = out[10] = out[11] = 0;
	codec_put_u32(out + 12, (uint32_t)stored);
	codec_put_u32(out + 16, (uint32_t)raw_len);
	codec_put_u32(out + 4, XXH32(out + 8, CAPTURE_BLOCK_HEADER - 8 + stored, 0));
	return CAPTURE_BLOCK_HEADER + stored;
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
	if (bi->encoding > CAPTURE_ENC_LZ4 || hdr[9] || hdr[10] || hdr[11]) {
		*why = "unknown block encoding";
		return -1;
	}
	if (bi->raw_len > CAPTURE_BLOCK_RAW_MAX || bi->stored_len > CAPTURE_BLOCK_STORED_MAX ||
	    (bi->encoding == CAPTURE_ENC_RAW && bi->stored_len != bi->raw_len)) {
		*why = "impossible block size";
		return -1;
	}
	return 0;
}

int capture_block_decode(const uint8_t *block, const struct capture_block_info *bi, uint8_t *raw, const char **why)
{
	const uint8_t *payload = block + CAPTURE_BLOCK_HEADER;

	if (!CAPTURE_FUZZING && XXH32(block + 8, CAPTURE_BLOCK_HEADER - 8 + bi->stored_len, 0) != bi->checksum) {
		*why = "block checksum mismatch";
		return -1;
	}
	if (bi->encoding == CAPTURE_ENC_RAW) {
		memcpy(raw, payload, bi->raw_len);
		return 0;
	}
	if (LZ4_decompress_safe((const char *)payload, (char *)raw, (int)bi->stored_len,
				(int)bi->raw_len) != (int)bi->raw_len) {
		*why = "lz4 payload does not decode";
		return -1;
	}
	return 0;
}
