/*
 * ci/harness: the place a `memray check` run happens in. It makes the
 * capture directory (the user's --keep-captures DIR, or a temporary one
 * removed afterwards), names the command's capture in it
 * (memray-check.bin; forked children add .<pid>), and prepares the
 * environment so a pytest run loads memray's plugin with no install:
 * PYTHONPATH gains the plugin's directory and PYTEST_PLUGINS its module
 * (both keep what the user had), and MEMRAY_BIN names this memray binary
 * (the plugin runs its hidden `memray window` for a failed test's stacks).
 * MEMRAY_CHECK_LOGS names the directory (absolute), where the tracker has
 * each Check runner write its XML log (ci/checklog).
 *
 * The plugin directory is found like the tracker: next to the memray
 * binary (build tree: build/python) or in ../lib/memray/python
 * (installed), or $MEMRAY_PYTHON_DIR.
 *
 * A kept directory loses the memray-check* captures of an earlier run
 * first (they would be judged again); nothing else in it is touched.
 *
 * The temporary directory is made in $TMPDIR (an absolute path), else
 * /tmp. It is removed on every way out: ci_harness_release(), and, from
 * ci_harness_init() on, SIGINT, SIGTERM, SIGHUP or SIGQUIT (the handler
 * removes it and dies of the signal; cli/launch forwards SIGTERM and
 * SIGHUP to the command while it runs and ignores SIGINT and SIGQUIT,
 * which the terminal sends the command too). SIGPIPE (memray check -v |
 * head) no longer kills memray: its writes fail, the run and the reports
 * go on.
 *
 * Ownership: the harness owns its strings; ci_harness_release() frees
 * them and removes a temporary directory with the captures in it.
 */
#ifndef CI_HARNESS_H
#define CI_HARNESS_H

#include "common/strbuf.h"

#define CI_PYTEST_PLUGIN "memray_check_pytest"

struct ci_harness {
	struct strbuf dir;
	struct strbuf capture;	/* dir/memray-check.bin */
	int is_temporary;
};

/* 0, or -1 after an error message; keep may be NULL */
int ci_harness_init(struct ci_harness *h, const char *keep);
/*
 * Set PYTHONPATH and PYTEST_PLUGINS for the command: 0 (also when the
 * plugin cannot be found: a warning says so), or -1 after an error.
 */
int ci_harness_python_env(void);
void ci_harness_release(struct ci_harness *h);

#endif
