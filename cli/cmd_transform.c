/*
 * cli/cmd_transform: `memray transform csv|gprof2dot|speedscope`, what was
 * live at the peak (or leaked) for other tools (report/transform), written
 * next to the capture unless -o says where.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "report/transform.h"

static const char transform_usage[] =
	"usage: memray transform [-h] [-o FILE] [-f] [--leaks] [--partial] FORMAT CAPTURE\n"
	"\n"
	"Write what was live at the peak (or, with --leaks, at exit) for other tools.\n"
	"FORMAT is one of:\n"
	"  csv         one row per stack and allocator: allocator,num_allocations,size,\n"
	"              stack_trace, the stack as function;file;line frames, innermost\n"
	"              first, separated by |; quoted as RFC 4180 says\n"
	"  gprof2dot   JSON for `gprof2dot -f json` (a call graph weighted by bytes)\n"
	"  speedscope  a sampled profile weighted by bytes, for the speedscope viewer\n"
	"\n"
	"options:\n"
	"  -o, --output FILE  the file (default: memray-FORMAT-CAPTURE.csv or .json\n"
	"                     next to CAPTURE, without its .bin)\n"
	"  -f, --force        overwrite FILE if it exists\n"
	"  --leaks            leaks instead of the peak\n"
	"  --partial          report what comes before damage in the capture\n"
	"\n"
	"exit status: 0 success, 1 unreadable capture or output not written, 2 usage error.\n";

int cmd_transform(int argc, char **argv)
{
	const char *path = NULL, *output = NULL, *format;
	int force = 0, partial = 0, leaks = 0, ret, n;
	struct transform_options to = { TRANSFORM_CSV, FIGURE_PEAK };
	struct opt opts[] = {
		OPT_STRING('o', "output", &output),
		OPT_FLAG('f', "force", &force),
		OPT_FLAG(0, "leaks", &leaks),
		OPT_FLAG(0, "partial", &partial),
		OPT_END(),
	};
	struct strbuf data = STRBUF_INIT, name = STRBUF_INIT;
	struct reading rd;

	n = options_parse(argc, argv, "transform", transform_usage, opts, 0);
	if (n < 0)
		return n == OPTIONS_HELP ? 0 : EXIT_USAGE;
	format = n ? argv[0] : NULL;
	if (!format || transform_format_parse(format, &to.format) < 0) {
		error("transform: the format must be csv, gprof2dot or speedscope%s%s (see 'memray transform --help')",
		      format ? ", not " : "", format ? format : "");
		return EXIT_USAGE;
	}
	to.fig = leaks ? FIGURE_LEAKS : FIGURE_PEAK;
	if ((ret = reading_path("transform", n - 1, argv + 1, &path)))
		return ret;
	if (path && !output) {
		output_default(&name, path, format, to.format == TRANSFORM_CSV ? "csv" : "json");
		output = name.buf;
	}
	if ((path && (ret = output_check(output, force))) ||
	    (ret = reading_open(&rd, "transform", path, partial, NULL)))
		goto out;
	if (transform_report(&data, &rd.a, rd.sym, &to) < 0) {
		error("transform: out of memory");
		ret = EXIT_CAPTURE_ERROR;
	} else if (!(ret = output_write(output, force, &data))) {
		fprintf(stderr, "memray: wrote %s\n", output);
	}
	reading_close(&rd);
out:
	strbuf_release(&data);
	strbuf_release(&name);
	return ret;
}
