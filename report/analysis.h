/*
 * report/analysis: the one pass over a capture that every report shares.
 *
 * analysis_run() reads the whole capture once and keeps what reports ask
 * about: totals, the peak and what was live at it, leaks, the size
 * histogram, the allocator mix, RSS samples, threads, and the stack trie
 * with the modules needed to symbolize it later.
 *
 * Semantics (the README says the same to users):
 * - Peak: the moment the sum of live bytes was highest, mmap'd bytes
 *   included. In a capture of several process images (exec), each image
 *   has its own heap; the peak is the highest of theirs.
 * - Leaks: what is live when the last image ends (its END record, written
 *   after the program's atexit handlers). Images replaced by exec leak
 *   nothing: their memory went away with them. A capture cut short has no
 *   leaks to report; what was live when it stops is reported as such.
 * - Stack ids are made unique across images: image k's ids are shifted by
 *   the nodes of the images before it. Id 0 is the empty stack.
 *
 * Aggregated captures (--aggregate) give the same result from their
 * AGG_STACK and AGG_PEAK records.
 *
 * OBSERVERS
 *
 * Whatever else wants to see the record stream (the gate's per-test
 * windows today; live views and reachability next) rides on this pass as
 * an observer instead of reading the capture again, so every consumer
 * numbers stacks the same way and the file is read once. An observer is
 * called after the analysis has taken the record in, with stack ids
 * already made global, in stream order: alloc, free and marker for those
 * records, clock for each reading of the capture's clock (a MEMORY record,
 * to its millisecond; a TIME record, the moment of the marker after it),
 * segment_end when an image ends (an exec replaced it, or the capture
 * ends, complete or cut short). An observer that returns -1 (after
 * printing its own error) ends the pass with -1.
 *
 * Ownership: the analysis owns everything in it; analysis_release() frees
 * it. Strings from analysis_location() live as long as the analysis.
 */
#ifndef REPORT_ANALYSIS_H
#define REPORT_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "capture/format.h"
#include "capture/heapmodel.h"
#include "report/symbols.h"

struct capture_reader;
struct capture_record;

struct analysis_node {
	uint32_t parent;
	uint32_t segment;	/* image index */
	uint64_t generation;	/* module set in force when it was recorded */
	uint64_t ip;		/* a return address; for a Python frame its line */
	uint32_t code;		/* a Python frame: 1 + index into codes; 0: native */
	int32_t module;		/* index into modules, once looked up; or one of: */
#define ANALYSIS_MODULE_UNKNOWN (-2)	/* not looked up yet */
#define ANALYSIS_MODULE_NONE (-1)	/* in no module */
};

/* a Python code object (CODE record) */
struct analysis_code {
	const char *function, *file;
};

/* the module name Python frames carry in struct sym_frame */
#define ANALYSIS_PYTHON_MODULE "<python>"

struct analysis_module {
	struct sym_module sym;	/* strings and arrays owned by the analysis */
	uint32_t segment;
	uint64_t generation;
};

/* what one (stack, allocator) did, across the whole capture */
struct analysis_entry {
	uint32_t stack;
	uint32_t kind;
	uint32_t tid;		/* with split_threads; else 0 */
	uint64_t allocs, bytes;
	uint64_t peak_count, peak_bytes;	/* live at the capture's peak */
	uint64_t leak_count, leak_bytes;	/* live at the end */
	uint64_t temp_count, temp_bytes;	/* temporary (analysis_run's `temporary_within`) */
	uint64_t collected_count, collected_bytes;	/* freed by the garbage collector (COLLECT) */
	/* leaks by reachability verdict (CAPTURE_REACH_*), when the last image was scanned */
	uint64_t reach_count[CAPTURE_REACH_COUNT], reach_bytes[CAPTURE_REACH_COUNT];
	/* what holds the first of its still reachable blocks (CAPTURE_ROOT_*, REACH_BLOCK's value) */
	unsigned hold_kind;
	uint64_t hold_value, hold_chain;
};

/* with the temporal option: an entry's live figures from a sample on */
struct analysis_change {
	uint32_t sample;	/* index into samples */
	uint32_t entry;		/* index into entries */
	uint64_t bytes, count;
};

struct analysis_sample {
	uint64_t ms;		/* since the capture started */
	uint64_t rss;
	uint64_t heap;		/* live bytes at that moment */
};

struct analysis {
	int is_aggregated;
	int is_complete;	/* the last image ended with its END record, tracking never stopped early */
	int is_stopped;		/* tracking stopped before the process ended (CAPTURE_F_STOPPED) */
	unsigned segments;
	uint64_t start_ns, end_ns;
	uint32_t pid, ppid;	/* the first image's process and its parent (SEGMENT) */
	uint64_t records;
	uint64_t total_allocations, total_bytes, total_frees;
	uint64_t peak_bytes, peak_allocations, peak_ms;
	uint64_t leaked_bytes, leaked_allocations;
	uint64_t collected_bytes, collected_allocations;	/* what the garbage collector freed, all images */
	/*
	 * The last image's reachability scan (REACH records), if it had one:
	 * the leaks by verdict, [CAPTURE_REACH_UNKNOWN] for blocks the scan
	 * did not judge (made after it). Mappings the program made are roots:
	 * still reachable.
	 */
	int has_reachability;
	uint64_t reach_count[CAPTURE_REACH_COUNT], reach_bytes[CAPTURE_REACH_COUNT];
	uint64_t lost;		/* records the tracker dropped (END records' count) */
	uint64_t histogram[HEAPMODEL_BUCKETS];	/* allocations by bit length of size */
	uint64_t allocator_counts[CAPTURE_ALLOC_COUNT];
	uint32_t main_tid;
	const char *command;	/* the last image's arguments, space-separated, at most ~256 bytes; or NULL */

	struct analysis_entry *entries;
	size_t nentries;
	struct analysis_node *nodes;	/* by stack id; nodes[0] is the root */
	size_t nnodes;
	struct analysis_module *modules;
	size_t nmodules;
	struct analysis_code *codes;	/* Python code objects of every image */
	size_t ncodes;
	struct analysis_sample *samples;
	size_t nsamples;
	struct analysis_change *changes;	/* by sample, with the temporal option */
	size_t nchanges;
	uint32_t *threads;	/* distinct thread ids, in order of appearance */
	const char **thread_labels;	/* "thread 1234 (name)", by index; lazily */
	size_t nthreads;

	struct analysis_private *priv;
};

/* does module m (of its image) hold return address ip (ip - 1 is the call)? */
int analysis_module_has(const struct analysis_module *m, uint64_t ip);

/* what readers say of a capture whose tracker stopped early */
#define ANALYSIS_STOPPED_WARNING \
	"tracking stopped early (a full disk, a file size limit or no memory: the tracker said which on " \
	"the program's stderr); the figures cover only what came before"

struct analysis_observer {
	void *ctx;
	/* ALLOC: `stack` is rec->stack made global (0: the empty stack) */
	int (*alloc)(void *ctx, const struct capture_record *rec, uint32_t stack);
	int (*free)(void *ctx, const struct capture_record *rec);
	int (*marker)(void *ctx, const struct capture_record *rec);
	/* an image ended; is_last: the capture's last (its live blocks are the leaks) */
	int (*segment_end)(void *ctx, int is_last);
	/* the capture's clock reads ns (since the capture started): a MEMORY or TIME record */
	int (*clock)(void *ctx, uint64_t ns);
	/* a REACH_BLOCK of a scan at a test window's end (the exit scan's are the analysis') */
	int (*reach_block)(void *ctx, const struct capture_record *rec);
};

struct analysis_options {
	/*
	 * Count as temporary the blocks freed before this many further
	 * allocations (1: before any other); 0: off. Aggregated captures
	 * have no temporary figures.
	 */
	uint64_t temporary_within;
	/* keep each thread's allocations apart (entries get their tid) */
	int split_threads;
	/* log each entry's live figures at every RSS sample it changed by */
	int temporal;
	/* called on the record stream (any callback may be NULL); borrowed for the pass */
	const struct analysis_observer *observers;
	size_t nobservers;
	/* if not NULL, called now and then with the bytes read and the size */
	void (*progress)(uint64_t done, uint64_t total);
};

/*
 * Read every record of r (opts may be NULL). Returns 0 (the reader's
 * status tells how the capture ended), or -1 after an error message when
 * out of memory or when an observer failed.
 */
int analysis_run(struct analysis *a, struct capture_reader *r, const struct analysis_options *opts);

/*
 * analysis_run() in three steps, for a capture that is still arriving
 * (capture_reader_stream): begin once the reader has its header, feed
 * whenever bytes came (it takes every record the reader can give; the
 * figures of the struct are those of the records so far, the current
 * image's heap not yet folded into entries), end when the stream ended.
 * Each returns 0, or -1 after an error message. analysis_release() frees
 * what any of them made.
 */
int analysis_begin(struct analysis *a, struct capture_reader *r, const struct analysis_options *opts);
int analysis_feed(struct analysis *a, struct capture_reader *r);
int analysis_end(struct analysis *a, struct capture_reader *r);
void analysis_release(struct analysis *a);

/*
 * The frames of stack id `stack`, innermost first (inlined frames
 * included), however deep. *out points into the symbolizer's scratch stack
 * (symbolizer_stack()): valid until the next call that uses s that way.
 * Returns the count, or -1 when out of memory (no message).
 */
int analysis_stack(struct analysis *a, struct symbolizer *s, uint32_t stack, const struct sym_frame **out);

/*
 * "function:file:line" of the frame frames_own() (report/frames.h) picks, or
 * "<stack trace unavailable>" for the empty stack. Cached per stack id.
 */
const char *analysis_location(struct analysis *a, struct symbolizer *s, uint32_t stack);

/* "thread 1234", with " (main)" or the name it gave itself; stable pointers */
const char *analysis_thread_label(struct analysis *a, uint32_t tid);

#endif
