/*
 * cli/cmd_summary: `memray summary`, the functions live at the peak as a
 * terminal table (report/summary).
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "report/summary.h"

static const char summary_usage[] =
	"usage: memray summary [-h] [-s COLUMN] [-r N] [--partial] CAPTURE\n"
	"\n"
	"The functions that held memory at the peak, one per row: own memory (allocated\n"
	"in the function itself), total memory (allocated in it or anything it called)\n"
	"and the number of allocations. Runtime frames (libc, libstdc++, ...) are left\n"
	"out (and standard library templates); their memory counts as their\n"
	"caller's own. The Own column adds up to the peak: what the rows shown leave out\n"
	"is one last row, \"<other>\".\n"
	"\n"
	"A capture made with 'memray run --reachability' gets a second table: each\n"
	"function's memory leaked at exit, split by the scan's verdict: lost\n"
	"(definitely or indirectly: nothing points at it), possibly lost (only a\n"
	"pointer into its middle), still reachable, and all of it. Lost first.\n"
	"\n"
	"options:\n"
	"  -s, --sort-column COLUMN  own, total or count (default: total)\n"
	"  -r, --max-rows N          rows to show (default 10; 0: all)\n"
	"  --partial                 report what comes before damage in the capture\n"
	"\n"
	"exit status: 0 success, 1 unreadable or damaged capture, 2 usage error.\n";

static int sort_column_arg(const struct opt *o, const char *v, const char *cmd)
{
	static const char *const names[] = { [SUMMARY_TOTAL] = "total", [SUMMARY_OWN] = "own",
					     [SUMMARY_COUNT] = "count" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(v, names[i])) {
			*(enum summary_column *)o->value = (enum summary_column)i;
			return 0;
		}
	}
	return error("%s: -s takes own, total or count, not '%s'", cmd, v);
}

int cmd_summary(int argc, char **argv)
{
	const char *path = NULL;
	int partial = 0, ret, n;
	struct summary_options so = { .sort = SUMMARY_TOTAL, .max_rows = 10 };
	struct opt opts[] = {
		OPT_CALLBACK('s', "sort-column", &so.sort, sort_column_arg),
		OPT_COUNT('r', "max-rows", &so.max_rows),
		OPT_FLAG(0, "partial", &partial),
		OPT_END(),
	};
	struct strbuf out = STRBUF_INIT;
	struct reading rd;

	n = options_parse(argc, argv, "summary", summary_usage, opts, 0);
	if (n < 0)
		return n == OPTIONS_HELP ? 0 : EXIT_USAGE;
	if ((ret = reading_path("summary", n, argv, &path)) ||
	    (ret = reading_open(&rd, "summary", path, partial, NULL)))
		return ret;
	so.width = terminal_width();
	if (summary_report(&out, &rd.a, rd.sym, &so) < 0) {
		error("summary: out of memory");
		ret = EXIT_CAPTURE_ERROR;
	} else {
		ret = output_write_or_stdout("summary", NULL, 0, &out);
	}
	strbuf_release(&out);
	reading_close(&rd);
	return ret;
}
