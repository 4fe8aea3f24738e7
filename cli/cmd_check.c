/*
 * cli/cmd_check: `memray check`, the CI memory gate. A thin front: it
 * reads the options and the manifest (assert/manifest), runs the command
 * in a harness (ci/harness, cli/launch), collects what was
 * measured (ci/collect), judges it (assert/rules) and writes the reports
 * (junit/). The exit status is chosen here; see the usage text.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "assert/baseline.h"
#include "assert/manifest.h"
#include "assert/rules.h"
#include "capture/format.h"
#include "ci/collect.h"
#include "ci/harness.h"
#include "ci/prewarm.h"
#include "cli/commands.h"
#include "cli/launch.h"
#include "cli/options.h"
#include "common/env.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "common/utf8.h"
#include "junit/junit.h"
#include "junit/markdown.h"
#include "report/symbols.h"

static const char check_usage[] =
	"usage: memray check [-h] [--manifest FILE] [--budget SIZE] [--leak-budget SIZE]\n"
	"                    [--max-allocations N] [--baseline FILE [--max-increase [FIGURE=]X]...]\n"
	"                    [--update-baseline FILE] [--suppress GLOB] [--no-builtin-suppressions]\n"
	"                    [--reachable-leaks]\n"
	"                    [--junit FILE] [--markdown FILE] [--keep-captures DIR] [--allow-partial]\n"
	"                    -- COMMAND [ARGS...]\n"
	"\n"
	"Run COMMAND under the tracker (following forks), then judge its memory, for\n"
	"the whole run and test by test, and say so on stderr, in JUnit XML and in\n"
	"Markdown. COMMAND's own output passes through as it comes.\n"
	"\n"
	"options:\n"
	"  --manifest FILE       rules from FILE (memray.yml; see the README); flags win\n"
	"  --budget SIZE         fail when the run's peak exceeds SIZE\n"
	"  --leak-budget SIZE    fail when more than SIZE is leaked at exit (0: any leak);\n"
	"                        a leak is a block lost at exit: no pointer reaches it\n"
	"                        from globals, stacks, registers, TLS or the program's\n"
	"                        mappings (memcheck's definitely and indirectly lost)\n"
	"  --reachable-leaks     count every block live at exit, reachable or not\n"
	"  --max-allocations N   fail when the run makes more than N allocations\n"
	"  --baseline FILE       fail when a test's peak grew beyond FILE's figure by\n"
	"                        more than --max-increase (10%, or +5MiB; default 10%)\n"
	"  --max-increase [FIGURE=]X  the allowed increase of FIGURE: peak (the default),\n"
	"                        allocations (a count: 0%, +5) or allocated (bytes);\n"
	"                        the last two repeat exactly for a deterministic program\n"
	"  --update-baseline FILE  write this run's figures to FILE\n"
	"  --suppress GLOB       leave out leaks whose stack has a frame matching GLOB\n"
	"  --no-builtin-suppressions  count the runtime's own blocks (below) as leaks\n"
	"  --junit FILE          write JUnit XML (Jenkins, GitLab, GitHub reporters); when\n"
	"                        FILE is pytest's --junitxml too, merge as --junit-merge\n"
	"  --junit-merge FILE    put the results into the runner's JUnit FILE (pytest's\n"
	"                        --junitxml): figures in each test's system-out, memory\n"
	"                        failures as its failures, the rest as memray's testcases\n"
	"  --markdown FILE       write a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)\n"
	"  --keep-captures DIR   keep the captures in DIR (default: a temporary one)\n"
	"  --allow-partial       judge a process whose tracking stopped early (a full disk)\n"
	"                        or dropped records on what it holds, with a warning,\n"
	"                        instead of an error verdict (exit 2)\n"
	"\n"
	"Tests: under pytest, memray's plugin (loaded through PYTEST_PLUGINS, no install)\n"
	"marks each test function's call and honours pytest-memray's marks and options\n"
	"(@pytest.mark.limit_memory(\"24 MB\"), @pytest.mark.limit_leaks(\"1 MB\"), --memray,\n"
	"--most-allocations N, --hide-memray-summary): a test over its mark fails in pytest\n"
	"too; a test that did not pass gets no verdict. C test\n"
	"programs call memray_test_begin(name)/memray_test_end() (memray_test.h). A Check\n"
	"suite in fork mode is judged per forked child, named binary:suite:tcase:test from\n"
	"Check's XML log (memray sets CK_XML_LOG_FILE_NAME per process unless you did).\n"
	"Anything else is one window: the whole run. A test's peak counts what it allocated and\n"
	"what the processes it started held at the same moment. The setups of pytest\n"
	"fixtures of wider scope than a function are shown apart (-v), never judged.\n"
	"\n"
	"Sizes, as pytest-memray reads them: B, KB MB GB TB, KiB MiB GiB TiB and bare\n"
	"K M G T are all powers of 1024, any case, decimals allowed; no decimal units\n"
	"(\"24 MB\" is 25165824 bytes, in marks, flags and memray.yml alike). Every message\n"
	"gives exact bytes too.\n"
	"\n"
	"Built-in suppressions (what the runtime keeps on purpose until exit; reported\n"
	"as suppressed, never hidden):\n";

static const char check_usage_tail[] =
	"\n"
	"On GitHub Actions (GITHUB_ACTIONS=true), each failure is also printed on stdout\n"
	"as an ::error annotation, unless MEMRAY_NO_ANNOTATIONS=1 (the GitHub action\n"
	"sets it: it writes its own from the JUnit).\n"
	"\n"
	"exit status: 0 every rule passed and COMMAND succeeded; 1 a memory rule failed;\n"
	"2 usage, manifest, baseline or capture error; COMMAND's own status when COMMAND\n"
	"failed (126/127: it could not be run; 128+N: killed by signal N). COMMAND's\n"
	"failure wins over a memory failure, which the reports still list.\n";

static void usage(void)
{
	fputs(check_usage, stdout);
	for (int i = 0; suppress_builtin[i][0]; i++)
		printf("  %-26s %s\n", suppress_builtin[i][0], suppress_builtin[i][1]);
	fputs(check_usage_tail, stdout);
}

struct options {
	const char *manifest, *junit, *junit_merge, *markdown, *keep, *baseline, *update_baseline;
	struct limits run;	/* from flags, over the manifest's */
	struct suppress_list sup;
	int no_builtin, allow_partial, reachable_leaks;
	int junit_is_runners;	/* --junit names pytest's --junitxml file: merge into it */
	struct increase increase[INCREASE_FIGURES];	/* what --max-increase set */
};

static int size_opt(struct options *o, enum limit_kind k, const char *opt, const char *value)
{
	uint64_t v;
	const char *why;

	if (k == LIMIT_COUNT) {
		size_t n;

		if (count_arg("check", opt, value, &n))
			return -1;
		v = n;
	} else if (units_parse(value, &v, &why) < 0) {
		return error("check: %s '%s': %s", opt, value, why);
	}
	return limits_set(&o->run, k, v, opt);
}

static int budget_arg(const struct opt *opt, const char *v, const char *cmd)
{
	(void)cmd;
	return size_opt(opt->value, LIMIT_PEAK, "--budget", v);
}

static int leak_budget_arg(const struct opt *opt, const char *v, const char *cmd)
{
	(void)cmd;
	return size_opt(opt->value, LIMIT_LEAKS, "--leak-budget", v);
}

static int max_allocations_arg(const struct opt *opt, const char *v, const char *cmd)
{
	(void)cmd;
	return size_opt(opt->value, LIMIT_COUNT, "--max-allocations", v);
}

/* --max-increase X (the peak's) or FIGURE=X, FIGURE one of increase_names */
static int max_increase_arg(const struct opt *opt, const char *v, const char *cmd)
{
	struct options *o = opt->value;
	const char *eq = strchr(v, '='), *why;
	int f = INCREASE_PEAK;

	if (eq) {
		for (f = 0; f < INCREASE_FIGURES; f++)
			if (strlen(increase_names[f]) == (size_t)(eq - v) && !strncmp(v, increase_names[f], eq - v))
				break;
		if (f == INCREASE_FIGURES)
			return error("%s: --max-increase '%s': no figure '%.*s' (peak, allocations or allocated)",
				     cmd, v, (int)(eq - v), v);
	}
	if (increase_parse(eq ? eq + 1 : v, &o->increase[f], &why) < 0)
		return error("%s: --max-increase '%s': %s (like 10%% or +5MiB)", cmd, v, why);
	return 0;
}

static int suppress_arg(const struct opt *opt, const char *v, const char *cmd)
{
	struct options *o = opt->value;
	const char *problem = suppress_glob_problem(v);

	if (problem)
		return error("%s: --suppress '%s': %s", cmd, v, problem);
	return suppress_add(&o->sup, v, "--suppress");
}

/*
 * The options up to COMMAND, which (with its arguments, untouched) is
 * moved to the front of argv: its argument count, or -1 after an error,
 * or OPTIONS_HELP after the usage.
 */
static int parse_options(int argc, char **argv, struct options *o)
{
	struct opt opts[] = {
		OPT_CALLBACK(0, "budget", o, budget_arg),
		OPT_CALLBACK(0, "leak-budget", o, leak_budget_arg),
		OPT_CALLBACK(0, "max-allocations", o, max_allocations_arg),
		OPT_STRING(0, "manifest", &o->manifest),
		OPT_STRING(0, "junit", &o->junit),
		OPT_STRING(0, "junit-merge", &o->junit_merge),
		OPT_STRING(0, "markdown", &o->markdown),
		OPT_STRING(0, "keep-captures", &o->keep),
		OPT_STRING(0, "baseline", &o->baseline),
		OPT_STRING(0, "update-baseline", &o->update_baseline),
		OPT_CALLBACK(0, "max-increase", o, max_increase_arg),
		OPT_CALLBACK(0, "suppress", o, suppress_arg),
		OPT_FLAG(0, "no-builtin-suppressions", &o->no_builtin),
		OPT_FLAG(0, "allow-partial", &o->allow_partial),
		OPT_FLAG(0, "reachable-leaks", &o->reachable_leaks),
		OPT_END(),
	};
	int n = options_parse(argc, argv, "check", NULL, opts, OPTIONS_STOP_AT_ARG);

	if (n == OPTIONS_HELP)
		usage();
	else if (n == 0)
		return error("check: no command given (see 'memray check --help')");
	return n;
}

/* the manifest, then the flags over it: 0, or -1 after an error */
static int rules_of(struct manifest *m, struct options *o)
{
	if (o->manifest && manifest_load(m, o->manifest) < 0)
		return -1;
	for (int k = 0; k < LIMIT_KINDS; k++)
		if (o->run.has[k] && limits_set(&m->run, (enum limit_kind)k, o->run.value[k], o->run.from[k]) < 0)
			return -1;
	for (size_t i = 0; i < o->sup.n; i++)
		if (suppress_add(&m->sup, o->sup.p[i].glob, o->sup.p[i].why) < 0)
			return -1;
	if (o->no_builtin)
		m->builtin_suppressions = 0;
	if (o->reachable_leaks)
		m->reachable_leaks = 1;
	if (m->builtin_suppressions && suppress_add_builtin(&m->sup) < 0)
		return -1;
	if (o->baseline) {
		free(m->baseline);
		m->baseline = strdup(o->baseline);
	}
	for (int f = 0; f < INCREASE_FIGURES; f++)
		if (o->increase[f].is_set)
			m->max_increase[f] = o->increase[f];
	return 0;
}

/*
 * Under a harness each of the user's processes is a case (ci/programs):
 * a limit on the whole run binds each of them too, where no default
 * says otherwise, so a run over its leak budget names the program.
 */
static int process_limits(struct manifest *m, const struct ci_results *res)
{
	for (int k = 0; res->has_process_cases && k < LIMIT_KINDS; k++)
		if (m->run.has[k] && !m->defaults.has[k] &&
		    limits_set(&m->defaults, (enum limit_kind)k, m->run.value[k], m->run.from[k]) < 0)
			return -1;
	return 0;
}

/* a test rule's glob also selects a harness process (ci/programs); returns the array sel borrows */
static const char **select_of(const struct manifest *m, struct ci_select *sel)
{
	const char **globs = m->ntests ? calloc(m->ntests, sizeof(*globs)) : NULL;

	for (size_t k = 0; globs && k < m->ntests; k++)
		globs[k] = m->tests[k].glob;
	*sel = (struct ci_select){ globs, globs ? m->ntests : 0 };
	return globs;
}

/*
 * One verdict on stderr, or nothing: a test's passing verdict is listed
 * only with -v (a suite of 1,000 tests would bury its failures); the
 * whole run's rules always are. 1 if it was left out, else 0. Names and
 * stacks come from the tested program: shown escaped (common/utf8.h).
 */
static int say(const struct check_result *r)
{
	struct strbuf sb = STRBUF_INIT;
	const char *tail;

	if (r->rule && !r->failure_type && !r->error_type && verbosity < 1)
		return 1;
	strbuf_addf(&sb, "memray check: %s ", check_result_word(r));
	utf8_add_printable(&sb, r->name, 0);
	if (r->rule)
		strbuf_addf(&sb, " (%s)", r->rule);
	strbuf_addstr(&sb, ": ");
	utf8_add_printable(&sb, r->message, 0);
	if (r->has_limit)
		strbuf_addf(&sb, " (%llu%s, limit %llu)", (unsigned long long)r->figure,
			    r->is_count ? "" : " bytes", (unsigned long long)r->limit);
	strbuf_addch(&sb, '\n');
	tail = r->details ? strstr(r->details, "\nsuppressed, not counted") : NULL;
	if ((r->failure_type || r->error_type || verbosity > 0) && r->details)
		utf8_add_printable(&sb, r->details, UTF8_KEEP_TAB | UTF8_KEEP_NEWLINE);
	else if (tail)
		utf8_add_printable(&sb, tail + 1, UTF8_KEEP_TAB | UTF8_KEEP_NEWLINE);
	fputs(sb.buf, stderr);
	strbuf_release(&sb);
	return 0;
}

/*
 * The tally, one line; a run where no rule judged anything says plainly
 * that nothing was judged and how to ask for a judgement, rather than "0
 * verdicts" or "6 passed" for tests that were only measured.
 */
static void tally(const struct verdicts *v, const struct ci_results *res, size_t hidden, int command_failed)
{
	size_t unjudged = 0;

	for (size_t i = 0; i < v->n; i++)
		unjudged += v->r[i].is_unjudged;
	if (v->n == unjudged) {
		fprintf(stderr, "memray check: nothing was judged: ");
		if (v->n)
			fprintf(stderr, "%zu tests measured (-v lists them), ", v->n);
		fprintf(stderr, CHECK_NOTHING_JUDGED "%s\n", command_failed ? "; the command failed" : "");
		return;
	}
	fprintf(stderr, "memray check: %zu verdicts on the whole run and %zu tests: %zu failed, %zu errors",
		v->n - unjudged, res->ntests, v->failed, v->errors);
	if (hidden > unjudged)
		fprintf(stderr, "; %zu passed, not listed (-v lists them)", hidden - unjudged);
	if (unjudged)
		fprintf(stderr, "; %zu tests under no rule, measured only", unjudged);
	fprintf(stderr, "%s\n", command_failed ? "; the command failed" : "");
}

static int fixture_by_peak(const void *x, const void *y)
{
	const struct check_fixture *a = x, *b = y;

	return a->peak != b->peak ? (a->peak < b->peak ? 1 : -1) : strcmp(a->name, b->name);
}

/*
 * The pytest fixtures' setups that allocated something, highest peak
 * first, for the reports, and on stderr with -v: shown, never judged.
 * NULL when there are none (or no memory: the reports then leave them
 * out); *n gets how many.
 */
static struct check_fixture *fixtures_of(const struct ci_results *res, size_t *n)
{
	struct check_fixture *f = res->nfixtures ? calloc(res->nfixtures, sizeof(*f)) : NULL;
	struct strbuf sb = STRBUF_INIT, name = STRBUF_INIT;

	*n = 0;
	for (size_t i = 0; f && i < res->nfixtures; i++) {
		const struct ci_subject *s = &res->fixtures[i];

		if (s->peak)
			f[(*n)++] = (struct check_fixture){ s->id, s->scope, s->peak, s->leaked, s->started };
	}
	if (f)
		qsort(f, *n, sizeof(*f), fixture_by_peak);
	for (size_t i = 0; f && verbosity > 0 && i < *n; i++) {
		strbuf_reset(&sb);
		strbuf_reset(&name);
		utf8_add_printable(&name, f[i].name, 0);
		strbuf_addstr(&sb, "memray check: fixture ");
		check_fixture_line(&sb, &f[i], name.buf);
		fprintf(stderr, "%s\n", sb.buf);
	}
	strbuf_release(&sb);
	strbuf_release(&name);
	return f;
}

/*
 * Make sure an output can be written before the command runs, not after
 * the whole suite: its folders are created (mkdir -p; the path itself too
 * when it names a folder), and a path that is a folder where a file is
 * wanted, or in a folder we may not write, is refused: 0, or -1 after
 * one line.
 */
static int prepare_output(const char *opt, const char *path, int is_dir)
{
	struct strbuf dir = STRBUF_INIT;
	struct stat st;
	char *slash;
	int ret = 0;

	strbuf_addstr(&dir, path);
	slash = is_dir ? NULL : strrchr(dir.buf, '/');
	if (!is_dir)
		strbuf_setlen(&dir, slash ? (size_t)(slash - dir.buf) : 0);
	if (!dir.len)
		strbuf_addstr(&dir, slash ? "/" : ".");
	/* each prefix ending before a '/', then the whole */
	for (char *p = dir.buf + 1; !ret; p++) {
		char c = *p;

		if (c && c != '/')
			continue;
		*p = '\0';
		if (mkdir(dir.buf, 0755) < 0 && errno != EEXIST)
			ret = error_errno("check: %s '%s': cannot create the folder '%s'", opt, path, dir.buf);
		*p = c;
		if (!c)
			break;
	}
	if (!ret && (stat(dir.buf, &st) < 0 || !S_ISDIR(st.st_mode)))
		ret = error("check: %s '%s': '%s' is not a folder", opt, path, dir.buf);
	else if (!ret && access(dir.buf, W_OK | X_OK) < 0)
		ret = error_errno("check: %s '%s': cannot write in '%s'", opt, path, dir.buf);
	else if (!ret && !is_dir && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		ret = error("check: %s '%s' is a folder, not a file", opt, path);
	strbuf_release(&dir);
	return ret;
}

static int prepare_outputs(const struct options *o)
{
	return (o->junit && prepare_output("--junit", o->junit, 0)) ||
	       (o->junit_merge && prepare_output("--junit-merge", o->junit_merge, 0)) ||
	       (o->markdown && prepare_output("--markdown", o->markdown, 0)) ||
	       (o->update_baseline && prepare_output("--update-baseline", o->update_baseline, 0)) ||
	       (o->keep && prepare_output("--keep-captures", o->keep, 1)) ? -1 : 0;
}

/* is path the file pytest's --junitxml (or --junit-xml) in the command names? */
static int is_runners_junit(const char *path, char **argv, int n)
{
	char *mine = realpath(path, NULL);
	int same = 0;

	for (int k = 0; mine && k < n && !same; k++) {
		const char *a = argv[k], *v = NULL;
		char *theirs;

		if (!strncmp(a, "--junitxml", 10) || !strncmp(a, "--junit-xml", 11)) {
			v = strchr(a, '=');
			v = v ? v + 1 : (!strcmp(a, "--junitxml") || !strcmp(a, "--junit-xml")) && k + 1 < n ? argv[k + 1]
														    : NULL;
		}
		if (v && (theirs = realpath(v, NULL))) {
			same = !strcmp(mine, theirs);
			free(theirs);
		}
	}
	free(mine);
	return same;
}

/* JUnit, Markdown and annotations; returns ret, or EXIT_USAGE if a report cannot be written */
static int report(const struct options *o, const struct check_run *run, int ret)
{
	const char *gh = getenv("GITHUB_ACTIONS"), *quiet = getenv(ENV_NO_ANNOTATIONS);

	if (o->junit_merge && junit_merge(o->junit_merge, run) < 0)
		ret = ret ? ret : EXIT_USAGE;
	if (o->junit && (o->junit_is_runners ? junit_merge : junit_write)(o->junit, run) < 0)
		ret = ret ? ret : EXIT_USAGE;
	if (o->markdown && markdown_write(o->markdown, run) < 0)
		ret = ret ? ret : EXIT_USAGE;
	if (gh && !strcmp(gh, "true") && !(quiet && !strcmp(quiet, "1")))
		annotations_write(stdout, run);
	return ret;
}

/* how the command ended, when it failed, for the reports' error case; NULL when it succeeded */
static const char *command_failure(struct strbuf *sb, const struct launch *l, int status)
{
	const char *prog = l->argv[0];

	if (!l->ran)
		strbuf_addf(sb, "%s could not be run (status %d)", prog, status);
	else if (status > 128 && status < 128 + NSIG)
		strbuf_addf(sb, "%s was killed by signal %d (SIG%s), status %d", prog, status - 128,
			    sigabbrev_np(status - 128) ? sigabbrev_np(status - 128) : "?", status);
	else if (status)
		strbuf_addf(sb, "%s exited with status %d", prog, status);
	return sb->len ? sb->buf : NULL;
}

/* the command runs (launch's while_running): its modules are opened meanwhile */
static void prewarm_while_running(void *ctx, pid_t pid, int *status, int *reaped)
{
	(void)pid;
	(void)status;
	(void)reaped;
	ci_prewarm_start(ctx);
}

/*
 * Run the command under the tracker into `capture`, its modules opened
 * in `sym` (may be NULL) while it runs: launch_run()'s status, and
 * *seconds it took.
 */
static int run_command(struct launch *l, char **argv, const char *capture, int reachability, struct symbolizer *sym,
		       double *seconds)
{
	struct ci_prewarm prewarm = { .capture = capture, .sym = sym };
	struct timespec t0, t1;
	int ret;

	setenv(ENV_COMPRESS, "fast", 1);	/* the captures are scratch: see common/env.h */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	*l = (struct launch){ .argv = argv, .output = capture, .force = 1, .judges_empty = 1,
			      .flags = CAPTURE_F_LZ4 | CAPTURE_F_NATIVE | CAPTURE_F_FOLLOW_FORK |
				       (reachability ? CAPTURE_F_REACHABILITY : 0),
			      .while_running = prewarm_while_running, .ctx = &prewarm };
	ret = launch_run(l);
	ci_prewarm_finish(&prewarm);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return ret;
}

int cmd_check(int argc, char **argv)
{
	struct options o = { 0 };
	struct manifest m = MANIFEST_INIT;
	struct baseline base = { 0 };
	struct ci_harness h = { 0 };
	struct ci_results res = { 0 };
	struct verdicts v = { 0 };
	struct check_run run = { 0 };
	struct strbuf command = STRBUF_INIT, error_text = STRBUF_INIT;
	struct launch l = { 0 };
	struct ci_each lend = { 0 };
	struct ci_select sel = { 0 };
	const char **globs = NULL;
	struct check_fixture *fixtures = NULL;
	int n, ret, has_baseline = 0;
	size_t hidden = 0;

	n = parse_options(argc, argv, &o);
	if (n < 0) {
		ret = n == OPTIONS_HELP ? 0 : EXIT_USAGE;
		goto out;
	}
	if (prepare_outputs(&o) < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	for (int k = 0; k < n; k++)	/* COMMAND and its arguments, now at argv[0] */
		strbuf_addf(&command, "%s%s", k ? " " : "", argv[k]);
	run.command = command.buf;
	/* bad rules: the command is not run, and the reports say why */
	if (rules_of(&m, &o) < 0 || (m.baseline && !o.update_baseline && baseline_load(&base, m.baseline) < 0)) {
		strbuf_addstr(&error_text, error_last());
		run.error = error_text.buf;
		ret = report(&o, &run, EXIT_USAGE);
		goto out;
	}
	has_baseline = m.baseline && !o.update_baseline;
	if (ci_harness_init(&h, o.keep) < 0 || ci_harness_python_env() < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	lend.sym = symbolizer_new();	/* NULL: ci_collect makes its own, and nothing is opened early */
	ret = run_command(&l, argv, h.capture.buf, !m.reachable_leaks, lend.sym, &run.seconds);
	o.junit_is_runners = o.junit && is_runners_junit(o.junit, argv, n);
	run.error = command_failure(&error_text, &l, ret);
	if (!l.ran) {
		ret = report(&o, &run, ret);
		goto out;
	}
	globs = select_of(&m, &sel);
	if (ci_collect_each(h.dir.buf, &m.sup, (m.run.has[LIMIT_LEAKS] ? CI_WHOLE_LEAKS : 0) |
			    (m.reachable_leaks ? CI_REACHABLE_LEAKS : 0) |
			    (o.allow_partial ? CI_PARTIAL : 0), &sel, lend.sym ? &lend : NULL, &res) < 0 ||
	    process_limits(&m, &res) < 0 || rules_eval(&v, &m, &res, has_baseline ? &base : NULL) < 0) {
		if (!run.error) {
			strbuf_addstr(&error_text, error_last());
			run.error = error_text.buf;
		}
		ret = report(&o, &run, ret ? ret : EXIT_USAGE);
		goto out;
	}
	run.results = v.r;
	run.nresults = v.n;
	run.has_figures = 1;
	run.peak_bytes = res.whole.peak;
	run.leaked_bytes = res.whole.leaked;
	for (size_t k = 0; k < v.n; k++)
		hidden += say(&v.r[k]);
	run.fixtures = fixtures = fixtures_of(&res, &run.nfixtures);
	tally(&v, &res, hidden, run.error != NULL);
	if (o.update_baseline) {
		if (baseline_save(o.update_baseline, &res) < 0)
			ret = ret ? ret : EXIT_USAGE;
		else
			fprintf(stderr, "memray check: wrote the baseline '%s' (%zu tests)\n", o.update_baseline,
				res.ntests);
	}
	if (!ret)
		ret = v.errors ? EXIT_USAGE : v.failed ? EXIT_CAPTURE_ERROR : 0;	/* 1: a memory rule failed */
	ret = report(&o, &run, ret);
out:
	free(globs);
	free(fixtures);
	verdicts_release(&v);
	ci_results_release(&res);
	symbolizer_free(lend.sym);
	ci_harness_release(&h);
	baseline_release(&base);
	manifest_release(&m);
	limits_release(&o.run);
	suppress_release(&o.sup);
	strbuf_release(&command);
	strbuf_release(&error_text);
	return ret;
}
