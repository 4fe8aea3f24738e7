/*
 * cli/launch: the parent side of tracking, shared by `memray run` and
 * `memray check` (after git's run-command: fill a struct, call run).
 *
 * launch_run() finds the program (in PATH unless it holds a '/') and the
 * tracker library ($MEMRAY_TRACKER_LIB, next to memray, or ../lib/memray),
 * creates the capture (refusing an existing one unless `force`), forks,
 * and in the child writes the capture header, sets LD_PRELOAD and the
 * variables of the tracker's contract (common/env.h) and execs. The parent
 * only waits: it shares no memory with the program, forwards SIGTERM and
 * SIGHUP to it and ignores SIGINT and SIGQUIT (the terminal sends those to
 * the program) until it ends.
 *
 * Ownership: the struct and its strings are the caller's; launch_run()
 * only fills `ran`.
 */
#ifndef CLI_LAUNCH_H
#define CLI_LAUNCH_H

#include <sys/types.h>

#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127
#define EXIT_RUN_ERROR 1

struct launch {
	char **argv;		/* the program and its arguments, NULL-terminated */
	const char *output;	/* the capture file */
	unsigned flags;		/* CAPTURE_F_*, for the header and the tracker */
	int force;		/* overwrite an existing capture */
	int judges_empty;	/* the caller reads the capture and judges one with no records itself */
	int ran;		/* out: the program ran (it was found and exec'd) */
	/*
	 * Live mode: live_fd is a connected stream socket that takes the
	 * place of the capture file (`output` is then only a label); the
	 * program inherits it (common/env.h ENV_LIVE). With program_output,
	 * the program's stdout and stderr go to that file (created, or
	 * refused if it exists without `force`) and its stdin is /dev/null.
	 * With while_running, the parent calls it once the program runs;
	 * it may reap the program itself (waitpid) and say so in *reaped
	 * with the status in *status.
	 */
	int is_live, live_fd;
	const char *program_output;
	void (*while_running)(void *ctx, pid_t pid, int *status, int *reaped);
	void *ctx;
};

struct strbuf;

/*
 * A program's path: as given if name holds a '/', else the first
 * executable in PATH. 0, or EXIT_NOT_FOUND or EXIT_NOT_EXECUTABLE (no
 * message); path holds the last one tried.
 */
int launch_find_program(const char *name, struct strbuf *path);

/*
 * Run l->argv under the tracker. Returns the program's exit status,
 * 128+N after naming the signal N that killed it, 126 or 127 when it
 * cannot be run, or 1 when the capture cannot be created; memray's own
 * errors are printed.
 */
int launch_run(struct launch *l);

#endif
