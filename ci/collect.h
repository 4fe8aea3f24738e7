/*
 * ci/collect: what `memray check` measured, read from the directory of
 * captures a run left (the command's capture and one per forked child).
 *
 * Every capture is read once: one analysis pass (report/analysis) with
 * the test windows (ci/windows) as its observer. The result is a list of subjects, each with the
 * figures rules are judged on and the top stacks that explain them,
 * already symbolized:
 *   - the whole run: the job's peak, the highest sum of what every
 *     process held at one moment (ci/jobpeak), with each process's part
 *     in it; allocations and leaks added up over every process; the peak
 *     stacks are those of the process with the highest peak of its own;
 *   - one subject per marked test (pytest plugin, memray_test_begin()).
 *     Its peak is its own window's together with what the processes it
 *     started while it ran (its descendants, by pid and parent pid, whose
 *     capture began inside the window) held at the same moment, up to
 *     the window's end (ci/jobpeak); a window labelled "fixture=SCOPE"
 *     is a pytest fixture's setup, kept apart in `fixtures`, judged by
 *     no rule;
 *   - one per forked child of a Check suite in fork mode (ci/checkrunner
 *     tells which test it ran; its runner's XML log, ci/checklog, its
 *     suite, tcase, file and line). Its peak is the child's; its leaks and
 *     allocations are those made under the test's function, so Check's
 *     own bookkeeping in the child is not blamed on the test. The
 *     child's capture is renamed memray-check.<binary:test>.<pid>.bin;
 *   - under a harness (make check, ctest, a shell script: ci/programs),
 *     when the run has none of the above, one per process of the user's
 *     programs, named by its command line ("#2" on for a command line run
 *     again), with its own peak, allocations and leaks. The whole run's
 *     leaks are then theirs alone: the harness's own processes are not
 *     the user's. The capture is renamed memray-check.<program>.<pid>.bin.
 * Leaks whose stack a suppression matches are counted apart, as
 * suppressed, with their own top stacks. A damaged capture, one in
 * which the tracker dropped records, or one with no records at all (the
 * program ran untracked) is an error: its figures would be wrong. A capture cut short (the process was killed) is judged on what
 * it holds, with a warning.
 *
 * Ownership: ci_collect() fills a ci_results that ci_results_release()
 * frees, strings and arrays included.
 */
#ifndef CI_COLLECT_H
#define CI_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "ci/jobpeak.h"
#include "ci/lines.h"
#include "ci/programs.h"
#include "ci/windows.h"
#include "report/suppress.h"

#define CI_TOP_STACKS 5

struct ci_subject {
	char *id;		/* the test id; "(whole run)" for the run */
	char *marks;		/* the pytest plugin's "limit_memory=..." fields, 0x1f-separated, or NULL */
	int is_test;
	int is_unfinished;	/* the test never ended (crashed, killed) */
	int is_filtered;	/* leaked is what the test's filter_fn kept (pytest) */
	uint64_t peak, allocations, bytes, leaked, leaked_count, suppressed, suppressed_count;
	uint64_t peak_ms;	/* the whole run: when the job peaked, ms after the first process started */
	uint64_t ns;		/* a test: how long it ran (its markers' TIME, its process's life); 0: unknown */
	char *file;		/* a Check test: its source file (the runner's XML log), or NULL */
	unsigned line;		/* and the line the log gives (0: unknown) */
	struct ci_lines peak_stacks, leak_stacks, suppressed_stacks;
	/*
	 * The whole run: what each process held at the job's peak ("pid N:
	 * command"), most first. A test that started processes: what it and
	 * each of them held at its peak; started is their part.
	 */
	struct ci_lines processes;
	uint64_t started;
	/* a marked test or fixture: its process, its window (ns since the epoch), its own live bytes over it */
	uint32_t pid;
	uint64_t start_ns, begin_ns, end_ns;	/* start_ns: its capture's, the timeline's origin */
	struct ci_window_point *timeline;
	size_t ntimeline;
	char *scope;		/* a pytest fixture's setup: its scope ("session", "module", "class", ...) */
};

struct ci_results {
	struct ci_subject whole;
	struct jobpeak job;	/* every process on one time axis (ci/jobpeak) */
	struct ci_subject *tests;
	size_t ntests, tests_alloc;
	struct ci_subject *fixtures;	/* pytest fixtures' setups: figures, never judged */
	size_t nfixtures, fixtures_alloc;
	unsigned captures;	/* files read */
	int has_process_cases;	/* the tests are the user's processes under a harness (ci/programs) */
};

/*
 * Read every memray-check* capture in dir. The whole run's leaks are
 * looked into (suppressions, stacks) only with CI_WHOLE_LEAKS: a Python
 * process leaves thousands of stacks at exit and nobody asked. A capture
 * whose tracking stopped early (a full disk) or that dropped records is an
 * error unless CI_PARTIAL asks to judge what it holds, with a warning. Returns
 * 0, or -1 after an error message naming the capture that cannot be
 * read (what was read stays in out and must still be released). sel
 * (may be NULL) selects harness processes as cases too (ci/programs).
 */
#define CI_WHOLE_LEAKS (1u << 0)	/* look into the whole run's leaks (suppressions, stacks) */
#define CI_PARTIAL (1u << 1)		/* judge what a capture whose tracking stopped early holds */
/*
 * Count every block live at exit as a leak. Without it, a capture whose
 * tracker scanned for reachability at exit (REACH) leaks only what it
 * found definitely or indirectly lost (and what it did not judge).
 */
#define CI_REACHABLE_LEAKS (1u << 2)
int ci_collect(const char *dir, const struct suppress_list *sup, unsigned flags, const struct ci_select *sel,
	       struct ci_results *out);
void ci_results_release(struct ci_results *res);

/*
 * For whoever wants each capture's analysis while ci_collect reads it
 * (`memray diff` of two kept runs), so the captures are read once: `each`
 * is called on the main thread for every capture judged without error,
 * with the symbolizer `sym`, which the caller owns and keeps alive, so the
 * strings it hands out outlive the collection. `each` returns 0, or -1
 * after its own message, which ends the collection with -1. `each` may be
 * NULL: the caller only lends its symbolizer (`memray check`, which
 * opened the command's modules in it while the command ran: ci/prewarm).
 */
struct analysis;
struct symbolizer;
struct ci_each {
	int (*each)(void *ctx, struct analysis *a, struct symbolizer *sym);
	void *ctx;
	struct symbolizer *sym;
};
int ci_collect_each(const char *dir, const struct suppress_list *sup, unsigned flags, const struct ci_select *sel,
		    const struct ci_each *each, struct ci_results *out);

#endif
