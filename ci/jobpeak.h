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
 * The same sweep serves one test: its own window's time line (ci/windows)
 * plus the processes it started while it ran (jobpeak_add_started), so a
 * test that runs a program is charged with what that program held.
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
	uint32_t pid, ppid;
	uint64_t start_ns, end_ns;
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
/*
 * Add a process by hand (its command copied), then its points: it holds
 * heap bytes from ns on. 0, or -1 after an error message (out of memory).
 */
int jobpeak_add_process(struct jobpeak *j, const struct jobpeak_process *p);
int jobpeak_add_point(struct jobpeak *j, uint64_t ns, uint64_t heap);
/*
 * The processes of `from` (finished) that descend from process pid and
 * started within [begin_ns, end_ns], added to j with their points up to
 * end_ns: a test's part of a job, the processes it started. Returns how
 * many were added, or -1 after an error message.
 */
int jobpeak_add_started(struct jobpeak *j, const struct jobpeak *from, uint32_t pid, uint64_t begin_ns,
			uint64_t end_ns);
/* find the job's peak and each process's part in it: 0, or -1 after an error message */
int jobpeak_finish(struct jobpeak *j);
void jobpeak_release(struct jobpeak *j);

#endif
