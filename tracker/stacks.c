/*
 * tracker/stacks: the stack trie, the Python code table and the threads'
 * own state, all in mapped memory.
 *
 * The lookups that run on every allocation are inline in internal.h; this
 * file holds what runs once per new trie node, new code object or new
 * thread: inserting, writing the FRAME/PYFRAME/CODE record, growing a
 * table, mapping a thread's stack buffers. Both tables are open-addressing
 * hash tables with linear probing, at most half full, grown by doubling
 * through tracker_grow_table(): the one growth path, which maps and never
 * calls the program's allocator.
 */
#include "tracker/internal.h"

struct tracker_trie tracker_trie;
struct tracker_codes tracker_codes;

__thread struct thread_state *tracker_self_state __attribute__((tls_model("initial-exec")));
static struct thread_state *free_states;	/* reused after threads end; under lock */
struct thread_state *tracker_all_states;
size_t tracker_state_count;
static pthread_key_t state_key;

int tracker_grow_table(void **slots, size_t *mask, size_t slot_size,
		       size_t (*hash)(const void *slot), int (*is_used)(const void *slot), int keeps_old)
{
	size_t old_slots = *mask + 1, new_mask = old_slots * 2 - 1;
	uint8_t *old = *slots, *grown = mapmem_alloc_scratch(old_slots * 2 * slot_size);

	if (!grown)
		return -1;
	/* mremap cannot do it: every slot moves to where the larger mask puts it */
	for (size_t i = 0; i < old_slots; i++) {
		const uint8_t *slot = old + i * slot_size;
		size_t j;

		if (!is_used(slot))
			continue;
		for (j = hash(slot) & new_mask; is_used(grown + j * slot_size); j = (j + 1) & new_mask)
			;
		memcpy(grown + j * slot_size, slot, slot_size);
	}
	if (!keeps_old)
		mapmem_free(old, old_slots * slot_size);
	/* the table before its mask: a reader without the lock never probes past its table */
	__atomic_store_n(slots, (void *)grown, __ATOMIC_RELEASE);
	__atomic_store_n(mask, new_mask, __ATOMIC_RELEASE);
	return 0;
}

/* ------------------------------------------------------------------ */
/* the stack trie: (parent id, ip) -> id                                */

static size_t trie_slot_hash(const void *slot)
{
	const struct trie_entry *e = slot;

	return tracker_trie_hash(e->parent, e->ip);
}

static int trie_slot_used(const void *slot)
{
	return ((const struct trie_entry *)slot)->id != 0;
}

/*
 * write the new node `id` (parent, ip) as a FRAME_REL or PYFRAME_REL
 * record: its parent as a distance back, mostly 0 (format.h); lock held
 */
static void write_node(uint32_t id, uint32_t parent, uint64_t ip)
{
	uint8_t *p = tracker_reserve(RECORD_MAX);

	if (!p)
		return;	/* counted as lost; the reader will see a bad id */
	if (ip & PY_TAG) {
		*p++ = CAPTURE_REC_PYFRAME_REL;
		p = codec_put_varint(p, id - 1 - parent);
		p = codec_put_varint(p, (ip & ~PY_TAG) >> PY_LINE_BITS);
		p = codec_put_varint(p, ip & PY_LINE_MASK);
	} else {
		*p++ = CAPTURE_REC_FRAME_REL;
		p = codec_put_varint(p, id - 1 - parent);
		p = codec_put_svarint(p, (int64_t)(ip - tracker_ring.prev_ip));
		tracker_ring.prev_ip = ip;
	}
	tracker_commit(p);
}

uint32_t tracker_trie_insert(size_t j, uint32_t parent, uint64_t ip)
{
	struct tracker_trie *t = &tracker_trie;

	if ((t->count + 1) * 2 > t->mask + 1) {
		if (tracker_grow_table((void **)&t->slots, &t->mask, sizeof(*t->slots),
				       trie_slot_hash, trie_slot_used, 1) < 0)
			return parent;	/* out of memory: the stack is cut here */
		for (j = tracker_trie_hash(parent, ip) & t->mask; t->slots[j].id; j = (j + 1) & t->mask)
			;
	}
	t->slots[j].ip = ip;
	t->slots[j].parent = parent;
	__atomic_store_n(&t->slots[j].id, ++t->count, __ATOMIC_RELEASE);
	write_node(t->count, parent, ip);
	return t->count;
}

/* ------------------------------------------------------------------ */
/* Python code objects: pointer -> id, each written once as a CODE record */

static size_t code_slot_hash(const void *slot)
{
	return tracker_code_hash(((const struct code_entry *)slot)->code);
}

static int code_slot_used(const void *slot)
{
	return ((const struct code_entry *)slot)->id != 0;
}

/* append a string field copied by `copy` from a code object */
static uint8_t *put_code_string(uint8_t *p, const void *code, size_t (*copy)(const void *, char *, size_t))
{
	size_t n = copy(code, tracker_codes.text, sizeof(tracker_codes.text));

	return codec_put_string(p, tracker_codes.text, n, CAPTURE_STRING_MAX);
}

uint32_t tracker_code_insert(size_t j, const struct py_raw *f)
{
	struct tracker_codes *c = &tracker_codes;
	uint8_t *p;

	if ((c->count + 1) * 2 > c->mask + 1) {
		if (tracker_grow_table((void **)&c->slots, &c->mask, sizeof(*c->slots),
				       code_slot_hash, code_slot_used, 0) < 0)
			return 0;
		for (j = tracker_code_hash(f->code) & c->mask; c->slots[j].id; j = (j + 1) & c->mask)
			;
	}
	p = tracker_reserve(1 + 3 * CODEC_VARINT_MAX + 2 * (CODEC_VARINT_MAX + CAPTURE_STRING_MAX));
	if (!p)
		return 0;
	c->slots[j] = (struct code_entry){ f->code, f->name, f->file, ++c->count };
	*p++ = CAPTURE_REC_CODE;
	p = codec_put_varint(p, c->count);
	p = put_code_string(p, f->code, tracker_python_name);
	p = put_code_string(p, f->code, tracker_python_file);
	p = codec_put_varint(p, tracker_python_first_line(f->code));
	tracker_commit(p);
	return c->count;
}

/* ------------------------------------------------------------------ */
/* the tables' life                                                      */

/* a table of `slots` empty slots (a power of two): 0 or -1 */
static int map_table(void **table, size_t *mask, size_t slots, size_t slot_size)
{
	*table = mapmem_alloc_scratch(slots * slot_size);
	if (!*table)
		return -1;
	*mask = slots - 1;
	return 0;
}

/*
 * The trie's first size: 4 KiB, one page. Nodes land on pages at random,
 * and each page's first touch costs a fault (11-15 us on a VM); a forked
 * child starts from an empty table (MADV_WIPEONFORK). A forked test that
 * makes 50 nodes touched 50 pages of the 1 MiB the trie once started
 * with, and 14 of the 16 pages of 64 KiB: 100 forked tests took 1,367
 * fewer faults with one page. Growing by doubling from there costs a
 * program that makes many nodes a few copies of small tables.
 */
#define TRIE_FIRST_SLOTS (1u << 8)

int tracker_stacks_init(void)
{
	if (!tracker_trie.slots && map_table((void **)&tracker_trie.slots, &tracker_trie.mask, TRIE_FIRST_SLOTS,
					     sizeof(struct trie_entry)) < 0)
		return -1;
	if (tracker_cfg.has_python && !tracker_codes.slots &&
	    map_table((void **)&tracker_codes.slots, &tracker_codes.mask, 1 << 12, sizeof(struct code_entry)) < 0)
		return -1;
	return 0;
}

void tracker_stacks_after_fork(void)
{
	/* no other thread here: the parent's grown table can go, and the child's starts small */
	if (tracker_trie.slots && tracker_trie.mask + 1 > TRIE_FIRST_SLOTS) {
		mapmem_free(tracker_trie.slots, (tracker_trie.mask + 1) * sizeof(struct trie_entry));
		tracker_trie.slots = NULL;	/* tracker_stacks_init() maps it again */
		tracker_trie.mask = 0;
	}
	tracker_stacks_reset();
}

void tracker_stacks_reset(void)
{
	/* odd while clearing: a lookup without the lock that overlaps it is not used */
	__atomic_store_n(&tracker_trie.generation, tracker_trie.generation + 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	mapmem_zero(tracker_trie.slots, (tracker_trie.mask + 1) * sizeof(struct trie_entry));
	tracker_trie.count = 0;
	/* every thread's cached ids are stale, and staged records of the old trie are dropped */
	__atomic_store_n(&tracker_trie.generation, tracker_trie.generation + 1, __ATOMIC_RELEASE);
	if (tracker_codes.slots)
		mapmem_zero(tracker_codes.slots, (tracker_codes.mask + 1) * sizeof(struct code_entry));
	tracker_codes.count = 0;
}

/* ------------------------------------------------------------------ */
/* per-thread state                                                      */

static size_t state_bytes(void)
{
	return sizeof(struct thread_state) + STAGE_N * sizeof(struct stage_entry) +
	       MAX_FRAMES * (3 * sizeof(uintptr_t) + sizeof(uint32_t)) +
	       MAX_PY_FRAMES * 2 * (sizeof(struct py_raw) + sizeof(uint64_t));
}

/* the thread ends: keep its state (and its mapped buffers) for the next thread */
static void state_release(void *arg)
{
	struct thread_state *ts = arg;

	tracker_guard++;
	tracker_lock_take();	/* its stage is empty before another thread takes it */
	ts->next_free = free_states;
	free_states = ts;
	pthread_mutex_unlock(&tracker_lock);
	tracker_self_state = NULL;
	tracker_guard--;
}

int tracker_thread_states_init(void)
{
	return pthread_key_create(&state_key, state_release) ? -1 : 0;
}

/* a new state with its buffers carved from one mapping, or NULL */
static struct thread_state *map_state(void)
{
	char *mem = mapmem_alloc(state_bytes());
	struct thread_state *ts;

	if (!mem)
		return NULL;
	ts = (struct thread_state *)mem;
	ts->ips = ts->ips_base = (uintptr_t *)(mem + sizeof(*ts));
	ts->scratch = ts->ips + MAX_FRAMES;
	ts->native = ts->scratch + MAX_FRAMES;
	ts->py = (struct py_raw *)(ts->native + MAX_FRAMES);
	ts->py_scratch = ts->py + MAX_PY_FRAMES;
	ts->py_values = (uint64_t *)(ts->py_scratch + MAX_PY_FRAMES);
	ts->py_values_scratch = ts->py_values + MAX_PY_FRAMES;
	ts->ids = (uint32_t *)(ts->py_values_scratch + MAX_PY_FRAMES);
	ts->stage.e = (struct stage_entry *)(ts->ids + MAX_FRAMES);
	ts->stage.room_end = STAGE_N;
	return ts;
}

/* a state never used, on the drain's list, or NULL */
static struct thread_state *new_state(void)
{
	struct thread_state *ts = map_state();
	int ok;

	if (!ts)
		return NULL;
	pthread_mutex_lock(&tracker_lock);
	ok = tracker_stage_room_for(tracker_state_count + 1) == 0;
	if (ok) {
		ts->all_next = tracker_all_states;
		tracker_all_states = ts;
		tracker_state_count++;
	}
	pthread_mutex_unlock(&tracker_lock);
	if (!ok)
		mapmem_free(ts, state_bytes());
	return ok ? ts : NULL;
}

struct thread_state *tracker_thread_state_new(void)
{
	struct thread_state *ts;

	pthread_mutex_lock(&tracker_lock);
	ts = free_states;
	if (ts)
		free_states = ts->next_free;
	pthread_mutex_unlock(&tracker_lock);
	if (!ts && !(ts = new_state()))
		return NULL;
	ts->tid = (uint32_t)syscall(SYS_gettid);
	__atomic_fetch_add(&tracker_ring.threads, 1, __ATOMIC_RELAXED);
	ts->depth = ts->py_depth = 0;
	ts->generation = tracker_trie.generation - 1;
	tracker_self_state = ts;
	pthread_setspecific(state_key, ts);
	return ts;
}
