/*
 * tracker/python: the Python frames of the calling thread, read from the
 * interpreter's own frame chain at the moment of an allocation.
 *
 * WHY THIS WAY
 *
 * A profile function (PyEval_SetProfile) that keeps a shadow stack costs
 * on every Python call, allocating or not; a prototype cost +42% on a
 * call-heavy script. CPython already keeps the stack we want: each
 * thread state points at its innermost _PyInterpreterFrame, each frame at
 * its code object, its caller and the instruction it is at. Reading that
 * chain costs only when something is allocated, and nothing can go out of
 * step with it (exceptions, abandoned generators, sys.exit in a thread),
 * because it is the interpreter's own truth.
 *
 * WHAT IT TRUSTS
 *
 * - The layout of CPython's private structures, from a table per version
 *   (tracker/pylayout.h) made at build time from each version's own
 *   headers: 3.11, 3.12 and 3.13 where their headers are found. Any other
 *   version is refused at start with one line on stderr, and tracking
 *   goes on with native frames only. The C API is reached with dlsym:
 *   the tracker does not link against libpython, and in a program
 *   without Python this module does nothing.
 * - The end of each C-level call of the eval loop: the frame flagged
 *   is_entry (3.11) or the shim frame owned by the C stack (3.12+), so
 *   that --native can put each group of Python frames where its eval
 *   loop call is in the native stack.
 * - PyGILState_GetThisThreadState(): the calling thread's own state,
 *   which needs no GIL and is NULL before start-up, after shutdown and in
 *   threads that never entered Python. While the runtime is finalizing,
 *   only the finalizing thread's frames are read: the others' states may
 *   be freed under them.
 * - A thread reads only its own chain, and while it is inside malloc its
 *   frames cannot change: no lock is needed, and the GIL is not taken
 *   (zlib releases it around compression, and its allocations are still
 *   seen with their Python stack).
 * - PyCode_Addr2Line() turns an instruction offset into a line without
 *   allocating. Names are copied from the code object's strings by hand,
 *   never through an API that could allocate.
 *
 * Nothing here allocates, takes a lock or calls back into Python beyond
 * PyGILState_GetThisThreadState and PyCode_Addr2Line; every function may
 * run inside any allocation of the program.
 */
#ifndef TRACKER_PYTHON_H
#define TRACKER_PYTHON_H

#include <stddef.h>
#include <stdint.h>

/* one Python frame as found on the chain; pointers are borrowed */
struct py_raw {
	const void *code;	/* PyCodeObject *, NULL: an entry frame not yet started */
	const void *instr;	/* the instruction it is at */
	const void *name, *file;	/* the code's co_name and co_filename objects */
	int is_entry;		/* the outermost frame of one C-level eval call */
};

/*
 * Find CPython in the process. Returns 1 when its frames can be read,
 * 0 when the process is not Python, -1 when it is a version we cannot
 * read (after one line on stderr). Call once, at start.
 */
int tracker_python_init(void);

/*
 * The calling thread's Python frames, innermost first, at most max.
 * Returns the count (0 outside Python).
 */
int tracker_python_walk(struct py_raw *out, int max);

/* the line frame f is at */
unsigned tracker_python_line(const struct py_raw *f);

/* copy a code object's function name / file name / first line */
size_t tracker_python_name(const void *code, char *buf, size_t cap);
size_t tracker_python_file(const void *code, char *buf, size_t cap);
unsigned tracker_python_first_line(const void *code);

/* is return address ip inside the interpreter's eval loop? */
int tracker_python_is_eval(uintptr_t ip);

/*
 * --trace-python-allocators: route the interpreter's object and memory
 * domains through hooks that record PYMALLOC_* events (and hide the
 * malloc and mmap calls pymalloc makes underneath, so nothing counts
 * twice). Returns 0, or -1 when the allocator API is missing.
 */
int tracker_python_hook_allocators(void);

#endif
