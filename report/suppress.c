/*
 * report/suppress: see suppress.h.
 */
#include "report/suppress.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/grow.h"

const char *const suppress_builtin[][2] = {
	{ "_dl_allocate_tls*", "glibc: each thread's TLS blocks, kept for reuse" },
	{ "_dl_update_slotinfo", "glibc: TLS of modules loaded later" },
	{ "_dl_resize_dtv", "glibc: the thread vector of TLS blocks" },
	{ "allocate_stack", "glibc: thread stacks, cached for reuse" },
	{ "_dl_*", "the dynamic loader's own tables (link maps, search paths)" },
	{ "dl_open_worker*", "the dynamic loader: dlopen's bookkeeping" },
	{ "_dlerror_run", "the dynamic loader: dlerror's message buffer" },
	{ "_nl_*", "glibc: locale data and message catalogues, loaded once" },
	{ "__gconv_*", "glibc: iconv converters, cached" },
	{ "__tzfile_read", "glibc: the time zone, read once" },
	{ "__nss_*", "glibc: NSS databases, opened once" },
	{ "PyUnicode_InternInPlace", "CPython: interned strings, kept for life" },
	{ "_PyUnicode_InternInPlace*", "CPython: interned strings, kept for life" },
	{ "PyUnicode_InternFromString", "CPython: interned strings, kept for life" },
	{ "Py_InitializeFromConfig", "CPython: the interpreter's start-up state" },
	{ "_Py_InitializeMain", "CPython: the interpreter's start-up state" },
	{ "_PyType_Ready*", "CPython: static types' dictionaries and caches" },
	{ NULL, NULL },
};

int suppress_add(struct suppress_list *l, const char *glob, const char *why)
{
	struct suppress_pattern *p;

	if (GROW(l->p, l->n + 1, l->alloc) < 0)
		return error("out of memory");
	p = &l->p[l->n];
	p->glob = strdup(glob);
	p->why = strdup(why);
	if (!p->glob || !p->why) {
		free(p->glob);
		free(p->why);
		return error("out of memory");
	}
	l->n++;
	return 0;
}

int suppress_add_builtin(struct suppress_list *l)
{
	for (int i = 0; suppress_builtin[i][0]; i++)
		if (suppress_add(l, suppress_builtin[i][0], "built-in") < 0)
			return -1;
	return 0;
}

void suppress_release(struct suppress_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->p[i].glob);
		free(l->p[i].why);
	}
	free(l->p);
	l->p = NULL;
	l->n = l->alloc = 0;
}

const char *suppress_glob_problem(const char *glob)
{
	if (!*glob)
		return "empty glob";
	for (const char *s = glob; *s; s++) {
		if (*s == '\\') {
			if (!*++s)
				return "glob ends with a lone '\\'";
		} else if (*s == '[') {
			const char *close = s + 1;

			if (*close == '!' || *close == '^')
				close++;
			if (*close == ']')
				close++;
			close = strchr(close, ']');
			if (!close)
				return "glob has a '[' that is never closed";
			s = close;
		}
	}
	return NULL;
}

const struct suppress_pattern *suppress_match(const struct suppress_list *l, const struct sym_frame *frames,
					      int n)
{
	for (size_t k = 0; k < l->n; k++) {
		int on_path = strchr(l->p[k].glob, '/') != NULL;

		for (int i = 0; i < n; i++) {
			const char *subject = on_path ? frames[i].module : frames[i].function;

			if (subject && fnmatch(l->p[k].glob, subject, 0) == 0)
				return &l->p[k];
		}
	}
	return NULL;
}
