/*
 * report/symbols: see symbols.h.
 */
#include "report/symbols.h"

#include <dwarf.h>
#include <errno.h>
#include <unistd.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <libiberty/demangle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/grow.h"
#include "common/hashidx.h"
#include "common/strbuf.h"

#define MAX_INLINE SYM_MAX_INLINE

/*
 * One module per file, shared by every capture of a run: a process's
 * libc sits at another bias in each process (ASLR), so a module with a
 * build-id is keyed by build-id and path, reported to libdw once at the
 * first bias seen, and a lookup at another bias is moved to that one.
 * Reading libc's debug info costs a quarter second: 500 short processes
 * must not pay it 500 times. A module without a build-id is keyed by path
 * and bias, as before.
 */
struct module {
	char *path;
	uint64_t bias;		/* the one libdw was told; lookups are moved to it */
	uint8_t *build_id;	/* NULL: none recorded */
	size_t build_id_len;
	Dwfl *dwfl;		/* NULL: could not be read */
	Dwfl_Module *mod;
	char *basename;
};

struct cached {
	uint64_t ip;
	size_t mod;		/* module index + 1 */
	int nframes;
	struct sym_frame *frames;
};

/* strings and frame arrays live in chunks freed all at once */
struct chunk {
	struct chunk *next;
	size_t used, size;
	char data[];
};

struct symbolizer {
	struct module *mods;
	size_t nmods, mods_cap;
	struct cached *cache;	/* every (module, ip) resolved so far */
	size_t ncache, cache_alloc;
	struct hashidx cache_index;
	struct chunk *chunks;
	/* interned strings, in chunk memory */
	const char **strings;
	size_t nstrings, strings_alloc;
	struct hashidx string_index;
	struct sym_stack scratch;	/* lent by symbolizer_stack() */
};

static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

struct symbolizer *symbolizer_new(void)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	return s;
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmods; i++) {
		if (s->mods[i].dwfl)
			dwfl_end(s->mods[i].dwfl);
		free(s->mods[i].path);
		free(s->mods[i].build_id);
	}
	free(s->mods);
	free(s->scratch.frames);
	free(s->cache);
	hashidx_release(&s->cache_index);
	free(s->strings);
	hashidx_release(&s->string_index);
	while (s->chunks) {
		struct chunk *next = s->chunks->next;

		free(s->chunks);
		s->chunks = next;
	}
	free(s);
}

static void *arena_alloc(struct symbolizer *s, size_t n)
{
	struct chunk *c = s->chunks;

	n = (n + 15) & ~(size_t)15;
	if (!c || c->used + n > c->size) {
		size_t size = n > 65536 ? n : 65536;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->used = 0;
		c->next = s->chunks;
		s->chunks = c;
	}
	c->used += n;
	return c->data + c->used - n;
}

static int same_string(const void *ctx, uint32_t pos)
{
	const struct symbolizer *s = ctx;

	return !strcmp(s->strings[pos], s->strings[s->nstrings]);	/* the one looked for sits past the end */
}

/* one copy of each string, owned by the symbolizer */
static const char *intern(struct symbolizer *s, const char *str)
{
	uint64_t h;
	uint32_t pos;
	char *copy;

	if (!str || GROW(s->strings, s->nstrings + 1, s->strings_alloc) < 0)
		return NULL;
	h = hash_string(str);
	s->strings[s->nstrings] = str;
	pos = hashidx_find(&s->string_index, h, same_string, s);
	if (pos != HASHIDX_NONE)
		return s->strings[pos];
	copy = arena_alloc(s, strlen(str) + 1);
	if (!copy || hashidx_add(&s->string_index, h, (uint32_t)s->nstrings) < 0)
		return NULL;
	strcpy(copy, str);
	s->strings[s->nstrings++] = copy;
	return copy;
}

char *symbols_demangle(const char *name)
{
	char *out, *hash;
	size_t len;

	if (!name || (strncmp(name, "_Z", 2) && strncmp(name, "_R", 2)))
		return NULL;
	out = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_RUST);
	if (!out)
		out = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_GNU_V3);
	if (!out)
		return NULL;
	/* a Rust legacy name keeps its hash as a last "::h<16 hex>" component */
	len = strlen(out);
	hash = len > 19 ? out + len - 19 : NULL;
	if (hash && !strncmp(hash, "::h", 3) && strspn(hash + 3, "0123456789abcdef") == 16)
		*hash = '\0';
	return out;
}

static struct module *find_module(struct symbolizer *s, const struct sym_module *m)
{
	struct module *mod;
	const unsigned char *bits;
	GElf_Addr vaddr;
	struct stat st;
	int n;

	for (size_t i = 0; i < s->nmods; i++) {
		struct module *k = &s->mods[i];
		int same_file = m->build_id_len ? k->build_id_len == m->build_id_len &&
						  !memcmp(k->build_id, m->build_id, m->build_id_len)
						: !k->build_id_len && k->bias == m->bias;

		if (same_file && !strcmp(k->path, m->path))
			return k;
	}
	if (GROW(s->mods, s->nmods + 1, s->mods_cap) < 0)
		return NULL;
	mod = &s->mods[s->nmods++];
	memset(mod, 0, sizeof(*mod));
	mod->path = strdup(m->path);
	mod->bias = m->bias;
	if (m->build_id_len && (mod->build_id = malloc(m->build_id_len))) {
		memcpy(mod->build_id, m->build_id, m->build_id_len);
		mod->build_id_len = m->build_id_len;
	}
	mod->basename = mod->path ? strrchr(mod->path, '/') : NULL;
	mod->basename = mod->basename ? mod->basename + 1 : mod->path;
	if (!mod->path)
		return NULL;
	/*
	 * The path comes from the capture: it may now name a FIFO, which libdw
	 * would open and wait on forever, or a device. Only a regular file is
	 * handed to libdw; anything else is unreadable, its frames addresses.
	 */
	if (stat(m->path, &st) == 0 && !S_ISREG(st.st_mode)) {
		warning("cannot read %s (not a regular file): its frames are shown as addresses", m->path);
		return mod;
	}
	mod->dwfl = dwfl_begin(&offline_callbacks);
	if (mod->dwfl) {
		dwfl_report_begin(mod->dwfl);
		mod->mod = dwfl_report_elf(mod->dwfl, mod->basename, mod->path, -1, m->bias, false);
		dwfl_report_end(mod->dwfl, NULL, NULL);
	}
	if (!mod->mod) {
		int err = dwfl_errno();

		warning("cannot read %s (%s): its frames are shown as addresses", m->path,
			access(m->path, R_OK) < 0 ? strerror(errno) : err ? dwfl_errmsg(err) : "not an ELF file");
		if (mod->dwfl)
			dwfl_end(mod->dwfl);
		mod->dwfl = NULL;
		return mod;
	}
	n = dwfl_module_build_id(mod->mod, &bits, &vaddr);
	if (m->build_id_len && (n != (int)m->build_id_len || memcmp(bits, m->build_id, m->build_id_len)))
		warning("%s: build-id differs from the capture (rebuilt since?); symbols may be wrong", m->path);
	return mod;
}

/* a DIE's name for a frame: the demangled linkage name, else the plain name */
static const char *die_name(struct symbolizer *s, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name = NULL;
	char *dem;

	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
		name = dwarf_formstring(&attr);
	if (name && (dem = symbols_demangle(name))) {
		const char *r = intern(s, dem);

		free(dem);
		return r;
	}
	if (dwarf_attr_integrate(die, DW_AT_name, &attr) && (name = dwarf_formstring(&attr)))
		return intern(s, name);
	return NULL;
}

/* the name of the symbol at addr, from the symbol table */
static const char *symtab_name(struct symbolizer *s, struct module *mod, Dwarf_Addr addr)
{
	GElf_Off off;
	GElf_Sym sym;
	const char *name = dwfl_module_addrinfo(mod->mod, addr, &off, &sym, NULL, NULL, NULL);
	char *dem;

	if (!name)
		return NULL;
	dem = symbols_demangle(name);
	if (dem) {
		const char *r = intern(s, dem);

		free(dem);
		return r;
	}
	return intern(s, name);
}

static const char *address_name(struct symbolizer *s, struct module *mod, uint64_t ip)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)(ip - mod->bias));
	return intern(s, buf);
}

/*
 * The scopes holding addr, innermost first, as the code is nested: each
 * inlined call inside the one it was inlined into, up to the function.
 * dwarf_getscopes() alone follows an inlined call's abstract origin
 * instead (the inlined function's own definition and its class), so a
 * constructor inlined into an inlined helper lost the helper and gave
 * the outer function the constructor's call site (in C too: a block in
 * an inlined helper). Its innermost scope is right; dwarf_getscopes_die()
 * then walks that DIE's concrete parents, as eu-addr2line -i does.
 */
static int concrete_scopes(Dwarf_Die *cu, Dwarf_Addr addr, Dwarf_Die **scopes)
{
	Dwarf_Die innermost;
	int n = dwarf_getscopes(cu, addr, scopes);

	if (n <= 0 || dwarf_tag(&(*scopes)[0]) == DW_TAG_subprogram)
		return n;
	innermost = (*scopes)[0];
	free(*scopes);
	*scopes = NULL;
	return dwarf_getscopes_die(&innermost, scopes);
}

/*
 * The frames of one address: each inlined call (DW_TAG_inlined_subroutine
 * scopes, innermost first) and then the function the code really lives
 * in. That last one is named from the symbol table, which always names
 * the out-of-line function, where DWARF scopes may name an enclosing one
 * (a lambda's body is nested inside the function that defines it). The
 * innermost frame's line comes from the line table; each outer frame's
 * from the call site recorded on the inlined call it contains.
 */
static int resolve(struct symbolizer *s, struct module *mod, uint64_t ip, struct sym_frame *out, int max)
{
	Dwarf_Addr addr = ip - 1, bias = 0;
	Dwarf_Die *cu, *scopes = NULL, *subprogram = NULL;
	const char *file = NULL, *name;
	int line = 0, n = 0, nscopes;
	Dwfl_Line *dl;

	if (!mod->mod) {
		out[0] = (struct sym_frame){ address_name(s, mod, ip), NULL, 0, mod->path, 0 };
		return 1;
	}
	/*
	 * For an address no compile unit covers (crt1's _start), libdwfl
	 * hands out the nearest one below it, and that unit's last line: such
	 * an address has no source line, as addr2line says.
	 */
	cu = dwfl_module_addrdie(mod->mod, addr, &bias);
	if (cu && dwarf_haspc(cu, addr - bias) <= 0)
		cu = NULL;
	dl = cu ? dwfl_module_getsrc(mod->mod, addr) : NULL;
	if (dl)
		file = intern(s, dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL));
	nscopes = cu ? concrete_scopes(cu, addr - bias, &scopes) : 0;
	for (int i = 0; i < nscopes && n < max - 1; i++) {
		Dwarf_Die *die = &scopes[i];
		int tag = dwarf_tag(die);
		Dwarf_Attribute attr;
		Dwarf_Word v;

		if (tag == DW_TAG_subprogram) {
			subprogram = die;
			break;
		}
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		out[n++] = (struct sym_frame){ die_name(s, die), file, (unsigned)(line > 0 ? line : 0), mod->path, 1 };
		/* the caller's frame is at the call site of this inlined body */
		file = NULL;
		line = 0;
		if (dwarf_attr(die, DW_AT_call_line, &attr) && dwarf_formudata(&attr, &v) == 0)
			line = (int)v;
		if (dwarf_attr(die, DW_AT_call_file, &attr) && dwarf_formudata(&attr, &v) == 0) {
			Dwarf_Files *files;
			size_t nfiles;

			if (dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && v < nfiles)
				file = intern(s, dwarf_filesrc(files, v, NULL, NULL));
		}
	}
	name = symtab_name(s, mod, addr);
	if (!name && subprogram)
		name = die_name(s, subprogram);
	out[n++] = (struct sym_frame){ name, file, (unsigned)(line > 0 ? line : 0), mod->path, 0 };
	free(scopes);
	for (int i = 0; i < n; i++)
		if (!out[i].function)
			out[i].function = address_name(s, mod, ip);
	return n;
}

/* the cache entry looked for is (mod, ip) in the slot past the end */
static int same_address(const void *ctx, uint32_t pos)
{
	const struct symbolizer *s = ctx;
	const struct cached *want = &s->cache[s->ncache];

	return s->cache[pos].mod == want->mod && s->cache[pos].ip == want->ip;
}

const char *symbolizer_data_name(struct symbolizer *s, const struct sym_module *m, uint64_t addr, uint64_t *offset)
{
	struct module *mod = find_module(s, m);
	GElf_Off off;
	GElf_Sym sym;
	const char *name;

	if (!mod)
		return NULL;
	name = dwfl_module_addrinfo(mod->mod, addr - m->bias + mod->bias, &off, &sym, NULL, NULL, NULL);
	if (!name)
		return NULL;
	*offset = off;
	return symtab_name(s, mod, addr - m->bias + mod->bias);
}

int symbolizer_lookup(struct symbolizer *s, const struct sym_module *m, uint64_t ip, struct sym_frame *out,
		      int max)
{
	struct sym_frame frames[MAX_INLINE];
	struct module *mod = find_module(s, m);
	struct cached *c;
	uint64_t h;
	uint32_t pos;
	size_t key;
	int n;

	if (!mod || max < 1 || GROW(s->cache, s->ncache + 1, s->cache_alloc) < 0)
		return 0;
	ip = ip - m->bias + mod->bias;	/* the same code at the bias libdw knows */
	key = (size_t)(mod - s->mods) + 1;
	h = hash_u64(ip ^ (uint64_t)key << 48);
	s->cache[s->ncache] = (struct cached){ .ip = ip, .mod = key };
	pos = hashidx_find(&s->cache_index, h, same_address, s);
	if (pos != HASHIDX_NONE) {
		n = s->cache[pos].nframes < max ? s->cache[pos].nframes : max;
		memcpy(out, s->cache[pos].frames, (size_t)n * sizeof(*out));
		return n;
	}
	n = resolve(s, mod, ip, frames, MAX_INLINE);
	c = &s->cache[s->ncache];
	/* out of memory here only costs resolving this address again next time */
	if ((c->frames = arena_alloc(s, (size_t)n * sizeof(*frames))) &&
	    hashidx_add(&s->cache_index, h, (uint32_t)s->ncache) == 0) {
		memcpy(c->frames, frames, (size_t)n * sizeof(*frames));
		c->nframes = n;
		s->ncache++;
	}
	n = n < max ? n : max;
	memcpy(out, frames, (size_t)n * sizeof(*out));
	return n;
}

struct sym_stack *symbolizer_stack(struct symbolizer *s)
{
	s->scratch.n = 0;
	return &s->scratch;
}

int sym_stack_push(struct sym_stack *st, const struct sym_frame *f)
{
	if (GROW(st->frames, st->n + 1, st->alloc) < 0)
		return -1;
	st->frames[st->n++] = *f;
	return 0;
}

int symbolizer_push(struct symbolizer *s, struct sym_stack *st, const struct sym_module *m, uint64_t ip)
{
	int n;

	if (GROW(st->frames, st->n + SYM_MAX_INLINE, st->alloc) < 0)
		return -1;
	n = symbolizer_lookup(s, m, ip, st->frames + st->n, SYM_MAX_INLINE);
	st->n += (size_t)n;
	return n;
}
