/*
 * cli/launch: see launch.h.
 */
#include "cli/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture/format.h"
#include "capture/header.h"
#include "common/env.h"
#include "common/error.h"
#include "common/file.h"
#include "common/install.h"
#include "common/strbuf.h"

static pid_t child_pid;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

int launch_find_program(const char *name, struct strbuf *path)
{
	const char *dirs = getenv("PATH");
	int saw_eacces = 0;

	if (strchr(name, '/')) {
		struct stat st;

		strbuf_addstr(path, name);
		if (stat(name, &st) < 0)
			return EXIT_NOT_FOUND;
		if (S_ISDIR(st.st_mode) || access(name, X_OK) < 0)
			return EXIT_NOT_EXECUTABLE;
		return 0;
	}
	if (!dirs)
		dirs = "/usr/local/bin:/usr/bin:/bin";
	while (*dirs) {
		const char *end = strchrnul(dirs, ':');
		struct stat st;

		strbuf_reset(path);
		if (end == dirs)
			strbuf_addch(path, '.');
		else
			strbuf_add(path, dirs, (size_t)(end - dirs));
		strbuf_addf(path, "/%s", name);
		if (stat(path->buf, &st) == 0 && !S_ISDIR(st.st_mode)) {
			if (access(path->buf, X_OK) == 0)
				return 0;
			saw_eacces = 1;
		}
		dirs = *end ? end + 1 : end;
	}
	return saw_eacces ? EXIT_NOT_EXECUTABLE : EXIT_NOT_FOUND;
}

/* the tracker library: $MEMRAY_TRACKER_LIB, next to us, or in ../lib/memray */
static int find_tracker(struct strbuf *lib)
{
	const char *env = getenv(ENV_TRACKER_LIB);

	if (env && *env) {
		char *abs = realpath(env, NULL);

		if (!abs)
			return error_errno("%s=%s", ENV_TRACKER_LIB, env);
		strbuf_addstr(lib, abs);
		free(abs);
		return 0;
	}
	if (install_find("libmemray_tracker.so", lib) == 0)
		return 0;
	if (!lib->len)
		return error_errno("cannot find where memray is installed");
	return error("cannot find libmemray_tracker.so next to %s or in %s/../lib/memray "
		     "(set %s)", lib->buf, lib->buf, ENV_TRACKER_LIB);
}

/*
 * The dynamic loader splits LD_PRELOAD on spaces and colons, so a tracker
 * installed under such a path ("/opt/with space") would silently not be
 * loaded. It is then reached through a symlink without them, in a
 * directory of our own: /tmp/memray-<uid>, made 0700, and used only if
 * it is a real directory of this user that nobody else may write. The
 * link is named after a hash of the target, made once (atomically, by
 * rename) and kept, so that programs still running, or exec'd later, find
 * it. lib is replaced by the link's path.
 */
static int preloadable(struct strbuf *lib)
{
	struct strbuf dir = STRBUF_INIT, link = STRBUF_INIT, tmp = STRBUF_INIT;
	uint64_t h = 0xcbf29ce484222325ull;
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;
	int ret = -1;

	if (!strpbrk(lib->buf, " :\t"))
		return 0;
	for (const char *p = lib->buf; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	strbuf_addf(&dir, "/tmp/memray-%u", (unsigned)getuid());
	if (mkdir(dir.buf, 0700) < 0 && errno != EEXIST) {
		error_errno("cannot create '%s' (for a link to %s)", dir.buf, lib->buf);
		goto out;
	}
	if (lstat(dir.buf, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 022)) {
		error("'%s' is not a private directory of this user: cannot link %s from it", dir.buf, lib->buf);
		goto out;
	}
	strbuf_addf(&link, "%s/libmemray_tracker-%016llx.so", dir.buf, (unsigned long long)h);
	n = readlink(link.buf, target, sizeof(target) - 1);
	if (n < 0 || (size_t)n != lib->len || memcmp(target, lib->buf, lib->len)) {
		strbuf_addf(&tmp, "%s.%d", link.buf, (int)getpid());
		unlink(tmp.buf);
		if (symlink(lib->buf, tmp.buf) < 0 || rename(tmp.buf, link.buf) < 0) {
			error_errno("cannot link %s to %s", link.buf, lib->buf);
			unlink(tmp.buf);
			goto out;
		}
	}
	verbose(1, "tracker %s through %s (LD_PRELOAD splits on spaces and colons)", lib->buf, link.buf);
	strbuf_reset(lib);
	strbuf_add(lib, link.buf, link.len);
	ret = 0;
out:
	strbuf_release(&dir);
	strbuf_release(&link);
	strbuf_release(&tmp);
	return ret;
}

/* an absolute path for `path`, whose directory must exist */
static int absolute_output(const char *path, struct strbuf *out)
{
	char *copy = strdup(path), *dir, *base, *absdir;
	int ret = 0;

	if (!copy)
		return error("out of memory");
	dir = dirname(copy);
	absdir = realpath(dir, NULL);
	if (!absdir) {
		ret = error_errno("cannot create capture file '%s'", path);
	} else {
		char *copy2 = strdup(path);

		base = copy2 ? basename(copy2) : NULL;
		if (!base)
			ret = error("out of memory");
		else
			strbuf_addf(out, "%s/%s", strcmp(absdir, "/") ? absdir : "", base);
		free(copy2);
	}
	free(absdir);
	free(copy);
	return ret;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* what the child says on the report pipe when it cannot go on: which step failed, and errno */
struct child_failure {
	int is_header;		/* writing the capture header; else exec */
	int err;
};

/*
 * In the child: header, environment, exec; says on `report` what failed.
 * SIGXFSZ is ignored while the header is written, so a file size limit
 * is an EFBIG error here instead of a kill that looks like the program's,
 * and restored before exec: the program gets the disposition memray got.
 */
/*
 * The program's RLIMIT_NOFILE, if memray raised its own: a soft limit too
 * small for the capture, the report pipe and the standard three (ulimit
 * -Sn 5) is raised to the hard one while memray runs, and put back in the
 * child before exec, so the program gets the limit it was given.
 */
static struct rlimit program_nofile;
static int raised_nofile;

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= 64 || rl.rlim_max <= rl.rlim_cur)
		return;
	program_nofile = rl;
	rl.rlim_cur = rl.rlim_max < 1024 ? rl.rlim_max : 1024;
	raised_nofile = setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

/*
 * Live mode, in the child: the socket stays open across exec (the tracker
 * adopts it) and is named with its inode; the program's output goes to
 * its file, its stdin is /dev/null (the terminal is the live view's).
 */
static int child_live(const struct launch *l, int fd, int out_fd)
{
	struct stat st;
	char val[64];
	int null_fd;

	if (out_fd >= 0) {
		null_fd = open("/dev/null", O_RDONLY);
		if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
			return -1;
		close(null_fd);
	}
	if (!l->is_live)
		return 0;
	if (fstat(fd, &st) < 0 || fcntl(fd, F_SETFD, 0) < 0)
		return -1;
	snprintf(val, sizeof(val), "%d:%lu", fd, (unsigned long)st.st_ino);
	return setenv(ENV_LIVE, val, 1);
}

static void MEMRAY_NORETURN run_child(const struct launch *l, int fd, int out_fd, int report, const char *program,
				      const char *output, const char *lib)
{
	unsigned flags = l->flags;
	char **argv = l->argv;
	struct child_failure failure = { 1, 0 };
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old_xfsz;
	struct capture_header h = { .flags = flags, .rss_interval_ms = 10, .pid = (uint32_t)getpid(),
				    .start_ns = now_ns() };
	struct strbuf sb = STRBUF_INIT, preload = STRBUF_INIT;
	const char *old_preload = getenv("LD_PRELOAD");
	char num[32];

	for (h.argc = 0; argv[h.argc]; h.argc++)	/* all: the encoder bounds them (format.h) */
		;
	h.argv = argv;
	sigaction(SIGXFSZ, &ignore, &old_xfsz);
	errno = 0;
	if (capture_header_encode(&sb, &h) < 0 || write(fd, sb.buf, sb.len) != (ssize_t)sb.len) {
		failure.err = errno ? errno : ENOSPC;	/* a short write: the disk is full */
		goto fail;
	}
	sigaction(SIGXFSZ, &old_xfsz, NULL);
	if (!l->is_live)
		close(fd);
	failure.is_header = 0;
	if (child_live(l, fd, out_fd) < 0) {
		failure.err = errno;
		goto fail;
	}
	strbuf_addstr(&preload, lib);
	if (old_preload && *old_preload)
		strbuf_addf(&preload, ":%s", old_preload);
	snprintf(num, sizeof(num), "%d", (int)getpid());
	setenv(ENV_PID, num, 1);
	snprintf(num, sizeof(num), "%u", flags);
	setenv(ENV_OPTIONS, num, 1);
	setenv(ENV_OUTPUT, output, 1);
	setenv(ENV_TRACKER, lib, 1);
	setenv("LD_PRELOAD", preload.buf, 1);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	if (raised_nofile)
		setrlimit(RLIMIT_NOFILE, &program_nofile);
	execv(program, argv);
	failure.err = errno;
fail:
	if (write(report, &failure, sizeof(failure)) < 0)
		_exit(EXIT_NOT_FOUND);
	_exit(EXIT_NOT_FOUND);
}

/* does the capture at path hold nothing but its header? */
static int capture_is_empty(const char *path)
{
	uint8_t head[CAPTURE_HEADER_FIXED];
	const char *why;
	char whybuf[128];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && read(fd, head, sizeof(head)) == (ssize_t)sizeof(head))
		ret = (off_t)capture_header_size(head, sizeof(head), &why, whybuf, sizeof(whybuf)) >= st.st_size;
	close(fd);
	return ret;
}

static int exit_status_of(int status, const char *program)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		const char *abbrev = sigabbrev_np(sig);

		fprintf(stderr, "memray: %s was killed by signal %d (SIG%s)\n", program, sig,
			abbrev ? abbrev : "?");
		return 128 + sig;
	}
	return EXIT_RUN_ERROR;
}

/*
 * Create the capture at its absolute path `out`: the fd, or -1 after a
 * message. Only a regular file will do: a FIFO would block the open (and
 * then the program) until something read it, and a device is no capture.
 * O_NONBLOCK makes the open itself return at once whatever the path is
 * (a FIFO with no reader fails with ENXIO); fstat then says what it is.
 */
static int open_capture(const struct launch *l, struct strbuf *out)
{
	struct stat st;
	int fd;

	if (absolute_output(l->output, out) < 0)
		return -1;
	if (stat(out->buf, &st) == 0 && S_ISDIR(st.st_mode))
		return error("capture file '%s' is a directory", l->output);
	if (stat(out->buf, &st) == 0 && !S_ISREG(st.st_mode))
		return error("capture file '%s' is not a regular file (a FIFO, socket or device)", l->output);
	fd = open(out->buf, O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK | (l->force ? O_TRUNC : O_EXCL), 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			return error("capture file '%s' already exists (use -f to overwrite it)", l->output);
		if (errno == ENXIO)
			return error("capture file '%s' is not a regular file (a FIFO, socket or device)", l->output);
		return error_errno("cannot create capture file '%s'", l->output);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		close(fd);
		return error("capture file '%s' is not a regular file (a FIFO, socket or device)", l->output);
	}
	return fd;
}

/* the child said it could not go on: name the step, remove the capture; the exit status */
static int report_failure(const struct launch *l, const struct child_failure *f, const char *out)
{
	errno = f->err;
	if (f->is_header)
		error_errno("cannot write the capture header to '%s'", out);
	else
		error_errno("cannot run %s", l->argv[0]);
	if (!l->is_live)
		unlink(out);
	if (f->is_header)
		return EXIT_RUN_ERROR;	/* the program never ran: not its status */
	return f->err == ENOENT ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE;
}

int launch_run(struct launch *l)
{
	char **argv = l->argv;
	unsigned flags = l->flags;
	struct strbuf program = STRBUF_INIT, lib = STRBUF_INIT, out = STRBUF_INIT;
	struct sigaction sa, old_int, old_quit, old_term, old_hup;
	struct child_failure failure;
	int fd, out_fd = -1, pipefd[2], status, ret = EXIT_RUN_ERROR, reaped = 0;
	ssize_t n;

	l->ran = 0;

	switch (launch_find_program(argv[0], &program)) {
	case 0:
		break;
	case EXIT_NOT_EXECUTABLE:
		error("%s: permission denied (not an executable file)", argv[0]);
		ret = EXIT_NOT_EXECUTABLE;
		goto out;
	default:
		error("%s: command not found", argv[0]);
		ret = EXIT_NOT_FOUND;
		goto out;
	}
	raise_nofile();
	if (find_tracker(&lib) < 0 || preloadable(&lib) < 0)
		goto out;
	if (l->is_live)
		strbuf_addstr(&out, l->output);
	if ((fd = l->is_live ? l->live_fd : open_capture(l, &out)) < 0)
		goto out;
	if (l->program_output && (out_fd = file_create(l->program_output, l->force, "file for the program's output")) < 0)
		goto out;
	verbose(1, "tracker %s", lib.buf);
	verbose(1, "capture %s, options 0x%x", out.buf, flags);
	verbose(2, "running %s", program.buf);
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		error_errno("pipe");
		close(fd);
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGQUIT, &sa, &old_quit);
	sa.sa_handler = forward_signal;
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);

	fflush(NULL);
	child_pid = fork();
	if (child_pid < 0) {
		error_errno("fork");
		close(fd);
		goto restore;
	}
	if (child_pid == 0) {
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
		close(pipefd[0]);
		run_child(l, fd, out_fd, pipefd[1], program.buf, out.buf, lib.buf);
	}
	close(fd);
	if (out_fd >= 0)
		close(out_fd);
	close(pipefd[1]);
	do {
		n = read(pipefd[0], &failure, sizeof(failure));
	} while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n == 0 && l->while_running)
		l->while_running(l->ctx, child_pid, &status, &reaped);
	while (!reaped && waitpid(child_pid, &status, 0) < 0) {
		if (errno != EINTR) {
			error_errno("waitpid");
			goto restore;
		}
	}
	if (n == (ssize_t)sizeof(failure)) {
		ret = report_failure(l, &failure, out.buf);
		goto restore;
	}
	ret = exit_status_of(status, argv[0]);
	l->ran = 1;
	verbose(1, "%s exited with status %d", argv[0], ret);
	if (!l->judges_empty && !l->is_live && capture_is_empty(out.buf))
		warning("%s recorded nothing: " CAPTURE_UNTRACKED_WHY, argv[0]);
restore:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
out:
	strbuf_release(&program);
	strbuf_release(&lib);
	strbuf_release(&out);
	return ret;
}
