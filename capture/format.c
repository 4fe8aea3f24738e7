/*
 * capture/format: the tables behind format.h, the one place that lists
 * the record types and allocator kinds by name.
 */
#include "capture/format.h"

const struct capture_record_info capture_record_types[CAPTURE_REC_LIMIT] = {
	[CAPTURE_REC_SEGMENT] = { "SEGMENT", 0 },
	[CAPTURE_REC_END] = { "END", 0 },
	[CAPTURE_REC_MODULES] = { "MODULES", 0 },
	[CAPTURE_REC_MODULE] = { "MODULE", 0 },
	[CAPTURE_REC_THREAD] = { "THREAD", 0 },
	[CAPTURE_REC_THREAD_NAME] = { "THREAD_NAME", 0 },
	[CAPTURE_REC_FRAME] = { "FRAME", 0 },
	[CAPTURE_REC_MEMORY] = { "MEMORY", 0 },
	[CAPTURE_REC_MARKER] = { "MARKER", 0 },
	[CAPTURE_REC_CODE] = { "CODE", 1 },
	[CAPTURE_REC_PYFRAME] = { "PYFRAME", 1 },
	[CAPTURE_REC_TIME] = { "TIME", 2 },
	[CAPTURE_REC_REACH] = { "REACH", 3 },
	[CAPTURE_REC_REACH_BLOCK] = { "REACH_BLOCK", 3 },
	[CAPTURE_REC_COLLECT] = { "COLLECT", 4 },
	[CAPTURE_REC_ALLOC] = { "ALLOC", 0 },
	[CAPTURE_REC_FREE] = { "FREE", 0 },
	[CAPTURE_REC_AGG_STACK] = { "AGG_STACK", 0 },
	[CAPTURE_REC_AGG_PEAK] = { "AGG_PEAK", 0 },
	[CAPTURE_REC_FRAME_REL] = { "FRAME_REL", 6 },
	[CAPTURE_REC_PYFRAME_REL] = { "PYFRAME_REL", 6 },
};

const char *capture_record_name(unsigned type)
{
	type = capture_record_base(type);
	if (type < CAPTURE_REC_LIMIT && capture_record_types[type].name)
		return capture_record_types[type].name;
	return "UNKNOWN";
}

static const char *const allocator_names[CAPTURE_ALLOC_COUNT] = {
	[CAPTURE_ALLOC_MALLOC] = "MALLOC",
	[CAPTURE_ALLOC_FREE] = "FREE",
	[CAPTURE_ALLOC_CALLOC] = "CALLOC",
	[CAPTURE_ALLOC_REALLOC] = "REALLOC",
	[CAPTURE_ALLOC_POSIX_MEMALIGN] = "POSIX_MEMALIGN",
	[CAPTURE_ALLOC_ALIGNED_ALLOC] = "ALIGNED_ALLOC",
	[CAPTURE_ALLOC_MEMALIGN] = "MEMALIGN",
	[CAPTURE_ALLOC_VALLOC] = "VALLOC",
	[CAPTURE_ALLOC_PVALLOC] = "PVALLOC",
	[CAPTURE_ALLOC_MMAP] = "MMAP",
	[CAPTURE_ALLOC_MUNMAP] = "MUNMAP",
	[CAPTURE_ALLOC_PYMALLOC_MALLOC] = "PYMALLOC_MALLOC",
	[CAPTURE_ALLOC_PYMALLOC_CALLOC] = "PYMALLOC_CALLOC",
	[CAPTURE_ALLOC_PYMALLOC_REALLOC] = "PYMALLOC_REALLOC",
	[CAPTURE_ALLOC_PYMALLOC_FREE] = "PYMALLOC_FREE",
};

const char *capture_allocator_name(unsigned kind)
{
	if (kind >= CAPTURE_ALLOC_COUNT || !allocator_names[kind])
		return "UNKNOWN";
	return allocator_names[kind];
}

int capture_allocator_allocates(unsigned kind)
{
	return kind && kind < CAPTURE_ALLOC_COUNT && kind != CAPTURE_ALLOC_FREE &&
	       kind != CAPTURE_ALLOC_MUNMAP && kind != CAPTURE_ALLOC_PYMALLOC_FREE;
}

const char *capture_reach_name(unsigned category)
{
	static const char *const names[CAPTURE_REACH_COUNT] = {
		"not scanned", "definitely lost", "indirectly lost", "possibly lost", "still reachable",
	};

	return category < CAPTURE_REACH_COUNT ? names[category] : "unknown";
}
