/*
 * tests/unit/capbuild: see capbuild.h.
 */
#include "tests/unit/capbuild.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/block.h"
#include "capture/codec.h"
#include "capture/format.h"
#include "capture/header.h"
#include "capture/reader.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "report/analysis.h"

void capbuild_start(struct capbuild *b, uint32_t pid)
{
	memset(b, 0, sizeof(*b));
	b->p = b->raw;
	b->pid = pid;
	*b->p++ = CAPTURE_REC_SEGMENT;
	b->p = codec_put_varint(b->p, pid);
	b->p = codec_put_varint(b->p, 1);
	b->p = codec_put_varint(b->p, 2);
	b->p = codec_put_varint(b->p, CAPTURE_SEG_START);
	b->p = codec_put_string(b->p, "/bin/prog", 9, 100);
	b->p = codec_put_varint(b->p, 1);
	b->p = codec_put_string(b->p, "./prog", 6, 100);
	for (int i = 0; i < 2; i++) {	/* stacks 1 and 2; ips are deltas against the last one */
		*b->p++ = CAPTURE_REC_FRAME;
		b->p = codec_put_varint(b->p, 0);
		b->p = codec_put_svarint(b->p, i ? 0x10 : 0x401000);
	}
	*b->p++ = CAPTURE_REC_THREAD;
	b->p = codec_put_varint(b->p, pid);
}

void capbuild_module(struct capbuild *b, const char *path)
{
	*b->p++ = CAPTURE_REC_MODULES;
	b->p = codec_put_varint(b->p, 1);
	*b->p++ = CAPTURE_REC_MODULE;
	b->p = codec_put_string(b->p, path, strlen(path), 100);
	b->p = codec_put_varint(b->p, 0);
	b->p = codec_put_string(b->p, "", 0, 64);
	b->p = codec_put_varint(b->p, 0);
}

void capbuild_alloc(struct capbuild *b, uint64_t addr, uint64_t size, uint32_t stack)
{
	*b->p++ = CAPTURE_REC_ALLOC + CAPTURE_ALLOC_MALLOC;
	b->p = codec_put_svarint(b->p, (int64_t)(addr - b->prev));
	b->p = codec_put_varint(b->p, size);
	b->p = codec_put_varint(b->p, stack);
	b->prev = addr;
	b->allocs++;
	b->bytes += size;
}

void capbuild_free(struct capbuild *b, uint64_t addr)
{
	*b->p++ = CAPTURE_REC_FREE + CAPTURE_ALLOC_FREE;
	b->p = codec_put_svarint(b->p, (int64_t)(addr - b->prev));
	b->prev = addr;
	b->frees++;
}

void capbuild_collect(struct capbuild *b, uint64_t addr, unsigned category)
{
	*b->p++ = CAPTURE_REC_COLLECT;
	b->p = codec_put_svarint(b->p, (int64_t)(addr - b->prev));
	b->p = codec_put_varint(b->p, category);
	b->prev = addr;
	b->frees++;
}

void capbuild_marker(struct capbuild *b, unsigned kind, const char *label)
{
	*b->p++ = CAPTURE_REC_MARKER;
	b->p = codec_put_varint(b->p, kind);
	b->p = codec_put_string(b->p, label, strlen(label), 100);
}

static char *write_file(struct capbuild *b)
{
	char a0[] = "./prog";
	char *argv[] = { a0 };
	struct capture_header h = { .flags = CAPTURE_F_NATIVE, .rss_interval_ms = 10, .pid = b->pid,
				    .start_ns = 1, .argc = 1, .argv = argv };
	struct strbuf file = STRBUF_INIT;
	static uint8_t out[CAPTURE_BLOCK_HEADER + 2 * sizeof(b->raw)];
	char *path = strdup("/tmp/memray-test-capture-XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt((size_t)(b->p - b->raw), sizeof(b->raw) - 64);
	capture_header_encode(&file, &h);
	capture_block_encode(out, b->raw, (size_t)(b->p - b->raw), 1);
	strbuf_add(&file, out, CAPTURE_BLOCK_HEADER + codec_get_u32(out + 12));
	ck_assert_int_eq(write(fd, file.buf, file.len), (ssize_t)file.len);
	close(fd);
	strbuf_release(&file);
	return path;
}

char *capbuild_finish(struct capbuild *b, uint64_t lost)
{
	const uint64_t end[] = { CAPTURE_END_EXIT, 1000, b->allocs, b->frees, b->bytes, 2, lost };

	*b->p++ = CAPTURE_REC_END;
	for (size_t i = 0; i < sizeof(end) / sizeof(end[0]); i++)
		b->p = codec_put_varint(b->p, end[i]);
	return write_file(b);
}

char *capbuild_finish_cut(struct capbuild *b)
{
	return write_file(b);
}

int capbuild_analyse(struct analysis *a, const char *path, const struct analysis_options *opts)
{
	struct capture_reader *r = capture_reader_open(path);
	int ret;

	memset(a, 0, sizeof(*a));
	if (!r)
		return -1;
	ret = analysis_run(a, r, opts);
	/* a reader that stops on damage (out of memory for a block, too) is an error to every caller */
	if (!ret && capture_reader_status(r) == CAPTURE_DAMAGED)
		ret = error("%s: %s", path, capture_reader_problem(r));
	capture_reader_free(r);
	return ret;
}
