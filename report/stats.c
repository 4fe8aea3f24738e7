/*
 * report/stats: see stats.h.
 */
#include "report/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/reader.h"
#include "common/json.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "common/utf8.h"
#include "report/figure.h"
#include "report/reach.h"

struct located {
	const char *location;
	uint64_t size, count;
	size_t entry;		/* the first entry of the location */
};

static int by_location(const void *x, const void *y)
{
	return strcmp(((const struct located *)x)->location, ((const struct located *)y)->location);
}

static int by_size(const void *x, const void *y)
{
	const struct located *a = x, *b = y;

	if (a->size != b->size)
		return a->size < b->size ? 1 : -1;
	return strcmp(a->location, b->location);
}

static int by_count(const void *x, const void *y)
{
	const struct located *a = x, *b = y;

	if (a->count != b->count)
		return a->count < b->count ? 1 : -1;
	return strcmp(a->location, b->location);
}

/* one top list: locations with their figure, sorted */
struct top {
	struct located *l;
	size_t n;
};

/*
 * The figure of every entry grouped by location, sorted by `cmp`; entries
 * with nothing to show are left out. Returns 0, or -1 when out of memory.
 */
static int group(struct analysis *a, struct symbolizer *s, enum figure fig,
		 int (*cmp)(const void *, const void *), struct top *top)
{
	struct located *l = calloc(a->nentries + 1, sizeof(*l));
	size_t n = 0, m = 0;

	top->l = l;
	top->n = 0;
	if (!l)
		return -1;
	for (size_t i = 0; i < a->nentries; i++) {
		uint64_t size, count;

		if (!figure_of(&a->entries[i], fig, &size, &count))
			continue;
		l[n++] = (struct located){ analysis_location(a, s, a->entries[i].stack), size, count, i };
	}
	qsort(l, n, sizeof(*l), by_location);
	for (size_t i = 0; i < n; i++) {
		if (m && !strcmp(l[m - 1].location, l[i].location)) {
			l[m - 1].size += l[i].size;
			l[m - 1].count += l[i].count;
		} else {
			l[m++] = l[i];
		}
	}
	qsort(l, m, sizeof(*l), cmp);
	top->n = m;
	return 0;
}

static void time_string(char *buf, size_t len, uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000u);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%03u", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ns / 1000000u % 1000u));
}

/* the histogram: one bin per power of two from the smallest size to the largest */
static void histogram_range(const struct analysis *a, int *lo, int *hi)
{
	*lo = -1;
	*hi = -1;
	for (int i = 0; i < HEAPMODEL_BUCKETS; i++) {
		if (!a->histogram[i])
			continue;
		if (*lo < 0)
			*lo = i;
		*hi = i;
	}
}

static uint64_t bin_min(int i)
{
	return i ? (uint64_t)1 << (i - 1) : 0;
}

static uint64_t bin_max(int i)
{
	return i ? (i == 64 ? UINT64_MAX : ((uint64_t)1 << i) - 1) : 0;
}

struct report {
	struct analysis *a;
	const struct capture_header *h;
	struct capture_reader *r;
	size_t limit;
	struct top by_size, by_count, peak, leaks;
	struct top lost, reachable;	/* with a reachability scan */
	struct top collected;		/* with the garbage collector */
	struct symbolizer *s;
};

/* which figures a JSON top list shows of each location */
enum top_fields { TOP_SIZE = 1, TOP_COUNT = 2 };

static void json_top(struct json *j, const struct top *top, size_t limit, unsigned fields)
{
	json_array_begin(j);
	for (size_t i = 0; i < top->n && (!limit || i < limit); i++) {
		json_object_begin(j);
		json_key(j, "location");
		json_string(j, top->l[i].location);
		if (fields & TOP_SIZE) {
			json_key(j, "size");
			json_uint(j, top->l[i].size);
		}
		if (fields & TOP_COUNT) {
			json_key(j, "count");
			json_uint(j, top->l[i].count);
		}
		json_object_end(j);
	}
	json_array_end(j);
}

static void json_member_uint(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

static void json_histogram(struct json *j, const struct analysis *a)
{
	int lo, hi;

	histogram_range(a, &lo, &hi);
	json_key(j, "allocation_size_histogram");
	json_array_begin(j);
	for (int i = lo; lo >= 0 && i <= hi; i++) {
		json_object_begin(j);
		json_member_uint(j, "min_bytes", bin_min(i));
		json_member_uint(j, "max_bytes", bin_max(i));
		json_member_uint(j, "count", a->histogram[i]);
		json_object_end(j);
	}
	json_array_end(j);
}

/* the allocator kinds by count, highest first; kinds of equal count in kind order */
static void json_allocators(struct json *j, const struct analysis *a)
{
	json_key(j, "allocator_type_distribution");
	json_object_begin(j);
	for (uint64_t below = UINT64_MAX;;) {
		int best = -1;

		for (int k = 1; k < CAPTURE_ALLOC_COUNT; k++) {
			uint64_t c = a->allocator_counts[k];

			if (capture_allocator_allocates((unsigned)k) && c && c < below &&
			    (best < 0 || c > a->allocator_counts[best]))
				best = k;
		}
		if (best < 0)
			break;
		below = a->allocator_counts[best];
		for (int k = 1; k < CAPTURE_ALLOC_COUNT; k++)
			if (capture_allocator_allocates((unsigned)k) && a->allocator_counts[k] == below)
				json_member_uint(j, capture_allocator_name((unsigned)k), below);
	}
	json_object_end(j);
}

static void json_metadata(struct json *j, const struct report *rep)
{
	const struct analysis *a = rep->a;
	struct strbuf cmd = STRBUF_INIT;
	char when[64];

	json_key(j, "metadata");
	json_object_begin(j);
	time_string(when, sizeof(when), a->start_ns);
	json_key(j, "start_time");
	json_string(j, when);
	time_string(when, sizeof(when), a->end_ns);
	json_key(j, "end_time");
	json_string(j, when);
	json_member_uint(j, "total_allocations", a->total_allocations);
	json_member_uint(j, "total_frames", a->nnodes - 1);
	json_member_uint(j, "peak_memory", a->peak_bytes);
	for (int i = 0; i < rep->h->argc; i++)
		strbuf_addf(&cmd, "%s%s", i ? " " : "", rep->h->argv[i]);
	json_key(j, "command_line");
	json_string(j, cmd.buf);
	json_member_uint(j, "pid", rep->h->pid);
	json_member_uint(j, "main_thread_id", a->main_tid);
	json_key(j, "python_allocator");
	json_null(j);
	/* a native program always has native stacks; a Python one with --native */
	json_key(j, "has_native_traces");
	json_bool(j, !a->ncodes || (rep->h->flags & CAPTURE_F_NATIVE));
	json_key(j, "trace_python_allocators");
	json_bool(j, rep->h->flags & CAPTURE_F_TRACE_PYTHON_ALLOCATORS);
	json_key(j, "file_format");
	json_string(j, a->is_aggregated ? "AGGREGATED_ALLOCATIONS" : "ALL_ALLOCATIONS");
	json_object_end(j);
	strbuf_release(&cmd);
}

/* the JSON key of a verdict: "definitely_lost", ... */
static const char *const reach_keys[CAPTURE_REACH_COUNT] = {
	"not_scanned", "definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable",
};

static void json_holders(struct json *j, const struct report *rep)
{
	char who[512];

	json_key(j, "still_reachable_by_size");
	json_array_begin(j);
	for (size_t i = 0; i < rep->reachable.n && (!rep->limit || i < rep->limit); i++) {
		const struct located *l = &rep->reachable.l[i];
		const struct analysis_entry *e = &rep->a->entries[l->entry];
		const char *holder = reach_holder(rep->a, rep->s, e, who, sizeof(who));

		json_object_begin(j);
		json_key(j, "location");
		json_string(j, l->location);
		json_member_uint(j, "size", l->size);
		json_member_uint(j, "count", l->count);
		json_key(j, "held_by");
		json_string(j, holder ? holder : "");
		json_member_uint(j, "chain", e->hold_chain);
		json_object_end(j);
	}
	json_array_end(j);
}

static void json_reachability(struct json *j, const struct analysis *a)
{
	json_key(j, "by_reachability");
	json_object_begin(j);
	for (int i = 0; i < CAPTURE_REACH_COUNT; i++) {
		unsigned c = reach_order[i];

		json_key(j, reach_keys[c]);
		json_object_begin(j);
		json_member_uint(j, "bytes", a->reach_bytes[c]);
		json_member_uint(j, "allocations", a->reach_count[c]);
		json_object_end(j);
	}
	json_object_end(j);
}

static void render_reachability(struct strbuf *sb, const struct analysis *a)
{
	char buf[UNITS_BUF];

	strbuf_addstr(sb, "Leaked memory by reachability (scanned at exit):\n");
	for (int i = 0; i < CAPTURE_REACH_COUNT; i++) {
		unsigned c = reach_order[i];

		if (c != CAPTURE_REACH_UNKNOWN || a->reach_count[c])
			strbuf_addf(sb, "\t%s: %s in %llu allocations\n", capture_reach_name(c),
				    units_human(buf, a->reach_bytes[c]), (unsigned long long)a->reach_count[c]);
	}
	strbuf_addch(sb, '\n');
}

static int render_json(struct strbuf *sb, const struct report *rep)
{
	const struct analysis *a = rep->a;
	const char *problem = capture_reader_problem(rep->r);
	struct strbuf lost = STRBUF_INIT;
	struct json j;

	json_init(&j, sb, JSON_SPACED | JSON_TOP_LINES);
	json_object_begin(&j);
	json_member_uint(&j, "total_num_allocations", a->total_allocations);
	json_member_uint(&j, "total_bytes_allocated", a->total_bytes);
	json_histogram(&j, a);
	json_allocators(&j, a);
	json_key(&j, "top_allocations_by_size");
	json_top(&j, &rep->by_size, rep->limit, TOP_SIZE);
	json_key(&j, "top_allocations_by_count");
	json_top(&j, &rep->by_count, rep->limit, TOP_COUNT);
	json_metadata(&j, rep);
	json_key(&j, "peak");
	json_object_begin(&j);
	json_member_uint(&j, "bytes", a->peak_bytes);
	json_member_uint(&j, "allocations", a->peak_allocations);
	json_member_uint(&j, "time_ms", a->peak_ms);
	json_key(&j, "top_by_size");
	json_top(&j, &rep->peak, rep->limit, TOP_SIZE | TOP_COUNT);
	json_object_end(&j);
	json_key(&j, "leaks");
	json_object_begin(&j);
	json_member_uint(&j, "bytes", a->leaked_bytes);
	json_member_uint(&j, "allocations", a->leaked_allocations);
	json_key(&j, "top_by_size");
	json_top(&j, &rep->leaks, rep->limit, TOP_SIZE | TOP_COUNT);
	if (a->has_reachability) {
		json_reachability(&j, a);
		json_key(&j, "lost_by_size");
		json_top(&j, &rep->lost, rep->limit, TOP_SIZE | TOP_COUNT);
		json_holders(&j, rep);
	}
	json_object_end(&j);
	json_key(&j, "collected");
	json_object_begin(&j);
	json_member_uint(&j, "bytes", a->collected_bytes);
	json_member_uint(&j, "allocations", a->collected_allocations);
	json_key(&j, "top_by_size");
	json_top(&j, &rep->collected, rep->limit, TOP_SIZE | TOP_COUNT);
	json_object_end(&j);
	json_key(&j, "capture");
	json_object_begin(&j);
	/*
	 * Dropped records make every figure a lower bound: not complete, and
	 * the same warning the text's reader prints (cli/reading.c), so a
	 * script reading only the JSON cannot take them for exact.
	 */
	json_key(&j, "complete");
	json_bool(&j, a->is_complete && !a->lost);
	json_member_uint(&j, "lost_records", a->lost);
	json_member_uint(&j, "segments", a->segments);
	json_member_uint(&j, "records", a->records);
	json_key(&j, "warnings");
	json_array_begin(&j);
	if (problem)
		json_string(&j, problem);
	if (a->lost) {
		strbuf_addf(&lost, "the tracker dropped %llu records when its writer fell behind; figures may be off",
			    (unsigned long long)a->lost);
		json_string(&j, lost.buf);
	}
	if (a->is_stopped)
		json_string(&j, ANALYSIS_STOPPED_WARNING);
	json_array_end(&j);
	json_object_end(&j);
	json_object_end(&j);
	strbuf_addch(sb, '\n');
	strbuf_release(&lost);
	return json_finish(&j);
}

/* the locations hold names from the tracked program: shown escaped (common/utf8.h) */
static void render_top(struct strbuf *sb, const char *title, const struct top *top, size_t limit, int sizes)
{
	char buf[UNITS_BUF];

	strbuf_addf(sb, "\n%s\n", title);
	if (!top->n)
		strbuf_addstr(sb, "\t(none)\n");
	for (size_t i = 0; i < top->n && (!limit || i < limit); i++) {
		const struct located *l = &top->l[i];

		strbuf_addstr(sb, "\t- ");
		utf8_add_printable(sb, l->location, 0);
		if (sizes)
			strbuf_addf(sb, " -> %s (%llu allocations)\n", units_human(buf, l->size),
				    (unsigned long long)l->count);
		else
			strbuf_addf(sb, " -> %llu\n", (unsigned long long)l->count);
	}
}

static void render_histogram(struct strbuf *sb, const struct analysis *a)
{
	char buf[UNITS_BUF];
	uint64_t most = 0;
	int lo, hi;

	strbuf_addstr(sb, "Histogram of allocation size:\n");
	histogram_range(a, &lo, &hi);
	for (int i = lo; lo >= 0 && i <= hi; i++)
		most = a->histogram[i] > most ? a->histogram[i] : most;
	for (int i = lo; lo >= 0 && i <= hi; i++) {
		int bar = most ? (int)((a->histogram[i] * 25 + most - 1) / most) : 0;

		/* sizes in [2^(i-1), 2^i): the exclusive upper bound says it all */
		strbuf_addf(sb, "\t%s%-11s: %10llu ", i ? "< " : "= ", i ? units_human(buf, bin_max(i) + 1) : "0B",
			    (unsigned long long)a->histogram[i]);
		for (int k = 0; k < bar; k++)
			strbuf_addstr(sb, "\u2587");
		strbuf_addch(sb, '\n');
	}
	if (lo < 0)
		strbuf_addstr(sb, "\t<no data for histogram>\n");
}

/* the still reachable locations, each with what holds its first block */
static void render_holders(struct strbuf *sb, const struct report *rep)
{
	char buf[UNITS_BUF], who[512];

	strbuf_addstr(sb, "\nStill reachable at exit (by size), and what holds it:\n");
	if (!rep->reachable.n)
		strbuf_addstr(sb, "\t(none)\n");
	for (size_t i = 0; i < rep->reachable.n && (!rep->limit || i < rep->limit); i++) {
		const struct located *l = &rep->reachable.l[i];
		const struct analysis_entry *e = &rep->a->entries[l->entry];
		const char *holder = reach_holder(rep->a, rep->s, e, who, sizeof(who));

		strbuf_addstr(sb, "\t- ");
		utf8_add_printable(sb, l->location, 0);
		strbuf_addf(sb, " -> %s (%llu allocations), held by ", units_human(buf, l->size),
			    (unsigned long long)l->count);
		utf8_add_printable(sb, holder ? holder : "?", 0);
		strbuf_addf(sb, " (chain %llu)\n", (unsigned long long)e->hold_chain);
	}
}

static void render_text(struct strbuf *sb, const struct report *rep)
{
	const struct analysis *a = rep->a;
	char buf[UNITS_BUF];

	strbuf_addf(sb, "Total allocations:\n\t%llu\n\n", (unsigned long long)a->total_allocations);
	strbuf_addf(sb, "Total memory allocated:\n\t%s\n\n", units_human(buf, a->total_bytes));
	strbuf_addf(sb, "Peak memory usage:\n\t%s (%llu live allocations, %llu ms after start)\n\n",
		    units_human(buf, a->peak_bytes), (unsigned long long)a->peak_allocations,
		    (unsigned long long)a->peak_ms);
	strbuf_addf(sb, "Leaked memory (live at exit%s):\n\t%s in %llu allocations\n\n",
		    a->is_complete ? "" : "; the capture ended early, so this is what was live then",
		    units_human(buf, a->leaked_bytes), (unsigned long long)a->leaked_allocations);
	if (a->has_reachability)
		render_reachability(sb, a);
	if (a->collected_allocations)
		strbuf_addf(sb, "Freed by the garbage collector (found lost while the program ran):\n\t%s in %llu allocations\n\n",
			    units_human(buf, a->collected_bytes), (unsigned long long)a->collected_allocations);
	render_histogram(sb, a);
	strbuf_addstr(sb, "\nAllocator type distribution:\n");
	for (int k = 1; k < CAPTURE_ALLOC_COUNT; k++)
		if (capture_allocator_allocates((unsigned)k) && a->allocator_counts[k])
			strbuf_addf(sb, "\t %s: %llu\n", capture_allocator_name((unsigned)k),
				    (unsigned long long)a->allocator_counts[k]);
	render_top(sb, "Top largest allocating locations (by size):", &rep->by_size, rep->limit, 1);
	render_top(sb, "Top largest allocating locations (by number of allocations):", &rep->by_count,
		   rep->limit, 0);
	render_top(sb, "Live at the peak (by size):", &rep->peak, rep->limit, 1);
	render_top(sb, "Leaked (by size):", &rep->leaks, rep->limit, 1);
	if (a->has_reachability) {
		render_top(sb, "Lost at exit, definitely or indirectly (by size):", &rep->lost, rep->limit, 1);
		render_holders(sb, rep);
	}
	if (a->collected_allocations)
		render_top(sb, "Freed by the garbage collector (by size):", &rep->collected, rep->limit, 1);
}

int stats_report(struct strbuf *out, struct analysis *a, struct symbolizer *s, struct capture_reader *r,
		 const struct stats_options *opts)
{
	struct report rep = { .a = a, .h = capture_reader_header(r), .r = r, .limit = opts->limit, .s = s };
	int ret = -1;

	if ((a->has_reachability && (group(a, s, FIGURE_LOST, by_size, &rep.lost) < 0 ||
				     group(a, s, FIGURE_REACHABLE, by_size, &rep.reachable) < 0)) ||
	    group(a, s, FIGURE_ALL, by_size, &rep.by_size) < 0 ||
	    group(a, s, FIGURE_ALL, by_count, &rep.by_count) < 0 ||
	    group(a, s, FIGURE_PEAK, by_size, &rep.peak) < 0 || group(a, s, FIGURE_LEAKS, by_size, &rep.leaks) < 0 ||
	    (a->collected_allocations && group(a, s, FIGURE_COLLECTED, by_size, &rep.collected) < 0))
		goto out;
	if (opts->json) {
		if (render_json(out, &rep) < 0)
			goto out;
	} else {
		render_text(out, &rep);
	}
	ret = 0;
out:
	free(rep.by_size.l);
	free(rep.by_count.l);
	free(rep.peak.l);
	free(rep.leaks.l);
	free(rep.lost.l);
	free(rep.reachable.l);
	free(rep.collected.l);
	return ret;
}
