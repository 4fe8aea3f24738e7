/*
 * report/diff: see diff.h.
 */
#include "report/diff.h"

#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "common/units.h"
#include "report/frames.h"

const char *const diff_figure_names[DIFF_NFIGURES] = {
	[DIFF_PEAK] = "peak", [DIFF_LEAKED] = "leaked",
	[DIFF_ALLOCATED] = "allocated", [DIFF_ALLOCATIONS] = "allocations",
};

/* what one lookup compares: frames of a stack or of a location, from either capture */
struct key {
	const struct diff *d;
	const struct diff_row *rows;
	const struct sym_frame *frames;
	size_t n;
};

/*
 * The file a frame is matched by: its source file. A frame without one
 * (no debug info) is matched by its function alone, not by its module's
 * path: the base and head binaries of a CI job often live apart.
 */
static const char *file_of(const struct sym_frame *f)
{
	return f->file ? f->file : "";
}

int diff_same_frame(const struct diff *d, const struct sym_frame *x, const struct sym_frame *y)
{
	/* two symbolizers intern apart: compare the text */
	if (strcmp(x->function, y->function))
		return 0;
	return d->match == DIFF_MATCH_FUNCTION ||
	       (x->line == y->line && !strcmp(file_of(x), file_of(y)));
}

uint64_t diff_hash_frames(const struct diff *d, const struct sym_frame *f, size_t n)
{
	uint64_t h = hash_u64(n);

	for (size_t i = 0; i < n; i++) {
		h = hash_u64(h ^ hash_string(f[i].function));
		if (d->match == DIFF_MATCH_FRAMES)
			h = hash_u64(h ^ hash_string(file_of(&f[i])) ^ f[i].line);
	}
	return h;
}

static int same_key(const void *ctx, uint32_t pos)
{
	const struct key *k = ctx;
	const struct diff_row *r = &k->rows[pos];

	if (r->nframes != k->n)
		return 0;
	for (size_t i = 0; i < k->n; i++)
		if (!diff_same_frame(k->d, &k->d->frames[r->frame + i], &k->frames[i]))
			return 0;
	return 1;
}

/* the row of these frames in rows/index, added (with copies of the frames) if new; NULL: no memory */
static struct diff_row *row_of(struct diff *d, struct diff_row **rows, size_t *n, size_t *alloc,
			       struct hashidx *index, const struct sym_frame *f, size_t nf)
{
	struct key k = { d, *rows, f, nf };
	uint64_t h = diff_hash_frames(d, f, nf);
	uint32_t i = hashidx_find(index, h, same_key, &k);

	if (i != HASHIDX_NONE)
		return &(*rows)[i];
	if (GROW(*rows, *n + 1, *alloc) < 0 || GROW(d->frames, d->nframes + nf, d->frames_alloc) < 0 ||
	    hashidx_add(index, h, (uint32_t)*n) < 0)
		return NULL;
	memcpy(d->frames + d->nframes, f, nf * sizeof(*f));
	(*rows)[*n] = (struct diff_row){ .frame = d->nframes, .nframes = (uint32_t)nf };
	d->nframes += nf;
	return &(*rows)[(*n)++];
}

static void add_figures(struct diff_row *r, enum diff_side side, const struct analysis_entry *e)
{
	uint64_t *v = r->v[side];

	r->is_seen[side] = 1;
	v[DIFF_PEAK] = units_add(v[DIFF_PEAK], e->peak_bytes);
	v[DIFF_LEAKED] = units_add(v[DIFF_LEAKED], e->leak_bytes);
	v[DIFF_ALLOCATED] = units_add(v[DIFF_ALLOCATED], e->bytes);
	v[DIFF_ALLOCATIONS] = units_add(v[DIFF_ALLOCATIONS], e->allocs);
}

int diff_add(struct diff *d, enum diff_side side, struct analysis *a, struct symbolizer *s)
{
	struct sym_stack shown = { 0 };
	int ret = -1;

	d->total[side][DIFF_PEAK] = units_add(d->total[side][DIFF_PEAK], a->peak_bytes);
	d->total[side][DIFF_LEAKED] = units_add(d->total[side][DIFF_LEAKED], a->leaked_bytes);
	d->total[side][DIFF_ALLOCATED] = units_add(d->total[side][DIFF_ALLOCATED], a->total_bytes);
	d->total[side][DIFF_ALLOCATIONS] = units_add(d->total[side][DIFF_ALLOCATIONS], a->total_allocations);
	for (size_t i = 0; i < a->nentries; i++) {
		const struct analysis_entry *e = &a->entries[i];
		const struct sym_frame *frames;
		struct diff_row *r;
		int n = analysis_stack(a, s, e->stack, &frames);

		if (n < 0)
			goto out;
		shown.n = 0;	/* the frames reports show: runtime ones left out */
		for (int k = 0; k < n; k++)
			if (!frames_is_hidden(&frames[k]) && sym_stack_push(&shown, &frames[k]) < 0)
				goto out;
		r = row_of(d, &d->stacks, &d->nstacks, &d->stacks_alloc, &d->stack_index, shown.frames, shown.n);
		if (!r)
			goto out;
		add_figures(r, side, e);
		r = row_of(d, &d->locations, &d->nlocations, &d->locations_alloc, &d->location_index,
			   shown.frames, shown.n ? 1 : 0);
		if (!r)
			goto out;
		add_figures(r, side, e);
	}
	ret = 0;
out:
	free(shown.frames);
	return ret;
}

struct test_key {
	const struct diff *d;
	const char *id;
};

static int same_test(const void *ctx, uint32_t pos)
{
	const struct test_key *k = ctx;

	return !strcmp(k->d->tests[pos].id, k->id);
}

int diff_add_test(struct diff *d, enum diff_side side, const char *id, const uint64_t v[DIFF_NFIGURES])
{
	struct test_key k = { d, id };
	uint64_t h = hash_string(id);
	uint32_t i = hashidx_find(&d->test_index, h, same_test, &k);
	struct diff_test *t;

	if (i == HASHIDX_NONE) {
		if (GROW(d->tests, d->ntests + 1, d->tests_alloc) < 0 ||
		    hashidx_add(&d->test_index, h, (uint32_t)d->ntests) < 0)
			return -1;
		d->tests[d->ntests] = (struct diff_test){ .id = strdup(id) };
		if (!d->tests[d->ntests].id)
			return -1;
		i = (uint32_t)d->ntests++;
	}
	t = &d->tests[i];
	t->is_seen[side] = 1;
	for (int f = 0; f < DIFF_NFIGURES; f++)
		t->v[side][f] = units_add(t->v[side][f], v[f]);
	return 0;
}

void diff_release(struct diff *d)
{
	for (size_t i = 0; i < d->ntests; i++)
		free(d->tests[i].id);
	free(d->tests);
	hashidx_release(&d->test_index);
	free(d->frames);
	free(d->stacks);
	free(d->locations);
	hashidx_release(&d->stack_index);
	hashidx_release(&d->location_index);
	memset(d, 0, sizeof(*d));
}

int diff_is_changed(const uint64_t v[2][DIFF_NFIGURES])
{
	for (int f = 0; f < DIFF_NFIGURES; f++)
		if (v[DIFF_BASE][f] != v[DIFF_HEAD][f])
			return 1;
	return 0;
}

int64_t diff_change(const uint64_t v[2][DIFF_NFIGURES], enum diff_figure f)
{
	uint64_t b = v[DIFF_BASE][f], h = v[DIFF_HEAD][f];

	if (h >= b)
		return h - b > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)(h - b);
	return b - h > (uint64_t)INT64_MAX ? -INT64_MAX : -(int64_t)(b - h);
}

static const struct diff *sort_diff;
static enum diff_figure sort_by;

/* larger change first, growth before shrinkage of the same size; 0 when alike */
static int cmp_change(const uint64_t x[2][DIFF_NFIGURES], const uint64_t y[2][DIFF_NFIGURES])
{
	int64_t ca = diff_change(x, sort_by), cb = diff_change(y, sort_by);
	uint64_t ma = ca < 0 ? (uint64_t)-ca : (uint64_t)ca, mb = cb < 0 ? (uint64_t)-cb : (uint64_t)cb;

	if (ma != mb)
		return ma < mb ? 1 : -1;
	if ((ca < 0) != (cb < 0))
		return ca < 0 ? 1 : -1;
	return 0;
}

static int by_test_change(const void *x, const void *y)
{
	const struct diff_test *a = x, *b = y;
	int c = cmp_change(a->v, b->v);

	return c ? c : strcmp(a->id, b->id);
}

void diff_sort_tests(struct diff *d, enum diff_figure by)
{
	sort_by = by;
	qsort(d->tests, d->ntests, sizeof(*d->tests), by_test_change);
}

static int by_change(const void *x, const void *y)
{
	const struct diff_row *a = x, *b = y;
	int c = cmp_change(a->v, b->v);

	if (c)
		return c;
	for (size_t i = 0; i < a->nframes && i < b->nframes; i++) {
		const struct sym_frame *fa = &sort_diff->frames[a->frame + i], *fb = &sort_diff->frames[b->frame + i];
		int by_name = strcmp(fa->function, fb->function);

		if (by_name)
			return by_name;
		if (fa->line != fb->line)
			return fa->line < fb->line ? -1 : 1;
	}
	return a->nframes < b->nframes ? -1 : a->nframes > b->nframes;
}

void diff_sort(const struct diff *d, struct diff_row *rows, size_t n, enum diff_figure by)
{
	sort_diff = d;
	sort_by = by;
	qsort(rows, n, sizeof(*rows), by_change);
}
