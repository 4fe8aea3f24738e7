/*
 * capture/reader: reads a capture file record by record (format.h).
 *
 * The reader maps nothing it has not checked: each block header is
 * validated, its checksum verified and its payload decoded before any
 * record in it is returned, and every record is bounds-checked as it is
 * decoded. It never trusts a length or an id: strings are capped, stack
 * and frame ids must have been defined, and a record that runs past its
 * block is damage.
 *
 * How a capture ends is told by capture_reader_status():
 *   CAPTURE_OK          every segment closed with END (or was followed
 *                       by the next image's SEGMENT after an exec)
 *   CAPTURE_INCOMPLETE  the last segment has no END: the program was
 *                       killed, called _exit early, or the disk filled;
 *                       also when the file ends inside a block. What came
 *                       before is sound.
 *   CAPTURE_DAMAGED     a block or record is corrupt at some offset.
 * capture_reader_problem() describes the last two in one line with the
 * offset ("offset 81920: block checksum mismatch").
 *
 * A file that shrinks while it is read (`memray run -f` reusing the name)
 * reads as one that ends there: CAPTURE_INCOMPLETE, never a signal. The
 * reader reads with pread into its own buffers rather than mapping the
 * file, since a mapping faults (SIGBUS) on pages the file no longer has.
 * Only regular files are read: a FIFO or a device is refused at open,
 * which never blocks (O_NONBLOCK until fstat says what the file is).
 *
 * STREAMS. `memray live` reads a capture as it arrives on a socket: a
 * reader made by capture_reader_stream() is fed the bytes received with
 * capture_reader_feed(), and capture_reader_next() returns 0 with
 * capture_reader_is_waiting() true when the next block has not arrived
 * whole; the caller feeds more and asks again. capture_reader_feed_end()
 * says the stream ended: what is missing then is missing for good, as at
 * the end of a file (the same statuses and messages, offsets counted from
 * the stream's first byte). The reader keeps only the bytes of the block
 * it waits for: a block header is validated (its stored size bounded)
 * before its payload is awaited, so no byte sequence makes it buffer more
 * than one block.
 *
 * Test hook: MEMRAY_TEST_SHRINK_TO=N in the environment makes
 * capture_reader_open() truncate the file to N bytes once its header is
 * read, so tests can shrink a capture under a reader without racing one.
 *
 * Ownership: the reader owns the file and the decoded block; strings and
 * arrays in a record point into them and live until the next call to
 * capture_reader_next(). capture_reader_free(NULL) is a no-op.
 */
#ifndef CAPTURE_READER_H
#define CAPTURE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "capture/format.h"
#include "capture/header.h"

struct capture_string {
	const char *s;	/* not NUL-terminated */
	size_t len;
};

struct capture_record {
	unsigned type;		/* CAPTURE_REC_*; ALLOC and FREE without the allocator */
	unsigned allocator;	/* ALLOC/FREE/AGG_STACK: CAPTURE_ALLOC_* */
	uint64_t offset;	/* file offset of the block holding the record */
	uint32_t tid;		/* the thread, for ALLOC, FREE, MARKER, THREAD_NAME */
	uint64_t address, size;
	uint32_t stack;		/* ALLOC, AGG_STACK */
	/* FRAME, PYFRAME */
	uint32_t frame_id, parent;
	uint64_t ip;
	/* CODE (function in label, file in path), PYFRAME */
	uint32_t code;
	uint64_t line;
	/* MEMORY */
	uint64_t ms, rss;
	/* TIME: nanoseconds since the segment started */
	uint64_t since_ns;
	/* SEGMENT */
	uint64_t pid, ppid, start_ns;
	unsigned kind;		/* also END's reason, MARKER's kind */
	struct capture_string exe;
	int argc;
	const struct capture_string *argv;
	/* MODULES */
	uint64_t generation;
	/* MODULE */
	struct capture_string path, build_id;
	uint64_t bias;
	int nseg;
	const uint64_t *segs;	/* nseg pairs (p_vaddr, p_memsz) */
	/* THREAD_NAME, MARKER */
	struct capture_string label;
	/* END */
	uint64_t end_ns, n_allocs, n_frees, bytes, n_frames, lost;
	/* AGG_STACK */
	uint64_t agg_allocs, agg_bytes, peak_count, peak_bytes, leak_count, leak_bytes;
	/* AGG_PEAK */
	uint64_t peak, peak_ms, threads;
	const uint64_t *histogram;	/* CAPTURE_AGG_BUCKETS counts */
	/* REACH (its occasion in kind) */
	uint64_t reach_blocks, root_bytes, heap_bytes, stopped_us;
	/* REACH_BLOCK and COLLECT (and address) */
	unsigned category, root_kind;
	uint64_t root_value, chain;
};

enum capture_status {
	CAPTURE_OK = 0,
	CAPTURE_INCOMPLETE = 1,
	CAPTURE_DAMAGED = 2,
};

struct capture_reader;

/*
 * Open path and read its header. Returns NULL after printing one line
 * naming the file when it cannot be read, is not a capture, or has a
 * newer major version.
 */
struct capture_reader *capture_reader_open(const char *path);
void capture_reader_free(struct capture_reader *r);

const struct capture_header *capture_reader_header(const struct capture_reader *r);
const char *capture_reader_path(const struct capture_reader *r);

/*
 * The next record: 1 and *rec filled, or 0 at the end of what can be read
 * (check capture_reader_status() then).
 */
int capture_reader_next(struct capture_reader *r, struct capture_record *rec);

enum capture_status capture_reader_status(const struct capture_reader *r);
/* one line on what is wrong, or NULL when the status is CAPTURE_OK */
const char *capture_reader_problem(const struct capture_reader *r);
uint64_t capture_reader_records(const struct capture_reader *r);
/* segments seen so far */
unsigned capture_reader_segments(const struct capture_reader *r);
/* bytes of file read so far and in all, for progress */
uint64_t capture_reader_position(const struct capture_reader *r);
uint64_t capture_reader_size(const struct capture_reader *r);

/*
 * A reader of a stream named `name` (for messages), with nothing read yet.
 * NULL when out of memory (after a message).
 */
struct capture_reader *capture_reader_stream(const char *name);
/*
 * Append n received bytes. Call it only when capture_reader_next() is
 * waiting (so what is buffered stays one block). 0, or -1 out of memory
 * (after a message; the reader is then finished, damaged).
 */
int capture_reader_feed(struct capture_reader *r, const void *p, size_t n);
/* the stream ended: no more bytes will come */
void capture_reader_feed_end(struct capture_reader *r);
/* did the last capture_reader_next() return 0 for want of bytes? */
int capture_reader_is_waiting(const struct capture_reader *r);
/* has the file header arrived whole (capture_reader_header() valid)? */
int capture_reader_has_header(const struct capture_reader *r);

/* capture_record_name() (format.h) gives a record type's printable name */

#endif
