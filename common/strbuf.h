/*
 * common/strbuf: a growing, length-counted byte buffer, after git's strbuf.
 *
 * Invariants: buf is never NULL (an empty strbuf points at a shared empty
 * string until the first append), buf[len] is always '\0', and the data
 * may hold NUL bytes. Growth is geometric. A strbuf may carry a cap
 * (strbuf_init_capped): an append that would grow it past the cap fails,
 * so a corrupt length read from a file cannot cost gigabytes.
 *
 * Appends return 0, or -1 after printing nothing when memory or the cap runs
 * out; the buffer then keeps its earlier content. Any call that may grow
 * the buffer may move it: pointers into buf die with it.
 *
 * Ownership: the strbuf owns buf; strbuf_detach() hands it to the caller,
 * who frees it with free(); strbuf_release() frees it and resets the
 * strbuf to empty. In the tracker's build (MEMRAY_TRACKER) buf is a
 * mapping of its own, not heap memory, and there is no strbuf_detach().
 */
#ifndef COMMON_STRBUF_H
#define COMMON_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "common/error.h"

struct strbuf {
	size_t alloc;
	size_t len;
	size_t cap;	/* 0: no cap */
	char *buf;
};

extern char strbuf_empty[];
#define STRBUF_INIT { 0, 0, 0, strbuf_empty }

void strbuf_init(struct strbuf *sb, size_t hint);
void strbuf_init_capped(struct strbuf *sb, size_t cap);
void strbuf_release(struct strbuf *sb);
/* the caller owns the returned string; *len gets its length if not NULL */
#ifndef MEMRAY_TRACKER
char *strbuf_detach(struct strbuf *sb, size_t *len);
#endif

/* make room for `extra` more bytes */
int strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_setlen(struct strbuf *sb, size_t len);
static inline void strbuf_reset(struct strbuf *sb)
{
	strbuf_setlen(sb, 0);
}

int strbuf_add(struct strbuf *sb, const void *data, size_t len);
int strbuf_addstr(struct strbuf *sb, const char *s);
int strbuf_addch(struct strbuf *sb, int c);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...) MEMRAY_PRINTF(2, 3);
int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);

/* JSON string contents (no quotes) with every needed escape */
int strbuf_add_json(struct strbuf *sb, const char *s);
/* read the whole file at fd; -1 with errno set on a read error */
int strbuf_read_fd(struct strbuf *sb, int fd);

#endif
