/*
 * cli/cmd_html: the two HTML reporters, `memray flamegraph` and `memray
 * table`, one self-contained file each of what was live at the peak (or
 * leaked). They take the same options, so one function serves both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/reader.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "report/html.h"
#include <stdint.h>

/* what both commands' help says alike */
#define VIEW_OPTIONS \
	"  -f, --force        overwrite FILE if it exists\n" \
	"  --leaks            show leaks instead of the peak\n" \
	"  --temporary-allocations\n" \
	"                     show allocations freed soon after they were made instead\n" \
	"  --temporary-allocation-threshold N\n" \
	"                     'soon': before N more allocations (default 1: before any\n" \
	"                     other); implies --temporary-allocations\n"

#define USAGE_TAIL \
	"  --partial          report what comes before damage in the capture\n" \
	"\n" \
	"exit status: 0 success, 1 unreadable capture or output not written, 2 usage error.\n"

static const char flamegraph_usage[] =
	"usage: memray flamegraph [-h] [-o FILE] [-f] [--leaks | --temporary-allocations]\n"
	"                         [--temporary-allocation-threshold N] [--split-threads] [--inverted]\n"
	"                         [--temporal] [--partial] CAPTURE\n"
	"\n"
	"Write a flame graph of the memory live at the peak (or, with --leaks, still\n"
	"live at exit) as one HTML file that works offline: search, zoom by clicking,\n"
	"and bytes and allocation counts on hover. Frames smaller than 0.1% of the\n"
	"total are merged, and the page says how many. Above it, a chart of the live\n"
	"heap and the resident set size over time.\n"
	"\n"
	"options:\n"
	"  -o, --output FILE  the HTML file (default: memray-flamegraph-CAPTURE.html\n"
	"                     next to CAPTURE, without its .bin)\n"
	VIEW_OPTIONS
	"  --split-threads    one tree per thread under the root, named by its thread\n"
	"  --temporal         select a time range on the memory chart to see what was\n"
	"                     live at its highest 10 ms sample\n"
	"  --inverted         root the graph at the allocating functions, callers above\n"
	USAGE_TAIL;

static const char table_usage[] =
	"usage: memray table [-h] [-o FILE] [-f] [--leaks | --temporary-allocations]\n"
	"                    [--temporary-allocation-threshold N] [--partial] CAPTURE\n"
	"\n"
	"Write every stack live at the peak (or, with --leaks, at exit) as a table in one\n"
	"HTML file that works offline: location, bytes, allocations and allocator, the\n"
	"whole stack on a click; sort by any column, filter by function or file.\n"
	"\n"
	"options:\n"
	"  -o, --output FILE  the HTML file (default: memray-table-CAPTURE.html\n"
	"                     next to CAPTURE, without its .bin)\n"
	VIEW_OPTIONS
	USAGE_TAIL;

static int html_command(int argc, char **argv, const char *cmd)
{
	int is_table = !strcmp(cmd, "table");
	const char *path = NULL, *output = NULL;
	int force = 0, partial = 0, leaks = 0, inverted = 0, temporary = 0, ret;
	enum html_view view;
	struct strbuf html = STRBUF_INIT, name = STRBUF_INIT, title = STRBUF_INIT;
	struct reading rd;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (is_help(arg)) {
			fputs(is_table ? table_usage : flamegraph_usage, stdout);
			return 0;
		} else if (!strcmp(arg, "-f") || !strcmp(arg, "--force")) {
			force = 1;
		} else if (!strcmp(arg, "--leaks")) {
			leaks = 1;
		} else if (!strcmp(arg, "--temporary-allocations")) {
			temporary = 1;
			if (!reading_options.temporary_within)
				reading_options.temporary_within = 1;
		} else if (!strcmp(arg, "--temporary-allocation-threshold")) {
			char *end;
			const char *v = i + 1 < argc ? argv[++i] : "";

			temporary = 1;
			reading_options.temporary_within = strtoull(v, &end, 10);
			if (!*v || *end || v[0] == '-' || !reading_options.temporary_within) {
				error("%s: --temporary-allocation-threshold takes a number of allocations "
				      "from 1, not '%s'", cmd, v);
				return EXIT_USAGE;
			}
		} else if (!strcmp(arg, "--temporal") && !is_table) {
			reading_options.temporal = 1;
		} else if (!strcmp(arg, "--split-threads") && !is_table) {
			reading_options.split_threads = 1;
		} else if (!strcmp(arg, "--inverted") && !is_table) {
			inverted = 1;
		} else if (!strcmp(arg, "--partial")) {
			partial = 1;
		} else if (!strcmp(arg, "-o") || !strcmp(arg, "--output")) {
			if (i + 1 == argc) {
				error("%s: %s needs a file name (see 'memray %s --help')", cmd, arg, cmd);
				return EXIT_USAGE;
			}
			output = argv[++i];
		} else if ((ret = reading_arg(cmd, arg, &path))) {
			return ret;
		}
	}
	if (leaks && temporary) {
		error("%s: --leaks and --temporary-allocations do not go together", cmd);
		return EXIT_USAGE;
	}
	if (reading_options.temporal && (leaks || temporary || inverted || reading_options.split_threads)) {
		error("%s: --temporal shows the peak of a time range; it does not go with --leaks, "
		      "--temporary-allocations, --split-threads or --inverted", cmd);
		return EXIT_USAGE;
	}
	view = leaks ? HTML_LEAKS : temporary ? HTML_TEMPORARY : HTML_PEAK;
	if (path && !output) {
		output_default(&name, path, cmd, "html");
		output = name.buf;
	}
	if (path && (ret = output_check(output, force))) {
		strbuf_release(&name);
		return ret;
	}
	ret = reading_open(&rd, cmd, path, partial);
	if (ret) {
		strbuf_release(&name);
		return ret;
	}
	for (int i = 0; i < capture_reader_header(rd.r)->argc; i++)
		strbuf_addf(&title, "%s%s", i ? " " : "", capture_reader_header(rd.r)->argv[i]);
	ret = EXIT_CAPTURE_ERROR;
	if ((is_table ? html_table(&html, &rd.a, rd.sym, view, title.buf)
		      : html_flamegraph(&html, &rd.a, rd.sym, view, inverted, title.buf)) < 0) {
		error("%s: out of memory", cmd);
		goto out;
	}
	ret = output_write(output, force, &html);
	if (!ret)
		fprintf(stderr, "memray: wrote %s\n", output);
out:
	strbuf_release(&html);
	strbuf_release(&title);
	strbuf_release(&name);
	reading_close(&rd);
	return ret;
}

int cmd_flamegraph(int argc, char **argv)
{
	return html_command(argc, argv, "flamegraph");
}

int cmd_table(int argc, char **argv)
{
	return html_command(argc, argv, "table");
}
