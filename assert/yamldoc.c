/*
 * assert/yamldoc: see yamldoc.h.
 */
#include "assert/yamldoc.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"

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
		const yaml_mark_t *m = parser.problem_mark.line || parser.problem_mark.column ?
			&parser.problem_mark : &parser.context_mark;

		if (parser.error == YAML_MEMORY_ERROR)
			ret = error("%s: out of memory", name);
		else
			ret = error("%s:%zu:%zu: bad YAML: %s%s%s", name, m->line + 1, m->column + 1,
				    parser.problem ? parser.problem : "cannot parse", parser.context ? " " : "",
				    parser.context ? parser.context : "");
		memset(&d->doc, 0, sizeof(d->doc));
		yaml_parser_delete(&parser);
		return ret;
	}
	yaml_parser_delete(&parser);
	return 0;
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

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	error("%s:%zu:%zu: %s", d->name, n->start_mark.line + 1, n->start_mark.column + 1, sb.buf);
	strbuf_release(&sb);
	return -1;
}

int yamldoc_check_keys(struct yamldoc *d, yaml_node_t *map)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yamldoc_node(d, p->key);

		if (!k || k->type != YAML_SCALAR_NODE)
			return yamldoc_error(d, k ? k : map, "a key must be a plain name, not %s", yamldoc_kind(k));
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++)
			if (!strcmp(yamldoc_scalar(yamldoc_node(d, q->key)), yamldoc_scalar(k)))
				return yamldoc_error(d, k, "key '%s' given twice", yamldoc_scalar(k));
	}
	return 0;
}
