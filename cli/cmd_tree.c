/*
 * cli/cmd_tree: `memray tree`, the biggest stacks live at the peak as a
 * call tree in the terminal (report/tree).
 */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "report/tree.h"

static const char tree_usage[] =
	"usage: memray tree [-h] [-b N] [--partial] CAPTURE\n"
	"\n"
	"The N biggest stacks holding memory at the peak, merged into a call tree with\n"
	"the bytes and share of the peak under each function. Frames of the C and C++\n"
	"runtime (libc, libstdc++, the loader, standard library templates) are left out.\n"
	"The stacks beyond the N biggest are one \"<K other stacks>\" row under the root,\n"
	"so the root's rows add up to the whole peak.\n"
	"\n"
	"options:\n"
	"  -b, --biggest-allocs N  how many stacks (default 10; 0: all)\n"
	"  --partial               report what comes before damage in the capture\n"
	"\n"
	"exit status: 0 success, 1 unreadable or damaged capture, 2 usage error.\n";

int cmd_tree(int argc, char **argv)
{
	const char *path = NULL;
	int partial = 0, ret, n;
	struct tree_options to = { .biggest = 10 };
	struct opt opts[] = {
		OPT_COUNT('b', "biggest-allocs", &to.biggest),
		OPT_FLAG(0, "partial", &partial),
		OPT_END(),
	};
	struct strbuf out = STRBUF_INIT;
	struct reading rd;

	n = options_parse(argc, argv, "tree", tree_usage, opts, 0);
	if (n < 0)
		return n == OPTIONS_HELP ? 0 : EXIT_USAGE;
	if ((ret = reading_path("tree", n, argv, &path)) || (ret = reading_open(&rd, "tree", path, partial, NULL)))
		return ret;
	to.width = terminal_width();
	if (tree_report(&out, &rd.a, rd.sym, &to) < 0) {
		error("tree: out of memory");
		ret = EXIT_CAPTURE_ERROR;
	} else {
		ret = output_write_or_stdout("tree", NULL, 0, &out);
	}
	strbuf_release(&out);
	reading_close(&rd);
	return ret;
}
