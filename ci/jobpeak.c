/*
 * ci/jobpeak: see jobpeak.h.
 */
#include "ci/jobpeak.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/grow.h"
#include "common/units.h"
#include "report/analysis.h"

struct jobpeak_point {
	uint64_t ns;
	uint64_t heap;		/* the process's live bytes from then on */
	uint32_t proc;
	uint32_t seq;		/* order of insertion: a process's points stay in order at one ns */
};

int jobpeak_add_point(struct jobpeak *j, uint64_t ns, uint64_t heap)
{
	if (GROW(j->points, j->npoints + 1, j->points_alloc) < 0)
		return error("check: out of memory");
	j->points[j->npoints] = (struct jobpeak_point){ ns, heap, (uint32_t)(j->nprocs - 1), (uint32_t)j->npoints };
	j->npoints++;
	return 0;
}

int jobpeak_add_process(struct jobpeak *j, const struct jobpeak_process *from)
{
	struct jobpeak_process *p;

	if (GROW(j->procs, j->nprocs + 1, j->procs_alloc) < 0)
		return error("check: out of memory");
	p = &j->procs[j->nprocs];
	*p = *from;
	p->at_job_peak = 0;
	if (!(p->command = strdup(from->command ? from->command : "?")))
		return error("check: out of memory");
	j->nprocs++;
	if (!j->start_ns || p->start_ns < j->start_ns)
		j->start_ns = p->start_ns;
	return 0;
}

int jobpeak_add(struct jobpeak *j, const struct analysis *a, uint32_t pid)
{
	const uint64_t ms = 1000000;
	struct jobpeak_process p = { pid, a->ppid, a->start_ns, a->end_ns, (char *)a->command, a->peak_bytes, 0 };
	uint64_t peak_ns = a->start_ns + a->peak_ms * ms;

	if (jobpeak_add_process(j, &p) < 0)
		return -1;
	for (size_t i = 0; i < a->nsamples; i++)
		if (jobpeak_add_point(j, a->start_ns + a->samples[i].ms * ms, a->samples[i].heap) < 0)
			return -1;
	if (jobpeak_add_point(j, peak_ns, a->peak_bytes) < 0)
		return -1;
	return jobpeak_add_point(j, a->end_ns > peak_ns ? a->end_ns : peak_ns + 1, 0);
}

/* whether process k of j descends from pid (by its parents in j) */
static int descends(const struct jobpeak *j, size_t k, uint32_t pid)
{
	for (size_t steps = 0; steps <= j->nprocs; steps++) {
		uint32_t parent = j->procs[k].ppid;
		size_t i;

		if (parent == pid)
			return 1;
		for (i = 0; i < j->nprocs && j->procs[i].pid != parent; i++)
			;
		if (i == j->nprocs)
			return 0;
		k = i;
	}
	return 0;	/* a loop of pids: not a family */
}

int jobpeak_add_started(struct jobpeak *j, const struct jobpeak *from, uint32_t pid, uint64_t begin_ns,
			uint64_t end_ns)
{
	int added = 0;

	for (size_t k = 0; k < from->nprocs; k++) {
		const struct jobpeak_process *p = &from->procs[k];

		if (p->pid == pid || p->start_ns < begin_ns || p->start_ns > end_ns || !descends(from, k, pid))
			continue;
		if (jobpeak_add_process(j, p) < 0)
			return -1;
		for (size_t i = 0; i < from->npoints; i++)
			if (from->points[i].proc == k && from->points[i].ns <= end_ns &&
			    jobpeak_add_point(j, from->points[i].ns, from->points[i].heap) < 0)
				return -1;
		added++;
	}
	return added;
}

static int by_time(const void *x, const void *y)
{
	const struct jobpeak_point *a = x, *b = y;

	if (a->ns != b->ns)
		return a->ns < b->ns ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * Sweep the points in time order: the job's peak, and *when. At one
 * instant, a process with several points counts with the highest of them
 * (its own peak may share a millisecond with a later, lower sample), then
 * keeps the last one. cur and high are scratch, nprocs slots each.
 */
static uint64_t sweep(struct jobpeak *j, uint64_t *cur, uint64_t *high, uint64_t *when)
{
	uint64_t sum = 0, best = 0;

	for (size_t i = 0; i < j->npoints;) {
		size_t end = i;
		uint64_t moment = sum;

		for (; end < j->npoints && j->points[end].ns == j->points[i].ns; end++)
			high[j->points[end].proc] = 0;
		for (size_t k = i; k < end; k++) {
			const struct jobpeak_point *p = &j->points[k];

			if (p->heap > high[p->proc])
				high[p->proc] = p->heap;
		}
		for (size_t k = i; k < end; k++) {	/* each process once: its highest at this instant */
			const struct jobpeak_point *p = &j->points[k];

			if (high[p->proc] != UINT64_MAX) {
				moment = units_add(moment - cur[p->proc], high[p->proc]);
				high[p->proc] = UINT64_MAX;
			}
		}
		if (moment > best) {
			best = moment;
			*when = j->points[i].ns;
		}
		for (size_t k = i; k < end; k++) {
			const struct jobpeak_point *p = &j->points[k];

			sum = units_add(sum - cur[p->proc], p->heap);
			cur[p->proc] = p->heap;
		}
		i = end;
	}
	return best;
}

/*
 * What each process held at the job's peak, by the sweep's rule: its last
 * point before that instant, or its highest at the instant itself.
 */
static void parts_at_peak(struct jobpeak *j)
{
	size_t i = 0;

	for (; i < j->npoints && j->points[i].ns < j->peak_ns; i++)
		j->procs[j->points[i].proc].at_job_peak = j->points[i].heap;
	for (size_t k = i; k < j->npoints && j->points[k].ns == j->peak_ns; k++)
		j->procs[j->points[k].proc].at_job_peak = 0;
	for (; i < j->npoints && j->points[i].ns == j->peak_ns; i++) {
		struct jobpeak_process *p = &j->procs[j->points[i].proc];

		if (j->points[i].heap > p->at_job_peak)
			p->at_job_peak = j->points[i].heap;
	}
}

int jobpeak_finish(struct jobpeak *j)
{
	uint64_t *cur = calloc(j->nprocs + 1, sizeof(*cur)), *high = calloc(j->nprocs + 1, sizeof(*high));
	int ret = -1;

	if (!cur || !high) {
		error("check: out of memory");
		goto out;
	}
	qsort(j->points, j->npoints, sizeof(*j->points), by_time);
	j->peak = sweep(j, cur, high, &j->peak_ns);
	parts_at_peak(j);
	ret = 0;
out:
	free(cur);
	free(high);
	return ret;
}

void jobpeak_release(struct jobpeak *j)
{
	for (size_t i = 0; i < j->nprocs; i++)
		free(j->procs[i].command);
	free(j->procs);
	free(j->points);
	memset(j, 0, sizeof(*j));
}
