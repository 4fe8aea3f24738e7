/*
 * tests/unit/capbuild: a capture written record by record, so a suite
 * knows every figure the readers must find in it.
 *
 *	struct capbuild b;
 *	capbuild_start(&b, 5);		// header, SEGMENT, stacks 1 and 2, THREAD 5
 *	capbuild_alloc(&b, 0x1000, 4000, 1);
 *	capbuild_free(&b, 0x1000);
 *	path = capbuild_finish(&b, 0);	// END (0 records lost), one block, a temp file
 *
 * Stack 1 is one frame at ip 0x401000, stack 2 one frame at 0x401010, both
 * of a module nobody maps (frames show as addresses). The caller unlinks
 * and frees the returned path.
 */
#ifndef TESTS_UNIT_CAPBUILD_H
#define TESTS_UNIT_CAPBUILD_H

#include <stdint.h>

struct capbuild {
	uint8_t raw[16384], *p;
	uint64_t prev;		/* the last address, for the deltas */
	uint64_t allocs, frees, bytes;
	uint32_t pid;
};

void capbuild_start(struct capbuild *b, uint32_t pid);
/* a module set of one module, path, at bias 0 with no build-id: the image's main program */
void capbuild_module(struct capbuild *b, const char *path);
void capbuild_alloc(struct capbuild *b, uint64_t addr, uint64_t size, uint32_t stack);
void capbuild_free(struct capbuild *b, uint64_t addr);
/* the garbage collector freed the block at addr, found lost (category) */
void capbuild_collect(struct capbuild *b, uint64_t addr, unsigned category);
void capbuild_marker(struct capbuild *b, unsigned kind, const char *label);
/* END with `lost` records dropped, then the file; returns its path (malloc'd) */
char *capbuild_finish(struct capbuild *b, uint64_t lost);
/* the same records cut short: no END record */
char *capbuild_finish_cut(struct capbuild *b);

struct analysis;
struct analysis_options;
/*
 * Read path back through one analysis pass, as a command would: 0, or -1
 * after one error line (it cannot be opened, memory ran out, or the
 * reader stopped on damage, which for an out-of-memory block it does).
 * a is zeroed first, so analysis_release() is safe on it whatever happens.
 */
int capbuild_analyse(struct analysis *a, const char *path, const struct analysis_options *opts);

#endif
