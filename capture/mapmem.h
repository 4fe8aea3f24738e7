/*
 * capture/mapmem: memory straight from mmap, for code that runs inside
 * the tracked program (the tracker, and the heap model its --aggregate
 * mode uses), where calling the program's allocator would recurse into
 * our own hooks or disturb the figures being measured.
 *
 * mapmem_grow() is the one growth helper of such tables: it maps a bigger
 * array (capacity doubling from `first`), copies, and unmaps the old one.
 * No locks, no stdio; safe wherever mmap is.
 */
#ifndef CAPTURE_MAPMEM_H
#define CAPTURE_MAPMEM_H

#include <stddef.h>

/* zeroed memory of `bytes`, or NULL */
void *mapmem_alloc(size_t bytes);
/*
 * The same for memory whose content a forked child has no use for (the
 * tracker's buffers): the child gets it zeroed (MADV_WIPEONFORK), so
 * fork() neither copies its page table nor makes it copy-on-write in
 * either process. Without that, each page written after a fork cost a
 * fault and a TLB flush in the parent and a copy in the child: 12 ms a
 * child for a Check suite in fork mode on a 2-core VM.
 */
void *mapmem_alloc_scratch(size_t bytes);
/* give back what mapmem_alloc(bytes) or mapmem_alloc_scratch(bytes) returned; NULL is a no-op */
void mapmem_free(void *p, size_t bytes);
/*
 * Zero what mapmem_alloc(bytes) returned without writing to it: its pages
 * are dropped (MADV_DONTNEED) and read as zeros again, so memory shared
 * with a parent process since fork() is neither copied nor kept; memset
 * when the kernel refuses. Not for memory that other threads write.
 */
void mapmem_zero(void *p, size_t bytes);
/*
 * Make *arr (of *cap elements of `size` bytes) hold at least `need`,
 * doubling from `first` elements. 0, or -1 when mmap fails or the size
 * overflows (*arr and *cap unchanged).
 */
int mapmem_grow(void **arr, size_t *cap, size_t need, size_t size, size_t first);

#endif
