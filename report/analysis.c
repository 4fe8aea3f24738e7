/*
 * report/analysis: see analysis.h.
 */
#include "report/analysis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/reader.h"
#include "common/error.h"
#include "common/grow.h"
#include "common/hashidx.h"
#include "common/strbuf.h"
#include "report/frames.h"

struct analysis_private {
	const char *path;	/* the capture's, for messages */
	struct heapmodel *hm;	/* the current image's heap */
	uint32_t base;		/* stack id offset of the current image */
	uint32_t code_base;	/* code id offset of the current image */
	size_t codes_cap;
	uint64_t generation;	/* module set in force */
	uint64_t seg_start_ns, ms_offset, now_ms;
	int seg_ended, seg_reached;	/* seg_reached: the current image had a REACH record at exit */
	unsigned reach_occasion;	/* of the last REACH: whose REACH_BLOCKs follow */
	struct holder {
		unsigned kind;
		uint64_t value, chain;
	} *holders;		/* by entry of the current image: the first still reachable block's root */
	size_t holders_cap, entries_cap, nodes_cap, modules_cap, samples_cap, threads_cap, changes_cap;
	size_t seg_changes;	/* where the current image's changes start in a->changes */
	size_t seg_entries;	/* where the current image's entries start in a->entries */
	struct hashidx tids;	/* thread id -> index into threads */
	uint32_t last_tid;	/* the thread of the last allocation, known */
	char **names;		/* thread names by thread index (owned copies in `owned`) */
	size_t names_cap;
	const char **locations;	/* by stack id, filled lazily */
	size_t locations_cap, labels_cap;	/* locations and a->thread_labels allocated */
	struct strbuf strings;	/* owns location strings, NUL-separated */
	struct sym_stack location_stack;	/* analysis_location()'s own, apart from the symbolizer's */
	char **owned;		/* module strings */
	size_t nowned, owned_cap;
	struct analysis_options opts;
};

/* what on_record() returns when it already said what is wrong, apart from -1: out of memory */
#define ALREADY_SAID (-2)

/* call one callback of every observer; stops at the first that fails */
#define NOTIFY(pv, cb, ...)                                                              \
	do {                                                                             \
		for (size_t i_ = 0; i_ < (pv)->opts.nobservers; i_++) {                  \
			const struct analysis_observer *o_ = &(pv)->opts.observers[i_];  \
			if (o_->cb && o_->cb(o_->ctx, __VA_ARGS__) < 0)                  \
				return ALREADY_SAID;                                  \
		}                                                                        \
	} while (0)

static char *own(struct analysis *a, const char *s, size_t len)
{
	struct analysis_private *pv = a->priv;
	char *copy;

	if (GROW(pv->owned, pv->nowned + 1, pv->owned_cap) < 0)
		return NULL;
	copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	pv->owned[pv->nowned++] = copy;
	return copy;
}

static int same_tid(const void *ctx, uint32_t pos)
{
	const struct analysis *a = ctx;

	return a->threads[pos] == a->priv->last_tid;
}

static int add_thread(struct analysis *a, uint32_t tid)
{
	struct analysis_private *pv = a->priv;

	if (tid == pv->last_tid)
		return 0;
	pv->last_tid = tid;
	if (hashidx_find(&pv->tids, hash_u64(tid), same_tid, a) != HASHIDX_NONE)
		return 0;
	if (GROW(pv->names, a->nthreads + 1, pv->names_cap) < 0 ||
	    GROW(a->threads, a->nthreads + 1, pv->threads_cap) < 0 ||
	    hashidx_add(&pv->tids, hash_u64(tid), (uint32_t)a->nthreads) < 0) {
		pv->last_tid = 0;	/* not known yet: the next call must try again */
		return -1;
	}
	pv->names[a->nthreads] = NULL;
	a->threads[a->nthreads++] = tid;
	if (!a->main_tid)
		a->main_tid = tid;
	return 0;
}

/* a stack trie node of the current image (FRAME: ip, code 0; PYFRAME: line, code) */
static int add_node(struct analysis *a, uint32_t parent, uint64_t ip, uint32_t code)
{
	struct analysis_private *pv = a->priv;
	struct analysis_node *n;

	if (GROW(a->nodes, a->nnodes + 1, pv->nodes_cap) < 0)
		return -1;
	n = &a->nodes[a->nnodes++];
	n->parent = parent ? parent + pv->base : 0;
	n->segment = a->segments - 1;
	n->generation = pv->generation;
	n->ip = ip;
	n->code = code;
	n->module = ANALYSIS_MODULE_UNKNOWN;
	return 0;
}

static int add_entry(struct analysis *a, const struct analysis_entry *e)
{
	if (GROW(a->entries, a->nentries + 1, a->priv->entries_cap) < 0)
		return -1;
	a->entries[a->nentries++] = *e;
	return 0;
}

/* the temporal option: log what changed since the last sample, at sample s */
static int log_changes(struct analysis *a, uint32_t s)
{
	struct analysis_private *pv = a->priv;
	const uint32_t *changed;
	size_t n = heapmodel_take_changes(pv->hm, &changed);

	if (GROW(a->changes, a->nchanges + n, pv->changes_cap) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct heapmodel_entry *e = &pv->hm->entries[changed[i]];

		a->changes[a->nchanges++] = (struct analysis_change){ s, changed[i], e->live_bytes, e->live_count };
	}
	return 0;
}

static int add_sample(struct analysis *a, uint64_t ms, uint64_t rss)
{
	struct analysis_private *pv = a->priv;
	struct analysis_sample *sm;

	if (GROW(a->samples, a->nsamples + 1, pv->samples_cap) < 0)
		return -1;
	sm = &a->samples[a->nsamples++];
	sm->ms = ms;
	sm->rss = rss;
	sm->heap = pv->hm ? pv->hm->heap : 0;
	if (pv->opts.temporal && pv->hm)
		return log_changes(a, (uint32_t)(a->nsamples - 1));
	return 0;
}

struct reach_ctx {
	struct analysis *a;
	size_t first;	/* the image's first entry in a->entries */
};

static void count_reach(void *ctx, uint32_t entry, uint64_t size, unsigned category)
{
	struct reach_ctx *rc = ctx;
	struct analysis_entry *e = &rc->a->entries[rc->first + entry];

	e->reach_count[category]++;
	e->reach_bytes[category] += size;
	rc->a->reach_count[category]++;
	rc->a->reach_bytes[category] += size;
}

/* the last image was scanned: its leaks by verdict; mappings are roots */
static void split_by_reach(struct analysis *a, const struct heapmodel *hm)
{
	struct reach_ctx rc = { a, a->nentries - hm->nentries };

	a->has_reachability = 1;
	heapmodel_each_live(hm, count_reach, &rc);
	for (size_t i = 0; i < hm->nentries && i < a->priv->holders_cap; i++) {
		struct analysis_entry *e = &a->entries[rc.first + i];

		e->hold_kind = a->priv->holders[i].kind;
		e->hold_value = a->priv->holders[i].value;
		e->hold_chain = a->priv->holders[i].chain;
	}
	for (size_t i = rc.first; i < a->nentries; i++) {
		struct analysis_entry *e = &a->entries[i];

		if (e->kind == CAPTURE_ALLOC_MMAP) {
			e->reach_count[CAPTURE_REACH_REACHABLE] = e->leak_count;
			e->reach_bytes[CAPTURE_REACH_REACHABLE] = e->leak_bytes;
			a->reach_count[CAPTURE_REACH_REACHABLE] += e->leak_count;
			a->reach_bytes[CAPTURE_REACH_REACHABLE] += e->leak_bytes;
			e->hold_kind = CAPTURE_ROOT_MAPPING_SELF;
		}
	}
}

/*
 * Close the current image: fold its heap into the result. `is_last`
 * says whether its live allocations count as leaks.
 */
static int end_segment(struct analysis *a, int is_last)
{
	struct analysis_private *pv = a->priv;
	struct heapmodel *hm = pv->hm;
	int is_peak;

	if (a->segments)
		NOTIFY(pv, segment_end, is_last);
	if (!hm)
		return 0;
	if (pv->opts.temporal) {
		/* the changes since the last sample get a sample of their own, at the end */
		if (add_sample(a, pv->now_ms, a->nsamples ? a->samples[a->nsamples - 1].rss : 0) < 0)
			return -1;
		for (size_t i = pv->seg_changes; i < a->nchanges; i++)
			a->changes[i].entry += (uint32_t)a->nentries;	/* this image's entries come next */
	}
	heapmodel_finish(hm);
	is_peak = hm->peak > a->peak_bytes || (a->peak_bytes == 0 && a->segments == 1);
	if (is_peak) {
		/* the new peak: earlier images' at-peak figures no longer apply */
		for (size_t i = 0; i < a->nentries; i++)
			a->entries[i].peak_count = a->entries[i].peak_bytes = 0;
		a->peak_bytes = hm->peak;
		a->peak_allocations = hm->peak_allocations;
		a->peak_ms = hm->peak_ms;
	}
	for (size_t i = 0; i < hm->nentries; i++) {
		const struct heapmodel_entry *he = &hm->entries[i];
		struct analysis_entry e = {
			.stack = he->stack ? he->stack + pv->base : 0,
			.kind = he->kind,
			.tid = he->thread,
			.allocs = he->allocs,
			.bytes = he->bytes,
			.peak_count = is_peak ? he->peak_count : 0,
			.peak_bytes = is_peak ? he->peak_bytes : 0,
			.leak_count = is_last ? he->live_count : 0,
			.leak_bytes = is_last ? he->live_bytes : 0,
			.temp_count = he->temp_count,
			.temp_bytes = he->temp_bytes,
			.collected_count = he->collected_count,
			.collected_bytes = he->collected_bytes,
		};

		if (add_entry(a, &e) < 0)
			return -1;
		a->collected_allocations += he->collected_count;
		a->collected_bytes += he->collected_bytes;
	}
	if (is_last) {
		a->leaked_bytes = hm->heap;
		a->leaked_allocations = hm->live_allocations;
		if (pv->seg_reached)
			split_by_reach(a, hm);
	}
	for (int i = 0; i < HEAPMODEL_BUCKETS; i++)
		a->histogram[i] += hm->histogram[i];
	heapmodel_free(hm);
	pv->hm = NULL;
	return 0;
}

/* a MODULE record: one loaded module of the set in force */
static int add_module(struct analysis *a, const struct capture_record *rec)
{
	struct analysis_private *pv = a->priv;
	struct analysis_module *m;
	struct sym_segment *segs;

	if (GROW(a->modules, a->nmodules + 1, pv->modules_cap) < 0)
		return -1;
	segs = rec->nseg ? malloc((size_t)rec->nseg * sizeof(*segs)) : NULL;
	if (rec->nseg && !segs)
		return -1;
	for (int i = 0; i < rec->nseg; i++)
		segs[i] = (struct sym_segment){ rec->segs[2 * i], rec->segs[2 * i + 1] };
	m = &a->modules[a->nmodules];
	m->sym.path = own(a, rec->path.s, rec->path.len);
	m->sym.build_id = (const uint8_t *)own(a, rec->build_id.s, rec->build_id.len);
	m->sym.build_id_len = rec->build_id.len;
	m->sym.bias = rec->bias;
	m->sym.nseg = (size_t)rec->nseg;
	m->sym.segs = segs;
	m->segment = a->segments - 1;
	m->generation = pv->generation;
	if (!m->sym.path || !m->sym.build_id) {
		free(segs);
		return -1;
	}
	a->nmodules++;
	return 0;
}

/* a CODE record: a Python code object of this image */
static int add_code(struct analysis *a, const struct capture_record *rec)
{
	struct analysis_private *pv = a->priv;
	struct analysis_code *c;

	if (GROW(a->codes, a->ncodes + 1, pv->codes_cap) < 0)
		return -1;
	c = &a->codes[a->ncodes];
	c->function = own(a, rec->label.s, rec->label.len);
	c->file = own(a, rec->path.s, rec->path.len);
	if (!c->function || !c->file)
		return -1;
	a->ncodes++;
	return 0;
}

/* a crafted capture whose sizes would wrap a 64-bit figure around: refused, never a wrong figure */
static int too_big(struct analysis *a, const struct capture_record *rec)
{
	error("%s: block at offset %llu: allocation sizes add up past 2^64 bytes (not a real program's capture)",
	      a->priv->path, (unsigned long long)rec->offset);
	return ALREADY_SAID;
}

/* an AGG_STACK record: a stack's totals from an --aggregate capture */
static int add_aggregated(struct analysis *a, const struct capture_record *rec)
{
	struct analysis_private *pv = a->priv;
	struct analysis_entry e = {
		.stack = rec->stack ? rec->stack + pv->base : 0,
		.kind = rec->allocator,
		.allocs = rec->agg_allocs,
		.bytes = rec->agg_bytes,
		.peak_count = rec->peak_count,
		.peak_bytes = rec->peak_bytes,
		.leak_count = rec->leak_count,
		.leak_bytes = rec->leak_bytes,
	};

	a->is_aggregated = 1;
	a->total_allocations += rec->agg_allocs;
	a->total_bytes += rec->agg_bytes;
	if (a->total_bytes < rec->agg_bytes)
		return too_big(a, rec);
	a->allocator_counts[rec->allocator] += rec->agg_allocs;
	a->leaked_bytes += rec->leak_bytes;
	a->leaked_allocations += rec->leak_count;
	a->peak_allocations += rec->peak_count;
	return add_entry(a, &e);
}

/* the image's arguments as one line, for messages that name a process */
static int name_command(struct analysis *a, const struct capture_record *rec)
{
	struct strbuf sb = STRBUF_INIT;

	for (int i = 0; i < rec->argc && sb.len < 256; i++)
		if (strbuf_addf(&sb, "%s%.*s", i ? " " : "", (int)rec->argv[i].len, rec->argv[i].s) < 0)
			return -1;
	if (!sb.len && strbuf_add(&sb, rec->exe.s, rec->exe.len) < 0)
		return -1;
	if (sb.len > 256)
		strbuf_setlen(&sb, 256);
	a->command = own(a, sb.buf, sb.len);
	strbuf_release(&sb);
	return a->command ? 0 : -1;
}

/*
 * An AGG_PEAK record: the image's peak. Each image of an --aggregate run
 * that execs writes its own; the highest is the run's, and the at-peak
 * figures of the other images' stacks no longer apply (as end_segment).
 */
static void aggregated_peak(struct analysis *a, const struct capture_record *rec)
{
	struct analysis_private *pv = a->priv;
	int is_peak = rec->peak >= a->peak_bytes;
	size_t from = is_peak ? 0 : pv->seg_entries, to = is_peak ? pv->seg_entries : a->nentries;

	for (size_t i = from; i < to; i++)
		a->entries[i].peak_count = a->entries[i].peak_bytes = 0;
	if (is_peak) {
		a->peak_bytes = rec->peak;
		a->peak_ms = pv->ms_offset + rec->peak_ms;
	}
	a->peak_allocations = 0;
	for (size_t i = 0; i < a->nentries; i++)
		a->peak_allocations += a->entries[i].peak_count;
	for (int i = 0; i < CAPTURE_AGG_BUCKETS; i++)
		a->histogram[i] += rec->histogram[i];
}

/* a SEGMENT record: the image before it ends, a new one starts */
static int start_segment(struct analysis *a, const struct capture_record *rec)
{
	struct analysis_private *pv = a->priv;
	int ended = end_segment(a, 0);

	if (ended < 0)
		return ended;
	pv->base = (uint32_t)(a->nnodes - 1);
	pv->code_base = (uint32_t)a->ncodes;
	pv->generation = 0;
	pv->seg_start_ns = rec->start_ns;
	pv->ms_offset = rec->start_ns > a->start_ns ? (rec->start_ns - a->start_ns) / 1000000u : 0;
	pv->now_ms = pv->ms_offset;
	pv->seg_ended = 0;
	pv->seg_reached = 0;
	if (pv->holders)
		memset(pv->holders, 0, pv->holders_cap * sizeof(*pv->holders));
	if (!a->segments++) {
		a->pid = (uint32_t)rec->pid;
		a->ppid = (uint32_t)rec->ppid;
	}
	pv->hm = heapmodel_new();
	if (!pv->hm)
		return -1;
	pv->hm->temporary_within = pv->opts.temporary_within;
	pv->hm->track_changes = pv->opts.temporal;
	pv->seg_changes = a->nchanges;
	pv->seg_entries = a->nentries;
	return name_command(a, rec);
}

/* a REACH_BLOCK: its block's verdict, and for the first reachable block of an entry its root */
static int judge_block(struct analysis_private *pv, const struct capture_record *rec)
{
	long entry = heapmodel_set_category(pv->hm, rec->address, rec->category);
	size_t had = pv->holders_cap;

	if (entry == -2)
		return -1;	/* out of memory */
	if (entry < 0 || rec->category != CAPTURE_REACH_REACHABLE)
		return 0;	/* freed since: nothing to judge */
	if (GROW(pv->holders, (size_t)entry + 1, pv->holders_cap) < 0)
		return -1;
	memset(pv->holders + had, 0, (pv->holders_cap - had) * sizeof(*pv->holders));
	if (!pv->holders[entry].kind)
		pv->holders[entry] = (struct holder){ rec->root_kind, rec->root_value, rec->chain };
	return 0;
}

static int on_record(struct analysis *a, const struct capture_record *rec)
{
	struct analysis_private *pv = a->priv;
	int ret;

	switch (rec->type) {
	case CAPTURE_REC_ALLOC:
		a->total_allocations++;
		a->total_bytes += rec->size;
		a->allocator_counts[rec->allocator]++;
		if (rec->tid != pv->last_tid && add_thread(a, rec->tid) < 0)
			return -1;
		if (pv->opts.split_threads)
			pv->hm->thread = rec->tid;
		ret = heapmodel_alloc(pv->hm, rec->address, rec->size, rec->stack, rec->allocator, pv->now_ms);
		if (ret == HEAPMODEL_OVERFLOW || a->total_bytes < rec->size)
			return too_big(a, rec);
		if (ret < 0)
			return -1;
		NOTIFY(pv, alloc, rec, rec->stack ? rec->stack + pv->base : 0);
		return 0;
	case CAPTURE_REC_COLLECT:
		if (pv->hm)
			heapmodel_collect(pv->hm, rec->address);
		__attribute__((fallthrough));	/* the collector's free stands for the block's FREE */
	case CAPTURE_REC_FREE:
		a->total_frees++;
		if (heapmodel_free_block(pv->hm, rec->address, rec->size, rec->allocator) < 0)
			return -1;
		NOTIFY(pv, free, rec);
		return 0;
	case CAPTURE_REC_MARKER:
		NOTIFY(pv, marker, rec);
		return 0;
	case CAPTURE_REC_TIME:
		NOTIFY(pv, clock, (pv->seg_start_ns > a->start_ns ? pv->seg_start_ns - a->start_ns : 0) + rec->since_ns);
		return 0;
	case CAPTURE_REC_REACH:
		pv->reach_occasion = rec->kind;
		pv->seg_reached |= rec->kind == CAPTURE_REACH_AT_EXIT;
		return 0;
	case CAPTURE_REC_REACH_BLOCK:
		if (pv->reach_occasion == CAPTURE_REACH_AT_EXIT)
			return pv->hm ? judge_block(pv, rec) : 0;
		NOTIFY(pv, reach_block, rec);	/* a test window's verdicts are its observer's */
		return 0;
	case CAPTURE_REC_SEGMENT:
		return start_segment(a, rec);
	case CAPTURE_REC_END:
		pv->seg_ended = 1;
		a->end_ns = rec->end_ns;
		a->lost += rec->lost;
		return 0;
	case CAPTURE_REC_MODULES:
		pv->generation = rec->generation;
		return 0;
	case CAPTURE_REC_MODULE:
		return add_module(a, rec);
	case CAPTURE_REC_THREAD:
		return 0;	/* counted with the first allocation, which is what matters */
	case CAPTURE_REC_THREAD_NAME: {
		size_t i;

		if (add_thread(a, rec->tid) < 0)
			return -1;
		for (i = 0; i < a->nthreads && a->threads[i] != rec->tid; i++)
			;
		if (i == a->nthreads)
			return 0;	/* thread 0: no thread, nothing to name */
		pv->names[i] = own(a, rec->label.s, rec->label.len);
		return pv->names[i] ? 0 : -1;
	}
	case CAPTURE_REC_FRAME:
		return add_node(a, rec->parent, rec->ip, 0);
	case CAPTURE_REC_CODE:
		return add_code(a, rec);
	case CAPTURE_REC_PYFRAME:
		return add_node(a, rec->parent, rec->line, rec->code + pv->code_base);
	case CAPTURE_REC_MEMORY:
		pv->now_ms = pv->ms_offset + rec->ms;
		if (add_sample(a, pv->now_ms, rec->rss) < 0)
			return -1;
		if (pv->now_ms * 1000000u + a->start_ns > a->end_ns)
			a->end_ns = a->start_ns + pv->now_ms * 1000000u;
		NOTIFY(pv, clock, pv->now_ms * 1000000u);
		return 0;
	case CAPTURE_REC_AGG_STACK:
		return add_aggregated(a, rec);
	case CAPTURE_REC_AGG_PEAK:
		aggregated_peak(a, rec);
		return 0;
	default:
		return 0;
	}
}

/* the end of the pass: the last image ends; 0, -1 out of memory, ALREADY_SAID */
static int end_pass(struct analysis *a)
{
	struct analysis_private *pv = a->priv;

	if (!a->is_aggregated)
		return end_segment(a, 1);
	heapmodel_free(pv->hm);	/* an aggregated capture's figures come from its records */
	pv->hm = NULL;
	NOTIFY(pv, segment_end, 1);
	return 0;
}

/* the location cache covers every stack node: 0, or -1 out of memory */
static int grow_locations(struct analysis *a)
{
	struct analysis_private *pv = a->priv;
	size_t had = pv->locations_cap;

	if (a->nnodes <= had)
		return 0;
	if (GROW(pv->locations, a->nnodes, pv->locations_cap) < 0)
		return -1;
	memset(pv->locations + had, 0, (pv->locations_cap - had) * sizeof(*pv->locations));
	return 0;
}

int analysis_begin(struct analysis *a, struct capture_reader *r, const struct analysis_options *opts)
{
	const struct capture_header *h = capture_reader_header(r);

	memset(a, 0, sizeof(*a));
	a->priv = calloc(1, sizeof(*a->priv));
	a->nodes = calloc(256, sizeof(*a->nodes));
	if (!a->priv || !a->nodes)
		return error("%s: out of memory while reading the capture", capture_reader_path(r));
	a->priv->nodes_cap = 256;
	if (opts)
		a->priv->opts = *opts;
	a->priv->path = capture_reader_path(r);
	a->nnodes = 1;	/* the root */
	strbuf_init(&a->priv->strings, 0);
	a->start_ns = a->end_ns = h->start_ns;
	a->is_aggregated = (h->flags & CAPTURE_F_AGGREGATE) != 0;
	return 0;
}

int analysis_feed(struct analysis *a, struct capture_reader *r)
{
	struct capture_record rec;
	int ret;

	for (uint64_t n = 1; capture_reader_next(r, &rec); n++) {
		if ((ret = on_record(a, &rec)) < 0) {
			if (ret == -1)
				error("%s: out of memory while reading the capture", capture_reader_path(r));
			return -1;
		}
		if (a->priv->opts.progress && !(n & ((1u << 22) - 1)))
			a->priv->opts.progress(capture_reader_position(r), capture_reader_size(r));
	}
	a->records = capture_reader_records(r);
	return 0;
}

int analysis_end(struct analysis *a, struct capture_reader *r)
{
	const struct capture_header *h = capture_reader_header(r);
	int ret;

	a->records = capture_reader_records(r);
	a->is_stopped = (h->flags & CAPTURE_F_STOPPED) != 0;
	a->is_complete = a->priv->seg_ended && capture_reader_status(r) == CAPTURE_OK && !a->is_stopped;
	if ((ret = end_pass(a)) == 0 && grow_locations(a) == 0)
		return 0;
	if (ret != ALREADY_SAID)
		error("%s: out of memory while reading the capture", capture_reader_path(r));
	return -1;
}

int analysis_run(struct analysis *a, struct capture_reader *r, const struct analysis_options *opts)
{
	if (analysis_begin(a, r, opts) < 0 || analysis_feed(a, r) < 0)
		return -1;
	return analysis_end(a, r);
}

void analysis_release(struct analysis *a)
{
	struct analysis_private *pv = a->priv;

	if (pv) {
		heapmodel_free(pv->hm);
		for (size_t i = 0; i < pv->nowned; i++)
			free(pv->owned[i]);
		free(pv->owned);
		hashidx_release(&pv->tids);
		free(pv->names);
		free(pv->locations);
		free(pv->location_stack.frames);
		free(pv->holders);
		strbuf_release(&pv->strings);
		free(pv);
	}
	for (size_t i = 0; i < a->nmodules; i++)
		free((void *)a->modules[i].sym.segs);
	free(a->modules);
	free(a->entries);
	free(a->nodes);
	free(a->codes);
	free(a->samples);
	free(a->changes);
	free(a->threads);
	free(a->thread_labels);
	memset(a, 0, sizeof(*a));
}

int analysis_module_has(const struct analysis_module *m, uint64_t ip)
{
	uint64_t rel = ip - 1 - m->sym.bias;

	for (size_t i = 0; i < m->sym.nseg; i++)
		if (rel >= m->sym.segs[i].vaddr && rel - m->sym.segs[i].vaddr < m->sym.segs[i].memsz)
			return 1;
	return 0;
}

/*
 * The module holding a node's ip: from the set in force when the node was
 * recorded, else a later set (a library loaded less than one tracker tick
 * before its first allocation), else any set of the image.
 */
static const struct analysis_module *module_of(const struct analysis *a, const struct analysis_node *n)
{
	const struct analysis_module *later = NULL, *any = NULL;

	for (size_t i = 0; i < a->nmodules; i++) {
		const struct analysis_module *m = &a->modules[i];

		if (m->segment != n->segment || !analysis_module_has(m, n->ip))
			continue;
		if (m->generation == n->generation)
			return m;
		if (m->generation > n->generation && (!later || m->generation < later->generation))
			later = m;
		any = m;
	}
	return later ? later : any;
}

/* append the frames of stack id `stack` to st, innermost first: 0, or -1 when out of memory */
static int stack_frames(struct analysis *a, struct symbolizer *s, uint32_t stack, struct sym_stack *st)
{
	for (uint32_t id = stack; id && id < a->nnodes; id = a->nodes[id].parent) {
		const struct analysis_node *node = &a->nodes[id];
		const struct analysis_module *m;
		struct sym_frame f;

		if (node->code) {
			const struct analysis_code *c = &a->codes[node->code - 1];

			f = (struct sym_frame){ c->function, c->file, (unsigned)node->ip, ANALYSIS_PYTHON_MODULE, 0 };
			if (sym_stack_push(st, &f) < 0)
				return -1;
			continue;
		}
		if (node->module == ANALYSIS_MODULE_UNKNOWN) {	/* looked up once per node */
			m = module_of(a, node);
			a->nodes[id].module = m ? (int32_t)(m - a->modules) : ANALYSIS_MODULE_NONE;
		}
		m = node->module >= 0 ? &a->modules[node->module] : NULL;
		if (m) {
			if (symbolizer_push(s, st, &m->sym, node->ip) < 0)
				return -1;
		} else {
			char buf[32];
			const char *name;

			snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)node->ip);
			name = own(a, buf, strlen(buf));
			f = (struct sym_frame){ name ? name : "?", NULL, 0, "?", 0 };
			if (sym_stack_push(st, &f) < 0)
				return -1;
		}
	}
	return 0;
}

int analysis_stack(struct analysis *a, struct symbolizer *s, uint32_t stack, const struct sym_frame **out)
{
	struct sym_stack *st = symbolizer_stack(s);

	*out = NULL;
	if (stack_frames(a, s, stack, st) < 0)
		return -1;
	*out = st->frames;
	return (int)st->n;
}

const char *analysis_thread_label(struct analysis *a, uint32_t tid)
{
	struct analysis_private *pv = a->priv;
	char buf[64 + CAPTURE_STRING_MAX];
	size_t i;

	for (i = 0; i < a->nthreads && a->threads[i] != tid; i++)
		;
	if (i == a->nthreads)
		return "thread ?";
	if (a->nthreads > pv->labels_cap) {	/* a live analysis meets new threads */
		size_t had = pv->labels_cap;

		if (GROW(a->thread_labels, a->nthreads, pv->labels_cap) < 0)
			return "thread ?";
		memset(a->thread_labels + had, 0, (pv->labels_cap - had) * sizeof(*a->thread_labels));
	}
	if (!a->thread_labels[i]) {
		if (pv->names[i])
			snprintf(buf, sizeof(buf), "thread %u (%s)", tid, pv->names[i]);
		else
			snprintf(buf, sizeof(buf), "thread %u%s", tid, tid == a->main_tid ? " (main)" : "");
		a->thread_labels[i] = own(a, buf, strlen(buf));
	}
	return a->thread_labels[i] ? a->thread_labels[i] : "thread ?";
}

const char *analysis_location(struct analysis *a, struct symbolizer *s, uint32_t stack)
{
	struct analysis_private *pv = a->priv;
	const struct sym_frame *pick, *frames;
	struct strbuf sb = STRBUF_INIT;
	char *loc;
	int n;

	if (!stack || stack >= a->nnodes)
		return "<stack trace unavailable>";
	if (grow_locations(a) < 0)
		return "<out of memory>";
	if (pv->locations[stack])
		return pv->locations[stack];
	pv->location_stack.n = 0;
	if (stack_frames(a, s, stack, &pv->location_stack) < 0)
		return "<out of memory>";
	frames = pv->location_stack.frames;
	n = (int)pv->location_stack.n;
	if (!n)
		return "<stack trace unavailable>";
	pick = &frames[frames_own(frames, n)];
	if (strbuf_addf(&sb, "%s:%s:%u", pick->function, pick->file ? pick->file : pick->module, pick->line) < 0)
		return "<out of memory>";
	loc = own(a, sb.buf, sb.len);
	strbuf_release(&sb);
	pv->locations[stack] = loc;
	return loc ? loc : "<out of memory>";
}
