/*
 * cli/cmd_tree: `memray tree`, the biggest stacks live at the peak, merged
 * into a call tree printed in the terminal, as the Python tool's tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/reader.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "report/analysis.h"
#include "report/calltree.h"

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

static void print_node(const struct calltree *t, size_t i, uint64_t peak, struct strbuf *prefix, int is_last,
		       int width);

static void print_children(const struct calltree *t, size_t i, uint64_t peak, struct strbuf *prefix, int width)
{
	size_t *kids, nk = calltree_children(t, i, &kids);

	for (size_t k = 0; k < nk; k++)
		print_node(t, kids[k], peak, prefix, k + 1 == nk, width);
	free(kids);
}

static void print_node(const struct calltree *t, size_t i, uint64_t peak, struct strbuf *prefix, int is_last,
		       int width)
{
	const struct calltree_node *nd = &t->nodes[i];
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
	struct calltree t = { 0 };
	struct reading rd;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (is_help(arg)) {
			fputs(tree_usage, stdout);
			return 0;
		} else if (!strcmp(arg, "--partial")) {
			partial = 1;
		} else if (!strcmp(arg, "-b") || !strcmp(arg, "--biggest-allocs")) {
			if ((ret = count_arg("tree", arg, i + 1 < argc ? argv[++i] : "", &biggest)))
				return ret;
		} else if ((ret = reading_arg("tree", arg, &path))) {
			return ret;
		}
	}
	ret = reading_open(&rd, "tree", path, partial);
	if (ret)
		return ret;
	width = terminal_width();
	if (calltree_build(&t, &rd.a, rd.sym, CALLTREE_PEAK, biggest, 0) < 0) {
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
	calltree_release(&t);
	reading_close(&rd);
	return ret;
}
