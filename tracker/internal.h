/*
 * tracker/internal: the state the tracker's files share, and the helpers
 * every allocation runs through. Not an interface: only the files of tracker/
 * include it. tracker.h says what the tracker does and why.
 *
 * THE STATE, WHO WRITES IT, UNDER WHICH LOCK
 *
 *   tracker_cfg    tracker.c: configuration. Written only while no other
 *                  thread of ours runs (the constructor; after fork, in
 *                  the child's atfork handler), read everywhere unlocked.
 *   tracker_ring   ring.c: the record buffers, the delta bases of the
 *                  block being filled, the totals for END and the writer's
 *                  controls. Every field under tracker_lock, except what
 *                  the writer thread alone touches (out, the buffer it is
 *                  compressing between unlock and lock, has_writer's
 *                  set-up before the thread exists).
 *   tracker_trie   stacks.c: the stack trie, (parent id, ip) -> id. Under
 *                  tracker_lock; after fork reset by the child alone.
 *   tracker_codes  stacks.c: Python code object -> id. Same rules.
 *   tracker_self_state  stacks.c: the calling thread's own state (its
 *                  last stack and ids), initial-exec TLS, touched only by
 *                  that thread without the lock; a state whose thread
 *                  ended waits under the lock to be reused.
 *   tracker_inflight  defer.c: reallocs under way. Under tracker_lock.
 *   thread stages  stage.c: each thread's ALLOC and FREE records before
 *                  they enter the stream. The owner writes entries and
 *                  release-stores head without the lock; whoever holds
 *                  tracker_lock drains them (tracker_lock_take) and
 *                  release-stores tail.
 *   parked calls   defer.c: initial-exec TLS of the thread, written by its
 *                  signal handlers, emptied by the thread itself.
 *   tracker_active tracker.c: set when a segment starts; cleared by END
 *                  (under the lock) and by tracker_stop (from any thread,
 *                  the writer's included, without it). Read unlocked as a
 *                  hint, and again under the lock before a record.
 *   module counters  modules.c: the loader counters of the last scan,
 *                  written without the lock by the thread that scans: the
 *                  writer on its tick, or a thread that exits or execs.
 *                  Two scans at once can only write the same module set
 *                  twice under two generations; readers take the latest.
 *
 * The lock is never held across a call that may block on another lock or
 * re-enter (unwinding, dl_iterate_phdr, write(2)): see tracker.h.
 *
 * THE HOT PATH STAYS IN ONE FUNCTION
 *
 * tracker_record_alloc (tracker.c) runs on every allocation of the host.
 * Everything it calls per allocation is `static inline` here (reserving
 * buffer room, the thread's state, unwinding, the trie and code lookups,
 * the Python merge), so splitting the tracker into files added no call.
 * What stays out of line runs once per new trie node or code object, per
 * thread, or per full buffer: tracker_trie_insert, tracker_code_insert,
 * tracker_thread_state_new, tracker_ring_hand_off.
 *
 * No file of the tracker calls the program's allocator: tables and
 * buffers are mapped (mapmem_alloc, tracker_grow_table), strings of
 * set-up code go through strbuf under the recursion guard, and elfutils
 * runs on the writer thread only, whose guard is always held
 * (tracker/walk.c).
 */
#ifndef TRACKER_INTERNAL_H
#define TRACKER_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "capture/mapmem.h"
#include "capture/codec.h"
#include "capture/format.h"
#include "tracker/python.h"
#include "tracker/stage.h"
#include "tracker/tracker.h"
#include "tracker/walk.h"

#define BUF_SIZE (512u * 1024)
#define RECORD_MAX 64	/* the largest ALLOC/FREE/FRAME/THREAD record */
#define MAX_FRAMES 16384
#define MAX_PY_FRAMES 4096
#define PATH_MAX_LEN 4096

/* ------------------------------------------------------------------ */
/* configuration, fixed at start (and after fork): tracker.c, env.c    */

/*
 * A descriptor the tracker owns, and the identity of its file: the number
 * may be taken over by the program at any time (tracker/fds.c).
 */
struct tracker_fd {
	int fd;
	dev_t dev;
	ino_t ino;	/* 0: never adopted */
};

/* move fd high, out of the program's way, and own it: the new number, or -1 */
int tracker_fd_adopt(struct tracker_fd *o, int fd);
/*
 * o's descriptor if it still holds the file adopted; else `path` opened
 * again with flags (with same_file, only if it is that very file), moved
 * high. -1 when neither: the program's number is never used or closed.
 */
int tracker_fd_get(struct tracker_fd *o, const char *path, int flags, int same_file);
/* close o's descriptor if it is still ours */
void tracker_fd_close(struct tracker_fd *o);
/* set CAPTURE_F_STOPPED in this process's capture header, in place (tracking stopped early) */
void tracker_mark_stopped(void);

struct tracker_config {
	char output[PATH_MAX_LEN];	/* this process's capture */
	char root_output[PATH_MAX_LEN];
	char lib[PATH_MAX_LEN];
	unsigned long root_pid;
	unsigned flags;
	pid_t pid;		/* the process the state belongs to */
	struct tracker_fd capture;	/* this process's capture (tracker/fds.c) */
	struct tracker_fd statm;	/* /proc/self/statm */
	uint64_t start_mono_ns;
	uintptr_t self_lo, self_hi;	/* our own code, skipped in stacks */
	int has_python;		/* Python frames are read (tracker/python) */
	int wants_native;	/* native frames too: not Python, or --native */
	/* live mode (common/env.h ENV_LIVE): the inherited socket, its inode; else -1 */
	int live_fd;
	unsigned long live_ino;
	int is_live;		/* this image streams to live_fd */
	unsigned long gc_ms;	/* the garbage collector's interval (ENV_GC); 0: off */
	int verify_unwind;	/* common/env.h ENV_VERIFY_UNWIND: check each stack (unwind.c) */
	int own_walk;		/* stacks by tracker/walk first; ENV_UNWIND=libunwind: never */
	int is_fast_only;	/* ENV_COMPRESS=fast: never lz4's high-compression mode */
};

extern struct tracker_config tracker_cfg;

/*
 * Fill the configuration from the MEMRAY_* variables (common/env.h).
 * Returns 0 when the process is to be tracked, -1 when they are missing
 * (preloaded without `memray run`) or too long, or when valgrind runs
 * this image: its allocator replaces the malloc family in every module,
 * ours too, and unwinding or scanning under it makes valgrind report
 * errors in a program that has none. Such an image is left untracked,
 * as a static one is.
 */
int tracker_env_read(void);
/* under memray check: Check's XML log of this image into the run's folder (env.c) */
void tracker_check_log(void);
/* in a forked child: the variable tracker_check_log() set is taken out again */
void tracker_check_log_forget(void);
/*
 * The environment array tracker_check_log() mapped, while it is still
 * environ: a root for the reachability scan (the program may store its
 * own strings there). 1 with its extent in [*lo, *hi), else 0.
 */
int tracker_env_root(uintptr_t *lo, uintptr_t *hi);

/* ------------------------------------------------------------------ */
/* the garbage collector: gc.c, reach.c                                  */

/* start the collector's thread if ENV_GC asked for one (init, and in a forked child) */
void tracker_gc_start(void);
/* the collector's thread, never stopped by a scan (0: none yet); atomic */
extern uint32_t tracker_gc_tid;
/* set at the end of the process: the collector does no more; atomic */
extern int tracker_gc_stopping;
/*
 * Scan as at exit, then free every block found definitely or indirectly
 * lost, writing a COLLECT record for each; the bytes freed in *bytes.
 * 0, or -1 when the scan gave up (it said why). Takes tracker_lock;
 * guard held.
 */
int tracker_reach_collect(uint64_t *bytes);

static inline uint64_t tracker_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t tracker_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The one way a mapped hash table of the tracker grows: *slots (a power
 * of two of them, *mask + 1, each slot_size bytes) is replaced by a table
 * twice as large holding every slot `is_used` accepts, placed by `hash`
 * with linear probing, and the old table is unmapped, or with keeps_old
 * kept for readers without the lock (the new table is published before
 * its mask). Returns 0, or -1 when out of memory with the table
 * unchanged. Lock held.
 */
int tracker_grow_table(void **slots, size_t *mask, size_t slot_size,
		       size_t (*hash)(const void *slot), int (*is_used)(const void *slot), int keeps_old);

/* ------------------------------------------------------------------ */
/* the record buffers and the writer thread: ring.c                     */

/*
 * The allocation path does not take tracker_lock: each thread stages its
 * ALLOC and FREE records, ordered by tracker_seq (stage.c). A record
 * written under the lock must follow every staged one that happened
 * before it, so the lock is taken with tracker_lock_take(), which moves
 * the staged records into the stream first.
 *
 * Buffers are mapped as needed up to MAX_BUFS. A producer waits for a free
 * one only when all are queued, and then at most a second: the writer may
 * itself be waiting for the loader lock that the producer holds (an
 * allocation inside dlopen), so an endless wait could deadlock. A record
 * that still finds no room is dropped and counted in END's "records lost".
 */
#define MAX_BUFS 64

extern pthread_mutex_t tracker_lock;
/*
 * Held while the module list is read and written (tracker_record_modules,
 * which also keeps the last list for a forked child), by the writer
 * while it reads unwind tables (dl_iterate_phdr holds the loader's lock
 * meanwhile, for as long as tracker/walk.c copies them), by a
 * reachability scan while it reads the modules' segments
 * (the collector's thread runs them), and by fork's prepare handler: a
 * child is never forked while a thread of ours holds the loader's lock,
 * which the child's first module scan would wait for forever. Taken
 * before tracker_lock, never under it.
 */
extern pthread_mutex_t tracker_modules_lock;

struct tracker_ring {
	uint8_t *buf[MAX_BUFS];
	void *hc_state;		/* lz4's high-compression state, for the writer (NULL: none) */
	int is_hc_ready;	/* hc_state was made ready in this process */
	size_t len[MAX_BUFS];
	unsigned nbufs;		/* mapped so far */
	unsigned cur;		/* the buffer being filled */
	unsigned queue[MAX_BUFS], qhead, qlen;	/* full buffers, oldest first */
	unsigned spare[MAX_BUFS], nspare;	/* empty buffers */
	uint64_t prev_addr, prev_ip;
	uint32_t tid;		/* thread of the last record in this block */
	uint8_t *out;		/* the writer's compression buffer */
	/* totals for the END record */
	uint64_t n_allocs, n_frees, bytes, lost;
	/* writer control */
	int stop, write_failed, has_writer;
	int live_said;		/* live mode: a failure after END was told */
	uint64_t flush_asked, flush_done;
	pthread_t writer;
	uint64_t now_ms;	/* the writer's clock, ms since the segment began */
	uint32_t threads;	/* threads seen, for AGG_PEAK */
	uint32_t writer_tid;	/* never stopped by a scan: it blocks every signal */
	struct heapmodel *model;	/* --aggregate: the totals kept in the process */
	int draining;		/* tracker_stage_drain() is running */
};

extern struct tracker_ring tracker_ring;
/* set for good in the writer thread: it never waits for itself */
extern __thread int tracker_is_writer __attribute__((tls_model("initial-exec")));

/* take tracker_lock with every record staged so far in the stream first */
static inline void tracker_lock_take(void)
{
	pthread_mutex_lock(&tracker_lock);
	if (__atomic_load_n(&tracker_staged, __ATOMIC_ACQUIRE))
		tracker_stage_drain();
}

/*
 * Queue the buffer being filled (if it holds anything) and start another.
 * With may_wait, wait up to a second for the writer to free one. Returns
 * 0, or -1 when no buffer is free. Lock held.
 */
int tracker_ring_hand_off(int may_wait);
/* empty every buffer and zero the totals for a new segment: 0, or -1 out of memory */
int tracker_ring_reset(void);
/* after fork, in the child: fresh lock and conditions, no writer thread */
void tracker_ring_after_fork(void);
/* a whole record from elsewhere (dropped, and counted lost, if no room); lock held */
void tracker_emit(const uint8_t *data, size_t len);
/* start the writer thread with every signal blocked: 0 or -1 */
int tracker_writer_start(void);
/* let the writer write everything and end, and wait for it; lock not held */
void tracker_writer_stop(void);
/* ask the writer to write everything so far, and wait for it; lock not held */
void tracker_flush_sync(void);
/* write(2) all of p, retrying on EINTR; a zero write is ENOSPC. 0 or -1 with errno */
int tracker_write_all(int fd, const uint8_t *p, size_t len);
/* end tracking and say why once on fd 2 (errnum: a write error on the capture) */
void tracker_stop(const char *why, int errnum);

/*
 * Room for `need` bytes in the buffer being filled, or NULL when the
 * record must be dropped. Lock held.
 */
static inline uint8_t *tracker_reserve(size_t need)
{
	struct tracker_ring *r = &tracker_ring;

	if (r->len[r->cur] + need <= BUF_SIZE)
		return r->buf[r->cur] + r->len[r->cur];
	if (tracker_ring_hand_off(!tracker_is_writer) < 0) {
		r->lost++;
		return NULL;
	}
	return r->buf[r->cur];
}

/* the record reserved ends at `end`; lock held */
static inline void tracker_commit(uint8_t *end)
{
	tracker_ring.len[tracker_ring.cur] = (size_t)(end - tracker_ring.buf[tracker_ring.cur]);
}

/* reserve room for a thread-specific record, with a THREAD switch if needed */
static inline uint8_t *tracker_reserve_for_thread(size_t need, uint32_t tid)
{
	uint8_t *p = tracker_reserve(need + 1 + CODEC_VARINT_MAX);

	if (p && tracker_ring.tid != tid) {
		*p++ = CAPTURE_REC_THREAD;
		p = codec_put_varint(p, tid);
		tracker_ring.tid = tid;
	}
	return p;
}

/* ------------------------------------------------------------------ */
/* records: tracker.c writes them, defer.c writes them later            */

/* an ALLOC (after settling an in-flight realloc of the address) or FREE for thread tid; lock held */
void tracker_emit_alloc(void *ptr, size_t size, unsigned kind, uint32_t id, uint32_t tid);
void tracker_emit_free(void *ptr, size_t size, unsigned kind, uint32_t tid);
/* the collector frees the block at ptr, found lost (category): its COLLECT; lock held */
void tracker_emit_collect(void *ptr, unsigned category);

/* the old blocks of reallocs under way: under tracker_lock */
#define TRACKER_MAX_INFLIGHT 64
struct tracker_inflight {
	struct {
		uintptr_t addr;
		uint32_t tid;
		int is_freed;	/* its FREE is written: another thread got the address */
	} slot[TRACKER_MAX_INFLIGHT];
	unsigned n;
};

extern struct tracker_inflight tracker_inflight;

/* ptr is allocated again: write the FREE of an in-flight realloc's old block there; lock held */
void tracker_inflight_settle(void *ptr);
/*
 * Enter the tracker where a signal handler's calls are parked: tracker_hot
 * counts before the guard is taken (a handler in between records directly).
 * tracker_hot_leave() records what handlers parked and drops both.
 */
static inline void tracker_hot_enter(void)
{
	tracker_hot++;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	tracker_guard++;
}

void tracker_hot_leave(void);

/* ------------------------------------------------------------------ */
/* the loaded modules: modules.c                                         */

/*
 * Write the module set if it changed since the last call (or always, if
 * `force`). Neither lock held: it takes tracker_modules_lock, then
 * tracker_lock to write.
 */
void tracker_record_modules(int force);
/* the loader's counts of modules loaded and unloaded so far (dl_iterate_phdr's adds, subs) */
void tracker_module_counters(unsigned long long c[2]);
/* a new segment: the next tracker_record_modules compares against nothing */
void tracker_modules_reset(void);

/* ------------------------------------------------------------------ */
/* the stack trie and the code table: stacks.c                          */

/*
 * A trie node's key is a return address, or for a Python frame PY_TAG |
 * code id << PY_LINE_BITS | line (user-space addresses never have the top
 * bit set). Python nodes are written as PYFRAME records.
 */
#define PY_TAG (1ull << 63)
#define PY_LINE_BITS 24
#define PY_LINE_MASK ((1ull << PY_LINE_BITS) - 1)

struct trie_entry {
	uint64_t ip;
	uint32_t parent;
	uint32_t id;	/* 0: empty slot */
};

/*
 * Inserts happen under tracker_lock; lookups may run without it
 * (tracker_trie_find). A slot's id is release-stored after its key, and a
 * grown table is published before its mask and the old one is kept
 * mapped, so a lookup without the lock sees whole slots in memory that
 * stays. A reset is a sequence lock: generation is odd while the slots
 * are being cleared, and moves by two each reset.
 */
struct tracker_trie {
	struct trie_entry *slots;
	size_t mask;
	uint32_t count;
	uint32_t generation;	/* even; odd during a reset (fork, a failed exec) */
};

extern struct tracker_trie tracker_trie;

struct code_entry {
	const void *code, *name, *file;	/* a reused address with other names is another code */
	uint32_t id;	/* 0: empty slot */
};

struct tracker_codes {
	struct code_entry *slots;
	size_t mask;
	uint32_t count;
	char text[CAPTURE_STRING_MAX];	/* names being encoded; lock held */
};

extern struct tracker_codes tracker_codes;

/* map the trie (and, for Python, the code table) if not yet: 0 or -1 */
int tracker_stacks_init(void);
/* empty tables, so that a new segment's file defines its own stacks; lock held */
void tracker_stacks_reset(void);
/* the same in a forked child with --follow-fork, the trie back to its first size (one thread) */
void tracker_stacks_after_fork(void);
/*
 * Insert (parent, ip) at free slot j found by the lookup and write its
 * FRAME or PYFRAME record; grows the trie when half full. Returns the id,
 * or `parent` when out of memory (the stack is cut there). Lock held.
 */
uint32_t tracker_trie_insert(size_t j, uint32_t parent, uint64_t ip);
/* insert f's code at free slot j and write its CODE record: the id, 0 out of memory; lock held */
uint32_t tracker_code_insert(size_t j, const struct py_raw *f);

static inline size_t tracker_trie_hash(uint32_t parent, uint64_t ip)
{
	uint64_t h = (ip ^ ((uint64_t)parent << 32 | parent)) * 0x9E3779B97F4A7C15ull;

	return (size_t)(h ^ (h >> 29));
}

static inline size_t tracker_code_hash(const void *code)
{
	uint64_t h = (uint64_t)(uintptr_t)code * 0x9E3779B97F4A7C15ull;

	return (size_t)(h ^ (h >> 31));
}

/* the id of node (parent, ip), written as a FRAME record if new; lock held */
static inline uint32_t tracker_trie_intern(uint32_t parent, uint64_t ip)
{
	const struct tracker_trie *t = &tracker_trie;
	size_t j = tracker_trie_hash(parent, ip) & t->mask;

	for (; t->slots[j].id; j = (j + 1) & t->mask)
		if (t->slots[j].ip == ip && t->slots[j].parent == parent)
			return t->slots[j].id;
	return tracker_trie_insert(j, parent, ip);
}

/*
 * The id of node (parent, ip) without the lock, or 0 if it is not there
 * (or not seen yet: the caller takes the lock and asks again). The probe
 * is bounded: a stale mask on a fuller grown table cannot loop forever.
 */
static inline uint32_t tracker_trie_find(uint32_t parent, uint64_t ip)
{
	size_t mask = __atomic_load_n(&tracker_trie.mask, __ATOMIC_ACQUIRE);
	const struct trie_entry *slots = __atomic_load_n(&tracker_trie.slots, __ATOMIC_ACQUIRE);
	size_t j = tracker_trie_hash(parent, ip) & mask;

	for (size_t tries = 0; tries <= mask; tries++, j = (j + 1) & mask) {
		uint32_t id = __atomic_load_n(&slots[j].id, __ATOMIC_ACQUIRE);

		if (!id)
			return 0;
		if (slots[j].ip == ip && slots[j].parent == parent)
			return id;
	}
	return 0;
}

/* the id of f's code object, written as a CODE record if new; 0 when out of memory; lock held */
static inline uint32_t tracker_code_intern(const struct py_raw *f)
{
	const struct tracker_codes *c = &tracker_codes;
	size_t j = tracker_code_hash(f->code) & c->mask;

	for (; c->slots[j].id; j = (j + 1) & c->mask) {
		const struct code_entry *e = &c->slots[j];

		if (e->code == f->code && e->name == f->name && e->file == f->file)
			return e->id;
	}
	return tracker_code_insert(j, f);
}

/* ------------------------------------------------------------------ */
/* per-thread state: the last stack seen and its node ids (stacks.c)    */

struct thread_state {
	struct tracker_stage stage;	/* first: the mapping is page-aligned */
	uint32_t tid;
	uint32_t generation;	/* trie generation the cache belongs to */
	int depth;		/* frames of the cached stack */
	uintptr_t *ips;		/* cached stack, innermost first, ips[0..depth) */
	uintptr_t *ips_base;	/* the buffer ips points into */
	uintptr_t *scratch;	/* where the next stack is unwound */
	uint32_t *ids;		/* ids[d]: node of the cached stack at depth d from the root */
	uintptr_t *native;	/* native frames waiting to be merged with Python's */
	/*
	 * The last Python stack read (innermost first) and each frame's trie
	 * value (PY_TAG | code id | line, 0 for a frame not started); the
	 * next is read into the scratch pair. A frame whose code and
	 * instruction did not change since, counted from the root, keeps its
	 * value: no line lookup, no code lookup.
	 */
	struct py_raw *py, *py_scratch;
	uint64_t *py_values, *py_values_scratch;
	int py_depth;
	struct thread_state *next_free;
	struct thread_state *all_next;	/* every state ever made, for the drain; under lock */
	struct walk_log walk;	/* tracker/walk.h: its last walk */
};

/* every thread state, newest first, and how many; under lock */
extern struct thread_state *tracker_all_states;
extern size_t tracker_state_count;

extern __thread struct thread_state *tracker_self_state __attribute__((tls_model("initial-exec")));

/* create the key whose destructor keeps an ended thread's state for reuse: 0 or -1 */
int tracker_thread_states_init(void);
/* the calling thread's first allocation: a reused or new state, or NULL */
struct thread_state *tracker_thread_state_new(void);

static inline struct thread_state *tracker_thread_state(void)
{
	struct thread_state *ts = tracker_self_state;

	return ts ? ts : tracker_thread_state_new();
}

static inline uint32_t tracker_current_tid(void)
{
	struct thread_state *ts = tracker_self_state;

	return ts ? ts->tid : (uint32_t)syscall(SYS_gettid);
}

/* frames of ts->scratch + first (n of them) shared with the thread's cached stack, from the root */
static inline int tracker_stack_same(const struct thread_state *ts, uint32_t generation, int first, int n)
{
	int same = 0, old = ts->generation == generation ? ts->depth : 0;
	const uintptr_t *now = ts->scratch + first;

	while (same < n && same < old && now[n - 1 - same] == ts->ips[old - 1 - same])
		same++;
	return same == n && n == old ? -1 : same;	/* -1: the very same stack */
}

/* the fresh stack becomes the thread's cached one (its ids are in ts->ids) */
static inline uint32_t tracker_stack_keep(struct thread_state *ts, uint32_t generation, int first, int n)
{
	uintptr_t *base = ts->scratch;

	ts->scratch = ts->ips_base;
	ts->ips_base = base;
	ts->ips = base + first;
	ts->depth = n;
	ts->generation = generation;
	return n ? ts->ids[n - 1] : 0;
}

/*
 * The stack id of the freshly unwound stack (lock held). Frames shared
 * with the thread's previous stack, counted from the root, reuse its ids.
 */
static inline uint32_t tracker_stack_id(struct thread_state *ts, int first, int n)
{
	uint32_t generation = tracker_trie.generation;
	const uintptr_t *now = ts->scratch + first;
	int same = tracker_stack_same(ts, generation, first, n);

	if (same < 0)
		return n ? ts->ids[n - 1] : 0;
	for (int d = same; d < n; d++)
		ts->ids[d] = tracker_trie_intern(d ? ts->ids[d - 1] : 0, now[n - 1 - d]);
	return tracker_stack_keep(ts, generation, first, n);
}

/*
 * The same without the lock, when every node is in the trie already
 * (trie generation `generation`, even): the id, or -1 when one is missing
 * and the caller must take the lock. A miss forgets the cached stack, as
 * ids of it may have been overwritten.
 */
static inline int64_t tracker_stack_find(struct thread_state *ts, uint32_t generation, int first, int n)
{
	const uintptr_t *now = ts->scratch + first;
	int same = tracker_stack_same(ts, generation, first, n);

	if (same < 0)
		return n ? ts->ids[n - 1] : 0;
	for (int d = same; d < n; d++) {
		uint32_t id = tracker_trie_find(d ? ts->ids[d - 1] : 0, now[n - 1 - d]);

		if (!id) {
			ts->depth = 0;
			return -1;
		}
		ts->ids[d] = id;
	}
	return tracker_stack_keep(ts, generation, first, n);
}

/*
 * Read the Python stack into ts->py_scratch (outside the lock) and look up
 * the line of each frame that changed since the thread's last stack; its
 * value is completed under the lock by tracker_py_resolve(). Returns the
 * count.
 */
static inline int tracker_py_read(struct thread_state *ts, int *same)
{
	int n = tracker_python_walk(ts->py_scratch, MAX_PY_FRAMES);
	int old = ts->generation == tracker_trie.generation ? ts->py_depth : 0, k = 0;

	while (k < n && k < old) {
		const struct py_raw *a = &ts->py_scratch[n - 1 - k], *b = &ts->py[old - 1 - k];

		if (a->code != b->code || a->instr != b->instr || a->name != b->name || a->file != b->file)
			break;
		ts->py_values_scratch[n - 1 - k] = ts->py_values[old - 1 - k];
		k++;
	}
	for (int i = 0; i < n - k; i++) {
		const struct py_raw *f = &ts->py_scratch[i];

		ts->py_values_scratch[i] = f->code ? tracker_python_line(f) & PY_LINE_MASK : 0;
	}
	*same = k;
	return n;
}

/* give the changed frames their code ids and keep the stack for next time; lock held */
static inline void tracker_py_resolve(struct thread_state *ts, int n, int same)
{
	struct py_raw *raw = ts->py_scratch;
	uint64_t *vals = ts->py_values_scratch;

	for (int i = 0; i < n - same; i++) {
		uint32_t code = raw[i].code ? tracker_code_intern(&raw[i]) : 0;

		vals[i] = code ? PY_TAG | (uint64_t)code << PY_LINE_BITS | vals[i] : 0;
	}
	ts->py_scratch = ts->py;
	ts->py = raw;
	ts->py_values_scratch = ts->py_values;
	ts->py_values = vals;
	ts->py_depth = n;
}

/*
 * The stack to record, into ts->scratch, innermost first: native frames
 * with each interpreter eval frame replaced by the Python frames it runs
 * (those up to and including the next entry frame), or Python frames
 * alone. Lock held, as tracker_py_resolve() ran. Returns the count.
 */
static inline int tracker_py_merge(struct thread_state *ts, int npy, const uintptr_t *native, int nnative)
{
	const uint64_t *vals = ts->py_values;
	uintptr_t *out = ts->scratch;
	int n = 0, k = 0;

	for (int i = 0; i < nnative && n < MAX_FRAMES; i++) {
		if (k < npy && tracker_python_is_eval(native[i])) {
			do {
				if (vals[k] && n < MAX_FRAMES)
					out[n++] = vals[k];
			} while (!ts->py[k++].is_entry && k < npy);
		} else {
			out[n++] = native[i];
		}
	}
	for (; k < npy && n < MAX_FRAMES; k++)	/* Python frames the unwinder did not reach */
		if (vals[k])
			out[n++] = vals[k];
	return n;
}

/*
 * liveidx.c: every live block, with CAPTURE_F_REACHABILITY only, for the
 * reachability scan (reach.c). Under tracker_lock, like the records.
 */
/* 16 bytes: the scan reads the whole table, and the pages it spans cost */
struct live_block {
	uintptr_t addr;		/* 0: empty slot; 1: deleted */
	uint64_t size_kind;	/* the size, and CAPTURE_ALLOC_* in the top byte */
};

#define LIVE_KIND_SHIFT 56
#define LIVE_SIZE(s) ((s)->size_kind & (((uint64_t)1 << LIVE_KIND_SHIFT) - 1))
#define LIVE_KIND(s) ((unsigned)((s)->size_kind >> LIVE_KIND_SHIFT))

struct tracker_live {
	struct live_block *slots;
	size_t mask;		/* slots - 1, a power of two minus one */
	size_t used, tombs;	/* used counts tombstones too */
	size_t count;		/* live blocks */
	int is_incomplete;	/* a block was left out (no memory): no verdicts */
};

extern struct tracker_live tracker_live;

void tracker_live_alloc(void *ptr, size_t size, unsigned kind);
void tracker_live_free(void *ptr, size_t size, unsigned kind);

/*
 * reach.c: stop the other threads, classify every live block and write
 * REACH and REACH_BLOCK records; at exit, before END. Lock not held. Gives
 * up with one line on fd 2 (writing nothing) when it cannot.
 */
void tracker_reach_scan(unsigned occasion);

/*
 * stopworld.c: stop every thread of the process but the caller and the
 * writer, each in a signal handler that saved its registers and waits.
 */
struct stopped_thread {
	uint32_t tid;
	int is_stopped;		/* its handler saved the figures below */
	uintptr_t sp;		/* where it was interrupted */
	uintptr_t tp;		/* its thread pointer (TLS) */
	uintptr_t regs[32];	/* its general registers as the signal saved them */
	unsigned nregs;
};

/*
 * Stop them: 0 with *threads, *n (mapped, valid until the next stop), or
 * -1 after saying why on fd 2 (nothing stays stopped). Lock not held.
 */
int tracker_world_stop(struct stopped_thread **threads, size_t *n);
/* let them run again */
void tracker_world_resume(void);
/* the thread pointer of the calling thread */
uintptr_t tracker_thread_pointer(void);

/* window.c: the open test's figures, kept in-process; all under tracker_lock */
void tracker_window_alloc(void *ptr, size_t size, uint32_t tid);
void tracker_window_free(void *ptr, size_t size, unsigned kind);
void tracker_window_mark(unsigned kind, uint32_t tid);
/* a test window is open (a hint, read without the lock) */
int tracker_window_is_open(void);
/* the open window made the live block at addr; lock held */
int tracker_window_holds(uintptr_t addr);

#endif
