/*
 * tracker/aggregate: --aggregate mode, totals kept inside the process.
 *
 * Instead of writing every ALLOC and FREE, the tracker feeds them here and
 * at exit writes one AGG_STACK record per (stack, allocator) and one
 * AGG_PEAK (capture/format.h). The model is the readers' (report/): live
 * allocations by address, mmap'd ranges apart so a munmap may cover part
 * of one mapping or several, the peak as the moment live bytes were
 * highest, leaks as what is live at exit.
 *
 * The peak snapshot is lazy: a new peak only bumps a generation number.
 * Each per-stack entry remembers the generation it last saw; when it is
 * about to change and is stale, its current figures are still those of
 * the peak moment (nothing touched it since), so they are copied to its
 * at-peak figures first. No new peak ever walks all stacks.
 *
 * All memory comes from mmap (the tracker must not use the program's
 * allocator); every function is called with the tracker lock held. A
 * table that cannot grow makes the call fail and tracking stop.
 */
#ifndef TRACKER_AGGREGATE_H
#define TRACKER_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

int aggregate_init(void);
/* forget everything (the child of a fork starts afresh) */
void aggregate_reset(void);
/* 0, or -1 when out of memory */
int aggregate_alloc(uintptr_t addr, uint64_t size, uint32_t stack, unsigned kind, uint64_t now_ms);
int aggregate_free(uintptr_t addr, uint64_t size, unsigned kind);

/*
 * Encode the AGG_STACK and AGG_PEAK records, one at a time, through emit
 * (which gets a whole record); thread_count goes into AGG_PEAK.
 */
void aggregate_write(void (*emit)(const uint8_t *rec, size_t len), uint32_t thread_count);

#endif
