/*
 * capture/stream: a capture reader fed by its caller (reader.h's
 * streams): the bytes of a live capture as they arrive from a socket.
 */
#include <stdlib.h>
#include <string.h>

#include "capture/block.h"
#include "capture/reader.h"
#include "capture/reader_private.h"
#include "common/error.h"
#include "common/grow.h"

struct capture_reader *capture_reader_stream(const char *name)
{
	struct capture_reader *r = calloc(1, sizeof(*r));

	if (!r || !(r->path = strdup(name))) {
		free(r);
		error("%s: out of memory", name);
		return NULL;
	}
	r->fd = -1;
	r->is_stream = 1;
	return r;
}

/* the stream's file header: 1 decoded, 0 waiting or not a capture (finished, status set) */
static int stream_header(struct capture_reader *r)
{
	const char *why = NULL;
	char whybuf[160];
	size_t hsize;

	if (r->slen < CAPTURE_HEADER_FIXED) {
		if (r->slen && memcmp(r->sbuf, CAPTURE_MAGIC, r->slen < CAPTURE_MAGIC_LEN ? r->slen : CAPTURE_MAGIC_LEN))
			return reader_stop(r, CAPTURE_DAMAGED, 0, "not a memray capture (bad magic)");
		if (reader_waits(r))
			return 0;
		return reader_stop(r, CAPTURE_INCOMPLETE, 0, "the stream ended after %zu bytes, before its file "
			    "header had arrived", r->slen);
	}
	hsize = capture_header_size(r->sbuf, r->slen, &why, whybuf, sizeof(whybuf));
	if (!hsize)
		return reader_stop(r, CAPTURE_DAMAGED, 0, "%s", why);
	if (hsize > r->slen)
		return reader_waits(r) ? 0 : reader_stop(r, CAPTURE_INCOMPLETE, 0, "the stream ended inside its file header "
					   "(%zu of %zu bytes)", r->slen, hsize);
	if (capture_header_decode(r->sbuf, hsize, &r->header, &why) < 0)
		return reader_stop(r, CAPTURE_DAMAGED, 0, "%s", why);
	r->has_header = 1;
	r->next_block = hsize;
	return 1;
}

/* what a stream can hold unread: a whole header, or a whole block and what came with it */
#define STREAM_MAX (CAPTURE_HEADER_MAX + CAPTURE_BLOCK_HEADER + CAPTURE_BLOCK_STORED_MAX + (1u << 20))

int capture_reader_feed(struct capture_reader *r, const void *p, size_t n)
{
	if (r->finished || !n)
		return 0;
	if (r->slen + n > STREAM_MAX) {
		reader_stop(r, CAPTURE_DAMAGED, r->sbase, "more than %u bytes arrived unread (the reader is not "
		     "called between feeds)", STREAM_MAX);
		return error("%s: %s", r->path, r->problem);
	}
	if (GROW(r->sbuf, r->slen + n, r->scap) < 0) {
		reader_stop(r, CAPTURE_DAMAGED, r->sbase, "out of memory for %zu bytes", r->slen + n);
		return error("%s: %s", r->path, r->problem);
	}
	memcpy(r->sbuf + r->slen, p, n);
	r->slen += n;
	r->size = r->sbase + r->slen;
	if (!r->has_header)
		stream_header(r);	/* so the caller can tell when to begin its analysis */
	return 0;
}

void capture_reader_feed_end(struct capture_reader *r)
{
	r->stream_ended = 1;
	if (!r->has_header && !r->finished)
		stream_header(r);
}

int capture_reader_is_waiting(const struct capture_reader *r)
{
	return r->is_waiting;
}

int capture_reader_has_header(const struct capture_reader *r)
{
	return r->has_header;
}
