/*
 * assert/yamldoc: a YAML (or JSON) file loaded as a libyaml document,
 * with what the manifest and baseline readers need around it: errors
 * as "FILE:LINE:COLUMN: what" for a node, a node's kind in words, and
 * keys checked (scalars, none twice, in time linear in the keys). A file
 * holds one document: a '---' followed by a second one is refused where
 * it starts rather than ignored. libyaml resolves an alias to the
 * node it names, without copying it, so aliases cannot blow a small file
 * up; the walkers never recurse beyond the fixed shape of their file.
 *
 * Ownership: yamldoc_load() fills a yamldoc that yamldoc_release()
 * frees; node pointers and scalar strings live until then. The name is
 * borrowed.
 */
#ifndef ASSERT_YAMLDOC_H
#define ASSERT_YAMLDOC_H

#include <stddef.h>
#include <yaml.h>

#include "common/error.h"

struct yamldoc {
	yaml_document_t doc;
	const char *name;
};

/* 0, or -1 after "name:line:col: what" (a syntax error, a second document, ...) */
int yamldoc_load(struct yamldoc *d, const char *buf, size_t len, const char *name);
void yamldoc_release(struct yamldoc *d);

yaml_node_t *yamldoc_node(struct yamldoc *d, int id);
/* a scalar's text; "" for a node that is not a scalar */
const char *yamldoc_scalar(yaml_node_t *n);
/* "a map", "a list", "a scalar" */
const char *yamldoc_kind(yaml_node_t *n);
/* 1 true, 0 false, -1 neither (true/false/yes/no/on/off, any case) */
int yamldoc_bool(yaml_node_t *n);
/* every key of map n a scalar, none twice: 0, or -1 after an error (or out of memory) */
int yamldoc_check_keys(struct yamldoc *d, yaml_node_t *map);
/* print "memray: error: name:line:col: MESSAGE" for node n; returns -1 */
int yamldoc_error(struct yamldoc *d, yaml_node_t *n, const char *fmt, ...) MEMRAY_PRINTF(3, 4);

#endif
