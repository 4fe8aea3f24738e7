/*
 * capture/reader_private: the state of a capture reader, shared by the
 * two halves of the reader: reader.c (files, blocks and records) and
 * stream.c (a capture fed by its caller). Nothing else includes this.
 */
#ifndef CAPTURE_READER_PRIVATE_H
#define CAPTURE_READER_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "capture/codec.h"
#include "capture/format.h"
#include "capture/header.h"
#include "capture/reader.h"
#include "common/error.h"

#define MAX_MODULE_SEGS 64

struct capture_reader {
	char *path;
	int fd;			/* -1 until open */
	uint64_t size;		/* at open; the file may shrink (reader.h) */
	uint8_t *stored;	/* the block as stored (header and payload), read with pread */
	size_t stored_cap;
	uint64_t next_block;	/* file offset of the next block */
	struct capture_header header;

	uint8_t *raw;		/* the decoded block */
	size_t raw_cap;
	uint8_t *inner;		/* an lz4 block of an lz4 block: the inner one */
	size_t inner_cap;
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
	uint64_t reach_left;	/* REACH_BLOCK records the last REACH announced */

	uint64_t records;
	enum capture_status status;
	char problem[512];
	int finished;

	struct capture_string argv[CAPTURE_ARGS_MAX];
	uint64_t segs[2 * MAX_MODULE_SEGS];
	uint64_t histogram[CAPTURE_AGG_BUCKETS];

	/* a stream (reader.h): bytes [sbase, sbase + slen) of it are in sbuf */
	int is_stream, has_header, stream_ended, is_waiting;
	uint8_t *sbuf;
	size_t slen, scap;
	uint64_t sbase;
};

/*
 * End the reading with status, the problem "offset N: " and fmt. Returns
 * 0, for `return reader_stop(...)` in a function that returns 1 on success.
 */
int reader_stop(struct capture_reader *r, enum capture_status status, uint64_t offset, const char *fmt, ...)
	MEMRAY_PRINTF(4, 5);
/* a stream short of bytes that may still come: wait for them (1), rather than end (0) */
int reader_waits(struct capture_reader *r);

#endif
