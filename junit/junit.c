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

/* s without the characters XML 1.0 forbids (controls other than tab, LF, CR) */
static const char *xml_clean(struct strbuf *sb, const char *s)
{
	strbuf_reset(sb);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r')
			strbuf_addch(sb, (char)c);
	}
	return sb->buf;
}

int junit_write(const char *path, const struct check_run *run)
{
	xmlTextWriterPtr w = xmlNewTextWriterFilename(path, 0);
	struct strbuf sb = STRBUF_INIT;
	size_t failures = 0, cases = run->nresults ? run->nresults : 1;
	char num[64];
	int rc = 0;

	if (!w)
		return error("cannot create JUnit file '%s'", path);
	for (size_t i = 0; i < run->nresults; i++)
		failures += run->results[i].failure_type != NULL;
	xmlTextWriterSetIndent(w, 1);
	rc |= xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) < 0;
	rc |= xmlTextWriterStartElement(w, BAD_CAST "testsuites") < 0;
	rc |= xmlTextWriterStartElement(w, BAD_CAST "testsuite") < 0;
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST "memray check") < 0;
	snprintf(num, sizeof(num), "%zu", cases);
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "tests", BAD_CAST num) < 0;
	snprintf(num, sizeof(num), "%zu", failures);
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "failures", BAD_CAST num) < 0;
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "errors", BAD_CAST(run->error ? "1" : "0")) < 0;
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "skipped", BAD_CAST "0") < 0;
	snprintf(num, sizeof(num), "%.3f", run->seconds);	/* C locale: memray never sets LC_NUMERIC */
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "time", BAD_CAST num) < 0;
	for (size_t i = 0; i < cases; i++) {
		const struct check_result *r = run->nresults ? &run->results[i] : NULL;

		rc |= xmlTextWriterStartElement(w, BAD_CAST "testcase") < 0;
		rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "classname", BAD_CAST "memray") < 0;
		rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "name",
						  BAD_CAST xml_clean(&sb, r ? r->name : run->command)) < 0;
		if (r) {
			rc |= xmlTextWriterStartElement(w, BAD_CAST "properties") < 0;
			snprintf(num, sizeof(num), "%llu", (unsigned long long)r->figure);
			rc |= xmlTextWriterStartElement(w, BAD_CAST "property") < 0;
			rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST "bytes") < 0;
			rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "value", BAD_CAST num) < 0;
			rc |= xmlTextWriterEndElement(w) < 0;
			snprintf(num, sizeof(num), "%llu", (unsigned long long)r->limit);
			rc |= xmlTextWriterStartElement(w, BAD_CAST "property") < 0;
			rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST "limit_bytes") < 0;
			rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "value", BAD_CAST num) < 0;
			rc |= xmlTextWriterEndElement(w) < 0;
			rc |= xmlTextWriterEndElement(w) < 0;
		}
		if (r && r->failure_type) {
			rc |= xmlTextWriterStartElement(w, BAD_CAST "failure") < 0;
			rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST r->failure_type) < 0;
			rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "message", BAD_CAST xml_clean(&sb, r->message)) < 0;
			rc |= xmlTextWriterWriteString(w, BAD_CAST xml_clean(&sb, r->details)) < 0;
			rc |= xmlTextWriterEndElement(w) < 0;
		}
		if (run->error && i == 0) {
			rc |= xmlTextWriterStartElement(w, BAD_CAST "error") < 0;
			rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST "CommandFailed") < 0;
			rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "message", BAD_CAST xml_clean(&sb, run->error)) < 0;
			rc |= xmlTextWriterEndElement(w) < 0;
		}
		rc |= xmlTextWriterEndElement(w) < 0;
	}
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

int markdown_write(const char *path, const struct check_run *run)
{
	struct strbuf out = STRBUF_INIT, cell = STRBUF_INIT;
	char fig[UNITS_BUF], lim[UNITS_BUF];
	size_t failures = 0;
	FILE *f;

	for (size_t i = 0; i < run->nresults; i++)
		failures += run->results[i].failure_type != NULL;
	strbuf_addf(&out, "## memray check: %s\n\n", failures || run->error ? "failed" : "passed");
	strbuf_addf(&out, "Command: `%s`\n\n", md_cell(&cell, run->command));
	if (run->error)
		strbuf_addf(&out, "**Error:** %s\n\n", md_cell(&cell, run->error));
	strbuf_addstr(&out, "| Result | Rule | Measured | Limit | Details |\n|---|---|---|---|---|\n");
	/* failures first */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < run->nresults; i++) {
			const struct check_result *r = &run->results[i];

			if ((r->failure_type != NULL) == pass)
				continue;
			strbuf_addf(&out, "| %s | %s | %s (%llu bytes) | %s (%llu bytes) | ", r->failure_type ? "FAIL" : "pass",
				    r->name, units_human(fig, r->figure), (unsigned long long)r->figure,
				    units_human(lim, r->limit), (unsigned long long)r->limit);
			strbuf_addf(&out, "%s |\n", md_cell(&cell, r->message));
		}
	}
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
