/*
 * assert/manifest: see manifest.h. The file is loaded as a libyaml
 * document (nodes carry their line and column), then walked.
 */
#include "assert/manifest.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "assert/yamldoc.h"
#include "common/error.h"
#include "common/file.h"
#include "common/grow.h"
#include "common/strbuf.h"
#include "common/units.h"

static const char *const limit_keys[LIMIT_KINDS] = { "budget", "leak-budget", "max-allocations" };

int limits_set(struct limits *l, enum limit_kind k, uint64_t value, const char *from)
{
	char *copy = strdup(from);

	if (!copy)
		return error("out of memory");
	free(l->from[k]);
	l->from[k] = copy;
	l->has[k] = 1;
	l->value[k] = value;
	return 0;
}

void limits_release(struct limits *l)
{
	for (int k = 0; k < LIMIT_KINDS; k++)
		free(l->from[k]);
	memset(l, 0, sizeof(*l));
}

const char *const increase_names[INCREASE_FIGURES] = {
	[INCREASE_PEAK] = "peak", [INCREASE_ALLOCATIONS] = "allocations", [INCREASE_ALLOCATED] = "allocated",
};

int increase_parse(const char *s, struct increase *out, const char **why)
{
	size_t len = strlen(s);

	while (*s == ' ')
		s++;
	if (*s == '+')
		s++;
	len = strlen(s);
	while (len && s[len - 1] == ' ')
		len--;
	if (len && s[len - 1] == '%') {
		char num[64], *end;
		double v;

		if (len - 1 >= sizeof(num) || len == 1) {
			*why = "not a percentage";
			return -1;
		}
		memcpy(num, s, len - 1);
		num[len - 1] = '\0';
		errno = 0;
		v = strtod(num, &end);
		if (errno || *end || end == num || !(v >= 0) || v > 1e6 || strpbrk(num, "xXeEnN")) {
			*why = "not a percentage (like 10%)";
			return -1;
		}
		out->is_set = 1;
		out->is_percent = 1;
		out->percent = v;
		out->bytes = 0;
		return 0;
	}
	if (units_parse(s, &out->bytes, why) < 0)
		return -1;
	out->is_set = 1;
	out->is_percent = 0;
	out->percent = 0;
	return 0;
}

/* the walk's state: the document, the file name, and the manifest */
struct walk {
	struct yamldoc *doc;
	const char *name;
	struct manifest *m;
	struct strbuf where;
};

/*
 * "name:line:col" of node n, in w->where (reused); NULL after an error line
 * when out of memory. Unchecked, a failed append gave a limit whose origin
 * was "" and the parse succeeded.
 */
static const char *where(struct walk *w, yaml_node_t *n)
{
	strbuf_reset(&w->where);
	if (strbuf_addf(&w->where, "%s:%zu:%zu", w->name, n->start_mark.line + 1, n->start_mark.column + 1) < 0) {
		error("out of memory");
		return NULL;
	}
	return w->where.buf;
}

static int size_value(struct walk *w, yaml_node_t *v, const char *key, uint64_t *out)
{
	const char *why;

	if (v->type != YAML_SCALAR_NODE)
		return yamldoc_error(w->doc, v, "'%s' must be a size (like 64MiB), not %s", key, yamldoc_kind(v));
	if (units_parse(yamldoc_scalar(v), out, &why) < 0)
		return yamldoc_error(w->doc, v, "bad size '%s' for '%s': %s", yamldoc_scalar(v), key, why);
	return 0;
}

/* budget / leak-budget / max-allocations into l; 1 if key was one of them, 0 if not, -1 */
static int limit_key(struct walk *w, const char *key, yaml_node_t *v, struct limits *l)
{
	for (int k = 0; k < LIMIT_KINDS; k++) {
		const char *at;
		uint64_t value;

		if (strcmp(key, limit_keys[k]))
			continue;
		if (k == LIMIT_COUNT) {
			char *end;

			if (v->type != YAML_SCALAR_NODE)
				return yamldoc_error(w->doc, v, "'%s' must be a whole number, not %s", key,
						     yamldoc_kind(v));
			errno = 0;
			value = strtoull(yamldoc_scalar(v), &end, 10);
			if (errno || *end || end == yamldoc_scalar(v) || yamldoc_scalar(v)[0] == '-')
				return yamldoc_error(w->doc, v, "'%s' must be a whole number, not '%s'", key,
						     yamldoc_scalar(v));
		} else if (size_value(w, v, key, &value) < 0) {
			return -1;
		}
		at = where(w, v);
		return !at || limits_set(l, (enum limit_kind)k, value, at) < 0 ? -1 : 1;
	}
	return 0;
}

static int limits_map(struct walk *w, yaml_node_t *map, const char *what, struct limits *l)
{
	yaml_node_pair_t *p;

	if (map->type != YAML_MAPPING_NODE)
		return yamldoc_error(w->doc, map, "'%s' must be a map, not %s", what, yamldoc_kind(map));
	if (yamldoc_check_keys(w->doc, map) < 0)
		return -1;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yamldoc_node(w->doc, p->key), *v = yamldoc_node(w->doc, p->value);
		int r = limit_key(w, yamldoc_scalar(k), v, l);

		if (r < 0)
			return -1;
		if (!r)
			return yamldoc_error(w->doc, k, "unknown key '%s' in '%s'", yamldoc_scalar(k), what);
	}
	return 0;
}

static int glob_value(struct walk *w, yaml_node_t *v, const char *key, const char **out)
{
	const char *problem;

	if (v->type != YAML_SCALAR_NODE)
		return yamldoc_error(w->doc, v, "'%s' must be a glob, not %s", key, yamldoc_kind(v));
	problem = suppress_glob_problem(yamldoc_scalar(v));
	if (problem)
		return yamldoc_error(w->doc, v, "bad glob '%s' for '%s': %s", yamldoc_scalar(v), key, problem);
	*out = yamldoc_scalar(v);
	return 0;
}

static int test_rules(struct walk *w, yaml_node_t *seq)
{
	if (seq->type != YAML_SEQUENCE_NODE)
		return yamldoc_error(w->doc, seq, "'tests' must be a list of maps, not %s", yamldoc_kind(seq));
	for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *item = yamldoc_node(w->doc, *it);
		struct test_rule rule = { 0 };
		const char *glob = NULL, *at;

		if (item->type != YAML_MAPPING_NODE)
			return yamldoc_error(w->doc, item, "each of 'tests' must be a map, not %s", yamldoc_kind(item));
		if (yamldoc_check_keys(w->doc, item) < 0)
			return -1;
		for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yamldoc_node(w->doc, p->key), *v = yamldoc_node(w->doc, p->value);
			const char *key = yamldoc_scalar(k);
			int r;

			if (!strcmp(key, "match")) {
				if (glob_value(w, v, key, &glob) < 0)
					goto fail;
				continue;
			}
			r = limit_key(w, key, v, &rule.lim);
			if (r < 0)
				goto fail;
			if (!r) {
				yamldoc_error(w->doc, k, "unknown key '%s' in a test rule", key);
				goto fail;
			}
		}
		if (!glob) {
			yamldoc_error(w->doc, item, "a test rule needs 'match' (a glob on test ids)");
			goto fail;
		}
		if (!(at = where(w, item)))
			goto fail;
		rule.glob = strdup(glob);
		rule.where = strdup(at);
		if (!rule.glob || !rule.where || GROW(w->m->tests, w->m->ntests + 1, w->m->tests_alloc) < 0) {
			error("out of memory");
			goto fail;
		}
		w->m->tests[w->m->ntests++] = rule;
		continue;
fail:
		free(rule.glob);
		free(rule.where);
		limits_release(&rule.lim);
		return -1;
	}
	return 0;
}

static int suppressions(struct walk *w, yaml_node_t *seq)
{
	if (seq->type != YAML_SEQUENCE_NODE)
		return yamldoc_error(w->doc, seq, "'suppressions' must be a list, not %s", yamldoc_kind(seq));
	for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *item = yamldoc_node(w->doc, *it);
		const char *glob = NULL, *at;

		if (item->type == YAML_SCALAR_NODE) {
			if (glob_value(w, item, "suppressions", &glob) < 0)
				return -1;
		} else if (item->type == YAML_MAPPING_NODE) {
			if (yamldoc_check_keys(w->doc, item) < 0)
				return -1;
			for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top;
			     p++) {
				yaml_node_t *k = yamldoc_node(w->doc, p->key), *v = yamldoc_node(w->doc, p->value);
				const char *key = yamldoc_scalar(k);

				if (!strcmp(key, "frame")) {
					if (glob_value(w, v, key, &glob) < 0)
						return -1;
				} else if (!strcmp(key, "reason")) {
					if (v->type != YAML_SCALAR_NODE)
						return yamldoc_error(w->doc, v, "'reason' must be text, not %s",
								     yamldoc_kind(v));
				} else {
					return yamldoc_error(w->doc, k, "unknown key '%s' in a suppression", key);
				}
			}
			if (!glob)
				return yamldoc_error(w->doc, item, "a suppression needs 'frame' (a glob on stack frames)");
		} else {
			return yamldoc_error(w->doc, item, "each suppression must be a glob or a map, not %s",
					     yamldoc_kind(item));
		}
		if (!(at = where(w, item)) || suppress_add(&w->m->sup, glob, at) < 0)
			return -1;
	}
	return 0;
}

static int set_string(struct walk *w, yaml_node_t *v, const char *key, char **out)
{
	char *copy;

	if (v->type != YAML_SCALAR_NODE || !*yamldoc_scalar(v))
		return yamldoc_error(w->doc, v, "'%s' must be a file name, not %s", key, yamldoc_kind(v));
	copy = strdup(yamldoc_scalar(v));
	if (!copy)
		return error("out of memory");
	free(*out);
	*out = copy;
	return 0;
}

/* one figure's allowed increase: "10%" or "+5MiB" */
static int one_increase(struct walk *w, yaml_node_t *val, const char *key, struct increase *out)
{
	const char *why;

	if (val->type != YAML_SCALAR_NODE)
		return yamldoc_error(w->doc, val, "'%s' must be like 10%% or +5MiB, not %s", key, yamldoc_kind(val));
	if (increase_parse(yamldoc_scalar(val), out, &why) < 0)
		return yamldoc_error(w->doc, val, "bad '%s' '%s': %s", key, yamldoc_scalar(val), why);
	return 0;
}

/* max-increase: 10% (the peak's), or { peak: 10%, allocations: 0%, allocated: +1MiB } */
static int max_increase(struct walk *w, yaml_node_t *val)
{
	struct increase *inc = w->m->max_increase;

	if (val->type != YAML_MAPPING_NODE)
		return one_increase(w, val, "max-increase", &inc[INCREASE_PEAK]);
	if (yamldoc_check_keys(w->doc, val) < 0)
		return -1;
	memset(w->m->max_increase, 0, sizeof(w->m->max_increase));	/* only what the map names */
	for (yaml_node_pair_t *p = val->data.mapping.pairs.start; p < val->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yamldoc_node(w->doc, p->key);
		const char *key = yamldoc_scalar(k);
		int f = 0;

		while (f < INCREASE_FIGURES && strcmp(key, increase_names[f]))
			f++;
		if (f == INCREASE_FIGURES)
			return yamldoc_error(w->doc, k, "unknown key '%s' in 'max-increase' (peak, allocations "
					     "or allocated)", key);
		if (one_increase(w, yamldoc_node(w->doc, p->value), key, &inc[f]) < 0)
			return -1;
	}
	return 0;
}

static int baseline(struct walk *w, yaml_node_t *v)
{
	if (v->type == YAML_SCALAR_NODE)
		return set_string(w, v, "baseline", &w->m->baseline);
	if (v->type != YAML_MAPPING_NODE)
		return yamldoc_error(w->doc, v, "'baseline' must be a file name or a map, not %s", yamldoc_kind(v));
	if (yamldoc_check_keys(w->doc, v) < 0)
		return -1;
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yamldoc_node(w->doc, p->key), *val = yamldoc_node(w->doc, p->value);
		const char *key = yamldoc_scalar(k);

		if (!strcmp(key, "file")) {
			if (set_string(w, val, key, &w->m->baseline) < 0)
				return -1;
		} else if (!strcmp(key, "max-increase")) {
			if (max_increase(w, val) < 0)
				return -1;
		} else {
			return yamldoc_error(w->doc, k, "unknown key '%s' in 'baseline'", key);
		}
	}
	return 0;
}

static int top_level(struct walk *w, yaml_node_t *root)
{
	int has_version = 0;

	if (root->type != YAML_MAPPING_NODE)
		return yamldoc_error(w->doc, root, "a manifest must be a map of settings, not %s", yamldoc_kind(root));
	if (yamldoc_check_keys(w->doc, root) < 0)
		return -1;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yamldoc_node(w->doc, p->key), *v = yamldoc_node(w->doc, p->value);
		const char *key = yamldoc_scalar(k);
		int r;

		if (!strcmp(key, "version")) {
			if (v->type != YAML_SCALAR_NODE || strcmp(yamldoc_scalar(v), "1"))
				return yamldoc_error(w->doc, v, "unsupported version '%s' (this memray reads version 1)",
						     v->type == YAML_SCALAR_NODE ? yamldoc_scalar(v) : yamldoc_kind(v));
			has_version = 1;
		} else if (!strcmp(key, "defaults")) {
			if (limits_map(w, v, key, &w->m->defaults) < 0)
				return -1;
		} else if (!strcmp(key, "tests")) {
			if (test_rules(w, v) < 0)
				return -1;
		} else if (!strcmp(key, "suppressions")) {
			if (suppressions(w, v) < 0)
				return -1;
		} else if (!strcmp(key, "builtin-suppressions") || !strcmp(key, "reachable-leaks")) {
			int b = v->type == YAML_SCALAR_NODE ? yamldoc_bool(v) : -1;

			if (b < 0)
				return yamldoc_error(w->doc, v, "'%s' must be true or false", key);
			*(key[0] == 'b' ? &w->m->builtin_suppressions : &w->m->reachable_leaks) = b;
		} else if (!strcmp(key, "baseline")) {
			if (baseline(w, v) < 0)
				return -1;
		} else if ((r = limit_key(w, key, v, &w->m->run)) != 1) {
			return r < 0 ? -1 : yamldoc_error(w->doc, k, "unknown key '%s'", key);
		}
	}
	if (!has_version)
		return yamldoc_error(w->doc, root, "no 'version: 1' in the manifest");
	return 0;
}

int manifest_parse(struct manifest *m, const char *buf, size_t len, const char *name)
{
	struct yamldoc doc;
	struct walk w = { &doc, name, m, STRBUF_INIT };
	yaml_node_t *root;
	int ret;

	if (yamldoc_load(&doc, buf, len, name) < 0)
		return -1;
	root = yaml_document_get_root_node(&doc.doc);
	ret = root ? top_level(&w, root) : 0;	/* an empty file: no rules */
	yamldoc_release(&doc);
	strbuf_release(&w.where);
	return ret;
}

int manifest_load(struct manifest *m, const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	int ret = -1;

	if (file_read(&sb, path, "manifest") == 0)
		ret = manifest_parse(m, sb.buf, sb.len, path);
	strbuf_release(&sb);
	return ret;
}

void manifest_release(struct manifest *m)
{
	limits_release(&m->run);
	limits_release(&m->defaults);
	for (size_t i = 0; i < m->ntests; i++) {
		free(m->tests[i].glob);
		free(m->tests[i].where);
		limits_release(&m->tests[i].lim);
	}
	free(m->tests);
	suppress_release(&m->sup);
	free(m->baseline);
	memset(m, 0, sizeof(*m));
}

void manifest_limits_for(const struct manifest *m, const char *id, struct limits *out)
{
	*out = m->defaults;
	for (size_t i = 0; i < m->ntests; i++) {
		const struct test_rule *r = &m->tests[i];

		if (fnmatch(r->glob, id, 0))
			continue;
		for (int k = 0; k < LIMIT_KINDS; k++) {
			if (r->lim.has[k]) {
				out->has[k] = 1;
				out->value[k] = r->lim.value[k];
				out->from[k] = r->lim.from[k];
			}
		}
		return;
	}
}
