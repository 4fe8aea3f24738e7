/*
 * tracker/tracker: the core. Configuration, segments (open the capture,
 * SEGMENT, the --aggregate totals, END), the process's life (start,
 * fork, exec, exit) and the record_* entry points the hooks call.
 *
 * The other parts: tracker_ring.c (buffers and the writer thread), stacks.c (the
 * stack trie, code table and per-thread state), modules.c (the module
 * scan), env.c (the MEMRAY_* variables); the state they share and the
 * inline hot path are in internal.h, the design and its rules in
 * tracker.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture/header.h"
#include "capture/heapmodel.h"
#include "common/strbuf.h"
#include "tracker/internal.h"
#include "tracker/record.h"

__thread int tracker_guard __attribute__((tls_model("initial-exec")));
volatile int tracker_active;

struct tracker_config tracker_cfg = { .capture.fd = -1, .statm.fd = -1 };

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

/* ------------------------------------------------------------------ */
/* the hot path                                                          */

/*
 * Room for an ALLOC or FREE record of thread tid, its type and address
 * delta written: where the rest goes (the caller commits it), or NULL
 * when the record is dropped. Lock held.
 */
static inline uint8_t *address_record(unsigned type, void *ptr, uint32_t tid)
{
	uint8_t *p = tracker_reserve_for_thread(RECORD_MAX, tid);

	if (!p)
		return NULL;
	*p++ = (uint8_t)type;
	p = codec_put_svarint(p, (int64_t)((uintptr_t)ptr - tracker_ring.prev_addr));
	tracker_ring.prev_addr = (uintptr_t)ptr;
	return p;
}

/*
 * The ALLOC record of a block (or the --aggregate model's alloc) for
 * thread tid, after the FREE of any in-flight realloc source it reuses
 * (tracker/defer.c). Lock held.
 */
void tracker_emit_alloc(void *ptr, size_t size, unsigned kind, uint32_t id, uint32_t tid)
{
	uint8_t *p;

	if (tracker_inflight.n)
		tracker_inflight_settle(ptr);
	tracker_ring.n_allocs++;
	tracker_ring.bytes += size;
	tracker_window_alloc(ptr, size, tid);
	if ((tracker_cfg.flags & (CAPTURE_F_REACHABILITY | CAPTURE_F_AGGREGATE)) == CAPTURE_F_REACHABILITY)
		tracker_live_alloc(ptr, size, kind);
	if (tracker_cfg.flags & CAPTURE_F_AGGREGATE) {
		if (heapmodel_alloc(tracker_ring.model, (uintptr_t)ptr, size, id, kind, tracker_ring.now_ms) < 0)
			tracker_stop("out of memory for --aggregate tables", 0);
		return;
	}
	p = address_record(CAPTURE_REC_ALLOC + kind, ptr, tid);
	if (!p)
		return;
	p = codec_put_varint(p, size);
	p = codec_put_varint(p, id);
	tracker_commit(p);
}

/* the FREE record of a block (or the model's free) for thread tid; lock held */
void tracker_emit_free(void *ptr, size_t size, unsigned kind, uint32_t tid)
{
	uint8_t *p;

	if (!tracker_active)
		return;
	tracker_window_free(ptr, size, kind);
	if ((tracker_cfg.flags & (CAPTURE_F_REACHABILITY | CAPTURE_F_AGGREGATE)) == CAPTURE_F_REACHABILITY)
		tracker_live_free(ptr, size, kind);
	if (tracker_cfg.flags & CAPTURE_F_AGGREGATE) {
		tracker_ring.n_frees++;
		if (heapmodel_free_block(tracker_ring.model, (uintptr_t)ptr, size, kind) < 0)
			tracker_stop("out of memory for --aggregate tables", 0);
		return;
	}
	p = address_record(CAPTURE_REC_FREE + kind, ptr, tid);
	if (!p)
		return;
	if (kind == CAPTURE_ALLOC_MUNMAP)
		p = codec_put_varint(p, size);
	tracker_commit(p);
	tracker_ring.n_frees++;
}

void tracker_emit_collect(void *ptr, unsigned category)
{
	uint8_t *p;

	if (!tracker_active)
		return;
	tracker_window_free(ptr, 0, CAPTURE_ALLOC_FREE);
	tracker_live_free(ptr, 0, CAPTURE_ALLOC_FREE);
	p = address_record(CAPTURE_REC_COLLECT, ptr, tracker_current_tid());
	if (!p)
		return;
	p = codec_put_varint(p, category);
	tracker_commit(p);
	tracker_ring.n_frees++;
}

void tracker_record_alloc(void *ptr, size_t size, unsigned kind)
{
	struct thread_state *ts;
	uint32_t id;
	int n = 0, first = 0, npy = 0, same = 0, nnative = 0;

	if (!tracker_self_state) {
		tracker_guard++;
		ts = tracker_thread_state_new();	/* may allocate (pthread_setspecific): not hot */
		tracker_guard--;
		if (!ts)
			return;
	}
	tracker_hot_enter();
	ts = tracker_self_state;
	if (tracker_cfg.has_python)
		npy = tracker_py_read(ts, &same);
	if (!npy)
		n = tracker_unwind(ts, ts->scratch, &first);	/* no Python: native frames */
	else if (tracker_cfg.wants_native)
		nnative = tracker_unwind(ts, ts->native, &first);
	if (!tracker_cfg.has_python && tracker_stage_alloc(ts, ptr, size, kind, first, n))
		goto out;
	tracker_lock_take();
	if (!tracker_active)
		goto unlock;
	if (npy) {
		tracker_py_resolve(ts, npy, same);
		n = tracker_py_merge(ts, npy, ts->native + first, nnative);
		first = 0;
	}
	id = tracker_stack_id(ts, first, n);
	tracker_emit_alloc(ptr, size, kind, id, ts->tid);
unlock:
	pthread_mutex_unlock(&tracker_lock);
out:
	tracker_hot_leave();
}

void tracker_record_free(void *ptr, size_t size, unsigned kind)
{
	struct thread_state *ts = tracker_staging_state();

	tracker_hot_enter();
	if (ts) {
		tracker_stage_free(ts, ptr, size, kind);
	} else {
		uint32_t tid = tracker_current_tid();

		tracker_lock_take();
		tracker_emit_free(ptr, size, kind, tid);
		pthread_mutex_unlock(&tracker_lock);
	}
	tracker_hot_leave();
}

/*
 * A record of `type` with a varint and a string; with `is_timed`, after a
 * TIME record giving its moment, in the same reservation so that nothing
 * comes between the two.
 */
static void record_string_pair(unsigned type, uint64_t num, const char *s, int is_timed)
{
	uint8_t tmp[CAPTURE_STRING_MAX + 48], *p = tmp;
	uint32_t tid = tracker_current_tid();

	if (is_timed) {
		*p++ = CAPTURE_REC_TIME;
		p = codec_put_varint(p, tracker_mono_ns() - tracker_cfg.start_mono_ns);
	}
	*p++ = (uint8_t)type;
	p = codec_put_varint(p, num);
	p = codec_put_string(p, s, strlen(s), CAPTURE_STRING_MAX);
	tracker_lock_take();
	if (tracker_active) {
		uint8_t *q = tracker_reserve_for_thread((size_t)(p - tmp), tid);

		if (!q)
			goto unlock;
		memcpy(q, tmp, (size_t)(p - tmp));
		tracker_commit(q + (p - tmp));
	}
unlock:
	pthread_mutex_unlock(&tracker_lock);
}

void tracker_record_thread_name(const char *name)
{
	tracker_guard++;
	record_string_pair(CAPTURE_REC_THREAD_NAME, tracker_current_tid(), name, 0);
	tracker_guard--;
}

/*
 * A native test's window ends: with a reachability index (memray check),
 * its blocks are judged first, so that a test's leak is what it lost,
 * not what it cached in a global. Not in Python, whose objects are all
 * reachable from the interpreter: there a leak keeps pytest-memray's
 * meaning, held at the test's end.
 */
static int scans_at_window_end(unsigned kind)
{
	return kind == CAPTURE_MARK_TEST_END && (tracker_cfg.flags & CAPTURE_F_REACHABILITY) &&
	       !(tracker_cfg.flags & CAPTURE_F_AGGREGATE) && !tracker_cfg.has_python && tracker_window_is_open();
}

void tracker_record_marker(unsigned kind, const char *label)
{
	tracker_guard++;
	if (scans_at_window_end(kind))
		tracker_reach_scan(CAPTURE_REACH_AT_WINDOW_END);
	record_string_pair(CAPTURE_REC_MARKER, kind, label, 1);
	tracker_lock_take();
	tracker_window_mark(kind, tracker_current_tid());
	pthread_mutex_unlock(&tracker_lock);
	tracker_guard--;
}

/* ------------------------------------------------------------------ */
/* segments, start and end                                               */

static void record_segment(unsigned kind)
{
	struct strbuf rec = STRBUF_INIT, args = STRBUF_INIT, argv = STRBUF_INIT;
	char exe[PATH_MAX_LEN];
	uint8_t tmp[CODEC_VARINT_MAX * 4], *p = tmp;
	int fd, argc = 0;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = '\0';
	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		strbuf_read_fd(&args, fd);
		close(fd);
	}
	for (size_t i = 0; i < args.len; i += strlen(args.buf + i) + 1, argc++) {
		const char *a = args.buf + i;

		strbuf_add(&argv, &a, sizeof(a));
	}
	strbuf_addch(&rec, CAPTURE_REC_SEGMENT);
	p = codec_put_varint(p, (uint64_t)getpid());
	p = codec_put_varint(p, (uint64_t)getppid());
	p = codec_put_varint(p, tracker_real_ns());
	p = codec_put_varint(p, kind);
	strbuf_add(&rec, tmp, (size_t)(p - tmp));
	p = codec_put_varint(tmp, strlen(exe));
	strbuf_add(&rec, tmp, (size_t)(p - tmp));
	strbuf_addstr(&rec, exe);
	/* bounded (format.h, COMMAND LINES): the record always fits its block */
	if (argv.len / sizeof(char *) < (size_t)argc ||
	    capture_args_encode(&rec, argc, (const char *const *)(void *)argv.buf) < 0)
		capture_args_encode(&rec, 0, NULL);	/* out of memory: no arguments, still a segment */
	tracker_lock_take();
	tracker_active = 1;	/* with the SEGMENT record: nothing of the segment goes before it */
	tracker_emit((uint8_t *)rec.buf, rec.len);
	pthread_mutex_unlock(&tracker_lock);
	strbuf_release(&rec);
	strbuf_release(&args);
	strbuf_release(&argv);
}

/*
 * --aggregate: the AGG_STACK and AGG_PEAK records; lock held. An image
 * that execs leaks nothing: what it holds is gone with it.
 */
static void write_aggregate(int is_exec)
{
	struct heapmodel *hm = tracker_ring.model;
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
		p = codec_put_varint(p, is_exec ? 0 : e->live_count);
		p = codec_put_varint(p, is_exec ? 0 : e->live_bytes);
		tracker_emit(rec, (size_t)(p - rec));
	}
	p = rec;
	*p++ = CAPTURE_REC_AGG_PEAK;
	p = codec_put_varint(p, hm->peak);
	p = codec_put_varint(p, hm->peak_ms);
	p = codec_put_varint(p, tracker_ring.threads);
	for (int i = 0; i < HEAPMODEL_BUCKETS; i++)
		p = codec_put_varint(p, hm->histogram[i]);
	tracker_emit(rec, (size_t)(p - rec));
}

static void record_end(unsigned reason)
{
	uint8_t tmp[1 + 7 * CODEC_VARINT_MAX], *p = tmp;

	tracker_lock_take();
	if (tracker_cfg.flags & CAPTURE_F_AGGREGATE)
		write_aggregate(reason == CAPTURE_END_EXEC);
	*p++ = CAPTURE_REC_END;
	p = codec_put_varint(p, reason);
	p = codec_put_varint(p, tracker_real_ns());
	p = codec_put_varint(p, tracker_ring.n_allocs);
	p = codec_put_varint(p, tracker_ring.n_frees);
	p = codec_put_varint(p, tracker_ring.bytes);
	p = codec_put_varint(p, tracker_trie.count);
	p = codec_put_varint(p, tracker_ring.lost);
	tracker_emit(tmp, (size_t)(p - tmp));
	tracker_active = 0;	/* nothing after END */
	pthread_mutex_unlock(&tracker_lock);
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
			tracker_cfg.self_lo = lo;
			tracker_cfg.self_hi = lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

/*
 * Live mode: the socket `memray run` connected and wrote the header to.
 * Only the root process's first image streams: a forked child has no
 * reader of its own, and after exec the socket is gone (it is close-on-
 * exec once adopted) or the number is the program's (the inode tells).
 */
static int open_live(int is_root)
{
	struct stat st;

	errno = EINVAL;
	if (!is_root || fstat(tracker_cfg.live_fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    st.st_ino != tracker_cfg.live_ino)
		return -1;
	if (tracker_fd_adopt(&tracker_cfg.capture, tracker_cfg.live_fd) < 0)
		return -1;
	tracker_cfg.is_live = 1;
	return CAPTURE_SEG_START;
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

	if (tracker_cfg.live_fd >= 0)
		return open_live(is_root);
	fd = open(tracker_cfg.output, O_RDWR | O_APPEND | O_CLOEXEC | (is_root ? 0 : O_CREAT), 0644);
	fd = tracker_fd_adopt(&tracker_cfg.capture, fd);	/* high, out of the program's way */
	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	if (st.st_size == 0) {
		struct strbuf hdr = STRBUF_INIT, args = STRBUF_INIT;
		struct capture_header h = { .flags = tracker_cfg.flags, .rss_interval_ms = 10,
					    .pid = (uint32_t)getpid(), .start_ns = tracker_real_ns() };
		char *argv[CAPTURE_ARGS_MAX];
		int afd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC), ret;

		if (afd >= 0) {
			strbuf_read_fd(&args, afd);
			close(afd);
		}
		/* the first CAPTURE_ARGS_MAX arguments: the encoder bounds them further */
		for (size_t i = 0; i < args.len && h.argc < CAPTURE_ARGS_MAX; i += strlen(args.buf + i) + 1)
			argv[h.argc++] = args.buf + i;
		h.argv = argv;
		ret = capture_header_encode(&hdr, &h) < 0 ? -1 : tracker_write_all(fd, (uint8_t *)hdr.buf, hdr.len);
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

/* begin tracking in this process; the guard is held */
static void start_segment(int is_fork)
{
	int is_root = (unsigned long)getpid() == tracker_cfg.root_pid;
	int kind;

	tracker_cfg.pid = getpid();
	if (is_root) {
		memcpy(tracker_cfg.output, tracker_cfg.root_output, sizeof(tracker_cfg.output));
	} else {
		if (!(tracker_cfg.flags & CAPTURE_F_FOLLOW_FORK))
			return;
		if (snprintf(tracker_cfg.output, sizeof(tracker_cfg.output), "%s.%d", tracker_cfg.root_output,
			     (int)tracker_cfg.pid) >= (int)sizeof(tracker_cfg.output))
			return;
	}
	kind = open_output(is_root, is_fork);
	if (kind < 0 && tracker_cfg.live_fd >= 0) {
		if (is_root)	/* a forked child: silent, as without --follow-fork */
			tracker_say("not tracking", "live mode follows the first process image only, not one "
				    "started by exec()");
		return;
	}
	if (kind < 0) {
		char detail[PATH_MAX_LEN + 64];

		snprintf(detail, sizeof(detail), "cannot open %s: %s", tracker_cfg.output, strerror(errno));
		tracker_say("not tracking", detail);
		return;
	}
	if (tracker_cfg.flags & CAPTURE_F_AGGREGATE) {
		heapmodel_free(tracker_ring.model);	/* a forked child starts afresh */
		tracker_ring.model = heapmodel_new();
	}
	if (tracker_ring_reset() < 0 || tracker_stacks_init() < 0 ||
	    ((tracker_cfg.flags & CAPTURE_F_AGGREGATE) && !tracker_ring.model)) {
		tracker_say("not tracking", "out of memory");
		return;
	}
	tracker_cfg.start_mono_ns = tracker_mono_ns();
	tracker_active = 1;
	record_segment((unsigned)kind);
	tracker_modules_reset();
	tracker_record_modules(1);
	if (tracker_writer_start() < 0)
		tracker_stop("cannot start the writer thread", 0);
}

static void atfork_prepare(void)
{
	tracker_guard++;
	pthread_mutex_lock(&tracker_modules_lock);	/* the writer is out of dl_iterate_phdr */
	tracker_lock_take();
}

static void atfork_parent(void)
{
	tracker_walk_forked(0);
	pthread_mutex_unlock(&tracker_lock);
	pthread_mutex_unlock(&tracker_modules_lock);
	tracker_guard--;
}

static void atfork_child(void)
{
	int was_active = tracker_active;

	tracker_check_log_forget();	/* a Check test runs here: it sees its own environment */
	tracker_ring_after_fork();
	tracker_inflight.n = 0;	/* the reallocs under way were other threads', left behind */
	tracker_unwind_after_fork();
	tracker_walk_forked(1);
	tracker_active = 0;
	tracker_fd_close(&tracker_cfg.capture);	/* only if the number is still ours */
	if (tracker_self_state)
		tracker_self_state->tid = (uint32_t)syscall(SYS_gettid);
	if (was_active && (tracker_cfg.flags & CAPTURE_F_FOLLOW_FORK)) {
		tracker_stacks_after_fork();	/* the child's file defines its own stacks */
		start_segment(1);
		tracker_gc_start();	/* the parent's collector did not come along */
	}
	tracker_guard--;
}

__attribute__((constructor)) static void tracker_init(void)
{
	tracker_guard++;
	if (tracker_env_read() < 0)
		goto out;	/* preloaded without `memray run`: stay out of the way */
	tracker_check_log();
	tracker_fd_adopt(&tracker_cfg.statm, open("/proc/self/statm", O_RDONLY | O_CLOEXEC));
	dl_iterate_phdr(find_self, (void *)(uintptr_t)&tracker_init);
	if (tracker_thread_states_init() < 0)
		goto out;
	tracker_walk_init();
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	tracker_cfg.has_python = tracker_python_init() == 1;
	tracker_cfg.wants_native = !tracker_cfg.has_python || (tracker_cfg.flags & CAPTURE_F_NATIVE);
	start_segment(0);
	tracker_gc_start();
	if (tracker_active && tracker_cfg.has_python && (tracker_cfg.flags & CAPTURE_F_TRACE_PYTHON_ALLOCATORS) &&
	    tracker_python_hook_allocators() < 0)
		tracker_say("--trace-python-allocators", "the interpreter has no allocator API; ignored");
out:
	tracker_guard--;
}

static void finish(unsigned reason)
{
	if (getpid() == tracker_cfg.pid)
		tracker_unwind_verify_report();
	if (!tracker_active || getpid() != tracker_cfg.pid)
		return;
	tracker_record_modules(0);	/* a library loaded since the last tick */
	__atomic_store_n(&tracker_gc_stopping, 1, __ATOMIC_RELEASE);
	if (reason == CAPTURE_END_EXIT && (tracker_cfg.flags & CAPTURE_F_REACHABILITY))
		tracker_reach_scan(CAPTURE_REACH_AT_EXIT);
	record_end(reason);
	tracker_writer_stop();
	tracker_fd_close(&tracker_cfg.capture);
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

/*
 * RULE: what the process keeps in memory is written before exec. The
 * buffers are flushed; --aggregate keeps its totals in the process, so
 * its segment ends here as at exit (totals, END). Should the exec fail,
 * tracker_exec_failed() begins a new segment where this one ended.
 */
static int ended_for_exec;

void tracker_flush_before_exec(void)
{
	if (!tracker_active || tracker_guard || getpid() != tracker_cfg.pid)
		return;
	tracker_guard++;
	tracker_record_modules(0);
	if (tracker_cfg.flags & CAPTURE_F_AGGREGATE) {
		record_end(CAPTURE_END_EXEC);
		ended_for_exec = 1;
	}
	tracker_flush_sync();
	tracker_guard--;
}

void tracker_exec_failed(void)
{
	struct heapmodel *model;

	if (!ended_for_exec || tracker_guard || getpid() != tracker_cfg.pid)
		return;
	ended_for_exec = 0;
	tracker_guard++;
	model = heapmodel_new();
	tracker_lock_take();
	if (model) {
		heapmodel_free(tracker_ring.model);
		tracker_ring.model = model;
		tracker_stacks_reset();	/* a new segment defines its own stacks */
		tracker_ring.n_allocs = tracker_ring.n_frees = tracker_ring.bytes = tracker_ring.lost = 0;
	}
	pthread_mutex_unlock(&tracker_lock);
	if (model) {
		record_segment(CAPTURE_SEG_EXEC);
		tracker_modules_reset();
		tracker_record_modules(1);
	} else {
		tracker_say("tracking stopped", "out of memory for --aggregate tables after a failed exec");
	}
	tracker_guard--;
}
