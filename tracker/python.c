/*
 * tracker/python: reading CPython's frame chain. The reasons and the
 * rules are in python.h.
 */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define Py_BUILD_CORE 1
#include <Python.h>

#include "capture/format.h"
#include "tracker/python.h"
#include "tracker/tracker.h"

int tracker_python_on;

#if PY_VERSION_HEX >= 0x030b0000 && PY_VERSION_HEX < 0x030c0000
#define HAVE_LAYOUT 1
#include <internal/pycore_frame.h>
#include <internal/pycore_runtime.h>
#else
#define HAVE_LAYOUT 0
#endif

static struct {
	PyThreadState *(*this_thread)(void);
	int (*addr2line)(PyCodeObject *, int);
	const char *(*version)(void);
	void *runtime;			/* &_PyRuntime */
	uintptr_t eval_lo, eval_hi;	/* _PyEval_EvalFrameDefault */
} py;

static void *sym(const char *name)
{
	return dlsym(RTLD_DEFAULT, name);
}

/* major * 100 + minor of the interpreter in the process, or 0 */
static int running_version(void)
{
	const unsigned long *hex = sym("Py_Version");
	const char *s;
	int major, minor;

	if (hex)
		return (int)((*hex >> 24) & 0xff) * 100 + (int)((*hex >> 16) & 0xff);
	s = py.version ? py.version() : NULL;	/* before 3.11: "3.10.13 (main, ...)" */
	if (s && sscanf(s, "%d.%d", &major, &minor) == 2)
		return major * 100 + minor;
	return 0;
}

int tracker_python_init(void)
{
	int version;

	py.version = (const char *(*)(void))sym("Py_GetVersion");
	py.this_thread = (PyThreadState * (*)(void)) sym("PyGILState_GetThisThreadState");
	if (!py.version || !py.this_thread)
		return 0;	/* not Python */
	version = running_version();
#if HAVE_LAYOUT
	if (version == PY_MAJOR_VERSION * 100 + PY_MINOR_VERSION) {
		void *eval = sym("_PyEval_EvalFrameDefault");
		const ElfW(Sym) *es = NULL;
		Dl_info info;

		py.addr2line = (int (*)(PyCodeObject *, int))sym("PyCode_Addr2Line");
		py.runtime = sym("_PyRuntime");
		if (eval && dladdr1(eval, &info, (void **)&es, RTLD_DL_SYMENT) && es) {
			py.eval_lo = (uintptr_t)eval;
			py.eval_hi = py.eval_lo + es->st_size;
		}
		if (py.addr2line && py.runtime) {
			tracker_python_on = 1;
			return 1;
		}
	}
#endif
	{
		char detail[160];

#if HAVE_LAYOUT
		snprintf(detail, sizeof(detail),
			 "Python %d.%d is not supported (this tracker reads %d.%d); recording native frames only",
			 version / 100, version % 100, PY_MAJOR_VERSION, PY_MINOR_VERSION);
#else
		snprintf(detail, sizeof(detail),
			 "Python %d.%d is not supported (this tracker was built without a Python it can read); "
			 "recording native frames only", version / 100, version % 100);
#endif
		tracker_say("no Python frames", detail);
	}
	return -1;
}

int tracker_python_is_eval(uintptr_t ip)
{
	return ip - 1 >= py.eval_lo && ip - 1 < py.eval_hi;
}

#if HAVE_LAYOUT

int tracker_python_walk(struct py_raw *out, int max)
{
	_PyRuntimeState *rt = py.runtime;
	PyThreadState *ts, *finalizing;
	_PyInterpreterFrame *f;
	int n = 0;

	if (!tracker_python_on || !(ts = py.this_thread()))
		return 0;
	finalizing = (PyThreadState *)_Py_atomic_load_relaxed(&rt->_finalizing);
	if (finalizing && finalizing != ts)
		return 0;
	if (!ts->cframe)
		return 0;
	for (f = ts->cframe->current_frame; f && n < max; f = f->previous) {
		PyCodeObject *co = f->f_code;
		int started = f->owner == FRAME_OWNED_BY_GENERATOR ||
			      f->prev_instr >= _PyCode_CODE(co) + co->_co_firsttraceable;

		if (!started && !f->is_entry)
			continue;	/* being set up: not part of the stack yet */
		out[n].code = started ? co : NULL;
		out[n].instr = f->prev_instr;
		out[n].name = co->co_name;
		out[n].file = co->co_filename;
		out[n].is_entry = f->is_entry;
		n++;
	}
	return n;
}

unsigned tracker_python_line(const struct py_raw *f)
{
	PyCodeObject *co = (PyCodeObject *)f->code;
	int offset = (int)((const _Py_CODEUNIT *)f->instr - _PyCode_CODE(co));
	int line = py.addr2line(co, offset * (int)sizeof(_Py_CODEUNIT));

	return line > 0 ? (unsigned)line : 0;
}

/* UTF-8 of a str object, copied by hand (no call can allocate) */
static size_t copy_str(PyObject *o, char *buf, size_t cap)
{
	PyASCIIObject *a = (PyASCIIObject *)o;
	size_t n = 0;

	if (!cap)
		return 0;
	if (!o || !PyUnicode_Check(o) || !a->state.compact) {
		buf[0] = '?';
		return 1;
	}
	if (a->state.ascii) {
		n = (size_t)a->length < cap ? (size_t)a->length : cap;
		memcpy(buf, (const char *)(a + 1), n);
		return n;
	}
	const PyCompactUnicodeObject *c = (const PyCompactUnicodeObject *)o;
	const void *data = c + 1;
	unsigned kind = a->state.kind;

	if (c->utf8) {
		n = (size_t)c->utf8_length < cap ? (size_t)c->utf8_length : cap;
		memcpy(buf, c->utf8, n);
		return n;
	}
	for (Py_ssize_t i = 0; i < a->length; i++) {
		Py_UCS4 ch = kind == PyUnicode_1BYTE_KIND   ? ((const Py_UCS1 *)data)[i]
			     : kind == PyUnicode_2BYTE_KIND ? ((const Py_UCS2 *)data)[i]
							    : ((const Py_UCS4 *)data)[i];
		char tmp[4];
		size_t len;

		if (ch < 0x80) {
			tmp[0] = (char)ch;
			len = 1;
		} else if (ch < 0x800) {
			tmp[0] = (char)(0xc0 | (ch >> 6));
			tmp[1] = (char)(0x80 | (ch & 0x3f));
			len = 2;
		} else if (ch < 0x10000) {
			tmp[0] = (char)(0xe0 | (ch >> 12));
			tmp[1] = (char)(0x80 | ((ch >> 6) & 0x3f));
			tmp[2] = (char)(0x80 | (ch & 0x3f));
			len = 3;
		} else {
			tmp[0] = (char)(0xf0 | (ch >> 18));
			tmp[1] = (char)(0x80 | ((ch >> 12) & 0x3f));
			tmp[2] = (char)(0x80 | ((ch >> 6) & 0x3f));
			tmp[3] = (char)(0x80 | (ch & 0x3f));
			len = 4;
		}
		if (n + len > cap)
			break;
		memcpy(buf + n, tmp, len);
		n += len;
	}
	return n;
}

size_t tracker_python_name(const void *code, char *buf, size_t cap)
{
	return copy_str(((const PyCodeObject *)code)->co_name, buf, cap);
}

size_t tracker_python_file(const void *code, char *buf, size_t cap)
{
	return copy_str(((const PyCodeObject *)code)->co_filename, buf, cap);
}

unsigned tracker_python_first_line(const void *code)
{
	int line = ((const PyCodeObject *)code)->co_firstlineno;

	return line > 0 ? (unsigned)line : 0;
}

/* ------------------------------------------------------------------ */
/* --trace-python-allocators                                            */

/*
 * One hook set per domain (MEM and OBJ), each wrapping the allocator that
 * was in place. The call underneath runs under the recursion guard, so
 * pymalloc's own arenas and the large blocks it passes to malloc are not
 * recorded a second time.
 */
static PyMemAllocatorEx orig[2];

static void *hook_malloc(void *ctx, size_t n)
{
	PyMemAllocatorEx *o = ctx;
	int track = tracker_active && !tracker_guard;
	void *p;

	tracker_guard++;
	p = o->malloc(o->ctx, n);
	tracker_guard--;
	if (p && track)
		tracker_record_alloc(p, n, CAPTURE_ALLOC_PYMALLOC_MALLOC);
	return p;
}

static void *hook_calloc(void *ctx, size_t n, size_t size)
{
	PyMemAllocatorEx *o = ctx;
	int track = tracker_active && !tracker_guard;
	void *p;

	tracker_guard++;
	p = o->calloc(o->ctx, n, size);
	tracker_guard--;
	if (p && track)
		tracker_record_alloc(p, n * size, CAPTURE_ALLOC_PYMALLOC_CALLOC);
	return p;
}

/*
 * The MEM and OBJ domains are only called with the GIL held, so no other
 * thread can be handed the old address between the call and the records:
 * realloc can be recorded after it succeeded, with both sizes right.
 */
static void *hook_realloc(void *ctx, void *old, size_t n)
{
	PyMemAllocatorEx *o = ctx;
	int track = tracker_active && !tracker_guard;
	void *p;

	tracker_guard++;
	p = o->realloc(o->ctx, old, n);
	tracker_guard--;
	if (track && p) {
		if (old)
			tracker_record_free(old, 0, CAPTURE_ALLOC_PYMALLOC_FREE);
		tracker_record_alloc(p, n, CAPTURE_ALLOC_PYMALLOC_REALLOC);
	}
	return p;
}

static void hook_free(void *ctx, void *p)
{
	PyMemAllocatorEx *o = ctx;

	if (p && tracker_active && !tracker_guard)
		tracker_record_free(p, 0, CAPTURE_ALLOC_PYMALLOC_FREE);
	tracker_guard++;
	o->free(o->ctx, p);
	tracker_guard--;
}

int tracker_python_hook_allocators(void)
{
	void (*get)(PyMemAllocatorDomain, PyMemAllocatorEx *) =
		(void (*)(PyMemAllocatorDomain, PyMemAllocatorEx *))sym("PyMem_GetAllocator");
	void (*set)(PyMemAllocatorDomain, PyMemAllocatorEx *) =
		(void (*)(PyMemAllocatorDomain, PyMemAllocatorEx *))sym("PyMem_SetAllocator");
	static const PyMemAllocatorDomain domains[2] = { PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ };

	if (!get || !set)
		return -1;
	for (int i = 0; i < 2; i++) {
		PyMemAllocatorEx hook = { &orig[i], hook_malloc, hook_calloc, hook_realloc, hook_free };

		get(domains[i], &orig[i]);
		set(domains[i], &hook);
	}
	return 0;
}

#else	/* a Python whose layout this build does not know */

int tracker_python_walk(struct py_raw *out, int max)
{
	(void)out;
	(void)max;
	return 0;
}

unsigned tracker_python_line(const struct py_raw *f)
{
	(void)f;
	return 0;
}

size_t tracker_python_name(const void *code, char *buf, size_t cap)
{
	(void)code;
	(void)buf;
	(void)cap;
	return 0;
}

size_t tracker_python_file(const void *code, char *buf, size_t cap)
{
	return tracker_python_name(code, buf, cap);
}

unsigned tracker_python_first_line(const void *code)
{
	(void)code;
	return 0;
}

int tracker_python_hook_allocators(void)
{
	return -1;
}

#endif
