/*
 * ci/programs: which processes of a run are the user's, when a harness
 * (make check, ctest, a shell script) runs the test programs.
 *
 * A run with no marked tests and no Check children used to have one
 * subject, the whole run: a leak in one of ten test programs failed "the
 * run" and named no program. When the command's own process is a system
 * program (its program lies under /usr, /bin, /sbin, /lib*, /etc: make,
 * ctest, sh), every process whose program lies elsewhere (built in the
 * project tree, or installed under /opt or /home) becomes a test case of
 * its own, named by its command line. The harness's own processes (the
 * shell and its subshells, make, grep, sed, cmp) are not the user's
 * subject: a forked child that did not exec runs its parent's program, so
 * a subshell of sh is sh. The program is the executable of the process's
 * last image (a libtool wrapper script that execs .libs/lt-x is x).
 *
 * A rule still selects a harness process by glob: a process whose command
 * line a selection glob matches (memray check passes the manifest's
 * `tests:` globs) is a case too, `match: "sed *"` making every sed one.
 */
#ifndef CI_PROGRAMS_H
#define CI_PROGRAMS_H

#include <stddef.h>

struct analysis;

/* globs on the case id (the command line) that select harness processes too; borrowed */
struct ci_select {
	const char *const *globs;
	size_t n;
};

/* the executable of the capture's last image (its first module), or NULL when none was recorded */
const char *programs_executable(const struct analysis *a);

/* does path lie in the system's program directories (/usr, /bin, /sbin, /lib*, /etc)? */
int programs_is_system(const char *path);

/* is this process a case: a program outside the system's, or one a glob selects (sel may be NULL)? */
int programs_is_subject(const struct analysis *a, const struct ci_select *sel);

#endif
