/*
 * report/figure: see figure.h.
 */
#include "report/figure.h"

#include "common/error.h"

int figure_of(const struct analysis_entry *e, enum figure f, uint64_t *bytes, uint64_t *count)
{
	uint64_t b, c;

	switch (f) {
	case FIGURE_ALL:
		b = e->bytes;
		c = e->allocs;
		break;
	case FIGURE_PEAK:
		b = e->peak_bytes;
		c = e->peak_count;
		break;
	case FIGURE_LEAKS:
		b = e->leak_bytes;
		c = e->leak_count;
		break;
	case FIGURE_TEMPORARY:
		b = e->temp_bytes;
		c = e->temp_count;
		break;
	case FIGURE_LOST:
		b = e->reach_bytes[CAPTURE_REACH_DEFINITE] + e->reach_bytes[CAPTURE_REACH_INDIRECT];
		c = e->reach_count[CAPTURE_REACH_DEFINITE] + e->reach_count[CAPTURE_REACH_INDIRECT];
		break;
	case FIGURE_POSSIBLE:
		b = e->reach_bytes[CAPTURE_REACH_POSSIBLE];
		c = e->reach_count[CAPTURE_REACH_POSSIBLE];
		break;
	case FIGURE_REACHABLE:
		b = e->reach_bytes[CAPTURE_REACH_REACHABLE];
		c = e->reach_count[CAPTURE_REACH_REACHABLE];
		break;
	case FIGURE_COLLECTED:
		b = e->collected_bytes;
		c = e->collected_count;
		break;
	default:
		BUG("figure %d", (int)f);
	}
	if (bytes)
		*bytes = b;
	if (count)
		*count = c;
	return b || c;
}

uint64_t figure_total(const struct analysis *a, enum figure f, uint64_t *count)
{
	uint64_t bytes = 0, n = 0;

	for (size_t i = 0; i < a->nentries; i++) {
		uint64_t b, c;

		figure_of(&a->entries[i], f, &b, &c);
		bytes += b;
		n += c;
	}
	if (count)
		*count = n;
	return bytes;
}
