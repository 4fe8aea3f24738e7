/*
 * cli/cmd_live: `memray live PORT`, and the live side of `memray run
 * --live` and `--live-remote` (run_live).
 *
 * The bytes are the capture format's, over a stream socket (no second
 * format). `run --live` joins the program and the view with a socket pair
 * and sends the program's output to a file, as the terminal is the
 * view's. `run --live-remote` listens on 127.0.0.1 only, waits for one
 * reader, and starts the program once it has connected: the program never
 * runs unwatched, and its tracker needs no listening of its own.
 * `memray live PORT` connects (waiting up to CONNECT_WAIT_S for a program
 * to listen) and shows the view; with -o it also writes what it receives
 * to a capture file that every report reads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/launch.h"
#include "cli/options.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "live/session.h"
#include "live/tui.h"

#define CONNECT_WAIT_S 10

static const char live_usage[] =
	"usage: memray live [-h] [-o FILE] [-f] PORT\n"
	"\n"
	"Show, in this terminal, the memory of a program started with\n"
	"'memray run --live-remote --live-port PORT PROGRAM', as it runs: the\n"
	"locations holding live memory (own, total, live allocations), the heap\n"
	"and RSS over time, the peak so far, per thread or all threads. If no\n"
	"program is listening yet, waits up to 10 seconds for one.\n"
	"\n"
	"keys: q quit, p or space pause/resume, o t a sort by own, total,\n"
	"allocations, < > (or the arrow keys) previous/next thread\n"
	"\n"
	"options:\n"
	"  -o, --output FILE  also write the capture received to FILE, for reports later\n"
	"  -f, --force        overwrite FILE if it exists\n"
	"\n"
	"NO_COLOR (set, not empty) turns colour off.\n"
	"exit status: 0 when the view was closed; 1 when no program could be reached\n"
	"or the capture file cannot be written; 2 on a usage error.\n";

/* a TCP port from the command line: 1..65535, or 0 after a message */
static int parse_port(const char *cmd, const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 1 || v > 65535) {
		error("%s: '%s' is not a port number (1-65535)", cmd, s);
		return 0;
	}
	return (int)v;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

/* connect to 127.0.0.1:port, waiting for a listener up to CONNECT_WAIT_S: the fd, or -1 after a message */
static int connect_port(int port)
{
	struct sockaddr_in sa = loopback(port);
	time_t until = time(NULL) + CONNECT_WAIT_S;
	int said = 0;

	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return error_errno("socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		if (errno != ECONNREFUSED)
			return error_errno("cannot connect to 127.0.0.1:%d", port);
		if (time(NULL) >= until)
			return error("no program is waiting for a reader on 127.0.0.1:%d (start one with "
				     "'memray run --live-remote --live-port %d PROGRAM')", port, port);
		if (!said++)
			fprintf(stderr, "memray: waiting for a program on 127.0.0.1:%d\n", port);
		usleep(100 * 1000);
	}
}

/* after the view: what went wrong with the stream, for the terminal's scrollback */
static void say_problem(const struct live_session *s)
{
	const char *problem = live_session_problem(s);

	if (problem)
		fprintf(stderr, "memray: %s\n", problem);
	if (s->has_begun && s->a.lost)
		fprintf(stderr, "memray: the tracker lost %llu records\n", (unsigned long long)s->a.lost);
}

int cmd_live(int argc, char **argv)
{
	const char *output = NULL;
	int force = 0, n, port, fd, ret, sig;
	struct opt opts[] = {
		OPT_STRING('o', "output", &output),
		OPT_FLAG('f', "force", &force),
		OPT_END(),
	};
	struct live_session s;
	struct live_tui t = { 0 };
	char name[32];

	n = options_parse(argc, argv, "live", live_usage, opts, 0);
	if (n < 0)
		return n == OPTIONS_HELP ? 0 : EXIT_USAGE;
	if (n != 1) {
		error("live: give one PORT (see 'memray live --help')");
		return EXIT_USAGE;
	}
	if (!(port = parse_port("live", argv[0])))
		return EXIT_USAGE;
	if (!isatty(0) || !isatty(1)) {
		error("live: the live view needs a terminal (stdin and stdout)");
		return EXIT_USAGE;
	}
	snprintf(name, sizeof(name), "127.0.0.1:%d", port);
	t.title = name;
	if (live_session_init(&s, name, output, force) < 0 || (fd = connect_port(port)) < 0 ||
	    live_session_attach(&s, fd) < 0) {
		live_session_release(&s);
		return 1;
	}
	sig = live_tui_run(&s, &t);
	ret = sig < 0 ? 1 : 0;
	say_problem(&s);
	if (output && s.bytes_in)
		fprintf(stderr, "memray: wrote %s\n", output);
	live_session_release(&s);
	if (sig > 0)
		live_tui_die(sig);	/* after the capture is whole and the terminal restored */
	return ret;
}

/* ------------------------------------------------------------------ */
/* run --live, run --live-remote                                         */

struct run_view {
	struct live_session s;
	struct live_tui t;
	int failed;
};

static void view_while_running(void *ctx, pid_t pid, int *status, int *reaped)
{
	struct run_view *v = ctx;

	v->t.child = pid;
	if (live_tui_run(&v->s, &v->t) < 0)
		v->failed = 1;
	say_problem(&v->s);
	if (v->s.has_exit_status) {
		*status = v->s.exit_status;
		*reaped = 1;
		return;
	}
	/* the view was closed first: the tracker sees its reader go, the program runs on */
	if (v->s.fd >= 0)
		close(v->s.fd);
	v->s.fd = -1;
	fprintf(stderr, "memray: the live view was closed; waiting for %s (pid %d) to end\n", v->t.title, (int)pid);
}

/* listen on 127.0.0.1:port (0: any free port) and take one reader: its fd, or -1 after a message */
static int await_reader(int port)
{
	struct sockaddr_in sa = loopback(port);
	socklen_t len = sizeof(sa);
	int one = 1, conn, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return error_errno("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		error_errno("cannot listen on 127.0.0.1:%d%s", port,
			    errno == EADDRINUSE ? " (another program uses that port; choose another with --live-port)" : "");
		close(fd);
		return -1;
	}
	fprintf(stderr, "memray: waiting for a live reader on 127.0.0.1:%d: run 'memray live %d' in another terminal\n",
		ntohs(sa.sin_port), ntohs(sa.sin_port));
	do {
		conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	} while (conn < 0 && errno == EINTR);
	if (conn < 0)
		error_errno("accept");
	close(fd);
	return conn;
}

/* run --live-remote: a reader first, then the program */
static int run_remote(struct launch *l, const struct run_live_options *o)
{
	int port = o->port ? parse_port("run", o->port) : 0;

	if (o->port && !port)
		return EXIT_USAGE;
	if ((l->live_fd = await_reader(port)) < 0)
		return EXIT_RUN_ERROR;
	l->is_live = 1;
	l->output = "the live reader";
	return launch_run(l);
}

int run_live(struct launch *l, const struct run_live_options *o)
{
	struct run_view v;
	struct strbuf out = STRBUF_INIT;
	char *copy, *base;
	int sv[2], ret = EXIT_RUN_ERROR;

	if (o->is_remote)
		return run_remote(l, o);
	if (!isatty(0) || !isatty(1)) {
		error("run: --live needs a terminal (stdin and stdout); use --live-remote and 'memray live PORT'");
		return EXIT_USAGE;
	}
	copy = strdup(l->argv[0]);
	base = copy ? basename(copy) : (char *)"program";
	memset(&v, 0, sizeof(v));
	if (live_session_init(&v.s, base, o->tee, l->force) < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		error_errno("socketpair");
		goto out;
	}
	if (live_session_attach(&v.s, sv[0]) < 0) {
		close(sv[1]);
		goto out;
	}
	strbuf_addf(&out, "memray-%s.%d.out", base, (int)getpid());
	v.t.title = l->argv[0];
	v.t.program_output = out.buf;
	l->is_live = 1;
	l->live_fd = sv[1];
	l->output = "the live view";
	l->program_output = out.buf;
	l->while_running = view_while_running;
	l->ctx = &v;
	ret = launch_run(l);
	if (l->ran)
		fprintf(stderr, "memray: the program's output is in %s%s%s\n", out.buf,
			o->tee && v.s.bytes_in ? "; the capture in " : "", o->tee && v.s.bytes_in ? o->tee : "");
	if (v.failed && !ret)
		ret = EXIT_RUN_ERROR;
out:
	live_session_release(&v.s);
	strbuf_release(&out);
	free(copy);
	return ret;
}
