/*
 * ci/checklog: what a Check runner's own XML log says of the tests it ran,
 * so that a forked test (ci/checkrunner) gets its full name and place.
 *
 * A forked Check child's stacks show its START_TEST function and nothing
 * of the suite and tcase it belongs to: those are arguments the parent
 * gave Check before the fork. The parent knows them, and Check writes
 * them to an XML log when CK_XML_LOG_FILE_NAME names one: per test, in
 * the order the tests ran, the suite's <title>, then <test> with <path>
 * (the source's folder), <fn> (file:line of the test's last checkpoint,
 * or of its failure), <id> (the START_TEST name), <iteration> (a loop
 * test's index) and <description> (the tcase's name).
 *
 * Under `memray check` the tracker points CK_XML_LOG_FILE_NAME of each
 * process at memray-check-log.<pid>.xml in the run's folder (common/env.h,
 * ENV_CHECK_LOGS), or links that name to the user's own log when they
 * set one; the runner process writes it, its forked children inherit a
 * log they never write. So a child's log is its parent's:
 * checklog_read() reads it, and checklog_match() hands out its entries in
 * run order, the next one whose id is the child's test. Children are
 * judged in pid order, which is the order Check forked them in (one at a
 * time, each waited for); an entry with no child (a test that allocated
 * nothing the checkrunner could see) is passed over by the next match.
 *
 * A test is a loop test when its log holds it with an iteration other
 * than 0, or holds it twice in a row with iterations 0 and 1
 * (tcase_add_loop_test runs a test's iterations one after the other).
 *
 * A log cut short (the runner crashed) gives the tests it holds; a log
 * that is missing gives none, and those tests keep the names the stacks
 * give (binary:test). The log is read with libxml2 in recovery mode, with
 * its messages off: it is the tested program's output.
 *
 * Ownership: a checklog owns its entries and their strings;
 * checklog_release() frees them.
 */
#ifndef CI_CHECKLOG_H
#define CI_CHECKLOG_H

#include <stddef.h>

struct checklog_test {
	char *suite, *tcase, *id;
	char *file;		/* "path/file.c", the log's <path> and <fn>; or NULL */
	unsigned line;		/* from <fn>; 0 when it gives none */
	unsigned iteration;
	int is_loop;
};

struct checklog {
	unsigned long pid;	/* the runner whose log it is */
	struct checklog_test *t;
	size_t n, alloc;
	size_t next;		/* the first entry not matched yet */
};

/*
 * Read the log at path into l (zeroed, pid set by the caller). 0 (a
 * missing or unreadable log leaves l empty, after a warning naming path
 * when the file exists but holds no log), or -1 after an error when out
 * of memory.
 */
int checklog_read(struct checklog *l, const char *path);

/* the next entry of test `id` not matched yet, in run order, or NULL */
const struct checklog_test *checklog_match(struct checklog *l, const char *id);

void checklog_release(struct checklog *l);

#endif
