/*
 * assert/baseline: the figures of an earlier run, kept in a JSON file so a
 * later run can be compared with them (`--baseline`) and rewritten by
 * `--update-baseline`.
 *
 *   {
 *     "format": "memray-baseline",
 *     "version": 1,
 *     "tests": [
 *       { "id": "tests/test_a.py::test_big", "peak": 31457280, "leaked": 0,
 *         "allocations": 12,
 *         "stacks": [ { "location": "f:file.c:12", "bytes": 31457280 } ] }
 *     ]
 *   }
 *
 * The whole run is the entry "(whole run)". "stacks" are the locations
 * behind the peak, so a regression can name what grew. Read with libyaml
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
	uint64_t bytes;
};

struct baseline_entry {
	char *id;
	uint64_t peak, leaked, allocations;
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
