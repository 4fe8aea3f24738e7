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
#include <sys/types.h>

#include "capture/format.h"
#include "tracker/pylayout.h"
#include "tracker/python.h"
#include "tracker/tracker.h"

static int tracker_python_on;	/* tracker_python_init() returned 1 */

static struct py_layout L;	/* the running interpreter's */

static struct {
	void *(*this_thread)(void);
	int (*addr2line)(const void *code, int byte_offset);
	const char *(*version)(void);
	const void *code_type;		/* &PyCode_Type */
	void *runtime;			/* &_PyRuntime */
	uintptr_t eval_lo, eval_hi;	/* _PyEval_EvalFrameDefault */
} py;

/* the field of type T at byte offset off of object p */
#define AT(T, p, off) (*(T const *)((const char *)(p) + (off)))

static void *sym(const char *name)
{
	return tracker_dlsym(RTLD_DEFAULT, name);
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

/* "3.11, 3.12": the versions this tracker can read */
static void known_versions(char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; tracker_py_layouts[i] && n + 16 < cap; i++) {
		struct py_layout l;

		tracker_py_layouts[i](&l);
		n += (size_t)snprintf(buf + n, cap - n, "%s%d.%d", i ? ", " : "", l.version / 100, l.version % 100);
	}
	if (!n)
		snprintf(buf, cap, "none: built without Python headers");
}

int tracker_python_init(void)
{
	int version;

	py.version = (const char *(*)(void))sym("Py_GetVersion");
	py.this_thread = (void *(*)(void))sym("PyGILState_GetThisThreadState");
	if (!py.version || !py.this_thread)
		return 0;	/* not Python */
	version = running_version();
	for (int i = 0; tracker_py_layouts[i]; i++) {
		tracker_py_layouts[i](&L);
		if (L.version == version)
			break;
		L.version = 0;
	}
	if (L.version) {
		void *eval = sym("_PyEval_EvalFrameDefault");
		const ElfW(Sym) *es = NULL;
		Dl_info info;

		py.addr2line = (int (*)(const void *, int))sym("PyCode_Addr2Line");
		py.runtime = sym("_PyRuntime");
		py.code_type = sym("PyCode_Type");
		if (eval && dladdr1(eval, &info, (void **)&es, RTLD_DL_SYMENT) && es) {
			py.eval_lo = (uintptr_t)eval;
			py.eval_hi = py.eval_lo + es->st_size;
		}
		if (py.addr2line && py.runtime && py.code_type) {
			tracker_python_on = 1;
			return 1;
		}
	}
	{
		char detail[256], known[96];

		known_versions(known, sizeof(known));
		snprintf(detail, sizeof(detail),
			 "Python %d.%d is not supported (this tracker reads %s); recording native frames only",
			 version / 100, version % 100, known);
		tracker_say("no Python frames", detail);
	}
	return -1;
}

int tracker_python_is_eval(uintptr_t ip)
{
	return ip - 1 >= py.eval_lo && ip - 1 < py.eval_hi;
}

static const char *code_start(const void *code)
{
	return (const char *)code + L.co_code;
}

int tracker_python_walk(struct py_raw *out, int max)
{
	const void *ts, *finalizing, *f;
	int n = 0;

	if (!tracker_python_on || !(ts = py.this_thread()))
		return 0;
	finalizing = __atomic_load_n((void *const *)((const char *)py.runtime + L.rt_finalizing), __ATOMIC_RELAXED);
	if (finalizing && finalizing != ts)
		return 0;
	if (L.ts_cframe != PY_LAYOUT_NONE) {
		const void *cframe = AT(void *, ts, L.ts_cframe);

		if (!cframe)
			return 0;
		f = AT(void *, cframe, L.current_frame);
	} else {
		f = AT(void *, ts, L.current_frame);
	}
	for (; f && n < max; f = AT(void *, f, L.f_previous)) {
		const void *co = AT(void *, f, L.f_code);
		const char *instr = AT(char *, f, L.f_instr);
		int owner = AT(char, f, L.f_owner);
		int entry = L.f_is_entry != PY_LAYOUT_NONE && AT(char, f, L.f_is_entry);
		int started;

		if (owner == L.owner_cstack) {
			/* 3.12+: the shim frame that closes one C-level eval call */
			out[n++] = (struct py_raw){ NULL, NULL, NULL, NULL, 1 };
			continue;
		}
		if (!co || AT(void *, co, L.ob_type) != py.code_type) {
			started = 0;	/* 3.13: a frame of something other than code */
		} else {
			started = owner == L.owner_generator ||
				  instr >= code_start(co) + 2 * (size_t)AT(int, co, L.co_firsttraceable);
		}
		if (!started && !entry)
			continue;	/* being set up: not part of the stack yet */
		out[n].code = started ? co : NULL;
		out[n].instr = instr;
		out[n].name = started ? AT(void *, co, L.co_name) : NULL;
		out[n].file = started ? AT(void *, co, L.co_filename) : NULL;
		out[n].is_entry = entry;
		n++;
	}
	return n;
}

unsigned tracker_python_line(const struct py_raw *f)
{
	int line = py.addr2line(f->code, (int)((const char *)f->instr - code_start(f->code)));

	return line > 0 ? (unsigned)line : 0;
}

/* put code point ch as UTF-8 at buf + n if it fits in cap; the new length */
static size_t put_utf8(char *buf, size_t n, size_t cap, uint32_t ch)
{
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
		return (size_t)-1;
	memcpy(buf + n, tmp, len);
	return n + len;
}

/* UTF-8 of a str object, copied by hand (no call can allocate) */
static size_t copy_str(const void *o, char *buf, size_t cap)
{
	uint32_t state;
	size_t len, n = 0;

	if (!cap)
		return 0;
	if (!o || !(AT(unsigned long, AT(void *, o, L.ob_type), L.tp_flags) & L.unicode_flag) ||
	    !((state = AT(uint32_t, o, L.str_state)) & L.state_compact)) {
		buf[0] = '?';
		return 1;
	}
	len = (size_t)AT(ssize_t, o, L.str_length);
	if (state & L.state_ascii) {
		n = len < cap ? len : cap;
		memcpy(buf, (const char *)o + L.str_ascii_size, n);
		return n;
	}
	if (AT(char *, o, L.str_utf8)) {
		size_t u = (size_t)AT(ssize_t, o, L.str_utf8_length);

		n = u < cap ? u : cap;
		memcpy(buf, AT(char *, o, L.str_utf8), n);
		return n;
	}
	const char *data = (const char *)o + L.str_compact_size;
	unsigned kind = (state & L.state_kind_mask) >> L.state_kind_shift;	/* bytes per code point */

	for (size_t i = 0; i < len; i++) {
		uint32_t ch = kind == 1 ? ((const uint8_t *)data)[i]
			    : kind == 2 ? ((const uint16_t *)data)[i] : ((const uint32_t *)data)[i];
		size_t next = put_utf8(buf, n, cap, ch);

		if (next == (size_t)-1)
			break;
		n = next;
	}
	return n;
}

size_t tracker_python_name(const void *code, char *buf, size_t cap)
{
	return copy_str(AT(void *, code, L.co_name), buf, cap);
}

size_t tracker_python_file(const void *code, char *buf, size_t cap)
{
	return copy_str(AT(void *, code, L.co_filename), buf, cap);
}

unsigned tracker_python_first_line(const void *code)
{
	int line = AT(int, code, L.co_firstlineno);

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
/* the stable allocator API of Python 3.4 and later (PyMemAllocatorEx) */
struct py_allocator {
	void *ctx;
	void *(*malloc)(void *ctx, size_t n);
	void *(*calloc)(void *ctx, size_t n, size_t size);
	void *(*realloc)(void *ctx, void *p, size_t n);
	void (*free)(void *ctx, void *p);
};

enum { PY_DOMAIN_MEM = 1, PY_DOMAIN_OBJ = 2 };	/* PyMemAllocatorDomain */

static struct py_allocator orig[2];

static void *hook_malloc(void *ctx, size_t n)
{
	struct py_allocator *o = ctx;
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
	struct py_allocator *o = ctx;
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
	struct py_allocator *o = ctx;
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
	struct py_allocator *o = ctx;

	if (p && tracker_active && !tracker_guard)
		tracker_record_free(p, 0, CAPTURE_ALLOC_PYMALLOC_FREE);
	tracker_guard++;
	o->free(o->ctx, p);
	tracker_guard--;
}

int tracker_python_hook_allocators(void)
{
	void (*get)(int, struct py_allocator *) = (void (*)(int, struct py_allocator *))sym("PyMem_GetAllocator");
	void (*set)(int, struct py_allocator *) = (void (*)(int, struct py_allocator *))sym("PyMem_SetAllocator");
	static const int domains[2] = { PY_DOMAIN_MEM, PY_DOMAIN_OBJ };

	if (!tracker_python_on || !get || !set)
		return -1;
	for (int i = 0; i < 2; i++) {
		struct py_allocator hook = { &orig[i], hook_malloc, hook_calloc, hook_realloc, hook_free };

		get(domains[i], &orig[i]);
		set(domains[i], &hook);
	}
	return 0;
}
