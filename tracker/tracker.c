/*
 * tracker/tracker: state, stacks, encoding and the writer thread.
 * The design and its rules are in tracker.h.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "capture/block.h"
#include "capture/codec.h"
#include "capture/format.h"
#include "capture/header.h"
#include "common/strbuf.h"
#include "capture/heapmodel.h"
#include "tracker/python.h"
#include "tracker/tracker.h"

extern char **environ;

__thread int tracker_guard __attribute__((tls_model("initial-exec")));
volatile int tracker_active;

#define BUF_SIZE (512u * 1024)
#define RECORD_MAX 64	/* the largest ALLOC/FREE/FRAME/THREAD record */
#define MAX_FRAMES 16384
#define MAX_PY_FRAMES 4096
#define PATH_MAX_LEN 4096

/* ------------------------------------------------------------------ */
/* configuration, fixed at start (and after fork)                      */

static struct {
	char output[PATH_MAX_LEN];	/* this process's capture */
	char root_output[PATH_MAX_LEN];
	char lib[PATH_MAX_LEN];
	unsigned long root_pid;
	unsigned flags;
	pid_t pid;		/* the process the state belongs to */
	int fd;
	int statm_fd;
	uint64_t start_mono_ns;
	uintptr_t self_lo, self_hi;	/* our own code, skipped in stacks */
	int has_python;		/* Python frames are read (tracker/python) */
	int wants_native;	/* native frames too: not Python, or --native */
} cfg = { .fd = -1, .statm_fd = -1 };

void tracker_say(const char *msg, const char *detail)
{
	char line[1024];
	size_t n = 0;

#define ADD(s)                                                  \
	for (const char *q = (s); *q && n < sizeof(line) - 2; q++) \
		line[n++] = *q;
	ADD("memray: ");
	ADD(msg);
	if (detail) {
		ADD(": ");
		ADD(detail);
	}
#undef ADD
	line[n++] = '\n';
	if (write(2, line, n) < 0) {
		/* nothing more we can do */
	}
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *map_zero(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* ------------------------------------------------------------------ */
/* the record buffers: filled under `lock`, queued, drained by the writer */

/*
 * Buffers are mapped as needed up to MAX_BUFS. A producer waits for a free
 * one only when all are queued, and then at most a second: the writer may
 * itself be waiting for the loader lock that the producer holds (an
 * allocation inside dlopen), so an endless wait could deadlock. A record
 * that still finds no room is dropped and counted in END's "records lost".
 */
#define MAX_BUFS 64

/* adaptive: spins briefly before sleeping, as the critical sections are short */
static pthread_mutex_t lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
static pthread_cond_t cv_work = PTHREAD_COND_INITIALIZER;	/* writer waits here */
static pthread_cond_t cv_space = PTHREAD_COND_INITIALIZER;	/* producers wait here */

static struct {
	uint8_t *buf[MAX_BUFS];
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
	uint64_t flush_asked, flush_done;
	pthread_t writer;
	uint64_t now_ms;	/* the writer's clock, ms since the segment began */
	uint32_t threads;	/* threads seen, for AGG_PEAK */
	struct heapmodel *model;	/* --aggregate: the totals kept in the process */
} ring;

static void block_reset(void)
{
	ring.len[ring.cur] = 0;
	ring.prev_addr = ring.prev_ip = 0;
	ring.tid = 0;
}

/* an empty buffer, or -1; lock held */
static int take_spare(void)
{
	if (ring.nspare)
		return (int)ring.spare[--ring.nspare];
	if (ring.nbufs < MAX_BUFS && (ring.buf[ring.nbufs] = map_zero(BUF_SIZE)))
		return (int)ring.nbufs++;
	return -1;
}

/* queue the buffer being filled (if it holds anything) and start another */
static int hand_off_current(int may_wait)
{
	int next;

	if (!ring.len[ring.cur])
		return 0;
	next = take_spare();
	if (next < 0 && may_wait && ring.has_writer) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		while ((next = take_spare()) < 0 && ring.has_writer)
			if (pthread_cond_timedwait(&cv_space, &lock, &until))
				break;
	}
	if (next < 0)
		return -1;
	ring.queue[(ring.qhead + ring.qlen++) % MAX_BUFS] = ring.cur;
	ring.cur = (unsigned)next;
	block_reset();
	pthread_cond_signal(&cv_work);
	return 0;
}

/*
 * Room for `need` bytes in the buffer being filled, or NULL when the
 * record must be dropped. Called with the lock held.
 */
static uint8_t *reserve(size_t need)
{
	if (ring.len[ring.cur] + need <= BUF_SIZE)
		return ring.buf[ring.cur] + ring.len[ring.cur];
	if (hand_off_current(1) < 0) {
		ring.lost++;
		return NULL;
	}
	return ring.buf[ring.cur];
}

static void commit(uint8_t *end)
{
	ring.len[ring.cur] = (size_t)(end - ring.buf[ring.cur]);
}

static uint32_t current_tid(void);
static void stop_tracking(const char *why, int errnum);

/* reserve room for a thread-specific record, with a THREAD switch if needed */
static uint8_t *reserve_for_thread(size_t need, uint32_t tid)
{
	uint8_t *p = reserve(need + 1 + CODEC_VARINT_MAX);

	if (p && ring.tid != tid) {
		*p++ = CAPTURE_REC_THREAD;
		p = codec_put_varint(p, tid);
		ring.tid = tid;
	}
	return p;
}

/* a whole record from elsewhere; lock held */
static void emit_bytes(const uint8_t *data, size_t len)
{
	uint8_t *p = len <= BUF_SIZE ? reserve(len) : NULL;

	if (!p)
		return;
	memcpy(p, data, len);
	commit(p + len);
}

/* ------------------------------------------------------------------ */
/* the stack trie: (parent id, ip) -> id, in mapped memory              */

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

static struct {
	struct trie_entry *slots;
	size_t mask;
	uint32_t count;
	uint32_t generation;	/* bumped when the trie is reset (fork) */
} trie;

static inline size_t trie_hash(uint32_t parent, uint64_t ip)
{
	uint64_t h = (ip ^ ((uint64_t)parent << 32 | parent)) * 0x9E3779B97F4A7C15ull;

	return (size_t)(h ^ (h >> 29));
}

static int trie_init(size_t slots)
{
	trie.slots = map_zero(slots * sizeof(struct trie_entry));
	if (!trie.slots)
		return -1;
	trie.mask = slots - 1;
	trie.count = 0;
	return 0;
}

static int trie_grow(void)
{
	struct trie_entry *old = trie.slots;
	size_t old_slots = trie.mask + 1;
	uint32_t count = trie.count;

	if (trie_init(old_slots * 2) < 0) {
		trie.slots = old;
		return -1;
	}
	trie.count = count;
	for (size_t i = 0; i < old_slots; i++) {
		if (!old[i].id)
			continue;
		size_t j = trie_hash(old[i].parent, old[i].ip) & trie.mask;
		while (trie.slots[j].id)
			j = (j + 1) & trie.mask;
		trie.slots[j] = old[i];
	}
	munmap(old, old_slots * sizeof(struct trie_entry));
	return 0;
}

/* the id of node (parent, ip), written as a FRAME record if new; lock held */
static uint32_t trie_intern(uint32_t parent, uint64_t ip)
{
	size_t j = trie_hash(parent, ip) & trie.mask;
	uint8_t *p;

	for (; trie.slots[j].id; j = (j + 1) & trie.mask)
		if (trie.slots[j].ip == ip && trie.slots[j].parent == parent)
			return trie.slots[j].id;
	if ((trie.count + 1) * 2 > trie.mask + 1) {
		if (trie_grow() < 0)
			return parent;	/* out of memory: the stack is cut here */
		return trie_intern(parent, ip);
	}
	trie.slots[j].ip = ip;
	trie.slots[j].parent = parent;
	trie.slots[j].id = ++trie.count;
	p = reserve(RECORD_MAX);
	if (!p)
		return trie.count;	/* counted as lost; the reader will see a bad id */
	if (ip & PY_TAG) {
		*p++ = CAPTURE_REC_PYFRAME;
		p = codec_put_varint(p, parent);
		p = codec_put_varint(p, (ip & ~PY_TAG) >> PY_LINE_BITS);
		p = codec_put_varint(p, ip & PY_LINE_MASK);
	} else {
		*p++ = CAPTURE_REC_FRAME;
		p = codec_put_varint(p, parent);
		p = codec_put_svarint(p, (int64_t)(ip - ring.prev_ip));
		ring.prev_ip = ip;
	}
	commit(p);
	return trie.count;
}

/* ------------------------------------------------------------------ */
/* Python code objects: pointer -> id, each written once as a CODE record */

struct code_entry {
	const void *code, *name, *file;	/* a reused address with other names is another code */
	uint32_t id;	/* 0: empty slot */
};

static struct {
	struct code_entry *slots;
	size_t mask;
	uint32_t count;
	char text[CAPTURE_STRING_MAX];	/* names being encoded; lock held */
} codes;

static inline size_t code_hash(const void *code)
{
	uint64_t h = (uint64_t)(uintptr_t)code * 0x9E3779B97F4A7C15ull;

	return (size_t)(h ^ (h >> 31));
}

static int codes_init(size_t slots)
{
	codes.slots = map_zero(slots * sizeof(struct code_entry));
	if (!codes.slots)
		return -1;
	codes.mask = slots - 1;
	return 0;
}

static int codes_grow(void)
{
	struct code_entry *old = codes.slots;
	size_t old_slots = codes.mask + 1;

	if (codes_init(old_slots * 2) < 0) {
		codes.slots = old;
		return -1;
	}
	for (size_t i = 0; i < old_slots; i++) {
		size_t j;

		if (!old[i].id)
			continue;
		for (j = code_hash(old[i].code) & codes.mask; codes.slots[j].id; j = (j + 1) & codes.mask)
			;
		codes.slots[j] = old[i];
	}
	munmap(old, old_slots * sizeof(struct code_entry));
	return 0;
}

/* append a string field copied by `copy` from a code object */
static uint8_t *put_code_string(uint8_t *p, const void *code, size_t (*copy)(const void *, char *, size_t))
{
	size_t n = copy(code, codes.text, sizeof(codes.text));

	return codec_put_string(p, codes.text, n, CAPTURE_STRING_MAX);
}

/* the id of f's code object, written as a CODE record if new; 0 when out of memory; lock held */
static uint32_t code_intern(const struct py_raw *f)
{
	size_t j = code_hash(f->code) & codes.mask;
	uint8_t *p;

	for (; codes.slots[j].id; j = (j + 1) & codes.mask) {
		const struct code_entry *e = &codes.slots[j];

		if (e->code == f->code && e->name == f->name && e->file == f->file)
			return e->id;
	}
	if ((codes.count + 1) * 2 > codes.mask + 1) {
		if (codes_grow() < 0)
			return 0;
		return code_intern(f);
	}
	p = reserve(1 + 3 * CODEC_VARINT_MAX + 2 * (CODEC_VARINT_MAX + CAPTURE_STRING_MAX));
	if (!p)
		return 0;
	codes.slots[j] = (struct code_entry){ f->code, f->name, f->file, ++codes.count };
	*p++ = CAPTURE_REC_CODE;
	p = codec_put_varint(p, codes.count);
	p = put_code_string(p, f->code, tracker_python_name);
	p = put_code_string(p, f->code, tracker_python_file);
	p = codec_put_varint(p, tracker_python_first_line(f->code));
	commit(p);
	return codes.count;
}

/* ------------------------------------------------------------------ */
/* per-thread state: the last stack seen and its node ids                */

struct thread_state {
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
};

static __thread struct thread_state *self_state __attribute__((tls_model("initial-exec")));
static struct thread_state *free_states;	/* reused after threads end; under lock */
static pthread_key_t state_key;

static size_t state_bytes(void)
{
	return sizeof(struct thread_state) + MAX_FRAMES * (3 * sizeof(uintptr_t) + sizeof(uint32_t)) +
	       MAX_PY_FRAMES * 2 * (sizeof(struct py_raw) + sizeof(uint64_t));
}

static void state_release(void *arg)
{
	struct thread_state *ts = arg;

	tracker_guard++;
	pthread_mutex_lock(&lock);
	ts->next_free = free_states;
	free_states = ts;
	pthread_mutex_unlock(&lock);
	self_state = NULL;
	tracker_guard--;
}

static struct thread_state *thread_state(void)
{
	struct thread_state *ts = self_state;

	if (ts)
		return ts;
	pthread_mutex_lock(&lock);
	ts = free_states;
	if (ts)
		free_states = ts->next_free;
	pthread_mutex_unlock(&lock);
	if (!ts) {
		char *mem = map_zero(state_bytes());

		if (!mem)
			return NULL;
		ts = (struct thread_state *)mem;
		ts->ips = ts->ips_base = (uintptr_t *)(mem + sizeof(*ts));
		ts->scratch = ts->ips + MAX_FRAMES;
		ts->native = ts->scratch + MAX_FRAMES;
		ts->py = (struct py_raw *)(ts->native + MAX_FRAMES);
		ts->py_scratch = ts->py + MAX_PY_FRAMES;
		ts->py_values = (uint64_t *)(ts->py_scratch + MAX_PY_FRAMES);
		ts->py_values_scratch = ts->py_values + MAX_PY_FRAMES;
		ts->ids = (uint32_t *)(ts->py_values_scratch + MAX_PY_FRAMES);
	}
	ts->tid = (uint32_t)syscall(SYS_gettid);
	__atomic_fetch_add(&ring.threads, 1, __ATOMIC_RELAXED);
	ts->depth = ts->py_depth = 0;
	ts->generation = trie.generation - 1;
	self_state = ts;
	pthread_setspecific(state_key, ts);
	return ts;
}

static uint32_t current_tid(void)
{
	struct thread_state *ts = self_state;

	return ts ? ts->tid : (uint32_t)syscall(SYS_gettid);
}

/*
 * Unwind the calling thread (outside the lock) into buf, innermost
 * first. Returns the frame count after the tracker's own frames, which
 * *first skips.
 */
static int unwind(uintptr_t *buf, int *first)
{
	int n = unw_backtrace((void **)buf, MAX_FRAMES);
	int skip = 0;

	while (skip < n && buf[skip] >= cfg.self_lo && buf[skip] < cfg.self_hi)
		skip++;
	*first = skip;
	return n - skip;
}

/*
 * The stack id of the freshly unwound stack (lock held). Frames shared
 * with the thread's previous stack, counted from the root, reuse its ids.
 */
static uint32_t stack_id(struct thread_state *ts, int first, int n)
{
	int same = 0, old = ts->generation == trie.generation ? ts->depth : 0;
	const uintptr_t *now = ts->scratch + first;
	uintptr_t *base;

	while (same < n && same < old && now[n - 1 - same] == ts->ips[old - 1 - same])
		same++;
	if (same == n && n == old)
		return n ? ts->ids[n - 1] : 0;
	for (int d = same; d < n; d++)
		ts->ids[d] = trie_intern(d ? ts->ids[d - 1] : 0, now[n - 1 - d]);
	base = ts->scratch;
	ts->scratch = ts->ips_base;
	ts->ips_base = base;
	ts->ips = base + first;
	ts->depth = n;
	ts->generation = trie.generation;
	return n ? ts->ids[n - 1] : 0;
}

/* ------------------------------------------------------------------ */
/* the hot path                                                          */

/*
 * Read the Python stack into ts->py_scratch (outside the lock) and look up
 * the line of each frame that changed since the thread's last stack; its
 * value is completed under the lock by py_resolve(). Returns the count.
 */
static int py_read(struct thread_state *ts, int *same)
{
	int n = tracker_python_walk(ts->py_scratch, MAX_PY_FRAMES);
	int old = ts->generation == trie.generation ? ts->py_depth : 0, k = 0;

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
static void py_resolve(struct thread_state *ts, int n, int same)
{
	struct py_raw *raw = ts->py_scratch;
	uint64_t *vals = ts->py_values_scratch;

	for (int i = 0; i < n - same; i++) {
		uint32_t code = raw[i].code ? code_intern(&raw[i]) : 0;

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
 * alone. Lock held, as py_resolve() ran. Returns the count.
 */
static int py_merge(struct thread_state *ts, int npy, const uintptr_t *native, int nnative)
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

void tracker_record_alloc(void *ptr, size_t size, unsigned kind)
{
	struct thread_state *ts;
	uint8_t *p;
	uint32_t id;
	int n = 0, first = 0, npy = 0, same = 0, nnative = 0;

	tracker_guard++;
	ts = thread_state();
	if (!ts)
		goto out;
	if (cfg.has_python)
		npy = py_read(ts, &same);
	if (!npy)
		n = unwind(ts->scratch, &first);	/* no Python: native frames */
	else if (cfg.wants_native)
		nnative = unwind(ts->native, &first);
	pthread_mutex_lock(&lock);
	if (!tracker_active)
		goto unlock;
	if (npy) {
		py_resolve(ts, npy, same);
		n = py_merge(ts, npy, ts->native + first, nnative);
		first = 0;
	}
	id = stack_id(ts, first, n);
	ring.n_allocs++;
	ring.bytes += size;
	if (cfg.flags & CAPTURE_F_AGGREGATE) {
		if (heapmodel_alloc(ring.model, (uintptr_t)ptr, size, id, kind, ring.now_ms) < 0)
			stop_tracking("out of memory for --aggregate tables", 0);
		goto unlock;
	}
	p = reserve_for_thread(RECORD_MAX, ts->tid);
	if (!p)
		goto unlock;
	*p++ = (uint8_t)(CAPTURE_REC_ALLOC + kind);
	p = codec_put_svarint(p, (int64_t)((uintptr_t)ptr - ring.prev_addr));
	p = codec_put_varint(p, size);
	p = codec_put_varint(p, id);
	commit(p);
	ring.prev_addr = (uintptr_t)ptr;
unlock:
	pthread_mutex_unlock(&lock);
out:
	tracker_guard--;
}

void tracker_record_free(void *ptr, size_t size, unsigned kind)
{
	uint32_t tid;
	uint8_t *p;

	tracker_guard++;
	tid = current_tid();
	pthread_mutex_lock(&lock);
	if (tracker_active && (cfg.flags & CAPTURE_F_AGGREGATE)) {
		ring.n_frees++;
		if (heapmodel_free_block(ring.model, (uintptr_t)ptr, size, kind) < 0)
			stop_tracking("out of memory for --aggregate tables", 0);
	} else if (tracker_active && (p = reserve_for_thread(RECORD_MAX, tid))) {
		*p++ = (uint8_t)(CAPTURE_REC_FREE + kind);
		p = codec_put_svarint(p, (int64_t)((uintptr_t)ptr - ring.prev_addr));
		if (kind == CAPTURE_ALLOC_MUNMAP)
			p = codec_put_varint(p, size);
		commit(p);
		ring.prev_addr = (uintptr_t)ptr;
		ring.n_frees++;
	}
	pthread_mutex_unlock(&lock);
	tracker_guard--;
}

static void record_string_pair(unsigned type, uint64_t num, const char *s)
{
	uint8_t tmp[CAPTURE_STRING_MAX + 32], *p = tmp;
	uint32_t tid = current_tid();

	*p++ = (uint8_t)type;
	p = codec_put_varint(p, num);
	p = codec_put_string(p, s, strlen(s), CAPTURE_STRING_MAX);
	pthread_mutex_lock(&lock);
	if (tracker_active) {
		uint8_t *q = reserve_for_thread((size_t)(p - tmp), tid);

		if (!q)
			goto unlock;
		memcpy(q, tmp, (size_t)(p - tmp));
		commit(q + (p - tmp));
	}
unlock:
	pthread_mutex_unlock(&lock);
}

void tracker_record_thread_name(const char *name)
{
	tracker_guard++;
	record_string_pair(CAPTURE_REC_THREAD_NAME, current_tid(), name);
	tracker_guard--;
}

void tracker_record_marker(unsigned kind, const char *label)
{
	tracker_guard++;
	record_string_pair(CAPTURE_REC_MARKER, kind, label);
	tracker_guard--;
}

/* ------------------------------------------------------------------ */
/* modules: the loaded ELF objects, re-read when the loader's counters move */

static struct {
	unsigned long long adds, subs;
	uint64_t generation;
} mods;

struct module_scan {
	struct strbuf out;	/* encoded MODULE records, each after its size_t length */
	unsigned long long adds, subs;
	char exe[PATH_MAX_LEN];
};

static void note_build_id(const struct dl_phdr_info *info, const uint8_t **id, size_t *len)
{
	*id = NULL;
	*len = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const uint8_t *p, *end;

		if (ph->p_type != PT_NOTE)
			continue;
		p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const uint8_t *name = p + sizeof(*nh);
			const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);

			if (desc + nh->n_descsz > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4)) {
				*id = desc;
				*len = nh->n_descsz;
				return;
			}
			p = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
}

static int scan_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct module_scan *scan = arg;
	const char *path = info->dlpi_name;
	uint8_t tmp[CAPTURE_STRING_MAX * 2 + 64 * 24], *p = tmp;
	const uint8_t *build_id;
	size_t id_len;
	unsigned nload = 0;

	(void)size;
	scan->adds = info->dlpi_adds;
	scan->subs = info->dlpi_subs;
	if (!path || !*path)
		path = scan->exe;	/* the main program */
	if (path[0] != '/')
		return 0;	/* the vdso: nothing to read later */
	note_build_id(info, &build_id, &id_len);
	if (id_len > 64)
		id_len = 64;
	*p++ = CAPTURE_REC_MODULE;
	p = codec_put_string(p, path, strlen(path), CAPTURE_STRING_MAX);
	p = codec_put_varint(p, info->dlpi_addr);
	p = codec_put_string(p, (const char *)build_id, id_len, 64);
	for (int i = 0; i < info->dlpi_phnum; i++)
		nload += info->dlpi_phdr[i].p_type == PT_LOAD;
	if (nload > 64)
		nload = 64;
	p = codec_put_varint(p, nload);
	for (int i = 0, k = 0; i < info->dlpi_phnum && k < 64; i++) {
		if (info->dlpi_phdr[i].p_type != PT_LOAD)
			continue;
		p = codec_put_varint(p, info->dlpi_phdr[i].p_vaddr);
		p = codec_put_varint(p, info->dlpi_phdr[i].p_memsz);
		k++;
	}
	/* each record behind its length, so the lock holder can hand them out one by one */
	size_t len = (size_t)(p - tmp);
	strbuf_add(&scan->out, &len, sizeof(len));
	strbuf_add(&scan->out, tmp, len);
	return 0;
}

static int counters_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	unsigned long long *c = arg;

	(void)size;
	c[0] = info->dlpi_adds;
	c[1] = info->dlpi_subs;
	return 1;
}

/*
 * Write the module set if it changed since the last call (or always, if
 * `force`). Runs without the lock: dl_iterate_phdr takes the loader's.
 */
static void record_modules(int force)
{
	unsigned long long c[2] = { 0, 0 };
	struct module_scan scan;
	uint8_t head[1 + CODEC_VARINT_MAX];

	dl_iterate_phdr(counters_one, c);
	if (!force && c[0] == mods.adds && c[1] == mods.subs)
		return;
	strbuf_init(&scan.out, 0);
	ssize_t n = readlink("/proc/self/exe", scan.exe, sizeof(scan.exe) - 1);
	scan.exe[n > 0 ? n : 0] = '\0';
	dl_iterate_phdr(scan_one, &scan);
	pthread_mutex_lock(&lock);
	if (tracker_active) {
		head[0] = CAPTURE_REC_MODULES;
		emit_bytes(head, (size_t)(codec_put_varint(head + 1, ++mods.generation) - head));
		/* MODULE records one by one: each fits a block, the set may not */
		for (size_t off = 0; off + sizeof(size_t) <= scan.out.len;) {
			size_t len;

			memcpy(&len, scan.out.buf + off, sizeof(len));
			off += sizeof(len);
			emit_bytes((uint8_t *)scan.out.buf + off, len);
			off += len;
		}
	}
	pthread_mutex_unlock(&lock);
	mods.adds = c[0];
	mods.subs = c[1];
	strbuf_release(&scan.out);
}

/* ------------------------------------------------------------------ */
/* the writer thread                                                     */

static void stop_tracking(const char *why, int errnum)
{
	if (!tracker_active)
		return;
	tracker_active = 0;
	if (errnum) {
		char detail[PATH_MAX_LEN + 128];

		snprintf(detail, sizeof(detail), "cannot write %s: %s", cfg.output, strerror(errnum));
		tracker_say("tracking stopped", detail);
	} else {
		tracker_say("tracking stopped", why);
	}
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static uint64_t read_rss(void)
{
	char buf[128];
	unsigned long size, resident;
	ssize_t n;

	if (cfg.statm_fd < 0)
		return 0;
	n = pread(cfg.statm_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%lu %lu", &size, &resident) != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* write out every queued buffer; lock held on entry and exit */
static void drain(void)
{
	while (ring.qlen) {
		unsigned idx = ring.queue[ring.qhead];
		size_t len = ring.len[idx];

		pthread_mutex_unlock(&lock);
		if (len && !ring.write_failed) {
			size_t n = capture_block_encode(ring.out, ring.buf[idx], len,
							cfg.flags & CAPTURE_F_LZ4);
			if (write_all(cfg.fd, ring.out, n) < 0) {
				ring.write_failed = 1;
				stop_tracking(NULL, errno);
			}
		}
		pthread_mutex_lock(&lock);
		ring.len[idx] = 0;
		ring.qhead = (ring.qhead + 1) % MAX_BUFS;
		ring.qlen--;
		ring.spare[ring.nspare++] = idx;
		pthread_cond_broadcast(&cv_space);
	}
}

static void *writer_main(void *arg)
{
	unsigned interval_ms = 10;
	uint64_t asked;

	(void)arg;
	tracker_guard = 1;	/* for good: nothing this thread does is tracked */
	for (;;) {
		uint8_t rec[1 + 2 * CODEC_VARINT_MAX], *p = rec;
		uint64_t rss = read_rss();
		uint64_t ms = (mono_ns() - cfg.start_mono_ns) / 1000000u;

		if (tracker_active)
			record_modules(0);
		pthread_mutex_lock(&lock);
		ring.now_ms = ms;
		if (tracker_active) {
			*p++ = CAPTURE_REC_MEMORY;
			p = codec_put_varint(p, ms);
			p = codec_put_varint(p, rss);
			emit_bytes(rec, (size_t)(p - rec));
		}
		asked = ring.flush_asked;
		hand_off_current(0);
		drain();
		ring.flush_done = asked;
		pthread_cond_broadcast(&cv_space);
		if (ring.stop) {
			hand_off_current(0);
			drain();
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		if (ring.flush_asked == asked) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += (long)interval_ms * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			if (!ring.qlen && !ring.stop)
				pthread_cond_timedwait(&cv_work, &lock, &until);
		}
		pthread_mutex_unlock(&lock);
	}
}

static int start_writer(void)
{
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&ring.writer, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ring.has_writer = !ret;
	return ret ? -1 : 0;
}

/* ask the writer to write everything so far, and wait for it; lock not held */
static void flush_sync(void)
{
	pthread_mutex_lock(&lock);
	if (ring.has_writer) {
		uint64_t want = ++ring.flush_asked;

		pthread_cond_signal(&cv_work);
		while (ring.flush_done < want && ring.has_writer)
			pthread_cond_wait(&cv_space, &lock);
	}
	pthread_mutex_unlock(&lock);
}

/* ------------------------------------------------------------------ */
/* segments, start and end                                               */

static void record_segment(unsigned kind)
{
	struct strbuf rec = STRBUF_INIT;
	char exe[PATH_MAX_LEN];
	uint8_t tmp[CODEC_VARINT_MAX * 4];
	struct strbuf args = STRBUF_INIT;
	int fd, argc = 0;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = '\0';
	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		strbuf_read_fd(&args, fd);
		close(fd);
	}
	for (size_t i = 0; i < args.len; i++)
		argc += args.buf[i] == '\0';
	if (argc > CAPTURE_ARGS_MAX)
		argc = CAPTURE_ARGS_MAX;
	strbuf_addch(&rec, CAPTURE_REC_SEGMENT);
	uint8_t *p = tmp;
	p = codec_put_varint(p, (uint64_t)getpid());
	p = codec_put_varint(p, (uint64_t)getppid());
	p = codec_put_varint(p, real_ns());
	p = codec_put_varint(p, kind);
	strbuf_add(&rec, tmp, (size_t)(p - tmp));
	p = codec_put_varint(tmp, strlen(exe));
	strbuf_add(&rec, tmp, (size_t)(p - tmp));
	strbuf_addstr(&rec, exe);
	p = codec_put_varint(tmp, (uint64_t)argc);
	strbuf_add(&rec, tmp, (size_t)(p - tmp));
	const char *a = args.buf;
	for (int i = 0; i < argc && rec.len < BUF_SIZE / 2; i++) {
		size_t len = strlen(a);

		if (len > CAPTURE_STRING_MAX)
			len = CAPTURE_STRING_MAX;
		p = codec_put_varint(tmp, len);
		strbuf_add(&rec, tmp, (size_t)(p - tmp));
		strbuf_add(&rec, a, len);
		a += strlen(a) + 1;
	}
	pthread_mutex_lock(&lock);
	if (rec.len <= BUF_SIZE / 2)
		emit_bytes((uint8_t *)rec.buf, rec.len);
	pthread_mutex_unlock(&lock);
	strbuf_release(&rec);
	strbuf_release(&args);
}

/* --aggregate: the AGG_STACK and AGG_PEAK records; lock held */
static void write_aggregate(void)
{
	struct heapmodel *hm = ring.model;
	uint8_t rec[1 + (3 + HEAPMODEL_BUCKETS) * CODEC_VARINT_MAX], *p;

	heapmodel_finish(hm);
	for (size_t i = 0; i < hm->nentries; i++) {
		const struct heapmodel_entry *e = &hm->entries[i];

		p = rec;
		*p++ = CAPTURE_REC_AGG_STACK;
		p = codec_put_varint(p, e->stack);
		p = codec_put_varint(p, e->kind);
		p = codec_put_varint(p, e->allocs);
		p = codec_put_varint(p, e->bytes);
		p = codec_put_varint(p, e->peak_count);
		p = codec_put_varint(p, e->peak_bytes);
		p = codec_put_varint(p, e->live_count);
		p = codec_put_varint(p, e->live_bytes);
		emit_bytes(rec, (size_t)(p - rec));
	}
	p = rec;
	*p++ = CAPTURE_REC_AGG_PEAK;
	p = codec_put_varint(p, hm->peak);
	p = codec_put_varint(p, hm->peak_ms);
	p = codec_put_varint(p, ring.threads);
	for (int i = 0; i < HEAPMODEL_BUCKETS; i++)
		p = codec_put_varint(p, hm->histogram[i]);
	emit_bytes(rec, (size_t)(p - rec));
}

static void record_end(unsigned reason)
{
	uint8_t tmp[1 + 7 * CODEC_VARINT_MAX], *p = tmp;

	pthread_mutex_lock(&lock);
	if (cfg.flags & CAPTURE_F_AGGREGATE)
		write_aggregate();
	*p++ = CAPTURE_REC_END;
	p = codec_put_varint(p, reason);
	p = codec_put_varint(p, real_ns());
	p = codec_put_varint(p, ring.n_allocs);
	p = codec_put_varint(p, ring.n_frees);
	p = codec_put_varint(p, ring.bytes);
	p = codec_put_varint(p, trie.count);
	p = codec_put_varint(p, ring.lost);
	emit_bytes(tmp, (size_t)(p - tmp));
	tracker_active = 0;	/* nothing after END */
	pthread_mutex_unlock(&lock);
}

static const char *env_or_empty(const char *name)
{
	const char *v = getenv(name);

	return v ? v : "";
}

static int copy_str(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n >= PATH_MAX_LEN)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

/* the range of our own code, so stacks can leave it out */
static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t me = (uintptr_t)arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && me >= lo && me < lo + ph->p_memsz) {
			cfg.self_lo = lo;
			cfg.self_hi = lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

/*
 * Open this process's capture: append to an existing one (ours, or an
 * earlier image's after exec), or create it with a header. Returns the
 * segment kind, or -1.
 */
static int open_output(int is_root, int is_fork)
{
	struct stat st;
	int fd;

	fd = open(cfg.output, O_RDWR | O_APPEND | O_CLOEXEC | (is_root ? 0 : O_CREAT), 0644);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	cfg.fd = fd;
	if (st.st_size == 0) {
		struct strbuf hdr = STRBUF_INIT, args = STRBUF_INIT;
		struct capture_header h = { .flags = cfg.flags, .rss_interval_ms = 10,
					    .pid = (uint32_t)getpid(), .start_ns = real_ns() };
		char *argv[CAPTURE_ARGS_MAX];
		int afd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC), ret;

		if (afd >= 0) {
			strbuf_read_fd(&args, afd);
			close(afd);
		}
		for (size_t i = 0; i < args.len && h.argc < CAPTURE_ARGS_MAX; i += strlen(args.buf + i) + 1)
			argv[h.argc++] = args.buf + i;
		h.argv = argv;
		ret = capture_header_encode(&hdr, &h) < 0 ? -1 : write_all(fd, (uint8_t *)hdr.buf, hdr.len);
		strbuf_release(&hdr);
		strbuf_release(&args);
		if (ret < 0)
			return -1;
		return is_fork ? CAPTURE_SEG_FORK : CAPTURE_SEG_START;
	}
	/* more than a header: an earlier image of this process wrote here */
	uint8_t head[CAPTURE_HEADER_FIXED];
	if (pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
	    st.st_size > (off_t)codec_get_u32(head + 12))
		return CAPTURE_SEG_EXEC;
	return is_fork ? CAPTURE_SEG_FORK : CAPTURE_SEG_START;
}

static int setup_buffers(void)
{
	/* after fork, every buffer the parent had is ours to reuse */
	ring.nspare = 0;
	for (unsigned i = 0; i < ring.nbufs; i++) {
		ring.len[i] = 0;
		ring.spare[ring.nspare++] = i;
	}
	ring.qhead = ring.qlen = 0;
	if (!ring.out && !(ring.out = map_zero(capture_block_bound(BUF_SIZE))))
		return -1;
	int first = take_spare();
	if (first < 0)
		return -1;
	ring.cur = (unsigned)first;
	ring.n_allocs = ring.n_frees = ring.bytes = ring.lost = 0;
	ring.now_ms = 0;
	ring.threads = self_state ? 1 : 0;	/* after fork: the forking thread */
	ring.flush_asked = ring.flush_done = 0;
	ring.stop = ring.write_failed = 0;
	block_reset();
	return 0;
}

/* begin tracking in this process; the guard is held */
static void start_segment(int is_fork)
{
	int is_root = (unsigned long)getpid() == cfg.root_pid;
	int kind;

	cfg.pid = getpid();
	if (is_root) {
		if (copy_str(cfg.output, cfg.root_output) < 0)
			return;
	} else {
		if (!(cfg.flags & CAPTURE_F_FOLLOW_FORK))
			return;
		if (snprintf(cfg.output, sizeof(cfg.output), "%s.%d", cfg.root_output, (int)cfg.pid) >=
		    (int)sizeof(cfg.output))
			return;
	}
	kind = open_output(is_root, is_fork);
	if (kind < 0) {
		char detail[PATH_MAX_LEN + 64];

		snprintf(detail, sizeof(detail), "cannot open %s: %s", cfg.output, strerror(errno));
		tracker_say("not tracking", detail);
		return;
	}
	if (cfg.flags & CAPTURE_F_AGGREGATE) {
		heapmodel_free(ring.model);	/* a forked child starts afresh */
		ring.model = heapmodel_new();
	}
	if (setup_buffers() < 0 || (!trie.slots && trie_init(1 << 16) < 0) ||
	    (cfg.has_python && !codes.slots && codes_init(1 << 12) < 0) ||
	    ((cfg.flags & CAPTURE_F_AGGREGATE) && !ring.model)) {
		tracker_say("not tracking", "out of memory");
		return;
	}
	cfg.start_mono_ns = mono_ns();
	tracker_active = 1;
	record_segment((unsigned)kind);
	mods.adds = mods.subs = 0;
	record_modules(1);
	if (start_writer() < 0)
		stop_tracking("cannot start the writer thread", 0);
}

static void atfork_prepare(void)
{
	tracker_guard++;
	pthread_mutex_lock(&lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&lock);
	tracker_guard--;
}

static void atfork_child(void)
{
	int was_active = tracker_active;

	/* the writer thread did not come along; its buffers belong to the parent */
	lock = (pthread_mutex_t)PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
	pthread_cond_init(&cv_work, NULL);
	pthread_cond_init(&cv_space, NULL);
	tracker_active = 0;
	ring.has_writer = 0;
	if (cfg.fd >= 0)
		close(cfg.fd);
	cfg.fd = -1;
	if (self_state)
		self_state->tid = (uint32_t)syscall(SYS_gettid);
	if (was_active && (cfg.flags & CAPTURE_F_FOLLOW_FORK)) {
		/* a fresh trie: the child's file defines its own stacks */
		memset(trie.slots, 0, (trie.mask + 1) * sizeof(struct trie_entry));
		trie.count = 0;
		trie.generation++;
		if (codes.slots)
			memset(codes.slots, 0, (codes.mask + 1) * sizeof(struct code_entry));
		codes.count = 0;
		start_segment(1);
	}
	tracker_guard--;
}

__attribute__((constructor)) static void tracker_init(void)
{
	const char *out = getenv("MEMRAY_OUTPUT");

	if (!out || !*out)
		return;	/* preloaded without `memray run`: stay out of the way */
	tracker_guard++;
	if (copy_str(cfg.root_output, out) < 0 || copy_str(cfg.lib, env_or_empty("MEMRAY_TRACKER")) < 0)
		goto out;
	cfg.root_pid = strtoul(env_or_empty("MEMRAY_PID"), NULL, 10);
	cfg.flags = (unsigned)strtoul(env_or_empty("MEMRAY_OPTIONS"), NULL, 10);
	cfg.statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	dl_iterate_phdr(find_self, (void *)(uintptr_t)&tracker_init);
	if (pthread_key_create(&state_key, state_release) != 0)
		goto out;
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	cfg.has_python = tracker_python_init() == 1;
	cfg.wants_native = !cfg.has_python || (cfg.flags & CAPTURE_F_NATIVE);
	start_segment(0);
	if (tracker_active && cfg.has_python && (cfg.flags & CAPTURE_F_TRACE_PYTHON_ALLOCATORS) &&
	    tracker_python_hook_allocators() < 0)
		tracker_say("--trace-python-allocators", "the interpreter has no allocator API; ignored");
out:
	tracker_guard--;
}

static void finish(unsigned reason)
{
	if (!tracker_active || getpid() != cfg.pid)
		return;
	record_modules(0);	/* a library loaded since the last tick */
	record_end(reason);
	pthread_mutex_lock(&lock);
	ring.stop = 1;
	pthread_cond_signal(&cv_work);
	pthread_mutex_unlock(&lock);
	if (ring.has_writer)
		pthread_join(ring.writer, NULL);
	ring.has_writer = 0;
	close(cfg.fd);
	cfg.fd = -1;
}

/*
 * The end of the process: at exit() (our destructor runs after the
 * program's atexit handlers) or _exit(). Skipped when the exit interrupts
 * the tracker itself (a signal handler that exits): the lock may be ours.
 */
void tracker_at_exit(void)
{
	if (tracker_guard)
		return;
	tracker_guard++;
	finish(CAPTURE_END_EXIT);
	tracker_guard--;
}

__attribute__((destructor)) static void tracker_fini(void)
{
	tracker_at_exit();
}

void tracker_flush_before_exec(void)
{
	if (!tracker_active || tracker_guard || getpid() != cfg.pid)
		return;
	tracker_guard++;
	record_modules(0);
	flush_sync();
	tracker_guard--;
}

/* ------------------------------------------------------------------ */
/* the environment of an exec'd image                                    */

static int env_has(char *const envp[], const char *name, const char *want)
{
	size_t n = strlen(name);

	for (char *const *e = envp; e && *e; e++) {
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return !want || strstr(*e + n + 1, want) != NULL;
	}
	return 0;
}

char **tracker_exec_env(char *const envp[])
{
	static const char *const names[] = { "MEMRAY_OUTPUT", "MEMRAY_PID", "MEMRAY_OPTIONS",
					     "MEMRAY_TRACKER", "LD_PRELOAD" };
	char values[5][PATH_MAX_LEN + 32];
	size_t count = 0, k = 0;
	char **env;

	if (!cfg.root_output[0] || !cfg.lib[0])
		return NULL;
	if (env_has(envp, "MEMRAY_OUTPUT", NULL) && env_has(envp, "LD_PRELOAD", cfg.lib))
		return NULL;	/* all there */
	tracker_guard++;
	snprintf(values[0], sizeof(values[0]), "MEMRAY_OUTPUT=%s", cfg.root_output);
	snprintf(values[1], sizeof(values[1]), "MEMRAY_PID=%lu", cfg.root_pid);
	snprintf(values[2], sizeof(values[2]), "MEMRAY_OPTIONS=%u", cfg.flags);
	snprintf(values[3], sizeof(values[3]), "MEMRAY_TRACKER=%s", cfg.lib);
	snprintf(values[4], sizeof(values[4]), "LD_PRELOAD=%s", cfg.lib);
	for (char *const *e = envp; e && *e; e++)
		count++;
	env = tracker_real_malloc((count + 6) * sizeof(char *) + sizeof(values));
	if (env) {
		char *store = (char *)(env + count + 6);

		memcpy(store, values, sizeof(values));
		for (char *const *e = envp; e && *e; e++) {
			int ours = 0;

			for (int i = 0; i < 5; i++)
				ours |= !strncmp(*e, names[i], strlen(names[i])) && (*e)[strlen(names[i])] == '=';
			if (!ours)
				env[k++] = *e;
		}
		for (int i = 0; i < 5; i++)
			env[k++] = store + i * sizeof(values[0]);
		env[k] = NULL;
	}
	tracker_guard--;
	return env;
}

void tracker_free_env(char **env, char *const envp[])
{
	if (env && env != envp)
		tracker_real_free(env);
}
