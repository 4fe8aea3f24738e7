/*
 * tracker/reach: which live blocks the program can still reach, decided
 * in the process at exit, the way memcheck's leak check decides it, and
 * written as REACH / REACH_BLOCK records (capture/format.h).
 *
 * THE IDEA
 *
 * A block is reachable when a chain of pointers leads to it from memory
 * the program can name without the heap: its globals, its threads'
 * stacks, registers and TLS, the regions it mapped itself. The tracker
 * knows every live block's extent (tracker/liveidx.c), so it can follow
 * such chains conservatively: every aligned word that holds an address
 * inside a live block is taken for a pointer to it.
 *
 * THE ROOTS, EXACTLY
 *
 *   globals    every writable PT_LOAD segment of every loaded module
 *              (dl_iterate_phdr): .data, .bss, and the relro part
 *              (.got, .data.rel.ro), which is writable in the phdr and
 *              made read-only after relocation. Not the tracker's own.
 *              In the C library's, only pointers to a block's start
 *              count: its allocator's state (main_arena) points at free
 *              chunks and the top chunk, whose headers lie in the last
 *              8 bytes of the block before them, which would make that
 *              block look possibly lost instead of lost.
 *   stacks     each thread from its stack pointer (less the 128-byte red
 *              zone of the x86-64 ABI) to the end of the mapping holding
 *              it (/proc/self/maps); the exiting thread from the frame
 *              that called exit (caller_of_exit_sp), or if the unwind
 *              fails from the scan's own frame, its callee-saved
 *              registers spilled there.
 *   registers  the general registers the stop signal saved.
 *   TLS        per thread, the static TLS area below the thread pointer
 *              (its size from the loader's _dl_get_tls_static_info: every
 *              module's __thread block loaded at start) and the thread
 *              control block above it (glibc's struct pthread, its size
 *              from _thread_db_sizeof_pthread: pthread_setspecific values,
 *              the pointer to the DTV, whose dynamic TLS blocks are heap
 *              blocks and so followed like any other).
 *   environ    the environment array when it is the one the tracker
 *              mapped to add Check's log variable (tracker/env.c): the
 *              program's setenv and putenv may store its strings there.
 *   mappings   every region the program mapped through the mmap hook and
 *              still has (kind MMAP in the index), anonymous or not.
 *              Anonymous mappings the tracker did not see are NOT
 *              scanned: they are the C library's own (malloc's arenas,
 *              whose free chunks hold stale pointers; thread stacks,
 *              scanned as stacks) or the tracker's (its tables hold
 *              every block's address).
 *
 * Roots of which a part may have gone (a mapping partly unmapped, TLS
 * edges) are read through process_vm_readv on ourselves, which fails
 * where a plain load would fault. Heap blocks are read directly: a FREE
 * is recorded before the real free, so the index holds only memory that
 * exists, except the source of a realloc in flight, which is left out.
 *
 * THE VERDICTS (memcheck's)
 *
 * From the roots, breadth first: a pointer to a block's start from a
 * root or a reachable block makes it REACHABLE; a pointer into its
 * middle, or any pointer from a possibly lost block, POSSIBLE. Breadth
 * first gives each reachable block its shortest chain and the root that
 * holds it. Then, in address order, each block still unreached heads a
 * group: every unreached block it reaches (by any pointer) is INDIRECT,
 * a head met again by a later group joins that group, and the heads that
 * remain are DEFINITE. So a lost list of N is 1 definite and N - 1
 * indirect, and so is a lost cycle of N.
 *
 * NEVER HARM THE HOST
 *
 * The scan holds tracker_lock (no block comes or goes) and stops the
 * other threads (tracker/stopworld.c), and then calls nothing that takes
 * a lock: no malloc, no stdio, no loader. Its memory is mapped (before
 * the stop) and kept for the next scan. It gives up with one line on fd
 * 2 and writes nothing when it cannot stop a thread, map its tables, or
 * the index missed a block.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "tracker/internal.h"
#include "tracker/reachtab.h"

/*
 * One scan at a time: the collector's thread, memray_collect_garbage()
 * and the scan at exit share the tables below and reach_tab
 * (tracker/reachtab.h), which are made before the world stops (outside
 * tracker_lock) and kept for the next scan.
 */
static pthread_mutex_t scan_lock = PTHREAD_MUTEX_INITIALIZER;

#define MAX_SEGS 4096
#define BOUNCE (64u * 1024)

static struct {
	uint32_t *work;		/* the queue of the first pass, the stack of the second */
	size_t head, tail;
	uintptr_t (*segs)[3];	/* writable module segments [lo, hi), is the C library's */
	size_t nsegs;
	char *maps;		/* /proc/self/maps */
	size_t maps_len, maps_bytes;
	uint8_t *bounce;
	uint64_t root_bytes, heap_bytes;
	int pagemap;		/* /proc/self/pagemap while the world is stopped, or -1 */
} sc = { .pagemap = -1 };

/* ------------------------------------------------------------------ */
/* before the world stops: modules and the TLS layout                   */

static int add_segments(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t self = (uintptr_t)&tracker_cfg;
	const Dl_info *libc = arg;
	size_t first = sc.nsegs;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W) || sc.nsegs == MAX_SEGS)
			continue;
		if (self >= lo && self < lo + ph->p_memsz) {
			sc.nsegs = first;	/* the tracker's own module */
			return 0;
		}
		sc.segs[sc.nsegs][0] = lo & ~(uintptr_t)7;
		sc.segs[sc.nsegs][1] = lo + ph->p_memsz;
		sc.segs[sc.nsegs][2] = info->dlpi_addr == (uintptr_t)libc->dli_fbase;
		sc.nsegs++;
	}
	return 0;
}

static size_t tls_below, tls_above;

static void tls_layout(void)
{
	void (*info)(size_t *, size_t *) = (void (*)(size_t *, size_t *))tracker_dlsym(RTLD_DEFAULT,
										      "_dl_get_tls_static_info");
	const unsigned *pthread_size = tracker_dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
	size_t size = 0, align = 0;

	if (info)
		info(&size, &align);
	tls_below = size;
	tls_above = pthread_size ? *pthread_size : 2304;	/* glibc 2.36's, if the symbol is gone */
}

/* is ip in the C library, the tracker or the loader (libc, self: dladdr of each)? Not if in no module */
static int is_runtime(uintptr_t ip, const Dl_info *libc, const Dl_info *self)
{
	Dl_info here;

	return dladdr((void *)(ip - 1), &here) &&
	       (here.dli_fbase == libc->dli_fbase || here.dli_fbase == self->dli_fbase ||
		strstr(here.dli_fname, "/ld-linux") != NULL);
}

/*
 * caller_of_exit_sp() by the tracker's own walk of this thread
 * (tracker/walk.c), whose log holds every frame's return address and
 * stack pointer, root first. (uintptr_t)-1 when it cannot tell: a frame
 * it has no rule for yet (it queues the address, so a forked child's
 * parent learns the exit path for the next child), a stack too deep for
 * the log, or an exit from a signal handler that interrupted this
 * thread's own walk (tracker_hot), whose log may be half written.
 */
static uintptr_t walked_caller_sp(const Dl_info *libc, const Dl_info *self)
{
	struct thread_state *ts = tracker_self_state;
	const struct walk_log *log;

	if (!ts || tracker_hot || tracker_walk(&ts->walk, ts->scratch, MAX_FRAMES) < 0 || !ts->walk.n)
		return (uintptr_t)-1;
	log = &ts->walk;
	for (int i = log->n - 1; i >= 0; i--)	/* innermost first: the walk's own frame, then its callers */
		if (!is_runtime(log->frame[i].key, libc, self))
			return log->frame[i].sp;
	return 0;
}

/*
 * Where the exiting thread's live stack starts: the frame of the first
 * caller outside the C library, the loader and the tracker, i.e. the
 * code that called exit() or returned from main (then _start's). What
 * lies below is exit's own work and, in slots it never wrote, stale
 * words of frames long returned (a loop's last malloc result), which
 * would keep lost blocks "reachable"; nothing there is live for the
 * program, as exit never returns. 0 when the unwind finds no such frame.
 * A frame in no module (JIT code, say) is live. The tracker's own walk
 * first: libunwind's took 0.6 ms of each forked Check test's exit.
 */
static uintptr_t caller_of_exit_sp(void)
{
	Dl_info libc, self;
	unw_context_t ctx;
	unw_cursor_t cur;
	uintptr_t sp;

	if (!dladdr((void *)&exit, &libc) || !dladdr((void *)&tracker_cfg, &self))
		return 0;
	if ((sp = walked_caller_sp(&libc, &self)) != (uintptr_t)-1)
		return sp;
	if (unw_getcontext(&ctx) < 0 || unw_init_local(&cur, &ctx) < 0)
		return 0;
	while (unw_step(&cur) > 0) {
		unw_word_t ip, frame_sp;

		if (unw_get_reg(&cur, UNW_REG_IP, &ip) < 0 || unw_get_reg(&cur, UNW_REG_SP, &frame_sp) < 0)
			return 0;
		if (!is_runtime(ip, &libc, &self))
			return frame_sp;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* the blocks, sorted by address                                        */

/* ------------------------------------------------------------------ */
/* marking                                                               */

struct origin {
	unsigned kind;		/* CAPTURE_ROOT_* */
	uint64_t value;		/* a thread id, or for words of globals and mappings their base */
	uintptr_t base;		/* names_word: the address the words were read from */
	int names_word;		/* a global or mapping: the root is the word's own address */
	int starts_only;	/* the C library's data: only pointers to a block's start count */
	uint32_t chain;		/* of the block read, 0 for a root */
	int is_definite;	/* a root or a reachable block: a start pointer keeps it reachable */
};

/*
 * Is v where glibc's malloc puts the header of the chunk after block b?
 * A chunk is the block plus an 8-byte size word, rounded up to 16 (at
 * least 32), and the next chunk's header starts 16 bytes before its
 * memory: inside b's last 8 bytes when b's size leaves no padding. The
 * allocator's own pointers to free chunks (its bins, the top chunk, and
 * their stale copies in memory it hands out again) have that shape; a
 * program's pointer exactly there is rare and would only make b
 * possibly lost. Such words are not taken for pointers into b.
 */
static int is_chunk_header(const struct rblock *b, uintptr_t v)
{
	uint64_t chunk = (b->size + 8 + 15) & ~(uint64_t)15;

	return v == b->addr + (chunk < 32 ? 32 : chunk) - 16;
}

static void scan_words(const uintptr_t *w, size_t nwords, const struct origin *o)
{
	for (size_t k = 0; k < nwords; k++) {
		long i = reach_tab_find(w[k]);
		struct rverdict *r;
		uint8_t state;

		if (i < 0 || (w[k] != reach_tab.b[i].addr && (o->starts_only || is_chunk_header(&reach_tab.b[i], w[k]))))
			continue;
		r = &reach_tab.v[i];
		state = w[k] == reach_tab.b[i].addr && o->is_definite ? CAPTURE_REACH_REACHABLE : CAPTURE_REACH_POSSIBLE;
		if (r->state == CAPTURE_REACH_REACHABLE || (r->state && state == CAPTURE_REACH_POSSIBLE))
			continue;
		r->state = state;
		r->root_kind = (uint8_t)o->kind;
		r->root_value = o->names_word ? o->base + k * sizeof(uintptr_t) : o->value;
		r->chain = o->chain + 1;
		__builtin_prefetch((const void *)reach_tab.b[i].addr);	/* read soon: propagate() */
		sc.work[sc.tail++] = (uint32_t)i;
	}
}

static uintptr_t hex(const char **p)
{
	uintptr_t v = 0;

	for (;; (*p)++) {
		char c = **p;
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16;

		if (d == 16)
			return v;
		v = v << 4 | d;
	}
}

/* the end of the mapping holding a (readable, if asked), from /proc/self/maps; 0 if none */
static uintptr_t mapping_end(uintptr_t a, int is_read)
{
	const char *p = sc.maps, *end = sc.maps + sc.maps_len;

	while (p < end) {
		uintptr_t lo = hex(&p), hi = (p++, hex(&p));

		if (a >= lo && a < hi)
			return !is_read || (p + 1 < end && p[1] == 'r') ? hi : 0;
		while (p < end && *p != '\n')
			p++;
		p++;
	}
	return 0;
}

/*
 * Where the pages of [lo, hi) that hold anything begin, from lo, within
 * one bounce buffer: *end is where they stop. A page that is neither
 * present nor swapped out (/proc/self/pagemap) was never written, or was
 * given back: it reads as zeros or as its file's bytes, and a file holds
 * no address of a block made at run time. Reading it would fault it in,
 * about 20 us a page on a VM: most of a short process's scan, which
 * reads the C library's and every module's mostly untouched .bss.
 */
#define PAGE 4096u
#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)

static uintptr_t written_pages(uintptr_t lo, uintptr_t hi, uintptr_t *end)
{
	uint64_t pm[BOUNCE / PAGE + 1];
	uintptr_t first = lo / PAGE, last = (hi - 1) / PAGE, start = lo;
	size_t n = last - first + 1 < BOUNCE / PAGE + 1 ? last - first + 1 : BOUNCE / PAGE + 1, k = 0;
	ssize_t got = sc.pagemap < 0 ? -1 : pread(sc.pagemap, pm, n * sizeof(pm[0]), (off_t)(first * sizeof(pm[0])));

	*end = hi;
	if (got != (ssize_t)(n * sizeof(pm[0])))
		return lo;	/* no map: every page is read */
	while (k < n && !(pm[k] & (PM_PRESENT | PM_SWAPPED)))
		k++;
	if (k == n) {
		*end = (first + n) * PAGE < hi ? (first + n) * PAGE : hi;
		return *end;	/* nothing here: the caller goes on from there */
	}
	if (k)
		start = (first + k) * PAGE;
	while (k < n && (pm[k] & (PM_PRESENT | PM_SWAPPED)))
		k++;
	if ((first + k) * PAGE < hi)
		*end = (first + k) * PAGE;
	return start;
}

/*
 * A root range, the pages never written skipped. The program's own
 * memory (its modules' segments, stacks, TLS) is read in place where a
 * readable mapping holds it: the world is stopped, so nothing unmaps it,
 * and a page written is present or swapped out. (Without the page map,
 * a page of a file cut short since it was mapped could raise SIGBUS:
 * then nothing is read in place.) The rest, and a
 * program's mappings (a device's memory may be among them), through
 * process_vm_readv: a page that is gone is skipped. In place, a short
 * process's scan makes no system call per root and does not touch the
 * bounce buffer's 16 pages.
 */
static void scan_root(uintptr_t lo, uintptr_t hi, unsigned kind, uint64_t value, int starts_only)
{
	lo = (lo + 7) & ~(uintptr_t)7;
	while (lo + sizeof(uintptr_t) <= hi) {
		uintptr_t end, from = written_pages(lo, hi, &end);
		uintptr_t in_place = sc.pagemap < 0 || kind == CAPTURE_ROOT_MAPPING || from >= end ? 0
												 : mapping_end(from, 1);
		size_t len = end - from < BOUNCE ? (end - from) & ~(size_t)7 : BOUNCE;
		struct iovec local = { sc.bounce, len }, remote = { (void *)from, len };
		struct origin o = { kind, value, from, kind == CAPTURE_ROOT_GLOBAL || kind == CAPTURE_ROOT_MAPPING,
				    starts_only, 0, 1 };
		ssize_t got;

		if (from >= end) {	/* nothing written up to end */
			lo = end;
			continue;
		}
		if (in_place >= from + sizeof(uintptr_t)) {
			size_t n = ((in_place < end ? in_place : end) - from) / sizeof(uintptr_t);

			if (n) {
				scan_words((const uintptr_t *)from, n, &o);
				sc.root_bytes += n * sizeof(uintptr_t);
				lo = from + n * sizeof(uintptr_t);
				continue;
			}
		}
		if (!len)
			break;	/* less than a word left */
		got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
		if (got <= 0) {	/* skip to the next page */
			lo = (from | (PAGE - 1)) + 1;
			continue;
		}
		scan_words((const uintptr_t *)(void *)sc.bounce, (size_t)got / sizeof(uintptr_t), &o);
		sc.root_bytes += (uint64_t)got;
		lo = from + ((uintptr_t)got & ~(uintptr_t)7);
	}
}

static int read_maps(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return -1;
	sc.maps_len = 0;
	for (;;) {
		if (sc.maps_len + 4096 > sc.maps_bytes &&
		    mapmem_grow((void **)&sc.maps, &sc.maps_bytes, sc.maps_len + 4096, 1, 65536) < 0)
			break;
		got = read(fd, sc.maps + sc.maps_len, sc.maps_bytes - sc.maps_len - 1);
		if (got <= 0)
			break;
		sc.maps_len += (size_t)got;
	}
	close(fd);
	sc.maps[sc.maps_len] = '\0';
	return 0;
}

/* one thread's stack, registers and TLS */
static void scan_thread(uint32_t tid, uintptr_t sp, const uintptr_t *regs, unsigned nregs, uintptr_t tp)
{
	struct origin o = { CAPTURE_ROOT_REGISTERS, tid, 0, 0, 0, 0, 1 };
	uintptr_t top = mapping_end(sp, 0);

	scan_words(regs, nregs, &o);
	if (top)
		scan_root(sp > 128 ? sp - 128 : sp, top, CAPTURE_ROOT_STACK, tid, 0);
	if (tp)
		scan_root(tp - tls_below, tp + tls_above, CAPTURE_ROOT_TLS, tid, 0);
}

/* breadth first from the roots: reachable and possibly lost blocks */
static void propagate(void)
{
	while (sc.head < sc.tail) {
		uint32_t i = sc.work[sc.head++];
		const struct rblock *b = &reach_tab.b[i];
		const struct rverdict *r = &reach_tab.v[i];
		struct origin o = { r->root_kind, r->root_value, 0, 0, 0, r->chain, r->state == CAPTURE_REACH_REACHABLE };

		scan_words((const uintptr_t *)b->addr, b->size / sizeof(uintptr_t), &o);
		sc.heap_bytes += b->size;
	}
}

/*
 * In address order, each unreached block heads a group of what it
 * reaches that is unreached too (or an earlier head, which joins): those
 * are indirectly lost, the heads that stay are definitely lost.
 */
static void group_lost(void)
{
	for (size_t h = 0; h < reach_tab.n; h++) {
		if (reach_tab.v[h].state)
			continue;
		reach_tab.v[h].state = CAPTURE_REACH_DEFINITE;
		sc.tail = 0;
		sc.work[sc.tail++] = (uint32_t)h;
		while (sc.tail) {
			const struct rblock *b = &reach_tab.b[sc.work[--sc.tail]];
			const uintptr_t *w = (const uintptr_t *)b->addr;

			sc.heap_bytes += b->size;
			for (size_t k = 0; k < b->size / sizeof(uintptr_t); k++) {
				long i = reach_tab_find(w[k]);
				struct rverdict *c;

				if (i < 0 || (size_t)i == h || is_chunk_header(&reach_tab.b[i], w[k]))
					continue;
				c = &reach_tab.v[i];
				if (c->state && c->state != CAPTURE_REACH_DEFINITE)
					continue;
				c->state = CAPTURE_REACH_INDIRECT;
				c->root_kind = CAPTURE_ROOT_LOST_BLOCK;
				c->root_value = reach_tab.b[h].addr;
				sc.work[sc.tail++] = (uint32_t)i;
			}
		}
	}
}

/* ------------------------------------------------------------------ */
/* the scan                                                              */

/* every root of the stopped world, then the heap; lock held */
static void mark(const struct stopped_thread *t, size_t nt, uintptr_t my_sp)
{
	uintptr_t env_lo, env_hi;

	for (size_t i = 0; i < sc.nsegs; i++)
		scan_root(sc.segs[i][0], sc.segs[i][1], CAPTURE_ROOT_GLOBAL, 0, (int)sc.segs[i][2]);
	if (tracker_env_root(&env_lo, &env_hi))
		scan_root(env_lo, env_hi, CAPTURE_ROOT_GLOBAL, 0, 0);	/* environ, as the tracker made it */
	for (size_t i = 0; i < reach_tab.n; i++)
		if (reach_tab.v[i].is_region)
			scan_root(reach_tab.b[i].addr, reach_tab.b[i].addr + reach_tab.b[i].size, CAPTURE_ROOT_MAPPING, 0, 0);
	scan_thread((uint32_t)syscall(SYS_gettid), my_sp + 128, NULL, 0, tracker_thread_pointer());
	for (size_t i = 0; i < nt; i++)
		if (t[i].is_stopped > 0)
			scan_thread(t[i].tid, t[i].sp, t[i].regs, t[i].nregs, t[i].tp);
	propagate();
	group_lost();
	for (size_t i = 0; i < reach_tab.n; i++) {	/* an indirect block names the head that stayed */
		struct rverdict *b = &reach_tab.v[i];

		while (b->state == CAPTURE_REACH_INDIRECT) {
			const struct rverdict *h = &reach_tab.v[reach_tab_find(b->root_value)];

			if (h->state != CAPTURE_REACH_INDIRECT)
				break;
			b->root_value = h->root_value;
		}
	}
}

/* does the REACH of `occasion` give a verdict on b? At a window's end, only on the window's blocks */
static int emits(unsigned occasion, size_t i)
{
	return occasion != CAPTURE_REACH_AT_WINDOW_END || (!reach_tab.v[i].is_region && tracker_window_holds(reach_tab.b[i].addr));
}

/* the REACH record and one REACH_BLOCK per block it judges; lock held */
static void emit(unsigned occasion, uint64_t us)
{
	uint8_t rec[1 + 5 * CODEC_VARINT_MAX], *p = rec;
	size_t n = 0;

	for (size_t i = 0; i < reach_tab.n; i++)
		n += emits(occasion, i);
	*p++ = CAPTURE_REC_REACH;
	p = codec_put_varint(p, occasion);
	p = codec_put_varint(p, n);
	p = codec_put_varint(p, sc.root_bytes);
	p = codec_put_varint(p, sc.heap_bytes);
	p = codec_put_varint(p, us);
	tracker_emit(rec, (size_t)(p - rec));
	for (size_t i = 0; i < reach_tab.n; i++) {
		const struct rblock *b = &reach_tab.b[i];
		const struct rverdict *r = &reach_tab.v[i];
		uint8_t *q;

		if (!emits(occasion, i))
			continue;
		q = tracker_reserve(1 + 5 * CODEC_VARINT_MAX);
		if (!q)
			continue;	/* counted lost */
		*q++ = CAPTURE_REC_REACH_BLOCK;
		q = codec_put_svarint(q, (int64_t)(b->addr - tracker_ring.prev_addr));
		tracker_ring.prev_addr = b->addr;
		q = codec_put_varint(q, r->state);
		q = codec_put_varint(q, r->root_kind);
		q = codec_put_varint(q, r->root_value);
		q = codec_put_varint(q, r->chain);
		tracker_commit(q);
	}
}

/* the tables stay for the next scan */
static void release(void)
{
	sc.work = NULL;
	sc.head = sc.tail = 0;
	reach_tab_clear();
	sc.root_bytes = sc.heap_bytes = 0;
}

static int prepare(void)
{
	Dl_info libc;
	size_t blocks;

	tracker_lock_take();
	blocks = tracker_live.count;
	pthread_mutex_unlock(&tracker_lock);
	if (reach_tab_reserve(blocks) < 0)
		return -1;
	if (!sc.segs && !(sc.segs = mapmem_alloc(MAX_SEGS * sizeof(*sc.segs))))
		return -1;
	if (!sc.bounce && !(sc.bounce = mapmem_alloc(BOUNCE)))
		return -1;
	sc.nsegs = 0;
	pthread_mutex_lock(&tracker_modules_lock);	/* the collector's thread is ours: see internal.h */
	if (!dladdr((void *)&exit, &libc))
		libc.dli_fbase = NULL;
	dl_iterate_phdr(add_segments, &libc);
	pthread_mutex_unlock(&tracker_modules_lock);
	tls_layout();
	return 0;
}

/* take the scan's tables for `what` (a message's head): 0, or -1 after one line */
static int begin(const char *what)
{
	pthread_mutex_lock(&scan_lock);
	if (prepare() == 0)
		return 0;
	tracker_say(what, "out of memory");
	pthread_mutex_unlock(&scan_lock);
	return -1;
}

/* give them back */
static void end(void)
{
	release();
	pthread_mutex_unlock(&scan_lock);
}

/*
 * With tracker_lock held: stop the other threads, judge every live block,
 * let them go. NULL, or why it gave up ("" when it said so itself).
 */
static const char *judge(uintptr_t my_sp)
{
	struct stopped_thread *t = NULL;
	size_t nt = 0;
	const char *why = NULL;

	if (tracker_live.is_incomplete)
		return "the index of live blocks is incomplete (out of memory)";
	if (tracker_world_stop(&t, &nt) < 0)
		return "";
	tracker_stage_drain();	/* what was staged until the world stopped, into the index */
	if (tracker_ring.draining)
		why = "another thread's records are still on their way into the index";
	else if (read_maps() < 0 || reach_tab_take() < 0)
		why = "out of memory";
	else {
		sc.work = reach_tab.spare;	/* 2n + 2 slots of 4 bytes: each block queued at most twice */
		sc.pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);	/* -1: every page is read */
		mark(t, nt, my_sp);
		if (sc.pagemap >= 0)
			close(sc.pagemap);
		sc.pagemap = -1;
	}
	tracker_world_resume();
	return why;
}

/*
 * __builtin_unwind_init spills the callee-saved registers into this frame,
 * so the exiting thread's registers are scanned with its stack from here.
 */
void tracker_reach_scan(unsigned occasion)
{
	uint64_t t0;
	uintptr_t my_sp;
	const char *why;

	__builtin_unwind_init();
	if (tracker_cfg.flags & CAPTURE_F_AGGREGATE)
		return;
	if (begin("reachability scan skipped") < 0)
		return;
	my_sp = occasion == CAPTURE_REACH_AT_EXIT ? caller_of_exit_sp() : 0;
	if (!my_sp)
		my_sp = (uintptr_t)__builtin_frame_address(0);
	tracker_lock_take();
	t0 = tracker_mono_ns();
	why = judge(my_sp);
	if (!why && tracker_active)
		emit(occasion, (tracker_mono_ns() - t0) / 1000);
	if (why && *why)
		tracker_say("reachability scan skipped", why);
	pthread_mutex_unlock(&tracker_lock);
	end();
}

/*
 * THE COLLECTOR. Only definitely and indirectly lost blocks are freed: no
 * word of the program's roots or of any block that the scan could reach
 * points anywhere into them, so the program has no way left to use them
 * (short of a pointer it hid, which the README warns of). Possibly lost
 * blocks have such a word and are kept. Each is written as COLLECT and
 * taken out of the index under the lock, with the world running again;
 * the real free comes after the lock is let go, as the C library's free
 * may wait for a lock a thread held when it was stopped. Until it does,
 * nobody can allocate those addresses, so COLLECT comes before any ALLOC
 * that reuses one.
 */
int tracker_reach_collect(uint64_t *bytes)
{
	size_t n = 0;
	uintptr_t *doomed;
	const char *why;

	__builtin_unwind_init();
	*bytes = 0;
	if (begin("garbage collection skipped") < 0)
		return -1;
	tracker_lock_take();
	why = judge((uintptr_t)__builtin_frame_address(0));
	doomed = reach_tab.spare;	/* the work list is done with: as many slots, and more */
	for (size_t i = 0; !why && tracker_active && !tracker_gc_stopping && i < reach_tab.n; i++) {
		const struct rverdict *r = &reach_tab.v[i];

		if (r->is_region || (r->state != CAPTURE_REACH_DEFINITE && r->state != CAPTURE_REACH_INDIRECT))
			continue;
		tracker_emit_collect((void *)reach_tab.b[i].addr, r->state);
		doomed[n++] = reach_tab.b[i].addr;
		*bytes += reach_tab.b[i].size;
	}
	if (why && *why)
		tracker_say("garbage collection skipped", why);
	pthread_mutex_unlock(&tracker_lock);
	for (size_t i = 0; i < n; i++)
		tracker_real_free((void *)doomed[i]);
	end();
	return why ? -1 : 0;
}
