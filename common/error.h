/*
 * common/error: how memray reports trouble, in the manner of git's usage.c.
 *
 * error() and error_errno() print one line "memray: error: ..." on stderr
 * and return -1, so report-and-fail is one statement. warning() prints
 * "memray: warning: ...". die() prints like error() and exits with status
 * 2; it is for cli/ only. BUG() reports a broken invariant with file:line
 * and aborts; it is never for bad input.
 *
 * Messages are lowercase, without a full stop, and name the file (and
 * line or offset) they are about.
 */
#ifndef COMMON_ERROR_H
#define COMMON_ERROR_H

#define MEMRAY_NORETURN __attribute__((noreturn))
#define MEMRAY_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* how much memray says about itself: 0 to 3, raised by each -v */
extern int verbosity;
/* "memray: ..." on stderr when verbosity >= level */
void verbose(int level, const char *fmt, ...) MEMRAY_PRINTF(2, 3);

int error(const char *fmt, ...) MEMRAY_PRINTF(1, 2);
/* the text of the last error()/error_errno() message, without "memray: error: "; "" if none */
const char *error_last(void);
int error_errno(const char *fmt, ...) MEMRAY_PRINTF(1, 2);
void warning(const char *fmt, ...) MEMRAY_PRINTF(1, 2);
MEMRAY_NORETURN void die(const char *fmt, ...) MEMRAY_PRINTF(1, 2);
MEMRAY_NORETURN void bug_fl(const char *file, int line, const char *fmt, ...) MEMRAY_PRINTF(3, 4);

#define BUG(...) bug_fl(__FILE__, __LINE__, __VA_ARGS__)

/* exit status of die() and of usage errors */
#define MEMRAY_EXIT_USAGE 2

#endif
