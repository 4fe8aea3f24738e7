/*
 * cli/cmd_window: `memray window CAPTURE`, hidden (not in `memray
 * --help`): the last test window of a capture as JSON, for memray check's
 * pytest plugin.
 *
 * The plugin judges a mark in-process from the tracker's counters
 * (tracker/window.c), which have figures but no stacks. When a test
 * fails its mark, or carries a limit_leaks filter_fn that must see each
 * leaked allocation's stack, the plugin has the tracker flush
 * (memray_test_flush(), which names this process's capture) and runs
 * this on the capture so far. The capture is then cut short, maybe in
 * the middle of a block: read as any cut-short capture, what it holds is
 * judged; a window still open is closed at the end of what was written
 * (ci/windows.h), so its leaks are what the test holds now. So passing
 * tests without filter_fn cost nothing.
 *
 * Output, one JSON object:
 *   {"name": label, "peak": bytes, "leaked": bytes, "is_unfinished": bool,
 *    "peak_stacks": [STACK...], "leaks": [STACK...]}
 * STACK is {"bytes", "count", "frames": [[function, file, line, is_python]...]}
 * innermost frame first, the C runtime's frames left out (as every
 * report does); "???" and 0 when unknown. Peak stacks most bytes first,
 * at most -n (default 20); every leaked stack (a filter sees them all).
 */
#include <stdio.h>
#include <string.h>

#include "ci/windows.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "common/json.h"
#include "common/strbuf.h"
#include "report/frames.h"

static const char window_usage[] =
	"usage: memray window [-n N] CAPTURE\n"
	"\n"
	"The last test window of CAPTURE (memray_test_begin/end markers) as JSON:\n"
	"its figures, the top N stacks at its peak (default 20) and every leaked\n"
	"stack, with their frames. For memray check's pytest plugin.\n";

static int stacks(struct json *j, struct reading *rd, const struct ci_stack_bytes *st, size_t n)
{
	json_array_begin(j);
	for (size_t i = 0; i < n; i++) {
		const struct sym_frame *f;
		int nf = analysis_stack(&rd->a, rd->sym, st[i].stack, &f);

		if (nf < 0)
			return -1;
		json_object_begin(j);
		json_key(j, "bytes");
		json_uint(j, st[i].bytes);
		json_key(j, "count");
		json_uint(j, st[i].count);
		json_key(j, "frames");
		json_array_begin(j);
		for (int k = 0; k < nf; k++) {
			if (frames_is_hidden(&f[k]))
				continue;
			json_array_begin(j);
			json_string(j, f[k].function);
			json_string(j, f[k].file ? f[k].file : "???");
			json_uint(j, f[k].line);
			json_bool(j, f[k].module && !strcmp(f[k].module, ANALYSIS_PYTHON_MODULE));
			json_array_end(j);
		}
		json_array_end(j);
		json_object_end(j);
	}
	json_array_end(j);
	return 0;
}

int cmd_window(int argc, char **argv)
{
	struct ci_windows ws = CI_WINDOWS_INIT;
	struct analysis_observer obs;
	struct analysis_options ao = { .observers = &obs, .nobservers = 1 };
	size_t limit = 20;
	struct opt opts[] = {
		OPT_COUNT('n', "num-stacks", &limit),
		OPT_END(),
	};
	const char *path;
	struct reading rd;
	struct strbuf out = STRBUF_INIT;
	struct json j;
	const struct ci_window *w;
	int n, ret;

	n = options_parse(argc, argv, "window", window_usage, opts, 0);
	if (n < 0)
		return n == OPTIONS_HELP ? 0 : EXIT_USAGE;
	ci_windows_observer(&ws, &obs);
	if ((ret = reading_path("window", n, argv, &path)) || (ret = reading_open(&rd, "window", path, 1, &ao))) {
		ci_windows_release(&ws);
		return ret;
	}
	if (!ws.n) {
		error("window: %s: no test window in the capture", path);
		ret = EXIT_CAPTURE_ERROR;
		goto out;
	}
	w = &ws.w[ws.n - 1];
	json_init(&j, &out, 0);
	json_object_begin(&j);
	json_key(&j, "name");
	json_string(&j, w->name);
	json_key(&j, "peak");
	json_uint(&j, w->peak);
	json_key(&j, "leaked");
	json_uint(&j, w->leaked);
	json_key(&j, "is_unfinished");
	json_bool(&j, w->is_unfinished);
	json_key(&j, "peak_stacks");
	ret = stacks(&j, &rd, w->at_peak, w->nat_peak < limit ? w->nat_peak : limit);
	json_key(&j, "leaks");
	if (!ret)
		ret = stacks(&j, &rd, w->leaks, w->nleaks);
	json_object_end(&j);
	if (json_finish(&j) < 0 || ret < 0 || strbuf_addch(&out, '\n') < 0) {
		error("window: out of memory");
		ret = EXIT_CAPTURE_ERROR;
		goto out;
	}
	ret = output_write_or_stdout("window", NULL, 0, &out);
out:
	strbuf_release(&out);
	reading_close(&rd);
	ci_windows_release(&ws);
	return ret;
}
