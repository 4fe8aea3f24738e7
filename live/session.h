/*
 * live/session: the data side of a live view. It reads a capture as it
 * arrives on a socket (capture_reader_stream), copies every byte to a file
 * when asked (`-o`: the session can be reported later, since the bytes
 * are a capture file), runs the one analysis pass over it as the records
 * come (analysis_begin/feed/end), and keeps, as an observer of that pass,
 * the heap as it is now: live bytes and allocations per (stack, thread).
 *
 * Reading never blocks: live_session_pump() takes what the socket has
 * (at most a few MiB per call, so the view stays responsive) and returns.
 * The stream may end whole (the program's END arrived), cut short (the
 * program was killed, or the tracker stopped: too slow a reader), or be
 * damaged; live_session_problem() then says which, in one line.
 *
 * Ownership: the session owns the socket, the tee file, the reader, the
 * analysis and the symbolizer; live_session_release() frees them all.
 */
#ifndef LIVE_SESSION_H
#define LIVE_SESSION_H

#include <stdint.h>
#include <sys/types.h>

#include "capture/heapmodel.h"
#include "capture/reader.h"
#include "report/analysis.h"
#include "report/symbols.h"

struct live_session {
	const char *name;		/* "127.0.0.1:PORT" or "PROGRAM": for messages; borrowed */
	int fd;				/* the stream; -1 once it ended */
	int tee_fd;			/* -o FILE, or -1 */
	const char *tee_path;
	struct capture_reader *r;
	struct analysis a;
	int has_begun;			/* the analysis runs (the header arrived) */
	int has_ended;			/* the stream ended; the analysis is complete */
	int saw_end;			/* the program's END record arrived */
	struct heapmodel *hm;		/* live now, per (stack, allocator, thread) */
	uint64_t bytes_in;		/* received so far */
	struct symbolizer *sym;
	struct analysis_observer obs;	/* the heap above, kept by the pass */
	/* filled by whoever knows: `run --live` reaps the program */
	int has_exit_status;
	int exit_status;		/* as waitpid gives it */
	char problem[600];		/* the one line on how the stream ended, if not whole */
};

/*
 * A session with no stream yet; tee_path (may be NULL) is created now,
 * refused if it exists unless `force`, so a bad -o is said before any
 * program is reached. 0, or -1 after a message (release it either way).
 */
int live_session_init(struct live_session *s, const char *name, const char *tee_path, int force);
/* take over the stream fd (made non-blocking): 0, or -1 after a message */
int live_session_attach(struct live_session *s, int fd);
void live_session_release(struct live_session *s);

/*
 * Read what the socket has and run the analysis over it. Returns 2 if it
 * stopped at its quota with more perhaps waiting (call again at once), 1
 * if anything changed, 0 if not, -1 after a message on an error of ours
 * (out of memory, the tee file); the stream's own end or damage is no
 * error: has_ended and problem tell.
 */
int live_session_pump(struct live_session *s);

/* one line on how the stream ended, or NULL if it is running or ended whole */
const char *live_session_problem(const struct live_session *s);

/* the highest live heap so far, and the live heap now */
uint64_t live_session_peak(const struct live_session *s);
uint64_t live_session_heap(const struct live_session *s);

#endif
