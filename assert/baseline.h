/*
 * assert/baseline: the figures of an earlier run, kept in a JSON file so a
 * later run can be compared with them (`--baseline`) and rewritten by
 * `--update-baseline`.
 *
 *   {
 *     "format": "memray-baseline",
 *     "version": 2,
 *     "tests": [
 *       { "id": "tests/test_a.py::test_big", "peak": 31457280, "leaked": 0,
 *         "allocations": 12, "allocated": 31457400,
 *         "stacks": [ { "location": "f:file.c:12", "bytes": 31457280, "count": 1 } ] }
 *     ]
 *   }
 *
 * The whole run is the entry "(whole run)". "stacks" are the locations
 * behind the peak (the CI_TOP_STACKS biggest), so a regression can name
 * what grew. Version 2 added "allocated" (bytes allocated in all) and each
 * stack's "count" (allocations live at the peak); a version 1 file has
 * neither and still reads (a rule on allocated bytes then has nothing to
 * compare with and is not judged); a memray that reads only version 1
 * refuses a version 2 file by its version.
 *
 * Which figures are deterministic: a deterministic program makes the same
 * allocations on every run, so "allocations" and "allocated" repeat
 * exactly; "peak" and "leaked" do too unless threads race, which moves the
 * moment of the peak. Read with libyaml
 * (JSON is YAML's flow style), so every mistake is "FILE:LINE:COLUMN:
 * what"; a file of another format is refused by its missing "format".
 *
 * Ownership: a baseline owns its entries and strings; baseline_release()
 * frees them.
 */
#ifndef ASSERT_BASELINE_H
#define ASSERT_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "ci/collect.h"
#include "common/hashidx.h"

struct baseline_stack {
	char *location;
	uint64_t bytes, count;	/* count: 0 in a version 1 file */
};

struct baseline_entry {
	char *id;
	uint64_t peak, leaked, allocations, allocated;
	int has_allocated;	/* version 2 on */
	struct baseline_stack *stacks;
	size_t nstacks, stacks_alloc;
};

struct baseline {
	struct baseline_entry *e;
	size_t n, alloc;
	struct hashidx ix;	/* positions in e by id, so that finding is O(1) */
};

/* 0, or -1 after one error line naming the file (and line and column) */
int baseline_load(struct baseline *b, const char *path);
int baseline_parse(struct baseline *b, const char *buf, size_t len, const char *name);
void baseline_release(struct baseline *b);
/*
 * The entry of id (the first, if the file names it twice), or NULL. Through
 * an index baseline_parse() builds: rules look up every test, and a scan
 * per test was quadratic in the size of the suite.
 */
const struct baseline_entry *baseline_find(const struct baseline *b, const char *id);

/* write res's figures to path (replaced whole): 0, or -1 after an error */
int baseline_save(const char *path, const struct ci_results *res);

#endif
