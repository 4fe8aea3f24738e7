/*
 * capture/format.h: the normative description of a memray capture file.
 *
 * THE IDEA
 *
 * A capture is what the tracker saw inside one process: every allocation
 * and deallocation with the call stack that made it, the modules that were
 * loaded (so that addresses can be turned into names later, offline), the
 * resident set size over time, and the threads. The tracker writes the
 * cheapest possible form of each event, and all the thinking (symbols,
 * peaks, leaks) happens later in the readers.
 *
 * So records are small tokens: a one-byte type followed by LEB128 varints,
 * addresses as differences from the previous address, call stacks as ids
 * into a trie that is written one node at a time, the first time a node is
 * seen. Records are packed into blocks; each block is checksummed and
 * (normally) lz4-compressed on its own, so that a process killed with
 * SIGKILL leaves a file whose every complete block can still be read, and
 * a flipped bit is caught by the checksum instead of turning into a wrong
 * figure.
 *
 * All fixed-width integers are little-endian. A file is:
 *
 *     file header | block | block | ... | block
 *
 * and the blocks hold a sequence of *segments*. A segment is one process
 * image: it opens with a SEGMENT record and, when the image ended in an
 * orderly way, closes with an END record. A program that calls exec()
 * continues in the same file with a new segment (addresses, stacks and
 * modules start afresh); a forked child followed with --follow-fork writes
 * a file of its own, FILE.<pid>.
 *
 * FILE HEADER (written once by `memray run`, before the program starts)
 *
 *   OFFSET  SIZE  DESCRIPTION
 *        0     8  magic: 0x89 'M' 'E' 'M' 'R' 'A' 'Y' '\n'
 *        8     2  major version (CAPTURE_VERSION_MAJOR). A reader refuses
 *                 a file whose major version is newer than its own.
 *       10     2  minor version. Minor versions only add record types or
 *                 trailing header fields that an older reader may skip.
 *       12     4  header size in bytes, this field's header included
 *                 (40 <= size <= CAPTURE_HEADER_MAX)
 *       16     4  XXH32 (seed 0) of bytes [20, header size)
 *       20     4  flags, CAPTURE_F_*
 *       24     4  RSS sampling interval in milliseconds
 *       28     4  pid of the process the file belongs to
 *       32     8  start time, nanoseconds since the Unix epoch
 *       40     -  the tracked command line: varint argc, then argc strings
 *                 (bounded, see COMMAND LINES below)
 *
 * A "string" is a varint byte count followed by that many bytes (no NUL).
 *
 * BLOCK
 *
 *   OFFSET  SIZE  DESCRIPTION
 *        0     4  magic "MRBK"
 *        4     4  XXH32 (seed 0) of bytes [8, 20 + stored size)
 *        8     1  encoding: 0 raw, 1 lz4 block (at any level: the
 *                 tracker's writer uses lz4's high-compression mode
 *                 while it keeps up, the fast one when behind),
 *                 2 (1.5) an lz4 block of an lz4 block: lz4 cannot shrink
 *                 data more than about 250 times (a long match costs a
 *                 byte per 255 bytes), and a block of records repeating
 *                 one allocation gets there; its output is runs of 255
 *                 that a second pass folds
 *        9     3  encoding 2: the size of the inner lz4 block, at most
 *                 LZ4_compressBound(raw size); else zero
 *       12     4  stored size: payload bytes after this 20-byte header
 *                 (at most CAPTURE_BLOCK_STORED_MAX)
 *       16     4  raw size: payload bytes once decoded (at most
 *                 CAPTURE_BLOCK_RAW_MAX; equal to stored size when raw)
 *       20     -  payload: whole records, never a record cut in two
 *
 * DELTA STATE. Each block starts with a fresh state: previous address 0,
 * previous instruction pointer 0, current thread unknown. So a block can be
 * decoded without the ones before it, except for the stack and code ids it
 * refers to, which only grow.
 *
 * VARINTS. Unsigned LEB128: seven bits per byte, low group first, the high
 * bit set on every byte but the last. 300 = 0b1_0010_1100 is written
 * 0xAC 0x02. At most 10 bytes. Signed values are zigzag-mapped first
 * ((v << 1) ^ (v >> 63)): -1 -> 1, 1 -> 2, -2 -> 3, so a small backward
 * step costs one byte just like a small forward one. An address delta of
 * +48 is zigzag 96 = 0x60, one byte.
 *
 * RECORDS. A one-byte type, then the fields in the order listed. "v" is an
 * unsigned varint, "s" a zigzag varint, "str" a string as above.
 *
 *   TYPE  NAME         FIELDS
 *   0x01  SEGMENT      v pid, v ppid, v start time (ns since epoch),
 *                      v kind (CAPTURE_SEG_*), str executable path,
 *                      v argc, argc x str argument (bounded as the header's)
 *                      Starts a process image. Stack ids, modules and live
 *                      allocations of an earlier segment are forgotten.
 *   0x02  END          v reason (CAPTURE_END_*), v end time (ns since epoch),
 *                      v allocations, v deallocations, v bytes allocated,
 *                      v stack nodes, v records lost (tracking stopped early)
 *                      The tracker's own totals for the segment; a reader
 *                      checks its counts against them. Leaks are what is
 *                      live when END is written: after the program's own
 *                      atexit handlers, before the C library's teardown.
 *   0x03  MODULES      v generation
 *                      The module records that follow, up to the next
 *                      MODULES, replace the set in force. Written at the
 *                      start of a segment and after dlopen/dlclose changed
 *                      the set.
 *   0x04  MODULE       str path, v load bias, str build-id (raw bytes),
 *                      v segment count, count x (v p_vaddr, v p_memsz)
 *                      One loaded ELF object and its PT_LOAD segments; an
 *                      address A belongs to it if p_vaddr <= A - bias <
 *                      p_vaddr + p_memsz for one of them.
 *   0x05  THREAD       v tid
 *                      The records that follow come from this thread
 *                      (the kernel's thread id).
 *   0x06  THREAD_NAME  v tid, str name
 *   0x07  FRAME        v parent id, s instruction pointer delta
 *                      A new stack trie node. Ids are given in order of
 *                      appearance within a segment starting at 1; 0 is the
 *                      empty stack. The instruction pointer is a return
 *                      address (the caller's, so a symbolizer looks up
 *                      ip - 1), relative to the previous FRAME's ip in the
 *                      block. Parent is the caller's node: the root of a
 *                      stack is its outermost frame.
 *   0x08  MEMORY       v milliseconds since segment start, v rss bytes
 *                      A sample of the resident set size. MEMORY records
 *                      are the capture's clock: an allocation happened
 *                      after the MEMORY record before it. The writer
 *                      writes one each tick (10 ms); a MARKER's own
 *                      moment is its TIME record.
 *   0x09  MARKER       v kind (CAPTURE_MARK_*), str label
 *                      Written by memray_test_begin()/memray_test_end().
 *                      A BEGIN's label is the test id, then optional
 *                      fields each after a 0x1f byte: "limit_memory=SIZE",
 *                      "limit_leaks=SIZE", "current_thread_only" (pytest
 *                      marks), "fixture=SCOPE" (the window is a pytest
 *                      fixture's setup, the id its name, not a test).
 *                      An END's label is empty, or "raised" when the
 *                      test did not pass (memray_test_end_as()), or
 *                      "settle": the window takes no new block from
 *                      there, but frees still leave it until the next
 *                      END closes it (a unittest.TestCase's method has
 *                      returned; tearDown frees what it left on self). A
 *                      second END right after, labelled "filtered-leaks=N",
 *                      gives the runner's own leak figure for the test
 *                      that just ended (a pytest filter_fn kept N bytes).
 *                      A reader ignores fields it does not know; one that
 *                      does not know "settle" takes it for a plain END.
 *   0x0A  CODE         v code id, str function, str file, v first line
 *                      A Python code object, the first time a stack uses
 *                      it. Ids are given in order within a segment from 1.
 *   0x0B  PYFRAME      v parent id, v code id, v line
 *                      A new stack trie node for a Python frame: the code
 *                      it runs and the line it is at (the line executing
 *                      at the allocation in the innermost frame, the line
 *                      of the call in the others). Shares the ids of
 *                      FRAME: both are nodes of the one trie. With
 *                      --native, Python frames stand where the
 *                      interpreter's eval loop was in the native stack;
 *                      without it a Python program's stacks are Python
 *                      frames alone (native frames when a thread has no
 *                      Python frame, e.g. during interpreter start-up).
 *   0x32  FRAME_REL    v distance, s instruction pointer delta (1.6)
 *   0x33  PYFRAME_REL  v distance, v code id, v line (1.6)
 *                      FRAME and PYFRAME with the parent given as a
 *                      distance back from the node's own id: parent = id
 *                      - 1 - distance. A stack's new nodes are defined
 *                      root first, each the child of the one before, so
 *                      the distance is mostly 0 and the records of a
 *                      deep stack repeat byte for byte, which lz4 folds;
 *                      an absolute parent grows with every node and does
 *                      not compress (GCC's cc1: its FRAME records alone
 *                      took 291 KB compressed, 101 KB as FRAME_REL). The
 *                      tracker writes these; readers take them for FRAME
 *                      and PYFRAME (a decoded record has that type).
 *   0x0C  TIME         v nanoseconds since the segment started
 *                      The moment of the record that follows: written
 *                      right before each MARKER, in the same thread's
 *                      run of records, so a test's window has a duration
 *                      (a JUnit testcase's time). Measured on a monotonic
 *                      clock from the moment the SEGMENT record was
 *                      written; MEMORY's milliseconds are too coarse for
 *                      a short test and come only every RSS interval.
 *   0x10+a ALLOC       s address delta, v size, v stack id
 *                      An allocation by allocator a (CAPTURE_ALLOC_*).
 *                      realloc is written as FREE of the old address
 *                      followed by ALLOC of the new one.
 *   0x20+a FREE        s address delta; if a is MUNMAP also v size
 *                      A deallocation of kind a (FREE, MUNMAP,
 *                      PYMALLOC_FREE). A munmap may cover part of a
 *                      mapping, or several.
 *   0x30  AGG_STACK    v stack id, v allocator, v allocations, v bytes,
 *                      v allocations live at peak, v bytes live at peak,
 *                      v allocations leaked, v bytes leaked
 *                      --aggregate only: totals per (stack, allocator).
 *   0x31  AGG_PEAK     v peak bytes, v milliseconds since segment start
 *                      of the peak, v thread count, then 64 x v count of
 *                      allocations whose size has bit length i (i = 0..63:
 *                      size 0 -> 0, 1 -> 1, 2..3 -> 2, 4..7 -> 3, ...)
 *                      --aggregate only, once, before END.
 *   0x0D  REACH        v occasion (CAPTURE_REACH_AT_*), v blocks classified,
 *                      v root bytes scanned, v heap bytes scanned,
 *                      v microseconds the world was stopped
 *                      A reachability scan (tracker/reach.c); the REACH_BLOCK
 *                      records of its blocks follow, exactly `blocks` of
 *                      them. Written only with CAPTURE_F_REACHABILITY, at
 *                      exit just before END (occasion 0, every live
 *                      block), and (1.4) at the end of a native test's
 *                      window just before its END marker (occasion 1, the
 *                      blocks the window made only; not under Python). A scan that could not stop
 *                      every thread or ran out of memory writes nothing:
 *                      its blocks then have no category (reports say so).
 *   0x0E  REACH_BLOCK  s address delta (shares the delta state of ALLOC),
 *                      v category (CAPTURE_REACH_*), v root kind
 *                      (CAPTURE_ROOT_*), v root value, v chain length
 *                      The verdict on the live block at that address. The
 *                      categories have memcheck's meanings: DEFINITE, no
 *                      pointer reaches it; INDIRECT, reached only from
 *                      lost blocks (root value: the definitely lost block
 *                      that heads its group); POSSIBLE, reached only
 *                      through a chain with a pointer into its middle;
 *                      REACHABLE, a chain of pointers to block starts
 *                      runs from a root. The root is what holds the
 *                      chain's first pointer (CAPTURE_ROOT_*: for GLOBAL
 *                      and MAPPING the value is the address of the word
 *                      holding it, so readers name the global from the
 *                      module set; for STACK, REGISTERS and TLS the thread
 *                      id); the chain length counts the pointers from the
 *                      root to the block (1: the root points at it).
 *                      A block the program mapped itself (MMAP) is a root,
 *                      never a leak: category REACHABLE, root MAPPING_SELF.
 *   0x0F  COLLECT      s address delta (shares the delta state of ALLOC),
 *                      v category (DEFINITE or INDIRECT)
 *                      The garbage collector (`memray run
 *                      --collect-garbage`, tracker/reach.c) freed the live
 *                      block at that address: a scan found it lost. It
 *                      stands for that block's FREE, which is not written.
 *
 * capture_record_types[] (format.c) holds, per record type, its name (as
 * `memray parse` prints it and as errors name it) and the minor version
 * that introduced it; a new record type is added there, in the table
 * above, and to the reader's table of decoders (capture/reader.c).
 *
 * An unknown record type is an error (a reader cannot know its length).
 * A new record type raises the minor version; a reader that meets a type
 * it does not know in a file of a newer minor version says the file is
 * newer than it rather than damaged. Changing a record raises the major
 * version. History: 1.0 first version; 1.1 adds CODE and PYFRAME; 1.2 adds
 * TIME; 1.3 adds REACH and REACH_BLOCK; 1.4 adds COLLECT; 1.5 adds block
 * encoding 2 (a reader that meets it in a file of a newer minor version
 * says the file is newer); 1.6 adds FRAME_REL and PYFRAME_REL.
 *
 * STREAMS. Live mode (`memray run --live`, `memray live`) sends exactly
 * these bytes, header first, over a stream socket; written to a file they
 * are a capture like any other. Nothing here changes for it: a block is
 * self-delimiting, so a reader of a stream waits for the rest of a block
 * it has the header of, and a stream cut short reads as a file cut short.
 *
 * A reader must survive any byte sequence: it checks every length against
 * what is left, every id against what was defined, and reports the file
 * offset of the first block it cannot trust. What came before stays usable.
 */
#ifndef CAPTURE_FORMAT_H
#define CAPTURE_FORMAT_H

#include <stdint.h>

#define CAPTURE_MAGIC "\x89MEMRAY\n"
#define CAPTURE_MAGIC_LEN 8
#define CAPTURE_VERSION_MAJOR 1
#define CAPTURE_VERSION_MINOR 6

#define CAPTURE_HEADER_FIXED 40
#define CAPTURE_HEADER_MAX (1u << 20)

#define CAPTURE_BLOCK_MAGIC "MRBK"
#define CAPTURE_BLOCK_HEADER 20
#define CAPTURE_BLOCK_RAW_MAX (4u << 20)
#define CAPTURE_BLOCK_STORED_MAX (CAPTURE_BLOCK_RAW_MAX + CAPTURE_BLOCK_RAW_MAX / 255 + 16)

enum capture_encoding {
	CAPTURE_ENC_RAW = 0,
	CAPTURE_ENC_LZ4 = 1,
	CAPTURE_ENC_LZ4_TWICE = 2,	/* 1.5 */
};

/* header flags */
#define CAPTURE_F_LZ4 (1u << 0)
#define CAPTURE_F_AGGREGATE (1u << 1)
/* --native: native frames in Python programs too (native programs always have them) */
#define CAPTURE_F_NATIVE (1u << 2)
#define CAPTURE_F_FOLLOW_FORK (1u << 3)
/* every pymalloc object too, as PYMALLOC_* records */
#define CAPTURE_F_TRACE_PYTHON_ALLOCATORS (1u << 4)
/*
 * Set afterwards, in place, by the tracker when tracking stopped before the
 * process ended (a write error: a full disk, a file size limit; no memory
 * for its tables): the capture holds only what came before. The header's
 * flags and checksum (offsets 16-23) are rewritten where they are, which
 * needs no new space on the disk that is full. Readers say so; `memray
 * check` refuses to judge such a capture. A reader older than this flag
 * ignores it (it reads the capture as cut short).
 */
#define CAPTURE_F_STOPPED (1u << 5)
/*
 * Keep an index of live blocks in the process and classify them by a
 * reachability scan at exit (REACH records). Off by default under `memray
 * run` (--reachability), on under `memray check`.
 */
#define CAPTURE_F_REACHABILITY (1u << 6)
#define CAPTURE_F_KNOWN 0x7fu

enum capture_record_type {
	CAPTURE_REC_SEGMENT = 0x01,
	CAPTURE_REC_END = 0x02,
	CAPTURE_REC_MODULES = 0x03,
	CAPTURE_REC_MODULE = 0x04,
	CAPTURE_REC_THREAD = 0x05,
	CAPTURE_REC_THREAD_NAME = 0x06,
	CAPTURE_REC_FRAME = 0x07,
	CAPTURE_REC_MEMORY = 0x08,
	CAPTURE_REC_MARKER = 0x09,
	CAPTURE_REC_CODE = 0x0A,
	CAPTURE_REC_PYFRAME = 0x0B,
	CAPTURE_REC_TIME = 0x0C,
	CAPTURE_REC_REACH = 0x0D,
	CAPTURE_REC_REACH_BLOCK = 0x0E,
	CAPTURE_REC_COLLECT = 0x0F,
	CAPTURE_REC_ALLOC = 0x10,	/* + allocator */
	CAPTURE_REC_FREE = 0x20,	/* + deallocator */
	CAPTURE_REC_AGG_STACK = 0x30,
	CAPTURE_REC_AGG_PEAK = 0x31,
	CAPTURE_REC_FRAME_REL = 0x32,	/* 1.6 */
	CAPTURE_REC_PYFRAME_REL = 0x33,	/* 1.6 */
	CAPTURE_REC_LIMIT = 0x34,	/* one past the highest type */
};

/*
 * Whether a type byte is ALLOC or FREE with its allocator in the low four
 * bits, and the type of a type byte: ALLOC and FREE without their allocator
 * (0x13 is ALLOC by CALLOC), any other byte as it is. Inline: the reader
 * asks for every record.
 */
static inline int capture_record_has_allocator(unsigned byte)
{
	return byte - CAPTURE_REC_ALLOC < CAPTURE_REC_AGG_STACK - CAPTURE_REC_ALLOC;	/* one compare */
}

static inline unsigned capture_record_base(unsigned byte)
{
	return capture_record_has_allocator(byte) ? byte & 0xf0 : byte;
}

/* what every reader and printer knows of a record type */
struct capture_record_info {
	const char *name;	/* "SEGMENT", "ALLOC", ...: what `memray parse` prints */
	unsigned minor;		/* the minor version (of major 1) that introduced it */
};

/*
 * Indexed by type (capture_record_base() of the byte); the entries of
 * bytes that are no type have a NULL name.
 */
extern const struct capture_record_info capture_record_types[CAPTURE_REC_LIMIT];

/* the name of a type or type byte ("ALLOC" for 0x13); "UNKNOWN" if it is none */
const char *capture_record_name(unsigned type);

/* allocator kinds; the names follow the Python tool's AllocatorType */
enum capture_allocator {
	CAPTURE_ALLOC_MALLOC = 1,
	CAPTURE_ALLOC_FREE = 2,
	CAPTURE_ALLOC_CALLOC = 3,
	CAPTURE_ALLOC_REALLOC = 4,
	CAPTURE_ALLOC_POSIX_MEMALIGN = 5,
	CAPTURE_ALLOC_ALIGNED_ALLOC = 6,
	CAPTURE_ALLOC_MEMALIGN = 7,
	CAPTURE_ALLOC_VALLOC = 8,
	CAPTURE_ALLOC_PVALLOC = 9,
	CAPTURE_ALLOC_MMAP = 10,
	CAPTURE_ALLOC_MUNMAP = 11,
	CAPTURE_ALLOC_PYMALLOC_MALLOC = 12,
	CAPTURE_ALLOC_PYMALLOC_CALLOC = 13,
	CAPTURE_ALLOC_PYMALLOC_REALLOC = 14,
	CAPTURE_ALLOC_PYMALLOC_FREE = 15,
	CAPTURE_ALLOC_COUNT = 16,
};

enum capture_segment_kind {
	CAPTURE_SEG_START = 0,	/* the program memray started */
	CAPTURE_SEG_EXEC = 1,	/* a new image after exec() */
	CAPTURE_SEG_FORK = 2,	/* a forked child (--follow-fork) */
};

enum capture_end_reason {
	CAPTURE_END_EXIT = 0,	/* the program exited */
	CAPTURE_END_EXEC = 1,	/* the program called exec() */
	CAPTURE_END_ERROR = 2,	/* tracking stopped on an internal error */
};

/* REACH: when the scan ran */
enum capture_reach_occasion {
	CAPTURE_REACH_AT_EXIT = 0,
	CAPTURE_REACH_AT_WINDOW_END = 1,	/* a native test's window ends: its own blocks only */
};

/* REACH_BLOCK: the verdict on a block, lost first */
enum capture_reach_category {
	CAPTURE_REACH_UNKNOWN = 0,	/* no scan covered it (readers only) */
	CAPTURE_REACH_DEFINITE = 1,
	CAPTURE_REACH_INDIRECT = 2,
	CAPTURE_REACH_POSSIBLE = 3,
	CAPTURE_REACH_REACHABLE = 4,
	CAPTURE_REACH_COUNT = 5,
};

/* REACH_BLOCK: what holds the first pointer of a block's chain */
enum capture_root_kind {
	CAPTURE_ROOT_NONE = 0,		/* definitely lost */
	CAPTURE_ROOT_GLOBAL = 1,	/* a writable segment of a module; value: the word's address */
	CAPTURE_ROOT_STACK = 2,		/* value: thread id */
	CAPTURE_ROOT_REGISTERS = 3,	/* value: thread id */
	CAPTURE_ROOT_TLS = 4,		/* static TLS or thread control block; value: thread id */
	CAPTURE_ROOT_MAPPING = 5,	/* a region the program mapped; value: the word's address */
	CAPTURE_ROOT_MAPPING_SELF = 6,	/* the block is such a region */
	CAPTURE_ROOT_LOST_BLOCK = 7,	/* indirectly lost; value: the head of its group */
	CAPTURE_ROOT_COUNT = 8,
};

/* "definitely lost", ...; "unknown" out of range */
const char *capture_reach_name(unsigned category);

enum capture_marker_kind {
	CAPTURE_MARK_TEST_BEGIN = 1,
	CAPTURE_MARK_TEST_END = 2,
};

/*
 * The fuzz target (tests/fuzz) is built with CAPTURE_FUZZING=1 so that
 * mutated bytes get past the checksums to the record decoder.
 */
#ifndef CAPTURE_FUZZING
#define CAPTURE_FUZZING 0
#endif

/* the longest string the tracker writes; readers accept up to this too */
#define CAPTURE_STRING_MAX 4096
#define CAPTURE_ARGS_MAX 1024
/*
 * COMMAND LINES. Any command line must give a readable capture, yet Linux
 * passes megabytes of arguments, and the header (CAPTURE_HEADER_MAX) and
 * the SEGMENT record (half a tracker block) are bounded. So writers keep
 * at most CAPTURE_ARGV_TEXT_MAX bytes of argument text, CAPTURE_ARGS_MAX
 * strings (the last one a marker) and CAPTURE_STRING_MAX bytes of each;
 * when anything was cut, the last string reads "... (N more bytes)", N
 * the argument bytes left out. Readers need not know: it is a string.
 */
#define CAPTURE_ARGV_TEXT_MAX (64u * 1024)
#define CAPTURE_AGG_BUCKETS 64

/* the name of an allocator kind, "MALLOC", ...; "UNKNOWN" if out of range */
const char *capture_allocator_name(unsigned kind);

/* is this kind one that allocates (as opposed to FREE, MUNMAP, ...)? */
int capture_allocator_allocates(unsigned kind);

#endif
