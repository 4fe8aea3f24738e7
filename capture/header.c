#include "capture/header.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "capture/codec.h"
#include "capture/format.h"
#include "capture/mapmem.h"
#include "common/strbuf.h"

static int put_string(struct strbuf *sb, const char *s, size_t len)
{
	uint8_t tmp[CODEC_VARINT_MAX];

	if (strbuf_add(sb, tmp, (size_t)(codec_put_varint(tmp, len) - tmp)) < 0)
		return -1;
	return strbuf_add(sb, s, len);
}

int capture_args_encode(struct strbuf *sb, int argc, const char *const *argv)
{
	uint8_t tmp[CODEC_VARINT_MAX];
	size_t text = 0, *lens, cut = 0;
	char marker[64];
	int kept = 0, ret = -1;
	struct strbuf lens_sb = STRBUF_INIT;	/* a strbuf: in the tracker, not the program's heap */

	if (argc <= 0)
		return strbuf_add(sb, tmp, (size_t)(codec_put_varint(tmp, 0) - tmp));
	if (strbuf_grow(&lens_sb, (size_t)(argc < CAPTURE_ARGS_MAX ? argc : CAPTURE_ARGS_MAX) * sizeof(*lens)) < 0)
		return -1;
	lens = (size_t *)(void *)lens_sb.buf;
	for (int i = 0; i < argc; i++) {
		size_t len = strlen(argv[i]), keep = len;

		if (keep > CAPTURE_STRING_MAX)
			keep = CAPTURE_STRING_MAX;
		if (keep > CAPTURE_ARGV_TEXT_MAX - text || kept == CAPTURE_ARGS_MAX - 1)
			keep = kept == CAPTURE_ARGS_MAX - 1 ? 0 : CAPTURE_ARGV_TEXT_MAX - text;
		if (keep || (!cut && kept < CAPTURE_ARGS_MAX - 1 && !len))
			lens[kept++] = keep;
		text += keep;
		cut += len - keep;
	}
	if (strbuf_add(sb, tmp, (size_t)(codec_put_varint(tmp, (uint64_t)kept + (cut != 0)) - tmp)) < 0)
		goto out;
	for (int i = 0; i < kept; i++)
		if (put_string(sb, argv[i], lens[i]) < 0)
			goto out;
	if (cut && put_string(sb, marker, (size_t)snprintf(marker, sizeof(marker), "... (%zu more bytes)", cut)) < 0)
		goto out;
	ret = 0;
out:
	strbuf_release(&lens_sb);
	return ret;
}

int capture_header_encode(struct strbuf *sb, const struct capture_header *h)
{
	size_t start = sb->len;
	uint8_t fixed[CAPTURE_HEADER_FIXED];
	uint8_t *hdr;

	memcpy(fixed, CAPTURE_MAGIC, CAPTURE_MAGIC_LEN);
	codec_put_u16(fixed + 8, CAPTURE_VERSION_MAJOR);
	codec_put_u16(fixed + 10, CAPTURE_VERSION_MINOR);
	codec_put_u32(fixed + 12, 0);
	codec_put_u32(fixed + 16, 0);
	codec_put_u32(fixed + 20, h->flags);
	codec_put_u32(fixed + 24, h->rss_interval_ms);
	codec_put_u32(fixed + 28, h->pid);
	codec_put_u64(fixed + 32, h->start_ns);
	if (strbuf_add(sb, fixed, sizeof(fixed)) < 0)
		return -1;
	if (capture_args_encode(sb, h->argc, (const char *const *)h->argv) < 0)
		return -1;
	hdr = (uint8_t *)sb->buf + start;
	codec_put_u32(hdr + 12, (uint32_t)(sb->len - start));
	codec_put_u32(hdr + 16, XXH32(hdr + 20, sb->len - start - 20, 0));
	return 0;
}

size_t capture_header_size(const uint8_t *buf, size_t len, const char **why, char *whybuf, size_t whylen)
{
	unsigned major, minor;
	uint32_t size;

	if (len < CAPTURE_MAGIC_LEN || memcmp(buf, CAPTURE_MAGIC, CAPTURE_MAGIC_LEN)) {
		*why = "not a memray capture file (bad magic)";
		return 0;
	}
	if (len < CAPTURE_HEADER_FIXED) {
		*why = "file header is truncated";
		return 0;
	}
	major = codec_get_u16(buf + 8);
	minor = codec_get_u16(buf + 10);
	if (major != CAPTURE_VERSION_MAJOR) {
		snprintf(whybuf, whylen, "capture format version %u.%u is %s than this memray reads (%u.x)",
			 major, minor, major > CAPTURE_VERSION_MAJOR ? "newer" : "older",
			 CAPTURE_VERSION_MAJOR);
		*why = whybuf;
		return 0;
	}
	size = codec_get_u32(buf + 12);
	if (size < CAPTURE_HEADER_FIXED + 1 || size > CAPTURE_HEADER_MAX) {
		*why = "file header has an impossible size";
		return 0;
	}
	return size;
}

int capture_header_decode(const uint8_t *buf, size_t size, struct capture_header *h, const char **why)
{
	struct codec_in in = { buf + CAPTURE_HEADER_FIXED, buf + size, 0 };
	uint64_t argc;

	memset(h, 0, sizeof(*h));
	if (!CAPTURE_FUZZING && XXH32(buf + 20, size - 20, 0) != codec_get_u32(buf + 16)) {
		*why = "file header checksum mismatch";
		return -1;
	}
	h->major = codec_get_u16(buf + 8);
	h->minor = codec_get_u16(buf + 10);
	h->flags = codec_get_u32(buf + 20);
	h->rss_interval_ms = codec_get_u32(buf + 24);
	h->pid = codec_get_u32(buf + 28);
	h->start_ns = codec_get_u64(buf + 32);
	argc = codec_get_varint(&in);
	if (in.is_bad || argc > CAPTURE_ARGS_MAX) {
		*why = "file header has a bad argument count";
		return -1;
	}
	h->argv = calloc(argc + 1, sizeof(char *));
	if (!h->argv) {
		*why = "out of memory";
		return -1;
	}
	for (uint64_t i = 0; i < argc; i++) {
		size_t len;
		const char *s = codec_get_string(&in, &len, CAPTURE_STRING_MAX);

		if (in.is_bad || !(h->argv[i] = strndup(s, len))) {
			*why = in.is_bad ? "file header has a bad argument" : "out of memory";
			capture_header_release(h);
			return -1;
		}
		h->argc++;
	}
	return 0;
}

void capture_header_release(struct capture_header *h)
{
	for (int i = 0; i < h->argc; i++)
		free(h->argv[i]);
	free(h->argv);
	h->argv = NULL;
	h->argc = 0;
}

int capture_header_add_flags(int fd, uint32_t flags)
{
	uint8_t fixed[CAPTURE_HEADER_FIXED], *h = NULL;
	char whybuf[64];
	const char *why;
	size_t size = 0;
	int ret = -1;

	if (pread(fd, fixed, sizeof(fixed), 0) != (ssize_t)sizeof(fixed))
		goto out;
	size = capture_header_size(fixed, sizeof(fixed), &why, whybuf, sizeof(whybuf));
	if (!size || !(h = mapmem_alloc(size)) || pread(fd, h, size, 0) != (ssize_t)size)
		goto out;
	codec_put_u32(h + 20, codec_get_u32(h + 20) | flags);
	codec_put_u32(h + 16, XXH32(h + 20, size - 20, 0));
	/* checksum and flags together: one write of bytes the file already has */
	if (pwrite(fd, h + 16, 8, 16) == 8)
		ret = 0;
out:
	if (ret < 0 && !errno)
		errno = EINVAL;
	mapmem_free(h, size);
	return ret;
}
