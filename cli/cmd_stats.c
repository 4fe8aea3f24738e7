/*
 * cli/cmd_stats: `memray stats`, high-level figures of a capture, as text
 * or JSON with the keys of the Python tool (plus "peak", "leaks" and
 * "capture", which it does not have).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/reader.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "report/analysis.h"

static const char stats_usage[] =
	"usage: memray stats [-h] [-n N] [--json] [-o FILE] [-f] [--partial] CAPTURE\n"
	"\n"
	"High-level statistics of the allocations in CAPTURE: totals, the peak, leaks,\n"
	"a size histogram, the allocator mix and the top allocating locations.\n"
	"\n"
	"options:\n"
	"  -n, --num-largest N  how many locations in each top list (default 5; 0: all)\n"
	"  --json               JSON instead of text (keys as the Python tool's stats --json)\n"
	"  -o, --output FILE    write to FILE instead of stdout\n"
	"  -f, --force          overwrite FILE if it exists\n"
	"  --partial            report what comes before damage in the capture\n"
	"\n"
	"A location is the innermost frame outside the C and C++ runtime, as\n"
	"function:file:line. Sizes in the text are binary (KiB = 1024 bytes).\n"
	"\n"
	"exit status: 0 success (a capture cut short by a kill is read with a warning),\n"
	"1 unreadable or damaged capture, or output not written; 2 usage error.\n";

struct located {
	const char *location;
	uint64_t size, count;
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

enum figure { ALL, AT_PEAK, LEAKED };

/*
 * The figure of every entry grouped by location, sorted by `cmp`; entries
 * with nothing to show are left out. Returns the count; *out is the caller's.
 */
static size_t group(struct analysis *a, struct symbolizer *s, enum figure fig,
		    int (*cmp)(const void *, const void *), struct located **out)
{
	struct located *l = calloc(a->nentries + 1, sizeof(*l));
	size_t n = 0, m = 0;

	*out = l;
	if (!l)
		return 0;
	for (size_t i = 0; i < a->nentries; i++) {
		const struct analysis_entry *e = &a->entries[i];
		uint64_t size = fig == ALL ? e->bytes : fig == AT_PEAK ? e->peak_bytes : e->leak_bytes;
		uint64_t count = fig == ALL ? e->allocs : fig == AT_PEAK ? e->peak_count : e->leak_count;

		if (!size && !count)
			continue;
		l[n++] = (struct located){ analysis_location(a, s, e->stack), size, count };
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
	return m;
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

static void json_string(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	strbuf_add_json(sb, s);
	strbuf_addch(sb, '"');
}

static void json_top(struct strbuf *sb, const struct located *l, size_t n, size_t limit, const char *what)
{
	strbuf_addch(sb, '[');
	for (size_t i = 0; i < n && (!limit || i < limit); i++) {
		strbuf_addstr(sb, i ? ", {\"location\": " : "{\"location\": ");
		json_string(sb, l[i].location);
		if (!strcmp(what, "size"))
			strbuf_addf(sb, ", \"size\": %llu}", (unsigned long long)l[i].size);
		else if (!strcmp(what, "count"))
			strbuf_addf(sb, ", \"count\": %llu}", (unsigned long long)l[i].count);
		else
			strbuf_addf(sb, ", \"size\": %llu, \"count\": %llu}", (unsigned long long)l[i].size,
				    (unsigned long long)l[i].count);
	}
	strbuf_addch(sb, ']');
}

static const char *command_line(const struct capture_header *h, struct strbuf *sb)
{
	for (int i = 0; i < h->argc; i++) {
		if (i)
			strbuf_addch(sb, ' ');
		strbuf_addstr(sb, h->argv[i]);
	}
	return sb->buf;
}

struct report {
	struct analysis *a;
	struct symbolizer *sym;
	const struct capture_header *h;
	struct capture_reader *r;
	size_t limit;
	struct located *by_size, *by_count, *peak, *leaks;
	size_t nby_size, nby_count, npeak, nleaks;
};

static void render_json(struct strbuf *sb, struct report *rep)
{
	struct analysis *a = rep->a;
	struct strbuf cmd = STRBUF_INIT;
	const char *problem = capture_reader_problem(rep->r);
	char start[64], end[64];
	int lo, hi, first = 1;

	time_string(start, sizeof(start), a->start_ns);
	time_string(end, sizeof(end), a->end_ns);
	strbuf_addf(sb, "{\n  \"total_num_allocations\": %llu,\n  \"total_bytes_allocated\": %llu,\n",
		    (unsigned long long)a->total_allocations, (unsigned long long)a->total_bytes);
	strbuf_addstr(sb, "  \"allocation_size_histogram\": [");
	histogram_range(a, &lo, &hi);
	for (int i = lo; lo >= 0 && i <= hi; i++)
		strbuf_addf(sb, "%s{\"min_bytes\": %llu, \"max_bytes\": %llu, \"count\": %llu}", i > lo ? ", " : "",
			    (unsigned long long)bin_min(i), (unsigned long long)bin_max(i),
			    (unsigned long long)a->histogram[i]);
	strbuf_addstr(sb, "],\n  \"allocator_type_distribution\": {");
	for (uint64_t below = UINT64_MAX;;) {	/* by count, highest first */
		int best = -1;

		for (int k = 1; k < CAPTURE_ALLOC_COUNT; k++) {
			uint64_t c = a->allocator_counts[k];

			if (capture_allocator_allocates((unsigned)k) && c && c < below &&
			    (best < 0 || c > a->allocator_counts[best]))
				best = k;
		}
		if (best < 0)
			break;
		/* every kind with this count, in kind order */
		below = a->allocator_counts[best];
		for (int k = 1; k < CAPTURE_ALLOC_COUNT; k++) {
			if (!capture_allocator_allocates((unsigned)k) || a->allocator_counts[k] != below)
				continue;
			strbuf_addf(sb, "%s\"%s\": %llu", first ? "" : ", ", capture_allocator_name((unsigned)k),
				    (unsigned long long)below);
			first = 0;
		}
	}
	strbuf_addstr(sb, "},\n  \"top_allocations_by_size\": ");
	json_top(sb, rep->by_size, rep->nby_size, rep->limit, "size");
	strbuf_addstr(sb, ",\n  \"top_allocations_by_count\": ");
	json_top(sb, rep->by_count, rep->nby_count, rep->limit, "count");
	strbuf_addstr(sb, ",\n  \"metadata\": {\"start_time\": ");
	json_string(sb, start);
	strbuf_addstr(sb, ", \"end_time\": ");
	json_string(sb, end);
	strbuf_addf(sb, ", \"total_allocations\": %llu, \"total_frames\": %llu, \"peak_memory\": %llu, "
		    "\"command_line\": ",
		    (unsigned long long)a->total_allocations, (unsigned long long)(a->nnodes - 1),
		    (unsigned long long)a->peak_bytes);
	json_string(sb, command_line(rep->h, &cmd));
	/* a native program always has native stacks; a Python one with --native */
	strbuf_addf(sb, ", \"pid\": %u, \"main_thread_id\": %u, \"python_allocator\": null, "
		    "\"has_native_traces\": %s, \"trace_python_allocators\": %s, \"file_format\": \"%s\"},\n",
		    rep->h->pid, a->main_tid, !a->ncodes || (rep->h->flags & CAPTURE_F_NATIVE) ? "true" : "false",
		    rep->h->flags & CAPTURE_F_TRACE_PYTHON_ALLOCATORS ? "true" : "false",
		    a->is_aggregated ? "AGGREGATED_ALLOCATIONS" : "ALL_ALLOCATIONS");
	strbuf_addf(sb, "  \"peak\": {\"bytes\": %llu, \"allocations\": %llu, \"time_ms\": %llu, \"top_by_size\": ",
		    (unsigned long long)a->peak_bytes, (unsigned long long)a->peak_allocations,
		    (unsigned long long)a->peak_ms);
	json_top(sb, rep->peak, rep->npeak, rep->limit, "both");
	strbuf_addf(sb, "},\n  \"leaks\": {\"bytes\": %llu, \"allocations\": %llu, \"top_by_size\": ",
		    (unsigned long long)a->leaked_bytes, (unsigned long long)a->leaked_allocations);
	json_top(sb, rep->leaks, rep->nleaks, rep->limit, "both");
	strbuf_addf(sb, "},\n  \"capture\": {\"complete\": %s, \"segments\": %u, \"records\": %llu, \"warnings\": [",
		    a->is_complete ? "true" : "false", a->segments, (unsigned long long)a->records);
	if (problem)
		json_string(sb, problem);
	strbuf_addstr(sb, "]}\n}\n");
	strbuf_release(&cmd);
}

static void render_top(struct strbuf *sb, const char *title, const struct located *l, size_t n, size_t limit,
		       int sizes)
{
	char buf[UNITS_BUF];

	strbuf_addf(sb, "\n%s\n", title);
	if (!n)
		strbuf_addstr(sb, "\t(none)\n");
	for (size_t i = 0; i < n && (!limit || i < limit); i++) {
		if (sizes)
			strbuf_addf(sb, "\t- %s -> %s (%llu allocations)\n", l[i].location, units_human(buf, l[i].size),
				    (unsigned long long)l[i].count);
		else
			strbuf_addf(sb, "\t- %s -> %llu\n", l[i].location, (unsigned long long)l[i].count);
	}
}

static void render_text(struct strbuf *sb, struct report *rep)
{
	struct analysis *a = rep->a;
	char buf[UNITS_BUF];
	uint64_t most = 0;
	int lo, hi;

	strbuf_addf(sb, "Total allocations:\n\t%llu\n\n", (unsigned long long)a->total_allocations);
	strbuf_addf(sb, "Total memory allocated:\n\t%s\n\n", units_human(buf, a->total_bytes));
	strbuf_addf(sb, "Peak memory usage:\n\t%s (%llu live allocations, %llu ms after start)\n\n",
		    units_human(buf, a->peak_bytes), (unsigned long long)a->peak_allocations,
		    (unsigned long long)a->peak_ms);
	strbuf_addf(sb, "Leaked memory (live at exit%s):\n\t%s in %llu allocations\n\n",
		    a->is_complete ? "" : "; the capture ended early, so this is what was live then",
		    units_human(buf, a->leaked_bytes), (unsigned long long)a->leaked_allocations);
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
	strbuf_addstr(sb, "\nAllocator type distribution:\n");
	for (int k = 1; k < CAPTURE_ALLOC_COUNT; k++)
		if (capture_allocator_allocates((unsigned)k) && a->allocator_counts[k])
			strbuf_addf(sb, "\t %s: %llu\n", capture_allocator_name((unsigned)k),
				    (unsigned long long)a->allocator_counts[k]);
	render_top(sb, "Top largest allocating locations (by size):", rep->by_size, rep->nby_size, rep->limit, 1);
	render_top(sb, "Top largest allocating locations (by number of allocations):", rep->by_count,
		   rep->nby_count, rep->limit, 0);
	render_top(sb, "Live at the peak (by size):", rep->peak, rep->npeak, rep->limit, 1);
	render_top(sb, "Leaked (by size):", rep->leaks, rep->nleaks, rep->limit, 1);
}

/* to stdout, or to a new file (output_write) */
static int write_output(const char *path, int force, const struct strbuf *sb)
{
	if (path)
		return output_write(path, force, sb) ? -1 : 0;
	if (fwrite(sb->buf, 1, sb->len, stdout) != sb->len || fflush(stdout) != 0)
		return error_errno("stats: writing to stdout");
	return 0;
}

int cmd_stats(int argc, char **argv)
{
	const char *path = NULL, *output = NULL;
	int json = 0, force = 0, partial = 0, ret = EXIT_CAPTURE_ERROR;
	struct report rep = { .limit = 5 };
	struct reading rd;
	struct strbuf out = STRBUF_INIT;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (is_help(arg)) {
			fputs(stats_usage, stdout);
			return 0;
		} else if (!strcmp(arg, "--json")) {
			json = 1;
		} else if (!strcmp(arg, "-f") || !strcmp(arg, "--force")) {
			force = 1;
		} else if (!strcmp(arg, "--partial")) {
			partial = 1;
		} else if (!strcmp(arg, "-n") || !strcmp(arg, "--num-largest") || !strcmp(arg, "-o") ||
			   !strcmp(arg, "--output")) {
			if (i + 1 == argc) {
				error("stats: %s needs a value (see 'memray stats --help')", arg);
				return EXIT_USAGE;
			}
			if (arg[1] == 'o' || arg[2] == 'o')
				output = argv[++i];
			else if ((ret = count_arg("stats", arg, argv[++i], &rep.limit)))
				return ret;
		} else if ((ret = reading_arg("stats", arg, &path))) {
			return ret;
		}
	}
	ret = reading_open(&rd, "stats", path, partial);
	if (ret)
		return ret;
	rep.r = rd.r;
	rep.h = capture_reader_header(rd.r);
	rep.a = &rd.a;
	rep.sym = rd.sym;
	rep.nby_size = group(rep.a, rep.sym, ALL, by_size, &rep.by_size);
	rep.nby_count = group(rep.a, rep.sym, ALL, by_count, &rep.by_count);
	rep.npeak = group(rep.a, rep.sym, AT_PEAK, by_size, &rep.peak);
	rep.nleaks = group(rep.a, rep.sym, LEAKED, by_size, &rep.leaks);
	if (json)
		render_json(&out, &rep);
	else
		render_text(&out, &rep);
	ret = write_output(output, force, &out) < 0 ? EXIT_CAPTURE_ERROR : 0;
	free(rep.by_size);
	free(rep.by_count);
	free(rep.peak);
	free(rep.leaks);
	strbuf_release(&out);
	reading_close(&rd);
	return ret;
}
