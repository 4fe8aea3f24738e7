/*
 * ci/checklog: see checklog.h.
 */
#include "ci/checklog.h"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/grow.h"
#include "common/strbuf.h"

/* is n the element `name` (whatever its namespace: Check's is http://check.sourceforge.net/ns)? */
static int is_named(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* the text of n's child element `name`, which the caller frees; "" when there is none; NULL: no memory */
static char *child_text(xmlNodePtr n, const char *name)
{
	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (is_named(c, name)) {
			xmlChar *s = xmlNodeGetContent(c);
			char *copy = strdup(s ? (const char *)s : "");

			xmlFree(s);
			return copy;
		}
	}
	return strdup("");
}

/* "file.c:18" after the folder "path" into t's file and line */
static int place(struct checklog_test *t, const char *path, char *fn)
{
	struct strbuf sb = STRBUF_INIT;
	char *colon = strrchr(fn, ':'), *end;
	unsigned long line = colon ? strtoul(colon + 1, &end, 10) : 0;

	if (colon && *end == '\0' && end > colon + 1) {
		*colon = '\0';
		t->line = line <= 0xffffffffu ? (unsigned)line : 0;
	}
	if (!*fn)
		return 0;
	if (*path)
		strbuf_addf(&sb, "%s/", path);
	if (strbuf_addstr(&sb, fn) < 0)
		return -1;
	t->file = strbuf_detach(&sb, NULL);
	return t->file ? 0 : -1;
}

/* one <test> of the suite titled `suite`: 0, or -1 when out of memory */
static int add_test(struct checklog *l, xmlNodePtr test, const char *suite)
{
	struct checklog_test *t;
	char *path, *fn, *iteration;
	int ret = -1;

	if (GROW(l->t, l->n + 1, l->alloc) < 0)
		return error("check: out of memory");
	t = memset(&l->t[l->n], 0, sizeof(*t));
	path = child_text(test, "path");
	fn = child_text(test, "fn");
	iteration = child_text(test, "iteration");
	t->suite = strdup(suite);
	t->tcase = child_text(test, "description");
	t->id = child_text(test, "id");
	if (path && fn && iteration && t->suite && t->tcase && t->id && place(t, path, fn) == 0) {
		t->iteration = (unsigned)strtoul(iteration, NULL, 10);
		l->n++;
		ret = 0;
	} else {
		free(t->suite);
		free(t->tcase);
		free(t->id);
		free(t->file);
		error("check: out of memory");
	}
	free(path);
	free(fn);
	free(iteration);
	return ret;
}

static int same_test(const struct checklog_test *a, const struct checklog_test *b)
{
	return !strcmp(a->id, b->id) && !strcmp(a->tcase, b->tcase) && !strcmp(a->suite, b->suite);
}

/* tcase_add_loop_test runs a test's iterations one after the other */
static void mark_loops(struct checklog *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct checklog_test *t = &l->t[i];

		t->is_loop = t->iteration != 0 ||
			     (i + 1 < l->n && same_test(t, &l->t[i + 1]) && l->t[i + 1].iteration == t->iteration + 1);
	}
}

int checklog_read(struct checklog *l, const char *path)
{
	xmlDocPtr doc;
	xmlNodePtr root;
	int ret = 0;

	if (access(path, F_OK) < 0)
		return 0;	/* no log: this runner wrote none (srunner_set_xml of its own, say) */
	xmlResetLastError();
	doc = xmlReadFile(path, NULL, XML_PARSE_RECOVER | XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!doc && xmlGetLastError() && xmlGetLastError()->code == XML_ERR_NO_MEMORY)
		return error("check: out of memory");
	if (!root || !is_named(root, "testsuites")) {
		warning("%s: not a Check XML log; its tests are named binary:test", path);
		xmlFreeDoc(doc);
		return 0;
	}
	for (xmlNodePtr s = root->children; s && !ret; s = s->next) {
		char *title;

		if (!is_named(s, "suite"))
			continue;
		title = child_text(s, "title");
		if (!title)
			ret = error("check: out of memory");
		for (xmlNodePtr t = s->children; t && !ret; t = t->next)
			if (is_named(t, "test"))
				ret = add_test(l, t, title);
		free(title);
	}
	xmlFreeDoc(doc);
	mark_loops(l);
	return ret;
}

const struct checklog_test *checklog_match(struct checklog *l, const char *id)
{
	for (size_t i = l->next; i < l->n; i++) {
		if (!strcmp(l->t[i].id, id)) {
			l->next = i + 1;
			return &l->t[i];
		}
	}
	return NULL;
}

void checklog_release(struct checklog *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->t[i].suite);
		free(l->t[i].tcase);
		free(l->t[i].id);
		free(l->t[i].file);
	}
	free(l->t);
	memset(l, 0, sizeof(*l));
}
