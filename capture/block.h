/*
 * capture/block: the block framing of format.h (checksum, lz4 or raw).
 *
 * Neither function allocates: the tracker's writer thread encodes into
 * buffers it mapped at start-up, and the reader decodes into one it sized
 * from the validated header.
 */
#ifndef CAPTURE_BLOCK_H
#define CAPTURE_BLOCK_H

#include <stddef.h>
#include <stdint.h>

/* the room capture_block_encode() needs for raw_len payload bytes */
size_t capture_block_bound(size_t raw_len);

/*
 * Write the block for raw[0, raw_len) into out (capture_block_bound bytes
 * of room), lz4-compressed if `compress` and it helps, twice if that helps
 * more. raw_len must be at most CAPTURE_BLOCK_RAW_MAX. Returns the block's
 * total length.
 */
size_t capture_block_encode(uint8_t *out, const uint8_t *raw, size_t raw_len, int compress);

/*
 * The same, compressed with lz4's high-compression mode at `level`
 * (LZ4HC_CLEVEL_MIN..MAX): the same block format, read as fast, written
 * slower. hc_state has capture_block_hc_state_size() bytes, 8-aligned,
 * made ready once by capture_block_hc_init(). Each block stands alone;
 * the state is only reused, so that a block does not pay for clearing
 * its 256 KiB (lz4's fast reset).
 */
size_t capture_block_encode_hc(uint8_t *out, const uint8_t *raw, size_t raw_len, int level, void *hc_state);
size_t capture_block_hc_state_size(void);
void capture_block_hc_init(void *hc_state);

struct capture_block_info {
	unsigned encoding;
	uint32_t checksum;
	uint32_t stored_len;
	uint32_t raw_len;
	uint32_t inner_len;	/* CAPTURE_ENC_LZ4_TWICE: the inner lz4 block's size; else 0 */
};

/*
 * Validate the CAPTURE_BLOCK_HEADER bytes at hdr. Returns 0, or -1 with
 * *why set to a static description of what is wrong.
 */
int capture_block_parse_header(const uint8_t *hdr, struct capture_block_info *bi, const char **why);

/*
 * Check the checksum of the whole block at `block` (header and stored
 * payload) and decode its payload into raw, which has room for
 * bi->raw_len bytes, through inner, which has room for bi->inner_len
 * (unused when that is 0). Returns 0, or -1 with *why set.
 */
int capture_block_decode(const uint8_t *block, const struct capture_block_info *bi, uint8_t *raw, uint8_t *inner,
			 const char **why);

#endif
