/*
 * junit/junit: see junit.h.
 */
#include "junit/junit.h"

#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "common/units.h"

#define MARKDOWN_MAX (1000u * 1024u)	/* below GitHub's 1 MiB, with room for the tail */

/* s without the characters XML 1.0 forbids (controls other than tab, LF, CR; bad UTF-8) */
static const char *xml_clean(struct strbuf *sb, const char *s)
{
	strbuf_reset(sb);
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		unsigned c = *p;
		int more = c >= 0xf0 && c < 0xf5 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : c >= 0x80 ? -1 : 0;

		if (more < 0)
			continue;	/* a stray continuation byte or an invalid lead byte */
		if (more) {
			int ok = 1;

			for (int k = 1; k <= more; k++)
				ok &= (p[k] & 0xc0) == 0x80;
			/* U+FFFE and U+FFFF are not XML characters either */
			if (ok && more == 2 && c == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))
				ok = 0;
			if (ok)
				strbuf_add(sb, p, (size_t)more + 1);
			if (ok)
				p += more;
			continue;
		}
		if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r')
			strbuf_addch(sb, (char)c);
	}
	return sb->buf;
}

static int write_property(xmlTextWriterPtr w, const char *name, uint64_t value)
{
	char num[32];
	int rc = 0;

	snprintf(num, sizeof(num), "%llu", (unsigned long long)value);
	rc |= xmlTextWriterStartElement(w, BAD_CAST "property") < 0;
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST name) < 0;
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "value", BAD_CAST num) < 0;
	rc |= xmlTextWriterEndElement(w) < 0;
	return rc;
}

/* one <failure> or <error> */
static int write_problem(xmlTextWriterPtr w, struct strbuf *sb, const char *element, const char *type,
			 const char *message, const char *body)
{
	int rc = 0;

	rc |= xmlTextWriterStartElement(w, BAD_CAST element) < 0;
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST type) < 0;
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "message", BAD_CAST xml_clean(sb, message)) < 0;
	if (body && *body)
		rc |= xmlTextWriterWriteString(w, BAD_CAST xml_clean(sb, body)) < 0;
	rc |= xmlTextWriterEndElement(w) < 0;
	return rc;
}

static int write_case(xmlTextWriterPtr w, struct strbuf *sb, const struct check_result *r)
{
	struct strbuf classname = STRBUF_INIT;
	int rc = 0;

	strbuf_addf(&classname, "memray%s%s", r->rule ? "." : "", r->rule ? r->rule : "");
	rc |= xmlTextWriterStartElement(w, BAD_CAST "testcase") < 0;
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST xml_clean(sb, r->name)) < 0;
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "classname", BAD_CAST classname.buf) < 0;
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "time", BAD_CAST "0") < 0;
	if (r->nprops) {
		rc |= xmlTextWriterStartElement(w, BAD_CAST "properties") < 0;
		for (size_t k = 0; k < r->nprops; k++)
			rc |= write_property(w, r->props[k].name, r->props[k].value);
		rc |= xmlTextWriterEndElement(w) < 0;
	}
	if (r->error_type)
		rc |= write_problem(w, sb, "error", r->error_type, r->message, r->details);
	else if (r->failure_type)
		rc |= write_problem(w, sb, "failure", r->failure_type, r->message, r->details);
	else if (r->details && *r->details)
		rc |= xmlTextWriterWriteElement(w, BAD_CAST "system-out", BAD_CAST xml_clean(sb, r->details)) < 0;
	rc |= xmlTextWriterEndElement(w) < 0;
	strbuf_release(&classname);
	return rc;
}

int junit_write(const char *path, const struct check_run *run)
{
	xmlTextWriterPtr w = xmlNewTextWriterFilename(path, 0);
	struct strbuf sb = STRBUF_INIT;
	size_t failures = 0, errors = run->error ? 1 : 0, cases = run->nresults;
	char num[64];
	int rc = 0;

	if (!w)
		return error("cannot create JUnit file '%s'", path);
	for (size_t i = 0; i < run->nresults; i++) {
		failures += run->results[i].failure_type && !run->results[i].error_type;
		errors += run->results[i].error_type != NULL;
	}
	if (run->error || !cases)
		cases++;	/* the command's own testcase */
	xmlTextWriterSetIndent(w, 1);
	rc |= xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) < 0;
	rc |= xmlTextWriterStartElement(w, BAD_CAST "testsuites") < 0;
	rc |= xmlTextWriterStartElement(w, BAD_CAST "testsuite") < 0;
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST "memray check") < 0;
	snprintf(num, sizeof(num), "%zu", cases);
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "tests", BAD_CAST num) < 0;
	snprintf(num, sizeof(num), "%zu", failures);
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "failures", BAD_CAST num) < 0;
	snprintf(num, sizeof(num), "%zu", errors);
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "errors", BAD_CAST num) < 0;
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "skipped", BAD_CAST "0") < 0;
	snprintf(num, sizeof(num), "%.3f", run->seconds);	/* C locale: memray never sets LC_NUMERIC */
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "time", BAD_CAST num) < 0;
	if (run->error || !run->nresults) {
		rc |= xmlTextWriterStartElement(w, BAD_CAST "testcase") < 0;
		rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST xml_clean(&sb, run->command)) < 0;
		rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "classname", BAD_CAST "memray.command") < 0;
		snprintf(num, sizeof(num), "%.3f", run->seconds);
		rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "time", BAD_CAST num) < 0;
		if (run->error)
			rc |= write_problem(w, &sb, "error", "CommandFailed", run->error, NULL);
		rc |= xmlTextWriterEndElement(w) < 0;
	}
	for (size_t i = 0; i < run->nresults; i++)
		rc |= write_case(w, &sb, &run->results[i]);
	rc |= xmlTextWriterEndDocument(w) < 0;	/* closes the open elements */
	xmlFreeTextWriter(w);
	strbuf_release(&sb);
	return rc ? error("cannot write JUnit file '%s'", path) : 0;
}

/* a table cell: no pipes, no newlines */
static const char *md_cell(struct strbuf *sb, const char *s)
{
	strbuf_reset(sb);
	for (; s && *s; s++) {
		if (*s == '|')
			strbuf_addstr(sb, "\\|");
		else if (*s == '\n' || *s == '\r')
			strbuf_addch(sb, ' ');
		else
			strbuf_addch(sb, *s);
	}
	return sb->buf;
}

static void md_row(struct strbuf *out, struct strbuf *cell, const struct check_result *r)
{
	char fig[UNITS_BUF], lim[UNITS_BUF];
	int is_count = r->rule && !strcmp(r->rule, "allocations");

	strbuf_addf(out, "| %s | %s", r->error_type ? "ERROR" : r->failure_type ? "FAIL" : "pass",
		    md_cell(cell, r->name));
	if (r->rule)
		strbuf_addf(out, " (%s)", r->rule);
	if (is_count)
		strbuf_addf(out, " | %llu", (unsigned long long)r->figure);
	else
		strbuf_addf(out, " | %s (%llu bytes)", units_human(fig, r->figure), (unsigned long long)r->figure);
	if (!r->has_limit)
		strbuf_addstr(out, " | -");
	else if (is_count)
		strbuf_addf(out, " | %llu", (unsigned long long)r->limit);
	else
		strbuf_addf(out, " | %s (%llu bytes)", units_human(lim, r->limit), (unsigned long long)r->limit);
	strbuf_addf(out, " | %s |\n", md_cell(cell, r->message));
}

int markdown_write(const char *path, const struct check_run *run)
{
	struct strbuf out = STRBUF_INIT, cell = STRBUF_INIT;
	size_t failures = 0, left_out = 0;
	FILE *f;

	for (size_t i = 0; i < run->nresults; i++)
		failures += run->results[i].failure_type || run->results[i].error_type;
	strbuf_addf(&out, "## memray check: %s\n\n", failures || run->error ? "failed" : "passed");
	strbuf_addf(&out, "Command: `%s`\n\n", md_cell(&cell, run->command));
	if (run->error)
		strbuf_addf(&out, "**Error:** %s\n\n", md_cell(&cell, run->error));
	strbuf_addstr(&out, "| Result | Rule | Measured | Limit | Details |\n|---|---|---|---|---|\n");
	/* failures and errors first */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < run->nresults; i++) {
			const struct check_result *r = &run->results[i];

			if ((r->failure_type || r->error_type) == pass)
				continue;
			if (out.len > MARKDOWN_MAX) {
				left_out++;
				continue;
			}
			md_row(&out, &cell, r);
		}
	}
	if (left_out)
		strbuf_addf(&out, "\n%zu more rows left out to stay under GitHub's 1 MiB summary limit; "
			    "the JUnit file has them all.\n", left_out);
	f = fopen(path, "w");
	if (!f || fwrite(out.buf, 1, out.len, f) != out.len || fclose(f) != 0) {
		if (f)
			fclose(f);
		strbuf_release(&out);
		strbuf_release(&cell);
		return error_errno("cannot write Markdown file '%s'", path);
	}
	strbuf_release(&out);
	strbuf_release(&cell);
	return 0;
}

void annotation_escape(struct strbuf *sb, const char *s, int is_property)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '%':
			strbuf_addstr(sb, "%25");
			break;
		case '\r':
			strbuf_addstr(sb, "%0D");
			break;
		case '\n':
			strbuf_addstr(sb, "%0A");
			break;
		case ':':
			strbuf_addstr(sb, is_property ? "%3A" : ":");
			break;
		case ',':
			strbuf_addstr(sb, is_property ? "%2C" : ",");
			break;
		default:
			strbuf_addch(sb, *s);
		}
	}
}

void annotations_write(FILE *out, const struct check_run *run)
{
	struct strbuf sb = STRBUF_INIT, title = STRBUF_INIT;

	if (run->error) {
		strbuf_addstr(&sb, "::error title=");
		annotation_escape(&sb, "memray: command", 1);
		strbuf_addstr(&sb, "::");
		annotation_escape(&sb, run->error, 0);
		fprintf(out, "%s\n", sb.buf);
	}
	for (size_t i = 0; i < run->nresults; i++) {
		const struct check_result *r = &run->results[i];

		if (!r->failure_type && !r->error_type)
			continue;
		strbuf_reset(&sb);
		strbuf_reset(&title);
		strbuf_addf(&title, "memray: %s", r->name);
		strbuf_addstr(&sb, "::error title=");
		annotation_escape(&sb, title.buf, 1);
		strbuf_addstr(&sb, "::");
		annotation_escape(&sb, r->message, 0);
		fprintf(out, "%s\n", sb.buf);
	}
	fflush(out);
	strbuf_release(&sb);
	strbuf_release(&title);
}
