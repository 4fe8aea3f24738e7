/*
 * report/transform: see transform.h.
 */
#include "report/transform.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "common/hashidx.h"
#include "common/json.h"
#include "common/strbuf.h"

int transform_format_parse(const char *name, enum transform_format *out)
{
	static const char *const names[] = { "csv", "gprof2dot", "speedscope" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(name, names[i])) {
			*out = (enum transform_format)i;
			return 0;
		}
	}
	return -1;
}

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

static const char *frame_file(const struct sym_frame *f)
{
	return f->file ? f->file : f->module;
}

static void write_csv(struct strbuf *out, struct analysis *a, struct symbolizer *s, enum figure fig)
{
	const struct sym_frame *frames;
	struct strbuf stack = STRBUF_INIT;

	strbuf_addstr(out, "allocator,num_allocations,size,stack_trace\r\n");
	for (size_t i = 0; i < a->nentries; i++) {
		const struct analysis_entry *e = &a->entries[i];
		uint64_t bytes, count;
		int n;

		if (!figure_of(e, fig, &bytes, &count))
			continue;
		n = analysis_stack(a, s, e->stack, &frames);
		strbuf_reset(&stack);
		for (int k = 0; k < n; k++)
			strbuf_addf(&stack, "%s%s;%s;%u", k ? "|" : "", frames[k].function, frame_file(&frames[k]),
				    frames[k].line);
		strbuf_addf(out, "%s,%llu,%llu,", capture_allocator_name(e->kind), (unsigned long long)count,
			    (unsigned long long)bytes);
		csv_field(out, stack.buf);
		strbuf_addstr(out, "\r\n");
	}
	strbuf_release(&stack);
}

/*
 * The stacks of the graph formats: each distinct (function, file, line)
 * numbered once, and each stack with bytes as a run of those numbers.
 */
struct graph {
	struct sym_frame *frames;	/* by id; copies (their strings are the symbolizer's) */
	size_t nframes, frames_alloc;
	struct hashidx index;
	uint32_t *path;			/* every stack's ids, one after another */
	size_t npath, path_alloc;
	size_t *starts;			/* stack k is path[starts[k] .. starts[k + 1]) */
	uint64_t *bytes;		/* stack k's bytes */
	size_t nstacks, starts_alloc, bytes_alloc;
	uint64_t total;
};

struct frame_key {
	const struct graph *g;
	const struct sym_frame *f;
};

static int same_frame(const void *ctx, uint32_t pos)
{
	const struct frame_key *k = ctx;
	const struct sym_frame *old = &k->g->frames[pos];

	/* interned strings: pointer equality */
	return k->f->function == old->function && k->f->file == old->file && k->f->line == old->line;
}

/* the id of f, numbered on first sight: 0, or -1 when out of memory */
static int frame_id(struct graph *g, const struct sym_frame *f, uint32_t *id)
{
	struct frame_key key = { g, f };
	uint64_t h = hash_u64(hash_u64((uint64_t)(uintptr_t)f->function ^ (uint64_t)(uintptr_t)f->file) ^ f->line);

	*id = hashidx_find(&g->index, h, same_frame, &key);
	if (*id != HASHIDX_NONE)
		return 0;
	if (GROW(g->frames, g->nframes + 1, g->frames_alloc) < 0 ||
	    hashidx_add(&g->index, h, (uint32_t)g->nframes) < 0)
		return -1;
	g->frames[g->nframes] = *f;
	*id = (uint32_t)g->nframes++;
	return 0;
}

/* every stack with bytes in fig; outermost first for speedscope, else innermost first */
static int graph_build(struct graph *g, struct analysis *a, struct symbolizer *s, enum figure fig,
		       int outermost_first)
{
	const struct sym_frame *frames;

	for (size_t i = 0; i < a->nentries; i++) {
		uint64_t bytes;
		int n;

		figure_of(&a->entries[i], fig, &bytes, NULL);
		if (!bytes)
			continue;
		n = analysis_stack(a, s, a->entries[i].stack, &frames);
		if (n < 0 || GROW(g->path, g->npath + (size_t)n, g->path_alloc) < 0 ||
		    GROW(g->starts, g->nstacks + 2, g->starts_alloc) < 0 ||
		    GROW(g->bytes, g->nstacks + 1, g->bytes_alloc) < 0)
			return -1;
		g->starts[g->nstacks] = g->npath;
		for (int k = 0; k < n; k++)
			if (frame_id(g, &frames[outermost_first ? n - 1 - k : k], &g->path[g->npath++]) < 0)
				return -1;
		g->bytes[g->nstacks++] = bytes;
		g->starts[g->nstacks] = g->npath;
		g->total += bytes;
	}
	return 0;
}

static void graph_release(struct graph *g)
{
	free(g->frames);
	hashidx_release(&g->index);
	free(g->path);
	free(g->starts);
	free(g->bytes);
}

static void json_path(struct json *j, const struct graph *g, size_t k)
{
	json_array_begin(j);
	for (size_t p = g->starts[k]; p < g->starts[k + 1]; p++)
		json_uint(j, g->path[p]);
	json_array_end(j);
}

static void write_speedscope(struct json *j, const struct graph *g, enum figure fig)
{
	json_object_begin(j);
	json_key(j, "$schema");
	json_string(j, "https://www.speedscope.app/file-format-schema.json");
	json_key(j, "exporter");
	json_string(j, "memray");
	json_key(j, "name");
	json_string(j, fig == FIGURE_LEAKS ? "memray: leaked memory" : "memray: memory at the peak");
	json_key(j, "shared");
	json_object_begin(j);
	json_key(j, "frames");
	json_array_begin(j);
	for (size_t i = 0; i < g->nframes; i++) {
		json_object_begin(j);
		json_key(j, "name");
		json_string(j, g->frames[i].function);
		json_key(j, "file");
		json_string(j, frame_file(&g->frames[i]));
		json_key(j, "line");
		json_uint(j, g->frames[i].line);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
	json_key(j, "profiles");
	json_array_begin(j);
	json_object_begin(j);
	json_key(j, "type");
	json_string(j, "sampled");
	json_key(j, "name");
	json_string(j, fig == FIGURE_LEAKS ? "leaks" : "peak");
	json_key(j, "unit");
	json_string(j, "bytes");
	json_key(j, "startValue");
	json_uint(j, 0);
	json_key(j, "endValue");
	json_uint(j, g->total);
	json_key(j, "samples");
	json_array_begin(j);
	for (size_t k = 0; k < g->nstacks; k++)
		json_path(j, g, k);
	json_array_end(j);
	json_key(j, "weights");
	json_array_begin(j);
	for (size_t k = 0; k < g->nstacks; k++)
		json_uint(j, g->bytes[k]);
	json_array_end(j);
	json_object_end(j);
	json_array_end(j);
	json_object_end(j);
}

static void write_gprof2dot(struct json *j, const struct graph *g)
{
	struct strbuf name = STRBUF_INIT;

	json_object_begin(j);
	json_key(j, "version");
	json_uint(j, 0);
	json_key(j, "costs");
	json_array_begin(j);
	json_object_begin(j);
	json_key(j, "description");
	json_string(j, "Memory");
	json_key(j, "unit");
	json_string(j, "bytes");
	json_object_end(j);
	json_array_end(j);
	json_key(j, "functions");
	json_array_begin(j);
	for (size_t i = 0; i < g->nframes; i++) {
		strbuf_reset(&name);
		strbuf_addf(&name, "%s at %s:%u", g->frames[i].function, frame_file(&g->frames[i]),
			    g->frames[i].line);
		json_object_begin(j);
		json_key(j, "name");
		json_string(j, name.buf);
		json_key(j, "module");
		json_string(j, g->frames[i].module);
		json_object_end(j);
	}
	json_array_end(j);
	json_key(j, "events");
	json_array_begin(j);
	for (size_t k = 0; k < g->nstacks; k++) {
		json_object_begin(j);
		json_key(j, "callchain");
		json_path(j, g, k);
		json_key(j, "cost");
		json_array_begin(j);
		json_uint(j, g->bytes[k]);
		json_array_end(j);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
	strbuf_release(&name);
}

int transform_report(struct strbuf *out, struct analysis *a, struct symbolizer *s,
		     const struct transform_options *opts)
{
	int speedscope = opts->format == TRANSFORM_SPEEDSCOPE, ret = -1;
	struct graph g = { .index = HASHIDX_INIT };
	struct json j;

	if (opts->format == TRANSFORM_CSV) {
		write_csv(out, a, s, opts->fig);
		return 0;
	}
	if (graph_build(&g, a, s, opts->fig, speedscope) < 0)
		goto out;
	json_init(&j, out, 0);
	if (speedscope)
		write_speedscope(&j, &g, opts->fig);
	else
		write_gprof2dot(&j, &g);
	strbuf_addch(out, '\n');
	ret = json_finish(&j);
out:
	graph_release(&g);
	return ret;
}
