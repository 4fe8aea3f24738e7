#include "common/strbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char strbuf_empty[1];

#ifdef MEMRAY_TRACKER
#include <sys/mman.h>

/*
 * Inside the tracked program (the tracker's build), a buffer is a mapping
 * of its own, never a block of the program's heap. A block the tracker
 * took there, even for a moment, moved where the program's later blocks
 * went: a Check suite run without fork (CK_FORK=no) then had glibc trim
 * and regrow its heap a page at a time, 102,008 brk calls instead of 218
 * and 2.8 s instead of 0.5. strbuf_detach(), whose caller would free()
 * the mapping, is left out of this build.
 */
#define PAGE_ROUND(n) (((n) + 4095) & ~(size_t)4095)

static void *buf_resize(void *old, size_t old_size, size_t size)
{
	void *p = old_size ? mremap(old, old_size, size, MREMAP_MAYMOVE)
			   : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void buf_free(void *buf, size_t size)
{
	munmap(buf, size);
}
#else
#define PAGE_ROUND(n) (n)

static void *buf_resize(void *old, size_t old_size, size_t size)
{
	(void)old_size;
	return realloc(old, size);
}

static void buf_free(void *buf, size_t size)
{
	(void)size;
	free(buf);
}
#endif

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
		buf_free(sb->buf, sb->alloc);
	strbuf_init(sb, 0);
	sb->cap = cap;
}

#ifndef MEMRAY_TRACKER
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
#endif

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
	alloc = PAGE_ROUND(alloc);
	p = buf_resize(sb->alloc ? sb->buf : NULL, sb->alloc, alloc);
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
