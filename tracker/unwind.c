/*
 * tracker/unwind: checking the fast unwinder against the slow one
 * (common/env.h ENV_VERIFY_UNWIND), so that a faster way to get stacks can
 * be proven on every fixture rather than trusted.
 *
 * WHAT IS FAST, WHAT IS SLOW
 *
 * unw_backtrace() (libunwind 1.6, x86-64) walks the stack with a table of
 * its own, per thread, keyed by instruction address: for each address the
 * rule that finds the caller (CFA is RSP or RBP plus an offset, where the
 * saved RBP is, or "a signal frame"). A miss fills the entry with one
 * unw_step(); a frame its rules cannot describe sends the whole walk to
 * the unw_step() loop. The table is never emptied, not even by
 * unw_flush_cache(): an entry outlives the code it describes when a
 * module is unloaded and another is mapped at the same address.
 *
 * The slow unwind here is that unw_step() loop from a fresh context, with
 * libunwind's caching policy set to UNW_CACHE_NONE at start, so each step
 * finds the module and its unwind table again and parses the CFI anew: it
 * shares no cached state with the fast walk. Both run in the same call of
 * tracker_record_alloc, so below the tracker's own frames (skipped by
 * address in both) they must give the same return addresses, one for one,
 * to the same depth.
 *
 * WHAT IT COUNTS
 *
 * Stacks compared and stacks that differed, process-wide (relaxed atomic
 * counters: any thread, signal handlers included, no lock), and the first
 * difference: depth and both addresses, for the one line at exit. A
 * forked child counts afresh. The cost is a full DWARF unwind per
 * allocation: tests only.
 */
#include "tracker/internal.h"

static uint64_t compared, mismatched;
static int first_taken;	/* the first mismatch's details are written once */
static struct {
	int depth, fast_n;
	uintptr_t fast_ip, slow_ip;
} first;

void tracker_unwind_verify_init(void)
{
	if (tracker_cfg.verify_unwind)
		unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_NONE);
}

void tracker_unwind_verify_reset(void)
{
	compared = mismatched = 0;
	first_taken = 0;
}

static void note_mismatch(int depth, int fast_n, uintptr_t fast_ip, uintptr_t slow_ip)
{
	__atomic_fetch_add(&mismatched, 1, __ATOMIC_RELAXED);
	if (__atomic_exchange_n(&first_taken, 1, __ATOMIC_RELAXED))
		return;
	first.depth = depth;
	first.fast_n = fast_n;
	first.fast_ip = fast_ip;
	first.slow_ip = slow_ip;
}

/*
 * noinline: the slow walk starts in this frame and steps out of it into
 * tracker_record_alloc, where unw_backtrace() started too.
 */
__attribute__((noinline)) void tracker_unwind_verify(const uintptr_t *fast, int n, int is_full)
{
	unw_context_t uc;
	unw_cursor_t c;
	int total = 0, depth = 0, in_self = 1;

	__atomic_fetch_add(&compared, 1, __ATOMIC_RELAXED);
	if (unw_getcontext(&uc) < 0 || unw_init_local(&c, &uc) < 0) {
		note_mismatch(0, n, n ? fast[0] : 0, 0);
		return;
	}
	/* the fast walk kept at most MAX_FRAMES, the tracker's own included */
	while (total < MAX_FRAMES && unw_step(&c) > 0) {
		unw_word_t ip;

		if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0)
			break;
		total++;
		if (in_self && ip >= tracker_cfg.self_lo && ip < tracker_cfg.self_hi)
			continue;
		in_self = 0;
		if (depth >= n) {
			if (is_full)
				return;	/* the fast walk was cut at MAX_FRAMES: its frames matched */
			note_mismatch(depth, n, 0, ip);
			return;
		}
		if (fast[depth] != ip) {
			note_mismatch(depth, n, fast[depth], ip);
			return;
		}
		depth++;
	}
	if (depth != n)
		note_mismatch(depth, n, fast[depth], 0);
}

/* decimal or hex digits of v at the end of buf: where they start */
static char *put_number(char *end, uint64_t v, unsigned base)
{
	*--end = '\0';
	do {
		*--end = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	return end;
}

/* write(2) only: the exit may come from a signal handler */
void tracker_unwind_verify_report(void)
{
	char line[256], num[24];
	size_t len = 0;

	if (!tracker_cfg.verify_unwind)
		return;
#define ADD(s)                                                     \
	for (const char *q = (s); *q && len < sizeof(line) - 1; q++) \
		line[len++] = *q;
	ADD("memray: unwind verification: ");
	ADD(put_number(num + sizeof(num), __atomic_load_n(&compared, __ATOMIC_RELAXED), 10));
	ADD(" stacks compared, ");
	ADD(put_number(num + sizeof(num), __atomic_load_n(&mismatched, __ATOMIC_RELAXED), 10));
	ADD(" mismatches");
	if (__atomic_load_n(&first_taken, __ATOMIC_RELAXED)) {
		ADD(" (first at depth ");
		ADD(put_number(num + sizeof(num), (uint64_t)first.depth, 10));
		ADD(": fast 0x");
		ADD(put_number(num + sizeof(num), first.fast_ip, 16));
		ADD(" of ");
		ADD(put_number(num + sizeof(num), (uint64_t)first.fast_n, 10));
		ADD(" frames, slow 0x");
		ADD(put_number(num + sizeof(num), first.slow_ip, 16));
		ADD(")");
	}
#undef ADD
	line[len++] = '\n';
	if (write(2, line, len) < 0) {
		/* nothing more we can do */
	}
}
