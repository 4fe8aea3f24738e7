/*
 * report/diff: two captures, base and head, compared stack by stack.
 *
 * What a reviewer wants from a pull request's memory is which stack grew
 * and by how much. Two builds of the same code put their functions at
 * different addresses, so stacks are matched by what the symbolizer says
 * of them, not by address: a stack is its frames from the allocating one
 * out, runtime frames left out (frames_is_hidden, as every report does),
 * each frame as function, file and line (DIFF_MATCH_FRAMES); or, since
 * lines move and files get renamed between commits, by the function names
 * alone (DIFF_MATCH_FUNCTION). Both captures are analysed by the one pass
 * (report/analysis) as every report is; the diff then folds each side's
 * per-stack entries into rows keyed by those frames, so its cost grows
 * with the number of distinct stacks, never with the records.
 *
 * Each row carries both sides' four figures: bytes live at the capture's
 * peak, bytes leaked (live at the end), bytes allocated in all and the
 * allocation count. The last two are deterministic for a deterministic
 * program; peak and leaks are too for a single-threaded one, while the
 * thread interleaving of a multi-threaded one moves its peak.
 *
 * Besides stacks, the diff keeps locations: the innermost shown frame of
 * each stack (by the same matching rule), the "where" a summary shows.
 * A row's frames are the head's where the stack is in the head (so a
 * moved line shows where it is now), else the base's.
 *
 * A side may be several captures (the processes of a `memray check` run):
 * diff_add() each; the totals are then their sums, which for the peak is
 * not the run's (processes peak at different moments): the caller sets
 * the run's own figures in `total`. Tests (per-test windows) are given by
 * id with diff_add_test() and matched by id.
 *
 * Ownership: the diff owns its arrays; the strings in its frames belong
 * to the two symbolizers given to diff_add(), which must outlive it.
 */
#ifndef REPORT_DIFF_H
#define REPORT_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "common/hashidx.h"
#include "report/analysis.h"

enum diff_side { DIFF_BASE, DIFF_HEAD };

enum diff_match {
	DIFF_MATCH_FRAMES,	/* function, file and line of every frame */
	DIFF_MATCH_FUNCTION,	/* function names only */
};

enum diff_figure {
	DIFF_PEAK,		/* bytes live at the peak */
	DIFF_LEAKED,		/* bytes live at the end */
	DIFF_ALLOCATED,		/* bytes allocated in all */
	DIFF_ALLOCATIONS,	/* allocations made */
	DIFF_NFIGURES
};

struct diff_row {
	size_t frame;		/* first frame in diff.frames, the innermost */
	uint32_t nframes;
	int is_seen[2];		/* the stack occurs on that side (a figure may still be 0) */
	uint64_t v[2][DIFF_NFIGURES];	/* by side, by figure */
};

struct diff_test {
	char *id;		/* owned */
	int is_seen[2];
	uint64_t v[2][DIFF_NFIGURES];
};

struct diff {
	enum diff_match match;
	uint64_t total[2][DIFF_NFIGURES];	/* the captures' own figures */
	struct sym_frame *frames;
	size_t nframes, frames_alloc;
	struct diff_row *stacks, *locations;
	size_t nstacks, stacks_alloc, nlocations, locations_alloc;
	struct hashidx stack_index, location_index;
	struct diff_test *tests;
	size_t ntests, tests_alloc;
	struct hashidx test_index;
};

#define DIFF_INIT(m) { .match = (m) }

/*
 * Fold side's capture (analysed in a, symbolized by s) into d. Add the
 * head first, then the base (so rows show the head's frames). Returns 0,
 * or -1 when out of memory (no message; d is then only fit to release).
 */
int diff_add(struct diff *d, enum diff_side side, struct analysis *a, struct symbolizer *s);
void diff_release(struct diff *d);
/* a test's figures on one side, by id (copied): 0, or -1 when out of memory */
int diff_add_test(struct diff *d, enum diff_side side, const char *id, const uint64_t v[DIFF_NFIGURES]);
/* sort the tests by the size of their change in `by`, largest first (after the last diff_add_test) */
void diff_sort_tests(struct diff *d, enum diff_figure by);

/* do two frames match by d's rule? and a hash of n frames by the same rule */
int diff_same_frame(const struct diff *d, const struct sym_frame *x, const struct sym_frame *y);
uint64_t diff_hash_frames(const struct diff *d, const struct sym_frame *f, size_t n);

/* did any figure change from base to head? */
int diff_is_changed(const uint64_t v[2][DIFF_NFIGURES]);

/* head minus base of figure f, saturated to the int64 range */
int64_t diff_change(const uint64_t v[2][DIFF_NFIGURES], enum diff_figure f);

/*
 * Sort rows by the size of their change in `by`, largest first, growth
 * before shrinkage of the same size, then by frames for a stable order.
 */
void diff_sort(const struct diff *d, struct diff_row *rows, size_t n, enum diff_figure by);

/* the figure's name in JSON and on the command line: "peak", "leaked", "allocated", "allocations" */
extern const char *const diff_figure_names[DIFF_NFIGURES];

#endif
