/*
 * tracker: the library `memray run` preloads into the tracked program.
 *
 * THE IDEA
 *
 * The tracker only records; it never thinks. Each hooked allocation call
 * goes to the real allocator first, and then, outside any lock, the
 * calling thread unwinds its stack with libunwind and turns it into an id
 * of the process-wide stack trie. Still without a lock it stages an ALLOC
 * entry in a ring of its own, numbered from one atomic counter; a thread
 * whose ring fills, the writer's tick, and every record written under the
 * global lock move the staged entries into the current block buffer,
 * merged by number (tracker/stage.c). Only a stack node never seen before
 * takes the lock on the allocation path, to insert it and write its
 * FRAME record. A writer thread wakes every 10 ms
 * (or when a buffer fills), samples the resident set size, compresses the
 * full buffers with lz4 and writes them to the capture file. Symbols,
 * peaks and leaks are the readers' business (report/).
 *
 * THE FIRST RULE: NEVER HARM THE HOST
 *
 * - A thread-local recursion guard (initial-exec TLS, so touching it never
 *   allocates) sends every allocation the tracker causes itself (libunwind's
 *   caches, pthread internals, strerror) straight to the real allocator.
 *   The writer thread sets it for good.
 * - Every fallible step (disk full, a file size limit, no memory for a
 *   buffer, no writer thread) ends tracking: one line on fd 2, the hooks
 *   turn into plain forwarders, and the program runs on with its own exit
 *   status. The writer thread blocks all signals, so SIGXFSZ from a file
 *   size limit becomes an EFBIG error instead of killing the program.
 * - The lock is never held across a call that can block on another lock
 *   or re-enter: unwinding (libunwind takes the loader lock) and reading
 *   the module list (dl_iterate_phdr) happen outside it; writing happens
 *   in the writer thread without it. fork() is made safe by
 *   pthread_atfork handlers that hold the lock across the fork.
 * - A free is recorded before the real free (the address may be handed
 *   out again at once by another thread, whose ALLOC must come after our
 *   FREE in the stream). realloc registers the old block as in flight:
 *   its FREE is written by whichever comes first, another ALLOC of that
 *   address or the realloc's success; a failed realloc records nothing,
 *   so the block keeps its size and stack (tracker/defer.c).
 * - A signal handler that allocates while its thread is inside the
 *   tracker is not lost to the recursion guard: its calls are parked and
 *   recorded as the tracker leaves, or counted as lost (tracker/defer.c).
 *
 * PYTHON
 *
 * When the process is CPython (tracker/python.h finds it at start), the
 * thread reads its Python frames from the interpreter's frame chain before
 * taking the lock, and looks up the line only of frames that changed since
 * its last stack. Under the lock each new code object gets an id and a
 * CODE record, each Python frame is a trie node keyed by PY_TAG | code id
 * | line and written as PYFRAME. The stack recorded is the Python frames
 * alone, or with --native the native stack with each eval-loop frame
 * replaced by the Python frames it runs; a thread with no Python frame
 * gets its native stack. A Python process records under the lock as
 * before, without stages: its code table and frame merge are not built for
 * lookups without it, and the interpreter's own lock already keeps its
 * threads from allocating at once.
 *
 * WHY NO dlopen HOOK
 *
 * glibc's dlopen looks at its caller to pick the RUNPATH used to find the
 * library; a wrapper makes the tracker the caller and silently changes
 * which library a program loads. Instead the writer thread compares the
 * loader's add/remove counters (dl_iterate_phdr) on every tick and writes
 * a new module set when they moved. Frames of a freshly loaded library may
 * therefore precede its MODULE record by up to one tick; readers look for
 * an ip in later module sets when the one in force does not cover it.
 *
 * PROCESSES
 *
 * `memray run` creates the capture and writes its header, then execs the
 * program with LD_PRELOAD and these variables (spelled once, in
 * common/env.h; tracker/env.c reads them and restores them at exec):
 *
 *   MEMRAY_OUTPUT   absolute path of the capture of the root process
 *   MEMRAY_PID      pid of the root process
 *   MEMRAY_OPTIONS  the header flags (CAPTURE_F_*), decimal
 *   MEMRAY_TRACKER  absolute path of this library (to keep LD_PRELOAD)
 *
 * A process whose pid is MEMRAY_PID appends to MEMRAY_OUTPUT; when the
 * file already holds more than the header, it is an exec'd image and its
 * segment has kind EXEC. Any other process tracks only with --follow-fork,
 * into MEMRAY_OUTPUT.<pid> (creating it with a header if need be). The exec
 * family is hooked to flush the buffers first (an exec loses unwritten
 * memory) and to put LD_PRELOAD and the variables back into the new
 * environment if the program dropped them.
 *
 * LIVE MODE
 *
 * With MEMRAY_LIVE=FD:INODE (common/env.h) the capture is a connected
 * socket instead of a file: `memray run` wrote the header to it and the
 * root process's first image adopts it (the inode proves the number is
 * still that socket). The records are the same; only the writer differs
 * (tracker/ring.c): a reader gone, stalled or 32 MiB behind ends tracking,
 * never the program, and never holds it up beyond the ring's buffers.
 *
 * THE FILES
 *
 *   hooks.c     the interposed functions; they call the entry points below
 *   tracker.c   configuration, segments, start/fork/exit, record_alloc/free
 *   ring.c      record buffers, hand-off, the writer thread, RSS, write errors
 *   stage.c     the threads' staged records and their merge into the stream
 *   stacks.c    the stack trie, the Python code table, per-thread state
 *   modules.c   the module scan and build ids
 *   env.c       the MEMRAY_* variables, and the environment of an exec
 *   defer.c     records written later: a realloc in flight, a signal
 *               handler's calls parked while the tracker ran
 *   python.c    the interpreter's frames (pylayout.c: one layout per version)
 *   unwind.c    MEMRAY_VERIFY_UNWIND: each fast stack checked against a slow,
 *               uncached unwind, for the tests
 *   internal.h  the state they share, who writes it under which lock, and
 *               the per-allocation path as inline functions, so that
 *               tracker_record_alloc calls out only for what is new (a
 *               thread, a trie node, a code object, a full buffer)
 */
#ifndef TRACKER_TRACKER_H
#define TRACKER_TRACKER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define TRACKER_EXPORT __attribute__((visibility("default")))

/* the recursion guard: nonzero while the tracker itself is running */
extern __thread int tracker_guard __attribute__((tls_model("initial-exec")));
/* nonzero while allocations are being recorded */
extern volatile int tracker_active;
/*
 * Nonzero while record_alloc/record_free run on this thread: a malloc-family
 * hook that finds it set was called by a signal handler that interrupted
 * them, and parks the call with tracker_park() (tracker/defer.c).
 */
extern __thread int tracker_hot __attribute__((tls_model("initial-exec")));

/* record an allocation of `size` bytes at p by allocator `kind` */
void tracker_record_alloc(void *p, size_t size, unsigned kind);
/* record a deallocation (FREE, or MUNMAP with its size) */
void tracker_record_free(void *p, size_t size, unsigned kind);
/* async-signal-safe: keep a call for the interrupted tracker to record as it leaves */
void tracker_park(void *ptr, size_t size, unsigned kind, int is_free);
/*
 * realloc(old): begin before the real call, end after it with its result.
 * A failed realloc records nothing (see tracker/defer.c). begin returns the
 * token end wants.
 */
int tracker_realloc_begin(void *old);
void tracker_realloc_end(int token, void *old, void *p, size_t size);
/* write everything buffered to the file before the process image ends */
void tracker_flush_before_exec(void);
/* the exec failed: track on (a new segment, if the last one ended for the exec) */
void tracker_exec_failed(void);
/* end the capture: the process is exiting (exit or _exit) */
void tracker_at_exit(void);
/*
 * An environment for exec: envp with LD_PRELOAD and the MEMRAY_* variables
 * restored, or NULL when nothing needs changing (or no memory). It is
 * built in `room` (the caller's stack) when it fits, else in a mapping of
 * its own: never in the program's heap, as the caller may be a child of
 * vfork(), whose blocks would stay in its parent's heap after the exec
 * (16 KB a spawn, once). The caller gives it back with tracker_free_env()
 * if the exec fails.
 */
char **tracker_exec_env(char *const envp[], void *room, size_t room_size);
void tracker_free_env(char **env, const void *room);
void tracker_record_thread_name(const char *name);
void tracker_record_marker(unsigned kind, const char *label);

/*
 * Around the real dlclose(handle): begin notes the code of the handle's
 * module, end marks it as unloaded if it is gone, so that no stack is
 * unwound with rules kept for it (tracker/unwind.c). Not in signal handlers.
 */
struct tracker_unload {
	void *cookie;		/* NULL: nothing to check */
	uintptr_t code[24];	/* unwind.c's note of the module's ranges */
};
void tracker_unwind_unload_begin(struct tracker_unload *u, void *handle);
void tracker_unwind_unload_end(struct tracker_unload *u);

/*
 * pthread_create(thread, NULL, fn, NULL) for one of the tracker's threads,
 * with glibc's blocks for it (the thread's TLS vector) out of the
 * program's heap (hooks.c)
 */
int tracker_thread_create(pthread_t *thread, void *(*fn)(void *));
/* dlsym(handle, name), with what it allocates (an error message) out of the program's heap */
void *tracker_dlsym(void *handle, const char *name);

/* the real free (resolved with dlsym(RTLD_NEXT)), unrecorded: the collector frees lost blocks with it */
void tracker_real_free(void *p);

/* write(2) a message "memray: <msg>\n" to fd 2: safe anywhere */
void tracker_say(const char *msg, const char *detail);

#endif
