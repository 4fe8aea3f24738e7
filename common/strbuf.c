#include "common/strbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char strbuf_empty[1];

void strbuf_init(struct strbuf *sb, size_t hint)
{
	sb->alloc = sb->len = sb->cap = 0;
	sb->buf = strbuf_empty;
	if (hint)
		strbuf_grow(sb, hint);
}

void strbuf_init_capped(struct strbuf *sb, size_t cap)
{
	strbuf_init(sb, 0);
	sb->cap = cap;
}

void strbuf_release(struct strbuf *sb)
{
	size_t cap = sb->cap;

	if (sb->alloc)
		free(sb->buf);
	strbuf_init(sb, 0);
	sb->cap = cap;
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
	char *s;

	if (len)
		*len = sb->len;
	if (!sb->alloc) {
		s = calloc(1, 1);
		if (!s)
			return NULL;
	} else {
		s = sb->buf;
	}
	sb->alloc = sb->len = 0;
	sb->buf = strbuf_empty;
	return s;
}

int strbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t want, alloc;
	char *p;

	if (extra > SIZE_MAX / 2 - sb->len - 1)
		return -1;
	want = sb->len + extra + 1;
	if (sb->cap && want > sb->cap + 1) {
		errno = EFBIG;
		return -1;
	}
	if (want <= sb->alloc)
		return 0;
	alloc = sb->alloc ? sb->alloc : 64;
	while (alloc < want)
		alloc = alloc * 3 / 2 + 16;
	if (sb->cap && alloc > sb->cap + 1)
		alloc = sb->cap + 1;
	p = realloc(sb->alloc ? sb->buf : NULL, alloc);
	if (!p)
		return -1;
	if (!sb->alloc)
		p[0] = '\0';
	sb->buf = p;
	sb->alloc = alloc;
	return 0;
}

void strbuf_setlen(struct strbuf *sb, size_t len)
{
	if (!sb->alloc)
		return;	/* nothing to shorten */
	sb->len = len;
	sb->buf[len] = '\0';
}

int strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	if (strbuf_grow(sb, len) < 0)
		return -1;
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
	return 0;
}

int strbuf_addstr(struct strbuf *sb, const char *s)
{
	return strbuf_add(sb, s, strlen(s));
}

int strbuf_addch(struct strbuf *sb, int c)
{
	char ch = (char)c;

	return strbuf_add(sb, &ch, 1);
}

int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || strbuf_grow(sb, (size_t)n) < 0)
		return -1;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	return 0;
}

int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	return ret;
}

int strbuf_add_json(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int ret;

		if (c == '"' || c == '\\')
			ret = strbuf_addch(sb, '\\') | strbuf_addch(sb, c);
		else if (c < 0x20)
			ret = strbuf_addf(sb, "\\u%04x", c);
		else
			ret = strbuf_addch(sb, c);
		if (ret < 0)
			return -1;
	}
	return 0;
}

int strbuf_read_fd(struct strbuf *sb, int fd)
{
	for (;;) {
		ssize_t n;

		if (strbuf_grow(sb, 65536) < 0)
			return -1;
		n = read(fd, sb->buf + sb->len, sb->alloc - sb->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		sb->len += (size_t)n;
		sb->buf[sb->len] = '\0';
	}
}
