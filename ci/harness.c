/*
 * ci/harness: see harness.h.
 */
#include "ci/harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/env.h"
#include "common/error.h"
#include "common/install.h"

/* remove dir's files named prefix* (all of them with an empty prefix), then dir if it is empty */
static void clear_dir(const char *dir, const char *prefix, int remove_dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		struct strbuf path = STRBUF_INIT;

		if (de->d_name[0] == '.' || strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		strbuf_addf(&path, "%s/%s", dir, de->d_name);
		unlink(path.buf);
		strbuf_release(&path);
	}
	if (d)
		closedir(d);
	if (remove_dir)
		rmdir(dir);
}

/*
 * The temporary directory, for the signal handlers: a fixed buffer, as a
 * handler may not allocate. Empty when there is none to remove.
 */
static char doomed_dir[PATH_MAX];
static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

struct linux_dirent64 {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/*
 * A fatal signal: remove the temporary directory with async-signal-safe
 * calls only (getdents64, unlinkat, rmdir), then die of the signal.
 */
static void remove_and_die(int sig)
{
	int saved = errno, fd = doomed_dir[0] ? open(doomed_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	char buf[4096] __attribute__((aligned(8)));
	long n;

	while (fd >= 0 && (n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct linux_dirent64 *de = (struct linux_dirent64 *)(buf + off);

			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unlinkat(fd, de->d_name, 0);
			off += de->d_reclen;
		}
	}
	if (fd >= 0) {
		close(fd);
		rmdir(doomed_dir);
	}
	signal(sig, SIG_DFL);
	raise(sig);
	errno = saved;
}

/* a closed pipe on stdout or stderr (memray check -v | head): writes fail, the run goes on */
static void ignore_pipe(int sig)
{
	(void)sig;
}

static void guard_signals(const char *dir)
{
	struct sigaction sa = { .sa_handler = remove_and_die };
	size_t len = strlen(dir);

	if (len >= sizeof(doomed_dir))
		return;
	memcpy(doomed_dir, dir, len + 1);
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		struct sigaction old;

		/* a signal ignored by whoever started us stays ignored */
		if (sigaction(fatal_signals[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(fatal_signals[i], &sa, NULL);
	}
	sa.sa_handler = ignore_pipe;	/* not SIG_IGN: the command gets the default again at exec */
	sigaction(SIGPIPE, &sa, NULL);
}

static void unguard_signals(void)
{
	sigset_t set, old;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		sigaddset(&set, fatal_signals[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	doomed_dir[0] = '\0';
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ask the tracker for each Check runner's XML log in dir (common/env.h): 0, or -1 after an error */
static int check_logs_env(const char *dir)
{
	char *abs = realpath(dir, NULL);
	int ret = abs ? setenv(ENV_CHECK_LOGS, abs, 1) : -1;

	free(abs);
	return ret < 0 ? error_errno("check: cannot set %s for '%s'", ENV_CHECK_LOGS, dir) : 0;
}

int ci_harness_init(struct ci_harness *h, const char *keep)
{
	const char *tmp = getenv("TMPDIR");
	struct strbuf tmpdir = STRBUF_INIT;

	strbuf_init(&h->dir, 0);
	strbuf_init(&h->capture, 0);
	h->is_temporary = !keep;
	if (keep) {
		if (mkdir(keep, 0755) < 0 && errno != EEXIST)
			return error_errno("check: cannot create '%s'", keep);
		/* an earlier run's captures would be judged again */
		clear_dir(keep, "memray-check", 0);
		strbuf_addstr(&h->dir, keep);
	} else {
		strbuf_addf(&tmpdir, "%s/memray-check-XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp");
		if (!mkdtemp(tmpdir.buf)) {
			error_errno("check: cannot create a temporary directory in %s", tmpdir.buf);
			strbuf_release(&tmpdir);
			return -1;
		}
		strbuf_addstr(&h->dir, tmpdir.buf);
		strbuf_release(&tmpdir);
		guard_signals(h->dir.buf);
	}
	strbuf_addf(&h->capture, "%s/memray-check.bin", h->dir.buf);
	return check_logs_env(h->dir.buf);
}

/* the directory holding the pytest plugin, into dir */
static int plugin_dir(struct strbuf *dir)
{
	const char *env = getenv(ENV_PYTHON_DIR);

	if (env && *env)
		return strbuf_addstr(dir, env);
	if (install_find("python", dir) == 0)
		return 0;
	if (!dir->len)
		warning("cannot find where memray is installed, nor its pytest plugin: "
			"pytest tests will not be judged one by one");
	else
		warning("cannot find memray's pytest plugin next to %s or in %s/../lib/memray/python "
			"(set " ENV_PYTHON_DIR "): pytest tests will not be judged one by one", dir->buf, dir->buf);
	strbuf_reset(dir);
	return -1;
}

/* name=value, or value:old (sep ':' or ',') when name is set already */
static int prepend(const char *name, const char *value, char sep)
{
	const char *old = getenv(name);
	struct strbuf sb = STRBUF_INIT;
	int ret;

	strbuf_addstr(&sb, value);
	if (old && *old)
		strbuf_addf(&sb, "%c%s", sep, old);
	ret = setenv(name, sb.buf, 1);
	strbuf_release(&sb);
	return ret < 0 ? error_errno("cannot set %s", name) : 0;
}

int ci_harness_python_env(void)
{
	struct strbuf dir = STRBUF_INIT;
	int ret = 0;

	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	/* the plugin runs `memray window` with this very binary */
	if (n > 0) {
		self[n] = '\0';
		if (setenv(ENV_BIN, self, 1) < 0)
			return error_errno("cannot set %s", ENV_BIN);
	}
	/* a C test binary does not need the plugin: a missing one is only a warning */
	if (plugin_dir(&dir) == 0) {
		ret = prepend("PYTHONPATH", dir.buf, ':');
		if (!ret)
			ret = prepend("PYTEST_PLUGINS", CI_PYTEST_PLUGIN, ',');
	}
	strbuf_release(&dir);
	return ret;
}

void ci_harness_release(struct ci_harness *h)
{
	if (h->is_temporary && h->dir.len) {
		unguard_signals();
		clear_dir(h->dir.buf, "", 1);
	}
	strbuf_release(&h->dir);
	strbuf_release(&h->capture);
}
