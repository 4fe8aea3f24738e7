/*
 * report/frames: see frames.h.
 */
#include "report/frames.h"

#include <string.h>

#include "report/symbols.h"

static int starts_with_any(const char *s, const char *const *prefixes, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (!strncmp(s, prefixes[i], strlen(prefixes[i])))
			return 1;
	return 0;
}

/* the file name of a module path */
static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int frames_is_runtime(const char *path)
{
	static const char *const runtime[] = { "libc.so", "libc-", "libstdc++.so", "libgcc_s.so",
					       "ld-linux", "libm.so", "libm-", "libpthread" };

	return starts_with_any(base_name(path), runtime, sizeof(runtime) / sizeof(runtime[0]));
}

/*
 * A frame of the C++ or Rust standard library compiled into the program:
 * C++ templates inlined from /usr/include, and Rust's alloc, core and std
 * crates (their sources are under /rustc/<commit>/ or, in newer
 * toolchains, library/; without debug info, the alloc and core names tell).
 */
static int is_std_frame(const struct sym_frame *f)
{
	static const char *const files[] = { "/usr/include/", "/rustc/", "library/" };
	/* not "std::": C++'s std::thread::_M_run holds the caller's lambda */
	static const char *const names[] = { "alloc::", "core::", "<alloc::", "<core::", "__rust_", "__rdl_",
					     "__rg_" };

	return starts_with_any(f->file, files, sizeof(files) / sizeof(files[0])) ||
	       starts_with_any(f->function, names, sizeof(names) / sizeof(names[0]));
}

/*
 * A function of the C++ runtime compiled into the program, told by its
 * name when no debug info says where it came from: the std and __gnu_cxx
 * namespaces (template instantiations such as vector::_M_realloc_insert,
 * with or without a return type in front), operator new and delete (the
 * program's own when libstdc++ is linked statically), and the ABI's
 * __cxa_ and _Unwind_ functions. The name is read up to its parameter
 * list, at template depth 0, so std types in the arguments of a function
 * of the program's own do not count.
 */
static int is_cxx_runtime_name(const char *name)
{
	static const char *const names[] = { "std::", "__gnu_cxx::", "__cxxabiv1::" };
	static const char *const whole[] = { "operator new", "operator delete", "__cxa_", "_Unwind_" };
	int depth = 0;

	if (!name || starts_with_any(name, whole, sizeof(whole) / sizeof(whole[0])))
		return name != NULL;
	for (const char *p = name; *p; p++) {
		if (*p == '<')
			depth++;
		else if (*p == '>' && depth)
			depth--;
		else if (*p == '(' && !depth)
			return 0;
		else if (!depth && (p == name || p[-1] == ' ' || p[-1] == '*' || p[-1] == '&') &&
			 starts_with_any(p, names, sizeof(names) / sizeof(names[0])))
			return 1;
	}
	return 0;
}

int frames_is_hidden(const struct sym_frame *f)
{
	return frames_is_runtime(f->module) || is_std_frame(f) || is_cxx_runtime_name(f->function);
}

/* the Python interpreter's own code: with --native, a location is the Python line instead */
static int is_interpreter(const char *path)
{
	static const char *const interpreter[] = { "python3", "libpython3" };

	return starts_with_any(base_name(path), interpreter, sizeof(interpreter) / sizeof(interpreter[0]));
}

/*
 * How much a frame is the program's own: 0 its own code; 1 runtime code
 * compiled into the program (C++ and Rust standard library, by file or
 * name) or the Python interpreter; 2 a runtime library (libc, libstdc++,
 * libgcc_s, ld.so, libm).
 */
static int rank(const struct sym_frame *f)
{
	if (frames_is_runtime(f->module))
		return 2;
	return is_std_frame(f) || is_cxx_runtime_name(f->function) || is_interpreter(f->module);
}

int frames_own(const struct sym_frame *frames, int n)
{
	int pick = 0, best = 3;

	for (int i = 0; i < n && best; i++) {
		int r = rank(&frames[i]);

		if (r < best) {
			best = r;
			pick = i;
		}
	}
	return pick;
}
