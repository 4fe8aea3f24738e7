/*
 * ci/prewarm: opens the command's modules in the symbolizer while the
 * command still runs, so that reading their debug info is not left for
 * after it.
 *
 * Judging a run symbolizes its stacks, and the first frame of a module
 * opens the module's debug info: for Debian's libc (libc6-dbg) that is
 * about 90 ms of zlib, paid by every `memray check` run once the command
 * has ended, when the user waits for nothing else. While a test suite
 * runs, a core is mostly idle (its tests and the tracker's writer thread
 * take about one of this machine's two), so a thread started with the
 * command reads the module list the tracker wrote at the top of the
 * command's capture and looks up one address in each module then.
 *
 * The symbolizer is lent to the thread from ci_prewarm_start() until
 * ci_prewarm_finish() has joined it; the caller uses it afterwards, as
 * before. A module the thread could not reach in time is opened later,
 * on its first frame: prewarming changes when the work is done, never
 * what a lookup returns.
 */
#ifndef CI_PREWARM_H
#define CI_PREWARM_H

#include <pthread.h>

struct symbolizer;

struct ci_prewarm {
	const char *capture;	/* the command's capture file: the caller sets it */
	struct symbolizer *sym;	/* and the symbolizer; NULL: nothing is done */
	pthread_t thread;
	int is_started;
	int is_done;		/* set by ci_prewarm_finish(): give up waiting */
};

/* start the thread on the capture's module list; nothing happens if it cannot be started */
void ci_prewarm_start(struct ci_prewarm *p);
/* stop waiting for the module list and join the thread */
void ci_prewarm_finish(struct ci_prewarm *p);

#endif
