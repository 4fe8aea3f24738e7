/*
 * live/tui: see tui.h.
 *
 * One loop: read what the stream has, reap the program if it is ours,
 * take a key (waiting at most TICK_MS for one), redraw at most every
 * REDRAW_MS or at once after a key or a resize. The table is rebuilt from
 * the session's heap at each redraw; symbol lookups are cached by the
 * symbolizer, so a redraw costs a walk over the live (stack, thread)
 * entries.
 */
#include "live/tui.h"

#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "common/utf8.h"
#include "report/summary.h"

#define TICK_MS 50
#define REDRAW_MS 250
#define STATUS_ROWS 4	/* above the help line, for how it ended */

enum { PAIR_HEAP = 1, PAIR_RSS, PAIR_BAD, PAIR_TITLE };

struct view {
	struct live_session *s;
	const struct live_tui *t;
	enum summary_column sort;
	size_t thread;		/* 0: all threads; k: s->a.threads[k - 1] */
	int is_paused, has_color;
	struct strbuf line;
};

/*
 * A signal that would end the process while the view is up (the terminal
 * in raw mode) only ends the loop: the terminal is restored, then the
 * caller dies of it (live_tui_die).
 */
static const int view_signals[] = { SIGTERM, SIGHUP, SIGINT };
static volatile sig_atomic_t ended_by;

static void note_signal(int sig)
{
	ended_by = sig;
}

/*
 * Catch the view's signals unless someone already handles them (`run
 * --live` forwards SIGTERM and SIGHUP to the program and ignores SIGINT).
 * Before newterm: ncurses then leaves them to us.
 */
static void catch_signals(struct sigaction *old)
{
	struct sigaction sa = { .sa_handler = note_signal };	/* no SA_RESTART: getch returns */

	ended_by = 0;
	for (size_t i = 0; i < sizeof(view_signals) / sizeof(*view_signals); i++)
		if (sigaction(view_signals[i], NULL, &old[i]) == 0 && old[i].sa_handler == SIG_DFL)
			sigaction(view_signals[i], &sa, NULL);
}

static void restore_signals(const struct sigaction *old)
{
	for (size_t i = 0; i < sizeof(view_signals) / sizeof(*view_signals); i++)
		sigaction(view_signals[i], &old[i], NULL);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* colour pair `pair` on or off, if the terminal has colour (0: no colour) */
static void attr(struct view *v, int pair, int on)
{
	if (!v->has_color || !pair)
		return;
	if (on)
		attron(COLOR_PAIR(pair));
	else
		attroff(COLOR_PAIR(pair));
}

/* print text at (y, x), cut to the screen's width */
static void put(int y, int x, const char *text)
{
	if (y < LINES && x < COLS)
		mvaddnstr(y, x, text, COLS - x);
}

static uint32_t thread_tid(const struct view *v)
{
	return v->thread && v->thread <= v->s->a.nthreads ? v->s->a.threads[v->thread - 1] : 0;
}

/* live allocations of the thread shown (all threads: the heap's own count) */
static uint64_t live_allocations(const struct view *v)
{
	const struct heapmodel *hm = v->s->hm;
	uint32_t tid = thread_tid(v);
	uint64_t n = 0;

	if (!tid)
		return hm->live_allocations;
	for (size_t i = 0; i < hm->nentries; i++)
		if (hm->entries[i].thread == tid)
			n += hm->entries[i].live_count;
	return n;
}

static const char *status_word(const struct view *v)
{
	const struct live_session *s = v->s;

	if (v->is_paused)
		return "[paused]";
	if (s->has_exit_status || (s->has_ended && !v->t->child))
		return "[ended]";
	if (!s->has_begun)
		return "[waiting]";
	return "[running]";
}

static void draw_head(struct view *v)
{
	const struct live_session *s = v->s;
	char a[UNITS_BUF], b[UNITS_BUF];
	uint64_t rss = s->a.nsamples ? s->a.samples[s->a.nsamples - 1].rss : 0;
	const char *word = status_word(v);

	strbuf_reset(&v->line);
	strbuf_addstr(&v->line, "memray live: ");
	utf8_add_printable(&v->line, v->t->title, 0);
	attron(A_BOLD);
	put(0, 0, v->line.buf);
	put(0, COLS > (int)strlen(word) ? COLS - (int)strlen(word) : 0, word);
	attroff(A_BOLD);
	strbuf_reset(&v->line);
	strbuf_addf(&v->line, "Heap: %llu B (%s)  Peak: %llu B  RSS: %s", (unsigned long long)live_session_heap(s),
		    units_human(a, live_session_heap(s)), (unsigned long long)live_session_peak(s), units_human(b, rss));
	put(1, 0, v->line.buf);
	strbuf_reset(&v->line);
	if (v->thread)
		strbuf_addf(&v->line, "Thread %zu/%zu: %s", v->thread, s->a.nthreads,
			    analysis_thread_label(&v->s->a, thread_tid(v)));
	else
		strbuf_addf(&v->line, "Thread: all (%zu)", s->a.nthreads);
	strbuf_addf(&v->line, "  Sort: %s  Live allocations: %llu",
		    v->sort == SUMMARY_OWN ? "own" : v->sort == SUMMARY_TOTAL ? "total" : "allocations",
		    (unsigned long long)live_allocations(v));
	put(2, 0, v->line.buf);
}

/* the largest heap and RSS of samples [from, to) */
static void sample_max(const struct analysis *a, size_t from, size_t to, uint64_t *heap, uint64_t *rss)
{
	*heap = *rss = 0;
	for (size_t i = from; i < to && i < a->nsamples; i++) {
		if (a->samples[i].heap > *heap)
			*heap = a->samples[i].heap;
		if (a->samples[i].rss > *rss)
			*rss = a->samples[i].rss;
	}
}

/* the whole run, squeezed into `width` columns of `height` rows: heap '#', RSS '.' above it */
static void draw_chart(struct view *v, int top, int height)
{
	const struct analysis *a = &v->s->a;
	int left = 11, width = COLS - left;
	size_t step;
	uint64_t top_heap, top_rss, max;
	char buf[UNITS_BUF];

	if (height <= 0 || width < 10)
		return;
	sample_max(a, 0, a->nsamples, &top_heap, &top_rss);
	max = top_heap > top_rss ? top_heap : top_rss;
	put(top, 0, units_human(buf, max));
	attr(v, PAIR_HEAP, 1);
	put(top + height - 1, 0, "heap #");
	attr(v, PAIR_HEAP, 0);
	attr(v, PAIR_RSS, 1);
	put(top + height - 2 >= top ? top + height - 2 : top, 0, "rss  .");
	attr(v, PAIR_RSS, 0);
	if (!a->nsamples || !max)
		return;
	step = (a->nsamples + (size_t)width - 1) / (size_t)width;
	for (int c = 0; (size_t)c * step < a->nsamples && c < width; c++) {
		uint64_t heap, rss;
		int hh, rh;

		sample_max(a, (size_t)c * step, (size_t)(c + 1) * step, &heap, &rss);
		hh = (int)((heap * (uint64_t)height + max / 2) / max);
		rh = (int)((rss * (uint64_t)height + max / 2) / max);
		for (int r = 0; r < height; r++) {
			int level = height - r;

			if (hh >= level) {
				attr(v, PAIR_HEAP, 1);
				mvaddch(top + r, left + c, '#');
				attr(v, PAIR_HEAP, 0);
			} else if (rh >= level) {
				attr(v, PAIR_RSS, 1);
				mvaddch(top + r, left + c, '.');
				attr(v, PAIR_RSS, 0);
			}
		}
	}
}

static int draw_table(struct view *v, int top, int rows)
{
	struct live_session *s = v->s;
	struct summary_table t = { 0 };
	uint32_t tid = thread_tid(v);
	char own[UNITS_BUF], total[UNITS_BUF];

	for (size_t i = 0; s->has_begun && i < s->hm->nentries; i++) {
		const struct heapmodel_entry *e = &s->hm->entries[i];

		if (!e->live_count || (tid && e->thread != tid))
			continue;
		if (summary_table_add(&t, &s->a, s->sym, e->stack, e->live_bytes, e->live_count, i) < 0) {
			summary_table_release(&t);
			return -1;
		}
	}
	summary_table_sort(&t, v->sort);
	attron(A_REVERSE);
	strbuf_reset(&v->line);
	strbuf_addf(&v->line, "%12s %12s %8s  %-*s", "Own", "Total", "Allocs", COLS > 36 ? COLS - 36 : 0, "Location");
	put(top, 0, v->line.buf);
	attroff(A_REVERSE);
	for (int k = 0; k < rows && (size_t)k < t.n; k++) {
		const struct summary_row *r = &t.rows[k];

		strbuf_reset(&v->line);
		strbuf_addf(&v->line, "%12s %12s %8llu  ", units_human(own, r->own), units_human(total, r->total),
			    (unsigned long long)r->count);
		summary_add_location(&v->line, r, COLS - 37);
		put(top + 1 + k, 0, v->line.buf);
	}
	if (!t.n)
		put(top + 1, 0, s->has_begun ? "(nothing is live)" : s->has_ended ? "(no capture arrived)" :
				"(waiting for the program's first records)");
	summary_table_release(&t);
	return 0;
}

/* how the program or the stream ended, and what the tracker lost: up to STATUS_ROWS rows from y */
static void draw_status(struct view *v, int y)
{
	const struct live_session *s = v->s;
	const char *problem = live_session_problem(s);

	strbuf_reset(&v->line);
	if (s->has_exit_status && WIFSIGNALED(s->exit_status)) {
		int sig = WTERMSIG(s->exit_status);

		strbuf_addf(&v->line, "the program was killed by signal %d (SIG%s)", sig,
			    sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	} else if (s->has_exit_status) {
		strbuf_addf(&v->line, "the program exited with status %d", WEXITSTATUS(s->exit_status));
	} else if (s->has_ended && !problem) {
		strbuf_addstr(&v->line, "the program ended");
	}
	if (problem)
		strbuf_addf(&v->line, "%s%s", v->line.len ? "; " : "", problem);
	if (problem && v->t->program_output)
		strbuf_addf(&v->line, " (any word from the tracker is in %s)", v->t->program_output);
	if (s->has_begun && s->a.lost)
		strbuf_addf(&v->line, "%srecords lost by the tracker: %llu", v->line.len ? "; " : "",
			    (unsigned long long)s->a.lost);
	if (!v->line.len || COLS < 1)
		return;
	attr(v, problem ? PAIR_BAD : 0, 1);
	attron(A_BOLD);
	for (size_t at = 0, row = 0; at < v->line.len && row < STATUS_ROWS; row++) {
		size_t n = v->line.len - at;	/* escaped text: one byte a column */

		if (n > (size_t)COLS) {	/* wrapped at the last space that fits */
			n = (size_t)COLS;
			while (n > 1 && v->line.buf[at + n] != ' ')
				n--;
			if (n == 1)
				n = (size_t)COLS;
		}
		mvaddnstr(y + (int)row, 0, v->line.buf + at, (int)n);
		at += n;
		while (at < v->line.len && v->line.buf[at] == ' ')
			at++;
	}
	attroff(A_BOLD);
	attr(v, problem ? PAIR_BAD : 0, 0);
}

static int draw(struct view *v)
{
	int chart = LINES >= 20 ? 4 : LINES >= 14 ? 2 : 0, table_top = 3 + chart;

	erase();
	draw_head(v);
	draw_chart(v, 3, chart);
	if (draw_table(v, table_top, LINES - 2 - STATUS_ROWS - table_top) < 0)
		return -1;
	draw_status(v, LINES - 1 - STATUS_ROWS);
	attron(A_REVERSE);
	put(LINES - 1, 0, "q quit  p pause  o own  t total  a allocs  < > thread");
	attroff(A_REVERSE);
	refresh();
	return 0;
}

/* a key: 1 to quit, else 0 */
static int on_key(struct view *v, int key)
{
	size_t n = v->s->a.nthreads;

	switch (key) {
	case 'q': case 'Q': case 3:	/* Ctrl-C: raw mode makes it a key */
		return 1;
	case 'p': case ' ':
		v->is_paused = !v->is_paused;
		break;
	case 'o':
		v->sort = SUMMARY_OWN;
		break;
	case 't':
		v->sort = SUMMARY_TOTAL;
		break;
	case 'a':
		v->sort = SUMMARY_COUNT;
		break;
	case '>': case '.': case KEY_RIGHT:
		v->thread = (v->thread + 1) % (n + 1);
		break;
	case '<': case ',': case KEY_LEFT:
		v->thread = (v->thread + n) % (n + 1);
		break;
	}
	return 0;
}

static void start_colors(struct view *v)
{
	const char *no_color = getenv("NO_COLOR");

	if (!has_colors() || (no_color && *no_color))
		return;
	start_color();
	use_default_colors();
	init_pair(PAIR_HEAP, COLOR_GREEN, -1);
	init_pair(PAIR_RSS, COLOR_CYAN, -1);
	init_pair(PAIR_BAD, COLOR_RED, -1);
	v->has_color = 1;
}

/*
 * Is the terminal gone (its window closed, the tmux server or the ssh
 * link killed)? Then every read fails at once, and a view waiting for a
 * key would spin on the CPU for good, as `run --live` forwards the
 * hang-up to the program and stays.
 */
static int terminal_is_gone(void)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

int live_tui_run(struct live_session *s, const struct live_tui *t)
{
	struct view v = { .s = s, .t = t, .sort = SUMMARY_OWN };
	struct sigaction old[sizeof(view_signals) / sizeof(*view_signals)];
	uint64_t last = 0;
	int ret = 0, dirty = 1, stale = 0;

	if (!isatty(0) || !isatty(1))
		return error("the live view needs a terminal (stdin and stdout)");
	setlocale(LC_ALL, "");
	catch_signals(old);
	if (!newterm(NULL, stdout, stdin)) {
		restore_signals(old);
		return error("cannot start the live view on terminal '%s'", getenv("TERM") ? getenv("TERM") : "");
	}
	raw();
	noecho();
	curs_set(0);
	keypad(stdscr, TRUE);
	timeout(TICK_MS);
	start_colors(&v);
	strbuf_init(&v.line, 0);
	while (!ended_by) {
		int key, pumped = live_session_pump(s);

		if (pumped < 0) {
			ret = -1;
			break;
		}
		if (t->child && !s->has_exit_status && waitpid(t->child, &s->exit_status, WNOHANG) == t->child)
			s->has_exit_status = dirty = 1;
		stale |= pumped != 0;
		timeout(pumped == 2 ? 0 : TICK_MS);	/* a stream in full flow: only a glance at the keys */
		if (dirty || (stale && !v.is_paused && now_ms() - last >= REDRAW_MS)) {
			if (draw(&v) < 0) {
				ret = -1;
				break;
			}
			last = now_ms();
			dirty = stale = 0;
		}
		key = getch();
		if (key == ERR && terminal_is_gone())
			break;
		if (key == ERR)
			continue;
		if (on_key(&v, key))
			break;
		dirty = 1;
	}
	endwin();
	restore_signals(old);
	strbuf_release(&v.line);
	return ret < 0 ? ret : ended_by;
}

void live_tui_die(int sig)
{
	fflush(NULL);
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);	/* only if the signal is blocked */
}
