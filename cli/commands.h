/*
 * cli/commands: one function per `memray` verb, each in cli/cmd_<name>.c.
 *
 * A command gets the arguments after the verb (argv[0] is the verb) and
 * returns the process exit status. Exit statuses shared by every command:
 * 0 success, 1 the capture could not be read (or a rule failed, for
 * check), 2 a usage error. `run` returns the tracked program's status.
 */
#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H

#include "report/analysis.h"
#include "report/diff.h"

#define EXIT_CAPTURE_ERROR 1
#define EXIT_USAGE 2

int cmd_run(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_parse(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_tree(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);
int cmd_table(int argc, char **argv);
int cmd_transform(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_window(int argc, char **argv);	/* hidden: the last test window as JSON */
int cmd_live(int argc, char **argv);

/* `run --live` and `run --live-remote` (cli/cmd_live.c) */
struct launch;
struct run_live_options {
	int is_remote;		/* --live-remote: wait for `memray live PORT`; else the view here */
	const char *port;	/* --live-port, or NULL: any free port */
	const char *tee;	/* -o with --live: the capture file, or NULL */
};
/* launch l (its argv, flags, force) live: the program's exit status, or 1 or 2 after a message */
int run_live(struct launch *l, const struct run_live_options *o);

/* true if arg is -h or --help */
int is_help(const char *arg);

struct capture_reader;
/*
 * Say how a capture ended, once: nothing when complete, a warning when it
 * was cut short (exit 0), an error when damaged (exit 1, or a warning and
 * 0 with `partial`). Returns the exit status.
 */
int report_capture_status(const struct capture_reader *r, int partial);

/* a capture opened, analysed and ready to symbolize (cli/reading.c) */
struct reading {
	struct capture_reader *r;
	struct analysis a;
	struct symbolizer *sym;
};

/*
 * The capture among a command's n positional arguments (options_parse):
 * 0 with *path set (NULL when there is none: reading_open() says so), or
 * EXIT_USAGE after an error when there are more.
 */
int reading_path(const char *cmd, int n, char **args, const char **path);
/*
 * Open path, analyse it with opts (NULL: the defaults; its progress
 * callback is reading's own) and report how it ended: 0 with rd ready, or
 * the exit status after a message (rd is then closed already).
 */
int reading_open(struct reading *rd, const char *cmd, const char *path, int partial,
		 const struct analysis_options *opts);
void reading_close(struct reading *rd);

/* two captures read and diffed (cli/cmd_diff.c), for diff, flamegraph --diff and table --diff */
struct diff_inputs {
	const char *base_path, *head_path;	/* borrowed from argv */
	struct reading side[2];	/* by enum diff_side */
	struct diff d;		/* its frames borrow the readings' symbolizers */
	int is_open;
};

/*
 * Take BASE and HEAD among a command's n positional arguments, read both
 * and diff them by `match`: 0 with in ready, or the exit status after a
 * message (in is then closed already).
 */
int diff_open(struct diff_inputs *in, const char *cmd, int n, char **args, enum diff_match match, int partial);
void diff_close(struct diff_inputs *in);
struct opt;
/* an option callback: `--match frames|function` into an enum diff_match */
int diff_match_arg(const struct opt *o, const char *v, const char *cmd);

/* the terminal's width when stdout is one (40 columns at least), else 0 */
int terminal_width(void);
/* a whole number for option opt: 0, or EXIT_USAGE after an error */
int count_arg(const char *cmd, const char *opt, const char *value, size_t *out);

struct strbuf;
/* "<capture's dir>/memray-<kind>-<capture name without .bin>.<ext>" */
void output_default(struct strbuf *name, const char *capture, const char *kind, const char *ext);
/* 0, or EXIT_CAPTURE_ERROR after an error if path exists and !force */
int output_check(const char *path, int force);
/* write data to path (never over an existing file without force): 0 or EXIT_CAPTURE_ERROR */
int output_write(const char *path, int force, const struct strbuf *data);
/* write data to path as output_write(), or to stdout when path is NULL: 0 or EXIT_CAPTURE_ERROR */
int output_write_or_stdout(const char *cmd, const char *path, int force, const struct strbuf *data);

#endif
