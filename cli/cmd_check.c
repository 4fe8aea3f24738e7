/*
 * cli/cmd_check: `memray check`, the CI memory gate (first part: one
 * window for the whole command). It runs the command under the tracker
 * following forks, reads every process's capture, judges the budgets, and
 * says so on stderr, in JUnit XML and in Markdown.
 *
 * The figures of a run of several processes: the peak is the highest
 * process's peak (each process has its own heap), leaks are added up.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/format.h"
#include "capture/reader.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "junit/junit.h"

static const char check_usage[] =
	"usage: memray check [-h] [--budget SIZE] [--leak-budget SIZE] [--junit FILE]\n"
	"                    [--markdown FILE] [--keep-captures DIR] -- COMMAND [ARGS...]\n"
	"\n"
	"Run COMMAND under the tracker (following forks), then judge its memory: the\n"
	"peak of the whole run against --budget, the bytes still live at exit against\n"
	"--leak-budget. Each rule's figure, limit and margin go to stderr, and to JUnit\n"
	"XML and Markdown files when asked.\n"
	"\n"
	"options:\n"
	"  --budget SIZE         fail when the peak exceeds SIZE\n"
	"  --leak-budget SIZE    fail when more than SIZE is leaked (0: any leak)\n"
	"  --junit FILE          write JUnit XML (Jenkins, GitLab, GitHub reporters)\n"
	"  --markdown FILE       write a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)\n"
	"  --keep-captures DIR   keep the captures in DIR (default: a temporary one)\n"
	"\n"
	"Sizes: KiB MiB GiB and bare K M G are binary (1024), kB MB GB decimal (1000);\n"
	"every message also gives exact bytes.\n"
	"\n"
	"exit status: 0 every rule passed and COMMAND succeeded; 1 a memory rule failed;\n"
	"2 usage error or unreadable capture; COMMAND's own status when COMMAND failed\n"
	"(its failure wins over a memory failure, which the reports still list).\n";

#define MAX_TOP 5

struct figures {
	uint64_t peak, leaked;
	struct strbuf peak_stacks, leak_stacks;	/* the top locations, one per line */
};

/* the top locations of one view of a capture, appended to sb */
static void top_locations(struct strbuf *sb, struct reading *rd, int leaks)
{
	size_t order[MAX_TOP], n = 0;

	for (size_t i = 0; i < rd->a.nentries; i++) {
		uint64_t v = leaks ? rd->a.entries[i].leak_bytes : rd->a.entries[i].peak_bytes;
		size_t k;

		if (!v)
			continue;
		for (k = n; k > 0; k--) {
			const struct analysis_entry *o = &rd->a.entries[order[k - 1]];

			if ((leaks ? o->leak_bytes : o->peak_bytes) >= v)
				break;
			if (k < MAX_TOP)
				order[k] = order[k - 1];
		}
		if (k < MAX_TOP) {
			order[k] = i;
			if (n < MAX_TOP)
				n++;
		}
	}
	for (size_t k = 0; k < n; k++) {
		const struct analysis_entry *e = &rd->a.entries[order[k]];
		char size[UNITS_BUF];

		strbuf_addf(sb, "  %s (%llu bytes) in %llu allocations at %s\n",
			    units_human(size, leaks ? e->leak_bytes : e->peak_bytes),
			    (unsigned long long)(leaks ? e->leak_bytes : e->peak_bytes),
			    (unsigned long long)(leaks ? e->leak_count : e->peak_count),
			    analysis_location(&rd->a, rd->sym, e->stack));
	}
}

/* read every capture in dir; 0, or EXIT_USAGE (2) when one cannot be read */
static int gather(const char *dir, struct figures *fig)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int ret = 0;

	if (!d) {
		error_errno("cannot read the capture directory '%s'", dir);
		return EXIT_USAGE;
	}
	while ((de = readdir(d))) {
		struct strbuf path = STRBUF_INIT;
		struct reading rd;

		if (strncmp(de->d_name, "memray-check.bin", 16))
			continue;
		strbuf_addf(&path, "%s/%s", dir, de->d_name);
		if (reading_open(&rd, "check", path.buf, 1)) {
			ret = EXIT_USAGE;
			strbuf_release(&path);
			continue;
		}
		if (rd.a.peak_bytes >= fig->peak) {
			fig->peak = rd.a.peak_bytes;
			strbuf_reset(&fig->peak_stacks);
			strbuf_addf(&fig->peak_stacks, "peak of %s:\n", capture_reader_header(rd.r)->argv[0]);
			top_locations(&fig->peak_stacks, &rd, 0);
		}
		if (rd.a.leaked_bytes) {
			fig->leaked += rd.a.leaked_bytes;
			strbuf_addf(&fig->leak_stacks, "leaked by %s (pid %u):\n", capture_reader_header(rd.r)->argv[0],
				    capture_reader_header(rd.r)->pid);
			top_locations(&fig->leak_stacks, &rd, 1);
		}
		reading_close(&rd);
		strbuf_release(&path);
	}
	closedir(d);
	return ret;
}

/* fill r for figure against limit; the strings go into the two strbufs */
static void judge(struct check_result *r, const char *name, const char *what, uint64_t figure, uint64_t limit,
		  const char *failure_type, struct strbuf *message, struct strbuf *details, const char *stacks)
{
	char f[UNITS_BUF], l[UNITS_BUF];
	int failed = figure > limit;

	r->name = name;
	r->figure = figure;
	r->limit = limit;
	r->failure_type = failed ? failure_type : NULL;
	strbuf_addf(message, "%s %s %s budget %s", what, units_human(f, figure), failed ? "exceeds" : "within",
		    units_human(l, limit));
	if (limit)
		strbuf_addf(message, " (%+.1f%%)", 100.0 * ((double)figure - (double)limit) / (double)limit);
	strbuf_addf(details, "%s: %llu bytes; limit: %llu bytes\n%s", what, (unsigned long long)figure,
		    (unsigned long long)limit, stacks);
	r->message = message->buf;
	r->details = details->buf;
}

/* remove the captures of a temporary directory, then the directory */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		struct strbuf path = STRBUF_INIT;

		if (de->d_name[0] == '.')
			continue;
		strbuf_addf(&path, "%s/%s", dir, de->d_name);
		unlink(path.buf);
		strbuf_release(&path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static int parse_size(const char *opt, const char *value, uint64_t *out)
{
	const char *why;

	if (units_parse(value, out, &why) < 0)
		return error("check: %s '%s': %s", opt, value, why);
	return 0;
}

int cmd_check(int argc, char **argv)
{
	const char *junit = NULL, *markdown = NULL, *keep = NULL;
	uint64_t budget = 0, leak_budget = 0;
	int has_budget = 0, has_leak_budget = 0, i, ret, ran, failed = 0;
	char tmpdir[] = "/tmp/memray-check-XXXXXX";
	const char *dir;
	struct strbuf capture = STRBUF_INIT, command = STRBUF_INIT, error_text = STRBUF_INIT;
	struct strbuf messages[2] = { STRBUF_INIT, STRBUF_INIT }, details[2] = { STRBUF_INIT, STRBUF_INIT };
	struct figures fig = { 0, 0, STRBUF_INIT, STRBUF_INIT };
	struct check_result results[2];
	struct check_run run = { 0 };
	struct timespec t0, t1;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (is_help(a)) {
			fputs(check_usage, stdout);
			return 0;
		} else if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (a[0] != '-') {
			break;
		} else if (i + 1 == argc) {
			error("check: %s needs a value (see 'memray check --help')", a);
			return EXIT_USAGE;
		} else if (!strcmp(a, "--budget")) {
			if (parse_size(a, argv[++i], &budget) < 0)
				return EXIT_USAGE;
			has_budget = 1;
		} else if (!strcmp(a, "--leak-budget")) {
			if (parse_size(a, argv[++i], &leak_budget) < 0)
				return EXIT_USAGE;
			has_leak_budget = 1;
		} else if (!strcmp(a, "--junit")) {
			junit = argv[++i];
		} else if (!strcmp(a, "--markdown")) {
			markdown = argv[++i];
		} else if (!strcmp(a, "--keep-captures")) {
			keep = argv[++i];
		} else {
			error("check: unknown option '%s' (see 'memray check --help')", a);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		error("check: no command given (see 'memray check --help')");
		return EXIT_USAGE;
	}
	if (keep && mkdir(keep, 0755) < 0 && errno != EEXIST) {
		error_errno("check: cannot create '%s'", keep);
		return EXIT_USAGE;
	}
	dir = keep ? keep : mkdtemp(tmpdir);
	if (!dir) {
		error_errno("check: cannot create a temporary directory");
		return EXIT_USAGE;
	}
	for (int k = i; k < argc; k++)
		strbuf_addf(&command, "%s%s", k > i ? " " : "", argv[k]);
	strbuf_addf(&capture, "%s/memray-check.bin", dir);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = run_program(argv + i, capture.buf, CAPTURE_F_LZ4 | CAPTURE_F_NATIVE | CAPTURE_F_FOLLOW_FORK, 1, &ran);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	run.command = command.buf;
	run.seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (!ran) {
		strbuf_addf(&error_text, "%s could not be run (status %d)", argv[i], ret);
		run.error = error_text.buf;
	} else {
		if (ret)
			strbuf_addf(&error_text, "%s exited with status %d", argv[i], ret);
		run.error = ret ? error_text.buf : NULL;
		if (gather(dir, &fig)) {
			ret = EXIT_USAGE;
			goto report;
		}
		if (has_budget)
			judge(&results[run.nresults++], "peak memory", "peak", fig.peak, budget, "BudgetExceeded",
			      &messages[0], &details[0], fig.peak_stacks.buf);
		if (has_leak_budget)
			judge(&results[run.nresults++], "leaked memory", "leaked", fig.leaked, leak_budget, "LeakDetected",
			      &messages[1], &details[1], fig.leak_stacks.buf);
		run.results = results;
		for (size_t k = 0; k < run.nresults; k++) {
			failed |= results[k].failure_type != NULL;
			fprintf(stderr, "memray check: %s %s: %s (%llu bytes, limit %llu)\n",
				results[k].failure_type ? "FAIL" : "pass", results[k].name, results[k].message,
				(unsigned long long)results[k].figure, (unsigned long long)results[k].limit);
			if (results[k].failure_type)
				fputs(results[k].details, stderr);
		}
		if (!ret)
			ret = failed ? EXIT_CAPTURE_ERROR : 0;	/* 1: a memory rule failed */
	}
report:
	if (junit && junit_write(junit, &run) < 0)
		ret = ret ? ret : EXIT_USAGE;
	if (markdown && markdown_write(markdown, &run) < 0)
		ret = ret ? ret : EXIT_USAGE;
	if (!keep)
		remove_dir(dir);
	strbuf_release(&capture);
	strbuf_release(&command);
	strbuf_release(&error_text);
	for (int k = 0; k < 2; k++) {
		strbuf_release(&messages[k]);
		strbuf_release(&details[k]);
	}
	strbuf_release(&fig.peak_stacks);
	strbuf_release(&fig.leak_stacks);
	return ret;
}
