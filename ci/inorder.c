/*
 * ci/inorder: see inorder.h.
 */
#include "ci/inorder.h"

#include <pthread.h>

#define MAX_WORKERS 8

struct run {
	const struct inorder_ops *ops;
	void *ctx;
	size_t n, next, used;	/* the next item to make; how many the caller used */
	int made[INORDER_SLOTS];
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void *worker(void *arg)
{
	struct run *r = arg;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		size_t k;

		while (r->next < r->n && r->next >= r->used + INORDER_SLOTS)
			pthread_cond_wait(&r->cond, &r->lock);	/* its slot is still in use */
		if (r->next >= r->n)
			break;
		k = r->next++;
		pthread_mutex_unlock(&r->lock);
		r->ops->make(r->ctx, k, (unsigned)(k % INORDER_SLOTS));
		pthread_mutex_lock(&r->lock);
		r->made[k % INORDER_SLOTS] = 1;
		pthread_cond_broadcast(&r->cond);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int inorder_run(size_t n, unsigned workers, const struct inorder_ops *ops, void *ctx)
{
	struct run r = { .ops = ops, .ctx = ctx, .n = n };
	pthread_t thread[MAX_WORKERS];
	unsigned nthreads = 0;
	int ret = 0;

	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	if (workers > n)
		workers = n < 2 ? 0 : (unsigned)n;	/* one item: nothing to overlap, made here */
	while (nthreads < workers && nthreads < MAX_WORKERS &&
	       pthread_create(&thread[nthreads], NULL, worker, &r) == 0)
		nthreads++;
	for (size_t k = 0; k < n && !ret; k++) {
		unsigned slot = (unsigned)(k % INORDER_SLOTS);

		if (!nthreads)
			ops->make(ctx, k, slot);
		pthread_mutex_lock(&r.lock);
		while (nthreads && !r.made[slot])
			pthread_cond_wait(&r.cond, &r.lock);
		pthread_mutex_unlock(&r.lock);
		ret = ops->use(ctx, k, slot);
		ops->drop(ctx, slot);
		pthread_mutex_lock(&r.lock);
		r.made[slot] = 0;
		r.used = k + 1;
		if (ret)
			r.next = n;	/* make no more */
		pthread_cond_broadcast(&r.cond);
		pthread_mutex_unlock(&r.lock);
	}
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(thread[i], NULL);
	for (unsigned slot = 0; slot < INORDER_SLOTS; slot++)
		if (r.made[slot])	/* made after the stop */
			ops->drop(ctx, slot);
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.lock);
	return ret;
}
