#include "tests/unit/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/fault.h"

int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

double unit_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static FILE *captured;
static int saved_stderr = -1;
static char captured_text[8192];

void unit_stderr_begin(void)
{
	captured = tmpfile();
	ck_assert_ptr_nonnull(captured);
	fflush(stderr);
	setvbuf(stderr, NULL, _IONBF, 0);
	saved_stderr = dup(2);
	dup2(fileno(captured), 2);
}

const char *unit_stderr_end(void)
{
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	saved_stderr = -1;
	rewind(captured);
	n = fread(captured_text, 1, sizeof(captured_text) - 1, captured);
	captured_text[n] = '\0';
	fclose(captured);
	return captured_text;
}

int unit_fault_loop(const struct unit_fault_case *c, int fail_all)
{
	int n;

	for (n = 0;; n++) {
		long live = fault_live_allocs();
		const char *printed;
		int ret, failed;

		unit_stderr_begin();	/* its tmpfile() is not the code under test */
		if (fail_all)
			fault_fail_alloc_after(n);
		else
			fault_fail_one_alloc(n);
		ret = c->run(c->ctx);
		failed = fault_failures() > 0;
		fault_reset();	/* before any ck_assert, which allocates */
		printed = unit_stderr_end();
		if (!ret && c->check)
			c->check(c->ctx);
		c->release(c->ctx);
		ck_assert_msg(fault_live_allocs() == live, "allocation %d failing leaked %ld blocks", n,
			      fault_live_allocs() - live);
		if (!ret && !failed)
			return n;	/* past the last allocation */
		if (!ret)
			continue;	/* the failure was handled, and check found the answer whole */
		ck_assert_msg(ret == -1, "allocation %d failing returned %d", n, ret);
		ck_assert_msg(strstr(printed, "out of memory") && strchr(printed, '\n') == printed + strlen(printed) - 1,
			      "allocation %d failing printed '%s', not one line", n, printed);
	}
}
