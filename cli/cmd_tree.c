/*
 * cli/cmd_tree: `memray tree`, the biggest stacks live at the peak, merged
 * into a call tree printed in the terminal, as the Python tool's tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "capture/reader.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "report/analysis.h"

static const char tree_usage[] =
	"usage: memray tree [-h] [-b N] [--partial] CAPTURE\n"
	"\n"
	"The N biggest stacks holding memory at the peak, merged into a call tree with\n"
	"the bytes and share of the peak under each function. Frames of the C and C++\n"
	"runtime (libc, libstdc++, the loader, standard library templates) are left out.\n"
	"\n"
	"options:\n"
	"  -b, --biggest-allocs N  how many stacks (default 10; 0: all)\n"
	"  --partial               report what comes before damage in the capture\n"
	"\n"
	"exit status: 0 success, 1 unreadable or damaged capture, 2 usage error.\n";

#define MAX_FRAMES 4096

struct node {
	const char *function, *file;
	unsigned line;
	uint64_t bytes, count;
	size_t first_child, next_sibling;	/* indexes; 0: none (0 is the root) */
};

struct tree {
	struct node *nodes;
	size_t n, cap;
};

static size_t child(struct tree *t, size_t parent, const struct sym_frame *f)
{
	const char *file = f->file ? f->file : f->module;
	size_t *link = &t->nodes[parent].first_child;

	while (*link) {
		struct node *c = &t->nodes[*link];

		if (c->function == f->function && c->file == file && c->line == f->line)
			return *link;
		link = &c->next_sibling;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap * 2;
		struct node *p = realloc(t->nodes, cap * sizeof(*p));

		if (!p)
			return 0;
		t->nodes = p;
		t->cap = cap;
		link = &t->nodes[parent].first_child;	/* the array moved */
		while (*link)
			link = &t->nodes[*link].next_sibling;
	}
	t->nodes[t->n] = (struct node){ f->function, file, f->line, 0, 0, 0, 0 };
	*link = t->n;
	return t->n++;
}

static const struct analysis_entry *biggest_entries;

static int by_peak(const void *x, const void *y)
{
	const struct analysis_entry *a = &biggest_entries[*(const size_t *)x];
	const struct analysis_entry *b = &biggest_entries[*(const size_t *)y];

	if (a->peak_bytes != b->peak_bytes)
		return a->peak_bytes < b->peak_bytes ? 1 : -1;
	return a->stack < b->stack ? -1 : a->stack > b->stack;
}

static int build(struct analysis *a, struct symbolizer *s, struct tree *t, size_t biggest)
{
	static struct sym_frame frames[MAX_FRAMES];
	size_t *order = malloc((a->nentries + 1) * sizeof(*order)), n = 0;

	if (!order)
		return -1;
	for (size_t i = 0; i < a->nentries; i++)
		if (a->entries[i].peak_bytes)
			order[n++] = i;
	biggest_entries = a->entries;
	qsort(order, n, sizeof(*order), by_peak);
	for (size_t k = 0; k < n && (!biggest || k < biggest); k++) {
		const struct analysis_entry *e = &a->entries[order[k]];
		int nf = analysis_frames(a, s, e->stack, frames, MAX_FRAMES);
		size_t at = 0;

		t->nodes[0].bytes += e->peak_bytes;
		t->nodes[0].count += e->peak_count;
		for (int f = nf - 1; f >= 0; f--) {	/* from the outermost frame in */
			if (analysis_is_hidden(&frames[f]))
				continue;
			at = child(t, at, &frames[f]);
			if (!at) {
				free(order);
				return -1;
			}
			t->nodes[at].bytes += e->peak_bytes;
			t->nodes[at].count += e->peak_count;
		}
	}
	free(order);
	return 0;
}

static void print_node(const struct tree *t, size_t i, uint64_t peak, struct strbuf *prefix, int is_last,
		       int width);

/* the children of node i, biggest first */
static void print_children(const struct tree *t, size_t i, uint64_t peak, struct strbuf *prefix, int width)
{
	size_t kids[4096], nk = 0;

	for (size_t c = t->nodes[i].first_child; c && nk < 4096; c = t->nodes[c].next_sibling)
		kids[nk++] = c;
	for (size_t x = 1; x < nk; x++) {
		for (size_t y = x; y > 0 && t->nodes[kids[y]].bytes > t->nodes[kids[y - 1]].bytes; y--) {
			size_t tmp = kids[y];

			kids[y] = kids[y - 1];
			kids[y - 1] = tmp;
		}
	}
	for (size_t k = 0; k < nk; k++)
		print_node(t, kids[k], peak, prefix, k + 1 == nk, width);
}

static void print_node(const struct tree *t, size_t i, uint64_t peak, struct strbuf *prefix, int is_last, int width)
{
	const struct node *nd = &t->nodes[i];
	char size[UNITS_BUF];
	struct strbuf line = STRBUF_INIT;
	size_t keep = prefix->len;

	strbuf_addf(&line, "%s%s[%s %.2f%%] %s  %s:%u", prefix->buf, is_last ? "\u2514\u2500\u2500 " : "\u251c\u2500\u2500 ",
		    units_human(size, nd->bytes), peak ? 100.0 * (double)nd->bytes / (double)peak : 0.0,
		    nd->function, nd->file, nd->line);
	if (width && line.len > (size_t)width + 6)	/* box characters are 3 bytes, 1 column */
		strbuf_setlen(&line, (size_t)width + 6);
	puts(line.buf);
	strbuf_release(&line);
	strbuf_addstr(prefix, is_last ? "    " : "\u2502   ");
	print_children(t, i, peak, prefix, width);
	strbuf_setlen(prefix, keep);
}

int cmd_tree(int argc, char **argv)
{
	const char *path = NULL;
	size_t biggest = 10;
	int partial = 0, ret, width = 0;
	struct tree t = { 0 };
	struct reading rd;
	struct winsize ws;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (is_help(arg)) {
			fputs(tree_usage, stdout);
			return 0;
		} else if (!strcmp(arg, "--partial")) {
			partial = 1;
		} else if (!strcmp(arg, "-b") || !strcmp(arg, "--biggest-allocs")) {
			char *end;
			const char *v = i + 1 < argc ? argv[++i] : "";

			biggest = strtoul(v, &end, 10);
			if (!*v || *end || v[0] == '-') {
				error("tree: -b takes a number of stacks, not '%s'", v);
				return EXIT_USAGE;
			}
		} else if ((ret = reading_arg("tree", arg, &path))) {
			return ret;
		}
	}
	ret = reading_open(&rd, "tree", path, partial);
	if (ret)
		return ret;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		width = ws.ws_col;
	t.cap = 256;
	t.nodes = calloc(t.cap, sizeof(*t.nodes));
	t.n = 1;
	if (!t.nodes || build(&rd.a, rd.sym, &t, biggest) < 0) {
		error("tree: out of memory");
		ret = EXIT_CAPTURE_ERROR;
	} else {
		struct strbuf prefix = STRBUF_INIT;
		char size[UNITS_BUF];

		printf("Allocation tree at the peak (%s; the %zu biggest stacks)\n\n",
		       units_human(size, rd.a.peak_bytes), biggest);
		printf("[%s %.2f%%] <ROOT>\n", units_human(size, t.nodes[0].bytes),
		       rd.a.peak_bytes ? 100.0 * (double)t.nodes[0].bytes / (double)rd.a.peak_bytes : 0.0);
		print_children(&t, 0, rd.a.peak_bytes, &prefix, width);
		strbuf_release(&prefix);
	}
	free(t.nodes);
	reading_close(&rd);
	return ret;
}
