/*
 * ci/jobpeak: the peak of a whole job that runs many processes at once.
 *
 * Each process has its own heap, so the memory a job needs is the sum of
 * what its processes hold at the same moment: two pytest workers holding
 * 150 MiB each need 300 MiB, though neither process peaks above 150. The
 * job's peak is therefore taken on one time axis. Every process gives a
 * step function of its live heap: the analysis's samples (one each RSS
 * tick, 10 ms by default), its own peak at the exact moment it happened,
 * and 0 once it has ended. A sweep over all of them in time order finds
 * the moment their sum is highest. Between two ticks a process that is
 * not at its own peak is seen at its last sample, so the job's peak is
 * exact at 10 ms resolution and never below the largest process's peak.
 *
 * Ownership: the jobpeak owns its arrays and strings; jobpeak_release()
 * frees them. It starts zeroed (JOBPEAK_INIT).
 */
#ifndef CI_JOBPEAK_H
#define CI_JOBPEAK_H

#include <stddef.h>
#include <stdint.h>

struct analysis;

struct jobpeak_process {
	uint32_t pid;
	char *command;		/* its last image's program and arguments */
	uint64_t peak;		/* its own peak */
	uint64_t at_job_peak;	/* what it held when the job peaked */
};

struct jobpeak_point;

struct jobpeak {
	struct jobpeak_process *procs;
	size_t nprocs, procs_alloc;
	struct jobpeak_point *points;
	size_t npoints, points_alloc;
	uint64_t start_ns;	/* the earliest process's start */
	uint64_t peak;		/* the job's peak, after jobpeak_finish() */
	uint64_t peak_ns;	/* when (ns since the epoch) */
};

#define JOBPEAK_INIT { NULL, 0, 0, NULL, 0, 0, 0, 0, 0 }

/* add one analysed process: 0, or -1 after an error message (out of memory) */
int jobpeak_add(struct jobpeak *j, const struct analysis *a, uint32_t pid);
/* find the job's peak and each process's part in it: 0, or -1 after an error message */
int jobpeak_finish(struct jobpeak *j);
void jobpeak_release(struct jobpeak *j);

#endif
