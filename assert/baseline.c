/*
 * assert/baseline: see baseline.h.
 */
#include "assert/baseline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assert/yamldoc.h"
#include "common/error.h"
#include "common/file.h"
#include "common/grow.h"
#include "common/strbuf.h"

static int number(struct yamldoc *d, yaml_node_t *v, const char *key, uint64_t *out)
{
	const char *s = yamldoc_scalar(v);
	char *end;

	errno = 0;
	if (v->type == YAML_SCALAR_NODE && *s && *s != '-') {
		*out = strtoull(s, &end, 10);
		if (!errno && !*end)
			return 0;
	}
	return yamldoc_error(d, v, "'%s' must be a whole number of bytes", key);
}

static int text(struct yamldoc *d, yaml_node_t *v, const char *key, char **out)
{
	if (v->type != YAML_SCALAR_NODE)
		return yamldoc_error(d, v, "'%s' must be a string, not %s", key, yamldoc_kind(v));
	free(*out);
	*out = strdup(yamldoc_scalar(v));
	return *out ? 0 : error("out of memory");
}

static int stacks(struct yamldoc *d, yaml_node_t *seq, struct baseline_entry *e)
{
	if (seq->type != YAML_SEQUENCE_NODE)
		return yamldoc_error(d, seq, "'stacks' must be a list, not %s", yamldoc_kind(seq));
	for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *item = yamldoc_node(d, *it);
		struct baseline_stack st = { 0 };

		if (item->type != YAML_MAPPING_NODE || yamldoc_check_keys(d, item) < 0)
			return item->type != YAML_MAPPING_NODE ?
				yamldoc_error(d, item, "each stack must be a map, not %s", yamldoc_kind(item)) : -1;
		for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yamldoc_node(d, p->key), *v = yamldoc_node(d, p->value);
			const char *key = yamldoc_scalar(k);
			int r;

			if (!strcmp(key, "location"))
				r = text(d, v, key, &st.location);
			else if (!strcmp(key, "bytes"))
				r = number(d, v, key, &st.bytes);
			else if (!strcmp(key, "count"))
				r = number(d, v, key, &st.count);
			else
				r = yamldoc_error(d, k, "unknown key '%s' in a stack", key);
			if (r < 0) {
				free(st.location);
				return -1;
			}
		}
		if (!st.location)
			return yamldoc_error(d, item, "a stack needs its 'location'");
		if (GROW(e->stacks, e->nstacks + 1, e->stacks_alloc) < 0) {
			free(st.location);
			return error("out of memory");
		}
		e->stacks[e->nstacks++] = st;
	}
	return 0;
}

static void entry_release(struct baseline_entry *e)
{
	free(e->id);
	for (size_t i = 0; i < e->nstacks; i++)
		free(e->stacks[i].location);
	free(e->stacks);
}

struct same_id {
	const struct baseline *b;
	const char *id;
};

static int is_same_id(const void *ctx, uint32_t pos)
{
	const struct same_id *c = ctx;

	return !strcmp(c->b->e[pos].id, c->id);
}

/* index entry i by its id, unless an earlier entry has that id: baseline_find() gives the first */
static int index_entry(struct baseline *b, size_t i)
{
	struct same_id c = { b, b->e[i].id };
	uint64_t h = hash_string(c.id);

	if (hashidx_find(&b->ix, h, is_same_id, &c) != HASHIDX_NONE)
		return 0;
	return hashidx_add(&b->ix, h, (uint32_t)i);
}

static int tests(struct yamldoc *d, yaml_node_t *seq, struct baseline *b)
{
	if (seq->type != YAML_SEQUENCE_NODE)
		return yamldoc_error(d, seq, "'tests' must be a list, not %s", yamldoc_kind(seq));
	for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *item = yamldoc_node(d, *it);
		struct baseline_entry e = { 0 };
		int r = 0;

		if (item->type != YAML_MAPPING_NODE)
			return yamldoc_error(d, item, "each test must be a map, not %s", yamldoc_kind(item));
		if (yamldoc_check_keys(d, item) < 0)
			return -1;
		for (yaml_node_pair_t *p = item->data.mapping.pairs.start; !r && p < item->data.mapping.pairs.top;
		     p++) {
			yaml_node_t *k = yamldoc_node(d, p->key), *v = yamldoc_node(d, p->value);
			const char *key = yamldoc_scalar(k);

			if (!strcmp(key, "id"))
				r = text(d, v, key, &e.id);
			else if (!strcmp(key, "peak"))
				r = number(d, v, key, &e.peak);
			else if (!strcmp(key, "leaked"))
				r = number(d, v, key, &e.leaked);
			else if (!strcmp(key, "allocations"))
				r = number(d, v, key, &e.allocations);
			else if (!strcmp(key, "allocated") && !(r = number(d, v, key, &e.allocated)))
				e.has_allocated = 1;
			else if (!strcmp(key, "stacks"))
				r = stacks(d, v, &e);
			else
				r = yamldoc_error(d, k, "unknown key '%s' in a test", key);
		}
		if (!r && !e.id)
			r = yamldoc_error(d, item, "a test needs its 'id'");
		if (!r && GROW(b->e, b->n + 1, b->alloc) < 0)
			r = error("out of memory");
		if (r) {
			entry_release(&e);
			return -1;
		}
		b->e[b->n++] = e;
		if (index_entry(b, b->n - 1) < 0)
			return error("out of memory");	/* the entry is b's now: baseline_release() frees it */
	}
	return 0;
}

int baseline_parse(struct baseline *b, const char *buf, size_t len, const char *name)
{
	struct yamldoc d;
	yaml_node_t *root;
	int ret = -1, is_ours = 0;

	memset(b, 0, sizeof(*b));
	if (yamldoc_load(&d, buf, len, name) < 0)
		return -1;
	root = yaml_document_get_root_node(&d.doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		error("%s: not a memray baseline (no \"format\": \"memray-baseline\")", name);
		goto out;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++)
		if (!strcmp(yamldoc_scalar(yamldoc_node(&d, p->key)), "format") &&
		    !strcmp(yamldoc_scalar(yamldoc_node(&d, p->value)), "memray-baseline"))
			is_ours = 1;
	if (!is_ours) {
		error("%s: not a memray baseline (no \"format\": \"memray-baseline\")", name);
		goto out;
	}
	if (yamldoc_check_keys(&d, root) < 0)
		goto out;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yamldoc_node(&d, p->key), *v = yamldoc_node(&d, p->value);
		const char *key = yamldoc_scalar(k);

		if (!strcmp(key, "format"))
			continue;
		if (!strcmp(key, "version")) {
			if (strcmp(yamldoc_scalar(v), "1") && strcmp(yamldoc_scalar(v), "2")) {
				yamldoc_error(&d, v, "baseline version '%s' is not 1 or 2 (made by a newer memray?)",
					      yamldoc_scalar(v));
				goto out;
			}
		} else if (!strcmp(key, "tests")) {
			if (tests(&d, v, b) < 0)
				goto out;
		} else {
			yamldoc_error(&d, k, "unknown key '%s'", key);
			goto out;
		}
	}
	ret = 0;
out:
	yamldoc_release(&d);
	if (ret)
		baseline_release(b);
	return ret;
}

int baseline_load(struct baseline *b, const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	int ret;

	memset(b, 0, sizeof(*b));
	if (file_read(&sb, path, "baseline") < 0)
		ret = -1;
	else if (memchr(sb.buf, '\0', sb.len))
		ret = error("%s: not a memray baseline (binary data)", path);
	else
		ret = baseline_parse(b, sb.buf, sb.len, path);
	strbuf_release(&sb);
	return ret;
}

void baseline_release(struct baseline *b)
{
	for (size_t i = 0; i < b->n; i++)
		entry_release(&b->e[i]);
	free(b->e);
	hashidx_release(&b->ix);
	memset(b, 0, sizeof(*b));
}

const struct baseline_entry *baseline_find(const struct baseline *b, const char *id)
{
	struct same_id c = { b, id };
	uint32_t pos = hashidx_find(&b->ix, hash_string(id), is_same_id, &c);

	return pos == HASHIDX_NONE ? NULL : &b->e[pos];
}

/*
 * The appends are checked: strbuf keeps what it had when memory runs out,
 * and a baseline written from a buffer cut short would be a file that
 * parses and lacks tests, making later runs pass unjudged.
 */
static int add_subject(struct strbuf *sb, const struct ci_subject *s, int first)
{
	int bad = 0;

	bad |= strbuf_addf(sb, "%s    { \"id\": \"", first ? "" : ",\n");
	bad |= strbuf_add_json(sb, s->id);
	bad |= strbuf_addf(sb, "\", \"peak\": %llu, \"leaked\": %llu, \"allocations\": %llu, \"allocated\": %llu,\n"
			   "      \"stacks\": [", (unsigned long long)s->peak, (unsigned long long)s->leaked,
			   (unsigned long long)s->allocations, (unsigned long long)s->bytes);
	for (size_t i = 0; i < s->peak_stacks.n && i < CI_TOP_STACKS; i++) {
		bad |= strbuf_addf(sb, "%s\n        { \"location\": \"", i ? "," : "");
		bad |= strbuf_add_json(sb, s->peak_stacks.l[i].location);
		bad |= strbuf_addf(sb, "\", \"bytes\": %llu, \"count\": %llu }", (unsigned long long)s->peak_stacks.l[i].bytes,
				   (unsigned long long)s->peak_stacks.l[i].count);
	}
	bad |= strbuf_addstr(sb, s->peak_stacks.n ? " ] }" : "] }");
	return bad;
}

int baseline_save(const char *path, const struct ci_results *res)
{
	struct strbuf sb = STRBUF_INIT, tmp = STRBUF_INIT;
	int fd, ret = 0, bad = 0;

	bad |= strbuf_addstr(&sb, "{\n  \"format\": \"memray-baseline\",\n  \"version\": 2,\n  \"tests\": [\n");
	bad |= add_subject(&sb, &res->whole, 1);
	for (size_t i = 0; i < res->ntests; i++)
		bad |= add_subject(&sb, &res->tests[i], 0);
	bad |= strbuf_addstr(&sb, "\n  ]\n}\n");
	/* a new file, then rename: a crash never leaves half a baseline */
	bad |= strbuf_addf(&tmp, "%s.tmp", path);
	if (bad) {
		ret = error("cannot write baseline '%s': out of memory", path);
		goto out;
	}
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = error_errno("cannot write baseline '%s'", tmp.buf);
	} else if (write(fd, sb.buf, sb.len) != (ssize_t)sb.len) {
		ret = error_errno("cannot write baseline '%s'", tmp.buf);
		close(fd);	/* it used to stay open when the write failed */
		unlink(tmp.buf);
	} else if (close(fd) < 0) {
		ret = error_errno("cannot write baseline '%s'", tmp.buf);
		unlink(tmp.buf);
	} else if (rename(tmp.buf, path) < 0) {
		ret = error_errno("cannot write baseline '%s'", path);
		unlink(tmp.buf);
	}
out:
	strbuf_release(&sb);
	strbuf_release(&tmp);
	return ret;
}
