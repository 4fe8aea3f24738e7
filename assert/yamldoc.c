/*
 * assert/yamldoc: see yamldoc.h.
 */
#include "assert/yamldoc.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "common/hashidx.h"
#include "common/strbuf.h"

/* one line for a parser that failed: out of memory, or where and what */
static int parser_error(const yaml_parser_t *parser, const char *name)
{
	const yaml_mark_t *m = parser->problem_mark.line || parser->problem_mark.column ?
		&parser->problem_mark : &parser->context_mark;

	/*
	 * libyaml's loader gives up without setting an error when some of its
	 * allocations fail (the strdup of a node's tag): with no error, the
	 * failure was memory, not a "bad YAML" at 1:1.
	 */
	if (parser->error == YAML_MEMORY_ERROR || parser->error == YAML_NO_ERROR)
		return error("%s: out of memory", name);
	return error("%s:%zu:%zu: bad YAML: %s%s%s", name, m->line + 1, m->column + 1,
		     parser->problem ? parser->problem : "cannot parse", parser->context ? " " : "",
		     parser->context ? parser->context : "");
}

/*
 * After the first document, the stream must end. yaml_parser_load() reads
 * one document per call, so a file with a '---' and a second document
 * used to be read as its first alone, and whatever rules the second held
 * were silently ignored. At the end of the stream libyaml hands back a
 * document with no root node.
 */
static int only_one_document(yaml_parser_t *parser, const char *name)
{
	yaml_document_t next;
	int ret = 0;

	if (!yaml_parser_load(parser, &next))
		return parser_error(parser, name);
	if (yaml_document_get_root_node(&next))
		ret = error("%s:%zu:%zu: a second YAML document starts here (the file must hold one)", name,
			    next.start_mark.line + 1, next.start_mark.column + 1);
	yaml_document_delete(&next);
	return ret;
}

int yamldoc_load(struct yamldoc *d, const char *buf, size_t len, const char *name)
{
	yaml_parser_t parser;
	int ret = 0;

	memset(d, 0, sizeof(*d));
	d->name = name;
	if (!yaml_parser_initialize(&parser))
		return error("%s: out of memory", name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &d->doc)) {
		ret = parser_error(&parser, name);
		memset(&d->doc, 0, sizeof(d->doc));
	} else if (yaml_document_get_root_node(&d->doc) && only_one_document(&parser, name) < 0) {
		ret = -1;
		yaml_document_delete(&d->doc);
		memset(&d->doc, 0, sizeof(d->doc));
	}
	yaml_parser_delete(&parser);
	return ret;
}

void yamldoc_release(struct yamldoc *d)
{
	if (d->doc.nodes.start)
		yaml_document_delete(&d->doc);
	memset(d, 0, sizeof(*d));
}

yaml_node_t *yamldoc_node(struct yamldoc *d, int id)
{
	return yaml_document_get_node(&d->doc, id);
}

const char *yamldoc_scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : "";
}

const char *yamldoc_kind(yaml_node_t *n)
{
	if (!n)
		return "nothing";
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a map";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

int yamldoc_bool(yaml_node_t *n)
{
	static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };
	const char *s = yamldoc_scalar(n);

	for (int i = 0; i < 3; i++) {
		if (!strcasecmp(s, yes[i]))
			return 1;
		if (!strcasecmp(s, no[i]))
			return 0;
	}
	return -1;
}

int yamldoc_error(struct yamldoc *d, yaml_node_t *n, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	int bad;

	va_start(ap, fmt);
	bad = strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (bad)	/* not half a message */
		error("%s: out of memory", d->name);
	else
		error("%s:%zu:%zu: %s", d->name, n->start_mark.line + 1, n->start_mark.column + 1, sb.buf);
	strbuf_release(&sb);
	return -1;
}

struct same_key {
	struct yamldoc *d;
	const yaml_node_pair_t *pairs;
	const char *key;
};

static int is_same_key(const void *ctx, uint32_t pos)
{
	const struct same_key *c = ctx;

	return !strcmp(yamldoc_scalar(yamldoc_node(c->d, c->pairs[pos].key)), c->key);
}

/*
 * Every key against those before it, through a hash index: comparing each
 * with all earlier ones took 35 s for a 60,000-key map. The first key that
 * repeats an earlier one is named, as before.
 */
int yamldoc_check_keys(struct yamldoc *d, yaml_node_t *map)
{
	const yaml_node_pair_t *pairs = map->data.mapping.pairs.start;
	size_t n = (size_t)(map->data.mapping.pairs.top - pairs);
	struct hashidx ix = HASHIDX_INIT;
	int ret = 0;

	for (size_t i = 0; !ret && i < n; i++) {
		yaml_node_t *k = yamldoc_node(d, pairs[i].key);
		struct same_key c = { d, pairs, yamldoc_scalar(k) };
		uint64_t h = hash_string(c.key);

		if (!k || k->type != YAML_SCALAR_NODE)
			ret = yamldoc_error(d, k ? k : map, "a key must be a plain name, not %s", yamldoc_kind(k));
		else if (hashidx_find(&ix, h, is_same_key, &c) != HASHIDX_NONE)
			ret = yamldoc_error(d, k, "key '%s' given twice", c.key);
		else if (hashidx_add(&ix, h, (uint32_t)i) < 0)
			ret = error("%s: out of memory", d->name);
	}
	hashidx_release(&ix);
	return ret;
}
