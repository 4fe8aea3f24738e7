/*
 * tracker/unwind: what the tracker adds to libunwind's unw_backtrace():
 * it keeps the fast walk right after code is unloaded, and it can check
 * every stack against a slow walk (common/env.h ENV_VERIFY_UNWIND), so
 * that a faster way to get stacks is proven on the fixtures, not trusted.
 *
 * The fast stack comes from the tracker's own walk (tracker/walk.c) when
 * it has the rules of every frame, else from unw_backtrace(); the check
 * counts which, and compares both the same way. An unload also makes the
 * own walk forget its rules (tracker_walk_forget), here where the taints
 * are added.
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
 * The slow unwind here is that unw_step() loop from a fresh context, after
 * unw_flush_cache(), so each step finds the module and its unwind table
 * again and parses the CFI anew: it shares no cached state with the fast
 * walk. (Not UNW_CACHE_NONE: without a cache, libunwind 1.6 skips the step
 * that tells the fast walk's table about signal frames, so the walk being
 * checked would not be the one that runs unchecked.) Both run in the same
 * call of tracker_record_alloc, so below the tracker's own frames (skipped
 * by address in both) they must give the same return addresses, one for
 * one, to the same depth.
 *
 * WHY NOT UNW_CACHE_PER_THREAD
 *
 * heaptrack and the Python memray set it; here it changes nothing. The
 * fast walk's table above is per thread whatever the policy; the policy
 * only chooses the cache of the unw_step() loop, which the fast walk
 * reaches on a miss (once per address) or when it gives up. And libunwind
 * 1.6.2 turns UNW_CACHE_PER_THREAD into UNW_CACHE_GLOBAL unless built
 * with HAVE___THREAD, which its configure no longer defines: Debian 12's
 * build takes the same lock (and masks signals the same way) under both
 * policies, 38299 against 38315 rt_sigprocmask calls for 800 slow walks
 * on four threads. Measured on the bench workloads, within noise. Where a
 * per-thread cache does exist (--enable-per-thread-cache), it is not safe
 * against a signal handler that unwinds on the same thread, which the
 * global cache's masked lock is. unw_set_cache_size() sizes that same
 * slow-path cache: no effect on the fast walk either.
 *
 * UNLOADED CODE
 *
 * Since that table cannot be emptied, an address is suspect once a module
 * that covered it has been unloaded: the rule kept for it may be the old
 * module's. The tracker keeps the executable ranges of every module it
 * saw unloaded ("taints"); a fast stack with a return address in one is
 * unwound again with the unw_step() loop, whose own cache is flushed
 * (unw_flush_cache) when the taint is added. The first suspect address in
 * a fast stack is itself right (the frame below it found it with a sound
 * rule), so checking the addresses the fast walk returned is enough. The
 * cost: nothing until a module is unloaded (one load of the taint count),
 * then a range check per frame, and the slow walk for stacks through
 * reused ranges.
 *
 * Unloads are seen two ways. dlclose() is hooked (unlike dlopen, it does
 * not depend on its caller): before the real call it notes the ranges of
 * the handle's module, after it taints them if the module is gone, before
 * the program can map anything else there. The writer's tick compares the
 * module list with the one it saw last and taints what disappeared: the
 * dependencies a dlclose took along, and glibc's own unloads (iconv
 * modules) that do not go through the hook. More unloads than either
 * explains (a module loaded and unloaded between two ticks, out of the
 * hook's sight) taint everything: every stack walks slowly from then on.
 * What remains: a module that glibc unloads internally, whose range is
 * reused and unwound through within one tick (10 ms).
 *
 * WHAT IT COUNTS
 *
 * Stacks compared and stacks that differed, process-wide (relaxed atomic
 * counters: any thread, signal handlers included, no lock), and the first
 * difference: depth and both addresses, for the one line at exit. A
 * forked child counts afresh. The cost is a full DWARF unwind per
 * allocation: tests only.
 */
#include <dlfcn.h>
#include <link.h>

#include "tracker/unwind.h"

static uint64_t compared, mismatched, by_way[3];	/* by_way: enum walk_how */
static int first_taken;	/* the first mismatch's details are written once */
static struct {
	int depth, fast_n;
	uintptr_t fast_ip, slow_ip;
} first;

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
__attribute__((noinline)) void tracker_unwind_verify(const uintptr_t *fast, int n, int is_full, enum walk_how how)
{
	unw_context_t uc;
	unw_cursor_t c;
	int total = 0, depth = 0, in_self = 1;

	__atomic_fetch_add(&compared, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&by_way[how], 1, __ATOMIC_RELAXED);
	unw_flush_cache(unw_local_addr_space, 0, 0);	/* only what this walk reads itself */
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
	ADD(" mismatches; ");
	ADD(put_number(num + sizeof(num), __atomic_load_n(&by_way[WALK_WALKED], __ATOMIC_RELAXED), 10));
	ADD(" walked, ");
	ADD(put_number(num + sizeof(num), __atomic_load_n(&by_way[WALK_JOINED], __ATOMIC_RELAXED), 10));
	ADD(" joined, ");
	ADD(put_number(num + sizeof(num), __atomic_load_n(&by_way[WALK_LIBUNWIND], __ATOMIC_RELAXED), 10));
	ADD(" by libunwind");
	if (__atomic_load_n(&first_taken, __ATOMIC_RELAXED)) {
		ADD(" (first at depth ");
		ADD(put_number(num + sizeof(num), (uint64_t)first.depth, 10));
		if (first.depth < first.fast_n) {
			ADD(": fast 0x");
			ADD(put_number(num + sizeof(num), first.fast_ip, 16));
		} else {
			ADD(": the fast stack ends");
		}
		ADD(" of ");
		ADD(put_number(num + sizeof(num), (uint64_t)first.fast_n, 10));
		ADD(" frames, slow ");
		if (first.slow_ip) {
			ADD("0x");
			ADD(put_number(num + sizeof(num), first.slow_ip, 16));
		} else {
			ADD("ends");
		}
		ADD(")");
	}
#undef ADD
	line[len++] = '\n';
	if (write(2, line, len) < 0) {
		/* nothing more we can do */
	}
}

/* ------------------------------------------------------------------ */
/* unloaded code                                                         */

#define MAX_TAINTS 256
#define MAX_SNAP 1024	/* executable segments the writer's snapshot keeps */

int tracker_unwind_taints;
static struct {
	uintptr_t lo, hi;
} taints[MAX_TAINTS];
static int taint_all;	/* more than MAX_TAINTS, or an unload nobody saw */
static pthread_mutex_t taint_lock = PTHREAD_MUTEX_INITIALIZER;	/* held for no call */
static unsigned long hook_unloads;	/* modules the dlclose hook saw go */

/* [lo, hi) may hold stale rules now; 1 if it was not known yet */
static int taint(uintptr_t lo, uintptr_t hi)
{
	int n, is_new = 1;

	pthread_mutex_lock(&taint_lock);
	n = tracker_unwind_taints;
	for (int i = 0; i < n && i < MAX_TAINTS; i++)
		if (taints[i].lo == lo && taints[i].hi == hi)
			is_new = 0;
	if (is_new) {
		if (n < MAX_TAINTS) {
			taints[n].lo = lo;
			taints[n].hi = hi;
		} else {
			__atomic_store_n(&taint_all, 1, __ATOMIC_RELAXED);
		}
		__atomic_store_n(&tracker_unwind_taints, n + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&taint_lock);
	unw_flush_cache(unw_local_addr_space, lo, hi);	/* the unw_step() loop's own cache */
	return is_new;
}

static void taint_everything(void)
{
	int was_all;

	pthread_mutex_lock(&taint_lock);
	was_all = __atomic_exchange_n(&taint_all, 1, __ATOMIC_RELAXED);
	if (!tracker_unwind_taints)	/* what it counts stays filled in: only make it nonzero */
		__atomic_store_n(&tracker_unwind_taints, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&taint_lock);
	unw_flush_cache(unw_local_addr_space, 0, 0);
	if (!was_all)
		tracker_walk_forget();	/* every rule of the tracker's own walk too */
}

/* the unw_step() loop into buf from this function's caller outwards */
__attribute__((noinline)) static int slow_backtrace(uintptr_t *buf, int max)
{
	unw_context_t uc;
	unw_cursor_t c;
	int n = 0;

	if (unw_getcontext(&uc) < 0 || unw_init_local(&c, &uc) < 0)
		return 0;
	while (n < max && unw_step(&c) > 0) {
		unw_word_t ip;

		if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0)
			break;
		buf[n++] = ip;
	}
	return n;
}

int tracker_unwind_recheck(uintptr_t *buf, int n)
{
	int nt = __atomic_load_n(&tracker_unwind_taints, __ATOMIC_ACQUIRE);
	int is_suspect = __atomic_load_n(&taint_all, __ATOMIC_RELAXED);

	if (nt > MAX_TAINTS)
		nt = MAX_TAINTS;
	for (int i = 0; i < n && !is_suspect; i++)
		for (int t = 0; t < nt; t++)
			if (buf[i] >= taints[t].lo && buf[i] <= taints[t].hi)	/* hi: a call at the very end */
				is_suspect = 1;
	/* slow_backtrace's first frame is this function's caller, as unw_backtrace's was */
	return is_suspect ? slow_backtrace(buf, MAX_FRAMES) : n;
}

/* the executable segments of the module at `base` named `name` (its l_name) */
struct module_code {
	uintptr_t base;
	const char *name;
	int n, is_found;
	uintptr_t lo[8], hi[8];
};

_Static_assert(sizeof(struct module_code) <= sizeof(((struct tracker_unload *)0)->code),
	       "tracker_unload holds a module_code");

static int find_code(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct module_code *m = arg;

	(void)size;
	if (info->dlpi_addr != m->base || info->dlpi_name != m->name)
		return 0;
	m->is_found = 1;
	for (int i = 0; i < info->dlpi_phnum && m->n < 8; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			m->lo[m->n] = info->dlpi_addr + ph->p_vaddr;
			m->hi[m->n++] = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		}
	}
	return 1;
}

void tracker_unwind_unload_begin(struct tracker_unload *u, void *handle)
{
	struct link_map *lm = NULL;
	struct module_code m = { 0 };

	u->cookie = NULL;
	/* a module loaded since the last tick is written before it goes, so its frames symbolize */
	if (tracker_active)
		tracker_record_modules(0);
	if (!handle || dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || !lm)
		return;
	m.base = lm->l_addr;
	m.name = lm->l_name;
	dl_iterate_phdr(find_code, &m);
	if (!m.is_found || !m.n)
		return;
	memcpy(u->code, &m, sizeof(m));
	u->cookie = u->code;
}

void tracker_unwind_unload_end(struct tracker_unload *u)
{
	struct module_code m;

	if (!u->cookie)
		return;
	memcpy(&m, u->code, sizeof(m));
	m.is_found = 0;
	m.n = 0;
	dl_iterate_phdr(find_code, &m);
	if (m.is_found)
		return;	/* still loaded: another handle holds it */
	memcpy(&m, u->code, sizeof(m));
	for (int i = 0; i < m.n; i++)
		taint(m.lo[i], m.hi[i]);
	tracker_walk_forget();	/* every rule of the tracker's own walk: the next table reads the modules anew */
	__atomic_fetch_add(&hook_unloads, 1, __ATOMIC_RELEASE);
}

/* the writer's view of the executable segments, to see what went */
struct snap_entry {
	uintptr_t lo, hi, base;
	const char *name;
	int is_first;	/* the module's first segment: counts the module once */
};

static struct snapshot {
	struct snap_entry e[MAX_SNAP];
	int n, is_partial;
	unsigned long long adds, subs;
} snaps[2];
static int snap_cur = -1;	/* the last one taken; -1: none yet */

static int snap_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct snapshot *s = arg;
	int is_first = 1;

	(void)size;
	s->adds = info->dlpi_adds;
	s->subs = info->dlpi_subs;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		if (s->n == MAX_SNAP) {
			s->is_partial = 1;
			return 0;
		}
		s->e[s->n++] = (struct snap_entry){ info->dlpi_addr + ph->p_vaddr,
						    info->dlpi_addr + ph->p_vaddr + ph->p_memsz,
						    info->dlpi_addr, info->dlpi_name, is_first };
		is_first = 0;
	}
	return 0;
}

static int snap_has(const struct snapshot *s, const struct snap_entry *x)
{
	for (int i = 0; i < s->n; i++)
		if (s->e[i].lo == x->lo && s->e[i].hi == x->hi && s->e[i].base == x->base && s->e[i].name == x->name)
			return 1;
	return 0;
}

void tracker_unwind_rescan(void)
{
	static unsigned long hooked_seen;
	unsigned long long c[2];
	unsigned long hooked = __atomic_load_n(&hook_unloads, __ATOMIC_ACQUIRE);
	struct snapshot *old, *now;
	long long unexplained;

	tracker_module_counters(c);
	if (snap_cur >= 0 && c[0] == snaps[snap_cur].adds && c[1] == snaps[snap_cur].subs)
		return;
	now = &snaps[snap_cur < 0 ? 0 : !snap_cur];
	now->n = now->is_partial = 0;
	dl_iterate_phdr(snap_one, now);
	if (snap_cur >= 0) {
		old = &snaps[snap_cur];
		unexplained = (long long)(now->subs - old->subs) - (long long)(hooked - hooked_seen);
		for (int i = 0; i < old->n; i++) {
			const struct snap_entry *x = &old->e[i];

			if (snap_has(now, x))
				continue;
			tracker_walk_forget();	/* before this tick's tracker_walk_resolve() */
			if (taint(x->lo, x->hi) && x->is_first)
				unexplained--;	/* a module the hook did not see go */
		}
		if (unexplained > 0 || old->is_partial || now->is_partial)
			taint_everything();
	}
	hooked_seen = hooked;
	snap_cur = (int)(now - snaps);
}

void tracker_unwind_after_fork(void)
{
	compared = mismatched = 0;
	memset(by_way, 0, sizeof(by_way));
	first_taken = 0;
	/* another thread may have held it at the fork: the taints it counts are whole */
	pthread_mutex_init(&taint_lock, NULL);
}
