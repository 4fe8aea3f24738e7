/*
 * common/install: where memray's own files are, found from the running
 * binary: next to it (the build tree: build/libmemray_tracker.so) or in
 * ../lib/memray beside its bin/ directory (what `make install` lays out).
 */
#ifndef COMMON_INSTALL_H
#define COMMON_INSTALL_H

#include "common/strbuf.h"

/*
 * The absolute path of `name` (a file or a directory) next to the binary
 * or in BINDIR/../lib/memray, into *out. Returns 0; or -1 without a
 * message when it is in neither place, *out then holding the binary's
 * directory for the caller's message ("" if even that is unknown).
 */
int install_find(const char *name, struct strbuf *out);

#endif
