/*
 * tracker/env: the MEMRAY_* variables (common/env.h), read at start and
 * put back into the environment of an exec.
 *
 * `memray run` and `memray check` set them; the tracker reads them once in
 * each process image. A program may exec with an environment of its own
 * (execve with a fresh envp, env -i): the exec hooks then get a copy of
 * envp with LD_PRELOAD and the variables restored, so the new image is
 * tracked into the same capture, and a LD_PRELOAD of the program's own is
 * kept behind the tracker. The copy comes from the real allocator and is
 * freed only if the exec fails. Under `memray check` it also points
 * Check's XML log at the run's folder (tracker_check_log, below).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/env.h"
#include "tracker/internal.h"

static const char *env_or_empty(const char *name)
{
	const char *v = getenv(name);

	return v ? v : "";
}

static int copy_str(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n >= PATH_MAX_LEN)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

int tracker_env_read(void)
{
	const char *out = getenv(ENV_OUTPUT);

	if (!out || !*out)
		return -1;	/* preloaded without `memray run`: stay out of the way */
	if (copy_str(tracker_cfg.root_output, out) < 0 ||
	    copy_str(tracker_cfg.lib, env_or_empty(ENV_TRACKER)) < 0)
		return -1;
	tracker_cfg.root_pid = strtoul(env_or_empty(ENV_PID), NULL, 10);
	tracker_cfg.flags = (unsigned)strtoul(env_or_empty(ENV_OPTIONS), NULL, 10);
	tracker_cfg.live_fd = -1;
	tracker_cfg.verify_unwind = !strcmp(env_or_empty(ENV_VERIFY_UNWIND), "1");
	if (getenv(ENV_LIVE)) {
		char *colon;

		tracker_cfg.live_fd = (int)strtol(getenv(ENV_LIVE), &colon, 10);
		tracker_cfg.live_ino = *colon == ':' ? strtoul(colon + 1, NULL, 10) : 0;
	}
	return 0;
}

/* the value of name in envp, or NULL */
static const char *env_value(char *const envp[], const char *name)
{
	size_t n = strlen(name);

	for (char *const *e = envp; e && *e; e++) {
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	}
	return NULL;
}

/* does the LD_PRELOAD list `list` (split on spaces and colons, as ld.so does) name lib? */
static int preload_has(const char *list, const char *lib)
{
	size_t n = strlen(lib);

	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, " :");

		if (len == n && !memcmp(p, lib, n))
			return 1;
		p += len;
		p += strspn(p, " :");
	}
	return 0;
}

/*
 * RULE: the program's own LD_PRELOAD is kept. A new image needs the
 * tracker in LD_PRELOAD, but the program may preload libraries of its own
 * (an allocator, a shim): the tracker is put in front of its list, never
 * in place of it. In front, so that our malloc is found first and reaches
 * theirs with RTLD_NEXT.
 */
char **tracker_exec_env(char *const envp[])
{
	static const char *const names[] = { ENV_OUTPUT, ENV_PID, ENV_OPTIONS, ENV_TRACKER, "LD_PRELOAD" };
	const char *preload = env_value(envp, "LD_PRELOAD"), *out;
	char values[4][PATH_MAX_LEN + 32], *store;
	size_t count = 0, k = 0, preload_len;
	char **env;

	if (!tracker_cfg.root_output[0] || !tracker_cfg.lib[0])
		return NULL;
	out = env_value(envp, ENV_OUTPUT);
	if (out && !*out)
		return NULL;	/* MEMRAY_OUTPUT= (empty): the caller runs this program untracked on purpose */
	if (out && preload && preload_has(preload, tracker_cfg.lib))
		return NULL;	/* all there */
	tracker_guard++;
	snprintf(values[0], sizeof(values[0]), "%s=%s", ENV_OUTPUT, tracker_cfg.root_output);
	snprintf(values[1], sizeof(values[1]), "%s=%lu", ENV_PID, tracker_cfg.root_pid);
	snprintf(values[2], sizeof(values[2]), "%s=%u", ENV_OPTIONS, tracker_cfg.flags);
	snprintf(values[3], sizeof(values[3]), "%s=%s", ENV_TRACKER, tracker_cfg.lib);
	preload_len = strlen("LD_PRELOAD=") + strlen(tracker_cfg.lib) + (preload ? 1 + strlen(preload) : 0) + 1;
	for (char *const *e = envp; e && *e; e++)
		count++;
	env = tracker_real_malloc((count + 6) * sizeof(char *) + sizeof(values) + preload_len);
	if (env) {
		store = (char *)(env + count + 6);
		memcpy(store, values, sizeof(values));
		snprintf(store + sizeof(values), preload_len, "LD_PRELOAD=%s%s%s", tracker_cfg.lib,
			 preload && *preload ? ":" : "", preload ? preload : "");
		for (char *const *e = envp; e && *e; e++) {
			int ours = 0;

			for (int i = 0; i < 5; i++)
				ours |= !strncmp(*e, names[i], strlen(names[i])) && (*e)[strlen(names[i])] == '=';
			if (!ours)
				env[k++] = *e;
		}
		for (int i = 0; i < 4; i++)
			env[k++] = store + i * sizeof(values[0]);
		env[k++] = store + sizeof(values);
		env[k] = NULL;
	}
	tracker_guard--;
	return env;
}

void tracker_free_env(char **env, char *const envp[])
{
	if (env && env != envp)
		tracker_real_free(env);
}

/*
 * Under `memray check` (ENV_CHECK_LOGS names the run's folder), Check's
 * XML log of this image goes to ENV_CHECK_LOG_NAME<pid>.xml there, so the
 * gate can give each forked test its suite, tcase, file and line
 * (ci/checklog). A CK_XML_LOG_FILE_NAME already in that folder was set
 * so for a parent process: this image gets its own. One of the user's is
 * left as it is, and the name in the folder becomes a link to it (made
 * absolute, as Check opens it from the current folder); "-" (Check's
 * stdout) cannot be read back. Only Check reads the variable, and only
 * the process that calls srunner_run*() writes the file; the tests it
 * forks do not see it (tracker_check_log_forget). With CK_FORK=no the
 * tests run in the runner itself, so nothing is set (and a parent's is
 * taken out). Guard held.
 */
#define CK_LOG "CK_XML_LOG_FILE_NAME"

/* the value of the CK_LOG that tracker_check_log() set in this process, or NULL */
static const char *check_log_value;

void tracker_check_log(void)
{
	const char *dir = getenv(ENV_CHECK_LOGS), *theirs = getenv(CK_LOG), *fork = getenv("CK_FORK");
	char mine[PATH_MAX_LEN], target[PATH_MAX_LEN], cwd[PATH_MAX_LEN];
	size_t n = dir ? strlen(dir) : 0;
	int is_ours = !theirs || !*theirs || (n && !strncmp(theirs, dir, n) && theirs[n] == '/');

	if (!n || dir[0] != '/' ||
	    snprintf(mine, sizeof(mine), "%s/" ENV_CHECK_LOG_NAME "%lu.xml", dir, (unsigned long)getpid()) >=
		    (int)sizeof(mine))
		return;
	if (fork && !strcmp(fork, "no")) {
		/* the tests run in the runner: no child to name, and a test would see the variable */
		if (theirs && is_ours)
			unsetenv(CK_LOG);	/* a parent's */
		return;
	}
	if (is_ours) {
		if (setenv(CK_LOG, mine, 1) == 0)	/* a failure leaves Check's default: no log */
			check_log_value = getenv(CK_LOG);
		return;
	}
	if (!strcmp(theirs, "-"))
		return;
	if (theirs[0] == '/')
		snprintf(target, sizeof(target), "%s", theirs);
	else if (!getcwd(cwd, sizeof(cwd)) ||
		 snprintf(target, sizeof(target), "%s/%s", cwd, theirs) >= (int)sizeof(target))
		return;
	unlink(mine);	/* a pid used again in the same run */
	if (symlink(target, mine) < 0) {
		/* the test is named binary:test then */
	}
}

/*
 * In a forked child: the CK_LOG that tracker_check_log() set leaves the
 * environment again. Check runs each test in such a child, and a test
 * should see the environment it sees without memray (libcheck's own
 * suite checks that no XML log is asked for); the runner, which writes
 * the log, keeps it. Runs in the atfork child handler, where the child
 * has one thread: the entry, found by its address, is taken out of
 * environ in place, with no lock and no allocation. An image that execs
 * later sets its own again.
 */
void tracker_check_log_forget(void)
{
	if (!check_log_value)
		return;
	for (char **e = environ; e && *e; e++) {
		if (*e + sizeof(CK_LOG "=") - 1 != check_log_value)
			continue;
		for (; *e; e++)
			e[0] = e[1];
		break;
	}
	check_log_value = NULL;
}
