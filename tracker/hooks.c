/*
 * tracker/hooks: the functions the tracker interposes by LD_PRELOAD.
 *
 * Each hook calls the real function (found with dlsym(RTLD_NEXT)) and
 * reports to tracker.c unless the recursion guard says the call comes from
 * the tracker itself. Before the real functions are known, dlsym's own
 * calloc is served from a small static pool that free() recognises; the
 * pool is never given back, and when it runs out the call returns NULL
 * rather than aborting. The pool also serves what dlsym and glibc's
 * pthread_create allocate for the tracker (tracker_thread_create): none
 * of the tracker's blocks sits in the program's heap, where it would move
 * the program's own (common/strbuf.c says what that once cost).
 *
 * These functions may run in signal handlers (free in a handler is common
 * enough): they use no stdio and take no lock of their own. A malloc-family
 * call from a handler that interrupted the tracker is parked for it to
 * record (note_alloc, note_free); the mmap family is not, as libunwind
 * maps memory from inside the tracker.
 */
#include <dlfcn.h>
#include <malloc.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/format.h"
#include "tracker/memray_test.h"
#include "tracker/record.h"
#include "tracker/tracker.h"

extern char **environ;

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*aligned_alloc_fn)(size_t, size_t);
typedef void *(*valloc_fn)(size_t);
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_fn)(void *, size_t);
typedef void *(*mremap_fn)(void *, size_t, size_t, int, ...);
typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*setname_fn)(pthread_t, const char *);
typedef int (*dlclose_fn)(void *);

static struct {
	malloc_fn malloc;
	free_fn free;
	calloc_fn calloc;
	realloc_fn realloc;
	posix_memalign_fn posix_memalign;
	aligned_alloc_fn aligned_alloc;
	aligned_alloc_fn memalign;
	valloc_fn valloc;
	valloc_fn pvalloc;
	mmap_fn mmap;
	mmap_fn mmap64;
	munmap_fn munmap;
	mremap_fn mremap;
	execve_fn execve;
	execve_fn execvpe;
	fexecve_fn fexecve;
	setname_fn setname;
	dlclose_fn dlclose;
} real;

/* set while resolve() runs: no second resolve from the allocations of its dlsym */
static volatile int resolving;
/* set on a thread while glibc works for the tracker (dlsym, starting a thread): its blocks come from the pool */
static __thread volatile int is_for_us __attribute__((tls_model("initial-exec")));	/* volatile: else dropped around dlsym */

static char pool[16384] __attribute__((aligned(16)));
static size_t pool_used;

static int pool_owns(const void *p)
{
	return (const char *)p >= pool && (const char *)p < pool + sizeof(pool);
}

static void *pool_alloc(size_t n)
{
	size_t start = __atomic_fetch_add(&pool_used, (n + 15) & ~(size_t)15, __ATOMIC_RELAXED);

	if (start + n > sizeof(pool))
		return NULL;
	return pool + start;	/* static storage: already zero */
}

void *tracker_dlsym(void *handle, const char *name)
{
	void *p;

	is_for_us++;
	p = dlsym(handle, name);
	is_for_us--;
	return p;
}

static void *next(const char *name)
{
	return tracker_dlsym(RTLD_NEXT, name);
}

static void resolve(void)
{
	if (resolving)
		return;
	resolving = 1;
	real.calloc = (calloc_fn)next("calloc");
	real.malloc = (malloc_fn)next("malloc");
	real.free = (free_fn)next("free");
	real.realloc = (realloc_fn)next("realloc");
	real.posix_memalign = (posix_memalign_fn)next("posix_memalign");
	real.aligned_alloc = (aligned_alloc_fn)next("aligned_alloc");
	real.memalign = (aligned_alloc_fn)next("memalign");
	real.valloc = (valloc_fn)next("valloc");
	real.pvalloc = (valloc_fn)next("pvalloc");
	real.mmap = (mmap_fn)next("mmap");
	real.mmap64 = (mmap_fn)next("mmap64");
	real.munmap = (munmap_fn)next("munmap");
	real.mremap = (mremap_fn)next("mremap");
	real.execve = (execve_fn)next("execve");
	real.execvpe = (execve_fn)next("execvpe");
	real.fexecve = (fexecve_fn)next("fexecve");
	real.setname = (setname_fn)next("pthread_setname_np");
	real.dlclose = (dlclose_fn)next("dlclose");
	if (!real.mmap64)
		real.mmap64 = real.mmap;
	resolving = 0;
}

#define ENSURE(fn)                 \
	do {                       \
		if (!real.fn)      \
			resolve(); \
	} while (0)

static inline int tracking(void)
{
	return tracker_active && !tracker_guard;
}

/*
 * Record an allocation of the malloc family: now, or, when a signal handler
 * interrupted the tracker on this thread, parked for it (tracker/defer.c).
 */
static inline __attribute__((always_inline)) void note_alloc(void *p, size_t n, unsigned kind)
{
	if (!p || !tracker_active)
		return;
	if (!tracker_guard) {
		if (!tracker_record_alloc_here(p, n, kind))
			tracker_record_alloc(p, n, kind);
	} else if (tracker_hot) {
		tracker_park(p, n, kind, 0);
	}
}

/* the same for a free, before the real free */
static inline __attribute__((always_inline)) void note_free(void *p)
{
	if (!tracker_active)
		return;
	if (!tracker_guard)
		tracker_record_free_here(p, 0, CAPTURE_ALLOC_FREE);
	else if (tracker_hot)
		tracker_park(p, 0, CAPTURE_ALLOC_FREE, 1);
}

void tracker_real_free(void *p)
{
	if (p && !pool_owns(p))
		real.free(p);
}

int tracker_thread_create(pthread_t *thread, void *(*fn)(void *))
{
	int ret;

	is_for_us++;
	ret = pthread_create(thread, NULL, fn, NULL);
	is_for_us--;
	return ret;
}

TRACKER_EXPORT void *malloc(size_t n)
{
	void *p;

	ENSURE(malloc);
	if (!real.malloc || is_for_us) {
		if ((p = pool_alloc(n)) || !real.malloc)
			return p;	/* a full pool sends the tracker's blocks to the real heap after all */
	}
	p = real.malloc(n);
	note_alloc(p, n, CAPTURE_ALLOC_MALLOC);
	return p;
}

TRACKER_EXPORT void free(void *p)
{
	if (!p || pool_owns(p))
		return;
	ENSURE(free);
	note_free(p);	/* before the real free */
	real.free(p);
}

TRACKER_EXPORT void *calloc(size_t n, size_t size)
{
	void *p;

	ENSURE(calloc);
	if (!real.calloc || is_for_us) {
		if (size && n > SIZE_MAX / size)
			return NULL;
		if ((p = pool_alloc(n * size)) || !real.calloc)
			return p;
	}
	p = real.calloc(n, size);
	note_alloc(p, n * size, CAPTURE_ALLOC_CALLOC);
	return p;
}

/*
 * realloc and reallocarray: the old block is in flight during the call, and
 * its FREE is written before anyone's ALLOC of that address; a failed
 * realloc records nothing (tracker/defer.c). In a signal handler that
 * interrupted the tracker, both are parked.
 * reallocarray goes to the real realloc after its own overflow check:
 * glibc's reallocarray calls realloc through the PLT, which would reach
 * our realloc and record the block twice.
 */
static void *realloc_common(void *old, size_t total)
{
	int track = tracking(), token;
	void *p;

	if (pool_owns(old)) {
		/* a block of the bootstrap pool moves to the real heap */
		p = malloc(total);
		if (p)
			memcpy(p, old, total < sizeof(pool) - (size_t)((char *)old - pool)
				       ? total : sizeof(pool) - (size_t)((char *)old - pool));
		return p;
	}
	if (!track) {
		p = real.realloc(old, total);
		if (tracker_active && tracker_guard && tracker_hot && (p || !total)) {
			if (old)
				tracker_park(old, 0, CAPTURE_ALLOC_FREE, 1);
			if (p)
				tracker_park(p, total, CAPTURE_ALLOC_REALLOC, 0);
		}
		return p;
	}
	if (!old) {
		p = real.realloc(old, total);
		note_alloc(p, total, CAPTURE_ALLOC_REALLOC);
		return p;
	}
	token = tracker_realloc_begin(old);
	p = real.realloc(old, total);
	tracker_realloc_end(token, old, p, total);
	return p;
}

TRACKER_EXPORT void *realloc(void *old, size_t size)
{
	ENSURE(realloc);
	return realloc_common(old, size);
}

TRACKER_EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
	ENSURE(realloc);
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc_common(old, n * size);
}

TRACKER_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	int ret;

	ENSURE(posix_memalign);
	ret = real.posix_memalign(out, align, size);
	if (!ret)
		note_alloc(*out, size, CAPTURE_ALLOC_POSIX_MEMALIGN);
	return ret;
}

TRACKER_EXPORT void *aligned_alloc(size_t align, size_t size)
{
	void *p;

	ENSURE(aligned_alloc);
	p = real.aligned_alloc(align, size);
	note_alloc(p, size, CAPTURE_ALLOC_ALIGNED_ALLOC);
	return p;
}

TRACKER_EXPORT void *memalign(size_t align, size_t size)
{
	void *p;

	ENSURE(memalign);
	p = real.memalign(align, size);
	note_alloc(p, size, CAPTURE_ALLOC_MEMALIGN);
	return p;
}

TRACKER_EXPORT void *valloc(size_t size)
{
	void *p;

	ENSURE(valloc);
	p = real.valloc(size);
	note_alloc(p, size, CAPTURE_ALLOC_VALLOC);
	return p;
}

TRACKER_EXPORT void *pvalloc(size_t size)
{
	void *p;

	ENSURE(pvalloc);
	p = real.pvalloc(size);
	if (p && tracking()) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);

		/* pvalloc rounds up to whole pages, and so is what it takes */
		tracker_record_alloc(p, size ? (size + page - 1) & ~(page - 1) : page,
				     CAPTURE_ALLOC_PVALLOC);
	}
	return p;
}

static void *mmap_common(mmap_fn fn, void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = fn(addr, len, prot, flags, fd, off);

	if (p != MAP_FAILED && tracking())
		tracker_record_alloc(p, len, CAPTURE_ALLOC_MMAP);
	return p;
}

TRACKER_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	ENSURE(mmap);
	return mmap_common(real.mmap, addr, len, prot, flags, fd, off);
}

TRACKER_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	ENSURE(mmap64);
	return mmap_common(real.mmap64, addr, len, prot, flags, fd, off);
}

TRACKER_EXPORT int munmap(void *addr, size_t len)
{
	ENSURE(munmap);
	if (tracking())
		tracker_record_free(addr, len, CAPTURE_ALLOC_MUNMAP);
	return real.munmap(addr, len);
}

/*
 * Unloading code: libunwind's fast walk keeps a frame rule per address
 * that nothing can flush, so the tracker must know what went (unwind.c).
 * Hooking dlclose, unlike dlopen, changes nothing for the program: its
 * effect does not depend on who calls it.
 */
TRACKER_EXPORT int dlclose(void *handle)
{
	struct tracker_unload u;
	int ret;

	ENSURE(dlclose);
	tracker_guard++;	/* whatever the loader allocates for us is not the program's */
	tracker_unwind_unload_begin(&u, handle);
	tracker_guard--;
	ret = real.dlclose(handle);
	tracker_guard++;
	tracker_unwind_unload_end(&u);
	tracker_guard--;
	return ret;
}

TRACKER_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *want = NULL, *p;
	int track;

	ENSURE(mremap);
	if (flags & MREMAP_FIXED) {
		va_list ap;

		va_start(ap, flags);
		want = va_arg(ap, void *);
		va_end(ap);
	}
	track = tracking();
	if (track)
		tracker_record_free(old, old_len, CAPTURE_ALLOC_MUNMAP);
	p = real.mremap(old, old_len, new_len, flags, want);
	if (track)
		tracker_record_alloc(p == MAP_FAILED ? old : p, p == MAP_FAILED ? old_len : new_len,
				     CAPTURE_ALLOC_MMAP);
	return p;
}

/* exec: flush first, and keep the tracker in the new image's environment */

static int exec_with(int (*call)(const void *, char *const[], char *const[]), const void *what,
		     char *const argv[], char *const envp[])
{
	char *room[512];	/* the environment, if it fits: a typical one does */
	char **env;
	int ret, saved;

	tracker_flush_before_exec();
	env = tracker_exec_env(envp, room, sizeof(room));
	ret = call(what, argv, env ? env : envp);
	saved = errno;
	tracker_exec_failed();
	tracker_free_env(env, room);
	errno = saved;
	return ret;
}

static int call_execve(const void *path, char *const argv[], char *const envp[])
{
	return real.execve(path, argv, envp);
}

static int call_execvpe(const void *file, char *const argv[], char *const envp[])
{
	return real.execvpe(file, argv, envp);
}

static int call_fexecve(const void *fd, char *const argv[], char *const envp[])
{
	return real.fexecve(*(const int *)fd, argv, envp);
}

TRACKER_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	ENSURE(execve);
	return exec_with(call_execve, path, argv, envp);
}

TRACKER_EXPORT int execv(const char *path, char *const argv[])
{
	ENSURE(execve);
	return exec_with(call_execve, path, argv, environ);
}

TRACKER_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	ENSURE(execvpe);
	return exec_with(call_execvpe, file, argv, envp);
}

TRACKER_EXPORT int execvp(const char *file, char *const argv[])
{
	ENSURE(execvpe);
	return exec_with(call_execvpe, file, argv, environ);
}

TRACKER_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	ENSURE(fexecve);
	return exec_with(call_fexecve, &fd, argv, envp);
}

/*
 * The execl family: gather the variadic arguments into an array. The
 * array lives in memory mapped here, so that no allocation is needed in
 * a child of vfork(); with more than a page worth of arguments it grows.
 */
static char **gather_args(const char *arg0, va_list ap, char ***envp_out, size_t *map_len)
{
	size_t cap, n = 0;
	char **args = NULL;
	va_list cp;

	va_copy(cp, ap);
	for (const char *a = arg0; a; a = va_arg(cp, const char *))
		n++;
	va_end(cp);
	cap = n + 1;
	*map_len = (cap * sizeof(char *) + 4095) & ~(size_t)4095;
	ENSURE(mmap);
	args = real.mmap(NULL, *map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (args == MAP_FAILED)
		return NULL;
	n = 0;
	for (const char *a = arg0; a; a = va_arg(ap, const char *))
		args[n++] = (char *)a;
	args[n] = NULL;
	if (envp_out)
		*envp_out = va_arg(ap, char **);
	return args;
}

static int execl_common(int with_path, int with_env, const char *what, const char *arg0, va_list ap)
{
	char **env = environ, **args;
	size_t len;
	int ret, saved;

	args = gather_args(arg0, ap, with_env ? &env : NULL, &len);
	if (!args) {
		errno = E2BIG;
		return -1;
	}
	ret = with_path ? execvpe(what, args, env) : execve(what, args, env);
	saved = errno;
	real.munmap(args, len);
	errno = saved;
	return ret;
}

TRACKER_EXPORT int execl(const char *path, const char *arg0, ...)
{
	va_list ap;
	int ret;

	va_start(ap, arg0);
	ret = execl_common(0, 0, path, arg0, ap);
	va_end(ap);
	return ret;
}

TRACKER_EXPORT int execlp(const char *file, const char *arg0, ...)
{
	va_list ap;
	int ret;

	va_start(ap, arg0);
	ret = execl_common(1, 0, file, arg0, ap);
	va_end(ap);
	return ret;
}

TRACKER_EXPORT int execle(const char *path, const char *arg0, ...)
{
	va_list ap;
	int ret;

	va_start(ap, arg0);
	ret = execl_common(0, 1, path, arg0, ap);
	va_end(ap);
	return ret;
}

/* _exit skips destructors: end the capture here, or the last 10 ms are lost */
typedef void (*exit_fn)(int);

TRACKER_EXPORT void _exit(int status)
{
	static exit_fn real_exit;

	if (!real_exit)
		real_exit = (exit_fn)next("_exit");
	tracker_at_exit();
	real_exit(status);
	__builtin_unreachable();
}

TRACKER_EXPORT void _Exit(int status)
{
	_exit(status);
}

TRACKER_EXPORT int pthread_setname_np(pthread_t thread, const char *name)
{
	int ret;

	ENSURE(setname);
	ret = real.setname(thread, name);
	if (!ret && tracking() && pthread_equal(thread, pthread_self()))
		tracker_record_thread_name(name);
	return ret;
}

/*
 * The public test-marker API (memray_test.h): a test runner calls these
 * around each test so that `memray check` can judge tests one by one.
 */
TRACKER_EXPORT void memray_test_begin(const char *name)
{
	if (tracking())
		tracker_record_marker(CAPTURE_MARK_TEST_BEGIN, name ? name : "");
}

TRACKER_EXPORT void memray_test_end(void)
{
	if (tracking())
		tracker_record_marker(CAPTURE_MARK_TEST_END, "");
}
