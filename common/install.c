/*
 * common/install: see install.h.
 */
#include "common/install.h"

#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

int install_find(const char *name, struct strbuf *out)
{
	const char *const places[] = { "", "/../lib/memray" };	/* after the binary's directory */
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	strbuf_reset(out);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	dirname(self);
	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		char *abs;

		strbuf_reset(out);
		strbuf_addf(out, "%s%s/%s", self, places[i], name);
		if (access(out->buf, R_OK) == 0 && (abs = realpath(out->buf, NULL))) {
			strbuf_reset(out);
			strbuf_addstr(out, abs);
			free(abs);
			return 0;
		}
	}
	strbuf_reset(out);
	strbuf_addstr(out, self);
	return -1;
}
