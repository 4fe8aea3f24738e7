/*
 * ci/collect: see collect.h.
 */
#include "ci/collect.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/header.h"
#include "capture/reader.h"
#include "ci/checklog.h"
#include "ci/checkrunner.h"
#include "ci/inorder.h"
#include "ci/programs.h"
#include "ci/windows.h"
#include "common/env.h"
#include "common/error.h"
#include "common/grow.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "report/analysis.h"
#include "report/reach.h"

#define LOCATE_MAX 20	/* stacks symbolized for a peak's top lines */

/* one capture, analysed in one pass (its test windows observed on the way), ready to symbolize */
struct capture {
	const char *path, *name;
	struct capture_reader *r;
	struct analysis a;
	int failed;		/* an error was printed */
	int is_root;		/* the command's own process, not a forked child */
	int counts_reachable;	/* CI_REACHABLE_LEAKS: still reachable blocks are leaks too */
	struct ci_windows ws;
	struct symbolizer *sym;
};

/*
 * What the captures tell as they are read, before the run's cases are
 * known: under a harness (ci/programs), each of the user's processes is
 * a case in waiting, adopted at the end if the run has no marked test and
 * no Check child, and the harness's processes keep their leaks apart
 * from the whole run's until then (they are not the user's).
 */
struct collecting {
	const struct ci_select *sel;
	const struct ci_each *each;	/* may be NULL */
	int is_harness_run;	/* the command's own process runs a system program (make, ctest, sh) */
	struct ci_subject harness;	/* the harness processes' leaks */
	struct ci_subject *procs;	/* the user's processes, as cases */
	size_t nprocs, procs_alloc;
	char **renames;		/* by proc: its capture's path, then the name it takes */
	size_t renames_alloc;
	struct checklog *logs;	/* the Check runners' logs, read as their children come */
	size_t nlogs, logs_alloc;
};

/*
 * The leaks of entry e (NULL: the capture's) that the gate counts; their
 * allocations in *count. A process cut short (killed: `tail | grep -q`
 * ends tail with SIGPIPE; or it exec'd an image that cannot be tracked,
 * whose exec threw its heap away) never reached an end where memory
 * left could be a leak, and it had no scan: nothing of it is counted.
 */
static uint64_t gate_leaks(const struct capture *c, const struct analysis_entry *e, uint64_t *count)
{
	if (capture_reader_status(c->r) == CAPTURE_INCOMPLETE) {
		*count = 0;
		return 0;
	}
	return reach_gate_leaks(&c->a, e, c->counts_reachable, count);
}

/* a leak of `bytes` at stack into the subject: suppressed or not */
static int add_leak(struct ci_subject *s, struct capture *c, const struct suppress_list *sup, uint32_t stack,
		    uint64_t bytes, uint64_t count)
{
	const struct suppress_pattern *by = NULL;
	const char *loc = analysis_location(&c->a, c->sym, stack);

	if (sup && sup->n) {
		const struct sym_frame *frames;
		int n = analysis_stack(&c->a, c->sym, stack, &frames);

		by = suppress_match(sup, frames, n);
	}
	if (by) {
		s->suppressed = units_add(s->suppressed, bytes);
		s->suppressed_count = units_add(s->suppressed_count, count);
		return ci_lines_add(&s->suppressed_stacks, loc, bytes, count, by);
	}
	s->leaked = units_add(s->leaked, bytes);
	s->leaked_count = units_add(s->leaked_count, count);
	return ci_lines_add(&s->leak_stacks, loc, bytes, count, NULL);
}

static int stack_by_bytes(const void *x, const void *y)
{
	const struct ci_stack_bytes *a = x, *b = y;

	return a->bytes < b->bytes ? 1 : a->bytes > b->bytes ? -1 : 0;
}

/* the peak's top lines: the LOCATE_MAX biggest stacks, by location */
static int peak_lines(struct ci_lines *ls, struct capture *c, struct ci_stack_bytes *st, size_t n)
{
	ci_lines_release(ls);
	for (size_t i = 0; i < n && i < LOCATE_MAX; i++)
		if (ci_lines_add(ls, analysis_location(&c->a, c->sym, st[i].stack), st[i].bytes, st[i].count, NULL) < 0)
			return -1;
	ci_lines_finish(ls);
	return 0;
}

static struct ci_subject *new_subject(struct ci_subject **arr, size_t *n, size_t *alloc, const char *id)
{
	struct ci_subject *s;

	if (GROW(*arr, *n + 1, *alloc) < 0) {
		error("check: out of memory");
		return NULL;
	}
	s = &(*arr)[*n];
	memset(s, 0, sizeof(*s));
	s->is_test = 1;
	s->id = strdup(id);
	if (!s->id) {
		error("check: out of memory");
		return NULL;
	}
	(*n)++;
	return s;
}

static struct ci_subject *new_test(struct ci_results *res, const char *id)
{
	return new_subject(&res->tests, &res->ntests, &res->tests_alloc, id);
}

/*
 * One process as the subject s: its peak and top stacks at it, and its
 * allocations and leaks; those made under the test function t only when
 * t is not NULL (a Check child's own bookkeeping is not the test's).
 */
static int process_figures(struct ci_subject *s, struct capture *c, const struct suppress_list *sup,
			   const struct checkrunner_test *t)
{
	struct ci_stack_bytes *st;
	size_t n = 0;

	s->peak = c->a.peak_bytes;
	s->ns = c->a.end_ns > c->a.start_ns ? c->a.end_ns - c->a.start_ns : 0;	/* the process's life */
	st = calloc(c->a.nentries + 1, sizeof(*st));
	if (!st)
		return error("check: out of memory");
	for (size_t i = 0; i < c->a.nentries; i++) {
		const struct analysis_entry *e = &c->a.entries[i];
		uint64_t count, bytes;

		if (e->peak_bytes)
			st[n++] = (struct ci_stack_bytes){ e->stack, e->peak_bytes, e->peak_count };
		if (t && !checkrunner_owns(&c->a, c->sym, e->stack, t))
			continue;	/* Check's own work in the child */
		s->allocations = units_add(s->allocations, e->allocs);
		s->bytes = units_add(s->bytes, e->bytes);
		bytes = gate_leaks(c, e, &count);
		if (bytes && add_leak(s, c, sup, e->stack, bytes, count) < 0)
			goto fail;
	}
	qsort(st, n, sizeof(*st), stack_by_bytes);
	if (peak_lines(&s->peak_stacks, c, st, n) < 0)
		goto fail;
	free(st);
	ci_lines_finish(&s->leak_stacks);
	ci_lines_finish(&s->suppressed_stacks);
	return 0;
fail:
	free(st);
	return -1;
}

/* name, or "name #2" on when subjects has it already: a test or command line run again */
static int unique_id(struct strbuf *id, const struct ci_subject *subjects, size_t n, const char *name)
{
	size_t len = strlen(name);
	unsigned same = 1;

	for (size_t i = 0; i < n; i++)
		if (!strncmp(subjects[i].id, name, len) &&
		    (!subjects[i].id[len] || !strncmp(subjects[i].id + len, " #", 2)))
			same++;
	if (strbuf_addstr(id, name) < 0 || (same > 1 && strbuf_addf(id, " #%u", same) < 0))
		return error("check: out of memory");
	return 0;
}

/* the log of the Check runner `pid` (ci/checklog), read when its first child is judged; NULL: no memory */
static struct checklog *runner_log(struct collecting *st, const char *dir, unsigned long pid)
{
	struct strbuf path = STRBUF_INIT;
	struct checklog *l;
	int ret;

	for (size_t i = 0; i < st->nlogs; i++)
		if (st->logs[i].pid == pid)
			return &st->logs[i];
	if (GROW(st->logs, st->nlogs + 1, st->logs_alloc) < 0) {
		error("check: out of memory");
		return NULL;
	}
	l = memset(&st->logs[st->nlogs++], 0, sizeof(*l));
	l->pid = pid;
	ret = strbuf_addf(&path, "%s/" ENV_CHECK_LOG_NAME "%lu.xml", dir, pid) < 0 ? error("check: out of memory")
										 : checklog_read(l, path.buf);
	strbuf_release(&path);
	return ret < 0 ? NULL : l;
}

/*
 * The name of Check test t: binary:suite:tcase:test (":N" on for a loop
 * test's iteration N) when its runner's log has it, with its file and
 * line; else binary:test. 0, or -1 after an error.
 */
static int check_name(struct strbuf *name, struct ci_subject *s, struct collecting *st, const char *dir,
		      struct capture *c, const struct checkrunner_test *t)
{
	size_t idlen = strlen(t->function) - 3, binlen = strlen(t->name) - idlen - 1;
	struct checklog *l = runner_log(st, dir, (unsigned long)c->a.ppid);
	const struct checklog_test *e;
	char id[sizeof(t->function)];

	if (!l)
		return -1;
	memcpy(id, t->function, idlen);
	id[idlen] = '\0';
	e = checklog_match(l, id);
	if (!e)
		return strbuf_addstr(name, t->name) < 0 ? error("check: out of memory") : 0;
	if (strbuf_addf(name, "%.*s:%s:%s:%s", (int)binlen, t->name, e->suite, e->tcase, e->id) < 0 ||
	    (e->is_loop && strbuf_addf(name, ":%u", e->iteration) < 0) || (e->file && !(s->file = strdup(e->file))))
		return error("check: out of memory");
	s->line = e->line;
	return 0;
}

/* a forked Check child as one test; returns 1 if it was one, 0 if not, -1 on error */
static int check_child(struct ci_results *res, struct collecting *st, const char *dir, struct capture *c,
		       const struct suppress_list *sup, struct strbuf *renamed)
{
	struct checkrunner_test t;
	struct strbuf id = STRBUF_INIT, name = STRBUF_INIT;
	struct ci_subject place = { 0 }, *s = NULL;

	if (!checkrunner_identify(&c->a, c->sym, c->path, &t))
		return 0;
	if (check_name(&name, &place, st, dir, c, &t) == 0 && unique_id(&id, res->tests, res->ntests, name.buf) == 0)
		s = new_test(res, id.buf);
	strbuf_release(&id);
	strbuf_release(&name);
	if (!s) {
		free(place.file);
		return -1;
	}
	s->file = place.file;
	s->line = place.line;
	strbuf_addf(renamed, "memray-check.%s.%u.bin", t.name, capture_reader_header(c->r)->pid);
	return process_figures(s, c, sup, &t) < 0 ? -1 : 1;
}

/*
 * One of the user's processes under a harness, as a case in waiting named
 * by its command line; a second run of the same command line is "#2".
 */
static int process_case(struct collecting *st, struct capture *c, const struct suppress_list *sup)
{
	const char *exe = programs_executable(&c->a), *base = exe ? strrchr(exe, '/') : NULL;
	const char *command = c->a.command ? c->a.command : exe ? exe : "?";
	struct strbuf id = STRBUF_INIT, to = STRBUF_INIT;
	struct ci_subject *s;
	int ret = -1;

	if (unique_id(&id, st->procs, st->nprocs, command) < 0)
		goto out;
	if (GROW(st->renames, 2 * st->nprocs + 2, st->renames_alloc) < 0) {
		error("check: out of memory");
		goto out;
	}
	s = new_subject(&st->procs, &st->nprocs, &st->procs_alloc, id.buf);
	if (!s)
		goto out;	/* said why */
	strbuf_addf(&to, "memray-check.%s.%u.bin", base ? base + 1 : "process", capture_reader_header(c->r)->pid);
	st->renames[2 * st->nprocs - 2] = strdup(c->path);
	st->renames[2 * st->nprocs - 1] = strbuf_detach(&to, NULL);
	ret = process_figures(s, c, sup, NULL);
out:
	strbuf_release(&id);
	strbuf_release(&to);
	return ret;
}

/* the scope of a fixture's window ("fixture=SCOPE" among its label's fields), or NULL for a test */
static char *fixture_scope(const char *fields)
{
	const char *f = fields ? strstr(fields, "fixture=") : NULL;

	if (!f || (f != fields && f[-1] != '\x1f'))
		return NULL;
	f += strlen("fixture=");
	return strndup(f, strcspn(f, "\x1f"));
}

/* a window's subject: a test, or a fixture's setup; NULL after an error message */
static struct ci_subject *window_subject(struct ci_results *res, struct capture *c, struct ci_window *w)
{
	char *sep = strchr(w->name, '\x1f'), *scope = sep ? fixture_scope(sep + 1) : NULL;
	struct ci_subject *s;

	if (sep)
		*sep = '\0';
	s = scope ? new_subject(&res->fixtures, &res->nfixtures, &res->fixtures_alloc, w->name) : new_test(res, w->name);
	if (!s) {
		free(scope);
		return NULL;
	}
	s->scope = scope;
	s->is_test = !scope;
	if (sep && !(s->marks = strdup(sep + 1))) {
		error("check: out of memory");
		return NULL;
	}
	/* its time line, for the processes it started (charge_started) */
	s->pid = capture_reader_header(c->r)->pid;
	s->start_ns = c->a.start_ns;
	s->begin_ns = c->a.start_ns + w->begin_ms * 1000000u;
	s->end_ns = c->a.start_ns + (w->end_ms + 1) * 1000000u - 1;	/* the end's whole millisecond */
	s->timeline = w->points;
	s->ntimeline = w->npoints;
	w->points = NULL;
	w->npoints = 0;
	return s;
}

/* the marked tests of one capture */
static int marked_tests(struct ci_results *res, struct capture *c, const struct suppress_list *sup)
{
	struct ci_windows *ws = &c->ws;

	for (size_t i = 0; i < ws->n; i++) {
		struct ci_window *w = &ws->w[i];
		struct ci_subject *s;

		if (w->has_raised)
			continue;	/* failed, xfailed or skipped: no verdict */
		if (!(s = window_subject(res, c, w)))
			return -1;
		s->is_unfinished = w->is_unfinished;
		s->ns = w->ns;
		s->peak = w->peak;
		s->allocations = w->allocations;
		s->bytes = w->bytes;
		for (size_t k = 0; k < w->nleaks; k++)
			if (add_leak(s, c, sup, w->leaks[k].stack, w->leaks[k].bytes, w->leaks[k].count) < 0)
				return -1;
		ci_lines_finish(&s->leak_stacks);
		ci_lines_finish(&s->suppressed_stacks);
		if (w->is_filtered) {	/* pytest judged its leaks with a filter_fn: its figure stands */
			s->is_filtered = 1;
			s->leaked = w->filtered;
		}
		if (peak_lines(&s->peak_stacks, c, w->at_peak, w->nat_peak) < 0)
			return -1;
	}
	return 0;
}

/* the whole run: this capture's part */
static int whole_run(struct ci_results *res, struct capture *c, const struct suppress_list *sup, int leaks,
		     struct ci_subject *leaks_to)
{
	struct ci_subject *s = &res->whole;
	struct ci_stack_bytes *st;
	size_t n = 0;

	if (jobpeak_add(&res->job, &c->a, capture_reader_header(c->r)->pid) < 0)
		return -1;
	s->allocations = units_add(s->allocations, c->a.total_allocations);
	s->bytes = units_add(s->bytes, c->a.total_bytes);
	if (!leaks) {
		uint64_t count, bytes = gate_leaks(c, NULL, &count);

		leaks_to->leaked = units_add(leaks_to->leaked, bytes);
		leaks_to->leaked_count = units_add(leaks_to->leaked_count, count);
	}
	st = calloc(c->a.nentries + 1, sizeof(*st));
	if (!st)
		return error("check: out of memory");
	for (size_t i = 0; i < c->a.nentries; i++) {
		const struct analysis_entry *e = &c->a.entries[i];
		uint64_t count, bytes = gate_leaks(c, e, &count);

		if (e->peak_bytes)
			st[n++] = (struct ci_stack_bytes){ e->stack, e->peak_bytes, e->peak_count };
		if (leaks && bytes && add_leak(leaks_to, c, sup, e->stack, bytes, count) < 0) {
			free(st);
			return -1;
		}
	}
	/* the stacks of the process with the highest peak of its own; s->peak is the job's, at the end */
	if (c->a.peak_bytes >= s->peak && (c->a.peak_bytes > s->peak || !s->peak_stacks.n)) {
		s->peak = c->a.peak_bytes;
		qsort(st, n, sizeof(*st), stack_by_bytes);
		if (peak_lines(&s->peak_stacks, c, st, n) < 0) {
			free(st);
			return -1;
		}
	}
	free(st);
	return 0;
}

/* the one pass over a capture: the analysis, with its test windows observed on the way */
static void analyse(struct capture *c)
{
	struct analysis_observer windows;
	struct analysis_options opts = { .observers = &windows, .nobservers = 1 };

	ci_windows_observer(&c->ws, &windows);
	c->r = capture_reader_open(c->path);
	if (!c->r || analysis_run(&c->a, c->r, &opts) < 0)
		c->failed = 1;
}

/* judge one analysed capture: 0, or -1 after an error */
static int judge_capture(struct ci_results *res, struct collecting *st, const char *dir, struct capture *c,
			 const struct suppress_list *sup, unsigned flags)
{
	struct strbuf renamed = STRBUF_INIT;
	int ret = -1, is_child, is_users;
	const char *exe;

	if (c->failed)
		goto out;
	if (capture_reader_status(c->r) == CAPTURE_DAMAGED) {
		error("%s: %s", c->path, capture_reader_problem(c->r));
		goto out;
	}
	if (!c->a.segments) {
		error("%s: nothing was recorded: the program ran untracked (" CAPTURE_UNTRACKED_WHY ")", c->path);
		goto out;
	}
	if ((c->a.lost || c->a.is_stopped) && !(flags & CI_PARTIAL)) {
		if (c->a.is_stopped)
			error("%s: %s; its figures would pass for the whole run's (--allow-partial judges what it "
			      "holds)", c->path, ANALYSIS_STOPPED_WARNING);
		else
			error("%s: the tracker dropped %llu records (it fell behind); its figures cannot be trusted "
			      "(--allow-partial judges what it holds)", c->path, (unsigned long long)c->a.lost);
		goto out;
	}
	if (c->a.is_stopped)
		warning("%s: %s (--allow-partial: judged)", c->path, ANALYSIS_STOPPED_WARNING);
	if (c->a.lost)
		warning("%s: the tracker dropped %llu records; figures may be off (--allow-partial: judged)", c->path,
			(unsigned long long)c->a.lost);
	if (capture_reader_status(c->r) == CAPTURE_INCOMPLETE)
		warning("%s: %s (the process was cut short: its peak until then is judged, and what it still "
			"held is no leak)", c->path,
			capture_reader_problem(c->r));
	res->captures++;
	c->counts_reachable = (flags & CI_REACHABLE_LEAKS) != 0;
	if (c->is_root)	/* read first (by_name) */
		st->is_harness_run = (exe = programs_executable(&c->a)) && programs_is_system(exe);
	is_users = !st->is_harness_run || programs_is_subject(&c->a, st->sel);
	if (whole_run(res, c, sup, (flags & CI_WHOLE_LEAKS) != 0, is_users ? &res->whole : &st->harness) < 0)
		goto out;
	/* a forked child is a Check test, or may mark tests of its own */
	is_child = !c->is_root;
	if (is_child && (is_child = check_child(res, st, dir, c, sup, &renamed)) < 0)
		goto out;
	if (!is_child && marked_tests(res, c, sup) < 0)
		goto out;
	if (!is_child && !c->ws.n && st->is_harness_run && is_users && process_case(st, c, sup) < 0)
		goto out;
	if (st->each && st->each->each && st->each->each(st->each->ctx, &c->a, c->sym) < 0)
		goto out;
	ret = 0;
	if (renamed.len) {
		struct strbuf to = STRBUF_INIT;

		strbuf_addf(&to, "%s/%s", dir, renamed.buf);
		if (rename(c->path, to.buf) < 0)
			warning("cannot rename '%s' to '%s'", c->path, to.buf);
		strbuf_release(&to);
	}
out:
	strbuf_release(&renamed);
	return ret;
}

static void capture_release(struct capture *c)
{
	analysis_release(&c->a);	/* zeroed or run, succeeded or not: either is safe */
	capture_reader_free(c->r);
	ci_windows_release(&c->ws);
	free((char *)c->path);
	memset(c, 0, sizeof(*c));
}

/* reading the captures: two workers analyse them, the main thread judges them in name order (ci/inorder) */
struct reading {
	struct capture c[INORDER_SLOTS];
	char **names;
	const char *dir;
	struct symbolizer *sym;
	struct ci_results *res;
	struct collecting *st;
	const struct suppress_list *sup;
	unsigned flags;
};

static void read_one(void *ctx, size_t k, unsigned slot)
{
	struct reading *rd = ctx;
	struct capture *c = &rd->c[slot];
	struct strbuf path = STRBUF_INIT;

	strbuf_addf(&path, "%s/%s", rd->dir, rd->names[k]);
	c->path = strbuf_detach(&path, NULL);
	c->name = rd->names[k];
	c->sym = rd->sym;
	c->is_root = !strcmp(rd->names[k], "memray-check.bin");
	analyse(c);
}

static int judge_one(void *ctx, size_t k, unsigned slot)
{
	struct reading *rd = ctx;

	(void)k;
	return judge_capture(rd->res, rd->st, rd->dir, &rd->c[slot], rd->sup, rd->flags);
}

static void release_one(void *ctx, unsigned slot)
{
	capture_release(&((struct reading *)ctx)->c[slot]);
}

/* the whole run's peak is the job's: every process on one time axis */
static int job_peak(struct ci_results *res)
{
	struct ci_subject *s = &res->whole;
	struct jobpeak *j = &res->job;

	if (!j->nprocs)
		return 0;
	if (jobpeak_finish(j) < 0)
		return -1;
	s->peak = j->peak;
	s->peak_ms = (j->peak_ns - j->start_ns) / 1000000u;
	for (size_t i = 0; i < j->nprocs; i++) {
		struct strbuf who = STRBUF_INIT;
		int ret;

		if (!j->procs[i].at_job_peak)
			continue;
		if (strbuf_addf(&who, "pid %u: %s", j->procs[i].pid, j->procs[i].command) < 0)
			return error("check: out of memory");
		ret = ci_lines_add(&s->processes, who.buf, j->procs[i].at_job_peak, 0, NULL);
		strbuf_release(&who);
		if (ret < 0)
			return -1;
	}
	ci_lines_finish(&s->processes);
	return 0;
}

/*
 * A test (or fixture) that started processes while it ran: its peak is
 * the highest sum of its own window and what they held at one moment
 * (ci/jobpeak), and its processes lines say who held what then.
 */
static int charge_started(struct ci_subject *s, const struct jobpeak *job)
{
	struct jobpeak t = JOBPEAK_INIT;
	struct jobpeak_process own = { s->pid, 0, s->begin_ns, s->end_ns, NULL, s->peak, 0 };
	struct strbuf who = STRBUF_INIT;
	int ret = -1, n;

	for (size_t i = 0; i < job->nprocs; i++)
		if (job->procs[i].pid == s->pid)
			own.command = job->procs[i].command;
	if (jobpeak_add_process(&t, &own) < 0)
		goto out;
	for (size_t i = 0; i < s->ntimeline; i++)
		if (jobpeak_add_point(&t, s->start_ns + s->timeline[i].ms * 1000000u, s->timeline[i].heap) < 0)
			goto out;
	n = jobpeak_add_started(&t, job, s->pid, s->begin_ns, s->end_ns);
	if (n <= 0 || jobpeak_finish(&t) < 0) {
		ret = n == 0 ? 0 : -1;
		goto out;
	}
	if (t.peak > s->peak)
		s->peak = t.peak;
	for (size_t i = 0; i < t.nprocs; i++) {
		strbuf_reset(&who);
		if (strbuf_addf(&who, "pid %u: %s%s", t.procs[i].pid, t.procs[i].command,
				i ? "" : " (the test's own window)") < 0) {
			error("check: out of memory");
			goto out;
		}
		if (ci_lines_add(&s->processes, who.buf, t.procs[i].at_job_peak, 0, NULL) < 0)
			goto out;
		if (i)
			s->started = units_add(s->started, t.procs[i].at_job_peak);
	}
	ci_lines_finish(&s->processes);
	ret = 0;
out:
	strbuf_release(&who);
	jobpeak_release(&t);
	return ret;
}

static int by_name(const void *x, const void *y)
{
	const char *const *a = x, *const *b = y;
	size_t la = strlen(*a), lb = strlen(*b);

	/* memray-check.bin first, then the children by pid (shorter is smaller) */
	return la != lb ? (la < lb ? -1 : 1) : strcmp(*a, *b);
}

static void subject_release(struct ci_subject *s);

/*
 * The end of a run under a harness: with no marked test and no Check
 * child, its user's processes are its cases and the harness's leaks are
 * not the whole run's; else the harness's leaks join the whole run's.
 */
static int harness_end(struct ci_results *res, struct collecting *st, const char *dir)
{
	struct ci_subject *w = &res->whole, *h = &st->harness;
	int ret = 0;

	if (!res->ntests && st->nprocs) {
		res->tests = st->procs;
		res->ntests = st->nprocs;
		res->tests_alloc = st->procs_alloc;
		res->has_process_cases = 1;
		st->procs = NULL;
		for (size_t i = 0; i < st->nprocs; i++) {
			struct strbuf to = STRBUF_INIT;
			const char *from = st->renames[2 * i], *name = st->renames[2 * i + 1];

			if (!from || !name)
				continue;
			strbuf_addf(&to, "%s/%s", dir, name);
			if (rename(from, to.buf) < 0)
				warning("cannot rename '%s' to '%s'", from, to.buf);
			strbuf_release(&to);
		}
	} else {
		w->leaked = units_add(w->leaked, h->leaked);
		w->leaked_count = units_add(w->leaked_count, h->leaked_count);
		w->suppressed = units_add(w->suppressed, h->suppressed);
		w->suppressed_count = units_add(w->suppressed_count, h->suppressed_count);
		if (ci_lines_move(&w->leak_stacks, &h->leak_stacks) < 0 ||
		    ci_lines_move(&w->suppressed_stacks, &h->suppressed_stacks) < 0)
			ret = -1;
	}
	return ret;
}

static void collecting_release(struct collecting *st)
{
	for (size_t i = 0; i < st->nprocs; i++) {
		if (st->procs)	/* NULL: adopted as the run's tests */
			subject_release(&st->procs[i]);
		free(st->renames[2 * i]);
		free(st->renames[2 * i + 1]);
	}
	free(st->procs);
	free(st->renames);
	subject_release(&st->harness);
	for (size_t i = 0; i < st->nlogs; i++)
		checklog_release(&st->logs[i]);
	free(st->logs);
}

int ci_collect(const char *dir, const struct suppress_list *sup, unsigned flags, const struct ci_select *sel,
	       struct ci_results *out)
{
	return ci_collect_each(dir, sup, flags, sel, NULL, out);
}

int ci_collect_each(const char *dir, const struct suppress_list *sup, unsigned flags, const struct ci_select *sel,
		    const struct ci_each *each, struct ci_results *out)
{
	struct collecting st = { .sel = sel, .each = each };
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, names_alloc = 0;
	int ret = 0;
	struct symbolizer *sym;

	memset(out, 0, sizeof(*out));
	out->whole.id = strdup("(whole run)");
	if (!out->whole.id)
		return error("check: out of memory");
	d = opendir(dir);
	if (!d)
		return error_errno("cannot read the capture directory '%s'", dir);
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "memray-check.bin", 16))
			continue;
		if (GROW(names, n + 1, names_alloc) < 0 || !(names[n] = strdup(de->d_name))) {
			ret = error("check: out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	if (names)
		qsort(names, n, sizeof(*names), by_name);
	/* one symbolizer for all: forked children share the parent's modules */
	sym = ret ? NULL : each && each->sym ? each->sym : symbolizer_new();
	if (!ret && !sym)
		ret = error("check: out of memory");
	if (!ret) {
		static const struct inorder_ops ops = { read_one, judge_one, release_one };
		struct reading rd = { .names = names, .dir = dir, .sym = sym, .res = out, .st = &st, .sup = sup,
				      .flags = flags };

		ret = inorder_run(n, 2, &ops, &rd);	/* this machine's cores */
	}
	if (!each || sym != each->sym)
		symbolizer_free(sym);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (!ret)
		ret = harness_end(out, &st, dir);
	collecting_release(&st);
	if (!ret) {
		ci_lines_finish(&out->whole.leak_stacks);
		ci_lines_finish(&out->whole.suppressed_stacks);
		ret = job_peak(out);
	}
	for (size_t i = 0; !ret && i < out->ntests + out->nfixtures; i++)
		ret = charge_started(i < out->ntests ? &out->tests[i] : &out->fixtures[i - out->ntests], &out->job);
	return ret;
}

static void subject_release(struct ci_subject *s)
{
	free(s->id);
	free(s->file);
	free(s->marks);
	ci_lines_release(&s->peak_stacks);
	ci_lines_release(&s->leak_stacks);
	ci_lines_release(&s->suppressed_stacks);
	ci_lines_release(&s->processes);
	free(s->timeline);
	free(s->scope);
}

void ci_results_release(struct ci_results *res)
{
	subject_release(&res->whole);
	jobpeak_release(&res->job);
	for (size_t i = 0; i < res->ntests; i++)
		subject_release(&res->tests[i]);
	free(res->tests);
	for (size_t i = 0; i < res->nfixtures; i++)
		subject_release(&res->fixtures[i]);
	free(res->fixtures);
	memset(res, 0, sizeof(*res));
}
