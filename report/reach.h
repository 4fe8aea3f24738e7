/*
 * report/reach: the reachability verdicts of a capture (REACH_BLOCK,
 * capture/format.h) as the gate and the reports use them, on top of the
 * figures the analysis keeps (analysis.h: reach_count/reach_bytes of the
 * capture and of each entry, the root of each entry's first still
 * reachable block).
 */
#ifndef REPORT_REACH_H
#define REPORT_REACH_H

#include <stddef.h>
#include <stdint.h>

#include "report/analysis.h"
#include "report/figure.h"

/*
 * The leaks the gate counts, of entry e (NULL: the whole capture): with a
 * reachability scan the definitely and indirectly lost and the unjudged
 * (and possibly lost and still reachable too when `with_reachable`);
 * without one, every leak. Returns the bytes, their allocations in *count.
 */
uint64_t reach_gate_leaks(const struct analysis *a, const struct analysis_entry *e, int with_reachable,
			  uint64_t *count);

/*
 * Who holds e's still reachable blocks, in words: "global cache in prog",
 * "thread 1234 stack", "a mapping of the program, at 0x7f..", ...; into
 * buf (names from the program's symbols: escape them to show them). NULL
 * when e has no still reachable block.
 */
const char *reach_holder(struct analysis *a, struct symbolizer *s, const struct analysis_entry *e, char *buf,
			 size_t len);

/*
 * The split every report shows of a scanned capture's leaks, lost first:
 * lost (definitely or indirectly: nothing points at them, memcheck's
 * "real" leaks), possibly lost, still reachable, then every leak (blocks
 * the scan did not judge included, so the views' bytes add up to it only
 * when it judged them all). `key` names a view in the HTML data (and so
 * in tests); `label` is what people read.
 */
struct reach_view {
	enum figure fig;
	const char *key, *label;
};

/* the verdicts in the order reports list them: lost first, as memcheck does; unjudged last */
extern const unsigned reach_order[CAPTURE_REACH_COUNT];

#define REACH_VIEWS 4
extern const struct reach_view reach_views[REACH_VIEWS];

#endif
