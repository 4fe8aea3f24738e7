/*
 * cli/main: the `memray` command; dispatches to cmd_<verb>().
 */
#include <stdio.h>
#include <string.h>

#include "common/error.h"

#include "cli/commands.h"

#define MEMRAY_VERSION "0.1.0"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;	/* NULL: not listed in the usage */
};

static const struct command commands[] = {
	{ "run", cmd_run, "run a program under the tracker and write a capture file" },
	{ "live", cmd_live, "watch the memory of a program started with run --live-remote, as it runs" },
	{ "check", cmd_check, "run a command and fail when its memory exceeds a budget (CI)" },
	{ "stats", cmd_stats, "high-level statistics of a capture (text or --json)" },
	{ "flamegraph", cmd_flamegraph, "an HTML flame graph of the peak (or --leaks), self-contained" },
	{ "table", cmd_table, "an HTML table of the peak's (or --leaks') stacks, sortable" },
	{ "summary", cmd_summary, "functions holding memory at the peak, as a terminal table" },
	{ "tree", cmd_tree, "the biggest stacks at the peak, as a terminal call tree" },
	{ "transform", cmd_transform, "the peak's (or --leaks') stacks as CSV for other tools" },
	{ "diff", cmd_diff, "compare two captures, base and head, stack by stack" },
	{ "parse", cmd_parse, "print every record of a capture, one per line" },
	{ "window", cmd_window, NULL },	/* hidden: for memray check's pytest plugin */
};

static void usage(FILE *out)
{
	fprintf(out, "usage: memray [-h] [--version] [-v...] COMMAND [ARGS]\n\n"
		     "Memory profiler for native programs on Linux.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].summary)
			fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n`memray COMMAND --help` tells more about each command. -v (up to -vvv,\n"
		     "before or after COMMAND) makes memray say more about what it does.\n"
		     "Exit status: 0 success, 1 unreadable capture, 2 usage error;\n"
		     "`memray run` exits with the status of the program it ran.\n");
}

int is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

/*
 * Take -v, -vv, -vvv and --verbose out of argv, before or after the
 * command, but never after `--` (check's command is its own) nor, for
 * `run`, after the program, whose arguments are its own.
 */
static int take_verbosity(int argc, char **argv)
{
	int out = 1, is_run = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			while (i < argc)	/* `--` and all after it */
				argv[out++] = argv[i++];
			break;
		}
		if (!strcmp(a, "--verbose")) {
			verbosity++;
			continue;
		}
		if (a[0] == '-' && a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)) {
			verbosity += (int)strlen(a + 1);
			continue;
		}
		argv[out++] = argv[i];
		if (out == 2) {
			is_run = !strcmp(a, "run");
			continue;
		}
		if (is_run && a[0] != '-' && strcmp(argv[out - 2], "-o") &&
		    strcmp(argv[out - 2], "--output")) {
			while (++i < argc)	/* the program and its arguments */
				argv[out++] = argv[i];
			break;
		}
	}
	argv[out] = NULL;
	if (verbosity > 3)
		verbosity = 3;
	return out;
}

int main(int argc, char **argv)
{
	argc = take_verbosity(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (is_help(argv[1])) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("memray %s\n", MEMRAY_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "memray: error: unknown command '%s' (see 'memray --help')\n", argv[1]);
	return EXIT_USAGE;
}
