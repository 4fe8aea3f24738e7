/*
 * live/tui: the terminal view of a live session (ncurses), as the Python
 * tool's `memray live` shows it: the locations holding live memory now
 * (own bytes, total bytes through them, live allocations; the summary
 * report's table, report/summary.h), sortable; a thread selector; the
 * heap and the resident set size over the whole run as a small chart; the
 * heap now and the peak so far in exact bytes; pause (the view freezes,
 * the stream is still read so the program never waits on us); and how the
 * program ended, kept on screen until the user quits.
 *
 * Keys: q (or Ctrl-C) quit, p or space pause/resume, o t a sort by own,
 * total, allocations, < > (or the arrow keys) previous/next thread (the
 * first position is all threads). Fits 80x24 and redraws on resize;
 * colour only where the terminal has it and NO_COLOR is unset or empty.
 * Names from the program are escaped (utf8_add_printable): a function
 * name cannot send escape sequences to the terminal.
 */
#ifndef LIVE_TUI_H
#define LIVE_TUI_H

#include <sys/types.h>

#include "live/session.h"

struct live_tui {
	const char *title;	/* the program, or "127.0.0.1:PORT" */
	pid_t child;		/* `run --live`: the program, reaped here (status in the session); else 0 */
	const char *program_output;	/* `run --live`: where its stderr (and the tracker's lines) go */
};

/*
 * Show the session until the user quits. Stdin and stdout must be a
 * terminal. 0; the signal number when SIGTERM, SIGHUP or SIGINT ended the view
 * (the terminal is restored; the caller finishes its work, then dies of
 * it with live_tui_die()); or -1 after a message (out of memory, no
 * terminal).
 */
int live_tui_run(struct live_session *s, const struct live_tui *t);

/* end the process by signal `sig` with its default action, as it was sent */
void live_tui_die(int sig);

#endif
