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
 *
 * RULE: the environment is read and changed through `environ` itself,
 * never through getenv, setenv or unsetenv. A program may define those
 * (bash does, over its own variable table): calling them from the
 * constructor ran bash's code before its main, under the guard, and left
 * bash holding its variables through blocks the tracker never saw, which
 * made 30 KiB of them look lost to the reachability scan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/env.h"
#include "tracker/internal.h"

/* the slot of `name` ("name=value") in envp, or NULL */
static char **env_find(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (char **e = envp; e && *e; e++) {
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return e;
	}
	return NULL;
}

/* the value of name in envp, or NULL */
static const char *env_value(char *const envp[], const char *name)
{
	char **e = env_find((char **)envp, name);	/* only read */

	return e ? *e + strlen(name) + 1 : NULL;
}

static const char *env_or_empty(const char *name)
{
	const char *v = env_value(environ, name);

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
	const char *out = env_value(environ, ENV_OUTPUT), *live = env_value(environ, ENV_LIVE);
	const char *gc = env_value(environ, ENV_GC);

	if (!out || !*out)
		return -1;	/* preloaded without `memray run`: stay out of the way */
	if (strstr(env_or_empty("LD_PRELOAD"), "/vgpreload_"))
		return -1;	/* run by valgrind, whose allocator replaces our hooks: see the README */
	if (copy_str(tracker_cfg.root_output, out) < 0 ||
	    copy_str(tracker_cfg.lib, env_or_empty(ENV_TRACKER)) < 0)
		return -1;
	tracker_cfg.root_pid = strtoul(env_or_empty(ENV_PID), NULL, 10);
	tracker_cfg.flags = (unsigned)strtoul(env_or_empty(ENV_OPTIONS), NULL, 10);
	tracker_cfg.live_fd = -1;
	tracker_cfg.verify_unwind = !strcmp(env_or_empty(ENV_VERIFY_UNWIND), "1");
	tracker_cfg.own_walk = strcmp(env_or_empty(ENV_UNWIND), "libunwind") != 0;
	tracker_cfg.is_fast_only = !strcmp(env_or_empty(ENV_COMPRESS), "fast");
	if (live) {
		char *colon;

		tracker_cfg.live_fd = (int)strtol(live, &colon, 10);
		tracker_cfg.live_ino = *colon == ':' ? strtoul(colon + 1, NULL, 10) : 0;
	}
	tracker_cfg.gc_ms = 0;
	if (gc && !(tracker_cfg.flags & CAPTURE_F_AGGREGATE)) {
		tracker_cfg.gc_ms = env_gc_interval(gc);
		if (!tracker_cfg.gc_ms)
			tracker_say(ENV_GC, "not an interval such as 500ms or 2s (at least 10ms); no garbage collection");
		else
			tracker_cfg.flags |= CAPTURE_F_REACHABILITY;	/* the collector needs the live-block index */
	}
	return 0;
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
char **tracker_exec_env(char *const envp[], void *room, size_t room_size)
{
	static const char *const names[] = { ENV_OUTPUT, ENV_PID, ENV_OPTIONS, ENV_TRACKER, "LD_PRELOAD" };
	const char *preload = env_value(envp, "LD_PRELOAD"), *out, *values[4];
	char pid[24], options[16], *store;
	size_t count = 0, k = 0, size, text = 0;
	char **env;

	if (!tracker_cfg.root_output[0] || !tracker_cfg.lib[0])
		return NULL;
	out = env_value(envp, ENV_OUTPUT);
	if (out && !*out)
		return NULL;	/* MEMRAY_OUTPUT= (empty): the caller runs this program untracked on purpose */
	if (out && preload && preload_has(preload, tracker_cfg.lib))
		return NULL;	/* all there */
	snprintf(pid, sizeof(pid), "%lu", tracker_cfg.root_pid);
	snprintf(options, sizeof(options), "%u", tracker_cfg.flags);
	values[0] = tracker_cfg.root_output;
	values[1] = pid;
	values[2] = options;
	values[3] = tracker_cfg.lib;
	for (int i = 0; i < 4; i++)
		text += strlen(names[i]) + strlen(values[i]) + 2;
	text += strlen("LD_PRELOAD=") + strlen(tracker_cfg.lib) + (preload ? 1 + strlen(preload) : 0) + 1;
	for (char *const *e = envp; e && *e; e++)
		count++;
	size = (count + 6) * sizeof(char *) + text;
	if (size <= room_size) {
		env = room;
	} else {
		size_t *mapped;

		tracker_guard++;	/* our mapping, not the program's */
		mapped = mapmem_alloc(2 * sizeof(size_t) + size);
		tracker_guard--;
		if (!mapped)
			return NULL;
		mapped[0] = 2 * sizeof(size_t) + size;
		env = (char **)(mapped + 2);
	}
	for (char *const *e = envp; e && *e; e++) {
		int ours = 0;

		for (int i = 0; i < 5; i++)
			ours |= !strncmp(*e, names[i], strlen(names[i])) && (*e)[strlen(names[i])] == '=';
		if (!ours)
			env[k++] = *e;
	}
	store = (char *)(env + count + 6);
	for (int i = 0; i < 4; i++) {
		env[k++] = store;
		store += sprintf(store, "%s=%s", names[i], values[i]) + 1;
	}
	env[k++] = store;
	sprintf(store, "LD_PRELOAD=%s%s%s", tracker_cfg.lib, preload && *preload ? ":" : "", preload ? preload : "");
	env[k] = NULL;
	return env;
}

void tracker_free_env(char **env, const void *room)
{
	if (env && (const void *)env != room) {
		size_t *mapped = (size_t *)(void *)env - 2;

		tracker_guard++;
		mapmem_free(mapped, mapped[0]);
		tracker_guard--;
	}
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

/* "CK_LOG=path": the entry tracker_check_log() put in environ; "" if none */
static char check_log_entry[sizeof(CK_LOG "=") + PATH_MAX_LEN];
/* the environment array the tracker made to hold it, when it needed one */
static char **env_made;
static size_t env_made_slots;

/* take slot e out of its array, in place */
static void env_drop(char **e)
{
	for (; *e; e++)
		e[0] = e[1];
}

/*
 * Put entry ("NAME=value", which lives as long as the image) into
 * environ: in the variable's slot, or at the end of a copy of the array
 * one slot longer, mapped (the program's setenv, seeing an array it did
 * not make, copies it before it grows it). 0, or -1 when out of memory.
 */
static int env_put(char *entry, const char *name)
{
	char **slot = env_find(environ, name), **made;
	size_t n = 0;

	if (slot) {
		*slot = entry;
		return 0;
	}
	while (environ && environ[n])
		n++;
	made = mapmem_alloc((n + 2) * sizeof(*made));
	if (!made)
		return -1;
	if (n)
		memcpy(made, environ, n * sizeof(*made));
	made[n] = entry;
	made[n + 1] = NULL;
	environ = env_made = made;
	env_made_slots = n + 2;
	return 0;
}

int tracker_env_root(uintptr_t *lo, uintptr_t *hi)
{
	if (!env_made || environ != env_made)
		return 0;
	*lo = (uintptr_t)env_made;
	*hi = (uintptr_t)(env_made + env_made_slots);
	return 1;
}

void tracker_check_log(void)
{
	const char *dir = env_value(environ, ENV_CHECK_LOGS), *theirs = env_value(environ, CK_LOG);
	const char *fork = env_value(environ, "CK_FORK");
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
			env_drop(env_find(environ, CK_LOG));	/* a parent's */
		return;
	}
	if (is_ours) {
		/* a failure leaves Check's default: no log */
		snprintf(check_log_entry, sizeof(check_log_entry), "%s=%s", CK_LOG, mine);
		if (env_put(check_log_entry, CK_LOG) < 0)
			check_log_entry[0] = '\0';
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
	if (!check_log_entry[0])
		return;
	for (char **e = environ; e && *e; e++) {
		if (*e == check_log_entry) {
			env_drop(e);
			break;
		}
	}
	check_log_entry[0] = '\0';
}
