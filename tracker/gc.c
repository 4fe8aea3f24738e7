/*
 * tracker/gc: the garbage collector's thread, its signal and its call.
 *
 * With ENV_GC set (`memray run --collect-garbage[=INTERVAL]`), a thread of
 * the tracker's collects every INTERVAL, counted from the end of the last
 * collection so that a heap whose scan takes longer than the interval
 * still leaves the program time to run; SIGUSR2 (when the program does
 * not use it) and memray_collect_garbage() collect at once. The collection
 * itself is tracker_reach_collect() (reach.c): a reachability scan, then
 * the lost blocks freed through the real allocator.
 *
 * The thread blocks every signal and is never stopped by a scan (it holds
 * no pointer of the program), like the writer. It is not joined: at the
 * end of the process it is told to stop, and a collection it began
 * before finishes under the tracker's lock first. A forked child gets a
 * thread of its own when it is tracked (--follow-fork); an exec'd image
 * starts its own from the environment.
 */
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <time.h>

#include "tracker/internal.h"
#include "tracker/memray_test.h"

uint32_t tracker_gc_tid;
int tracker_gc_stopping;
static sem_t gc_wake;
static int has_sem;

/* SIGUSR2: collect now; async-signal-safe */
static void on_usr2(int sig)
{
	int saved = errno;

	(void)sig;
	sem_post(&gc_wake);
	errno = saved;
}

static void *gc_main(void *arg)
{
	uint64_t bytes;

	(void)arg;
	tracker_guard = 1;	/* for good: nothing this thread does is tracked */
	__atomic_store_n(&tracker_gc_tid, (uint32_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	for (;;) {
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)(tracker_cfg.gc_ms / 1000u);
		until.tv_nsec += (long)(tracker_cfg.gc_ms % 1000u) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (sem_clockwait(&gc_wake, CLOCK_MONOTONIC, &until) < 0 && errno == EINTR)
			;
		if (__atomic_load_n(&tracker_gc_stopping, __ATOMIC_ACQUIRE) || !tracker_active)
			return NULL;
		if (tracker_reach_collect(&bytes) < 0)
			return NULL;	/* it said why: no more collections in this process */
	}
}

void tracker_gc_start(void)
{
	struct sigaction usr2 = { .sa_handler = on_usr2, .sa_flags = SA_RESTART }, old;
	sigset_t all, mask;
	pthread_t thread;

	if (!tracker_cfg.gc_ms || !tracker_active)
		return;
	__atomic_store_n(&tracker_gc_tid, 0, __ATOMIC_RELEASE);
	if (!has_sem && sem_init(&gc_wake, 0, 0) < 0) {
		tracker_say("no garbage collection", "cannot make its semaphore");
		return;
	}
	has_sem = 1;
	if (sigaction(SIGUSR2, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
		sigaction(SIGUSR2, &usr2, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &mask);
	if (tracker_thread_create(&thread, gc_main) == 0)
		pthread_detach(thread);
	else
		tracker_say("no garbage collection", "cannot start its thread");
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
}

/*
 * memray_collect_garbage: collect now, in the calling thread; the bytes
 * freed, 0 when untracked or without a live-block index (no --collect-
 * garbage or --reachability). Not from a hook or a signal handler.
 */
TRACKER_EXPORT size_t memray_collect_garbage(void)
{
	uint64_t bytes = 0;

	if (!tracker_active || tracker_guard || getpid() != tracker_cfg.pid ||
	    !(tracker_cfg.flags & CAPTURE_F_REACHABILITY))
		return 0;
	tracker_guard++;
	tracker_reach_collect(&bytes);
	tracker_guard--;
	return (size_t)bytes;
}
