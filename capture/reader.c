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
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/block.h"
#include "capture/codec.h"
#include "common/error.h"
#include "common/grow.h"

#define MAX_MODULE_SEGS 64

struct capture_reader {
	char *path;
	const uint8_t *map;
	uint64_t size;
	uint64_t next_block;	/* file offset of the next block */
	struct capture_header header;

	uint8_t *raw;		/* the decoded block */
	size_t raw_cap;
	struct codec_in in;	/* cursor in raw */
	uint64_t block_offset;

	/* delta state, reset per block */
	uint64_t prev_addr, prev_ip;
	uint32_t tid;

	/* per segment */
	unsigned segments;
	int in_segment, segment_ended;
	uint64_t frames;	/* stack nodes defined in this segment */
	uint64_t codes;		/* Python code objects defined in this segment */

	uint64_t records;
	enum capture_status status;
	char problem[512];
	int finished;

	struct capture_string argv[CAPTURE_ARGS_MAX];
	uint64_t segs[2 * MAX_MODULE_SEGS];
	uint64_t histogram[CAPTURE_AGG_BUCKETS];
};

static const char *const record_names[] = {
	[CAPTURE_REC_SEGMENT] = "SEGMENT",	[CAPTURE_REC_END] = "END",
	[CAPTURE_REC_MODULES] = "MODULES",	[CAPTURE_REC_MODULE] = "MODULE",
	[CAPTURE_REC_THREAD] = "THREAD",	[CAPTURE_REC_THREAD_NAME] = "THREAD_NAME",
	[CAPTURE_REC_FRAME] = "FRAME",		[CAPTURE_REC_MEMORY] = "MEMORY",
	[CAPTURE_REC_MARKER] = "MARKER",	[CAPTURE_REC_CODE] = "CODE",
	[CAPTURE_REC_PYFRAME] = "PYFRAME",	[CAPTURE_REC_ALLOC] = "ALLOC",
	[CAPTURE_REC_FREE] = "FREE",		[CAPTURE_REC_AGG_STACK] = "AGG_STACK",
	[CAPTURE_REC_AGG_PEAK] = "AGG_PEAK",
};

const char *capture_record_name(unsigned type)
{
	if (type < sizeof(record_names) / sizeof(record_names[0]) && record_names[type])
		return record_names[type];
	return "UNKNOWN";
}

struct capture_reader *capture_reader_open(const char *path)
{
	struct capture_reader *r = calloc(1, sizeof(*r));
	const char *why = NULL;
	char whybuf[160];
	struct stat st;
	size_t hsize;
	int fd = -1;

	if (!r || !(r->path = strdup(path))) {
		error("%s: out of memory", path);
		goto fail;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error_errno("cannot open capture '%s'", path);
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		error_errno("cannot read capture '%s'", path);
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		error("%s: is a directory, not a capture file", path);
		goto fail;
	}
	if (st.st_size == 0) {
		error("%s: empty file, not a memray capture", path);
		goto fail;
	}
	r->size = (uint64_t)st.st_size;
	r->map = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		error_errno("cannot map capture '%s'", path);
		goto fail;
	}
	close(fd);
	fd = -1;
	hsize = capture_header_size(r->map, r->size, &why, whybuf, sizeof(whybuf));
	if (!hsize) {
		error("%s: %s", path, why);
		goto fail;
	}
	if (hsize > r->size) {
		error("%s: file header is truncated (%zu of %zu bytes)", path, (size_t)r->size, hsize);
		goto fail;
	}
	if (capture_header_decode(r->map, hsize, &r->header, &why) < 0) {
		error("%s: offset 0: %s", path, why);
		goto fail;
	}
	r->next_block = hsize;
	return r;
fail:
	if (fd >= 0)
		close(fd);
	capture_reader_free(r);
	return NULL;
}

void capture_reader_free(struct capture_reader *r)
{
	if (!r)
		return;
	if (r->map)
		munmap((void *)r->map, r->size);
	capture_header_release(&r->header);
	free(r->raw);
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

static int stop(struct capture_reader *r, enum capture_status status, uint64_t offset, const char *fmt, ...)
	MEMRAY_PRINTF(4, 5);

static int stop(struct capture_reader *r, enum capture_status status, uint64_t offset, const char *fmt, ...)
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

/* decode the next block into r->raw; 1, or 0 at the end (status set) */
static int load_block(struct capture_reader *r)
{
	struct capture_block_info bi;
	uint64_t off = r->next_block, left = r->size - off;
	const char *why;

	if (left == 0) {
		if (r->in_segment && !r->segment_ended)
			return stop(r, CAPTURE_INCOMPLETE, off,
				    "the capture ends without its END record (the program was killed, "
				    "or tracking stopped early)");
		if (!r->segments)
			return stop(r, CAPTURE_INCOMPLETE, off, "the capture holds no records: the "
				    "program never started the tracker");
		r->finished = 1;
		return 0;
	}
	if (left < CAPTURE_BLOCK_HEADER)
		return stop(r, CAPTURE_INCOMPLETE, off, "the capture ends inside a block header "
			    "(the program was probably killed while the block was written)");
	if (capture_block_parse_header(r->map + off, &bi, &why) < 0)
		return stop(r, CAPTURE_DAMAGED, off, "%s", why);
	if (CAPTURE_BLOCK_HEADER + (uint64_t)bi.stored_len > left)
		return stop(r, CAPTURE_INCOMPLETE, off, "the capture ends inside a block (%llu of %llu "
			    "bytes; the program was probably killed while it was written)",
			    (unsigned long long)left, (unsigned long long)(CAPTURE_BLOCK_HEADER + bi.stored_len));
	/* at least one byte: an empty block still gets a buffer to point into */
	if (GROW(r->raw, bi.raw_len ? bi.raw_len : 1, r->raw_cap) < 0)
		return stop(r, CAPTURE_DAMAGED, off, "out of memory for a block of %u bytes", bi.raw_len);
	if (capture_block_decode(r->map + off, &bi, r->raw, &why) < 0)
		return stop(r, CAPTURE_DAMAGED, off, "%s", why);
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

/* decode one record at r->in; 1 ok, 0 damage (status set) */
static int decode(struct capture_reader *r, struct capture_record *rec)
{
	struct codec_in *in = &r->in;
	uint64_t off = r->block_offset;
	unsigned type = codec_get_byte(in);
	uint64_t v;

	/* the hot records set their own fields; the others start from zero */
	if (!(type >= CAPTURE_REC_ALLOC && type < CAPTURE_REC_FREE + CAPTURE_ALLOC_COUNT))
		memset(rec, 0, sizeof(*rec));
	rec->offset = off;
	rec->tid = r->tid;
	rec->size = 0;
	rec->stack = 0;
	if (type != CAPTURE_REC_SEGMENT && !r->in_segment)
		return stop(r, CAPTURE_DAMAGED, off, "%s record before the first SEGMENT",
			    capture_record_name(type >= 0x10 && type < 0x30 ? type & 0xf0 : type));
	if (r->segment_ended && type != CAPTURE_REC_SEGMENT)
		return stop(r, CAPTURE_DAMAGED, off, "%s record after the END of its segment",
			    capture_record_name(type >= 0x10 && type < 0x30 ? type & 0xf0 : type));
	if (type >= CAPTURE_REC_ALLOC && type < CAPTURE_REC_FREE + CAPTURE_ALLOC_COUNT) {
		rec->type = type & 0xf0;
		rec->allocator = type & 0x0f;
		if (!r->tid)
			return stop(r, CAPTURE_DAMAGED, off, "allocation record without a THREAD record in its block");
		if (rec->type == CAPTURE_REC_ALLOC && !capture_allocator_allocates(rec->allocator))
			return stop(r, CAPTURE_DAMAGED, off, "ALLOC record with deallocator %u", rec->allocator);
		if (rec->type == CAPTURE_REC_FREE && (capture_allocator_allocates(rec->allocator) || !rec->allocator))
			return stop(r, CAPTURE_DAMAGED, off, "FREE record with allocator %u", rec->allocator);
		r->prev_addr += (uint64_t)codec_get_svarint(in);
		rec->address = r->prev_addr;
		if (rec->type == CAPTURE_REC_ALLOC) {
			rec->size = codec_get_varint(in);
			v = codec_get_varint(in);
			if (v > r->frames)
				return stop(r, CAPTURE_DAMAGED, off, "ALLOC refers to stack %llu of %llu defined",
					    (unsigned long long)v, (unsigned long long)r->frames);
			rec->stack = (uint32_t)v;
		} else if (rec->allocator == CAPTURE_ALLOC_MUNMAP) {
			rec->size = codec_get_varint(in);
		}
		goto check;
	}
	rec->type = type;
	switch (type) {
	case CAPTURE_REC_SEGMENT:
		rec->pid = codec_get_varint(in);
		rec->ppid = codec_get_varint(in);
		rec->start_ns = codec_get_varint(in);
		rec->kind = (unsigned)codec_get_varint(in);
		rec->exe = get_string(in, CAPTURE_STRING_MAX);
		v = codec_get_varint(in);
		if (in->is_bad || v > CAPTURE_ARGS_MAX || rec->kind > CAPTURE_SEG_FORK)
			return stop(r, CAPTURE_DAMAGED, off, "malformed SEGMENT record");
		rec->argc = (int)v;
		for (int i = 0; i < rec->argc; i++)
			r->argv[i] = get_string(in, CAPTURE_STRING_MAX);
		rec->argv = r->argv;
		r->segments++;
		r->in_segment = 1;
		r->segment_ended = 0;
		r->frames = 0;
		r->codes = 0;
		break;
	case CAPTURE_REC_END:
		rec->kind = (unsigned)codec_get_varint(in);
		rec->end_ns = codec_get_varint(in);
		rec->n_allocs = codec_get_varint(in);
		rec->n_frees = codec_get_varint(in);
		rec->bytes = codec_get_varint(in);
		rec->n_frames = codec_get_varint(in);
		rec->lost = codec_get_varint(in);
		r->segment_ended = 1;
		break;
	case CAPTURE_REC_MODULES:
		rec->generation = codec_get_varint(in);
		break;
	case CAPTURE_REC_MODULE:
		rec->path = get_string(in, CAPTURE_STRING_MAX);
		rec->bias = codec_get_varint(in);
		rec->build_id = get_string(in, 64);
		v = codec_get_varint(in);
		if (in->is_bad || v > MAX_MODULE_SEGS)
			return stop(r, CAPTURE_DAMAGED, off, "malformed MODULE record");
		rec->nseg = (int)v;
		for (int i = 0; i < 2 * rec->nseg; i++)
			r->segs[i] = codec_get_varint(in);
		rec->segs = r->segs;
		break;
	case CAPTURE_REC_THREAD:
		v = codec_get_varint(in);
		if (!v || v > UINT32_MAX)
			return stop(r, CAPTURE_DAMAGED, off, "THREAD record with thread id %llu",
				    (unsigned long long)v);
		r->tid = rec->tid = (uint32_t)v;
		break;
	case CAPTURE_REC_THREAD_NAME:
		v = codec_get_varint(in);
		if (!v || v > UINT32_MAX)
			return stop(r, CAPTURE_DAMAGED, off, "THREAD_NAME record with thread id %llu",
				    (unsigned long long)v);
		rec->tid = (uint32_t)v;
		rec->label = get_string(in, CAPTURE_STRING_MAX);
		break;
	case CAPTURE_REC_FRAME:
	case CAPTURE_REC_PYFRAME:
		/* both are nodes of the one stack trie */
		v = codec_get_varint(in);
		if (v > r->frames)
			return stop(r, CAPTURE_DAMAGED, off, "%s with parent %llu of %llu defined",
				    capture_record_name(type), (unsigned long long)v, (unsigned long long)r->frames);
		rec->parent = (uint32_t)v;
		if (type == CAPTURE_REC_FRAME) {
			r->prev_ip += (uint64_t)codec_get_svarint(in);
			rec->ip = r->prev_ip;
		} else {
			v = codec_get_varint(in);
			if (!v || v > r->codes)
				return stop(r, CAPTURE_DAMAGED, off, "PYFRAME with code %llu of %llu defined",
					    (unsigned long long)v, (unsigned long long)r->codes);
			rec->code = (uint32_t)v;
			rec->line = codec_get_varint(in);
		}
		if (r->frames >= UINT32_MAX)
			return stop(r, CAPTURE_DAMAGED, off, "too many stack nodes");
		rec->frame_id = (uint32_t)++r->frames;
		break;
	case CAPTURE_REC_CODE:
		v = codec_get_varint(in);
		if (v != r->codes + 1)
			return stop(r, CAPTURE_DAMAGED, off, "CODE record with id %llu after %llu",
				    (unsigned long long)v, (unsigned long long)r->codes);
		rec->code = (uint32_t)++r->codes;
		rec->label = get_string(in, CAPTURE_STRING_MAX);	/* function */
		rec->path = get_string(in, CAPTURE_STRING_MAX);	/* file */
		rec->line = codec_get_varint(in);
		break;
	case CAPTURE_REC_MEMORY:
		rec->ms = codec_get_varint(in);
		rec->rss = codec_get_varint(in);
		break;
	case CAPTURE_REC_MARKER:
		rec->kind = (unsigned)codec_get_varint(in);
		rec->label = get_string(in, CAPTURE_STRING_MAX);
		if (rec->kind != CAPTURE_MARK_TEST_BEGIN && rec->kind != CAPTURE_MARK_TEST_END)
			return stop(r, CAPTURE_DAMAGED, off, "MARKER of unknown kind %u", rec->kind);
		break;
	case CAPTURE_REC_AGG_STACK:
		v = codec_get_varint(in);
		if (v > r->frames)
			return stop(r, CAPTURE_DAMAGED, off, "AGG_STACK refers to stack %llu of %llu defined",
				    (unsigned long long)v, (unsigned long long)r->frames);
		rec->stack = (uint32_t)v;
		v = codec_get_varint(in);
		if (!capture_allocator_allocates((unsigned)v) || v >= CAPTURE_ALLOC_COUNT)
			return stop(r, CAPTURE_DAMAGED, off, "AGG_STACK with allocator %llu", (unsigned long long)v);
		rec->allocator = (unsigned)v;
		rec->agg_allocs = codec_get_varint(in);
		rec->agg_bytes = codec_get_varint(in);
		rec->peak_count = codec_get_varint(in);
		rec->peak_bytes = codec_get_varint(in);
		rec->leak_count = codec_get_varint(in);
		rec->leak_bytes = codec_get_varint(in);
		break;
	case CAPTURE_REC_AGG_PEAK:
		rec->peak = codec_get_varint(in);
		rec->peak_ms = codec_get_varint(in);
		rec->threads = codec_get_varint(in);
		for (int i = 0; i < CAPTURE_AGG_BUCKETS; i++)
			r->histogram[i] = codec_get_varint(in);
		rec->histogram = r->histogram;
		break;
	default:
		if (r->header.minor > CAPTURE_VERSION_MINOR)
			return stop(r, CAPTURE_DAMAGED, off,
				    "record type 0x%02x is newer than this memray (file version %u.%u, "
				    "memray reads %u.%u)", type, r->header.major, r->header.minor,
				    CAPTURE_VERSION_MAJOR, CAPTURE_VERSION_MINOR);
		return stop(r, CAPTURE_DAMAGED, off, "unknown record type 0x%02x", type);
	}
check:
	if (in->is_bad)
		return stop(r, CAPTURE_DAMAGED, off, "%s record runs past the end of its block",
			    capture_record_name(rec->type));
	return 1;
}

int capture_reader_next(struct capture_reader *r, struct capture_record *rec)
{
	if (r->finished)
		return 0;
	while (r->in.p >= r->in.end) {
		if (!load_block(r))
			return 0;
	}
	if (!decode(r, rec))
		return 0;
	r->records++;
	return 1;
}
