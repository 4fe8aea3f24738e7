/*
 * junit/junit: see junit.h.
 */
#include "junit/junit.h"

#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "common/utf8.h"

#define MARKDOWN_MAX (1000u * 1024u)	/* below GitHub's 1 MiB, with room for the tail */

/*
 * s as XML 1.0 text: each ill-formed UTF-8 stretch (a surrogate, an
 * overlong form, bytes F5-FF: test names are the tested program's) as
 * U+FFFD, which every parser reads; the characters XML 1.0 forbids (C0
 * controls other than tab, LF, CR; U+FFFE, U+FFFF) left out.
 */
static const char *xml_clean(struct strbuf *sb, const char *s)
{
	strbuf_reset(sb);
	while (s && *s) {
		uint32_t cp;
		int n = utf8_decode(s, &cp);

		if (n < 0)
			strbuf_addstr(sb, "\xef\xbf\xbd");
		else if (cp >= 0x20 ? cp != 0xfffe && cp != 0xffff : cp == '\t' || cp == '\n' || cp == '\r')
			strbuf_add(sb, s, (size_t)n);
		s += n < 0 ? -n : n;
	}
	return sb->buf;
}

/*
 * A report goes to a regular file (or a new one): an existing FIFO would
 * block the open until something read it, and `memray check` would hang
 * after the command ran. -1 after a message naming the file, else 0.
 */
static int refuse_irregular(const char *path, const char *what)
{
	struct stat st;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return error("cannot write %s file '%s': not a regular file", what, path);
	return 0;
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
	xmlTextWriterPtr w;
	struct strbuf sb = STRBUF_INIT;
	size_t failures = 0, errors = run->error ? 1 : 0, cases = run->nresults;
	char num[64];
	int rc = 0;

	if (refuse_irregular(path, "JUnit") < 0)
		return -1;
	w = xmlNewTextWriterFilename(path, 0);
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
	if (run->has_figures) {
		/* the schema puts a testsuite's properties before its testcases */
		rc |= xmlTextWriterStartElement(w, BAD_CAST "properties") < 0;
		rc |= write_property(w, "memray.peak_bytes", run->peak_bytes);
		rc |= write_property(w, "memray.leaked_bytes", run->leaked_bytes);
		rc |= xmlTextWriterEndElement(w) < 0;
	}
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

/*
 * Markdown from the tested program's text: controls shown as escapes
 * (common/utf8.h), newlines as spaces and pipes escaped so a row stays
 * one row, and < > & as entities so no HTML reaches the page. With
 * `is_name`, Markdown's punctuation is backslash-escaped too, so a test
 * name can make no link, image, emphasis or heading: it is only text.
 */
static const char *md_text(struct strbuf *sb, const char *s, int is_name)
{
	struct strbuf shown = STRBUF_INIT;

	strbuf_reset(sb);
	utf8_add_printable(&shown, s, UTF8_KEEP_TAB | UTF8_KEEP_NEWLINE);
	for (const char *p = shown.buf; *p; p++) {
		if (*p == '\n' || *p == '\t')
			strbuf_addch(sb, ' ');
		else if (*p == '<' || *p == '>' || *p == '&')
			strbuf_addstr(sb, *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : "&amp;");
		else if (*p == '|' || (is_name && strchr("\\`*_[]()#!~", *p)))
			strbuf_addf(sb, "\\%c", *p);
		else
			strbuf_addch(sb, *p);
	}
	strbuf_release(&shown);
	return sb->buf;
}

/*
 * The command as a code span: its text is literal there (no entities, no
 * escapes), so only backticks matter, and the fence is one longer than
 * the longest run of them inside (CommonMark). Pipes are still escaped:
 * GitHub splits table cells before it reads code spans.
 */
static void md_code(struct strbuf *out, const char *s)
{
	struct strbuf shown = STRBUF_INIT;
	size_t run = 0, longest = 0;

	utf8_add_printable(&shown, s, UTF8_KEEP_TAB);
	for (const char *p = shown.buf; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		longest = run > longest ? run : longest;
	}
	for (size_t k = 0; k <= longest; k++)
		strbuf_addch(out, '`');
	if (longest)
		strbuf_addch(out, ' ');
	for (const char *p = shown.buf; *p; p++)
		if (*p == '|')
			strbuf_addstr(out, "\\|");
		else
			strbuf_addch(out, *p == '\t' ? ' ' : *p);
	if (longest)
		strbuf_addch(out, ' ');
	for (size_t k = 0; k <= longest; k++)
		strbuf_addch(out, '`');
	strbuf_release(&shown);
}

static void md_row(struct strbuf *out, struct strbuf *cell, const struct check_result *r)
{
	char fig[UNITS_BUF], lim[UNITS_BUF];
	int is_count = r->rule && !strcmp(r->rule, "allocations");

	strbuf_addf(out, "| %s | %s", r->error_type ? "ERROR" : r->failure_type ? "FAIL" : "pass",
		    md_text(cell, r->name, 1));
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
	strbuf_addf(out, " | %s |\n", md_text(cell, r->message, 0));
}

int markdown_write(const char *path, const struct check_run *run)
{
	struct strbuf out = STRBUF_INIT, cell = STRBUF_INIT;
	size_t failures = 0, left_out = 0;
	FILE *f;

	if (refuse_irregular(path, "Markdown") < 0)
		return -1;
	for (size_t i = 0; i < run->nresults; i++)
		failures += run->results[i].failure_type || run->results[i].error_type;
	strbuf_addf(&out, "## memray check: %s\n\n", failures || run->error ? "failed" : "passed");
	strbuf_addstr(&out, "Command: ");
	md_code(&out, run->command);
	strbuf_addstr(&out, "\n\n");
	if (run->error)
		strbuf_addf(&out, "**Error:** %s\n\n", md_text(&cell, run->error, 0));
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

/*
 * GitHub reads a workflow command up to the end of its line, so a name's
 * newline would start a command of its own: its rules turn % CR LF (and,
 * in a property, : and ,) into %XX. The other controls and bad bytes are
 * shown as escapes first (common/utf8.h), as on any terminal.
 */
void annotation_escape(struct strbuf *sb, const char *s, int is_property)
{
	struct strbuf shown = STRBUF_INIT;

	utf8_add_printable(&shown, s, UTF8_KEEP_TAB | UTF8_KEEP_NEWLINE | UTF8_KEEP_CR);
	for (const char *p = shown.buf; *p; p++) {
		switch (*p) {
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
			strbuf_addch(sb, *p);
		}
	}
	strbuf_release(&shown);
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
