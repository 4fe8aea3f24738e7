/*
 * cli/cmd_transform: `memray transform csv`, the allocations live at the peak
 * (or leaked) in a form other tools read: one CSV row per (stack,
 * allocator) with its bytes, count and whole stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/reader.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/strbuf.h"

static const char transform_usage[] =
	"usage: memray transform [-h] [-o FILE] [-f] [--leaks] [--partial] csv CAPTURE\n"
	"\n"
	"Write what was live at the peak (or, with --leaks, at exit) as CSV, one row per\n"
	"stack and allocator: allocator,num_allocations,size,stack_trace, where the\n"
	"stack trace lists function;file;line frames, innermost first, separated by |.\n"
	"Fields with commas, quotes or newlines are quoted as RFC 4180 says.\n"
	"\n"
	"options:\n"
	"  -o, --output FILE  the file (default: memray-csv-CAPTURE.csv next to CAPTURE)\n"
	"  -f, --force        overwrite FILE if it exists\n"
	"  --leaks            leaks instead of the peak\n"
	"  --partial          report what comes before damage in the capture\n"
	"\n"
	"exit status: 0 success, 1 unreadable capture or output not written, 2 usage error.\n";

#define MAX_FRAMES 4096

static void csv_field(struct strbuf *out, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		strbuf_addstr(out, s);
		return;
	}
	strbuf_addch(out, '"');
	for (; *s; s++) {
		if (*s == '"')
			strbuf_addch(out, '"');
		strbuf_addch(out, *s);
	}
	strbuf_addch(out, '"');
}

static void write_csv(struct strbuf *out, struct reading *rd, int leaks)
{
	static struct sym_frame frames[MAX_FRAMES];
	struct strbuf stack = STRBUF_INIT;

	strbuf_addstr(out, "allocator,num_allocations,size,stack_trace\r\n");
	for (size_t i = 0; i < rd->a.nentries; i++) {
		const struct analysis_entry *e = &rd->a.entries[i];
		uint64_t bytes = leaks ? e->leak_bytes : e->peak_bytes, count = leaks ? e->leak_count : e->peak_count;
		int n;

		if (!bytes && !count)
			continue;
		n = analysis_frames(&rd->a, rd->sym, e->stack, frames, MAX_FRAMES);
		strbuf_reset(&stack);
		for (int k = 0; k < n; k++)
			strbuf_addf(&stack, "%s%s;%s;%u", k ? "|" : "", frames[k].function,
				    frames[k].file ? frames[k].file : frames[k].module, frames[k].line);
		strbuf_addf(out, "%s,%llu,%llu,", capture_allocator_name(e->kind), (unsigned long long)count,
			    (unsigned long long)bytes);
		csv_field(out, stack.buf);
		strbuf_addstr(out, "\r\n");
	}
	strbuf_release(&stack);
}

int cmd_transform(int argc, char **argv)
{
	const char *path = NULL, *output = NULL, *format = NULL;
	int force = 0, partial = 0, leaks = 0, ret;
	struct strbuf csv = STRBUF_INIT, name = STRBUF_INIT;
	struct reading rd;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (is_help(arg)) {
			fputs(transform_usage, stdout);
			return 0;
		} else if (!strcmp(arg, "-f") || !strcmp(arg, "--force")) {
			force = 1;
		} else if (!strcmp(arg, "--leaks")) {
			leaks = 1;
		} else if (!strcmp(arg, "--partial")) {
			partial = 1;
		} else if (!strcmp(arg, "-o") || !strcmp(arg, "--output")) {
			if (i + 1 == argc) {
				error("transform: %s needs a file name (see 'memray transform --help')", arg);
				return EXIT_USAGE;
			}
			output = argv[++i];
		} else if (!format && arg[0] != '-') {
			format = arg;
		} else if ((ret = reading_arg("transform", arg, &path))) {
			return ret;
		}
	}
	if (!format || strcmp(format, "csv")) {
		error("transform: the format must be csv%s%s (see 'memray transform --help')",
		      format ? ", not " : "", format ? format : "");
		return EXIT_USAGE;
	}
	if (path && !output) {
		output_default(&name, path, "csv", "csv");
		output = name.buf;
	}
	if (path && (ret = output_check(output, force))) {
		strbuf_release(&name);
		return ret;
	}
	ret = reading_open(&rd, "transform", path, partial);
	if (ret) {
		strbuf_release(&name);
		return ret;
	}
	write_csv(&csv, &rd, leaks);
	ret = output_write(output, force, &csv);
	if (!ret)
		fprintf(stderr, "memray: wrote %s\n", output);
	strbuf_release(&csv);
	strbuf_release(&name);
	reading_close(&rd);
	return ret;
}
