/*
 * Unit tests of report/symbols: a shared library compiled here (C with an
 * inlined call, C++ in a namespace) is loaded into this process, a return
 * address inside it is looked up through the module map the way a report
 * does it, and the names, files and lines must be exact.
 */

#include <check.h>
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/symbols.h"
#include "tests/unit/unit.h"

static char dir[] = "/tmp/memray-test-symbols-XXXXXX";
static char c_source[300], cxx_source[300], c_lib[300], cxx_lib[300];

static const char c_code[] =
	"void *where(void);\n"
	"__attribute__((noinline)) void *where(void) { return __builtin_return_address(0); }\n"
	"static inline __attribute__((always_inline)) void *inlined_helper(void)\n"
	"{\n"
	"\treturn where(); /* line 5 */\n"
	"}\n"
	"void *outer(void);\n"
	"void *outer(void)\n"
	"{\n"
	"\treturn inlined_helper(); /* line 10 */\n"
	"}\n";

static const char cxx_code[] =
	"extern \"C\" __attribute__((noinline)) void *cxx_where() { return __builtin_return_address(0); }\n"
	"namespace shapes {\n"
	"struct Widget {\n"
	"\t__attribute__((noinline)) void *grow(unsigned long n);\n"
	"};\n"
	"void *Widget::grow(unsigned long n)\n"
	"{\n"
	"\treturn n ? cxx_where() : nullptr; /* line 8 */\n"
	"}\n"
	"}\n"
	"extern \"C\" void *call_grow() { shapes::Widget w; return w.grow(1); }\n";

static void compile(const char *compiler, const char *source, const char *code, const char *lib)
{
	char cmd[1024];
	FILE *f = fopen(source, "w");

	ck_assert_ptr_nonnull(f);
	fputs(code, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s -g -O2 -fno-optimize-sibling-calls -shared -fPIC -o %s %s", compiler, lib, source);
	ck_assert_int_eq(system(cmd), 0);
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(c_source, sizeof(c_source), "%s/inl.c", dir);
	snprintf(cxx_source, sizeof(cxx_source), "%s/widget.cpp", dir);
	snprintf(c_lib, sizeof(c_lib), "%s/libinl.so", dir);
	snprintf(cxx_lib, sizeof(cxx_lib), "%s/libwidget.so", dir);
	compile("gcc", c_source, c_code, c_lib);
	compile("g++", cxx_source, cxx_code, cxx_lib);
}

static void teardown(void)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* the module map of a loaded library, as the tracker records it */
struct found {
	const char *path;
	struct sym_module m;
	struct sym_segment segs[16];
};

static int find_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct found *f = arg;

	(void)size;
	if (!info->dlpi_name || strcmp(info->dlpi_name, f->path))
		return 0;
	f->m.path = f->path;
	f->m.bias = info->dlpi_addr;
	for (int i = 0; i < info->dlpi_phnum && f->m.nseg < 16; i++) {
		if (info->dlpi_phdr[i].p_type == PT_LOAD)
			f->segs[f->m.nseg++] = (struct sym_segment){ info->dlpi_phdr[i].p_vaddr,
								    info->dlpi_phdr[i].p_memsz };
	}
	f->m.segs = f->segs;
	return 1;
}

static void *call(const char *lib, const char *fn, struct found *f)
{
	void *h = dlopen(lib, RTLD_NOW);
	void *(*entry)(void);

	ck_assert_ptr_nonnull(h);
	entry = (void *(*)(void))dlsym(h, fn);
	ck_assert_ptr_nonnull(entry);
	memset(f, 0, sizeof(*f));
	f->path = lib;
	dl_iterate_phdr(find_module, f);
	ck_assert_ptr_nonnull(f->m.path);
	return entry();
}

START_TEST(inlined_frames_with_lines)
{
	struct symbolizer *s = symbolizer_new();
	struct sym_frame frames[8];
	struct found f;
	void *ip = call(c_lib, "outer", &f);
	int n = symbolizer_lookup(s, &f.m, (uint64_t)(uintptr_t)ip, frames, 8);

	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(frames[0].function, "inlined_helper");
	ck_assert_str_eq(frames[0].file, c_source);
	ck_assert_uint_eq(frames[0].line, 5);
	ck_assert_int_eq(frames[0].is_inlined, 1);
	ck_assert_str_eq(frames[1].function, "outer");
	ck_assert_str_eq(frames[1].file, c_source);
	ck_assert_uint_eq(frames[1].line, 10);
	ck_assert_int_eq(frames[1].is_inlined, 0);
	ck_assert_str_eq(frames[1].module, c_lib);
	/* a second lookup comes from the cache, the same strings */
	struct sym_frame again[8];
	ck_assert_int_eq(symbolizer_lookup(s, &f.m, (uint64_t)(uintptr_t)ip, again, 8), 2);
	ck_assert_ptr_eq(again[1].function, frames[1].function);
	symbolizer_free(s);
	symbolizer_free(NULL);
}
END_TEST

START_TEST(cxx_names_demangled)
{
	struct symbolizer *s = symbolizer_new();
	struct sym_frame frames[8];
	struct found f;
	void *ip = call(cxx_lib, "call_grow", &f);
	int n = symbolizer_lookup(s, &f.m, (uint64_t)(uintptr_t)ip, frames, 8);

	ck_assert_int_ge(n, 1);
	ck_assert_str_eq(frames[n - 1].function, "shapes::Widget::grow(unsigned long)");
	ck_assert_str_eq(frames[n - 1].file, cxx_source);
	ck_assert_uint_eq(frames[n - 1].line, 8);
	symbolizer_free(s);
}
END_TEST

START_TEST(demangling)
{
	struct {
		const char *mangled, *want;
	} cases[] = {
		{ "_ZN2ns6Widget4growEm", "ns::Widget::grow(unsigned long)" },
		{ "_ZNK3foo3barIiE3bazEv", "foo::bar<int>::baz() const" },
		{ "_ZN4core3fmt5write17h0123456789abcdefE", "core::fmt::write" },	/* Rust legacy */
		{ "_RNvCs1234_7mycrate3foo", "mycrate::foo" },				/* Rust v0 */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = symbols_demangle(cases[i].mangled);

		ck_assert_ptr_nonnull(got);
		ck_assert_str_eq(got, cases[i].want);
		free(got);
	}
	ck_assert_ptr_null(symbols_demangle("main"));
	ck_assert_ptr_null(symbols_demangle(NULL));
}
END_TEST

START_TEST(missing_and_foreign_files)
{
	struct symbolizer *s = symbolizer_new();
	struct sym_segment seg = { 0, 0x10000 };
	struct sym_module gone = { "/nonexistent/libgone.so", 0x7f0000000000, NULL, 0, 1, &seg };
	struct sym_module text = { "/etc/hostname", 0x1000, NULL, 0, 1, &seg };
	struct sym_frame frames[4];

	ck_assert_int_eq(symbolizer_lookup(s, &gone, 0x7f0000001235, frames, 4), 1);
	ck_assert_str_eq(frames[0].function, "0x1235");
	ck_assert_ptr_null(frames[0].file);
	ck_assert_int_eq(symbolizer_lookup(s, &text, 0x1100, frames, 4), 1);
	ck_assert_str_eq(frames[0].function, "0x100");
	symbolizer_free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("symbols");
	TCase *tc = tcase_create("symbols");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, inlined_frames_with_lines);
	tcase_add_test(tc, cxx_names_demangled);
	tcase_add_test(tc, demangling);
	tcase_add_test(tc, missing_and_foreign_files);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
