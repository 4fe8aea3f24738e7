/*
 * common/utf8: decoding UTF-8 strictly, and writing names that came from
 * a tracked program (functions, files, threads, tests: hostile input) so
 * that they reach a terminal or an XML/Markdown writer as plain text.
 *
 * Strict means what the Unicode standard (table 3-7) calls well-formed:
 * no overlong forms (C0 AF), no surrogates (ED A0 80), nothing beyond
 * U+10FFFF (F4 90.., F5-FF), no stray continuation bytes, no sequence
 * cut short. An ill-formed stretch is the "maximal subpart" the standard
 * names, the same one CPython's decode(errors="replace") replaces, so
 * the two agree on how many U+FFFD stand for it.
 *
 * utf8_add_printable() is for terminals: a name with "\x1b]0;title\x07"
 * in it must show those characters, not retitle the window. Every
 * control character (C0, DEL, C1 as decoded code points U+0080-U+009F),
 * the bidirectional overrides that reorder what is shown ("Trojan
 * source"), and each byte of ill-formed UTF-8 become a visible escape:
 * \n \r \t, \xHH for C0, DEL and bad bytes, \uHHHH for code points. A
 * backslash is left alone, so a name that holds the text "\x1b" reads
 * the same as one that holds ESC: ambiguous to the eye, harmless to the
 * terminal, and ordinary names keep their look.
 *
 * Ownership: the functions append to the caller's strbuf and keep
 * nothing; like strbuf's appends they return 0, or -1 when memory ran
 * out (the strbuf then holds a prefix of the result).
 */
#ifndef COMMON_UTF8_H
#define COMMON_UTF8_H

#include <stdint.h>

struct strbuf;

/*
 * The sequence at s (NUL-terminated): its length 1-4 with *cp set when
 * well-formed, else minus the length of its maximal ill-formed subpart
 * (-1 to -3). s must not point at the terminating NUL.
 */
int utf8_decode(const char *s, uint32_t *cp);

enum utf8_flags {
	UTF8_KEEP_TAB = 1 << 0,		/* a tab stays a tab (where layout allows one) */
	UTF8_KEEP_NEWLINE = 1 << 1,	/* a newline stays (multi-line text of our own) */
	UTF8_KEEP_CR = 1 << 2,		/* a carriage return stays (for a caller with its own escape) */
};

/* s (NULL: nothing) with every control and bad byte escaped, as above */
int utf8_add_printable(struct strbuf *sb, const char *s, unsigned flags);

/* s (NULL: nothing) with each ill-formed stretch replaced by U+FFFD */
int utf8_add_valid(struct strbuf *sb, const char *s);

/*
 * s (NULL: nothing) as Markdown text that stays text: controls shown as
 * escapes (as utf8_add_printable), newlines and tabs as spaces and pipes
 * escaped so a table row stays one row, and < > & as entities so no HTML
 * reaches the page. With `is_name`, Markdown's punctuation is
 * backslash-escaped too, so a name can make no link, image, emphasis or
 * heading.
 */
int utf8_add_markdown(struct strbuf *sb, const char *s, int is_name);

#endif
