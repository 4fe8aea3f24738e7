/*
 * capture/reader: see reader.h.
 */
#include "capture/reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/block.h"
#include "capture/codec.h"
#include "capture/reader_private.h"
#include "common/error.h"
#include "common/grow.h"

/* MEMRAY_TEST_SHRINK_TO (reader.h): shrink the file under the reader */
static void test_shrink(const char *path)
{
	const char *to = getenv("MEMRAY_TEST_SHRINK_TO");

	if (to && *to && truncate(path, (off_t)strtoll(to, NULL, 10)) < 0)
		warning("MEMRAY_TEST_SHRINK_TO: cannot truncate '%s': %s", path, strerror(errno));
}

/*
 * Up to len bytes at off into buf: how many were read, fewer only where
 * the file ends (it may have shrunk since open), or -1 with errno set.
 */
static ssize_t read_at(int fd, uint64_t off, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/*
 * Open path for reading if it is a regular file. O_NONBLOCK first: opening
 * a FIFO with no writer would otherwise wait forever, before fstat could
 * tell us what it is. The fd, or -1 after a message.
 */
static int open_regular(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return error_errno("cannot open capture '%s'", path);
	if (fstat(fd, st) < 0) {
		error_errno("cannot read capture '%s'", path);
		goto fail;
	}
	if (S_ISDIR(st->st_mode)) {
		error("%s: is a directory, not a capture file", path);
		goto fail;
	}
	if (!S_ISREG(st->st_mode)) {
		error("%s: not a regular file (a FIFO, socket or device), not a capture", path);
		goto fail;
	}
	/* a regular file never blocks, but say so: later reads must not see EAGAIN */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		error_errno("cannot read capture '%s'", path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

struct capture_reader *capture_reader_open(const char *path)
{
	struct capture_reader *r = calloc(1, sizeof(*r));
	const char *why = NULL;
	char whybuf[160];
	struct stat st;
	size_t hsize;
	ssize_t got;

	if (!r) {
		error("%s: out of memory", path);
		return NULL;
	}
	r->fd = -1;	/* before any goto fail: capture_reader_free() closes it */
	if (!(r->path = strdup(path))) {
		error("%s: out of memory", path);
		goto fail;
	}
	if ((r->fd = open_regular(path, &st)) < 0)
		goto fail;
	if (st.st_size == 0) {
		error("%s: empty file, not a memray capture", path);
		goto fail;
	}
	r->size = (uint64_t)st.st_size;
	/* the header, or as much of it as there is: at most CAPTURE_HEADER_MAX */
	if (GROW(r->stored, CAPTURE_HEADER_MAX, r->stored_cap) < 0) {
		error("%s: out of memory", path);
		goto fail;
	}
	got = read_at(r->fd, 0, r->stored, r->size < CAPTURE_HEADER_MAX ? (size_t)r->size : CAPTURE_HEADER_MAX);
	if (got < 0) {
		error_errno("cannot read capture '%s'", path);
		goto fail;
	}
	hsize = capture_header_size(r->stored, (size_t)got, &why, whybuf, sizeof(whybuf));
	if (!hsize) {
		error("%s: %s", path, why);
		goto fail;
	}
	if (hsize > (size_t)got) {
		error("%s: file header is truncated (%zu of %zu bytes)", path, (size_t)got, hsize);
		goto fail;
	}
	if (capture_header_decode(r->stored, hsize, &r->header, &why) < 0) {
		error("%s: offset 0: %s", path, why);
		goto fail;
	}
	r->next_block = hsize;
	test_shrink(path);
	return r;
fail:
	capture_reader_free(r);
	return NULL;
}

void capture_reader_free(struct capture_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	capture_header_release(&r->header);
	free(r->stored);
	free(r->raw);
	free(r->inner);
	free(r->sbuf);
	free(r->path);
	free(r);
}

const struct capture_header *capture_reader_header(const struct capture_reader *r)
{
	return &r->header;
}

const char *capture_reader_path(const struct capture_reader *r)
{
	return r->path;
}

enum capture_status capture_reader_status(const struct capture_reader *r)
{
	return r->status;
}

const char *capture_reader_problem(const struct capture_reader *r)
{
	return r->status == CAPTURE_OK ? NULL : r->problem;
}

uint64_t capture_reader_records(const struct capture_reader *r)
{
	return r->records;
}

unsigned capture_reader_segments(const struct capture_reader *r)
{
	return r->segments;
}

uint64_t capture_reader_position(const struct capture_reader *r)
{
	return r->next_block;
}

uint64_t capture_reader_size(const struct capture_reader *r)
{
	return r->size;
}

int reader_stop(struct capture_reader *r, enum capture_status status, uint64_t offset, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->problem, sizeof(r->problem), "offset %llu: ", (unsigned long long)offset);

	va_start(ap, fmt);
	vsnprintf(r->problem + n, sizeof(r->problem) - (size_t)n, fmt, ap);
	va_end(ap);
	r->status = status;
	r->finished = 1;
	return 0;
}

/* the file ended at off + got before the size it had at open: say so */
static int shrank(struct capture_reader *r, uint64_t off, ssize_t got)
{
	if (got < 0)
		return reader_stop(r, CAPTURE_DAMAGED, off, "cannot read the capture: %s", strerror(errno));
	return reader_stop(r, CAPTURE_INCOMPLETE, off, "the file shrank to %llu bytes while it was read (was %llu; "
		    "overwritten by another run?)", (unsigned long long)(off + (uint64_t)got),
		    (unsigned long long)r->size);
}

int reader_waits(struct capture_reader *r)
{
	r->is_waiting = r->is_stream && !r->stream_ended;
	return r->is_waiting;
}

/*
 * A stream's bytes before offset `off` are read: drop them, so that the
 * block at off is first in sbuf and sbuf never holds more than the block
 * being awaited. -1 when off is not yet received (waiting).
 */
static int stream_drop(struct capture_reader *r, uint64_t off)
{
	size_t skip;

	if (off > r->sbase + r->slen)
		return reader_waits(r) ? -1 : 0;
	skip = (size_t)(off - r->sbase);
	memmove(r->sbuf, r->sbuf + skip, r->slen - skip);
	r->slen -= skip;
	r->sbase = off;
	r->size = r->sbase + r->slen;
	return 0;
}

/* `what` (a record type, a block encoding) came with the file's newer minor version: say so, not damage */
static int newer_than_us(struct capture_reader *r, uint64_t off, const char *what)
{
	return reader_stop(r, CAPTURE_DAMAGED, off, "%s is newer than this memray (file version %u.%u, memray reads %u.%u)",
			   what, r->header.major, r->header.minor, CAPTURE_VERSION_MAJOR, CAPTURE_VERSION_MINOR);
}

/* decode the next block into r->raw; 1, or 0 at the end (status set) or waiting */
static int load_block(struct capture_reader *r)
{
	struct capture_block_info bi;
	uint64_t off = r->next_block, left;
	const uint8_t *block = r->stored;
	const char *why;
	ssize_t got;

	if (r->is_stream && stream_drop(r, off) < 0)
		return 0;	/* waiting */
	left = r->size - off;
	if (left == 0) {
		if (reader_waits(r))
			return 0;
		if (r->in_segment && !r->segment_ended)
			return reader_stop(r, CAPTURE_INCOMPLETE, off,
				    "the capture ends without its END record (the program was killed, "
				    "exec'd an image memray cannot track, or tracking stopped early)");
		if (!r->segments)
			return reader_stop(r, CAPTURE_INCOMPLETE, off, "the capture holds no records: the "
				    "program never started the tracker");
		r->finished = 1;
		return 0;
	}
	if (left < CAPTURE_BLOCK_HEADER)
		return reader_waits(r) ? 0 : reader_stop(r, CAPTURE_INCOMPLETE, off, "the capture ends inside a block header "
			    "(the program was probably killed while the block was written)");
	if (r->is_stream) {
		block = r->sbuf;	/* stream_drop() put the block first */
	} else {
		/* r->stored holds at least CAPTURE_HEADER_MAX bytes (open), more than a block header */
		got = read_at(r->fd, off, r->stored, CAPTURE_BLOCK_HEADER);
		if (got != CAPTURE_BLOCK_HEADER)
			return shrank(r, off, got);
	}
	if (capture_block_parse_header(block, &bi, &why) < 0) {
		char what[32];

		if (block[8] > CAPTURE_ENC_LZ4_TWICE && r->header.minor > CAPTURE_VERSION_MINOR) {
			snprintf(what, sizeof(what), "block encoding %u", block[8]);
			return newer_than_us(r, off, what);
		}
		return reader_stop(r, CAPTURE_DAMAGED, off, "%s", why);
	}
	if (CAPTURE_BLOCK_HEADER + (uint64_t)bi.stored_len > left)
		return reader_waits(r) ? 0 : reader_stop(r, CAPTURE_INCOMPLETE, off, "the capture ends inside a block (%llu of %llu "
			    "bytes; the program was probably killed while it was written)",
			    (unsigned long long)left, (unsigned long long)(CAPTURE_BLOCK_HEADER + bi.stored_len));
	/* parse_header bounded stored_len and raw_len (CAPTURE_BLOCK_STORED_MAX, _RAW_MAX) */
	if (!r->is_stream) {
		if (GROW(r->stored, CAPTURE_BLOCK_HEADER + (size_t)bi.stored_len, r->stored_cap) < 0)
			return reader_stop(r, CAPTURE_DAMAGED, off, "out of memory for a block of %u bytes", bi.stored_len);
		block = r->stored;
		got = read_at(r->fd, off + CAPTURE_BLOCK_HEADER, r->stored + CAPTURE_BLOCK_HEADER, bi.stored_len);
		if (got != (ssize_t)bi.stored_len)
			return shrank(r, off, got < 0 ? got : CAPTURE_BLOCK_HEADER + got);
	}
	/* at least one byte: an empty block still gets a buffer to point into */
	if (GROW(r->raw, bi.raw_len ? bi.raw_len : 1, r->raw_cap) < 0)
		return reader_stop(r, CAPTURE_DAMAGED, off, "out of memory for a block of %u bytes", bi.raw_len);
	if (bi.inner_len && GROW(r->inner, bi.inner_len, r->inner_cap) < 0)
		return reader_stop(r, CAPTURE_DAMAGED, off, "out of memory for a block of %u bytes", bi.inner_len);
	if (capture_block_decode(block, &bi, r->raw, r->inner, &why) < 0)
		return reader_stop(r, CAPTURE_DAMAGED, off, "%s", why);
	r->block_offset = off;
	r->next_block = off + CAPTURE_BLOCK_HEADER + bi.stored_len;
	r->in.p = r->raw;
	r->in.end = r->raw + bi.raw_len;
	r->in.is_bad = 0;
	r->prev_addr = r->prev_ip = 0;
	r->tid = 0;
	return 1;
}

static struct capture_string get_string(struct codec_in *in, size_t max)
{
	struct capture_string s;

	s.s = codec_get_string(in, &s.len, max);
	return s;
}

/*
 * DECODERS. One function per record type reads the fields format.h lists
 * for it, checks every id against what was defined and every count against
 * its bound, and keeps the reader's state (segment, delta, id counters).
 * Each returns 1, or 0 after stop() said what is wrong. A field read past
 * the block only sets in->is_bad; decode() turns that into one message.
 * They are reached through decoders[], indexed by type byte, so a new
 * type is one function and one line there (and one in format.c).
 */
typedef int decode_fn(struct capture_reader *r, struct capture_record *rec, unsigned byte);

/* ALLOC and FREE: the hot records, most of any capture; decode() inlines it */
static inline __attribute__((always_inline)) int
decode_alloc_free(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	struct codec_in *in = &r->in;
	uint64_t off = r->block_offset, v;

	rec->allocator = byte & 0x0f;
	if (!r->tid)
		return reader_stop(r, CAPTURE_DAMAGED, off, "allocation record without a THREAD record in its block");
	if (rec->type == CAPTURE_REC_ALLOC && !capture_allocator_allocates(rec->allocator))
		return reader_stop(r, CAPTURE_DAMAGED, off, "ALLOC record with deallocator %u", rec->allocator);
	if (rec->type == CAPTURE_REC_FREE && (capture_allocator_allocates(rec->allocator) || !rec->allocator))
		return reader_stop(r, CAPTURE_DAMAGED, off, "FREE record with allocator %u", rec->allocator);
	r->prev_addr += (uint64_t)codec_get_svarint(in);
	rec->address = r->prev_addr;
	if (rec->type == CAPTURE_REC_ALLOC) {
		rec->size = codec_get_varint(in);
		v = codec_get_varint(in);
		if (v > r->frames)
			return reader_stop(r, CAPTURE_DAMAGED, off, "ALLOC refers to stack %llu of %llu defined",
				    (unsigned long long)v, (unsigned long long)r->frames);
		rec->stack = (uint32_t)v;
	} else if (rec->allocator == CAPTURE_ALLOC_MUNMAP) {
		rec->size = codec_get_varint(in);
	}
	return 1;
}

static int decode_segment(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	struct codec_in *in = &r->in;
	uint64_t v;

	(void)byte;
	rec->pid = codec_get_varint(in);
	rec->ppid = codec_get_varint(in);
	rec->start_ns = codec_get_varint(in);
	rec->kind = (unsigned)codec_get_varint(in);
	rec->exe = get_string(in, CAPTURE_STRING_MAX);
	v = codec_get_varint(in);
	if (in->is_bad || v > CAPTURE_ARGS_MAX || rec->kind > CAPTURE_SEG_FORK)
		return reader_stop(r, CAPTURE_DAMAGED, r->block_offset, "malformed SEGMENT record");
	rec->argc = (int)v;
	for (int i = 0; i < rec->argc; i++)
		r->argv[i] = get_string(in, CAPTURE_STRING_MAX);
	rec->argv = r->argv;
	/* a new process image: ids and the END seen start afresh */
	r->segments++;
	r->in_segment = 1;
	r->segment_ended = 0;
	r->frames = 0;
	r->codes = 0;
	r->reach_left = 0;
	return 1;
}

static int decode_end(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	struct codec_in *in = &r->in;

	(void)byte;
	rec->kind = (unsigned)codec_get_varint(in);
	rec->end_ns = codec_get_varint(in);
	rec->n_allocs = codec_get_varint(in);
	rec->n_frees = codec_get_varint(in);
	rec->bytes = codec_get_varint(in);
	rec->n_frames = codec_get_varint(in);
	rec->lost = codec_get_varint(in);
	r->segment_ended = 1;
	return 1;
}

static int decode_modules(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	(void)byte;
	rec->generation = codec_get_varint(&r->in);
	return 1;
}

static int decode_module(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	struct codec_in *in = &r->in;
	uint64_t v;

	(void)byte;
	rec->path = get_string(in, CAPTURE_STRING_MAX);
	rec->bias = codec_get_varint(in);
	rec->build_id = get_string(in, 64);
	v = codec_get_varint(in);
	if (in->is_bad || v > MAX_MODULE_SEGS)
		return reader_stop(r, CAPTURE_DAMAGED, r->block_offset, "malformed MODULE record");
	rec->nseg = (int)v;
	for (int i = 0; i < 2 * rec->nseg; i++)
		r->segs[i] = codec_get_varint(in);
	rec->segs = r->segs;
	return 1;
}

/* a thread id of THREAD or THREAD_NAME: 1 .. UINT32_MAX */
static int get_tid(struct capture_reader *r, uint32_t *tid, unsigned byte)
{
	uint64_t v = codec_get_varint(&r->in);

	if (!v || v > UINT32_MAX)
		return reader_stop(r, CAPTURE_DAMAGED, r->block_offset, "%s record with thread id %llu",
			    capture_record_name(byte), (unsigned long long)v);
	*tid = (uint32_t)v;
	return 1;
}

static int decode_thread(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	if (!get_tid(r, &rec->tid, byte))
		return 0;
	r->tid = rec->tid;	/* the records that follow in the block are this thread's */
	return 1;
}

static int decode_thread_name(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	if (!get_tid(r, &rec->tid, byte))
		return 0;
	rec->label = get_string(&r->in, CAPTURE_STRING_MAX);
	return 1;
}

/*
 * FRAME and PYFRAME: both are nodes of the one stack trie. FRAME_REL and
 * PYFRAME_REL give the parent as a distance back from the node's own id;
 * the record comes out as a FRAME or PYFRAME.
 */
static int decode_frame(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	struct codec_in *in = &r->in;
	uint64_t off = r->block_offset, v = codec_get_varint(in);
	int is_rel = byte == CAPTURE_REC_FRAME_REL || byte == CAPTURE_REC_PYFRAME_REL;

	if (v > r->frames)
		return reader_stop(r, CAPTURE_DAMAGED, off, "%s with %s %llu of %llu defined",
			    capture_record_name(byte), is_rel ? "distance" : "parent", (unsigned long long)v,
			    (unsigned long long)r->frames);
	rec->parent = (uint32_t)(is_rel ? r->frames - v : v);
	if (is_rel)
		rec->type = byte == CAPTURE_REC_FRAME_REL ? CAPTURE_REC_FRAME : CAPTURE_REC_PYFRAME;
	if (rec->type == CAPTURE_REC_FRAME) {
		r->prev_ip += (uint64_t)codec_get_svarint(in);
		rec->ip = r->prev_ip;
	} else {
		v = codec_get_varint(in);
		if (!v || v > r->codes)
			return reader_stop(r, CAPTURE_DAMAGED, off, "PYFRAME with code %llu of %llu defined",
				    (unsigned long long)v, (unsigned long long)r->codes);
		rec->code = (uint32_t)v;
		rec->line = codec_get_varint(in);
	}
	if (r->frames >= UINT32_MAX)
		return reader_stop(r, CAPTURE_DAMAGED, off, "too many stack nodes");
	rec->frame_id = (uint32_t)++r->frames;
	return 1;
}

static int decode_code(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	struct codec_in *in = &r->in;
	uint64_t v = codec_get_varint(in);

	(void)byte;
	if (v != r->codes + 1)
		return reader_stop(r, CAPTURE_DAMAGED, r->block_offset, "CODE record with id %llu after %llu",
			    (unsigned long long)v, (unsigned long long)r->codes);
	rec->code = (uint32_t)++r->codes;
	rec->label = get_string(in, CAPTURE_STRING_MAX);	/* function */
	rec->path = get_string(in, CAPTURE_STRING_MAX);	/* file */
	rec->line = codec_get_varint(in);
	return 1;
}

static int decode_memory(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	(void)byte;
	rec->ms = codec_get_varint(&r->in);
	rec->rss = codec_get_varint(&r->in);
	return 1;
}

static int decode_time(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	(void)byte;
	rec->since_ns = codec_get_varint(&r->in);
	return 1;
}

static int decode_marker(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	(void)byte;
	rec->kind = (unsigned)codec_get_varint(&r->in);
	rec->label = get_string(&r->in, CAPTURE_STRING_MAX);
	if (rec->kind != CAPTURE_MARK_TEST_BEGIN && rec->kind != CAPTURE_MARK_TEST_END)
		return reader_stop(r, CAPTURE_DAMAGED, r->block_offset, "MARKER of unknown kind %u", rec->kind);
	return 1;
}

static int decode_agg_stack(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	struct codec_in *in = &r->in;
	uint64_t off = r->block_offset, v = codec_get_varint(in);

	(void)byte;
	if (v > r->frames)
		return reader_stop(r, CAPTURE_DAMAGED, off, "AGG_STACK refers to stack %llu of %llu defined",
			    (unsigned long long)v, (unsigned long long)r->frames);
	rec->stack = (uint32_t)v;
	v = codec_get_varint(in);
	if (!capture_allocator_allocates((unsigned)v) || v >= CAPTURE_ALLOC_COUNT)
		return reader_stop(r, CAPTURE_DAMAGED, off, "AGG_STACK with allocator %llu", (unsigned long long)v);
	rec->allocator = (unsigned)v;
	rec->agg_allocs = codec_get_varint(in);
	rec->agg_bytes = codec_get_varint(in);
	rec->peak_count = codec_get_varint(in);
	rec->peak_bytes = codec_get_varint(in);
	rec->leak_count = codec_get_varint(in);
	rec->leak_bytes = codec_get_varint(in);
	return 1;
}

static int decode_agg_peak(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	struct codec_in *in = &r->in;

	(void)byte;
	rec->peak = codec_get_varint(in);
	rec->peak_ms = codec_get_varint(in);
	rec->threads = codec_get_varint(in);
	for (int i = 0; i < CAPTURE_AGG_BUCKETS; i++)
		r->histogram[i] = codec_get_varint(in);
	rec->histogram = r->histogram;
	return 1;
}

static int decode_reach(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	struct codec_in *in = &r->in;

	(void)byte;
	rec->kind = (unsigned)codec_get_varint(in);
	rec->reach_blocks = codec_get_varint(in);
	rec->root_bytes = codec_get_varint(in);
	rec->heap_bytes = codec_get_varint(in);
	rec->stopped_us = codec_get_varint(in);
	if (rec->kind > CAPTURE_REACH_AT_WINDOW_END)
		return reader_stop(r, CAPTURE_DAMAGED, r->block_offset, "REACH of unknown occasion %u", rec->kind);
	r->reach_left = rec->reach_blocks;
	return 1;
}

static int decode_collect(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	struct codec_in *in = &r->in;
	uint64_t category;

	(void)byte;
	r->prev_addr += (uint64_t)codec_get_svarint(in);
	rec->address = r->prev_addr;
	category = codec_get_varint(in);
	if (category != CAPTURE_REACH_DEFINITE && category != CAPTURE_REACH_INDIRECT)
		return reader_stop(r, CAPTURE_DAMAGED, r->block_offset, "COLLECT of a block in category %llu",
			    (unsigned long long)category);
	rec->category = (unsigned)category;
	rec->allocator = CAPTURE_ALLOC_FREE;	/* for readers that take it as the block's FREE */
	rec->size = 0;
	return 1;
}

static int decode_reach_block(struct capture_reader *r, struct capture_record *rec, unsigned byte)
{
	struct codec_in *in = &r->in;
	uint64_t category, root;

	(void)byte;
	if (!r->reach_left)
		return reader_stop(r, CAPTURE_DAMAGED, r->block_offset, "REACH_BLOCK beyond what its REACH announced");
	r->reach_left--;
	r->prev_addr += (uint64_t)codec_get_svarint(in);
	rec->address = r->prev_addr;
	category = codec_get_varint(in);
	root = codec_get_varint(in);
	rec->root_value = codec_get_varint(in);
	rec->chain = codec_get_varint(in);
	if (!category || category >= CAPTURE_REACH_COUNT || root >= CAPTURE_ROOT_COUNT)
		return reader_stop(r, CAPTURE_DAMAGED, r->block_offset, "REACH_BLOCK with category %llu, root %llu",
			    (unsigned long long)category, (unsigned long long)root);
	rec->category = (unsigned)category;
	rec->root_kind = (unsigned)root;
	return 1;
}

/* by type byte; NULL for a byte that is no type (format.c names the same set) */
static decode_fn *const decoders[256] = {
	[CAPTURE_REC_SEGMENT] = decode_segment,
	[CAPTURE_REC_END] = decode_end,
	[CAPTURE_REC_MODULES] = decode_modules,
	[CAPTURE_REC_MODULE] = decode_module,
	[CAPTURE_REC_THREAD] = decode_thread,
	[CAPTURE_REC_THREAD_NAME] = decode_thread_name,
	[CAPTURE_REC_FRAME] = decode_frame,
	[CAPTURE_REC_MEMORY] = decode_memory,
	[CAPTURE_REC_MARKER] = decode_marker,
	[CAPTURE_REC_CODE] = decode_code,
	[CAPTURE_REC_PYFRAME] = decode_frame,
	[CAPTURE_REC_TIME] = decode_time,
	[CAPTURE_REC_REACH] = decode_reach,
	[CAPTURE_REC_REACH_BLOCK] = decode_reach_block,
	[CAPTURE_REC_COLLECT] = decode_collect,
	[CAPTURE_REC_ALLOC ... CAPTURE_REC_ALLOC + CAPTURE_ALLOC_COUNT - 1] = decode_alloc_free,
	[CAPTURE_REC_FREE ... CAPTURE_REC_FREE + CAPTURE_ALLOC_COUNT - 1] = decode_alloc_free,
	[CAPTURE_REC_AGG_STACK] = decode_agg_stack,
	[CAPTURE_REC_AGG_PEAK] = decode_agg_peak,
	[CAPTURE_REC_FRAME_REL] = decode_frame,
	[CAPTURE_REC_PYFRAME_REL] = decode_frame,
};

/* a type byte no decoder knows: newer than us, or damage */
static int unknown_type(struct capture_reader *r, unsigned byte)
{
	char what[32];

	if (r->header.minor > CAPTURE_VERSION_MINOR) {
		snprintf(what, sizeof(what), "record type 0x%02x", byte);
		return newer_than_us(r, r->block_offset, what);
	}
	return reader_stop(r, CAPTURE_DAMAGED, r->block_offset, "unknown record type 0x%02x", byte);
}

/* decode one record at r->in; 1 ok, 0 damage (status set) */
static int decode(struct capture_reader *r, struct capture_record *rec)
{
	uint64_t off = r->block_offset;
	unsigned byte = codec_get_byte(&r->in);
	/*
	 * ALLOC and FREE, most records of any capture, skip the table and are
	 * inlined: through it, reading a churn capture took 15% more
	 * instructions. They set their own fields; the others start from zero.
	 */
	int is_hot = capture_record_has_allocator(byte);
	int ok;

	if (!is_hot)
		memset(rec, 0, sizeof(*rec));
	rec->offset = off;
	rec->tid = r->tid;
	rec->size = 0;
	rec->stack = 0;
	if (byte != CAPTURE_REC_SEGMENT && !r->in_segment)
		return reader_stop(r, CAPTURE_DAMAGED, off, "%s record before the first SEGMENT", capture_record_name(byte));
	if (r->segment_ended && byte != CAPTURE_REC_SEGMENT)
		return reader_stop(r, CAPTURE_DAMAGED, off, "%s record after the END of its segment",
			    capture_record_name(byte));
	if (is_hot) {
		rec->type = byte & 0xf0;
		ok = decode_alloc_free(r, rec, byte);
	} else if (decoders[byte & 0xff]) {
		rec->type = byte;
		ok = decoders[byte & 0xff](r, rec, byte);
	} else {
		return unknown_type(r, byte);
	}
	if (!ok)
		return 0;
	if (r->in.is_bad)
		return reader_stop(r, CAPTURE_DAMAGED, off, "%s record runs past the end of its block",
			    capture_record_name(rec->type));
	return 1;
}

int capture_reader_next(struct capture_reader *r, struct capture_record *rec)
{
	r->is_waiting = 0;
	if (r->finished)
		return 0;
	if (r->is_stream && !r->has_header) {
		reader_waits(r);	/* capture_reader_feed() reads the header as it comes */
		return 0;
	}
	while (r->in.p >= r->in.end) {
		if (!load_block(r))
			return 0;
	}
	if (!decode(r, rec))
		return 0;
	r->records++;
	return 1;
}
