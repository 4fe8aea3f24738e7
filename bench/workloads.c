/*
 * The allocation-heavy workloads of `make bench`, one program:
 *   workloads churn N      N malloc(32)/free pairs through three call levels
 *   workloads threads N [T] the same, split over T threads (4 by default)
 *   workloads deep N       N pairs at the bottom of a 200-frame recursion
 *   workloads mmap N       N mmap/munmap pairs of 1 to 64 MiB, touching a page
 *   workloads live N SIZE  keeps N blocks of SIZE bytes live at exit, a list
 *                          from a global, the rest of each block integers
 *                          (what the reachability scan reads)
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

__attribute__((noinline)) static void *level3(void)
{
	return malloc(32);
}

__attribute__((noinline)) static void level2(void)
{
	void *volatile p = level3();	/* local: threads share `sink` */

	free(p);
}

__attribute__((noinline)) static void level1(long n)
{
	for (long i = 0; i < n; i++)
		level2();
}

static void *thread_main(void *arg)
{
	level1((long)arg);
	return NULL;
}

__attribute__((noinline)) static int recurse(int depth, long n)
{
	volatile char pad[16];

	pad[0] = (char)depth;
	if (depth == 0) {
		level1(n);
		return 0;
	}
	return recurse(depth - 1, n) + pad[0];
}

static void maps(long n)
{
	for (long i = 0; i < n; i++) {
		size_t len = ((size_t)(i % 64) + 1) << 20;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			abort();
		p[0] = 1;
		munmap(p, len);
	}
}

static void **live_head;

__attribute__((noinline)) static void keep_live(long n, size_t size)
{
	for (long i = 0; i < n; i++) {
		void **b = malloc(size);

		b[0] = live_head;
		for (size_t k = 1; k < size / sizeof(void *); k++)
			b[k] = (void *)(k * 7);
		live_head = b;
	}
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "churn";
	long n = argc > 2 ? atol(argv[2]) : 1000000;

	if (!strcmp(what, "churn")) {
		level1(n);
	} else if (!strcmp(what, "threads")) {
		int nt = argc > 3 ? atoi(argv[3]) : 4;
		pthread_t t[64];

		if (nt < 1 || nt > 64)
			return 2;
		for (int i = 0; i < nt; i++)
			pthread_create(&t[i], NULL, thread_main, (void *)(n / nt));
		for (int i = 0; i < nt; i++)
			pthread_join(t[i], NULL);
	} else if (!strcmp(what, "deep")) {
		recurse(200, n);
	} else if (!strcmp(what, "mmap")) {
		maps(n);
	} else if (!strcmp(what, "live")) {
		keep_live(n, argc > 3 ? (size_t)atol(argv[3]) : 64);
	} else {
		return 2;
	}
	return 0;
}
