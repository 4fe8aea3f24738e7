/*
 * report/reach: see reach.h.
 */
#include "report/reach.h"

#include <stdio.h>
#include <string.h>

const unsigned reach_order[CAPTURE_REACH_COUNT] = {
	CAPTURE_REACH_DEFINITE, CAPTURE_REACH_INDIRECT, CAPTURE_REACH_POSSIBLE, CAPTURE_REACH_REACHABLE,
	CAPTURE_REACH_UNKNOWN,
};

const struct reach_view reach_views[REACH_VIEWS] = {
	{ FIGURE_LOST, "lost", "lost (definitely or indirectly)" },
	{ FIGURE_POSSIBLE, "possibly", "possibly lost" },
	{ FIGURE_REACHABLE, "reachable", "still reachable" },
	{ FIGURE_LEAKS, "all", "all leaks" },
};

uint64_t reach_gate_leaks(const struct analysis *a, const struct analysis_entry *e, int with_reachable,
			  uint64_t *count)
{
	const uint64_t *n = e ? e->reach_count : a->reach_count, *b = e ? e->reach_bytes : a->reach_bytes;
	uint64_t bytes = 0;

	*count = e ? e->leak_count : a->leaked_allocations;
	if (!a->has_reachability || with_reachable)
		return e ? e->leak_bytes : a->leaked_bytes;
	*count = 0;
	for (unsigned k = CAPTURE_REACH_UNKNOWN; k <= CAPTURE_REACH_INDIRECT; k++) {
		*count += n[k];
		bytes += b[k];
	}
	return bytes;
}

/* "global NAME[+OFF] in MODULE" for a root word of the last image's modules */
static const char *global_name(struct analysis *a, struct symbolizer *s, uint64_t addr, char *buf, size_t len)
{
	for (size_t i = a->nmodules; i-- > 0;) {	/* the last image's latest set first */
		const struct analysis_module *m = &a->modules[i];
		const char *name, *base = strrchr(m->sym.path, '/');
		uint64_t off = 0;

		if (m->segment + 1 != a->segments || !analysis_module_has(m, addr + 1))
			continue;
		base = base ? base + 1 : m->sym.path;
		name = symbolizer_data_name(s, &m->sym, addr, &off);
		if (name && off)
			snprintf(buf, len, "global %s+%llu in %s", name, (unsigned long long)off, base);
		else if (name)
			snprintf(buf, len, "global %s in %s", name, base);
		else
			snprintf(buf, len, "a global at 0x%llx in %s", (unsigned long long)addr, base);
		return buf;
	}
	snprintf(buf, len, "a global at 0x%llx", (unsigned long long)addr);
	return buf;
}

const char *reach_holder(struct analysis *a, struct symbolizer *s, const struct analysis_entry *e, char *buf,
			 size_t len)
{
	static const char *const what[CAPTURE_ROOT_COUNT] = {
		[CAPTURE_ROOT_STACK] = "stack", [CAPTURE_ROOT_REGISTERS] = "registers", [CAPTURE_ROOT_TLS] = "TLS",
	};
	unsigned long long v = (unsigned long long)e->hold_value;

	switch (e->hold_kind) {
	case CAPTURE_ROOT_GLOBAL:
		return global_name(a, s, e->hold_value, buf, len);
	case CAPTURE_ROOT_STACK:
	case CAPTURE_ROOT_REGISTERS:
	case CAPTURE_ROOT_TLS:
		snprintf(buf, len, "thread %llu %s", v, what[e->hold_kind]);
		return buf;
	case CAPTURE_ROOT_MAPPING:
		snprintf(buf, len, "a mapping of the program, at 0x%llx", v);
		return buf;
	case CAPTURE_ROOT_MAPPING_SELF:
		snprintf(buf, len, "itself (a mapping: a root)");
		return buf;
	default:
		return NULL;
	}
}
