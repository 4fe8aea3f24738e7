/*
 * cli/options: the one option parser of every `memray` command.
 *
 * A command describes its options in an array ending with OPT_END() and
 * hands its arguments (argv[0] is the verb) to options_parse(), which
 * treats every command alike:
 * - `-h` and `--help` print the command's usage text and stop;
 * - `-x`, `--long`: a flag; `-x VALUE`, `--long VALUE`, `--long=VALUE`:
 *   an option with a value (the next argument, whatever it is);
 * - a value missing at the end of the arguments, a value given to a flag
 *   and an unknown option are one-line errors naming the command;
 * - `--` ends the options: what follows is positional, untouched;
 * - `-` alone and anything not starting with '-' is positional.
 * With OPTIONS_STOP_AT_ARG (`run`, `check`), the first positional ends the
 * options too: a program's own flags are its own. An OPT_STOP option
 * (`run -m MODULE`) ends them as well and is itself the first positional,
 * with its value after it.
 *
 * Ownership: nothing is allocated; values point into argv.
 */
#ifndef CLI_OPTIONS_H
#define CLI_OPTIONS_H

#include <stddef.h>

enum opt_kind {
	OPT_KIND_END,
	OPT_KIND_FLAG,		/* int *value = 1 */
	OPT_KIND_SET_BIT,	/* unsigned *value |= bit */
	OPT_KIND_CLEAR_BIT,	/* unsigned *value &= ~bit */
	OPT_KIND_STRING,	/* const char **value = the value */
	OPT_KIND_COUNT,		/* size_t *value = a whole number */
	OPT_KIND_CALLBACK,	/* cb(opt, value, cmd): 0, or -1 after its own message */
	OPT_KIND_STOP,		/* takes a value; ends the options (see above) */
};

struct opt {
	enum opt_kind kind;
	char short_name;	/* 0: none */
	const char *long_name;	/* without the dashes; NULL: none */
	void *value;
	int (*cb)(const struct opt *o, const char *arg, const char *cmd);
	int takes_value;	/* for callbacks: 1 a value; OPT_VALUE_OPTIONAL only as --name=VALUE */
	unsigned bit;		/* for the bit kinds */
};

#define OPT_END() { OPT_KIND_END, 0, NULL, NULL, NULL, 0, 0 }
#define OPT_FLAG(s, l, v) { OPT_KIND_FLAG, (s), (l), (v), NULL, 0, 0 }
#define OPT_SET_BIT(s, l, v, b) { OPT_KIND_SET_BIT, (s), (l), (v), NULL, 0, (b) }
#define OPT_CLEAR_BIT(s, l, v, b) { OPT_KIND_CLEAR_BIT, (s), (l), (v), NULL, 0, (b) }
#define OPT_STRING(s, l, v) { OPT_KIND_STRING, (s), (l), (v), NULL, 1, 0 }
#define OPT_COUNT(s, l, v) { OPT_KIND_COUNT, (s), (l), (v), NULL, 1, 0 }
#define OPT_CALLBACK(s, l, v, cb) { OPT_KIND_CALLBACK, (s), (l), (v), (cb), 1, 0 }
#define OPT_CALLBACK_FLAG(s, l, v, cb) { OPT_KIND_CALLBACK, (s), (l), (v), (cb), 0, 0 }
/* --name or --name=VALUE: cb gets NULL or the value */
#define OPT_VALUE_OPTIONAL 2
#define OPT_CALLBACK_OPTIONAL(l, v, cb) { OPT_KIND_CALLBACK, 0, (l), (v), (cb), OPT_VALUE_OPTIONAL, 0 }
#define OPT_STOP(s, l) { OPT_KIND_STOP, (s), (l), NULL, NULL, 1, 0 }

#define OPTIONS_STOP_AT_ARG 1

/* what options_parse() returns after printing the usage for --help */
#define OPTIONS_HELP (-2)

/*
 * Parse argv[1..argc) of command `cmd` by `opts`; `usage` is printed for
 * --help (NULL: the caller prints it on OPTIONS_HELP). The positional
 * arguments are moved to argv[0..n) in order and argv[n] set to NULL.
 * Returns n, OPTIONS_HELP, or -1 after a one-line error (exit 2).
 */
int options_parse(int argc, char **argv, const char *cmd, const char *usage, const struct opt *opts,
		  unsigned flags);

#endif
