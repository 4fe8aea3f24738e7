/*
 * cli/main: the `memray` command; dispatches to cmd_<verb>().
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

#define MEMRAY_VERSION "0.1.0"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "run", cmd_run, "run a program under the tracker and write a capture file" },
	{ "stats", cmd_stats, "high-level statistics of a capture (text or --json)" },
	{ "parse", cmd_parse, "print every record of a capture, one per line" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: memray [-h] [--version] COMMAND [ARGS]\n\n"
		     "Memory profiler for native programs on Linux.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n`memray COMMAND --help` tells more about each command.\n"
		     "Exit status: 0 success, 1 unreadable capture, 2 usage error;\n"
		     "`memray run` exits with the status of the program it ran.\n");
}

int is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

int main(int argc, char **argv)
{
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
