/*
 * assert/manifest: the rules of `memray check`, from memray.yml (parsed
 * with libyaml) and then from the command line, which overrides it.
 *
 *   version: 1                 # required when the file has anything
 *   budget: 200MB              # the whole run: peak
 *   leak-budget: 1MiB          #   bytes live at exit
 *   max-allocations: 1000000   #   allocations made
 *   defaults:                  # every test (same three keys)
 *     budget: 64MiB
 *   tests:                     # by glob on the test id; the first match wins,
 *     - match: "tests/test_io.py::*"   # key by key, over the defaults
 *       budget: 300MiB
 *   suppressions:              # globs on stack frames, for leaks
 *     - "*json_cache*"
 *     - { frame: "libfoo_init", reason: "kept for life" }
 *   builtin-suppressions: true
 *   reachable-leaks: false     # true: blocks still reachable at exit leak too
 *   baseline:                  # or just the file name
 *     file: .memray-baseline.json
 *     max-increase: 10%        # or +5MiB: on the peak; or per figure:
 *     # max-increase: { peak: 10%, allocations: 0%, allocated: +64KiB }
 *
 * Every mistake is one error line "FILE:LINE:COLUMN: what": a YAML syntax
 * error, an unknown key, a value of the wrong type, a bad size or glob,
 * a key given twice, a second YAML document after '---' (one file, one
 * manifest: a second document used to be ignored). An empty file is an
 * empty manifest.
 *
 * Each limit remembers where it came from ("memray.yml:12:3",
 * "--budget", "limit_memory mark"), so verdicts can say.
 *
 * Ownership: a manifest owns all its strings; manifest_release() frees
 * them. A manifest starts as MANIFEST_INIT (no rules, built-in
 * suppressions on, 10% allowed increase of the peak). A scalar
 * `max-increase` sets the peak's; a map sets the figures it names and no
 * other, so `{ allocations: 0% }` judges the allocation count alone.
 */
#ifndef ASSERT_MANIFEST_H
#define ASSERT_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "report/suppress.h"

enum limit_kind { LIMIT_PEAK, LIMIT_LEAKS, LIMIT_COUNT, LIMIT_KINDS };

struct limits {
	int has[LIMIT_KINDS];
	uint64_t value[LIMIT_KINDS];
	char *from[LIMIT_KINDS];	/* owned */
};

struct test_rule {
	char *glob;
	char *where;		/* "memray.yml:7:5" */
	struct limits lim;
};

/* the figures a baseline rule may judge (baseline.h says which are deterministic) */
enum increase_figure { INCREASE_PEAK, INCREASE_ALLOCATIONS, INCREASE_ALLOCATED, INCREASE_FIGURES };

/* "peak", "allocations", "allocated": the names in the manifest and on the command line */
extern const char *const increase_names[INCREASE_FIGURES];

struct increase {
	int is_set;		/* this figure is judged */
	int is_percent;
	double percent;
	uint64_t bytes;
};

struct manifest {
	struct limits run, defaults;
	struct test_rule *tests;
	size_t ntests, tests_alloc;
	struct suppress_list sup;	/* the user's; the built-ins are added later */
	int builtin_suppressions;
	int reachable_leaks;	/* every block live at exit leaks, not only the lost ones */
	char *baseline;
	struct increase max_increase[INCREASE_FIGURES];	/* by enum increase_figure */
};

#define MANIFEST_INIT { .builtin_suppressions = 1, .max_increase = { [INCREASE_PEAK] = { 1, 1, 10.0, 0 } } }

/* 0, or -1 after one error line naming path, line and column */
int manifest_load(struct manifest *m, const char *path);
/* the same from a buffer; name is the file name for messages */
int manifest_parse(struct manifest *m, const char *buf, size_t len, const char *name);
void manifest_release(struct manifest *m);

/* set one limit (from names its origin; copied): 0, or -1 when out of memory */
int limits_set(struct limits *l, enum limit_kind k, uint64_t value, const char *from);
void limits_release(struct limits *l);

/*
 * "10%", "+10%", "+5MiB", "5MiB" (for allocations, "+5" is five
 * allocations): 0 with out set (is_set too), or -1 with *why set
 */
int increase_parse(const char *s, struct increase *out, const char **why);

/*
 * The limits of test id: the defaults, overridden key by key by the
 * first test rule whose glob matches. Borrowed from m into *out (no copy);
 * do not release *out.
 */
void manifest_limits_for(const struct manifest *m, const char *id, struct limits *out);

#endif
