/*
 * cli/cmd_run: `memray run`, the parent side of tracking.
 *
 * It creates the capture file (refusing to overwrite it without -f), forks,
 * and in the child writes the file header and execs the program with the
 * tracker preloaded (see tracker/tracker.h for the variables it passes).
 * The parent only waits: it shares no memory with the program, forwards
 * SIGTERM and SIGHUP to it, leaves SIGINT and SIGQUIT to the terminal, and
 * exits with the program's status (128+N when a signal killed it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture/format.h"
#include "capture/header.h"
#include "cli/commands.h"
#include "common/env.h"
#include "common/error.h"
#include "common/install.h"
#include "common/strbuf.h"

#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127
#define EXIT_RUN_ERROR 1

static const char run_usage[] =
	"usage: memray run [-h] [-o FILE] [-f] [-q] [--native] [--follow-fork] [--aggregate]\n"
	"                  [--trace-python-allocators] [--no-compress]\n"
	"                  (PROGRAM [ARGS...] | SCRIPT.py [ARGS...] | -m MODULE [ARGS...] | -c CODE)\n"
	"\n"
	"Run PROGRAM with the tracker loaded and record every allocation (malloc family,\n"
	"C++ new/delete, mmap) with its call stack into a capture file. A SCRIPT.py, -m\n"
	"and -c run Python (/usr/bin/python3, or $MEMRAY_PYTHON) under the tracker, and\n"
	"its stacks are Python frames: function, file and line.\n"
	"\n"
	"options:\n"
	"  -o, --output FILE  capture file (default: memray-PROGRAM.PID.bin)\n"
	"  -f, --force        overwrite FILE if it exists\n"
	"  -q, --quiet        print nothing of memray's own after the run\n"
	"  --native           Python programs: native frames too, merged with the Python\n"
	"                     ones (native programs always have native frames)\n"
	"  --trace-python-allocators\n"
	"                     record every Python object pymalloc hands out, instead of\n"
	"                     only the arenas it takes from the system\n"
	"  -m MODULE          run a Python module as a script (python3 -m MODULE)\n"
	"  -c CODE            run a Python program given as a string (python3 -c CODE)\n"
	"  --follow-fork      track forked children too, each into FILE.<pid>\n"
	"  --aggregate        keep per-stack totals in the process and write only those\n"
	"                     at exit (a small file; nothing is written if it is killed)\n"
	"  --no-compress      write raw blocks instead of lz4-compressed ones\n"
	"\n"
	"exit status: the program's own; 128+N if signal N killed it; 126 if PROGRAM\n"
	"is not executable, 127 if it is not found; 1 if the capture cannot be\n"
	"created; 2 on a usage error. memray's messages go to stderr, never stdout.\n";

static pid_t child_pid;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

/* the program's path: as given if it holds a '/', else searched in PATH */
static int find_program(const char *name, struct strbuf *path)
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
			return error_errno(ENV_TRACKER_LIB "=%s", env);
		strbuf_addstr(lib, abs);
		free(abs);
		return 0;
	}
	if (install_find("libmemray_tracker.so", lib) == 0)
		return 0;
	if (!lib->len)
		return error_errno("cannot find where memray is installed");
	return error("cannot find libmemray_tracker.so next to %s or in %s/../lib/memray "
		     "(set " ENV_TRACKER_LIB ")", lib->buf, lib->buf);
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

/* in the child: header, environment, exec; reports errno on `report` if exec fails */
static void MEMRAY_NORETURN run_child(int fd, int report, unsigned flags, const char *program,
				      char **argv, const char *output, const char *lib)
{
	struct capture_header h = { .flags = flags, .rss_interval_ms = 10, .pid = (uint32_t)getpid(),
				    .start_ns = now_ns() };
	struct strbuf sb = STRBUF_INIT, preload = STRBUF_INIT;
	const char *old_preload = getenv("LD_PRELOAD");
	char num[32];
	int err;

	for (h.argc = 0; argv[h.argc] && h.argc < CAPTURE_ARGS_MAX; h.argc++)
		;
	h.argv = argv;
	if (capture_header_encode(&sb, &h) < 0 || write(fd, sb.buf, sb.len) != (ssize_t)sb.len) {
		err = errno ? errno : ENOSPC;
		goto fail;
	}
	close(fd);
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
	execv(program, argv);
	err = errno;
fail:
	if (write(report, &err, sizeof(err)) < 0)
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

int run_program(char **argv, const char *output, unsigned flags, int force, int *ran)
{
	struct strbuf program = STRBUF_INIT, lib = STRBUF_INIT, out = STRBUF_INIT;
	struct sigaction sa, old_int, old_quit, old_term, old_hup;
	int fd, pipefd[2], err = 0, status, ret = EXIT_RUN_ERROR;
	struct stat st;
	ssize_t n;

	*ran = 0;

	switch (find_program(argv[0], &program)) {
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
	if (find_tracker(&lib) < 0 || absolute_output(output, &out) < 0)
		goto out;
	if (stat(out.buf, &st) == 0 && S_ISDIR(st.st_mode)) {
		error("capture file '%s' is a directory", output);
		goto out;
	}
	fd = open(out.buf, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			error("capture file '%s' already exists (use -f to overwrite it)", output);
		else
			error_errno("cannot create capture file '%s'", output);
		goto out;
	}
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
		run_child(fd, pipefd[1], flags, program.buf, argv, out.buf, lib.buf);
	}
	close(fd);
	close(pipefd[1]);
	do {
		n = read(pipefd[0], &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	while (waitpid(child_pid, &status, 0) < 0) {
		if (errno != EINTR) {
			error_errno("waitpid");
			goto restore;
		}
	}
	if (n == (ssize_t)sizeof(err)) {
		errno = err;
		error_errno("cannot run %s", argv[0]);
		unlink(out.buf);
		ret = err == ENOENT ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE;
		goto restore;
	}
	ret = exit_status_of(status, argv[0]);
	*ran = 1;
	verbose(1, "%s exited with status %d", argv[0], ret);
	if (capture_is_empty(out.buf))
		warning("%s recorded nothing: a statically linked or setuid program ignores "
			"LD_PRELOAD, and one killed at once never starts the tracker", argv[0]);
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

/* does PROGRAM name a Python script, to be run by the interpreter? */
static int is_python_script(const char *program)
{
	size_t n = strlen(program);

	return n > 3 && !strcmp(program + n - 3, ".py");
}

/*
 * python3 ARGS...: the interpreter is $MEMRAY_PYTHON (the Python shim
 * sets it to the interpreter that runs it) or Debian's /usr/bin/python3,
 * never a python3 found in PATH (pyenv's is a shell script). The array
 * is the caller's to free; its strings are borrowed.
 */
static char **python_command(char **args, int n)
{
	const char *python = getenv(ENV_PYTHON);
	char **cmd = calloc((size_t)n + 2, sizeof(char *));

	if (!cmd)
		return NULL;
	cmd[0] = (char *)(python && *python ? python : "/usr/bin/python3");
	memcpy(cmd + 1, args, (size_t)n * sizeof(char *));
	return cmd;
}

int cmd_run(int argc, char **argv)
{
	const char *output = NULL;
	int force = 0, quiet = 0, i, ret = EXIT_RUN_ERROR, ran, python_flag = 0;
	unsigned flags = CAPTURE_F_LZ4;
	struct strbuf name = STRBUF_INIT;
	char **args = NULL;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (is_help(a)) {
			fputs(run_usage, stdout);
			return 0;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
			if (++i == argc) {
				error("run: %s needs a file name (see 'memray run --help')", a);
				goto usage;
			}
			output = argv[i];
		} else if (!strncmp(a, "--output=", 9)) {
			output = a + 9;
		} else if (!strcmp(a, "-f") || !strcmp(a, "--force")) {
			force = 1;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			quiet = 1;
		} else if (!strcmp(a, "--native")) {
			flags |= CAPTURE_F_NATIVE;
		} else if (!strcmp(a, "--trace-python-allocators")) {
			flags |= CAPTURE_F_TRACE_PYTHON_ALLOCATORS;
		} else if (!strcmp(a, "-m") || !strcmp(a, "-c")) {
			if (i + 1 == argc) {
				error("run: %s needs a %s (see 'memray run --help')", a,
				      a[1] == 'm' ? "module name" : "string of Python code");
				goto usage;
			}
			python_flag = 1;
			break;
		} else if (!strcmp(a, "--follow-fork")) {
			flags |= CAPTURE_F_FOLLOW_FORK;
		} else if (!strcmp(a, "--aggregate")) {
			flags |= CAPTURE_F_AGGREGATE;
		} else if (!strcmp(a, "--no-compress")) {
			flags &= ~CAPTURE_F_LZ4;
		} else {
			error("run: unknown option '%s' (see 'memray run --help')", a);
			goto usage;
		}
	}
	if (i == argc) {
		error("run: no program given (see 'memray run --help')");
		goto usage;
	}
	if (!output || !*output) {
		if (output) {
			error("run: empty output file name (see 'memray run --help')");
			goto usage;
		}
		/* the script's or module's name, as the Python tool names it */
		const char *what = python_flag ? (argv[i][1] == 'm' ? argv[i + 1] : "python") : argv[i];
		char *copy = strdup(what);

		strbuf_addf(&name, "memray-%s.%d.bin", copy ? basename(copy) : "program", (int)getpid());
		free(copy);
		output = name.buf;
	}
	if (python_flag || is_python_script(argv[i])) {
		args = python_command(argv + i, argc - i);
		if (!args) {
			error("out of memory");
			goto out;
		}
	}
	ret = run_program(args ? args : argv + i, output, flags, force, &ran);
	if (ran && !quiet) {
		fprintf(stderr, "memray: wrote %s%s\n", output,
			flags & CAPTURE_F_FOLLOW_FORK ? " (and FILE.<pid> for each child)" : "");
		fprintf(stderr, "memray: next: memray stats %s\n", output);
	}
	goto out;
usage:
	ret = EXIT_USAGE;
out:
	free(args);
	strbuf_release(&name);
	return ret;
}
