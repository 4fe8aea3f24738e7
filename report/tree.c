/*
 * report/tree: see tree.h.
 */
#include "report/tree.h"

#include <stdlib.h>

#include "common/strbuf.h"
#include "common/units.h"
#include "common/utf8.h"
#include "report/calltree.h"
#include "report/figure.h"

struct draw {
	struct strbuf *out;
	const struct calltree *t;
	uint64_t peak;
	int width;
	struct strbuf prefix;	/* the box characters of the levels above */
};

static void draw_node(struct draw *d, size_t i, int is_last);

static void draw_children(struct draw *d, size_t i)
{
	size_t *kids, nk = calltree_children(d->t, i, &kids);

	for (size_t k = 0; k < nk; k++)
		draw_node(d, kids[k], k + 1 == nk);
	free(kids);
}

static void draw_node(struct draw *d, size_t i, int is_last)
{
	const struct calltree_node *nd = &d->t->nodes[i];
	char size[UNITS_BUF];
	size_t start = d->out->len, keep = d->prefix.len;

	strbuf_addf(d->out, "%s%s[%s %.2f%%] ", d->prefix.buf,
		    is_last ? "\u2514\u2500\u2500 " : "\u251c\u2500\u2500 ", units_human(size, nd->bytes),
		    d->peak ? 100.0 * (double)nd->bytes / (double)d->peak : 0.0);
	/* names from the tracked program: escaped, so the tree keeps one line per node */
	utf8_add_printable(d->out, nd->function, 0);
	if (*nd->file) {	/* not a label: a thread, the other stacks */
		strbuf_addstr(d->out, "  ");
		utf8_add_printable(d->out, nd->file, 0);
		strbuf_addf(d->out, ":%u", nd->line);
	}
	if (d->width && d->out->len - start > (size_t)d->width + 6) {	/* box characters are 3 bytes, 1 column */
		size_t cut = start + (size_t)d->width + 6;

		while (cut > start && (d->out->buf[cut] & 0xc0) == 0x80)
			cut--;	/* never half a character */
		strbuf_setlen(d->out, cut);
	}
	strbuf_addch(d->out, '\n');
	strbuf_addstr(&d->prefix, is_last ? "    " : "\u2502   ");
	draw_children(d, i);
	strbuf_setlen(&d->prefix, keep);
}

int tree_report(struct strbuf *out, struct analysis *a, struct symbolizer *s, const struct tree_options *opts)
{
	struct calltree t = { 0 };
	struct draw d = { out, &t, a->peak_bytes, opts->width, STRBUF_INIT };
	char size[UNITS_BUF];

	if (calltree_build(&t, a, s, FIGURE_PEAK, opts->biggest, 0) < 0)
		return -1;
	strbuf_addf(out, "Allocation tree at the peak (%s; the %zu biggest stacks)\n\n",
		    units_human(size, a->peak_bytes), opts->biggest);
	strbuf_addf(out, "[%s %.2f%%] <ROOT>\n", units_human(size, t.nodes[0].bytes),
		    a->peak_bytes ? 100.0 * (double)t.nodes[0].bytes / (double)a->peak_bytes : 0.0);
	draw_children(&d, 0);
	strbuf_release(&d.prefix);
	calltree_release(&t);
	return 0;
}
