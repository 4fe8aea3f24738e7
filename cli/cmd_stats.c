/*
 * cli/cmd_stats: `memray stats`, the high-level figures of a capture
 * (report/stats) on stdout or in a file.
 */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/strbuf.h"
#include "report/stats.h"

static const char stats_usage[] =
	"usage: memray stats [-h] [-n N] [--json] [-o FILE] [-f] [--partial] CAPTURE\n"
	"\n"
	"High-level statistics of the allocations in CAPTURE: totals, the peak, leaks,\n"
	"a size histogram, the allocator mix and the top allocating locations.\n"
	"\n"
	"options:\n"
	"  -n, --num-largest N  how many locations in each top list (default 5; 0: all)\n"
	"  --json               JSON instead of text (keys as the Python tool's stats --json)\n"
	"  -o, --output FILE    write to FILE instead of stdout\n"
	"  -f, --force          overwrite FILE if it exists\n"
	"  --partial            report what comes before damage in the capture\n"
	"\n"
	"A location is the innermost frame outside the C and C++ runtime, as\n"
	"function:file:line. Sizes in the text are binary (KiB = 1024 bytes).\n"
	"\n"
	"exit status: 0 success (a capture cut short by a kill is read with a warning),\n"
	"1 unreadable or damaged capture, or output not written; 2 usage error.\n";

int cmd_stats(int argc, char **argv)
{
	const char *path = NULL, *output = NULL;
	int force = 0, partial = 0, ret, n;
	struct stats_options so = { .limit = 5 };
	struct opt opts[] = {
		OPT_COUNT('n', "num-largest", &so.limit),
		OPT_FLAG(0, "json", &so.json),
		OPT_STRING('o', "output", &output),
		OPT_FLAG('f', "force", &force),
		OPT_FLAG(0, "partial", &partial),
		OPT_END(),
	};
	struct reading rd;
	struct strbuf out = STRBUF_INIT;

	n = options_parse(argc, argv, "stats", stats_usage, opts, 0);
	if (n < 0)
		return n == OPTIONS_HELP ? 0 : EXIT_USAGE;
	if ((ret = reading_path("stats", n, argv, &path)) || (ret = reading_open(&rd, "stats", path, partial, NULL)))
		return ret;
	if (stats_report(&out, &rd.a, rd.sym, rd.r, &so) < 0) {
		error("stats: out of memory");
		ret = EXIT_CAPTURE_ERROR;
	} else {
		ret = output_write_or_stdout("stats", output, force, &out);
	}
	strbuf_release(&out);
	reading_close(&rd);
	return ret;
}
