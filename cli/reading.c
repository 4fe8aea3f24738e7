/*
 * cli/reading: what every command that reads a capture does around its
 * own work: take the one CAPTURE argument, open it, run the analysis,
 * say how the capture ended, and make a symbolizer; then free it all.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "capture/reader.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/strbuf.h"

static int progress_shown;

int reading_path(const char *cmd, int n, char **args, const char **path)
{
	if (n > 1) {
		error("%s: more than one capture given (see 'memray %s --help')", cmd, cmd);
		return EXIT_USAGE;
	}
	*path = n ? args[0] : NULL;
	return 0;
}

/* "memray: reading 45%" on a terminal while a big capture is read */
static void show_progress(uint64_t done, uint64_t total)
{
	fprintf(stderr, "\rmemray: reading %3d%%", total ? (int)(done * 100 / total) : 0);
	fflush(stderr);
	progress_shown = 1;
}

int reading_open(struct reading *rd, const char *cmd, const char *path, int partial,
		 const struct analysis_options *opts)
{
	struct analysis_options o = { 0 };
	struct timespec t0, t1;
	int ret;

	if (opts)
		o = *opts;

	memset(rd, 0, sizeof(*rd));
	if (!path) {
		error("%s: no capture given (see 'memray %s --help')", cmd, cmd);
		return EXIT_USAGE;
	}
	rd->r = capture_reader_open(path);
	if (!rd->r)
		return EXIT_CAPTURE_ERROR;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	o.progress = isatty(STDERR_FILENO) ? show_progress : NULL;
	if (analysis_run(&rd->a, rd->r, &o) < 0) {
		reading_close(rd);
		return EXIT_CAPTURE_ERROR;
	}
	if (progress_shown) {
		fputs("\r\033[K", stderr);	/* wipe the progress line */
		progress_shown = 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	verbose(1, "%s: %llu records in %u segment(s) read in %.3f s", path, (unsigned long long)rd->a.records,
		rd->a.segments, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	verbose(2, "%zu stack nodes, %zu modules, %zu threads, %zu RSS samples", rd->a.nnodes - 1,
		rd->a.nmodules, rd->a.nthreads, rd->a.nsamples);
	ret = report_capture_status(rd->r, partial);
	if (!ret && rd->a.is_stopped)
		warning("%s: %s", path, ANALYSIS_STOPPED_WARNING);
	if (!ret && rd->a.lost)
		warning("%s: the tracker dropped %llu records when its writer fell behind; "
			"figures may be off", path, (unsigned long long)rd->a.lost);
	if (!ret && !(rd->sym = symbolizer_new())) {
		error("%s: out of memory", cmd);
		ret = EXIT_CAPTURE_ERROR;
	}
	if (ret)
		reading_close(rd);
	return ret;
}

void reading_close(struct reading *rd)
{
	symbolizer_free(rd->sym);
	if (rd->r)
		analysis_release(&rd->a);
	capture_reader_free(rd->r);
	memset(rd, 0, sizeof(*rd));
}

int output_write_or_stdout(const char *cmd, const char *path, int force, const struct strbuf *data)
{
	if (path)
		return output_write(path, force, data);
	if (fwrite(data->buf, 1, data->len, stdout) != data->len || fflush(stdout) != 0) {
		error_errno("%s: writing to stdout", cmd);
		return EXIT_CAPTURE_ERROR;
	}
	return 0;
}

int terminal_width(void)
{
	struct winsize ws;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return 0;
}

int count_arg(const char *cmd, const char *opt, const char *value, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-') {
		error("%s: %s takes a whole number, not '%s'", cmd, opt, value);
		return EXIT_USAGE;
	}
	*out = (size_t)v;
	return 0;
}

void output_default(struct strbuf *name, const char *capture, const char *kind, const char *ext)
{
	char *dir = strdup(capture), *base = strdup(capture);
	const char *b = base ? basename(base) : "capture";
	size_t len = strlen(b);

	if (len > 4 && !strcmp(b + len - 4, ".bin"))
		len -= 4;
	strbuf_addf(name, "%s/memray-%s-%.*s.%s", dir ? dirname(dir) : ".", kind, (int)len, b, ext);
	free(dir);
	free(base);
}

int output_check(const char *path, int force)
{
	if (!force && access(path, F_OK) == 0) {
		error("output file '%s' already exists (use -f to overwrite it)", path);
		return EXIT_CAPTURE_ERROR;
	}
	return 0;
}

int output_write(const char *path, int force, const struct strbuf *data)
{
	/* O_NONBLOCK: a FIFO with no reader fails (ENXIO) instead of blocking */
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK | (force ? O_TRUNC : O_EXCL), 0644);

	if (fd < 0) {
		if (errno == EEXIST)
			error("output file '%s' already exists (use -f to overwrite it)", path);
		else if (errno == ENXIO)
			error("output file '%s' is not a regular file (a FIFO with no reader)", path);
		else
			error_errno("cannot create '%s'", path);
		return EXIT_CAPTURE_ERROR;
	}
	/* a FIFO someone reads, or a terminal, is fine: write to it as it is, blocking */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		error_errno("cannot write '%s'", path);
		close(fd);
		return EXIT_CAPTURE_ERROR;
	}
	if (write(fd, data->buf, data->len) != (ssize_t)data->len) {
		error_errno("cannot write '%s'", path);
		close(fd);
		return EXIT_CAPTURE_ERROR;
	}
	if (close(fd) < 0) {
		error_errno("cannot write '%s'", path);
		return EXIT_CAPTURE_ERROR;
	}
	return 0;
}
