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
#include "cli/options.h"
#include "report/html.h"

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

static int threshold_arg(const struct opt *o, const char *v, const char *cmd)
{
	struct analysis_options *ao = o->value;
	char *end;

	ao->temporary_within = strtoull(v, &end, 10);
	if (!*v || *end || v[0] == '-' || !ao->temporary_within)
		return error("%s: --temporary-allocation-threshold takes a number of allocations from 1, not '%s'",
			     cmd, v);
	return 0;
}

struct html_args {
	const char *output;
	int force, partial, leaks, inverted, temporary;
	struct analysis_options ao;
};

/* 0 with h filled, or an exit status (0 after --help) with *done set */
static int parse(int argc, char **argv, const char *cmd, struct html_args *h, const char **path, int *done)
{
	int is_table = !strcmp(cmd, "table"), n, ret;
	struct opt opts[] = {
		OPT_STRING('o', "output", &h->output),
		OPT_FLAG('f', "force", &h->force),
		OPT_FLAG(0, "leaks", &h->leaks),
		OPT_FLAG(0, "temporary-allocations", &h->temporary),
		OPT_CALLBACK(0, "temporary-allocation-threshold", &h->ao, threshold_arg),
		OPT_FLAG(0, "partial", &h->partial),
		OPT_FLAG(0, "temporal", &h->ao.temporal),	/* the flame graph's own from here */
		OPT_FLAG(0, "split-threads", &h->ao.split_threads),
		OPT_FLAG(0, "inverted", &h->inverted),
		OPT_END(),
	};

	*done = 1;
	if (is_table)
		opts[6] = (struct opt)OPT_END();
	n = options_parse(argc, argv, cmd, is_table ? table_usage : flamegraph_usage, opts, 0);
	if (n < 0)
		return n == OPTIONS_HELP ? 0 : EXIT_USAGE;
	if ((ret = reading_path(cmd, n, argv, path)))
		return ret;
	if (h->ao.temporary_within)
		h->temporary = 1;
	else if (h->temporary)
		h->ao.temporary_within = 1;
	if (h->leaks && h->temporary) {
		error("%s: --leaks and --temporary-allocations do not go together", cmd);
		return EXIT_USAGE;
	}
	if (h->ao.temporal && (h->leaks || h->temporary || h->inverted || h->ao.split_threads)) {
		error("%s: --temporal shows the peak of a time range; it does not go with --leaks, "
		      "--temporary-allocations, --split-threads or --inverted", cmd);
		return EXIT_USAGE;
	}
	*done = 0;
	return 0;
}

static int html_command(int argc, char **argv, const char *cmd)
{
	struct html_args h = { 0 };
	const char *path = NULL;
	enum figure fig;
	struct strbuf html = STRBUF_INIT, name = STRBUF_INIT, title = STRBUF_INIT;
	struct reading rd;
	int ret, done;

	ret = parse(argc, argv, cmd, &h, &path, &done);
	if (done)
		return ret;
	fig = h.leaks ? FIGURE_LEAKS : h.temporary ? FIGURE_TEMPORARY : FIGURE_PEAK;
	if (path && !h.output) {
		output_default(&name, path, cmd, "html");
		h.output = name.buf;
	}
	if ((path && (ret = output_check(h.output, h.force))) ||
	    (ret = reading_open(&rd, cmd, path, h.partial, &h.ao))) {
		strbuf_release(&name);
		return ret;
	}
	for (int i = 0; i < capture_reader_header(rd.r)->argc; i++)
		strbuf_addf(&title, "%s%s", i ? " " : "", capture_reader_header(rd.r)->argv[i]);
	ret = EXIT_CAPTURE_ERROR;
	if ((!strcmp(cmd, "table") ? html_table(&html, &rd.a, rd.sym, fig, title.buf)
				   : html_flamegraph(&html, &rd.a, rd.sym, fig, h.inverted, title.buf)) < 0) {
		error("%s: out of memory", cmd);
		goto out;
	}
	ret = output_write(h.output, h.force, &html);
	if (!ret)
		fprintf(stderr, "memray: wrote %s\n", h.output);
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
