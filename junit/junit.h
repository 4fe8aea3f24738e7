/*
 * junit/junit: the results of `memray check` as JUnit XML (written with
 * libxml2), and the figures every output of them shares (junit/markdown
 * writes the Markdown job summary).
 *
 * One testsuite per run, one testcase per evaluated rule: a whole-run
 * rule is named after itself ("peak memory", classname "memray"), a
 * test's rule after the test (classname "memray.peak", "memray.leaks",
 * "memray.allocations", "memray.baseline"; "memray.memory" for a test
 * with no rule, which passes and carries its figures). A failed rule
 * becomes <failure type="BudgetExceeded|LeakDetected|Regression"> with a
 * one-line message and a body with exact bytes and the top stacks; a
 * rule that could not be judged (a bad limit mark) becomes <error>, and
 * so does a command or tracker that failed, in a testcase of its own
 * (classname "memray.command"). The testsuite's properties
 * (memray.peak_bytes, memray.leaked_bytes) are the whole run's figures;
 * a testcase has none (the Jenkins xUnit schema refuses them there): its
 * rule's figures are its system-out, one "name: value" line each in exact
 * bytes, followed by the details when the rule passed. A testcase named
 * by a pytest node id has the test's file ("file"). Numbers
 * are printed in the C locale; text is stripped of the characters XML
 * 1.0 forbids. The suite is never empty: a run with no rule gets one
 * testcase for the command.
 *
 * Fixtures' setups (struct check_fixture) are the testsuite's system-out.
 * annotations_write() prints GitHub's "::error" workflow commands,
 * escaped by its rules.
 *
 * Ownership: the caller owns the results and strings; the writers only
 * read them.
 */
#ifndef JUNIT_JUNIT_H
#define JUNIT_JUNIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct strbuf;

#define CHECK_MAX_PROPS 8

/* what a run with no verdict says (stderr, JUnit, Markdown), and how to ask for one */
#define CHECK_NOTHING_JUDGED \
	"no rule for the whole run and no marked test; ask with --budget, --leak-budget, " \
	"--max-allocations or --manifest memray.yml, and mark tests (pytest, memray_test_begin/end)"

struct check_property {
	const char *name;
	uint64_t value;
};

struct check_result {
	const char *name;	/* "peak memory", or a test id */
	const char *rule;	/* "peak", ... for a test's rule; NULL for a whole-run rule */
	const char *failure_type;	/* NULL: passed */
	const char *error_type;	/* not NULL: could not be judged */
	const char *message;	/* one line */
	const char *details;	/* exact figures and top stacks */
	uint64_t figure, limit;
	int has_limit;
	int is_count;		/* figure and limit count allocations; else bytes */
	int is_unjudged;	/* a test under no rule: its figures shown, nothing judged */
	struct check_property props[CHECK_MAX_PROPS];
	size_t nprops;
	double seconds;		/* a test's rule: how long the test ran (0: unknown) */
	const char *file;	/* the test's source file when known (a C test), or NULL */
	unsigned line;		/* its line there, 0 when unknown */
};

/* the word a result is listed under: "ERROR", "FAIL", "measured" (under no rule) or "pass" */
static inline const char *check_result_word(const struct check_result *r)
{
	return r->error_type ? "ERROR" : r->failure_type ? "FAIL" : r->is_unjudged ? "measured" : "pass";
}

/*
 * A pytest fixture's setup (session, package, module or class scope): its
 * figures are shown (stderr with -v, the testsuite's system-out, a
 * Markdown table), never judged: no rule selects a fixture.
 */
struct check_fixture {
	const char *name, *scope;
	uint64_t peak, held;	/* its setup's peak; what it still held when setup returned */
	uint64_t started;	/* of the peak, what processes it started held */
};

struct check_run {
	const char *command;
	double seconds;
	/*
	 * The whole run's figures, whatever rules there are: written as the
	 * testsuite's properties memray.peak_bytes and memray.leaked_bytes,
	 * which readers (the GitHub action) take them from, never from a
	 * testcase a test of the same name could supply.
	 */
	int has_figures;
	uint64_t peak_bytes, leaked_bytes;
	const char *error;	/* the command or the tracker failed: why; NULL if not */
	const struct check_result *results;
	size_t nresults;
	const struct check_fixture *fixtures;	/* highest peak first */
	size_t nfixtures;
};

/* "NAME (SCOPE): setup peak ..., held after setup ..." with exact bytes, NAME as given: 0, or -1 out of memory */
int check_fixture_line(struct strbuf *sb, const struct check_fixture *f, const char *name);
/* a heading, then one such line per fixture, names escaped (common/utf8.h): a testsuite's system-out */
void check_fixtures_text(struct strbuf *out, const struct check_run *run);

/* 0, or -1 after an error message naming path */
int junit_write(const char *path, const struct check_run *run);
/*
 * junit_merge: put the results into the JUnit file a test runner (pytest's
 * --junitxml) wrote at path, rewritten in place. A result named by a
 * pytest node id goes into that test's testcase, found by pytest's
 * mangling (classname "dir.test_x.Class", name "f[1]"): its figures are
 * added to system-out, and a failed rule becomes a failure there unless
 * the runner failed the test already; names, classnames, times and
 * outcomes stay the runner's, and no properties go inside a testcase.
 * Other results become memray's own testcases in the first testsuite,
 * whose counts follow. With no readable file at path, junit_write().
 * 0, or -1 after an error message naming path.
 */
int junit_merge(const char *path, const struct check_run *run);

/*
 * GitHub's "::error file=F,line=L,title=memray: NAME::MESSAGE" lines for
 * what failed, to out (file and line where the test's are known): at most
 * 10 (GitHub shows no more per step), the tenth saying how many more
 * failures there are when there are more.
 */
void annotations_write(FILE *out, const struct check_run *run);
/* append s to sb escaped as GitHub's workflow commands want: data, or a property value */
void annotation_escape(struct strbuf *sb, const char *s, int is_property);

#endif
