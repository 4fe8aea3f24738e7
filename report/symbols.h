/*
 * report/symbols: turns return addresses into function, file and line,
 * offline, from the module maps a capture recorded.
 *
 * Each module is opened from its path with elfutils' libdwfl at the load
 * bias the tracker saw, so a report can run long after the process, as
 * long as the binaries are still there (separate debug info under
 * /usr/lib/debug is found by build-id). An address inside inlined code
 * gives several frames, innermost first: the inlined callee with the line
 * it was at, then each caller with the line of the call. C++ and Rust
 * names are demangled (libiberty).
 *
 * A module that cannot be read, or whose build-id differs from the one
 * recorded (rebuilt since), is reported once with warning(); the first
 * gives frames named by address, the second is still symbolized.
 *
 * Ownership: every string a lookup returns belongs to the symbolizer and
 * lives until symbolizer_free(), which accepts NULL. Results are cached
 * per address: asking twice costs a hash lookup.
 */
#ifndef REPORT_SYMBOLS_H
#define REPORT_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

struct sym_segment {
	uint64_t vaddr, memsz;	/* a PT_LOAD segment, before the bias */
};

struct sym_module {
	const char *path;
	uint64_t bias;
	const uint8_t *build_id;
	size_t build_id_len;
	size_t nseg;
	const struct sym_segment *segs;
};

struct sym_frame {
	const char *function;	/* never NULL */
	const char *file;	/* NULL when unknown */
	unsigned line;		/* 0 when unknown */
	const char *module;	/* the module's path */
	int is_inlined;		/* inlined into the next frame */
};

struct symbolizer;

/* the most frames one address resolves to: itself and the functions inlined into it */
#define SYM_MAX_INLINE 32

/*
 * A whole stack of frames, innermost first, in an array that grows as
 * needed (no depth limit). The symbolizer lends one (symbolizer_stack());
 * callers that need a second keep their own, zeroed, and free .frames.
 */
struct sym_stack {
	struct sym_frame *frames;
	size_t n, alloc;
};

struct symbolizer *symbolizer_new(void);
void symbolizer_free(struct symbolizer *s);

/*
 * Resolve the return address ip (ip - 1 is looked up, the call itself) in
 * module m. Fills up to max frames, innermost first, the real function
 * last; returns the count, at least 1 (0 only when out of memory).
 */
int symbolizer_lookup(struct symbolizer *s, const struct sym_module *m, uint64_t ip, struct sym_frame *out,
		      int max);

/*
 * The symbol (a global variable, say) whose extent holds the data address
 * addr of module m, and addr's offset in it; NULL when none does. The
 * name lives as long as the symbolizer.
 */
const char *symbolizer_data_name(struct symbolizer *s, const struct sym_module *m, uint64_t addr,
				 uint64_t *offset);

/* a demangled name the caller frees, or NULL if name is not mangled */
/*
 * The symbolizer's own scratch stack, emptied: what a caller builds in it
 * stays valid until the next call with this symbolizer.
 */
struct sym_stack *symbolizer_stack(struct symbolizer *s);
/*
 * Append the frames ip resolves to in module m (inlined ones first) to st.
 * Returns the frames added (0 when m cannot be read), or -1 when out of memory.
 */
int symbolizer_push(struct symbolizer *s, struct sym_stack *st, const struct sym_module *m, uint64_t ip);
/* append one frame: 0, or -1 when out of memory */
int sym_stack_push(struct sym_stack *st, const struct sym_frame *f);

char *symbols_demangle(const char *name);

#endif
