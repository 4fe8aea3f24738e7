/*
 * tracker/stopworld: stop every other thread of the process, so that the
 * reachability scan reads memory nobody changes, and know where each one
 * stood: its stack pointer, its registers and its thread pointer.
 *
 * HOW
 *
 * The caller lists the threads from /proc/self/task (raw getdents64: no
 * opendir, which would allocate) and sends each one STOP_SIGNAL with
 * tgkill. The handler, on the thread's own stack, copies the registers
 * the kernel saved in its ucontext and its thread pointer into the
 * thread's slot, says it stopped, and waits (nanosleep, async-signal-safe)
 * until the stop's generation is released. The caller waits at most a
 * second for all of them; a thread that exits meanwhile is dropped.
 *
 * NEVER HARM THE HOST
 *
 * - The handler does nothing for a signal it did not expect (another
 *   sender, a stale generation), and a late arrival after a stop was
 *   given up or released returns at once: generations only grow.
 * - The writer thread and the garbage collector's block every signal and
 *   are never stopped; they hold no pointer of the program.
 * - The signal is taken only while its action is the default one (the
 *   program does not use it), and put back only when every handler has
 *   returned, so no pending signal meets the default action (which would
 *   end the process). A stop given up leaves our handler in place for
 *   good, harmless since it ignores what it does not expect.
 * - The thread slots are mapped once and never unmapped: a handler that
 *   arrives late still writes into memory that exists.
 *
 * x86-64 only (registers from gregs, the thread pointer at %fs:0);
 * elsewhere a stop fails and the scan says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <ucontext.h>

#include "tracker/internal.h"

#define STOP_SIGNAL (SIGRTMAX - 4)
#define MAX_STOPPED 8192

static struct {
	struct stopped_thread *t;	/* MAX_STOPPED slots, mapped once */
	size_t n;
	uint32_t gen, released;		/* atomics: a handler waits while released < gen */
	int inside;			/* handlers running (atomic) */
	int has_action;			/* ours is installed */
	struct sigaction old;
} world;

uintptr_t tracker_thread_pointer(void)
{
#if defined(__x86_64__)
	uintptr_t tp;

	__asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
	return tp;
#else
	return 0;
#endif
}

/* async-signal-safe: runs on the stopped thread */
static void on_stop(int sig, siginfo_t *si, void *ucv)
{
	int saved = errno;
	uint32_t gen = __atomic_load_n(&world.gen, __ATOMIC_ACQUIRE);
	uint32_t tid = (uint32_t)syscall(SYS_gettid);
	struct stopped_thread *t = NULL;

	(void)sig;
	if (si->si_code != SI_TKILL || si->si_pid != getpid() ||
	    __atomic_load_n(&world.released, __ATOMIC_ACQUIRE) >= gen)
		goto out;
	for (size_t i = 0; i < world.n; i++)
		if (world.t[i].tid == tid)
			t = &world.t[i];
	if (!t || t->is_stopped)
		goto out;
	__atomic_add_fetch(&world.inside, 1, __ATOMIC_ACQ_REL);
#if defined(__x86_64__)
	const ucontext_t *uc = ucv;

	t->nregs = NGREG < 32 ? NGREG : 32;
	for (unsigned i = 0; i < t->nregs; i++)
		t->regs[i] = (uintptr_t)uc->uc_mcontext.gregs[i];
	t->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#else
	(void)ucv;
#endif
	t->tp = tracker_thread_pointer();
	__atomic_store_n(&t->is_stopped, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&world.released, __ATOMIC_ACQUIRE) < gen) {
		struct timespec ts = { 0, 50000 };

		nanosleep(&ts, NULL);
	}
	__atomic_sub_fetch(&world.inside, 1, __ATOMIC_ACQ_REL);
out:
	errno = saved;
}

/* the other threads' ids into world.t: their count, or -1 */
static int list_threads(void)
{
	uint32_t self = (uint32_t)syscall(SYS_gettid);
	uint32_t writer = __atomic_load_n(&tracker_ring.writer_tid, __ATOMIC_ACQUIRE);
	uint32_t collector = __atomic_load_n(&tracker_gc_tid, __ATOMIC_ACQUIRE);
	char buf[4096];
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long got;

	if (fd < 0)
		return -1;
	world.n = 0;
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < got;) {
			/* struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name */
			unsigned short reclen;
			const char *name = buf + off + 19;
			uint32_t tid = 0;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			for (; *name >= '0' && *name <= '9'; name++)
				tid = tid * 10 + (uint32_t)(*name - '0');
			off += reclen;
			if (!tid || tid == self || tid == writer || tid == collector)
				continue;
			if (world.n == MAX_STOPPED) {
				close(fd);
				return -1;
			}
			memset(&world.t[world.n], 0, sizeof(world.t[0]));
			world.t[world.n++].tid = tid;
		}
	}
	close(fd);
	return got < 0 ? -1 : (int)world.n;
}

static int take_signal(void)
{
	struct sigaction sa;

	if (world.has_action)
		return 0;
	memset(&sa, 0, sizeof(sa));
	if (sigaction(STOP_SIGNAL, NULL, &world.old) < 0 ||
	    ((world.old.sa_flags & SA_SIGINFO) || world.old.sa_handler != SIG_DFL))
		return -1;	/* the program uses it */
	sa.sa_sigaction = on_stop;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	if (sigaction(STOP_SIGNAL, &sa, NULL) < 0)
		return -1;
	world.has_action = 1;
	return 0;
}

/* wait up to a second for every listed thread to stop (or end): 0, or the tid that did not */
static uint32_t wait_stopped(void)
{
	for (int tick = 0; tick < 10000; tick++) {
		size_t waiting = 0;

		for (size_t i = 0; i < world.n; i++) {
			struct stopped_thread *t = &world.t[i];

			if (__atomic_load_n(&t->is_stopped, __ATOMIC_ACQUIRE))
				continue;
			if (tick % 100 == 99 && syscall(SYS_tgkill, getpid(), t->tid, 0) < 0 && errno == ESRCH) {
				t->tid = 0;	/* it ended */
				t->is_stopped = -1;
				continue;
			}
			waiting = t->tid;
		}
		if (!waiting)
			return 0;
		struct timespec ts = { 0, 100000 };

		nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < world.n; i++)
		if (!__atomic_load_n(&world.t[i].is_stopped, __ATOMIC_ACQUIRE))
			return world.t[i].tid;
	return 0;
}

int tracker_world_stop(struct stopped_thread **threads, size_t *n)
{
	char detail[96];
	uint32_t late;

#if !defined(__x86_64__)
	tracker_say("reachability scan skipped", "only x86-64 is supported");
	return -1;
#endif
	if (!world.t && !(world.t = mapmem_alloc(MAX_STOPPED * sizeof(*world.t)))) {
		tracker_say("reachability scan skipped", "out of memory");
		return -1;
	}
	/* a writer not yet scheduled has not said who it is; it blocks every signal */
	for (int tick = 0; tick < 10000 && tracker_ring.has_writer &&
	     !__atomic_load_n(&tracker_ring.writer_tid, __ATOMIC_ACQUIRE); tick++) {
		struct timespec ts = { 0, 100000 };

		nanosleep(&ts, NULL);
	}
	if (list_threads() < 0) {
		tracker_say("reachability scan skipped", "cannot list the threads");
		return -1;
	}
	if (world.n && take_signal() < 0) {
		tracker_say("reachability scan skipped", "the program uses the signal it needs (SIGRTMAX-4)");
		return -1;
	}
	__atomic_add_fetch(&world.gen, 1, __ATOMIC_ACQ_REL);
	for (size_t i = 0; i < world.n; i++) {
		if (syscall(SYS_tgkill, getpid(), world.t[i].tid, STOP_SIGNAL) < 0) {
			world.t[i].tid = 0;	/* ended already */
			world.t[i].is_stopped = -1;
		}
	}
	late = wait_stopped();
	if (late) {
		tracker_world_resume();
		snprintf(detail, sizeof(detail), "thread %u did not stop within a second", late);
		tracker_say("reachability scan skipped", detail);
		return -1;
	}
	*threads = world.t;
	*n = world.n;
	return 0;
}

void tracker_world_resume(void)
{
	int all_came = 1;

	__atomic_store_n(&world.released, __atomic_load_n(&world.gen, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
	for (size_t i = 0; i < world.n; i++)
		if (!world.t[i].is_stopped)
			all_came = 0;
	for (int tick = 0; tick < 10000 && __atomic_load_n(&world.inside, __ATOMIC_ACQUIRE); tick++) {
		struct timespec ts = { 0, 100000 };

		nanosleep(&ts, NULL);
	}
	/* every signal sent was handled and every handler left: no default action can meet one */
	if (all_came && world.has_action && !__atomic_load_n(&world.inside, __ATOMIC_ACQUIRE)) {
		sigaction(STOP_SIGNAL, &world.old, NULL);
		world.has_action = 0;
	}
}
