/*
 * capture/codec: the byte-level primitives of the capture format (varints,
 * zigzag, little-endian fixed integers, strings), shared by the tracker's
 * encoder and the reader's decoder. See format.h for the format itself.
 *
 * Encoders write into memory the caller has sized (CODEC_VARINT_MAX per
 * varint) and return the advanced pointer; they never fail and never
 * allocate, so the tracker may call them on its hot path. Decoders work on
 * a struct codec_in cursor and never read past its end: on malformed input
 * they set in->is_bad and return 0, and the caller checks is_bad once after
 * a whole record.
 */
#ifndef CAPTURE_CODEC_H
#define CAPTURE_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CODEC_VARINT_MAX 10

static inline uint8_t *codec_put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static inline uint64_t codec_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t codec_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline uint8_t *codec_put_svarint(uint8_t *p, int64_t v)
{
	return codec_put_varint(p, codec_zigzag(v));
}

/* a string of at most `max` bytes (longer ones are cut) */
static inline uint8_t *codec_put_string(uint8_t *p, const char *s, size_t len, size_t max)
{
	if (len > max)
		len = max;
	p = codec_put_varint(p, len);
	memcpy(p, s, len);
	return p + len;
}

static inline void codec_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void codec_put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void codec_put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t codec_get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t codec_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t codec_get_u64(const uint8_t *p)
{
	return (uint64_t)codec_get_u32(p) | (uint64_t)codec_get_u32(p + 4) << 32;
}

struct codec_in {
	const uint8_t *p;
	const uint8_t *end;
	int is_bad;
};

static inline uint64_t codec_get_varint(struct codec_in *in)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (in->p >= in->end)
			break;
		uint8_t b = *in->p++;
		if (shift == 63 && b > 1)
			break;	/* more than 64 bits */
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	in->is_bad = 1;
	in->p = in->end;
	return 0;
}

static inline int64_t codec_get_svarint(struct codec_in *in)
{
	return codec_unzigzag(codec_get_varint(in));
}

static inline uint8_t codec_get_byte(struct codec_in *in)
{
	if (in->p >= in->end) {
		in->is_bad = 1;
		return 0;
	}
	return *in->p++;
}

/*
 * A string of at most `max` bytes; *len receives its length and the
 * return value points into the input (not NUL-terminated).
 */
static inline const char *codec_get_string(struct codec_in *in, size_t *len, size_t max)
{
	uint64_t n = codec_get_varint(in);

	if (in->is_bad || n > max || n > (uint64_t)(in->end - in->p)) {
		in->is_bad = 1;
		in->p = in->end;
		*len = 0;
		return "";
	}
	const char *s = (const char *)in->p;
	in->p += n;
	*len = (size_t)n;
	return s;
}

#endif
