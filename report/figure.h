/*
 * report/figure: which figure of an analysis entry a report shows.
 *
 * Every entry (stack, allocator) of the analysis carries four figures:
 * what it allocated in all, what of it was live at the peak, what was
 * still live at the end (leaked), and what was freed soon after it was
 * made (temporary). A reporter is told which one with an enum figure and
 * reads it with figure_of(), the one place that maps the enum to fields.
 */
#ifndef REPORT_FIGURE_H
#define REPORT_FIGURE_H

#include <stdint.h>

#include "report/analysis.h"

enum figure {
	FIGURE_ALL,		/* everything allocated, freed or not */
	FIGURE_PEAK,		/* live at the peak */
	FIGURE_LEAKS,		/* live at the end */
	FIGURE_TEMPORARY,	/* freed soon after it was made (analysis' temporary_within) */
	FIGURE_LOST,		/* live at the end, definitely or indirectly lost (a reachability scan) */
	FIGURE_POSSIBLE,	/* live at the end, possibly lost (a reachability scan) */
	FIGURE_REACHABLE,	/* live at the end, still reachable (a reachability scan) */
	FIGURE_COLLECTED,	/* freed by the garbage collector */
};

/*
 * e's bytes and allocation count in figure f; either pointer may be NULL.
 * Returns whether e shows in f at all (bytes or count not zero).
 */
int figure_of(const struct analysis_entry *e, enum figure f, uint64_t *bytes, uint64_t *count);

/* the sum of figure f over every entry of a: the bytes, the allocation count in *count (may be NULL) */
uint64_t figure_total(const struct analysis *a, enum figure f, uint64_t *count);

#endif
