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
#include "report/htmldiff.h"

/* what both commands' help says alike */
#define VIEW_OPTIONS \
	"  -f, --force        overwrite FILE if it exists\n" \
	"  --leaks            show leaks instead of the peak; with a reachability\n" \
	"                     scan (memray run --reachability), split by verdict,\n" \
	"                     lost first\n" \
	"  --temporary-allocations\n" \
	"                     show allocations freed soon after they were made instead\n" \
	"  --temporary-allocation-threshold N\n" \
	"                     'soon': before N more allocations (default 1: before any\n" \
	"                     other); implies --temporary-allocations\n"

#define USAGE_TAIL \
	"  --diff             compare two captures, BASE HEAD, instead of showing one:\n" \
	"                     stacks matched by frames as in 'memray diff'\n" \
	"  --match frames|function\n" \
	"                     with --diff: match frames by function, file and line\n" \
	"                     (default) or by function name only\n" \
	"  --partial          report what comes before damage in the capture\n" \
	"\n" \
	"exit status: 0 success, 1 unreadable capture or output not written, 2 usage error.\n"

static const char flamegraph_usage[] =
	"usage: memray flamegraph [-h] [-o FILE] [-f] [--leaks | --temporary-allocations]\n"
	"                         [--temporary-allocation-threshold N] [--split-threads] [--inverted]\n"
	"                         [--temporal] [--partial] CAPTURE\n"
	"       memray flamegraph --diff [--match frames|function] [--leaks] [--inverted]\n"
	"                         [-o FILE] [-f] [--partial] BASE HEAD\n"
	"\n"
	"Write a flame graph of the memory live at the peak (or, with --leaks, still\n"
	"live at exit) as one HTML file that works offline: search, zoom by clicking,\n"
	"and bytes and allocation counts on hover. Frames smaller than 0.1% of the\n"
	"total are merged, and the page says how many. Above it, a chart of the live\n"
	"heap and the resident set size over time.\n"
	"\n"
	"With --diff, a differential flame graph of HEAD against BASE: widths are\n"
	"HEAD's, red frames grew, blue ones shrank (deeper for a larger change), and\n"
	"the tooltip gives both figures and the change.\n"
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
	"       memray table --diff [--match frames|function] [--leaks] [-o FILE] [-f]\n"
	"                    [--partial] BASE HEAD\n"
	"\n"
	"Write every stack live at the peak (or, with --leaks, at exit) as a table in one\n"
	"HTML file that works offline: location, bytes, allocations and allocator, the\n"
	"whole stack on a click; sort by any column, filter by function or file.\n"
	"With --diff, every stack that changed from BASE to HEAD, with both figures\n"
	"and the change, sorted by the change (click a column to sort by it).\n"
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
	int force, partial, leaks, inverted, temporary, diff;
	enum diff_match match;
	int has_match;
	struct analysis_options ao;
	int n;		/* positional arguments, at the start of argv */
};

static int match_arg(const struct opt *o, const char *v, const char *cmd)
{
	struct html_args *h = o->value;
	struct opt inner = { .value = &h->match };

	h->has_match = 1;
	return diff_match_arg(&inner, v, cmd);
}

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
		OPT_FLAG(0, "diff", &h->diff),
		OPT_CALLBACK(0, "match", h, match_arg),
		OPT_FLAG(0, "temporal", &h->ao.temporal),	/* the flame graph's own from here */
		OPT_FLAG(0, "split-threads", &h->ao.split_threads),
		OPT_FLAG(0, "inverted", &h->inverted),
		OPT_END(),
	};

	*done = 1;
	if (is_table)
		opts[8] = (struct opt)OPT_END();
	n = options_parse(argc, argv, cmd, is_table ? table_usage : flamegraph_usage, opts, 0);
	if (n < 0)
		return n == OPTIONS_HELP ? 0 : EXIT_USAGE;
	h->n = n;
	if (h->has_match && !h->diff) {
		error("%s: --match goes with --diff", cmd);
		return EXIT_USAGE;
	}
	if (h->diff && (h->temporary || h->ao.temporal || h->ao.split_threads)) {
		error("%s: --diff shows the peak or --leaks; it does not go with --temporary-allocations, "
		      "--temporal or --split-threads", cmd);
		return EXIT_USAGE;
	}
	if (!h->diff && (ret = reading_path(cmd, n, argv, path)))
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

/* the command line a capture ran, space-separated, into title; r NULL: a kept check run */
static void command_of(struct strbuf *title, const struct capture_reader *r)
{
	if (!r) {
		strbuf_addstr(title, "the captures a memray check run kept");
		return;
	}
	for (int i = 0; i < capture_reader_header(r)->argc; i++)
		strbuf_addf(title, "%s%s", i ? " " : "", capture_reader_header(r)->argv[i]);
}

/* flamegraph --diff, table --diff: BASE and HEAD among the positional arguments */
static int diff_command(struct html_args *h, char **args, const char *cmd)
{
	struct strbuf html = STRBUF_INIT, name = STRBUF_INIT, base = STRBUF_INIT, head = STRBUF_INIT;
	enum diff_figure fig = h->leaks ? DIFF_LEAKED : DIFF_PEAK;
	struct htmldiff_titles t;
	struct diff_inputs in;
	int ret;

	if (h->n == 2 && !h->output) {
		strbuf_addf(&base, "%s-diff", cmd);
		output_default(&name, args[1], base.buf, "html");
		h->output = name.buf;
		strbuf_reset(&base);
	}
	if ((h->n == 2 && (ret = output_check(h->output, h->force))) ||
	    (ret = diff_open(&in, cmd, h->n, args, h->match, h->partial))) {
		strbuf_release(&name);
		strbuf_release(&base);
		return ret;
	}
	command_of(&base, in.side[DIFF_BASE].r);
	command_of(&head, in.side[DIFF_HEAD].r);
	t = (struct htmldiff_titles){ in.base_path, in.head_path, base.buf, head.buf };
	ret = EXIT_CAPTURE_ERROR;
	if ((!strcmp(cmd, "table") ? htmldiff_table(&html, &in.d, fig, &t)
				   : htmldiff_flamegraph(&html, &in.d, fig, h->inverted, &t)) < 0)
		error("%s: out of memory", cmd);
	else if (!(ret = output_write(h->output, h->force, &html)))
		fprintf(stderr, "memray: wrote %s\n", h->output);
	diff_close(&in);
	strbuf_release(&html);
	strbuf_release(&name);
	strbuf_release(&base);
	strbuf_release(&head);
	return ret;
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
	if (h.diff)
		return diff_command(&h, argv, cmd);
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
	command_of(&title, rd.r);
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
