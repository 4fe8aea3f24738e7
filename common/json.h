/*
 * common/json: the one JSON writer of the tools, appending to a strbuf.
 *
 * The writer knows where it is (inside an object or an array, and whether
 * a member came before), so it puts the commas and colons itself: callers
 * only say what comes next.
 *
 *	struct json j;
 *
 *	json_init(&j, &out, JSON_SPACED);
 *	json_object_begin(&j);
 *	json_key(&j, "peak");
 *	json_uint(&j, a->peak_bytes);
 *	json_key(&j, "stacks");
 *	json_array_begin(&j);
 *	...
 *	json_array_end(&j);
 *	json_object_end(&j);
 *	if (json_finish(&j) < 0)
 *		return error("out of memory");
 *
 * Strings are escaped as RFC 8259 asks (quote, backslash and control
 * characters); with JSON_SCRIPT_SAFE also '<', '>' and '&' (as \u003c,
 * \u003e, \u0026), so the text can sit inside an HTML <script> element
 * without ending it. DEL and the C1 controls are \u escaped as well (a
 * terminal showing the JSON would obey them raw), and ill-formed UTF-8
 * becomes \ufffd (see common/utf8.h): names come from the tracked
 * program, and JSON must be Unicode for any parser to read it. Numbers: unsigned and signed 64-bit integers, and
 * doubles written in the C locale whatever the process's locale is
 * (non-finite ones as null, which JSON has instead).
 *
 * Invariants: a key is given before every member of an object and never
 * inside an array (BUG() otherwise). When memory runs out the writer
 * stops writing (later calls do nothing) and json_finish() says so.
 *
 * Ownership: the writer borrows `out` (the caller's) and owns its nesting
 * stack, which json_finish() frees; the writer may be reused after
 * json_init() again.
 */
#ifndef COMMON_JSON_H
#define COMMON_JSON_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

enum json_flags {
	JSON_SPACED = 1 << 0,		/* ", " and ": " instead of "," and ":" */
	JSON_TOP_LINES = 1 << 1,	/* the outermost object's members one per line, indented two spaces */
	JSON_SCRIPT_SAFE = 1 << 2,	/* < > & as \u escapes, for <script> elements */
};

struct json {
	struct strbuf *out;
	unsigned flags;
	unsigned char *levels;	/* per open container: its JSON_LEVEL_* bits */
	size_t depth, alloc;
	int failed;		/* an append or the stack ran out of memory */
};

void json_init(struct json *j, struct strbuf *out, unsigned flags);
/* 0, or -1 when some output was lost to a lack of memory; frees the stack */
int json_finish(struct json *j);

void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);
/* the next member's name (escaped like a string) */
void json_key(struct json *j, const char *key);

/* a string value; NULL is written as "" */
void json_string(struct json *j, const char *s);
void json_uint(struct json *j, uint64_t v);
void json_int(struct json *j, int64_t v);
/* shortest text that reads back as v, in the C locale; null when not finite */
void json_double(struct json *j, double v);
void json_bool(struct json *j, int v);
void json_null(struct json *j);

/* s as a JSON string literal, quotes included, escaped as `flags` say */
int json_add_string(struct strbuf *out, const char *s, unsigned flags);

#endif
