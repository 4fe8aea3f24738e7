/*
 * tracker/walk: the tracker's own stack walk; walk.h says what it is for.
 *
 * THE RULES
 *
 * One rule per return address (a key), found at key - 1: the last byte of
 * the call, in the caller, so that a call at the very end of a function
 * (noreturn) finds the caller's rule and not the next function's. A rule
 * says, at that address, where the CFA is (RSP or RBP plus an offset),
 * where the return address is saved (CFA plus an offset), and whether RBP
 * is saved (CFA plus an offset), kept, or lost. The walk applies it to
 * the registers it holds (RSP, RBP, the address) and gets the caller's.
 * That is the whole of what the DWARF CFI says about those registers, and
 * other registers cannot matter: a rule that names one is not kept.
 *
 * A key either has its rule, or "give up" (a signal frame, a CFA given by
 * an expression or by another register, a module without unwind tables),
 * or is not in the table. The last two send the stack to libunwind.
 *
 * WHERE RULES COME FROM
 *
 * Only the writer thread adds rules, on its tick: it reads the module's
 * .eh_frame_hdr and .eh_frame from memory (copied while dl_iterate_phdr
 * holds the loader's lock, so the module cannot go meanwhile) into an ELF
 * image of its own that elfutils reads like a file without sections
 * (dwarf_getcfi_elf, then dwarf_cfi_addrframe per key). The rules are
 * thus those of the code mapped now, whatever happened to the file. The
 * program's threads only queue keys they lack (tracker_walk_learn): never
 * a call into elfutils, whose malloc could meet a lock the interrupted
 * thread holds. A cached module is used again only while its copied
 * tables are byte for byte the mapped ones. The writer does all of this
 * under tracker_modules_lock, which fork's prepare handler takes: a
 * forked child inherits the modules and elfutils whole, never mid-way.
 *
 * The table is open addressing with linear probing, written by the
 * writer alone: the rule first, then the key (release); readers compare
 * the key (acquire) and then read the rule. A grown table is published
 * whole, with its own mask; the old one stays mapped for walks still on
 * it (the sizes double, so that is less than the table in use).
 *
 * JOINING THE LAST WALK
 *
 * Most allocations come from a stack much like the thread's previous
 * one. Each thread keeps its last walk (struct walk_log, root first):
 * every frame's state before its step (key, RSP, RBP, whether RBP is
 * known) and the words the step read (where, and what). When the walk
 * under way reaches a state equal to a logged frame's, and every word the
 * log read from that frame to the root is still there, the rest of the
 * walk would be the logged one: the same rules (the same table, whose
 * rules never change) applied to the same registers and the same memory
 * give the same steps. It takes the rest from the log. The words are
 * checked innermost first and the first that differs rules out every
 * frame from there inwards, so one walk reads each logged word at most
 * once. Comparing the return addresses alone would not do: alloca, a
 * recursion or two callers of one function at the same depth leave equal
 * return addresses in frames that differ.
 *
 * UNLOADED CODE
 *
 * When code is unloaded, a rule may describe code no longer there:
 * tracker_walk_forget(), from the dlclose hook after the module is gone
 * and from the writer's tick when a module left the list
 * (tracker/unwind.c), unpublishes the table at once, and the writer
 * starts a new one from modules read again. The window is
 * tracker/unwind.c's: an unload the hook did not see counts from the
 * writer's next tick. A forgotten table stays mapped (a walk may still be
 * on it): after MAX_TABLES tables the walk stays with libunwind for good,
 * so a program that unloads code over and over does not grow us without
 * end.
 *
 * WHY THE WALK CANNOT READ WILD MEMORY
 *
 * With a right rule, the slots it reads are the frame's own. The walk
 * also gives up if a CFA is not above the previous one or more than 1 GiB
 * above it, so a wrong rule cannot send it far.
 */
#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdw.h>
#include <libelf.h>
#include <link.h>
#include <stdbool.h>
#include <stdlib.h>

#include "tracker/internal.h"
#include "tracker/walk.h"

#define R_VALID 1u
#define R_GIVE_UP 2u	/* libunwind unwinds this frame */
#define R_OUTERMOST 4u	/* no caller: the return address is undefined */
#define R_CFA_BP 8u	/* CFA = RBP + offset, else RSP + offset */
#define R_BP_SAVED 16u	/* the caller's RBP is at CFA + bp offset */
#define R_BP_LOST 32u	/* the caller's RBP is undefined */
#define RULE_GIVE_UP ((uint64_t)(R_VALID | R_GIVE_UP))

/* a rule in one word: flags, RBP's slot / 8, the return address's slot, the CFA's offset */
static inline uint64_t make_rule(unsigned flags, int bp_off, int ra_off, int32_t cfa_off)
{
	return (uint64_t)flags | (uint64_t)(uint8_t)(int8_t)(bp_off / 8) << 8 |
	       (uint64_t)(uint16_t)(int16_t)ra_off << 16 | (uint64_t)(uint32_t)cfa_off << 32;
}

#define RULE_BP_OFF(r) ((intptr_t)(int8_t)((r) >> 8) * 8)
#define RULE_RA_OFF(r) ((intptr_t)(int16_t)((r) >> 16))
#define RULE_CFA_OFF(r) ((intptr_t)(int32_t)((r) >> 32))

struct rule_slot {
	uintptr_t key;
	uint64_t rule;
};

struct rule_table {
	size_t mask, used;
	unsigned shift;
	struct rule_slot slot[];
};

#define FIRST_BITS 12
#define LAST_BITS 22	/* 2M keys at half load: beyond, new keys stay with libunwind */
#define MAX_PROBE 32
#define MAX_CFA_STEP (1ul << 30)
#define MAX_TABLES 8

static struct rule_table *table;	/* published; NULL: the walk gives up */

/* the top `64 - shift` bits of key's hash */
static inline size_t key_hash(uintptr_t key, unsigned shift)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> shift);
}

static inline size_t slot_of(const struct rule_table *t, uintptr_t key)
{
	return key_hash(key, t->shift);
}

/* key's rule, or 0 */
static inline uint64_t rule_of(const struct rule_table *t, uintptr_t key)
{
	size_t i = slot_of(t, key);

	for (int probe = 0; probe < MAX_PROBE; probe++, i = (i + 1) & t->mask) {
		uintptr_t k = __atomic_load_n(&t->slot[i].key, __ATOMIC_ACQUIRE);

		if (k == key)
			return __atomic_load_n(&t->slot[i].rule, __ATOMIC_RELAXED);
		if (!k)
			break;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* the keys the program's threads lack                                   */

#define PENDING_BITS 10
#define PENDING (1 << PENDING_BITS)
static uintptr_t pending[PENDING];
/*
 * The keys forked children lacked, for the processes that forked them: a
 * queue like `pending`, in memory shared across fork (MAP_SHARED, made
 * by each process image at start). A child's rules die with it, so a
 * Check suite in fork mode had every forked test send its test code's
 * stacks to libunwind until its own writer's first tick, test after
 * test. A process that forked learns these keys too, from its own code
 * (a key is only a suggestion: its rule is what the learner's unwind
 * tables say, and one in none of its modules is left out), and the
 * children it forks next inherit the rules.
 */
static uintptr_t *handed_up;
static int is_forked_child, has_forked;
#define MAX_KEYS (2 * PENDING)	/* a tick's: its own queue's and its children's */

static void queue_key(uintptr_t *queue, uintptr_t key)
{
	size_t i = key_hash(key, 64 - PENDING_BITS);

	for (int probe = 0; probe < 4; probe++, i = (i + 1) % PENDING) {
		uintptr_t seen = __atomic_load_n(&queue[i], __ATOMIC_RELAXED), none = 0;

		if (seen == key)
			return;
		if (!seen && __atomic_compare_exchange_n(&queue[i], &none, key, 0, __ATOMIC_RELAXED,
							 __ATOMIC_RELAXED))
			return;
	}
	/* the queue is busy: the key comes again with the next stack through it */
}

static void want(uintptr_t key)
{
	queue_key(pending, key);
	if (is_forked_child && handed_up)
		queue_key(handed_up, key);
}

void tracker_walk_init(void)
{
	void *p;

	if (!tracker_cfg.own_walk || !(tracker_cfg.flags & CAPTURE_F_FOLLOW_FORK))
		return;	/* no child of this image walks a stack */
	p = mmap(NULL, PENDING * sizeof(uintptr_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	handed_up = p == MAP_FAILED ? NULL : p;	/* without it, children learn for themselves only */
}

void tracker_walk_forked(int is_child)
{
	if (is_child)
		is_forked_child = 1;
	/* a child has forked nobody yet: its parent's flag would have it take its own keys from the queue */
	has_forked = !is_child;
}

static int is_retired;	/* MAX_TABLES were made: no more */

void tracker_walk_learn(const uintptr_t *buf, int n)
{
	const struct rule_table *t = __atomic_load_n(&table, __ATOMIC_ACQUIRE);

	if (!tracker_cfg.own_walk || __atomic_load_n(&is_retired, __ATOMIC_RELAXED))
		return;
	for (int i = 0; i < n; i++)	/* no table (code was unloaded a moment ago): the next one will need them */
		if (buf[i] && (!t || !rule_of(t, buf[i])))
			want(buf[i]);
}

/* ------------------------------------------------------------------ */
/* the walk                                                              */

#if defined(__x86_64__)
/*
 * Whether the old frames, from `at` (whose state is the walk's now) to the
 * root, read the same words as last time; then the walk from here is last
 * time's (same state, same rules, same memory). -1 if so, else the frame
 * that read another word: no frame from there inwards can join.
 */
static inline int differs_at(const struct walk_log *log, int at)
{
	for (int k = at; k >= 0; k--) {
		const struct walk_frame *f = &log->frame[k];

		if ((f->ra_at && *f->ra_at != (k ? log->frame[k - 1].key : 0)) || (f->bp_at && *f->bp_at != f->bp_val))
			return k;
	}
	return -1;
}

/* the walk's state is the one of log frame `at`, and what it read from there is unchanged */
static inline int joins(const struct walk_log *log, int at, int *below, uintptr_t key, uintptr_t sp, uintptr_t bp,
			int is_bp_known)
{
	const struct walk_frame *f = &log->frame[at];

	if (at >= *below || f->sp != sp || f->key != key || f->bp != bp || f->is_bp_known != (uintptr_t)is_bp_known)
		return 0;
	*below = differs_at(log, at);
	return *below < 0;
}

/*
 * The walk joined the log at frame `at`, with nfresh frames before it and
 * n keys in buf: the rest of the keys from the log, and the fresh frames
 * into it. The new count.
 */
static int join(struct walk_log *log, int at, int nfresh, uintptr_t *buf, int n, int max)
{
	for (int k = at - 1; k >= 0 && n < max; k--)
		buf[n++] = log->frame[k].key;
	log->how = WALK_JOINED;
	if (at + 1 + nfresh <= WALK_LOG) {
		for (int i = 0; i < nfresh; i++)
			log->frame[at + nfresh - i] = log->fresh[i];
		log->n = at + 1 + nfresh;
	} else {
		log->n = 0;
	}
	return n;
}

__attribute__((noinline)) int tracker_walk(struct walk_log *log, uintptr_t *buf, int max)
{
	const struct rule_table *t = __atomic_load_n(&table, __ATOMIC_ACQUIRE);
	struct walk_frame *f;
	uintptr_t key, sp, bp;
	int n = 0, nfresh = 0, is_bp_known = 1, at, below = WALK_LOG;

	if (!t)
		return -1;
	at = log->table == t ? log->n - 1 : -1;
	/* this frame's registers at label 1; its key is the label + 1 (see THE RULES) */
	__asm__ volatile("mov %%rbp, %1\n\t"
			 "mov %%rsp, %2\n\t"
			 "lea 1f(%%rip), %0\n"
			 "1:"
			 : "=&r"(key), "=&r"(bp), "=&r"(sp));
	key++;
	while (n < max) {
		uint64_t rule;
		uintptr_t cfa;

		while (at >= 0 && log->frame[at].sp < sp)
			at--;
		if (at >= 0 && joins(log, at, &below, key, sp, bp, is_bp_known))
			return join(log, at, nfresh, buf, n, max);
		rule = rule_of(t, key);
		if (!(rule & R_VALID)) {
			want(key);
			want((uintptr_t)__builtin_return_address(0));	/* libunwind's walk misses that one */
			return -1;
		}
		if (rule & R_GIVE_UP)
			return -1;
		f = &log->fresh[nfresh < WALK_LOG ? nfresh : WALK_LOG - 1];
		nfresh++;
		*f = (struct walk_frame){ key, sp, bp, NULL, NULL, 0, (uintptr_t)is_bp_known };
		if (rule & R_OUTERMOST)
			break;
		if (rule & R_CFA_BP) {
			if (!is_bp_known)
				return -1;
			cfa = bp + (uintptr_t)RULE_CFA_OFF(rule);
		} else {
			cfa = sp + (uintptr_t)RULE_CFA_OFF(rule);
		}
		if (cfa <= sp || cfa - sp > MAX_CFA_STEP)
			return -1;
		f->ra_at = (const uintptr_t *)(cfa + (uintptr_t)RULE_RA_OFF(rule));
		key = *f->ra_at;
		if (rule & R_BP_SAVED) {
			f->bp_at = (const uintptr_t *)(cfa + (uintptr_t)RULE_BP_OFF(rule));
			bp = f->bp_val = *f->bp_at;
		} else if (rule & R_BP_LOST) {
			is_bp_known = 0;
		}
		sp = cfa;
		if (!key)
			break;	/* libunwind's walk ends at a return address of 0 too */
		buf[n++] = key;
	}
	/* the whole stack walked: the log is this walk, unless cut at max or too deep for it */
	log->table = t;
	log->how = WALK_WALKED;
	log->n = n < max && nfresh <= WALK_LOG ? nfresh : 0;
	for (int i = 0; i < log->n; i++)
		log->frame[log->n - 1 - i] = log->fresh[i];
	return n;
}
#else
int tracker_walk(struct walk_log *log, uintptr_t *buf, int max)
{
	(void)log;
	(void)buf;
	(void)max;
	return -1;
}
#endif

/* ------------------------------------------------------------------ */
/* the writer: modules and rules                                         */

/* a module whose unwind tables the writer copied */
struct cfi_module {
	uintptr_t bias, hdr_addr, lo, hi;	/* lo, hi: the copied range, in memory */
	char *image;			/* ELF header + program headers + the copy */
	size_t image_size;
	Elf *elf;
	Dwarf_CFI *cfi;
};

#define MAX_MODULES 512
#define MAX_SCAN (MAX_MODULES / 2)	/* modules one tick reads */
static struct {
	struct cfi_module mod[MAX_MODULES];
	int n;
} cache;

/* the end of the .eh_frame records at p, within [p, end): its terminator, or the last whole record */
static uintptr_t eh_frame_end(uintptr_t p, uintptr_t end)
{
	while (p + 4 <= end) {
		uint32_t len = *(const uint32_t *)p;
		uint64_t size = len;
		uintptr_t body = p + 4;

		if (!len)
			return p + 4;
		if (len == 0xffffffffu) {
			if (p + 12 > end)
				break;
			size = *(const uint64_t *)(p + 4);
			body = p + 12;
		}
		if (size > end - body)
			break;
		p = body + size;
	}
	return p;
}

/* the modules holding a set of keys: where their tables are mapped, which key is whose */
struct module_scan {
	const uintptr_t *keys;
	int nkeys, n;
	short owner[MAX_KEYS];	/* index in found, -1: no module */
	struct cfi_module found[MAX_SCAN];	/* bias, hdr_addr, lo, hi, and image (ours, or the cache's) */
};

/* mark the keys whose call lies in an executable segment of info as module `index`'s; how many */
static int claim_keys(const struct dl_phdr_info *info, struct module_scan *scan, int index)
{
	int claimed = 0;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		for (int k = 0; k < scan->nkeys; k++)
			if (scan->keys[k] - 1 >= lo && scan->keys[k] - 1 < hi) {
				scan->owner[k] = (short)index;
				claimed++;
			}
	}
	return claimed;
}

/* the PT_LOAD of info that maps addr, as [*lo, *hi) in memory */
static int segment_of(const struct dl_phdr_info *info, uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		*lo = info->dlpi_addr + ph->p_vaddr;
		*hi = *lo + ph->p_filesz;
		if (ph->p_type == PT_LOAD && addr >= *lo && addr < *hi)
			return 1;
	}
	return 0;
}

/*
 * An ELF image elfutils reads as a file with only program headers: a
 * PT_GNU_EH_FRAME over the copy of [lo, hi) (.eh_frame_hdr and .eh_frame),
 * at the module's own (unbiased) addresses.
 */
static char *make_image(uintptr_t bias, uintptr_t hdr_addr, size_t hdr_size, uintptr_t lo, uintptr_t hi,
			size_t *size)
{
	size_t head = sizeof(ElfW(Ehdr)) + sizeof(ElfW(Phdr));
	char *image = mapmem_alloc(head + (hi - lo));	/* not the program's heap (common/strbuf.c says why) */
	ElfW(Ehdr) *eh = (ElfW(Ehdr) *)image;
	ElfW(Phdr) *ph = (ElfW(Phdr) *)(image + sizeof(*eh));

	if (!image)
		return NULL;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	ph->p_type = PT_GNU_EH_FRAME;
	ph->p_flags = PF_R;
	ph->p_offset = head + (hdr_addr - lo);
	ph->p_vaddr = ph->p_paddr = hdr_addr - bias;
	ph->p_filesz = ph->p_memsz = hdr_size;
	ph->p_align = 4;
	memcpy(image + head, (const void *)lo, hi - lo);
	*size = head + (hi - lo);
	return image;
}

/* where .eh_frame starts in memory: .eh_frame_hdr's pointer to it, pc-relative as every linker writes it */
static uintptr_t eh_frame_start(uintptr_t hdr)
{
	const uint8_t *h = (const uint8_t *)hdr;
	uintptr_t at = hdr + 4;

	if (h[0] != 1 || (h[1] & 0x70) != DW_EH_PE_pcrel)
		return 0;
	switch (h[1] & 0x0f) {
	case DW_EH_PE_sdata4:
		return at + (uintptr_t)(intptr_t) * (const int32_t *)at;
	case DW_EH_PE_sdata8:
		return at + (uintptr_t) * (const int64_t *)at;
	default:
		return 0;
	}
}

/* dl_iterate_phdr: each module holding a queued key, with its tables as mapped now */
static int scan_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct module_scan *scan = arg;
	struct cfi_module *m;
	uintptr_t hdr = 0, eh, lo, hi, seg_lo, seg_hi;
	size_t hdr_size = 0;

	(void)size;
	if (scan->n == MAX_SCAN || !claim_keys(info, scan, scan->n))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME) {
			hdr = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
			hdr_size = info->dlpi_phdr[i].p_memsz;
		}
	m = &scan->found[scan->n++];
	memset(m, 0, sizeof(*m));
	m->bias = info->dlpi_addr;
	m->hdr_addr = hdr;
	/* both tables in one segment, so that what is read of them and between them is mapped */
	if (!hdr || hdr_size < 12 || !segment_of(info, hdr, &lo, &hi) || hdr + hdr_size > hi ||
	    !(eh = eh_frame_start(hdr)) || !segment_of(info, eh, &seg_lo, &seg_hi) || lo != seg_lo)
		return 0;	/* no image: its keys give up */
	hi = eh_frame_end(eh, seg_hi);
	lo = hdr < eh ? hdr : eh;
	hi = hdr + hdr_size > hi ? hdr + hdr_size : hi;
	m->lo = lo;
	m->hi = hi;
	/* a module cached earlier, if its copy is what is mapped now */
	for (int i = 0; i < cache.n; i++) {
		const struct cfi_module *c = &cache.mod[i];
		size_t head = c->image_size - (c->hi - c->lo);

		if (c->bias == m->bias && c->hdr_addr == hdr && c->lo == lo && c->hi == hi &&
		    !memcmp(c->image + head, (const void *)lo, hi - lo)) {
			m->image = c->image;	/* the same: no new copy */
			return 0;
		}
	}
	m->image = make_image(m->bias, hdr, hdr_size, lo, hi, &m->image_size);
	return 0;
}

/* a location "CFA + offset" in ops: 1 and *off, else 0 */
static int cfa_plus(const Dwarf_Op *ops, size_t nops, int64_t *off)
{
	if (nops < 1 || nops > 2 || ops[0].atom != DW_OP_call_frame_cfa)
		return 0;
	if (nops == 2 && ops[1].atom != DW_OP_plus_uconst)
		return 0;
	*off = nops == 2 ? (int64_t)ops[1].number : 0;
	return 1;
}

/* the rule for a return address whose call ends at pc (unbiased) */
static uint64_t rule_at(Dwarf_CFI *cfi, Dwarf_Addr pc)
{
	Dwarf_Frame *frame;
	Dwarf_Op mem[3], *ops;
	Dwarf_Addr start, end;
	size_t nops;
	bool is_signal;
	int64_t cfa_off, ra_off = 0, bp_off = 0;
	unsigned flags = R_VALID;
	int ra_reg;

	if (dwarf_cfi_addrframe(cfi, pc, &frame) != 0)
		return RULE_GIVE_UP;
	ra_reg = dwarf_frame_info(frame, &start, &end, &is_signal);
	if (ra_reg < 0 || is_signal || dwarf_frame_cfa(frame, &ops, &nops) != 0 || nops != 1 ||
	    ops[0].atom != DW_OP_bregx || (ops[0].number != 6 && ops[0].number != 7))
		goto out_give_up;
	cfa_off = (int64_t)ops[0].number2;
	if (ops[0].number == 6)
		flags |= R_CFA_BP;
	if (dwarf_frame_register(frame, ra_reg, mem, &ops, &nops) != 0)
		goto out_give_up;
	if (!nops && ops == mem)
		flags |= R_OUTERMOST;	/* undefined: the outermost frame */
	else if (!cfa_plus(ops, nops, &ra_off))
		goto out_give_up;	/* the same register, another register, an expression, a value */
	if (dwarf_frame_register(frame, 6, mem, &ops, &nops) != 0)
		goto out_give_up;
	if (!nops)
		flags |= ops == mem ? R_BP_LOST : 0;
	else if (cfa_plus(ops, nops, &bp_off) && bp_off % 8 == 0 && bp_off >= -1024 && bp_off < 1024)
		flags |= R_BP_SAVED;
	else
		goto out_give_up;
	free(frame);
	if (cfa_off < INT32_MIN || cfa_off > INT32_MAX || ra_off < INT16_MIN || ra_off > INT16_MAX)
		return RULE_GIVE_UP;
	return make_rule(flags, (int)bp_off, (int)ra_off, (int32_t)cfa_off);
out_give_up:
	free(frame);
	return RULE_GIVE_UP;
}

/* the cache's entry for a scanned module (found, or added: the cache has room), or NULL */
static struct cfi_module *cached(const struct cfi_module *m)
{
	struct cfi_module *c;

	if (!m->image)
		return NULL;
	for (int i = 0; i < cache.n; i++)
		if (cache.mod[i].image == m->image)
			return &cache.mod[i];
	c = &cache.mod[cache.n];
	*c = *m;
	c->elf = elf_memory(c->image, c->image_size);
	c->cfi = c->elf ? dwarf_getcfi_elf(c->elf) : NULL;
	if (!c->cfi) {
		if (c->elf)
			elf_end(c->elf);
		mapmem_free(c->image, c->image_size);
		return NULL;
	}
	cache.n++;
	return c;
}

/* drop every cached module (a scan adds at most MAX_SCAN: make room first) */
static void cache_clear(void)
{
	while (cache.n) {
		struct cfi_module *c = &cache.mod[--cache.n];

		dwarf_cfi_end(c->cfi);
		elf_end(c->elf);
		mapmem_free(c->image, c->image_size);
	}
}

/* ------------------------------------------------------------------ */
/* the writer: the table                                                 */

static struct rule_table *table_new(unsigned bits)
{
	struct rule_table *t = mapmem_alloc(sizeof(*t) + (sizeof(struct rule_slot) << bits));

	if (t) {
		t->mask = ((size_t)1 << bits) - 1;
		t->shift = 64 - bits;
		t->used = 0;
	}
	return t;
}

/* put key's rule in t (not yet holding key): 0, or -1 if its probe is too long */
static int table_put(struct rule_table *t, uintptr_t key, uint64_t rule)
{
	size_t i = slot_of(t, key);

	for (int probe = 0; probe < MAX_PROBE; probe++, i = (i + 1) & t->mask)
		if (!t->slot[i].key) {
			__atomic_store_n(&t->slot[i].rule, rule, __ATOMIC_RELAXED);
			__atomic_store_n(&t->slot[i].key, key, __ATOMIC_RELEASE);
			t->used++;
			return 0;
		}
	return -1;
}

/* t, or a copy twice its size published in its place; NULL if t was unpublished meanwhile or at the limit */
static struct rule_table *table_grow(struct rule_table *t)
{
	unsigned bits = 64 - t->shift + 1;
	struct rule_table *big, *expected = t;

	if (bits > LAST_BITS || !(big = table_new(bits)))
		return NULL;
	for (size_t i = 0; i <= t->mask; i++)
		if (t->slot[i].key && table_put(big, t->slot[i].key, t->slot[i].rule) < 0)
			break;	/* cannot happen at half the load; the key is learned again */
	if (!__atomic_compare_exchange_n(&table, &expected, big, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
		mapmem_free(big, sizeof(*big) + (sizeof(struct rule_slot) << bits));
		return NULL;
	}
	return big;	/* t stays mapped: a walk may still be reading it */
}

/* the published table, a new one if it was forgotten; NULL if there is none to fill (MAX_TABLES) */
static struct rule_table *table_now(void)
{
	static int made;
	struct rule_table *t = __atomic_load_n(&table, __ATOMIC_ACQUIRE), *expected = NULL;

	if (t)
		return t;
	if (made == MAX_TABLES) {
		__atomic_store_n(&is_retired, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	made++;
	t = table_new(FIRST_BITS);
	if (t && !__atomic_compare_exchange_n(&table, &expected, t, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
		mapmem_free(t, sizeof(*t) + (sizeof(struct rule_slot) << FIRST_BITS));
		return NULL;
	}
	return t;
}

/* ------------------------------------------------------------------ */
/* the writer's tick                                                     */

static struct module_scan scan;	/* the writer's alone */

/* take the keys of queue that t lacks into keys (n of them so far): the new count */
static int take_keys(uintptr_t *queue, const struct rule_table *t, uintptr_t *keys, int n)
{
	for (int i = 0; i < PENDING; i++) {
		uintptr_t key = __atomic_load_n(&queue[i], __ATOMIC_RELAXED);	/* most are empty: no write */

		if (key && (key = __atomic_exchange_n(&queue[i], 0, __ATOMIC_RELAXED)) && !rule_of(t, key))
			keys[n++] = key;
	}
	return n;
}

void tracker_walk_resolve(void)
{
	uintptr_t keys[MAX_KEYS];
	struct cfi_module *mods[MAX_SCAN];
	struct rule_table *t;
	int n, own;

	if (!tracker_cfg.own_walk || elf_version(EV_CURRENT) == EV_NONE || !(t = table_now()))
		return;
	n = own = take_keys(pending, t, keys, 0);
	if (has_forked && handed_up)
		n = take_keys(handed_up, t, keys, n);
	if (!n)
		return;
	if (cache.n > MAX_MODULES - MAX_SCAN)
		cache_clear();
	scan.keys = keys;
	scan.nkeys = n;
	scan.n = 0;
	memset(scan.owner, -1, sizeof(scan.owner));
	dl_iterate_phdr(scan_module, &scan);
	for (int i = 0; i < scan.n; i++)
		mods[i] = cached(&scan.found[i]);
	for (int k = 0; k < n; k++) {
		struct cfi_module *m = scan.owner[k] < 0 ? NULL : mods[scan.owner[k]];
		uint64_t rule = RULE_GIVE_UP;

		if (m)	/* else in no module (generated code), or one without unwind tables: give up */
			rule = rule_at(m->cfi, keys[k] - 1 - m->bias);
		else if (k >= own && scan.owner[k] < 0)
			continue;	/* a child's key in none of our modules: code of its own, not ours */
		if (rule_of(t, keys[k]))
			continue;	/* twice in the queue */
		if ((t->used + 1) * 2 > t->mask + 1 || table_put(t, keys[k], rule) < 0) {
			if (!(t = table_grow(t)) || table_put(t, keys[k], rule) < 0)
				return;
		}
	}
}

void tracker_walk_forget(void)
{
	__atomic_store_n(&table, NULL, __ATOMIC_RELEASE);
}

