/*
 * common/utf8: see utf8.h.
 */
#include "common/utf8.h"

#include <string.h>

#include "common/strbuf.h"

static int is_cont(unsigned char c, unsigned char lo, unsigned char hi)
{
	return c >= lo && c <= hi;
}

int utf8_decode(const char *str, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	int len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return -1;	/* a continuation byte, C0/C1 (always overlong) or F5-FF */
	/* the second byte's range is what rules out overlongs, surrogates and > U+10FFFF */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (!is_cont(s[1], lo, hi))
		return -1;
	for (int k = 2; k < len; k++)	/* a NUL is no continuation: the loop stops at the end */
		if (!is_cont(s[k], 0x80, 0xbf))
			return -k;
	*cp = c & (0xff >> (len + 1));
	for (int k = 1; k < len; k++)
		*cp = *cp << 6 | (s[k] & 0x3f);
	return len;
}

/* whether code point cp must be shown as an escape rather than as itself */
static int needs_escape(uint32_t cp, unsigned flags)
{
	if (cp == '\t')
		return !(flags & UTF8_KEEP_TAB);
	if (cp == '\n')
		return !(flags & UTF8_KEEP_NEWLINE);
	if (cp == '\r')
		return !(flags & UTF8_KEEP_CR);
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

int utf8_add_printable(struct strbuf *sb, const char *s, unsigned flags)
{
	int ret = 0;

	while (s && *s && !ret) {
		uint32_t cp;
		int n = utf8_decode(s, &cp);

		if (n < 0) {	/* each bad byte on its own: the reader sees what was there */
			ret = strbuf_addf(sb, "\\x%02x", (unsigned char)*s);
			s++;
			continue;
		}
		if (!needs_escape(cp, flags))
			ret = strbuf_add(sb, s, (size_t)n);
		else if (cp == '\n' || cp == '\r' || cp == '\t')
			ret = strbuf_addstr(sb, cp == '\n' ? "\\n" : cp == '\r' ? "\\r" : "\\t");
		else if (cp < 0x80)
			ret = strbuf_addf(sb, "\\x%02x", (unsigned)cp);
		else
			ret = strbuf_addf(sb, "\\u%04x", (unsigned)cp);
		s += n;
	}
	return ret;
}

int utf8_add_valid(struct strbuf *sb, const char *s)
{
	int ret = 0;

	while (s && *s && !ret) {
		uint32_t cp;
		int n = utf8_decode(s, &cp);

		ret = n > 0 ? strbuf_add(sb, s, (size_t)n) : strbuf_addstr(sb, "\xef\xbf\xbd");
		s += n > 0 ? n : -n;
	}
	return ret;
}

int utf8_add_markdown(struct strbuf *sb, const char *s, int is_name)
{
	struct strbuf shown = STRBUF_INIT;
	int ret = utf8_add_printable(&shown, s, UTF8_KEEP_TAB | UTF8_KEEP_NEWLINE);

	for (const char *p = shown.buf; *p; p++) {
		if (*p == '\n' || *p == '\t')
			ret |= strbuf_addch(sb, ' ');
		else if (*p == '<' || *p == '>' || *p == '&')
			ret |= strbuf_addstr(sb, *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : "&amp;");
		else if (*p == '|' || (is_name && strchr("\\`*_[]()#!~", *p)))
			ret |= strbuf_addf(sb, "\\%c", *p);
		else
			ret |= strbuf_addch(sb, *p);
	}
	strbuf_release(&shown);
	return ret ? -1 : 0;
}
