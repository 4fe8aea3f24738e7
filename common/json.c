/*
 * common/json: see json.h.
 */
#include "common/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/grow.h"
#include "common/strbuf.h"
#include "common/utf8.h"

#define JSON_LEVEL_ARRAY 1	/* else an object */
#define JSON_LEVEL_HAS_MEMBER 2	/* a member was written: the next one needs a comma */
#define JSON_LEVEL_HAS_KEY 4	/* an object's key was written: a value comes next */

void json_init(struct json *j, struct strbuf *out, unsigned flags)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->flags = flags;
}

int json_finish(struct json *j)
{
	int ret = j->failed ? -1 : 0;

	free(j->levels);
	j->levels = NULL;
	j->depth = j->alloc = 0;
	return ret;
}

static void put(struct json *j, const char *s)
{
	if (strbuf_addstr(j->out, s) < 0)
		j->failed = 1;
}

/* in a member's place: the comma before it, or the key already written */
static void before_value(struct json *j)
{
	unsigned char *level;

	if (!j->depth || j->failed)
		return;
	level = &j->levels[j->depth - 1];
	if (!(*level & JSON_LEVEL_ARRAY)) {
		if (!(*level & JSON_LEVEL_HAS_KEY))
			BUG("json: a value in an object without a key");
		*level &= (unsigned char)~JSON_LEVEL_HAS_KEY;
		return;
	}
	if (*level & JSON_LEVEL_HAS_MEMBER)
		put(j, j->flags & JSON_SPACED ? ", " : ",");
	*level |= JSON_LEVEL_HAS_MEMBER;
}

void json_key(struct json *j, const char *key)
{
	unsigned char *level = j->depth ? &j->levels[j->depth - 1] : NULL;
	int top_lines = j->depth == 1 && (j->flags & JSON_TOP_LINES);

	if (j->failed)	/* the output is lost already; its shape no longer matters */
		return;
	if (!level || (*level & (JSON_LEVEL_ARRAY | JSON_LEVEL_HAS_KEY)))
		BUG("json: a key outside an object, or two keys in a row");
	if (*level & JSON_LEVEL_HAS_MEMBER)
		put(j, top_lines ? ",\n  " : j->flags & JSON_SPACED ? ", " : ",");
	else if (top_lines)
		put(j, "\n  ");
	*level |= JSON_LEVEL_HAS_MEMBER | JSON_LEVEL_HAS_KEY;
	if (json_add_string(j->out, key, j->flags) < 0)
		j->failed = 1;
	put(j, j->flags & JSON_SPACED ? ": " : ":");
}

static void open_level(struct json *j, const char *bracket, unsigned char kind)
{
	if (j->failed)
		return;
	before_value(j);
	put(j, bracket);
	if (GROW(j->levels, j->depth + 1, j->alloc) < 0) {
		j->failed = 1;
		return;
	}
	j->levels[j->depth++] = kind;
}

static void close_level(struct json *j, const char *bracket, unsigned char kind)
{
	if (j->failed)
		return;
	if (!j->depth || (j->levels[j->depth - 1] & JSON_LEVEL_ARRAY) != kind)
		BUG("json: closing %s that is not open", bracket);
	if (j->depth == 1 && (j->flags & JSON_TOP_LINES) && !kind &&
	    (j->levels[0] & JSON_LEVEL_HAS_MEMBER))
		put(j, "\n");
	j->depth--;
	put(j, bracket);
}

void json_object_begin(struct json *j)
{
	open_level(j, "{", 0);
}

void json_object_end(struct json *j)
{
	close_level(j, "}", 0);
}

void json_array_begin(struct json *j)
{
	open_level(j, "[", JSON_LEVEL_ARRAY);
}

void json_array_end(struct json *j)
{
	close_level(j, "]", JSON_LEVEL_ARRAY);
}

void json_string(struct json *j, const char *s)
{
	before_value(j);
	if (json_add_string(j->out, s ? s : "", j->flags) < 0)
		j->failed = 1;
}

void json_uint(struct json *j, uint64_t v)
{
	before_value(j);
	if (strbuf_addf(j->out, "%" PRIu64, v) < 0)
		j->failed = 1;
}

void json_int(struct json *j, int64_t v)
{
	before_value(j);
	if (strbuf_addf(j->out, "%" PRId64, v) < 0)
		j->failed = 1;
}

void json_double(struct json *j, double v)
{
	char buf[64];

	if (!isfinite(v)) {
		json_null(j);
		return;
	}
	/* the shortest of %.15g..%.17g that reads back exactly */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	/* a locale other than C may have written a decimal comma */
	for (char *p = buf; *p; p++)
		if (*p == ',')
			*p = '.';
	before_value(j);
	put(j, buf);
}

void json_bool(struct json *j, int v)
{
	before_value(j);
	put(j, v ? "true" : "false");
}

void json_null(struct json *j)
{
	before_value(j);
	put(j, "null");
}

int json_add_string(struct strbuf *out, const char *s, unsigned flags)
{
	int ret = strbuf_addch(out, '"');

	while (*s && !ret) {
		unsigned char c = (unsigned char)*s;
		uint32_t cp;
		int n = utf8_decode(s, &cp);

		if (n < 0) {
			/* JSON is Unicode text: a name's bad bytes become U+FFFD, or no parser reads it */
			ret = strbuf_addstr(out, "\\ufffd");
			s += -n;
			continue;
		}
		/* DEL and C1 too: JSON allows them raw, a terminal showing `stats --json` obeys them */
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
		    ((flags & JSON_SCRIPT_SAFE) && (c == '<' || c == '>' || c == '&')))
			ret = strbuf_addf(out, "\\u%04x", (unsigned)cp);
		else if (c == '"' || c == '\\')
			ret = strbuf_addch(out, '\\') | strbuf_addch(out, c);
		else
			ret = strbuf_add(out, s, (size_t)n);
		s += n;
	}
	return ret | strbuf_addch(out, '"');
}
