/*
 * live/session: see session.h.
 */
#include "live/session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/file.h"

#define READ_CHUNK (64u * 1024)
#define READS_PER_PUMP 64	/* 4 MiB, then the view gets a turn */

/* the observer: the heap as it is now, split by thread for the selector */
static int on_alloc(void *ctx, const struct capture_record *rec, uint32_t stack)
{
	struct live_session *s = ctx;
	int ret;

	s->hm->thread = rec->tid;
	ret = heapmodel_alloc(s->hm, rec->address, rec->size, stack, rec->allocator, 0);
	if (ret == HEAPMODEL_OVERFLOW)
		return error("%s: allocation sizes add up past 2^64 bytes (not a real program's stream)", s->name);
	return ret < 0 ? error("%s: out of memory", s->name) : 0;
}

static int on_free(void *ctx, const struct capture_record *rec)
{
	struct live_session *s = ctx;

	if (heapmodel_free_block(s->hm, rec->address, rec->size, rec->allocator) < 0)
		return error("%s: out of memory", s->name);
	return 0;
}

static int on_segment_end(void *ctx, int is_last)
{
	struct live_session *s = ctx;
	struct heapmodel *fresh;

	if (is_last)
		return 0;	/* what is live at the end stays on screen */
	fresh = heapmodel_new();	/* an exec: the new image's heap starts empty */
	if (!fresh)
		return error("%s: out of memory", s->name);
	heapmodel_free(s->hm);
	s->hm = fresh;
	return 0;
}

int live_session_attach(struct live_session *s, int fd)
{
	s->fd = fd;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return error_errno("%s", s->name);
	return 0;
}

int live_session_init(struct live_session *s, const char *name, const char *tee_path, int force)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->fd = -1;
	s->tee_fd = -1;
	s->tee_path = tee_path;
	if (tee_path && (s->tee_fd = file_create(tee_path, force, "capture file")) < 0)
		return -1;
	s->r = capture_reader_stream(name);
	s->hm = heapmodel_new();
	s->sym = symbolizer_new();
	if (!s->r || !s->hm || !s->sym)
		return error("%s: out of memory", name);
	return 0;
}

void live_session_release(struct live_session *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->tee_fd >= 0)
		close(s->tee_fd);
	analysis_release(&s->a);
	capture_reader_free(s->r);
	heapmodel_free(s->hm);
	symbolizer_free(s->sym);
	memset(s, 0, sizeof(*s));
	s->fd = s->tee_fd = -1;
}

static int tee_write(struct live_session *s, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(s->tee_fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			return error_errno("cannot write capture file '%s'", s->tee_path);
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* the stream ended (EOF, a reset, or damage we stop reading at): finish the pass */
static int finish(struct live_session *s, const char *why)
{
	const char *problem;

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->has_ended = 1;
	capture_reader_feed_end(s->r);
	if (s->has_begun && (analysis_feed(&s->a, s->r) < 0 || analysis_end(&s->a, s->r) < 0))
		return -1;
	s->saw_end = s->has_begun && s->a.is_complete;
	problem = capture_reader_problem(s->r);
	if (why)
		snprintf(s->problem, sizeof(s->problem), "%s: %s", s->name, why);
	else if (problem)
		snprintf(s->problem, sizeof(s->problem), "%s: %s", s->name, problem);
	return 0;
}

/* the bytes just fed: begin the pass once the header is there, then take every record */
static int analyse(struct live_session *s)
{
	if (!s->has_begun && capture_reader_has_header(s->r)) {
		struct analysis_options opts = { .observers = &s->obs, .nobservers = 1 };

		s->obs = (struct analysis_observer){ .ctx = s, .alloc = on_alloc, .free = on_free,
						  .segment_end = on_segment_end };
		if (analysis_begin(&s->a, s->r, &opts) < 0)
			return -1;
		s->has_begun = 1;
	}
	if (s->has_begun && analysis_feed(&s->a, s->r) < 0)
		return -1;
	if (capture_reader_status(s->r) != CAPTURE_OK)
		return finish(s, NULL);	/* damage: nothing after it can be trusted */
	return 0;
}

int live_session_pump(struct live_session *s)
{
	char buf[READ_CHUNK];
	int changed = 0;

	for (int i = 0; s->fd >= 0; i++) {
		ssize_t n;

		if (i == READS_PER_PUMP)
			return 2;	/* the view's turn; more may be waiting */
		n = read(s->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		changed = 1;
		if (n < 0)
			return finish(s, strerror(errno)) < 0 ? -1 : 1;
		if (n == 0)
			return finish(s, NULL) < 0 ? -1 : 1;
		s->bytes_in += (uint64_t)n;
		if ((s->tee_fd >= 0 && tee_write(s, buf, (size_t)n) < 0) ||
		    capture_reader_feed(s->r, buf, (size_t)n) < 0 || analyse(s) < 0)
			return -1;
	}
	return changed;
}

const char *live_session_problem(const struct live_session *s)
{
	if (s->problem[0])
		return s->problem;
	if (s->has_ended && !s->has_begun)
		return "the connection closed before a capture arrived";
	return NULL;
}

uint64_t live_session_peak(const struct live_session *s)
{
	return s->hm ? s->hm->peak : 0;
}

uint64_t live_session_heap(const struct live_session *s)
{
	return s->hm ? s->hm->heap : 0;
}
