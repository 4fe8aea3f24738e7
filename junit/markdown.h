/*
 * junit/markdown: the results of `memray check` as Markdown, for a CI
 * job summary (GitHub's $GITHUB_STEP_SUMMARY, a merge request note).
 *
 * A headline (tests judged, failures, the job's peak and leaks, the
 * biggest test), then tables: every failure and error (with, under a
 * regression, the locations that grew since the baseline), the tests
 * that peaked highest, the rules closest to their limits, the fixture
 * setups that peaked highest, and the other verdicts folded in <details>.
 * Each table's rows are bounded, so any suite stays far under 1 MiB
 * (GitHub's limit for a job summary) and the JUnit file keeps what was
 * left out. Names from the tested program are escaped (common/utf8.h).
 */
#ifndef JUNIT_MARKDOWN_H
#define JUNIT_MARKDOWN_H

struct check_run;

/* 0, or -1 after an error message naming path */
int markdown_write(const char *path, const struct check_run *run);

#endif
