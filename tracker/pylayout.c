/*
 * tracker/pylayout: one CPython version's layout (see pylayout.h). The
 * Makefile compiles this file once per version found, with that
 * version's headers and PY_LAYOUT_FN naming the function.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_runtime.h>

#include <string.h>

#include "tracker/pylayout.h"

#ifndef PY_LAYOUT_FN
#error "PY_LAYOUT_FN must name the function (the Makefile sets it)"
#endif

#if PY_VERSION_HEX < 0x030b0000 || PY_VERSION_HEX >= 0x030e0000
#error "tracker/pylayout knows CPython 3.11 to 3.13"
#endif

void PY_LAYOUT_FN(struct py_layout *l);

/* the state word of a str with only the given bits set, to find them */
static uint32_t state_word(int kind, int compact, int ascii)
{
	PyASCIIObject a;
	uint32_t w = 0;

	memset(&a, 0, sizeof(a));
	a.state.kind = (unsigned)kind;
	a.state.compact = (unsigned)compact;
	a.state.ascii = (unsigned)ascii;
	memcpy(&w, &a.state, sizeof(w));
	return w;
}

void PY_LAYOUT_FN(struct py_layout *l)
{
	uint32_t kind_mask = state_word(7, 0, 0);

	memset(l, 0, sizeof(*l));
	l->version = PY_MAJOR_VERSION * 100 + PY_MINOR_VERSION;
#if PY_VERSION_HEX >= 0x030d0000
	l->ts_cframe = PY_LAYOUT_NONE;
	l->current_frame = offsetof(PyThreadState, current_frame);
	l->f_code = offsetof(_PyInterpreterFrame, f_executable);
	l->f_instr = offsetof(_PyInterpreterFrame, instr_ptr);
#else
	l->ts_cframe = offsetof(PyThreadState, cframe);
	l->current_frame = offsetof(_PyCFrame, current_frame);
	l->f_code = offsetof(_PyInterpreterFrame, f_code);
	l->f_instr = offsetof(_PyInterpreterFrame, prev_instr);
#endif
	l->f_previous = offsetof(_PyInterpreterFrame, previous);
	l->f_owner = offsetof(_PyInterpreterFrame, owner);
#if PY_VERSION_HEX < 0x030c0000
	l->f_is_entry = offsetof(_PyInterpreterFrame, is_entry);
	l->owner_cstack = -1;
#else
	l->f_is_entry = PY_LAYOUT_NONE;
	l->owner_cstack = FRAME_OWNED_BY_CSTACK;
#endif
	l->owner_generator = FRAME_OWNED_BY_GENERATOR;
	l->co_name = offsetof(PyCodeObject, co_name);
	l->co_filename = offsetof(PyCodeObject, co_filename);
	l->co_firstlineno = offsetof(PyCodeObject, co_firstlineno);
	l->co_firsttraceable = offsetof(PyCodeObject, _co_firsttraceable);
	l->co_code = offsetof(PyCodeObject, co_code_adaptive);
	l->rt_finalizing = offsetof(_PyRuntimeState, _finalizing);
	l->ob_type = offsetof(PyObject, ob_type);
	l->tp_flags = offsetof(PyTypeObject, tp_flags);
	l->unicode_flag = Py_TPFLAGS_UNICODE_SUBCLASS;
	l->str_length = offsetof(PyASCIIObject, length);
	l->str_state = offsetof(PyASCIIObject, state);
	l->str_ascii_size = sizeof(PyASCIIObject);
	l->str_compact_size = sizeof(PyCompactUnicodeObject);
	l->str_utf8 = offsetof(PyCompactUnicodeObject, utf8);
	l->str_utf8_length = offsetof(PyCompactUnicodeObject, utf8_length);
	l->state_compact = state_word(0, 1, 0);
	l->state_ascii = state_word(0, 0, 1);
	l->state_kind_mask = kind_mask;
	l->state_kind_shift = __builtin_ctz(kind_mask);
}
