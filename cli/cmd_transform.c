/*
 * cli/cmd_transform: `memray transform csv|gprof2dot|speedscope`, the
 * allocations live at the peak (or leaked) in a form other tools read:
 * CSV rows per (stack, allocator); gprof2dot's JSON (events with a call
 * chain, innermost first, and a byte cost); speedscope's sampled profile
 * (stacks outermost first, weighted by bytes).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/reader.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/strbuf.h"

static const char transform_usage[] =
	"usage: memray transform [-h] [-o FILE] [-f] [--leaks] [--partial] FORMAT CAPTURE\n"
	"\n"
	"Write what was live at the peak (or, with --leaks, at exit) for other tools.\n"
	"FORMAT is one of:\n"
	"  csv         one row per stack and allocator: allocator,num_allocations,size,\n"
	"              stack_trace, the stack as function;file;line frames, innermost\n"
	"              first, separated by |; quoted as RFC 4180 says\n"
	"  gprof2dot   JSON for `gprof2dot -f json` (a call graph weighted by bytes)\n"
	"  speedscope  a sampled profile weighted by bytes, for the speedscope viewer\n"
	"\n"
	"options:\n"
	"  -o, --output FILE  the file (default: memray-FORMAT-CAPTURE.csv or .json\n"
	"                     next to CAPTURE, without its .bin)\n"
	"  -f, --force        overwrite FILE if it exists\n"
	"  --leaks            leaks instead of the peak\n"
	"  --partial          report what comes before damage in the capture\n"
	"\n"
	"exit status: 0 success, 1 unreadable capture or output not written, 2 usage error.\n";


static void csv_field(struct strbuf *out, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		strbuf_addstr(out, s);
		return;
	}
	strbuf_addch(out, '"');
	for (; *s; s++) {
		if (*s == '"')
			strbuf_addch(out, '"');
		strbuf_addch(out, *s);
	}
	strbuf_addch(out, '"');
}

/* frames as numbers: each distinct (function, file, line) once */
struct frame_ids {
	const struct sym_frame **frames;	/* by id */
	size_t n, cap;
	size_t *slots;	/* open addressing: id + 1, 0 empty */
	size_t mask;
};

static size_t frame_key(const struct sym_frame *f)
{
	uint64_t h = ((uint64_t)(uintptr_t)f->function * 31 + (uint64_t)(uintptr_t)f->file) * 0x9E3779B97F4A7C15ull;

	return (size_t)(h ^ f->line ^ (h >> 29));
}

static int same_frame(const struct sym_frame *a, const struct sym_frame *b)
{
	return a->function == b->function && a->file == b->file && a->line == b->line;
}

/* the id of f; f must live as long as ids (the caller copies it) */
static long frame_id(struct frame_ids *ids, const struct sym_frame *f)
{
	size_t j;

	if ((ids->n + 1) * 2 > ids->mask + 1) {
		size_t mask = ids->mask ? ids->mask * 2 + 1 : 1023;
		size_t *slots = calloc(mask + 1, sizeof(*slots));

		if (!slots)
			return -1;
		for (size_t i = 0; i < ids->n; i++) {
			for (j = frame_key(ids->frames[i]) & mask; slots[j]; j = (j + 1) & mask)
				;
			slots[j] = i + 1;
		}
		free(ids->slots);
		ids->slots = slots;
		ids->mask = mask;
	}
	for (j = frame_key(f) & ids->mask; ids->slots[j]; j = (j + 1) & ids->mask)
		if (same_frame(ids->frames[ids->slots[j] - 1], f))
			return (long)ids->slots[j] - 1;
	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? ids->cap * 2 : 256;
		const struct sym_frame **p = realloc(ids->frames, cap * sizeof(*p));

		if (!p)
			return -1;
		ids->frames = p;
		ids->cap = cap;
	}
	ids->frames[ids->n] = f;
	ids->slots[j] = ++ids->n;
	return (long)ids->n - 1;
}

static void json_string(struct strbuf *out, const char *s)
{
	strbuf_addch(out, '"');
	strbuf_add_json(out, s ? s : "");
	strbuf_addch(out, '"');
}

/*
 * gprof2dot and speedscope: frames numbered, then one event/sample per
 * stack. The frames of each stack are copied into `keep` so their
 * addresses stay valid for the ids.
 */
static int write_graph(struct strbuf *out, struct reading *rd, int leaks, int speedscope)
{
	const struct sym_frame *frames;
	struct frame_ids ids = { 0 };
	struct strbuf events = STRBUF_INIT;
	struct sym_frame **keep = NULL;
	size_t nkeep = 0;
	uint64_t total = 0;
	int first = 1, ret = -1;

	for (size_t i = 0; i < rd->a.nentries; i++) {
		const struct analysis_entry *e = &rd->a.entries[i];
		uint64_t bytes = leaks ? e->leak_bytes : e->peak_bytes;
		struct sym_frame *copy, **grown;
		int n;

		if (!bytes)
			continue;
		n = analysis_stack(&rd->a, rd->sym, e->stack, &frames);
		copy = malloc((size_t)(n ? n : 1) * sizeof(*copy));
		grown = realloc(keep, (nkeep + 1) * sizeof(*keep));
		if (!copy || !grown) {
			free(copy);
			free(grown ? grown : keep);
			keep = NULL;
			nkeep = 0;
			goto out;
		}
		keep = grown;
		keep[nkeep++] = copy;
		memcpy(copy, frames, (size_t)n * sizeof(*copy));
		strbuf_addstr(&events, first ? "" : ",");
		strbuf_addstr(&events, speedscope ? "[" : "{\"callchain\":[");
		for (int k = 0; k < n; k++) {
			/* gprof2dot: innermost first; speedscope: outermost first */
			long id = frame_id(&ids, &copy[speedscope ? n - 1 - k : k]);

			if (id < 0)
				goto out;
			strbuf_addf(&events, "%s%ld", k ? "," : "", id);
		}
		if (speedscope)
			strbuf_addstr(&events, "]");
		else
			strbuf_addf(&events, "],\"cost\":[%llu]}", (unsigned long long)bytes);
		total += bytes;
		first = 0;
	}
	if (speedscope) {
		strbuf_addstr(out, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
			      "\"exporter\":\"memray\",\"name\":");
		json_string(out, leaks ? "memray: leaked memory" : "memray: memory at the peak");
		strbuf_addstr(out, ",\"shared\":{\"frames\":[");
		for (size_t i = 0; i < ids.n; i++) {
			strbuf_addstr(out, i ? ",{\"name\":" : "{\"name\":");
			json_string(out, ids.frames[i]->function);
			strbuf_addstr(out, ",\"file\":");
			json_string(out, ids.frames[i]->file ? ids.frames[i]->file : ids.frames[i]->module);
			strbuf_addf(out, ",\"line\":%u}", ids.frames[i]->line);
		}
		strbuf_addf(out, "]},\"profiles\":[{\"type\":\"sampled\",\"name\":\"%s\",\"unit\":\"bytes\","
			    "\"startValue\":0,\"endValue\":%llu,\"samples\":[", leaks ? "leaks" : "peak",
			    (unsigned long long)total);
		strbuf_add(out, events.buf, events.len);
		strbuf_addstr(out, "],\"weights\":[");
		first = 1;
		for (size_t i = 0; i < rd->a.nentries; i++) {
			uint64_t bytes = leaks ? rd->a.entries[i].leak_bytes : rd->a.entries[i].peak_bytes;

			if (bytes) {
				strbuf_addf(out, "%s%llu", first ? "" : ",", (unsigned long long)bytes);
				first = 0;
			}
		}
		strbuf_addstr(out, "]}]}\n");
	} else {
		strbuf_addstr(out, "{\"version\":0,\"costs\":[{\"description\":\"Memory\",\"unit\":\"bytes\"}],"
			      "\"functions\":[");
		for (size_t i = 0; i < ids.n; i++) {
			struct strbuf name = STRBUF_INIT;

			strbuf_addf(&name, "%s at %s:%u", ids.frames[i]->function,
				    ids.frames[i]->file ? ids.frames[i]->file : ids.frames[i]->module, ids.frames[i]->line);
			strbuf_addstr(out, i ? ",{\"name\":" : "{\"name\":");
			json_string(out, name.buf);
			strbuf_addstr(out, ",\"module\":");
			json_string(out, ids.frames[i]->module);
			strbuf_addch(out, '}');
			strbuf_release(&name);
		}
		strbuf_addstr(out, "],\"events\":[");
		strbuf_add(out, events.buf, events.len);
		strbuf_addstr(out, "]}\n");
	}
	ret = 0;
out:
	for (size_t i = 0; i < nkeep; i++)
		free(keep[i]);
	free(keep);
	free(ids.frames);
	free(ids.slots);
	strbuf_release(&events);
	return ret;
}

static void write_csv(struct strbuf *out, struct reading *rd, int leaks)
{
	const struct sym_frame *frames;
	struct strbuf stack = STRBUF_INIT;

	strbuf_addstr(out, "allocator,num_allocations,size,stack_trace\r\n");
	for (size_t i = 0; i < rd->a.nentries; i++) {
		const struct analysis_entry *e = &rd->a.entries[i];
		uint64_t bytes = leaks ? e->leak_bytes : e->peak_bytes, count = leaks ? e->leak_count : e->peak_count;
		int n;

		if (!bytes && !count)
			continue;
		n = analysis_stack(&rd->a, rd->sym, e->stack, &frames);
		strbuf_reset(&stack);
		for (int k = 0; k < n; k++)
			strbuf_addf(&stack, "%s%s;%s;%u", k ? "|" : "", frames[k].function,
				    frames[k].file ? frames[k].file : frames[k].module, frames[k].line);
		strbuf_addf(out, "%s,%llu,%llu,", capture_allocator_name(e->kind), (unsigned long long)count,
			    (unsigned long long)bytes);
		csv_field(out, stack.buf);
		strbuf_addstr(out, "\r\n");
	}
	strbuf_release(&stack);
}

int cmd_transform(int argc, char **argv)
{
	const char *path = NULL, *output = NULL, *format = NULL;
	int force = 0, partial = 0, leaks = 0, ret;
	struct strbuf csv = STRBUF_INIT, name = STRBUF_INIT;
	struct reading rd;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (is_help(arg)) {
			fputs(transform_usage, stdout);
			return 0;
		} else if (!strcmp(arg, "-f") || !strcmp(arg, "--force")) {
			force = 1;
		} else if (!strcmp(arg, "--leaks")) {
			leaks = 1;
		} else if (!strcmp(arg, "--partial")) {
			partial = 1;
		} else if (!strcmp(arg, "-o") || !strcmp(arg, "--output")) {
			if (i + 1 == argc) {
				error("transform: %s needs a file name (see 'memray transform --help')", arg);
				return EXIT_USAGE;
			}
			output = argv[++i];
		} else if (!format && arg[0] != '-') {
			format = arg;
		} else if ((ret = reading_arg("transform", arg, &path))) {
			return ret;
		}
	}
	if (!format || (strcmp(format, "csv") && strcmp(format, "gprof2dot") && strcmp(format, "speedscope"))) {
		error("transform: the format must be csv, gprof2dot or speedscope%s%s (see 'memray transform --help')",
		      format ? ", not " : "", format ? format : "");
		return EXIT_USAGE;
	}
	if (path && !output) {
		output_default(&name, path, format, strcmp(format, "csv") ? "json" : "csv");
		output = name.buf;
	}
	if (path && (ret = output_check(output, force))) {
		strbuf_release(&name);
		return ret;
	}
	ret = reading_open(&rd, "transform", path, partial);
	if (ret) {
		strbuf_release(&name);
		return ret;
	}
	if (!strcmp(format, "csv")) {
		write_csv(&csv, &rd, leaks);
	} else if (write_graph(&csv, &rd, leaks, !strcmp(format, "speedscope")) < 0) {
		error("transform: out of memory");
		strbuf_release(&csv);
		strbuf_release(&name);
		reading_close(&rd);
		return EXIT_CAPTURE_ERROR;
	}
	ret = output_write(output, force, &csv);
	if (!ret)
		fprintf(stderr, "memray: wrote %s\n", output);
	strbuf_release(&csv);
	strbuf_release(&name);
	reading_close(&rd);
	return ret;
}
