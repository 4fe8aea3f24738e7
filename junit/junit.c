/*
 * junit/junit: see junit.h.
 */
#include "junit/junit.h"

#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/file.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "common/utf8.h"

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

/*
 * The file of a test: the one its result knows (a Check test's, from the
 * runner's log), else a pytest node id's path, before its first "::"
 * ("dir/test_x.py::C::f" is in dir/test_x.py); C markers name no file.
 * Empty when there is none.
 */
static const char *case_file(struct strbuf *sb, const struct check_result *r)
{
	const char *sep = r->rule ? strstr(r->name, "::") : NULL;

	strbuf_reset(sb);
	if (r->file)
		strbuf_addstr(sb, r->file);
	else if (sep && sep - r->name > 3 && !strncmp(sep - 3, ".py", 3))
		strbuf_add(sb, r->name, (size_t)(sep - r->name));
	return sb->buf;
}

/*
 * A testcase's system-out: its figures, one "name: value" line each in
 * exact bytes (the xUnit schema allows no properties in a testcase), then,
 * for a rule that passed, the details a failure would have carried.
 */
static void case_out(struct strbuf *out, const struct check_result *r)
{
	strbuf_reset(out);
	for (size_t k = 0; k < r->nprops; k++)
		strbuf_addf(out, "%s: %llu\n", r->props[k].name, (unsigned long long)r->props[k].value);
	if (!r->failure_type && !r->error_type && r->details)
		strbuf_addstr(out, r->details);
}

/*
 * One testcase: a test's rule takes the test's time, a whole-run rule the
 * command's (seconds).
 */
static int write_case(xmlTextWriterPtr w, struct strbuf *sb, const struct check_result *r, double seconds)
{
	struct strbuf classname = STRBUF_INIT, out = STRBUF_INIT;
	char num[32];
	int rc = 0;

	strbuf_addf(&classname, "memray%s%s", r->rule ? "." : "", r->rule ? r->rule : "");
	rc |= xmlTextWriterStartElement(w, BAD_CAST "testcase") < 0;
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST xml_clean(sb, r->name)) < 0;
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "classname", BAD_CAST classname.buf) < 0;
	snprintf(num, sizeof(num), "%.3f", r->rule ? r->seconds : seconds);	/* C locale */
	rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "time", BAD_CAST num) < 0;
	if (*case_file(&out, r)) {
		struct strbuf file = STRBUF_INIT;

		rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "file", BAD_CAST xml_clean(&file, out.buf)) < 0;
		strbuf_release(&file);
		snprintf(num, sizeof(num), "%u", r->line);
		if (r->line)
			rc |= xmlTextWriterWriteAttribute(w, BAD_CAST "line", BAD_CAST num) < 0;
	}
	if (r->error_type)
		rc |= write_problem(w, sb, "error", r->error_type, r->message, r->details);
	else if (r->failure_type)
		rc |= write_problem(w, sb, "failure", r->failure_type, r->message, r->details);
	case_out(&out, r);
	if (out.len)
		rc |= xmlTextWriterWriteElement(w, BAD_CAST "system-out", BAD_CAST xml_clean(sb, out.buf)) < 0;
	rc |= xmlTextWriterEndElement(w) < 0;
	strbuf_release(&classname);
	strbuf_release(&out);
	return rc;
}

int junit_write(const char *path, const struct check_run *run)
{
	xmlTextWriterPtr w;
	struct strbuf sb = STRBUF_INIT;
	size_t failures = 0, errors = run->error ? 1 : 0, cases = run->nresults;
	char num[64];
	int rc = 0;

	if (file_refuse_irregular(path, "JUnit") < 0)
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
		else
			rc |= xmlTextWriterWriteElement(w, BAD_CAST "system-out",
							BAD_CAST "nothing was judged: " CHECK_NOTHING_JUDGED "\n") < 0;
		rc |= xmlTextWriterEndElement(w) < 0;
	}
	for (size_t i = 0; i < run->nresults; i++)
		rc |= write_case(w, &sb, &run->results[i], run->seconds);
	if (run->nfixtures) {
		struct strbuf text = STRBUF_INIT;

		check_fixtures_text(&text, run);
		rc |= xmlTextWriterWriteElement(w, BAD_CAST "system-out", BAD_CAST xml_clean(&sb, text.buf)) < 0;
		strbuf_release(&text);
	}
	rc |= xmlTextWriterEndDocument(w) < 0;	/* closes the open elements */
	xmlFreeTextWriter(w);
	strbuf_release(&sb);
	return rc ? error("cannot write JUnit file '%s'", path) : 0;
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

/*
 * GitHub shows ANNOTATIONS_SHOWN ::error lines of a step and drops the
 * rest: past that many problems, the last shown line says how many more
 * there are and where they are, so none goes missing silently.
 */
#define ANNOTATIONS_SHOWN 10

/* one ::error line; on the test's file (and line) when r knows it (r may be NULL) */
static void annotation(FILE *out, struct strbuf *sb, const char *title, const char *message,
		       const struct check_result *r)
{
	struct strbuf file = STRBUF_INIT;

	strbuf_reset(sb);
	strbuf_addstr(sb, "::error ");
	if (r && *case_file(&file, r)) {
		strbuf_addstr(sb, "file=");
		annotation_escape(sb, file.buf, 1);
		if (r->line)
			strbuf_addf(sb, ",line=%u", r->line);
		strbuf_addch(sb, ',');
	}
	strbuf_release(&file);
	strbuf_addstr(sb, "title=");
	annotation_escape(sb, title, 1);
	strbuf_addstr(sb, "::");
	annotation_escape(sb, message, 0);
	fprintf(out, "%s\n", sb->buf);
}

void annotations_write(FILE *out, const struct check_run *run)
{
	struct strbuf sb = STRBUF_INIT, title = STRBUF_INIT;
	size_t problems = run->error ? 1 : 0, written = 0;

	for (size_t i = 0; i < run->nresults; i++)
		problems += run->results[i].failure_type || run->results[i].error_type;
	if (run->error) {
		annotation(out, &sb, "memray: command", run->error, NULL);
		written++;
	}
	for (size_t i = 0; i < run->nresults; i++) {
		const struct check_result *r = &run->results[i];

		if (!r->failure_type && !r->error_type)
			continue;
		if (problems > ANNOTATIONS_SHOWN && written == ANNOTATIONS_SHOWN - 1) {
			strbuf_reset(&title);
			strbuf_addf(&title, "%zu more memory failures; the job summary and the JUnit file list them all",
				    problems - written);
			annotation(out, &sb, "memray: more failures", title.buf, NULL);
			break;
		}
		strbuf_reset(&title);
		strbuf_addf(&title, "memray: %s", r->name);
		annotation(out, &sb, title.buf, r->message, r);
		written++;
	}
	fflush(out);
	strbuf_release(&sb);
	strbuf_release(&title);
}

/*
 * junit_merge: memray's verdicts into the test runner's own report.
 * pytest names a testcase by its node id mangled: "dir/test_x.py::C::f[1]"
 * is classname "dir.test_x.C", name "f[1]" (its junitxml's rule), so a
 * result named by a node id finds its testcase that way.
 */
static void mangle(const char *id, struct strbuf *classname, struct strbuf *name)
{
	const char *last = id, *p, *end;

	strbuf_reset(classname);
	strbuf_reset(name);
	for (p = strstr(id, "::"); p; p = strstr(last, "::"))
		last = p + 2;
	strbuf_addstr(name, last);
	end = last > id ? last - 2 : id;
	for (p = id; p < end; p++) {
		if (!strncmp(p, ".py", 3) && (p + 3 == end || !strncmp(p + 3, "::", 2)))
			p += 2;		/* the module's ".py" goes */
		else if (!strncmp(p, "::", 2))
			strbuf_addch(classname, '.'), p++;
		else
			strbuf_addch(classname, *p == '/' ? '.' : *p);
	}
}

static int is_element(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !xmlStrcmp(n->name, BAD_CAST name);
}

static xmlNodePtr find_case(xmlNodePtr suite, const char *classname, const char *name)
{
	for (xmlNodePtr c = suite->children; c; c = c->next) {
		xmlNodePtr inner;
		xmlChar *cn, *nm;
		int same;

		if (is_element(c, "testsuite") && (inner = find_case(c, classname, name)))
			return inner;
		if (!is_element(c, "testcase"))
			continue;
		cn = xmlGetProp(c, BAD_CAST "classname");
		nm = xmlGetProp(c, BAD_CAST "name");
		same = cn && nm && !xmlStrcmp(cn, BAD_CAST classname) && !xmlStrcmp(nm, BAD_CAST name);
		xmlFree(cn);
		xmlFree(nm);
		if (same)
			return c;
	}
	return NULL;
}

/* the child element of `c` named `name`, or NULL */
static xmlNodePtr child(xmlNodePtr c, const char *name)
{
	for (xmlNodePtr k = c->children; k; k = k->next)
		if (is_element(k, name))
			return k;
	return NULL;
}

/* a new child of c, kept in the order the schema wants: problems, system-out, system-err */
static xmlNodePtr add_child(xmlNodePtr c, const char *name, const char *text)
{
	xmlNodePtr n = xmlNewText(BAD_CAST text), e = xmlNewNode(NULL, BAD_CAST name);
	xmlNodePtr before = child(c, "system-err");

	if (!strcmp(name, "failure") && child(c, "system-out"))
		before = child(c, "system-out");
	xmlAddChild(e, n);
	return before ? xmlAddPrevSibling(before, e) : xmlAddChild(c, e);
}

static void bump(xmlNodePtr suite, const char *attr)
{
	xmlChar *v = xmlGetProp(suite, BAD_CAST attr);
	char num[32];

	snprintf(num, sizeof(num), "%lu", (v ? strtoul((const char *)v, NULL, 10) : 0) + 1);
	xmlFree(v);
	xmlSetProp(suite, BAD_CAST attr, BAD_CAST num);
}

static void merge_one(xmlNodePtr c, struct strbuf *sb, const struct check_result *r)
{
	struct strbuf text = STRBUF_INIT;
	xmlNodePtr out = child(c, "system-out"), suite = c->parent;

	strbuf_addf(&text, "memray (%s): %s\n", r->rule ? r->rule : "memory", r->message);
	for (size_t k = 0; k < r->nprops; k++)
		strbuf_addf(&text, "%s: %llu\n", r->props[k].name, (unsigned long long)r->props[k].value);
	if (r->details)
		strbuf_addstr(&text, r->details);
	/* a failure of its own, unless the runner failed the test already (a mark failed it inside pytest) */
	if (r->failure_type && !child(c, "failure") && !child(c, "error")) {
		xmlNodePtr f = add_child(c, "failure", xml_clean(sb, r->details ? r->details : ""));

		xmlSetProp(f, BAD_CAST "type", BAD_CAST r->failure_type);
		xmlSetProp(f, BAD_CAST "message", BAD_CAST xml_clean(sb, r->message));
		bump(suite, "failures");
	}
	if (out)
		xmlNodeAddContent(out, BAD_CAST xml_clean(sb, text.buf));
	else
		add_child(c, "system-out", xml_clean(sb, text.buf));
	strbuf_release(&text);
}

int junit_merge(const char *path, const struct check_run *run)
{
	xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL, suite;
	struct strbuf sb = STRBUF_INIT, cn = STRBUF_INIT, nm = STRBUF_INIT;
	xmlTextWriterPtr w;
	xmlBufferPtr buf;
	int ret = -1;

	if (!root) {
		xmlFreeDoc(doc);
		return junit_write(path, run);	/* the runner wrote none: memray's own */
	}
	suite = is_element(root, "testsuites") ? child(root, "testsuite") : root;
	if (!suite || !is_element(suite, "testsuite")) {
		error("%s: no testsuite to merge memray's results into", path);
		goto out;
	}
	buf = xmlBufferCreate();
	for (size_t i = 0; i < run->nresults; i++) {
		const struct check_result *r = &run->results[i];
		xmlNodePtr c = NULL;

		if (r->rule && strstr(r->name, "::")) {
			mangle(r->name, &cn, &nm);
			c = find_case(suite, cn.buf, nm.buf);
		}
		if (c) {
			merge_one(c, &sb, r);
			continue;
		}
		/* not the runner's (a whole-run rule, a C test): memray's own testcase, as junit_write() */
		w = xmlNewTextWriterMemory(buf, 0);
		xmlBufferEmpty(buf);
		if (!w || write_case(w, &sb, r, run->seconds) || xmlTextWriterFlush(w) < 0) {
			xmlFreeTextWriter(w);
			error("%s: out of memory", path);
			goto free_buf;
		}
		xmlFreeTextWriter(w);
		{
			xmlNodePtr parsed = NULL;

			if (xmlParseInNodeContext(suite, (const char *)xmlBufferContent(buf), xmlBufferLength(buf), 0,
						  &parsed) == XML_ERR_OK && parsed) {
				xmlAddChild(suite, parsed);
				bump(suite, "tests");
				if (r->failure_type && !r->error_type)
					bump(suite, "failures");
				if (r->error_type)
					bump(suite, "errors");
			}
		}
	}
	if (run->nfixtures) {	/* the suite's own system-out, after its testcases */
		struct strbuf text = STRBUF_INIT;
		xmlNodePtr out = child(suite, "system-out");
		xmlChar *had = out ? xmlNodeGetContent(out) : NULL;

		if (had)
			strbuf_addf(&text, "%s\n", (const char *)had);
		xmlFree(had);
		check_fixtures_text(&text, run);
		xmlUnlinkNode(out);
		xmlFreeNode(out);
		xmlNewTextChild(suite, NULL, BAD_CAST "system-out", BAD_CAST xml_clean(&sb, text.buf));
		strbuf_release(&text);
	}
	if (xmlSaveFormatFileEnc(path, doc, "UTF-8", 1) < 0)
		error("cannot write JUnit file '%s'", path);
	else
		ret = 0;
free_buf:
	xmlBufferFree(buf);
out:
	xmlFreeDoc(doc);
	strbuf_release(&sb);
	strbuf_release(&cn);
	strbuf_release(&nm);
	return ret;
}
