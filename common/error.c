#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/utf8.h"

static char last_error[4096];

/*
 * Messages quote names from the tracked program (functions, files,
 * threads, tests), so the line goes out with its controls escaped: a name
 * must not clear the screen, retitle the terminal or start a line that
 * looks like ours. Out of memory, every byte outside printable ASCII
 * becomes '?' instead, in place.
 */
static const char *printable(struct strbuf *sb, char *msg)
{
	if (utf8_add_printable(sb, msg, UTF8_KEEP_TAB) == 0)
		return sb->buf;
	for (unsigned char *p = (unsigned char *)msg; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p >= 0x7f)
			*p = '?';
	return msg;
}

static void report(const char *prefix, const char *fmt, va_list ap, int errnum)
{
	struct strbuf shown = STRBUF_INIT;
	char msg[4096];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum)
		fprintf(stderr, "memray: %s%s: %s\n", prefix, printable(&shown, msg), strerror(errnum));
	else
		fprintf(stderr, "memray: %s%s\n", prefix, printable(&shown, msg));
	strbuf_release(&shown);
	if (*prefix == 'e') {
		if (errnum)
			snprintf(last_error, sizeof(last_error), "%.3000s: %s", msg, strerror(errnum));
		else
			snprintf(last_error, sizeof(last_error), "%s", msg);
	}
}

const char *error_last(void)
{
	return last_error;
}

int verbosity;

void verbose(int level, const char *fmt, ...)
{
	va_list ap;

	if (verbosity < level)
		return;
	va_start(ap, fmt);
	report("", fmt, ap, 0);
	va_end(ap);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("error: ", fmt, ap, 0);
	va_end(ap);
	return -1;
}

int error_errno(const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;

	va_start(ap, fmt);
	report("error: ", fmt, ap, errnum);
	va_end(ap);
	errno = errnum;
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("warning: ", fmt, ap, 0);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("error: ", fmt, ap, 0);
	va_end(ap);
	exit(MEMRAY_EXIT_USAGE);
}

void bug_fl(const char *file, int line, const char *fmt, ...)
{
	static int in_bug;
	va_list ap;

	if (in_bug++)
		abort();	/* a BUG while reporting a BUG: do not recurse */
	fprintf(stderr, "memray: BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
