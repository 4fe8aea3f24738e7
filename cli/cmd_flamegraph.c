/*
 * cli/cmd_flamegraph: `memray flamegraph`, one self-contained HTML file
 * with the flame graph of what was live at the peak (or leaked).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/reader.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "report/html.h"

static const char flamegraph_usage[] =
	"usage: memray flamegraph [-h] [-o FILE] [-f] [--leaks] [--inverted] [--partial] CAPTURE\n"
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
	"  -f, --force        overwrite FILE if it exists\n"
	"  --leaks            show leaks instead of the peak\n"
	"  --inverted         root the graph at the allocating functions, callers above\n"
	"  --partial          report what comes before damage in the capture\n"
	"\n"
	"exit status: 0 success, 1 unreadable capture or output not written, 2 usage error.\n";

int cmd_flamegraph(int argc, char **argv)
{
	const char *path = NULL, *output = NULL;
	int force = 0, partial = 0, leaks = 0, inverted = 0, ret;
	struct strbuf html = STRBUF_INIT, name = STRBUF_INIT, title = STRBUF_INIT;
	struct reading rd;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (is_help(arg)) {
			fputs(flamegraph_usage, stdout);
			return 0;
		} else if (!strcmp(arg, "-f") || !strcmp(arg, "--force")) {
			force = 1;
		} else if (!strcmp(arg, "--leaks")) {
			leaks = 1;
		} else if (!strcmp(arg, "--inverted")) {
			inverted = 1;
		} else if (!strcmp(arg, "--partial")) {
			partial = 1;
		} else if (!strcmp(arg, "-o") || !strcmp(arg, "--output")) {
			if (i + 1 == argc) {
				error("flamegraph: %s needs a file name (see 'memray flamegraph --help')", arg);
				return EXIT_USAGE;
			}
			output = argv[++i];
		} else if ((ret = reading_arg("flamegraph", arg, &path))) {
			return ret;
		}
	}
	if (path && !output) {
		output_default(&name, path, "flamegraph", "html");
		output = name.buf;
	}
	if (path && (ret = output_check(output, force))) {
		strbuf_release(&name);
		return ret;
	}
	ret = reading_open(&rd, "flamegraph", path, partial);
	if (ret) {
		strbuf_release(&name);
		return ret;
	}
	for (int i = 0; i < capture_reader_header(rd.r)->argc; i++)
		strbuf_addf(&title, "%s%s", i ? " " : "", capture_reader_header(rd.r)->argv[i]);
	ret = EXIT_CAPTURE_ERROR;
	if (html_flamegraph(&html, &rd.a, rd.sym, leaks ? HTML_LEAKS : HTML_PEAK, inverted, title.buf) < 0) {
		error("flamegraph: out of memory");
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
