/*
 * Unit tests of capture/reader: a capture built here record by record is
 * read back exactly; then every truncation, every bit flip and random
 * garbage must end in a status with an offset, never a crash or a record
 * that was not written.
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
#include "capture/reader.h"
#include "common/strbuf.h"
#include "tests/unit/unit.h"

/* a small capture: one segment, 2 frames, 3 allocs, 2 frees, 12 records in 2 blocks */
static void build(struct strbuf *file, int with_end)
{
	char a0[] = "./prog", a1[] = "x";
	char *argv[] = { a0, a1 };
	struct capture_header h = { .flags = CAPTURE_F_LZ4 | CAPTURE_F_NATIVE, .rss_interval_ms = 10,
				    .pid = 77, .start_ns = 1000, .argc = 2, .argv = argv };
	uint8_t raw[512], *p = raw, out[1024];

	strbuf_init(file, 0);
	capture_header_encode(file, &h);
	*p++ = CAPTURE_REC_SEGMENT;
	p = codec_put_varint(p, 77);
	p = codec_put_varint(p, 1);
	p = codec_put_varint(p, 2000);
	p = codec_put_varint(p, CAPTURE_SEG_START);
	p = codec_put_string(p, "/bin/prog", 9, 100);
	p = codec_put_varint(p, 1);
	p = codec_put_string(p, "./prog", 6, 100);
	*p++ = CAPTURE_REC_FRAME;	/* id 1: root frame */
	p = codec_put_varint(p, 0);
	p = codec_put_svarint(p, 0x401000);
	*p++ = CAPTURE_REC_FRAME;	/* id 2, under 1 */
	p = codec_put_varint(p, 1);
	p = codec_put_svarint(p, 0x10);
	*p++ = CAPTURE_REC_THREAD;
	p = codec_put_varint(p, 77);
	*p++ = CAPTURE_REC_ALLOC + CAPTURE_ALLOC_MALLOC;
	p = codec_put_svarint(p, 0x5000);
	p = codec_put_varint(p, 4096);
	p = codec_put_varint(p, 2);
	*p++ = CAPTURE_REC_ALLOC + CAPTURE_ALLOC_CALLOC;
	p = codec_put_svarint(p, 0x1000);	/* 0x6000 */
	p = codec_put_varint(p, 100);
	p = codec_put_varint(p, 1);
	capture_block_encode(out, raw, (size_t)(p - raw), 1);
	strbuf_add(file, out, CAPTURE_BLOCK_HEADER + codec_get_u32(out + 12));
	p = raw;	/* the second block: deltas start afresh */
	*p++ = CAPTURE_REC_THREAD;
	p = codec_put_varint(p, 78);
	*p++ = CAPTURE_REC_FREE + CAPTURE_ALLOC_FREE;
	p = codec_put_svarint(p, 0x5000);
	*p++ = CAPTURE_REC_ALLOC + CAPTURE_ALLOC_MMAP;
	p = codec_put_svarint(p, 0x1000);	/* 0x5000 + 0x1000 */
	p = codec_put_varint(p, 8192);
	p = codec_put_varint(p, 2);
	*p++ = CAPTURE_REC_FREE + CAPTURE_ALLOC_MUNMAP;
	p = codec_put_svarint(p, 0);
	p = codec_put_varint(p, 8192);
	*p++ = CAPTURE_REC_MEMORY;
	p = codec_put_varint(p, 15);
	p = codec_put_varint(p, 1 << 20);
	if (with_end) {
		*p++ = CAPTURE_REC_END;
		for (int i = 0; i < 7; i++)
			p = codec_put_varint(p, i == 0 ? CAPTURE_END_EXIT : 3);
	}
	capture_block_encode(out, raw, (size_t)(p - raw), 0);
	strbuf_add(file, out, CAPTURE_BLOCK_HEADER + codec_get_u32(out + 12));
}

/* a SEGMENT record of pid 1 with no executable and no arguments, at p; the end */
static uint8_t *put_bare_segment(uint8_t *p)
{
	*p++ = CAPTURE_REC_SEGMENT;
	for (int i = 0; i < 4; i++)
		p = codec_put_varint(p, 1);
	p = codec_put_string(p, "", 0, 1);
	return codec_put_varint(p, 0);
}

/* a FRAME_REL record: its parent `distance` back, its ip `delta` from the last; the end */
static uint8_t *put_frame_rel(uint8_t *p, unsigned distance, int64_t delta)
{
	*p++ = CAPTURE_REC_FRAME_REL;
	p = codec_put_varint(p, distance);
	return codec_put_svarint(p, delta);
}

/* a CODE record with id `id`: function f of f.py, line 1; the end */
static uint8_t *put_code_f(uint8_t *p, unsigned id)
{
	*p++ = CAPTURE_REC_CODE;
	p = codec_put_varint(p, id);
	p = codec_put_string(p, "f", 1, 10);
	p = codec_put_string(p, "f.py", 4, 10);
	return codec_put_varint(p, 1);
}

static char *write_temp(const void *data, size_t len)
{
	char *path = strdup("/tmp/memray-test-reader-XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

/* read everything; returns the record count and the status */
static int read_all(const void *data, size_t len, enum capture_status *status, struct capture_record *last)
{
	char *path = write_temp(data, len);
	struct capture_reader *r;
	struct capture_record rec;
	int n = 0;

	fclose(stderr);	/* open errors print one line each: keep the log short */
	stderr = fopen("/dev/null", "w");
	r = capture_reader_open(path);
	unlink(path);
	free(path);
	if (!r)
		return -1;
	while (capture_reader_next(r, &rec)) {
		n++;
		if (last)
			*last = rec;
	}
	*status = capture_reader_status(r);
	if (*status != CAPTURE_OK)
		ck_assert_ptr_nonnull(strstr(capture_reader_problem(r), "offset "));
	capture_reader_free(r);
	return n;
}

/*
 * The first len bytes of data as a stream, `piece` bytes a feed, every
 * record taken after each: the count, the status in *status. The reader
 * must wait (not end) while the stream is open and bytes are missing.
 */
static int read_stream(const char *data, size_t len, size_t piece, enum capture_status *status)
{
	struct capture_reader *r = capture_reader_stream("test stream");
	struct capture_record rec;
	int n = 0;

	ck_assert_ptr_nonnull(r);
	for (size_t off = 0; off < len; off += piece) {
		ck_assert_int_eq(capture_reader_feed(r, data + off, off + piece < len ? piece : len - off), 0);
		while (capture_reader_next(r, &rec))
			n++;
		ck_assert_int_eq(capture_reader_status(r), CAPTURE_OK);
		ck_assert(capture_reader_is_waiting(r));
	}
	capture_reader_feed_end(r);
	while (capture_reader_next(r, &rec))
		n++;
	ck_assert(!capture_reader_is_waiting(r));
	*status = capture_reader_status(r);
	if (*status != CAPTURE_OK)
		ck_assert_ptr_nonnull(strstr(capture_reader_problem(r), "offset "));
	capture_reader_free(r);
	return n;
}

START_TEST(a_stream_reads_as_the_file_in_any_pieces)
{
	struct strbuf file;
	enum capture_status status, file_status;
	size_t header;

	build(&file, 1);
	header = codec_get_u32((uint8_t *)file.buf + 12);
	for (size_t piece = 1; piece <= file.len; piece++) {
		ck_assert_int_eq(read_stream(file.buf, file.len, piece, &status), 12);
		ck_assert_int_eq(status, CAPTURE_OK);
	}
	/* cut anywhere: the records of the whole blocks, and the file's status */
	for (size_t cut = 0; cut < file.len; cut++) {
		int n = read_stream(file.buf, cut, 7, &status);

		if (cut < header) {
			ck_assert_int_eq(n, 0);
			ck_assert_int_eq(status, CAPTURE_INCOMPLETE);
			continue;
		}
		ck_assert_int_eq(n, read_all(file.buf, cut, &file_status, NULL));
		ck_assert_int_eq(status, file_status);
	}
	strbuf_release(&file);
}
END_TEST

START_TEST(a_stream_that_is_no_capture)
{
	struct capture_reader *r = capture_reader_stream("test stream");
	static char junk[8u << 20];
	struct capture_record rec;

	memset(junk, 'x', sizeof(junk));
	ck_assert_int_eq(capture_reader_feed(r, "GET / HTTP/1.1\r\n\r\n", 18), 0);
	ck_assert(!capture_reader_next(r, &rec));
	ck_assert(!capture_reader_is_waiting(r));	/* refused at once, never awaited */
	ck_assert_int_eq(capture_reader_status(r), CAPTURE_DAMAGED);
	ck_assert_ptr_nonnull(strstr(capture_reader_problem(r), "offset 0: "));
	capture_reader_free(r);

	/* bytes fed without reading them: bounded, an error, not gigabytes of buffer */
	r = capture_reader_stream("test stream");
	fclose(stderr);
	stderr = fopen("/dev/null", "w");
	for (int i = 0; i < 8 && capture_reader_feed(r, junk, sizeof(junk)) == 0; i++)
		ck_assert_int_lt(i, 2);
	ck_assert_int_eq(capture_reader_status(r), CAPTURE_DAMAGED);
	capture_reader_free(r);
}
END_TEST

START_TEST(round_trip)
{
	struct strbuf file;
	char *path;
	struct capture_reader *r;
	struct capture_record rec;
	const char *types[16];
	uint64_t addrs[16];
	int n = 0;

	build(&file, 1);
	path = write_temp(file.buf, file.len);
	r = capture_reader_open(path);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(capture_reader_header(r)->pid, 77);
	ck_assert_str_eq(capture_reader_header(r)->argv[1], "x");
	while (capture_reader_next(r, &rec) && n < 16) {
		types[n] = capture_record_name(rec.type);
		addrs[n] = rec.type == CAPTURE_REC_FRAME ? rec.ip : rec.address;
		if (rec.type == CAPTURE_REC_ALLOC && rec.allocator == CAPTURE_ALLOC_CALLOC) {
			ck_assert_uint_eq(rec.size, 100);
			ck_assert_uint_eq(rec.stack, 1);
			ck_assert_uint_eq(rec.tid, 77);
		}
		if (rec.type == CAPTURE_REC_FREE && rec.allocator == CAPTURE_ALLOC_FREE)
			ck_assert_uint_eq(rec.tid, 78);
		if (rec.type == CAPTURE_REC_SEGMENT) {
			ck_assert_int_eq(rec.argc, 1);
			ck_assert_int_eq((int)rec.exe.len, 9);
		}
		n++;
	}
	ck_assert_int_eq(n, 12);
	ck_assert_str_eq(types[0], "SEGMENT");
	ck_assert_str_eq(types[1], "FRAME");
	ck_assert_uint_eq(addrs[1], 0x401000);
	ck_assert_uint_eq(addrs[2], 0x401010);	/* the delta of the second frame */
	ck_assert_str_eq(types[4], "ALLOC");
	ck_assert_uint_eq(addrs[4], 0x5000);
	ck_assert_uint_eq(addrs[5], 0x6000);
	ck_assert_uint_eq(addrs[7], 0x5000);	/* deltas restart in the second block */
	ck_assert_uint_eq(addrs[8], 0x6000);
	ck_assert_str_eq(types[11], "END");
	ck_assert_int_eq(capture_reader_status(r), CAPTURE_OK);
	ck_assert_ptr_null(capture_reader_problem(r));
	ck_assert_uint_eq(capture_reader_segments(r), 1);
	capture_reader_free(r);
	unlink(path);
	free(path);
	strbuf_release(&file);
}
END_TEST

START_TEST(without_end_is_incomplete)
{
	struct strbuf file;
	enum capture_status status;

	build(&file, 0);
	ck_assert_int_eq(read_all(file.buf, file.len, &status, NULL), 11);
	ck_assert_int_eq(status, CAPTURE_INCOMPLETE);
	strbuf_release(&file);
}
END_TEST

START_TEST(every_truncation)
{
	struct strbuf file;
	size_t header;

	build(&file, 1);
	header = codec_get_u32((uint8_t *)file.buf + 12);
	for (size_t cut = 0; cut < file.len; cut++) {
		enum capture_status status;
		int n = read_all(file.buf, cut, &status, NULL);

		if (cut < header) {
			ck_assert_int_eq(n, -1);	/* no header: refused at open */
			continue;
		}
		/* whole blocks only: 0 records, 6 (first block), never a part */
		ck_assert_msg(n == 0 || n == 6, "cut %zu gave %d records", cut, n);
		ck_assert_int_eq(status, CAPTURE_INCOMPLETE);
	}
	strbuf_release(&file);
}
END_TEST

START_TEST(every_bit_flip)
{
	struct strbuf file;

	build(&file, 1);
	for (size_t bit = 0; bit < file.len * 8; bit++) {
		enum capture_status status = CAPTURE_OK;
		struct capture_record last;
		int n;

		file.buf[bit / 8] ^= (char)(1 << (bit % 8));
		n = read_all(file.buf, file.len, &status, &last);
		/*
		 * Refused, or stopped before the damage with a status: never read
		 * cleanly. The one exception is the minor version (bytes 10-11),
		 * which a reader accepts whatever it is, reading the same records.
		 */
		if (bit / 8 == 10 || bit / 8 == 11)
			ck_assert_int_eq(n, 12);
		else
			ck_assert_msg(n < 0 || status != CAPTURE_OK, "flip of bit %zu went unnoticed", bit);
		file.buf[bit / 8] ^= (char)(1 << (bit % 8));
	}
	strbuf_release(&file);
}
END_TEST

START_TEST(ids_out_of_range_and_unknown_types)
{
	struct strbuf file;
	uint8_t raw[64], *p, out[256];
	enum capture_status status;
	size_t keep;

	build(&file, 1);
	keep = codec_get_u32((uint8_t *)file.buf + 12);
	for (int variant = 0; variant < 8; variant++) {
		p = raw;
		p = put_bare_segment(p);
		*p++ = CAPTURE_REC_THREAD;
		p = codec_put_varint(p, 5);
		if (variant == 0) {	/* a stack that was never defined */
			*p++ = CAPTURE_REC_ALLOC + CAPTURE_ALLOC_MALLOC;
			p = codec_put_svarint(p, 1);
			p = codec_put_varint(p, 1);
			p = codec_put_varint(p, 9);
		} else if (variant == 1) {	/* a frame whose parent is in the future */
			*p++ = CAPTURE_REC_FRAME;
			p = codec_put_varint(p, 4);
			p = codec_put_svarint(p, 1);
		} else if (variant == 2) {
			*p++ = 0x7e;
		} else if (variant == 4) {	/* a Python frame of a code never defined */
			*p++ = CAPTURE_REC_PYFRAME;
			p = codec_put_varint(p, 0);
			p = codec_put_varint(p, 1);
			p = codec_put_varint(p, 10);
		} else if (variant == 5) {	/* code ids must come in order */
			p = put_code_f(p, 2);
		} else if (variant == 6) {	/* a Python frame whose parent is in the future */
			p = put_code_f(p, 1);
			*p++ = CAPTURE_REC_PYFRAME;
			p = codec_put_varint(p, 3);
			p = codec_put_varint(p, 1);
			p = codec_put_varint(p, 10);
		} else if (variant == 7) {	/* a thread name for thread 0 (found by the fuzzer) */
			*p++ = CAPTURE_REC_THREAD_NAME;
			p = codec_put_varint(p, 0);
			p = codec_put_string(p, "x", 1, 10);
		} else {	/* a record cut by the end of its block */
			*p++ = CAPTURE_REC_ALLOC + CAPTURE_ALLOC_MALLOC;
			*p++ = 0x80;
		}
		strbuf_setlen(&file, keep);
		capture_block_encode(out, raw, (size_t)(p - raw), 1);
		strbuf_add(&file, out, CAPTURE_BLOCK_HEADER + codec_get_u32(out + 12));
		ck_assert_int_eq(read_all(file.buf, file.len, &status, NULL), variant == 6 ? 3 : 2);
		ck_assert_int_eq(status, CAPTURE_DAMAGED);
	}
	strbuf_release(&file);
}
END_TEST

/*
 * build()'s capture, then a second segment whose block defines a code
 * object, a Python frame on it and an allocation there; then, if
 * `extra` is not 0, a record of that type byte.
 */
static void build_python(struct strbuf *file, int extra)
{
	uint8_t raw[128], *p = raw, out[256];

	build(file, 1);
	p = put_bare_segment(p);
	*p++ = CAPTURE_REC_CODE;
	p = codec_put_varint(p, 1);
	p = codec_put_string(p, "make_array", 10, 20);
	p = codec_put_string(p, "/x/alloc.py", 11, 20);
	p = codec_put_varint(p, 9);
	*p++ = CAPTURE_REC_PYFRAME;	/* stack id 1 */
	p = codec_put_varint(p, 0);
	p = codec_put_varint(p, 1);
	p = codec_put_varint(p, 11);
	*p++ = CAPTURE_REC_THREAD;
	p = codec_put_varint(p, 5);
	*p++ = CAPTURE_REC_ALLOC + CAPTURE_ALLOC_MALLOC;
	p = codec_put_svarint(p, 0x7000);
	p = codec_put_varint(p, 300);
	p = codec_put_varint(p, 1);
	if (extra)
		*p++ = (uint8_t)extra;
	capture_block_encode(out, raw, (size_t)(p - raw), 1);
	strbuf_add(file, out, CAPTURE_BLOCK_HEADER + codec_get_u32(out + 12));
}

START_TEST(python_records)
{
	struct strbuf file;
	struct capture_reader *r;
	struct capture_record rec;
	char *path;
	int seen = 0;

	build_python(&file, 0);
	path = write_temp(file.buf, file.len);
	r = capture_reader_open(path);
	ck_assert_ptr_nonnull(r);
	while (capture_reader_next(r, &rec)) {
		if (rec.type == CAPTURE_REC_CODE) {
			ck_assert_uint_eq(rec.code, 1);
			ck_assert_int_eq((int)rec.label.len, 10);
			ck_assert(!memcmp(rec.label.s, "make_array", 10));
			ck_assert_int_eq((int)rec.path.len, 11);
			ck_assert(!memcmp(rec.path.s, "/x/alloc.py", 11));
			ck_assert_uint_eq(rec.line, 9);
			seen++;
		} else if (rec.type == CAPTURE_REC_PYFRAME) {
			ck_assert_uint_eq(rec.frame_id, 1);
			ck_assert_uint_eq(rec.parent, 0);
			ck_assert_uint_eq(rec.code, 1);
			ck_assert_uint_eq(rec.line, 11);
			seen++;
		} else if (rec.type == CAPTURE_REC_ALLOC && rec.size == 300) {
			ck_assert_uint_eq(rec.stack, 1);
			seen++;
		}
	}
	ck_assert_int_eq(seen, 3);
	ck_assert_int_eq(capture_reader_status(r), CAPTURE_INCOMPLETE);	/* no END in segment 2 */
	capture_reader_free(r);
	unlink(path);
	free(path);
	strbuf_release(&file);
}
END_TEST

/* read file to its end: it stops as damaged, with `problem` in what the reader says */
static void assert_damaged_saying(const struct strbuf *file, const char *problem)
{
	char *path = write_temp(file->buf, file->len);
	struct capture_reader *r = capture_reader_open(path);
	struct capture_record rec;

	ck_assert_ptr_nonnull(r);
	while (capture_reader_next(r, &rec))
		;
	ck_assert_int_eq(capture_reader_status(r), CAPTURE_DAMAGED);
	ck_assert_ptr_nonnull(strstr(capture_reader_problem(r), problem));
	capture_reader_free(r);
	unlink(path);
	free(path);
}

/*
 * FRAME_REL and PYFRAME_REL: each parent is the distance back from the
 * node's own id, and the records read as FRAME and PYFRAME. A distance
 * past the first node is damage, said with the record's own name.
 */
START_TEST(relative_frames_read_as_frames)
{
	/* id 1 under the root, 2 under 1, 3 under the root, 4 (Python) under 2 */
	static const struct { unsigned type, id, parent; uint64_t ip; } want[] = {
		{ CAPTURE_REC_FRAME, 1, 0, 0x401000 }, { CAPTURE_REC_FRAME, 2, 1, 0x401010 },
		{ CAPTURE_REC_FRAME, 3, 0, 0x401008 }, { CAPTURE_REC_PYFRAME, 4, 2, 0 },
	};
	struct strbuf file;
	uint8_t raw[128], *p, out[256];
	size_t keep, seen = 0;
	struct capture_reader *r;
	struct capture_record rec;
	char *path;

	build(&file, 1);
	keep = file.len;
	p = put_bare_segment(raw);
	p = put_frame_rel(p, 0, 0x401000);
	p = put_frame_rel(p, 0, 0x10);
	p = put_frame_rel(p, 2, -8);
	p = put_code_f(p, 1);
	*p++ = CAPTURE_REC_PYFRAME_REL;
	p = codec_put_varint(p, 1);
	p = codec_put_varint(p, 1);
	p = codec_put_varint(p, 12);
	capture_block_encode(out, raw, (size_t)(p - raw), 1);
	strbuf_add(&file, out, CAPTURE_BLOCK_HEADER + codec_get_u32(out + 12));
	path = write_temp(file.buf, file.len);
	r = capture_reader_open(path);
	ck_assert_ptr_nonnull(r);
	while (capture_reader_next(r, &rec)) {
		if (rec.offset < keep || (rec.type != CAPTURE_REC_FRAME && rec.type != CAPTURE_REC_PYFRAME))
			continue;
		ck_assert_uint_lt(seen, 4);
		ck_assert_uint_eq(rec.type, want[seen].type);
		ck_assert_uint_eq(rec.frame_id, want[seen].id);
		ck_assert_uint_eq(rec.parent, want[seen].parent);
		if (rec.type == CAPTURE_REC_FRAME)
			ck_assert_uint_eq(rec.ip, want[seen].ip);
		else
			ck_assert_uint_eq(rec.line, 12);
		seen++;
	}
	ck_assert_uint_eq(seen, 4);
	ck_assert_int_eq(capture_reader_status(r), CAPTURE_INCOMPLETE);	/* no END in segment 2 */
	capture_reader_free(r);
	unlink(path);
	free(path);

	/* one node defined, and a distance of 2 back from the second */
	strbuf_setlen(&file, keep);
	p = put_bare_segment(raw);
	p = put_frame_rel(p, 0, 0x401000);
	p = put_frame_rel(p, 2, 0x10);
	capture_block_encode(out, raw, (size_t)(p - raw), 1);
	strbuf_add(&file, out, CAPTURE_BLOCK_HEADER + codec_get_u32(out + 12));
	assert_damaged_saying(&file, "FRAME_REL with distance 2 of 1 defined");
	strbuf_release(&file);
}
END_TEST

START_TEST(unknown_type_in_a_newer_minor_version)
{
	struct strbuf file;

	build_python(&file, CAPTURE_REC_LIMIT);
	codec_put_u16((uint8_t *)file.buf + 10, CAPTURE_VERSION_MINOR + 1);
	assert_damaged_saying(&file, "record type 0x34 is newer than this memray");
	strbuf_release(&file);
}
END_TEST

/* build()'s capture without END, then a block of one malloc/free pair repeated `pairs` times at 0x7000 */
static size_t build_repeating(struct strbuf *file, size_t pairs)
{
	size_t raw_len = 16 + pairs * 6, at;	/* a THREAD, a first pair of 8 bytes, 6 bytes a pair */
	uint8_t *raw = malloc(raw_len), *out = malloc(capture_block_bound(raw_len)), *p = raw;

	build(file, 0);
	*p++ = CAPTURE_REC_THREAD;	/* a block starts with no thread and address 0 */
	p = codec_put_varint(p, 77);
	for (size_t i = 0; i < pairs; i++) {
		*p++ = CAPTURE_REC_ALLOC + CAPTURE_ALLOC_MALLOC;
		p = codec_put_svarint(p, i ? 0 : 0x7000);
		p = codec_put_varint(p, 32);
		p = codec_put_varint(p, 2);
		*p++ = CAPTURE_REC_FREE + CAPTURE_ALLOC_FREE;
		p = codec_put_svarint(p, 0);
	}
	at = file->len;
	strbuf_add(file, out, capture_block_encode(out, raw, (size_t)(p - raw), 1));
	free(raw);
	free(out);
	return at;
}

START_TEST(a_block_compressed_twice_reads_back)
{
	struct strbuf file;
	size_t at = build_repeating(&file, 200000);
	char *path = write_temp(file.buf, file.len);
	struct capture_reader *r = capture_reader_open(path);
	struct capture_record rec;
	size_t allocs = 0, at_7000 = 0;

	ck_assert_uint_eq((uint8_t)file.buf[at + 8], CAPTURE_ENC_LZ4_TWICE);
	ck_assert_uint_lt(file.len - at, 1000);	/* 1.2 MB of records; lz4 alone cannot go below 4.7 KB */
	ck_assert_ptr_nonnull(r);
	while (capture_reader_next(r, &rec)) {
		allocs += rec.type == CAPTURE_REC_ALLOC;
		at_7000 += rec.type == CAPTURE_REC_ALLOC && rec.address == 0x7000 && rec.size == 32;
	}
	ck_assert_uint_eq(allocs, 3 + 200000);
	ck_assert_uint_eq(at_7000, 200000);
	ck_assert_int_eq(capture_reader_status(r), CAPTURE_INCOMPLETE);	/* no END: cut short, all read */
	capture_reader_free(r);
	unlink(path);
	free(path);
	strbuf_release(&file);
}
END_TEST

START_TEST(unknown_encoding_in_a_newer_minor_version)
{
	struct strbuf file;
	size_t at = build_repeating(&file, 1000);

	codec_put_u16((uint8_t *)file.buf + 10, CAPTURE_VERSION_MINOR + 1);
	file.buf[at + 8] = 3;
	assert_damaged_saying(&file, "block encoding 3 is newer than this memray");
	strbuf_release(&file);
}
END_TEST

/*
 * Every type byte after a SEGMENT and a THREAD: the reader decodes exactly
 * the bytes format.c names (capture_record_types[]), and refuses the others
 * at the block's offset as unknown. Zero bytes follow, so a known record
 * reads zeros (it may still be refused for them, never as unknown).
 */
/* a segment, a REACH announcing `announced` blocks, then `given` REACH_BLOCKs of category `category` */
static int read_reach(unsigned announced, unsigned given, unsigned category, struct capture_record *last,
		      enum capture_status *status)
{
	struct strbuf file;
	uint8_t raw[256], *p, out[512];
	int n;

	build(&file, 1);
	strbuf_setlen(&file, codec_get_u32((uint8_t *)file.buf + 12));
	p = put_bare_segment(raw);
	*p++ = CAPTURE_REC_REACH;
	p = codec_put_varint(p, CAPTURE_REACH_AT_EXIT);
	p = codec_put_varint(p, announced);
	for (int i = 0; i < 3; i++)
		p = codec_put_varint(p, 100);
	for (unsigned i = 0; i < given; i++) {
		*p++ = CAPTURE_REC_REACH_BLOCK;
		p = codec_put_svarint(p, 0x1000);
		p = codec_put_varint(p, category);
		p = codec_put_varint(p, CAPTURE_ROOT_GLOBAL);
		p = codec_put_varint(p, 0x601040);
		p = codec_put_varint(p, 1);
	}
	capture_block_encode(out, raw, (size_t)(p - raw), 0);
	strbuf_add(&file, out, CAPTURE_BLOCK_HEADER + codec_get_u32(out + 12));
	n = read_all(file.buf, file.len, status, last);
	strbuf_release(&file);
	return n;
}

START_TEST(reach_records)
{
	struct capture_record last;
	enum capture_status status;

	/* two blocks as announced: addresses by delta, the verdict and root as written */
	ck_assert_int_eq(read_reach(2, 2, CAPTURE_REACH_REACHABLE, &last, &status), 4);
	ck_assert_int_eq(status, CAPTURE_INCOMPLETE);	/* no END */
	ck_assert_uint_eq(last.type, CAPTURE_REC_REACH_BLOCK);
	ck_assert_uint_eq(last.address, 0x2000);
	ck_assert_uint_eq(last.category, CAPTURE_REACH_REACHABLE);
	ck_assert_uint_eq(last.root_kind, CAPTURE_ROOT_GLOBAL);
	ck_assert_uint_eq(last.root_value, 0x601040);
	ck_assert_uint_eq(last.chain, 1);
	ck_assert_str_eq(capture_reach_name(CAPTURE_REACH_DEFINITE), "definitely lost");
	/* one more than announced, or a category that is none: damage */
	read_reach(1, 2, CAPTURE_REACH_DEFINITE, &last, &status);
	ck_assert_int_eq(status, CAPTURE_DAMAGED);
	read_reach(1, 1, CAPTURE_REACH_COUNT, &last, &status);
	ck_assert_int_eq(status, CAPTURE_DAMAGED);
	read_reach(1, 1, CAPTURE_REACH_UNKNOWN, &last, &status);
	ck_assert_int_eq(status, CAPTURE_DAMAGED);
}
END_TEST

START_TEST(every_type_byte_matches_the_format_table)
{
	struct strbuf file;
	uint8_t raw[64], *p, out[256];
	size_t keep;
	int known = 0;

	build(&file, 1);
	keep = codec_get_u32((uint8_t *)file.buf + 12);
	for (unsigned byte = 0; byte < 256; byte++) {
		const char *name = capture_record_name(byte);
		unsigned type = capture_record_base(byte);
		int is_named = strcmp(name, "UNKNOWN") != 0;
		struct capture_reader *r;
		struct capture_record rec;
		char unknown[80], *path;

		p = put_bare_segment(raw);
		*p++ = CAPTURE_REC_THREAD;
		p = codec_put_varint(p, 5);
		*p++ = (uint8_t)byte;
		memset(p, 0, 16);
		p += 16;
		strbuf_setlen(&file, keep);
		capture_block_encode(out, raw, (size_t)(p - raw), 0);
		strbuf_add(&file, out, CAPTURE_BLOCK_HEADER + codec_get_u32(out + 12));
		path = write_temp(file.buf, file.len);
		r = capture_reader_open(path);
		ck_assert_ptr_nonnull(r);
		while (capture_reader_next(r, &rec))
			;
		snprintf(unknown, sizeof(unknown), "offset %zu: unknown record type 0x%02x", keep, byte);
		ck_assert_int_eq(capture_reader_status(r), CAPTURE_DAMAGED);
		if (is_named) {
			ck_assert_ptr_null(strstr(capture_reader_problem(r), unknown));
			ck_assert(type < CAPTURE_REC_LIMIT && capture_record_types[type].name == name);
			ck_assert_uint_le(capture_record_types[type].minor, CAPTURE_VERSION_MINOR);
			known++;
		} else {
			ck_assert_str_eq(capture_reader_problem(r), unknown);
		}
		capture_reader_free(r);
		unlink(path);
		free(path);
	}
	/* 19 types of one byte, and ALLOC and FREE by each of 16 allocator kinds */
	ck_assert_int_eq(known, 19 + 2 * CAPTURE_ALLOC_COUNT);
	ck_assert_str_eq(capture_record_name(CAPTURE_REC_ALLOC + CAPTURE_ALLOC_CALLOC), "ALLOC");
	ck_assert_str_eq(capture_record_name(CAPTURE_REC_PYFRAME), "PYFRAME");
	ck_assert_uint_eq(capture_record_types[CAPTURE_REC_CODE].minor, 1);
	ck_assert_uint_eq(capture_record_types[CAPTURE_REC_FRAME].minor, 0);
	ck_assert_uint_eq(capture_record_types[CAPTURE_REC_TIME].minor, 2);
	ck_assert_uint_eq(capture_record_types[CAPTURE_REC_FRAME_REL].minor, 6);
	strbuf_release(&file);
}
END_TEST

START_TEST(random_garbage_after_the_header)
{
	struct strbuf file;
	unsigned seed = 99;
	size_t keep;

	build(&file, 1);
	keep = codec_get_u32((uint8_t *)file.buf + 12);
	for (int round = 0; round < 2000; round++) {
		enum capture_status status;
		size_t len = 1 + (size_t)(rand_r(&seed) % 300);
		int n;

		strbuf_setlen(&file, keep);
		if (round % 2)
			strbuf_add(&file, CAPTURE_BLOCK_MAGIC, 4);
		for (size_t i = 0; i < len; i++)
			strbuf_addch(&file, rand_r(&seed) & 0xff);
		n = read_all(file.buf, file.len, &status, NULL);
		ck_assert_int_eq(n, 0);
		ck_assert_int_ne(status, CAPTURE_OK);
	}
	strbuf_release(&file);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reader");
	TCase *tc = tcase_create("reader");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, without_end_is_incomplete);
	tcase_add_test(tc, a_stream_reads_as_the_file_in_any_pieces);
	tcase_add_test(tc, a_stream_that_is_no_capture);
	tcase_add_test(tc, every_truncation);
	tcase_add_test(tc, every_bit_flip);
	tcase_add_test(tc, ids_out_of_range_and_unknown_types);
	tcase_add_test(tc, random_garbage_after_the_header);
	tcase_add_test(tc, python_records);
	tcase_add_test(tc, relative_frames_read_as_frames);
	tcase_add_test(tc, unknown_type_in_a_newer_minor_version);
	tcase_add_test(tc, a_block_compressed_twice_reads_back);
	tcase_add_test(tc, unknown_encoding_in_a_newer_minor_version);
	tcase_add_test(tc, every_type_byte_matches_the_format_table);
	tcase_add_test(tc, reach_records);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
