/*
 * tracker/pylayout: where CPython keeps what tracker/python reads, for
 * each CPython version whose headers were found at build time.
 *
 * The structures the frame walk needs (thread state, interpreter frame,
 * code object, str object, runtime state) are private and move between
 * minor versions, but not within one. So tracker/pylayout.c is compiled
 * once per version against that version's own headers (python3-dev
 * ships the internal ones) and fills this table with offsetof() and
 * sizeof(); tracker/python.c reads memory through the table and holds no
 * Python header itself. A version with no table is refused at run time.
 */
#ifndef TRACKER_PYLAYOUT_H
#define TRACKER_PYLAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define PY_LAYOUT_NONE ((size_t)-1)

struct py_layout {
	int version;		/* major * 100 + minor: 311 */
	/* thread state -> innermost frame */
	size_t ts_cframe;	/* tstate->cframe, or PY_LAYOUT_NONE (3.13: no cframe) */
	size_t current_frame;	/* in the cframe, or in the tstate without one */
	/* _PyInterpreterFrame */
	size_t f_code;		/* f_code, or f_executable (3.13) */
	size_t f_previous;
	size_t f_instr;		/* prev_instr, or instr_ptr (3.13) */
	size_t f_owner;		/* char */
	size_t f_is_entry;	/* bool (3.11), or PY_LAYOUT_NONE */
	int owner_generator;	/* FRAME_OWNED_BY_GENERATOR */
	int owner_cstack;	/* FRAME_OWNED_BY_CSTACK, or -1 (3.11) */
	/* PyCodeObject */
	size_t co_name, co_filename, co_firstlineno, co_firsttraceable, co_code;
	/* _PyRuntimeState */
	size_t rt_finalizing;
	/* str: PyASCIIObject and PyCompactUnicodeObject */
	size_t ob_type;		/* PyObject.ob_type */
	size_t tp_flags;	/* PyTypeObject.tp_flags */
	unsigned long unicode_flag;	/* Py_TPFLAGS_UNICODE_SUBCLASS */
	size_t str_length, str_state, str_ascii_size, str_compact_size, str_utf8, str_utf8_length;
	uint32_t state_compact, state_ascii;	/* bits of the state word */
	uint32_t state_kind_mask;
	int state_kind_shift;
};

/* fills *l for the version whose headers pylayout.c was compiled with */
typedef void (*py_layout_fn)(struct py_layout *l);

/* every version built in, ended by NULL (build/gen/pylayouts.c, made by make) */
extern const py_layout_fn tracker_py_layouts[];

#endif
