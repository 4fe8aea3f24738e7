/*
 * report/frames: which frames of a stack are the program's own and which
 * are the runtime's, so that every report charges a stack to the same
 * place and leaves out the same frames.
 *
 * The runtime is the C and C++ libraries (libc, libstdc++, libgcc_s,
 * ld.so, libm), the C++ and Rust standard library compiled into the
 * program, and, for a --native Python stack, the interpreter. Decided by
 * module path, source file and function name alone: no state, no memory.
 */
#ifndef REPORT_FRAMES_H
#define REPORT_FRAMES_H

struct sym_frame;

/* is this module path part of the C or C++ runtime? */
int frames_is_runtime(const char *path);

/*
 * Is this frame runtime code that reports leave out: the modules above,
 * and the C++ and Rust standard library compiled into the program (by
 * source file under /usr/include, /rustc or library/, or by name: std::,
 * __gnu_cxx::, operator new/delete, __cxa_, _Unwind_, Rust's alloc::,
 * core::, __rust_)?
 */
int frames_is_hidden(const struct sym_frame *f);

/*
 * The frame of frames[0..n) (innermost first) a stack is charged to: the
 * innermost of the program's own; if there is none, the innermost of the
 * runtime compiled into the program or of the Python interpreter (so a
 * --native stack goes to its Python line, and a std::thread lambda
 * inlined into std::thread::_M_run to that); if there is none, the
 * innermost frame. Every report that names one place per stack (stats'
 * locations, summary's own column, the tree's leaves) uses this, so a
 * location is never operator new, malloc or a std:: template while the
 * program has a frame of its own on the stack. 0 when n is 0.
 */
int frames_own(const struct sym_frame *frames, int n);

#endif
