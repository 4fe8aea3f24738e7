/*
 * cli/cmd_parse: `memray parse`, every record of a capture on its own line,
 * for debugging the tracker and the format.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "capture/reader.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"

static const char parse_usage[] =
	"usage: memray parse [-h] [--partial] CAPTURE\n"
	"\n"
	"Print every record of CAPTURE, one per line, as NAME key=value ...; addresses\n"
	"and stack node parents are absolute (the file stores differences), so a\n"
	"FRAME_REL or PYFRAME_REL record prints as FRAME or PYFRAME.\n"
	"\n"
	"options:\n"
	"  --partial   print what comes before damage and exit 0 (a warning says where)\n"
	"\n"
	"exit status: 0 success (a capture cut short by a kill is printed with a warning),\n"
	"1 unreadable or damaged capture, 2 usage error.\n";

static void put_string(FILE *out, const char *key, struct capture_string s)
{
	fprintf(out, " %s=\"", key);
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.s[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* long: one case per record type, its fields in the format's order; one switch reads best */
static void put_record(FILE *out, const struct capture_record *rec)
{
	fprintf(out, "%s offset=%llu", capture_record_name(rec->type), (unsigned long long)rec->offset);
	switch (rec->type) {
	case CAPTURE_REC_SEGMENT:
		fprintf(out, " pid=%llu ppid=%llu start_ns=%llu kind=%s", (unsigned long long)rec->pid,
			(unsigned long long)rec->ppid, (unsigned long long)rec->start_ns,
			rec->kind == CAPTURE_SEG_EXEC ? "exec" : rec->kind == CAPTURE_SEG_FORK ? "fork" : "start");
		put_string(out, "exe", rec->exe);
		fprintf(out, " argc=%d", rec->argc);
		for (int i = 0; i < rec->argc; i++) {
			char key[32];

			snprintf(key, sizeof(key), "argv[%d]", i);
			put_string(out, key, rec->argv[i]);
		}
		break;
	case CAPTURE_REC_END:
		fprintf(out, " reason=%s end_ns=%llu allocations=%llu deallocations=%llu bytes=%llu frames=%llu lost=%llu",
			rec->kind == CAPTURE_END_EXEC ? "exec" : rec->kind == CAPTURE_END_ERROR ? "error" : "exit",
			(unsigned long long)rec->end_ns, (unsigned long long)rec->n_allocs,
			(unsigned long long)rec->n_frees, (unsigned long long)rec->bytes,
			(unsigned long long)rec->n_frames, (unsigned long long)rec->lost);
		break;
	case CAPTURE_REC_MODULES:
		fprintf(out, " generation=%llu", (unsigned long long)rec->generation);
		break;
	case CAPTURE_REC_MODULE:
		put_string(out, "path", rec->path);
		fprintf(out, " bias=0x%llx build_id=", (unsigned long long)rec->bias);
		for (size_t i = 0; i < rec->build_id.len; i++)
			fprintf(out, "%02x", (unsigned char)rec->build_id.s[i]);
		for (int i = 0; i < rec->nseg; i++)
			fprintf(out, " segment=0x%llx+0x%llx", (unsigned long long)rec->segs[2 * i],
				(unsigned long long)rec->segs[2 * i + 1]);
		break;
	case CAPTURE_REC_THREAD:
		fprintf(out, " tid=%u", rec->tid);
		break;
	case CAPTURE_REC_THREAD_NAME:
		fprintf(out, " tid=%u", rec->tid);
		put_string(out, "name", rec->label);
		break;
	case CAPTURE_REC_FRAME:
		fprintf(out, " id=%u parent=%u ip=0x%llx", rec->frame_id, rec->parent, (unsigned long long)rec->ip);
		break;
	case CAPTURE_REC_CODE:
		fprintf(out, " id=%u", rec->code);
		put_string(out, "function", rec->label);
		put_string(out, "file", rec->path);
		fprintf(out, " line=%llu", (unsigned long long)rec->line);
		break;
	case CAPTURE_REC_PYFRAME:
		fprintf(out, " id=%u parent=%u code=%u line=%llu", rec->frame_id, rec->parent, rec->code,
			(unsigned long long)rec->line);
		break;
	case CAPTURE_REC_MEMORY:
		fprintf(out, " ms=%llu rss=%llu", (unsigned long long)rec->ms, (unsigned long long)rec->rss);
		break;
	case CAPTURE_REC_TIME:
		fprintf(out, " tid=%u since_ns=%llu", rec->tid, (unsigned long long)rec->since_ns);
		break;
	case CAPTURE_REC_MARKER:
		fprintf(out, " tid=%u kind=%s", rec->tid, rec->kind == CAPTURE_MARK_TEST_BEGIN ? "test_begin" : "test_end");
		put_string(out, "label", rec->label);
		break;
	case CAPTURE_REC_ALLOC:
		fprintf(out, " tid=%u allocator=%s address=0x%llx size=%llu stack=%u", rec->tid,
			capture_allocator_name(rec->allocator), (unsigned long long)rec->address,
			(unsigned long long)rec->size, rec->stack);
		break;
	case CAPTURE_REC_FREE:
		fprintf(out, " tid=%u allocator=%s address=0x%llx", rec->tid, capture_allocator_name(rec->allocator),
			(unsigned long long)rec->address);
		if (rec->allocator == CAPTURE_ALLOC_MUNMAP)
			fprintf(out, " size=%llu", (unsigned long long)rec->size);
		break;
	case CAPTURE_REC_AGG_STACK:
		fprintf(out, " stack=%u allocator=%s allocations=%llu bytes=%llu peak_allocations=%llu peak_bytes=%llu leaked_allocations=%llu leaked_bytes=%llu",
			rec->stack, capture_allocator_name(rec->allocator), (unsigned long long)rec->agg_allocs,
			(unsigned long long)rec->agg_bytes, (unsigned long long)rec->peak_count,
			(unsigned long long)rec->peak_bytes, (unsigned long long)rec->leak_count,
			(unsigned long long)rec->leak_bytes);
		break;
	case CAPTURE_REC_REACH:
		fprintf(out, " occasion=%s blocks=%llu root_bytes=%llu heap_bytes=%llu stopped_us=%llu",
			rec->kind == CAPTURE_REACH_AT_EXIT ? "exit" : "window_end",
			(unsigned long long)rec->reach_blocks, (unsigned long long)rec->root_bytes,
			(unsigned long long)rec->heap_bytes, (unsigned long long)rec->stopped_us);
		break;
	case CAPTURE_REC_REACH_BLOCK:
		fprintf(out, " address=0x%llx category=\"%s\" root=%u root_value=0x%llx chain=%llu",
			(unsigned long long)rec->address, capture_reach_name(rec->category), rec->root_kind,
			(unsigned long long)rec->root_value, (unsigned long long)rec->chain);
		break;
	case CAPTURE_REC_COLLECT:
		fprintf(out, " address=0x%llx category=\"%s\"", (unsigned long long)rec->address,
			capture_reach_name(rec->category));
		break;
	case CAPTURE_REC_AGG_PEAK:
		fprintf(out, " peak=%llu ms=%llu threads=%llu histogram=", (unsigned long long)rec->peak,
			(unsigned long long)rec->peak_ms, (unsigned long long)rec->threads);
		for (int i = 0; i < CAPTURE_AGG_BUCKETS; i++)
			fprintf(out, "%s%llu", i ? "," : "", (unsigned long long)rec->histogram[i]);
		break;
	}
	fputc('\n', out);
}

/* report how the capture ended; the exit status for a reader command */
int report_capture_status(const struct capture_reader *r, int partial)
{
	const char *problem = capture_reader_problem(r);

	switch (capture_reader_status(r)) {
	case CAPTURE_OK:
		return 0;
	case CAPTURE_INCOMPLETE:
		warning("%s: %s; reporting the %llu records before it", capture_reader_path(r), problem,
			(unsigned long long)capture_reader_records(r));
		return 0;
	case CAPTURE_DAMAGED:
		if (partial) {
			warning("%s: %s; reporting the %llu records before it (--partial)",
				capture_reader_path(r), problem, (unsigned long long)capture_reader_records(r));
			return 0;
		}
		error("%s: %s (use --partial to report the %llu records before it)", capture_reader_path(r),
		      problem, (unsigned long long)capture_reader_records(r));
		return EXIT_CAPTURE_ERROR;
	}
	return EXIT_CAPTURE_ERROR;
}

int cmd_parse(int argc, char **argv)
{
	static char outbuf[1 << 16];
	const char *path = NULL;
	struct capture_reader *r;
	struct capture_record rec;
	const struct capture_header *h;
	int partial = 0, ret, n;
	struct opt opts[] = {
		OPT_FLAG(0, "partial", &partial),
		OPT_END(),
	};

	n = options_parse(argc, argv, "parse", parse_usage, opts, 0);
	if (n < 0)
		return n == OPTIONS_HELP ? 0 : EXIT_USAGE;
	if ((ret = reading_path("parse", n, argv, &path)))
		return ret;
	if (!path) {
		error("parse: no capture given (see 'memray parse --help')");
		return EXIT_USAGE;
	}
	r = capture_reader_open(path);
	if (!r)
		return EXIT_CAPTURE_ERROR;
	signal(SIGPIPE, SIG_IGN);	/* `| head`: stop at EPIPE, quietly */
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	h = capture_reader_header(r);
	printf("HEADER version=%u.%u flags=0x%x pid=%u start_ns=%llu rss_interval_ms=%u argc=%d", h->major,
	       h->minor, h->flags, h->pid, (unsigned long long)h->start_ns, h->rss_interval_ms, h->argc);
	for (int i = 0; i < h->argc; i++) {
		struct capture_string s = { h->argv[i], strlen(h->argv[i]) };
		char key[32];

		snprintf(key, sizeof(key), "argv[%d]", i);
		put_string(stdout, key, s);
	}
	putchar('\n');
	while (capture_reader_next(r, &rec)) {
		put_record(stdout, &rec);
		if (ferror(stdout))
			break;
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		capture_reader_free(r);
		return errno == EPIPE ? 0 : (error_errno("parse: writing the output"), EXIT_CAPTURE_ERROR);
	}
	ret = report_capture_status(r, partial);
	capture_reader_free(r);
	return ret;
}
