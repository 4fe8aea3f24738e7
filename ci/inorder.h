/*
 * ci/inorder: items made on worker threads and used in their order on
 * the calling thread, with at most INORDER_SLOTS made and not yet used.
 *
 * `memray check` reads its captures this way: each capture's analysis is
 * independent, so two workers (this machine's cores) make them, each
 * taking the next item as soon as it is free; judging them shares one
 * symbol cache and one set of results, so it stays on the caller, in
 * name order. Batches of two, each waiting for its slower capture and
 * then for its judging, left a core idle.
 *
 * Item k lives in slot k % INORDER_SLOTS of the caller's own storage
 * (ctx): make() fills it on a worker, use() reads it on the caller, then
 * drop() empties it. A nonzero use() stops the run: nothing more is
 * made, and every slot made and not used is dropped.
 */
#ifndef CI_INORDER_H
#define CI_INORDER_H

#include <stddef.h>

#define INORDER_SLOTS 4

struct inorder_ops {
	void (*make)(void *ctx, size_t item, unsigned slot);
	int (*use)(void *ctx, size_t item, unsigned slot);
	void (*drop)(void *ctx, unsigned slot);
};

/*
 * Items 0..n-1 through ops on `workers` threads, at most n, and none for
 * a single item or when none can be started: then the caller makes each
 * itself. The first nonzero use(), or 0.
 */
int inorder_run(size_t n, unsigned workers, const struct inorder_ops *ops, void *ctx);

#endif
