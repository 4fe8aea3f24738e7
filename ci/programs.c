/*
 * ci/programs: see programs.h.
 */
#include "ci/programs.h"

#include <fnmatch.h>
#include <string.h>

#include "report/analysis.h"

const char *programs_executable(const struct analysis *a)
{
	uint32_t last = a->segments ? a->segments - 1 : 0;

	/* the loader reports the main program first in each image (tracker/modules.c) */
	for (size_t i = 0; i < a->nmodules; i++)
		if (a->modules[i].segment == last)
			return a->modules[i].sym.path;
	return NULL;
}

int programs_is_system(const char *path)
{
	static const char *const dirs[] = { "/usr/", "/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/",
					    "/etc/" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!strncmp(path, dirs[i], strlen(dirs[i])))
			return 1;
	return 0;
}

int programs_is_subject(const struct analysis *a, const struct ci_select *sel)
{
	const char *exe = programs_executable(a);

	if (exe && !programs_is_system(exe))
		return 1;
	for (size_t i = 0; sel && a->command && i < sel->n; i++)
		if (fnmatch(sel->globs[i], a->command, 0) == 0)
			return 1;
	return 0;
}
