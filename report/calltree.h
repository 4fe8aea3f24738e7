/*
 * report/calltree: stacks merged into one call tree, the shape that the
 * terminal tree and the flame graph both draw.
 *
 * Each stack is walked from its outermost frame in, leaving out hidden
 * frames (frames_is_hidden: the C/C++/Rust runtime) except the one it
 * is charged to (frames_own), and adds its bytes and allocation
 * count to every node on the way. Node 0 is the root and holds every
 * stack; stacks beyond the `biggest` go to one "<N other stacks>" child,
 * so the root's children always add up to it.
 * Children are linked in order of first appearance; nodes never move
 * once their index is known except when the array grows.
 *
 * Ownership: the tree owns its array (calltree_release frees it); the
 * strings in nodes belong to the symbolizer.
 */
#ifndef REPORT_CALLTREE_H
#define REPORT_CALLTREE_H

#include <stddef.h>
#include <stdint.h>

#include "report/analysis.h"
#include "report/figure.h"

struct calltree_node {
	const char *function, *file;
	unsigned line;
	uint64_t bytes, count;
	size_t first_child, next_sibling;	/* indexes; 0: none */
};

struct calltree {
	struct calltree_node *nodes;
	size_t n, cap;
	char other_label[48];	/* "<N other stacks>": the root's child for what `biggest` cut */
};

/*
 * Build the tree of the `biggest` largest stacks by figure `fig` (0: all);
 * `inverted` roots each stack at its innermost frame (the function that
 * allocated) with its callers above. Returns 0, or -1 when out of memory
 * (t is then released).
 */
int calltree_build(struct calltree *t, struct analysis *a, struct symbolizer *s, enum figure fig,
		   size_t biggest, int inverted);
void calltree_release(struct calltree *t);

/* the index of f among the root's children, added if new (a label table); 0 when out of memory */
size_t calltree_label(struct calltree *t, const struct sym_frame *f);

/* the children of node i, biggest first; returns the count, *out is the caller's to free */
size_t calltree_children(const struct calltree *t, size_t i, size_t **out);

#endif
