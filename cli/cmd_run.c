/*
 * cli/cmd_run: `memray run`, track a program: its options, the Python
 * forms (SCRIPT.py, -m, -c) and the capture's default name; the launch
 * itself is cli/launch's.
 */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/format.h"
#include "cli/commands.h"
#include "cli/launch.h"
#include "cli/options.h"
#include "common/env.h"
#include "common/error.h"
#include "common/strbuf.h"

static const char run_usage[] =
	"usage: memray run [-h] [-o FILE] [-f] [-q] [--native] [--follow-fork] [--aggregate]\n"
	"                  [--trace-python-allocators] [--reachability] [--no-compress]\n"
	"                  [--collect-garbage[=INTERVAL]]\n"
	"                  [--live | --live-remote [--live-port PORT]]\n"
	"                  (PROGRAM [ARGS...] | SCRIPT.py [ARGS...] | -m MODULE [ARGS...] | -c CODE)\n"
	"\n"
	"Run PROGRAM with the tracker loaded and record every allocation (malloc family,\n"
	"C++ new/delete, mmap) with its call stack into a capture file. A SCRIPT.py, -m\n"
	"and -c run Python ($MEMRAY_PYTHON, else the python3 in PATH: a venv's, pyenv's\n"
	"real interpreter; else /usr/bin/python3) under the tracker, and\n"
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
	"  --reachability     at exit, stop the threads and scan the program's memory\n"
	"                     for pointers, so that each block still live is known as\n"
	"                     definitely, indirectly or possibly lost, or still\n"
	"                     reachable and from where (as valgrind's memcheck; costs\n"
	"                     an index of live blocks while the program runs)\n"
	"  --collect-garbage[=INTERVAL]\n"
	"                     free the memory the program lost while it runs: every\n"
	"                     INTERVAL (500ms, 2s; default 1s) and on SIGUSR2, stop\n"
	"                     the threads, scan as --reachability does, and free every\n"
	"                     block no pointer reaches, through the real free(); each\n"
	"                     is recorded (stats: 'Freed by the garbage collector').\n"
	"                     RISKS: a pointer the program hides (XOR-ed, tagged,\n"
	"                     stored on disk or in another process) is not seen, and\n"
	"                     its block is freed under it; memory of a custom allocator\n"
	"                     carved from malloc'd chunks is judged by the chunks only.\n"
	"                     Same as MEMRAY_GC=INTERVAL (which 'memray check' honours)\n"
	"  --no-compress      write raw blocks instead of lz4-compressed ones\n"
	"  --live             watch the program's memory in this terminal as it runs\n"
	"                     (keys as in 'memray live'); its output goes to\n"
	"                     memray-PROGRAM.PID.out; with -o, the capture is written too\n"
	"  --live-remote      wait for one 'memray live PORT' reader on 127.0.0.1, then\n"
	"                     start the program and stream its capture to the reader\n"
	"  --live-port PORT   the port for --live-remote (default: any free one, printed)\n"
	"\n"
	"Live mode follows the first process image (no --follow-fork, --aggregate).\n"
	"A reader that goes away, takes nothing for 5 s, or falls 32 MiB of records\n"
	"behind ends tracking (one line on the program's stderr); the program runs on.\n"
	"\n"
	"exit status: the program's own; 128+N if signal N killed it; 126 if PROGRAM\n"
	"is not executable, 127 if it is not found; 1 if the capture cannot be\n"
	"created or the live port cannot be listened on; 2 on a usage error. memray's messages go to stderr, never stdout.\n";

/* does PROGRAM name a Python script, to be run by the interpreter? */
static int is_python_script(const char *program)
{
	size_t n = strlen(program);

	return n > 3 && !strcmp(program + n - 3, ".py");
}

/* does path name an ELF file, rather than a script (pyenv's python3 shim)? */
static int is_elf(const char *path)
{
	char magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return 0;
	ok = read(fd, magic, 4) == 4 && !memcmp(magic, "\177ELF", 4);
	close(fd);
	return ok;
}

/* the interpreter a python3 script (pyenv's shim) runs: asked once, its sys.executable */
static int ask_executable(const char *python, struct strbuf *out)
{
	char *argv[] = { (char *)python, (char *)"-c", (char *)"import sys; print(sys.executable)", NULL };
	char buf[4096];
	int fds[2], status;
	ssize_t n, len = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		execv(python, argv);
		_exit(127);
	}
	close(fds[1]);
	while (pid > 0 && (n = read(fds[0], buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (buf[0] != '/' || !is_elf(buf))
		return -1;
	return strbuf_addstr(out, buf);
}

/*
 * The python3 the user would get: $MEMRAY_PYTHON (the Python shim sets
 * it to the interpreter that runs it), else the python3 in PATH (a
 * venv's, pyenv's), else /usr/bin/python3. A python3 that is a script
 * (pyenv's shim starts dozens of helpers, and LD_PRELOAD would track
 * them all) is asked once for the real interpreter's path. A venv's
 * python3 is kept as found, not resolved: its path is what makes it the
 * venv's.
 */
static void find_python(struct strbuf *python)
{
	const char *env = getenv(ENV_PYTHON);
	struct strbuf found = STRBUF_INIT;

	if (env && *env) {
		strbuf_addstr(python, env);
	} else if (launch_find_program("python3", &found) == 0 &&
		   (is_elf(found.buf) ? strbuf_addstr(python, found.buf) : ask_executable(found.buf, python)) == 0) {
		verbose(1, "python3 in PATH: %s is %s", found.buf, python->buf);
	} else {
		strbuf_reset(python);
		strbuf_addstr(python, "/usr/bin/python3");
	}
	strbuf_release(&found);
}

/* python ARGS...: the caller's to free; its strings are borrowed */
static char **python_command(const char *python, char **args, int n)
{
	char **cmd = calloc((size_t)n + 2, sizeof(char *));

	if (!cmd)
		return NULL;
	cmd[0] = (char *)python;
	memcpy(cmd + 1, args, (size_t)n * sizeof(char *));
	return cmd;
}

/* "memray-NAME.PID.bin", NAME the program's, the script's or the module's, as the Python tool names it */
static void default_output(struct strbuf *name, char **args, int python_flag)
{
	const char *what = python_flag ? (args[0][1] == 'm' ? args[1] : "python") : args[0];
	char *copy = strdup(what);

	strbuf_addf(name, "memray-%s.%d.bin", copy ? basename(copy) : "program", (int)getpid());
	free(copy);
}

/* the live options together: 0, or -1 after a usage error */
static int check_live(int live, int remote, const char *port, const char *output, unsigned flags)
{
	if (live && remote)
		return error("run: --live and --live-remote exclude each other");
	if (port && !remote)
		return error("run: --live-port goes with --live-remote");
	if (remote && output)
		return error("run: with --live-remote, -o belongs to the reader: 'memray live -o FILE PORT'");
	if ((live || remote) && (flags & (CAPTURE_F_FOLLOW_FORK | CAPTURE_F_AGGREGATE)))
		return error("run: live mode follows one process as it runs: no --follow-fork or --aggregate");
	return 0;
}

/* --collect-garbage[=INTERVAL]: checked here, read by the tracker from ENV_GC */
static int set_gc(const struct opt *o, const char *value, const char *cmd)
{
	*(int *)o->value = 1;
	if (!value)
		value = "";
	if (!env_gc_interval(value))
		return error("%s: --collect-garbage=%s: not an interval such as 500ms or 2s (at least %ums)", cmd,
			     value, ENV_GC_MIN_MS);
	if (setenv(ENV_GC, value, 1) < 0)
		return error_errno("%s: cannot set %s", cmd, ENV_GC);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	const char *output = NULL, *live_port = NULL;
	int force = 0, quiet = 0, n, ret = EXIT_RUN_ERROR, python_flag, live = 0, live_remote = 0, gc = 0;
	unsigned flags = CAPTURE_F_LZ4;
	struct opt opts[] = {
		OPT_STRING('o', "output", &output),
		OPT_FLAG('f', "force", &force),
		OPT_FLAG('q', "quiet", &quiet),
		OPT_SET_BIT(0, "native", &flags, CAPTURE_F_NATIVE),
		OPT_SET_BIT(0, "trace-python-allocators", &flags, CAPTURE_F_TRACE_PYTHON_ALLOCATORS),
		OPT_SET_BIT(0, "follow-fork", &flags, CAPTURE_F_FOLLOW_FORK),
		OPT_SET_BIT(0, "aggregate", &flags, CAPTURE_F_AGGREGATE),
		OPT_SET_BIT(0, "reachability", &flags, CAPTURE_F_REACHABILITY),
		OPT_CLEAR_BIT(0, "no-compress", &flags, CAPTURE_F_LZ4),
		OPT_CALLBACK_OPTIONAL("collect-garbage", &gc, set_gc),
		OPT_FLAG(0, "live", &live),
		OPT_FLAG(0, "live-remote", &live_remote),
		OPT_STRING(0, "live-port", &live_port),
		OPT_STOP('m', NULL),
		OPT_STOP('c', NULL),
		OPT_END(),
	};
	struct launch l = { 0 };
	struct strbuf name = STRBUF_INIT, python = STRBUF_INIT;
	char **args = NULL;

	n = options_parse(argc, argv, "run", run_usage, opts, OPTIONS_STOP_AT_ARG);
	if (n < 0)
		return n == OPTIONS_HELP ? 0 : EXIT_USAGE;
	if (!n) {
		error("run: no program given (see 'memray run --help')");
		return EXIT_USAGE;
	}
	if (output && !*output) {
		error("run: empty output file name (see 'memray run --help')");
		return EXIT_USAGE;
	}
	if (check_live(live, live_remote, live_port, output, flags) < 0)
		return EXIT_USAGE;
	if (gc && (flags & CAPTURE_F_AGGREGATE)) {
		error("run: --collect-garbage needs every block recorded: no --aggregate");
		return EXIT_USAGE;
	}
	/* options_parse() leaves -m and -c in front of their value */
	python_flag = argv[0][0] == '-' && (argv[0][1] == 'm' || argv[0][1] == 'c') && !argv[0][2];
	if (!output && !live && !live_remote) {
		default_output(&name, argv, python_flag);
		output = name.buf;
	}
	if (python_flag || is_python_script(argv[0])) {
		find_python(&python);
		args = python_command(python.buf, argv, n);
		if (!args) {
			error("out of memory");
			goto out;
		}
	}
	l = (struct launch){ .argv = args ? args : argv, .output = output, .flags = flags, .force = force };
	if (live || live_remote) {
		struct run_live_options lo = { .is_remote = live_remote, .port = live_port, .tee = output };

		ret = run_live(&l, &lo);
		goto out;
	}
	ret = launch_run(&l);
	if (l.ran && !quiet) {
		fprintf(stderr, "memray: wrote %s%s\n", output,
			flags & CAPTURE_F_FOLLOW_FORK ? " (and FILE.<pid> for each child)" : "");
		fprintf(stderr, "memray: next: memray stats %s\n", output);
	}
out:
	free(args);
	strbuf_release(&name);
	strbuf_release(&python);
	return ret;
}
