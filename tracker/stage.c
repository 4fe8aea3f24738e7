/*
 * tracker/stage: the allocation path without the global lock.
 *
 * Each thread writes its ALLOC and FREE records into a ring of its own
 * (its stage, in its thread state) and never takes tracker_lock for them.
 * Whoever holds the lock moves them into the stream (tracker_stage_drain):
 * a thread whose stage is full, the writer thread on its tick, and every
 * writer of another record, through tracker_lock_take(). The capture
 * format does not change:
 * the drain writes the records one by one, with tracker_emit_alloc() and
 * tracker_emit_free(), as the allocation path used to under the lock.
 *
 * THE ORDER
 *
 * The stream must give each address's records in the order they happened:
 * a FREE before the next ALLOC of its address by any thread, an ALLOC
 * before its block's FREE. A FREE, staged before the real free, takes a
 * number of its own from tracker_seq (one atomic add); an ALLOC, staged
 * after the real allocation returned, reads the current number without
 * taking one (a plain load). Records merge by (number, FREE after ALLOC):
 * - FREE p, then an ALLOC q of the same address (by any thread): q's
 *   allocation returned after p's real free, after p took number k, so q
 *   reads k + 1 or more.
 * - ALLOC p, then the FREE q of its block: q takes a number at least the
 *   one p read, and at the same number the FREE goes second.
 * One thread's records come in that order too, so each stage is already
 * sorted and the drain merges them as they are.
 *
 * A drain first takes a number itself (W - 1, atomic add) and then reads
 * each stage's head, and writes the published records numbered below W.
 * A record p left behind (numbered below W but not yet published) cannot
 * be needed by a record q written now: q's thread acted after p was
 * published, after the drain took W - 1, so q reads or takes W or more
 * and waits too. Such a p is written by a later drain, a little out of
 * number order, which no address can notice. As a drain takes a number,
 * a program that only allocates still sees its records move on.
 *
 * "Something staged" is tracker_staged: set by a thread after it
 * published a record, cleared by a drain (an atomic exchange, a full
 * barrier, before it reads the heads) and set again by the drain when it
 * leaves published records behind. A record published after the drain
 * read its stage's head sets it again itself.
 *
 * A record written under the lock (a marker, a thread name, a realloc's
 * FREE, a scan's verdicts) is written after a drain, so it follows every
 * staged record that happened before it.
 *
 * WHAT IT COSTS
 *
 * A malloc/free pair pays one atomic add and no lock, and threads no
 * longer wait for each other: 4 threads of malloc/free went from +274 to
 * +135 ns per pair (bench/ab_tracker.py). A thread encodes its records
 * itself when its stage fills, while they are still in its cache: having
 * the writer drain them in parallel doubled the cost of one thread's
 * churn on this machine, as each entry's cache line then moved to the
 * writer's core and back. A stack whose nodes are all in the trie is
 * found without the lock (tracker_trie_find); a new node still takes the
 * lock, once.
 *
 * A drain that must wait for a free buffer (the writer 32 MiB behind)
 * lets the lock go meanwhile; a record written under the lock by another
 * thread then may go ahead of records being drained. The ring is full
 * only when records are being lost anyway, and END counts those.
 */
#include "tracker/internal.h"

uint64_t tracker_seq;
int tracker_staged;

/* one stage's part in a drain */
struct front {
	uint64_t key;	/* of its next record */
	struct tracker_stage *s;
	const struct stage_entry *e;
	uint64_t pos, end;
	uint32_t tid;
};

/* the merge's heap, room for every stage; a grown one keeps the old mapped for a drain under way */
static struct front *heap;
static size_t heap_room;

int tracker_stage_room_for(size_t states)
{
	struct front *grown;
	size_t room = heap_room ? heap_room : 64;

	if (states <= heap_room)
		return 0;
	while (room < states)
		room *= 2;
	grown = mapmem_alloc(room * sizeof(*grown));
	if (!grown)
		return -1;
	heap = grown;
	heap_room = room;
	return 0;
}

static void sift_down(struct front *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		struct front t;

		if (l < n && h[l].key < h[m].key)
			m = l;
		if (l + 1 < n && h[l + 1].key < h[m].key)
			m = l + 1;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* one staged record into the stream (dropped after END, or when its stack ids are of an older trie) */
static void write_entry(const struct stage_entry *e, uint32_t tid)
{
	if (!tracker_active || e->generation != (uint16_t)tracker_trie.generation)
		return;
	if (e->key & 1)
		tracker_emit_free((void *)e->addr, e->size, e->kind, tid);
	else
		tracker_emit_alloc((void *)e->addr, e->size, e->kind, e->id, tid);
}

void tracker_stage_drain(void)
{
	struct tracker_ring *r = &tracker_ring;
	struct front *h = heap;
	size_t n = 0;
	uint64_t below;	/* W * 2: the keys written now are below it */
	int is_left = 0;

	if (r->draining || !__atomic_exchange_n(&tracker_staged, 0, __ATOMIC_SEQ_CST))
		return;
	r->draining = 1;
	below = (__atomic_fetch_add(&tracker_seq, 1, __ATOMIC_SEQ_CST) + 1) << 1;
	for (struct thread_state *ts = tracker_all_states; ts && n < heap_room; ts = ts->all_next) {
		struct tracker_stage *s = &ts->stage;
		uint64_t end = __atomic_load_n(&s->head, __ATOMIC_ACQUIRE);
		const struct stage_entry *e = s->e;

		if (s->tail == end)
			continue;
		if (e[s->tail & (STAGE_N - 1)].key < below)
			h[n++] = (struct front){ e[s->tail & (STAGE_N - 1)].key, s, e, s->tail, end, ts->tid };
		else
			is_left = 1;
	}
	for (size_t i = n / 2; i-- > 0;)
		sift_down(h, n, i);
	while (n) {
		struct front *f = &h[0];

		write_entry(&f->e[f->pos & (STAGE_N - 1)], f->tid);
		f->pos++;
		if (f->pos != f->end && (f->key = f->e[f->pos & (STAGE_N - 1)].key) < below) {
			if (n > 1)
				sift_down(h, n, 0);
			continue;
		}
		is_left |= f->pos != f->end;
		__atomic_store_n(&f->s->tail, f->pos, __ATOMIC_RELEASE);
		h[0] = h[--n];
		sift_down(h, n, 0);
	}
	if (is_left)
		__atomic_store_n(&tracker_staged, 1, __ATOMIC_RELEASE);
	r->draining = 0;
}

int tracker_stage_make_room(struct tracker_stage *s)
{
	uint64_t tail = __atomic_load_n(&s->tail, __ATOMIC_ACQUIRE);

	if (s->head - tail == STAGE_N) {
		tracker_lock_take();
		tail = s->tail;
		if (s->head - tail == STAGE_N && tracker_active)
			tracker_ring.lost++;	/* another drain is waiting for a buffer */
		pthread_mutex_unlock(&tracker_lock);
	}
	s->room_end = tail + STAGE_N;
	return s->head != s->room_end ? 0 : -1;
}

void tracker_stage_after_fork(void)
{
	for (struct thread_state *ts = tracker_all_states; ts; ts = ts->all_next) {
		ts->stage.head = ts->stage.tail = 0;
		ts->stage.room_end = STAGE_N;
	}
	tracker_seq = 0;
	tracker_staged = 0;
	tracker_ring.draining = 0;
}
