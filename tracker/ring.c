/*
 * tracker/ring: the record buffers and the writer thread.
 *
 * Producers fill the current buffer under tracker_lock (tracker_reserve
 * and tracker_commit in internal.h); a full buffer is queued and another
 * taken. The writer thread wakes every 10 ms or when a buffer is queued,
 * samples the resident set size, compresses the queued buffers and
 * writes them without the lock, so a slow disk never holds up the host.
 * A write error ends tracking, never the program.
 *
 * LIVE MODE. The blocks go to a socket, read by `memray live` or `memray
 * run --live`, with the same bytes a file would get. A reader may go away
 * (the send fails: tracking stops with one line) or fall behind. Then the
 * bound is the ring itself: while all MAX_BUFS buffers (32 MiB of
 * records) wait to be sent, a producer does not wait for one as it does
 * for a slow disk; tracking stops instead, saying so, and the program runs
 * on untracked. Dropping single records would leave the reader with stack
 * ids it never saw defined, so the stream ends whole at a block boundary
 * and the reader reports it cut short. A reader that takes nothing for
 * LIVE_STALL_MS while a block waits is taken to be gone, so that the
 * writer (and an exit that waits for it) never hangs on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>

#include "capture/block.h"
#include "tracker/internal.h"
#include "tracker/unwind.h"

/* adaptive: spins briefly before sleeping, as the critical sections are short */
pthread_mutex_t tracker_lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
pthread_mutex_t tracker_modules_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv_work = PTHREAD_COND_INITIALIZER;	/* writer waits here */
static pthread_cond_t cv_space = PTHREAD_COND_INITIALIZER;	/* producers wait here */

struct tracker_ring tracker_ring;
__thread int tracker_is_writer __attribute__((tls_model("initial-exec")));

/*
 * When the writer keeps up (at most HC_QUEUED buffers wait, 4 MiB of
 * records), it compresses with lz4's high-compression mode at this level:
 * the same block format, read as fast; further behind, with the fast mode.
 * Measured on 4 threads of malloc/free (1M pairs each) against the fast
 * mode: captures of 2.0-2.7 MB instead of 6.5-7.2, and the run itself took
 * 1.13-1.26 s instead of 1.56-1.77; on one thread the same time. Level 6
 * compresses these records at about 300 MB/s; the tracker makes them at
 * about 50. Since threads stage their records (stage.c), a thread whose
 * stage fills queues several buffers at once: with HC only when a single
 * buffer waited, 2 threads' captures were 4.3-5.0 MB, with up to 8 waiting
 * 0.6-0.7 MB, in 0.42 s instead of 0.50 (8 threads: 2.6 -> 1.1 MB).
 */
#define HC_LEVEL 6
#define HC_QUEUED 8
/*
 * A smaller block (a quiet tick's records, a short process's last ones)
 * is compressed the fast way: its size hardly counts, and readying the
 * high-compression state costs a short-lived process, such as each
 * forked test of a Check suite, its 256 KiB. 100 forked tests of one
 * allocation each: 0.68-0.71 s tracked instead of 0.74-0.82.
 */
#define HC_MIN_RAW (64u * 1024)

static void block_reset(void)
{
	tracker_ring.len[tracker_ring.cur] = 0;
	tracker_ring.prev_addr = tracker_ring.prev_ip = 0;
	tracker_ring.tid = 0;
}

/* an empty buffer, or -1; lock held */
static int take_spare(void)
{
	struct tracker_ring *r = &tracker_ring;

	if (r->nspare)
		return (int)r->spare[--r->nspare];
	if (r->nbufs < MAX_BUFS && (r->buf[r->nbufs] = mapmem_alloc_scratch(BUF_SIZE)))
		return (int)r->nbufs++;
	return -1;
}

int tracker_ring_hand_off(int may_wait)
{
	struct tracker_ring *r = &tracker_ring;
	int next;

	if (!r->len[r->cur])
		return 0;
	next = take_spare();
	if (next < 0 && tracker_cfg.is_live && tracker_active) {
		r->live_said = 1;	/* the writer's failure to come is part of this */
		tracker_stop("the live reader fell behind by more than 32 MiB of records; the rest of the run "
			     "is not tracked", 0);
		return -1;
	}
	if (next < 0 && may_wait && r->has_writer) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		while ((next = take_spare()) < 0 && r->has_writer)
			if (pthread_cond_timedwait(&cv_space, &tracker_lock, &until))
				break;
	}
	if (next < 0)
		return -1;
	r->queue[(r->qhead + r->qlen++) % MAX_BUFS] = r->cur;
	r->cur = (unsigned)next;
	block_reset();
	pthread_cond_signal(&cv_work);
	return 0;
}

void tracker_emit(const uint8_t *data, size_t len)
{
	uint8_t *p = len <= BUF_SIZE ? tracker_reserve(len) : NULL;

	if (!p)
		return;
	memcpy(p, data, len);
	tracker_commit(p + len);
}

int tracker_ring_reset(void)
{
	struct tracker_ring *r = &tracker_ring;
	int first;

	/* after fork, every buffer the parent had is ours to reuse */
	r->nspare = 0;
	for (unsigned i = 0; i < r->nbufs; i++) {
		r->len[i] = 0;
		r->spare[r->nspare++] = i;
	}
	r->qhead = r->qlen = 0;
	if (!r->out && !(r->out = mapmem_alloc_scratch(capture_block_bound(BUF_SIZE))))
		return -1;
	if (!r->hc_state && !tracker_cfg.is_fast_only)	/* without it, blocks are compressed the fast way only */
		r->hc_state = mapmem_alloc_scratch(capture_block_hc_state_size());
	r->is_hc_ready = 0;	/* after fork, the state is zeros (mapmem_alloc_scratch) */
	first = take_spare();
	if (first < 0)
		return -1;
	r->cur = (unsigned)first;
	r->n_allocs = r->n_frees = r->bytes = r->lost = 0;
	r->now_ms = 0;
	r->threads = tracker_self_state ? 1 : 0;	/* after fork: the forking thread */
	r->flush_asked = r->flush_done = 0;
	r->stop = r->write_failed = 0;
	block_reset();
	return 0;
}

void tracker_ring_after_fork(void)
{
	/* the writer thread did not come along; its buffers belong to the parent */
	tracker_lock = (pthread_mutex_t)PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
	tracker_modules_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;	/* the prepare handler's */
	pthread_cond_init(&cv_work, NULL);
	pthread_cond_init(&cv_space, NULL);
	tracker_ring.has_writer = 0;
	tracker_ring.writer_tid = 0;	/* the child's writer will say who it is */
	tracker_stage_after_fork();	/* what the parent's threads staged is the parent's */
}

/* ------------------------------------------------------------------ */
/* write errors                                                          */

void tracker_stop(const char *why, int errnum)
{
	if (!tracker_active)
		return;
	tracker_active = 0;
	tracker_mark_stopped();
	if (errnum) {
		char detail[PATH_MAX_LEN + 128];

		snprintf(detail, sizeof(detail), "cannot write %s: %s", tracker_cfg.output, strerror(errnum));
		tracker_say("tracking stopped", detail);
	} else {
		tracker_say("tracking stopped", why);
	}
}

int tracker_write_all(int fd, const uint8_t *p, size_t len)
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

/* ------------------------------------------------------------------ */
/* the writer thread                                                     */

static uint64_t read_rss(void)
{
	char buf[128];
	unsigned long size, resident;
	ssize_t n;

	int fd = tracker_fd_get(&tracker_cfg.statm, "/proc/self/statm", O_RDONLY, 0);

	if (fd < 0)
		return 0;	/* the program took our number and we cannot reopen: no sample */
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%lu %lu", &size, &resident) != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

#define LIVE_STALL_MS 5000

/*
 * Live mode: all of p to the socket. MSG_NOSIGNAL: a reader that went away
 * is EPIPE, not a SIGPIPE for the program; MSG_DONTWAIT and poll: a reader
 * that takes nothing for LIVE_STALL_MS is ETIMEDOUT. 0, or -1 with errno.
 */
static int live_send(int fd, const uint8_t *p, size_t len)
{
	int waited = 0;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			waited = 0;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (waited >= LIVE_STALL_MS) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };

		poll(&pfd, 1, 100);
		waited += 100;
	}
	return 0;
}

/* a live block; a reader gone or stalled ends tracking with its own words */
static void write_live(const uint8_t *p, size_t n)
{
	int fd = tracker_fd_get(&tracker_cfg.capture, tracker_cfg.output, O_WRONLY, 1);

	if (fd >= 0 && live_send(fd, p, n) == 0)
		return;
	tracker_ring.write_failed = 1;
	if (!tracker_active && !tracker_ring.live_said++)	/* after END, at exit: tracker_stop would be silent */
		tracker_say("live", errno == ETIMEDOUT ? "the reader took nothing for 5 seconds; the end of the "
			    "run was not sent" : "the reader went away before the end of the run was sent");
	else if (fd < 0)
		tracker_stop("the program closed the live reader's socket", 0);
	else if (errno == ETIMEDOUT)
		tracker_stop("the live reader took nothing for 5 seconds; the rest of the run is not tracked", 0);
	else if (errno == EPIPE || errno == ECONNRESET)
		tracker_stop("the live reader went away; the rest of the run is not tracked", 0);
	else
		tracker_stop(NULL, errno);
}

/*
 * One encoded block to the capture, through a descriptor that is still
 * ours (tracker/fds.c): if the program closed or replaced it, the file is
 * opened again by path; if that fails, tracking stops, and nothing is
 * written to a descriptor of the program's.
 */
static void write_block(const uint8_t *p, size_t n)
{
	int err = 0;

	if (tracker_cfg.is_live) {
		write_live(p, n);
		return;
	}
	for (int tries = 0; tries < 2; tries++) {
		int fd = tracker_fd_get(&tracker_cfg.capture, tracker_cfg.output, O_WRONLY | O_APPEND, 1);

		if (fd < 0)
			break;
		if (tracker_write_all(fd, p, n) == 0)
			return;
		err = errno;
		if (err != EBADF)
			break;	/* EBADF: closed between the check and the write, look again */
	}
	tracker_ring.write_failed = 1;
	if (err && err != EBADF)
		tracker_stop(NULL, err);
	else
		tracker_stop("the program closed or replaced the capture's descriptor, and the capture "
			     "cannot be opened again", 0);
}

/*
 * A program thread waits for the queue to be written: at exit (the
 * process cannot end before its records are out) or before exec. Then
 * only the last buffer is worth lz4's high-compression mode: a writer
 * slower at it than the program makes records (a Check test's records,
 * whose addresses vary, at about 50 MB/s against 70) sits HC_QUEUED
 * buffers behind, and compressing those harder held each forked test up
 * to 80 ms at its exit. Lock held.
 */
static int is_waited_for(void)
{
	return tracker_ring.stop || tracker_ring.flush_asked != tracker_ring.flush_done;
}

/* write out every queued buffer; lock held on entry and exit, dropped while writing */
static void drain(void)
{
	struct tracker_ring *r = &tracker_ring;

	while (r->qlen) {
		unsigned idx = r->queue[r->qhead];
		size_t len = r->len[idx];
		/* few buffers wait, and no program thread waits on them: time to compress harder */
		int is_hc = r->qlen <= (is_waited_for() ? 1u : HC_QUEUED) && r->hc_state && len >= HC_MIN_RAW &&
			    (tracker_cfg.flags & CAPTURE_F_LZ4);

		pthread_mutex_unlock(&tracker_lock);
		if (is_hc && !r->is_hc_ready) {
			capture_block_hc_init(r->hc_state);
			r->is_hc_ready = 1;
		}
		if (len && !r->write_failed) {
			size_t n = is_hc ? capture_block_encode_hc(r->out, r->buf[idx], len, HC_LEVEL, r->hc_state)
					 : capture_block_encode(r->out, r->buf[idx], len, tracker_cfg.flags & CAPTURE_F_LZ4);
			write_block(r->out, n);
		}
		pthread_mutex_lock(&tracker_lock);
		r->len[idx] = 0;
		r->qhead = (r->qhead + 1) % MAX_BUFS;
		r->qlen--;
		r->spare[r->nspare++] = idx;
		pthread_cond_broadcast(&cv_space);
	}
}

/* one MEMORY record: the writer's clock and the resident set size; lock held */
static void record_memory(uint64_t ms, uint64_t rss)
{
	uint8_t rec[1 + 2 * CODEC_VARINT_MAX], *p = rec;

	*p++ = CAPTURE_REC_MEMORY;
	p = codec_put_varint(p, ms);
	p = codec_put_varint(p, rss);
	tracker_emit(rec, (size_t)(p - rec));
}

/* sleep until the next tick or until a buffer is queued; lock held */
static void wait_tick(unsigned interval_ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)interval_ms * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	if (!tracker_ring.qlen && !tracker_ring.stop)
		pthread_cond_timedwait(&cv_work, &tracker_lock, &until);
}

/*
 * The writer's tick also drains the stages (tracker_lock_take): what a
 * thread staged since it last filled its stage reaches the file within a
 * tick. It is not woken for stages between ticks: reading entries the
 * program wrote a moment ago on another core moved their cache lines
 * back and forth, and that doubled the cost of churn here.
 */
static void *writer_main(void *arg)
{
	struct tracker_ring *r = &tracker_ring;
	uint64_t asked;

	(void)arg;
	tracker_guard = 1;	/* for good: nothing this thread does is tracked */
	tracker_is_writer = 1;
	__atomic_store_n(&r->writer_tid, (uint32_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	for (;;) {
		uint64_t rss = read_rss();
		uint64_t ms = (tracker_mono_ns() - tracker_cfg.start_mono_ns) / 1000000u;

		if (tracker_active)
			tracker_record_modules(0);	/* under tracker_modules_lock too */
		pthread_mutex_lock(&tracker_modules_lock);
		tracker_unwind_rescan();	/* unloaded code: tracker/unwind.c */
		tracker_walk_resolve();	/* rules for the return addresses walks lacked */
		pthread_mutex_unlock(&tracker_modules_lock);
		tracker_lock_take();
		r->now_ms = ms;
		if (tracker_active)
			record_memory(ms, rss);
		asked = r->flush_asked;
		tracker_ring_hand_off(0);
		drain();
		r->flush_done = asked;
		pthread_cond_broadcast(&cv_space);
		if (r->stop) {
			tracker_ring_hand_off(0);
			drain();
			pthread_mutex_unlock(&tracker_lock);
			return NULL;
		}
		if (r->flush_asked == asked)
			wait_tick(10);
		pthread_mutex_unlock(&tracker_lock);
	}
}

int tracker_writer_start(void)
{
	sigset_t all, old;
	int ret;

	/* blocked for good: SIGXFSZ from a file size limit becomes EFBIG, not death */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = tracker_thread_create(&tracker_ring.writer, writer_main);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	tracker_ring.has_writer = !ret;
	return ret ? -1 : 0;
}

void tracker_writer_stop(void)
{
	pthread_mutex_lock(&tracker_lock);
	tracker_ring.stop = 1;
	pthread_cond_signal(&cv_work);
	pthread_mutex_unlock(&tracker_lock);
	if (tracker_ring.has_writer)
		pthread_join(tracker_ring.writer, NULL);
	tracker_ring.has_writer = 0;
}

void tracker_flush_sync(void)
{
	pthread_mutex_lock(&tracker_lock);
	if (tracker_ring.has_writer) {
		uint64_t want = ++tracker_ring.flush_asked;

		pthread_cond_signal(&cv_work);
		while (tracker_ring.flush_done < want && tracker_ring.has_writer)
			pthread_cond_wait(&cv_space, &tracker_lock);
	}
	pthread_mutex_unlock(&tracker_lock);
}
