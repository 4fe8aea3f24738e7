/*
 * cli/cmd_diff: `memray diff BASE HEAD`, two captures compared stack by
 * stack (report/diff), as text, JSON or Markdown; and the opening of two
 * captures that `flamegraph --diff` and `table --diff` share with it.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "ci/collect.h"
#include "common/strbuf.h"
#include "report/diffreport.h"

static const char diff_usage[] =
	"usage: memray diff [-h] [--match frames|function] [-s FIGURE] [-r N] [--json | --markdown]\n"
	"                   [-o FILE] [-f] [--partial] BASE HEAD\n"
	"\n"
	"BASE and HEAD are two captures, or two directories of captures that\n"
	"'memray check --keep-captures DIR' kept: then every process's stacks count,\n"
	"the totals are the runs' (the peak is the job's), and the tests of both runs\n"
	"(pytest, memray_test_begin) are compared by id too.\n"
	"\n"
	"Compare two captures, BASE (before a change) and HEAD (after it), stack by\n"
	"stack: for each stack and each location (the innermost frame outside the\n"
	"C and C++ runtime), the change in bytes live at the peak, bytes leaked,\n"
	"bytes allocated and allocation count. A change is HEAD minus BASE.\n"
	"\n"
	"Stacks are matched by their symbolized frames, not by address, so two\n"
	"builds of the same code match; runtime frames are left out, as in every\n"
	"report. Allocated bytes and allocation counts are deterministic for a\n"
	"deterministic program; the peak and leaks of a multi-threaded one may\n"
	"move with the scheduling.\n"
	"\n"
	"options:\n"
	"  --match frames|function  match frames by function, file and line (frames,\n"
	"                        the default) or by function name only, so a moved\n"
	"                        line or a renamed file still matches\n"
	"  -s, --sort FIGURE     order by the change in peak (default), leaked,\n"
	"                        allocated or allocations, largest change first\n"
	"  -r, --max-rows N      stacks and locations to show (default 10; 0: all);\n"
	"                        --json lists every one that changed\n"
	"  --json                JSON instead of text\n"
	"  --markdown            Markdown for a pull-request comment (stays under\n"
	"                        GitHub's 65,536-character limit)\n"
	"  -o, --output FILE     write to FILE instead of stdout\n"
	"  -f, --force           overwrite FILE if it exists\n"
	"  --partial             report what comes before damage in a capture\n"
	"\n"
	"exit status: 0 success, 1 unreadable or damaged capture, or output not\n"
	"written; 2 usage error.\n";

int diff_match_arg(const struct opt *o, const char *v, const char *cmd)
{
	if (!strcmp(v, "frames"))
		*(enum diff_match *)o->value = DIFF_MATCH_FRAMES;
	else if (!strcmp(v, "function"))
		*(enum diff_match *)o->value = DIFF_MATCH_FUNCTION;
	else
		return error("%s: --match takes frames or function, not '%s'", cmd, v);
	return 0;
}

static int sort_arg(const struct opt *o, const char *v, const char *cmd)
{
	for (int f = 0; f < DIFF_NFIGURES; f++) {
		if (!strcmp(v, diff_figure_names[f])) {
			*(enum diff_figure *)o->value = (enum diff_figure)f;
			return 0;
		}
	}
	return error("%s: --sort takes peak, leaked, allocated or allocations, not '%s'", cmd, v);
}

struct fold {
	struct diff *d;
	enum diff_side side;
};

static int fold_capture(void *ctx, struct analysis *a, struct symbolizer *sym)
{
	struct fold *f = ctx;

	return diff_add(f->d, f->side, a, sym) < 0 ? error("diff: out of memory") : 0;
}

/*
 * One side from a directory `memray check --keep-captures` kept: every
 * capture's stacks (read once, by ci_collect), the run's own totals
 * (the job's peak, not a sum of peaks) and each test's figures.
 */
static int open_run(struct diff_inputs *in, enum diff_side side, const char *dir, int partial)
{
	struct fold f = { &in->d, side };
	struct ci_each each = { fold_capture, &f, NULL };
	struct ci_results res;
	int ret = 0;

	if (!(in->side[side].sym = each.sym = symbolizer_new()))
		return error("diff: out of memory");
	if (ci_collect_each(dir, NULL, partial ? CI_PARTIAL : 0, NULL, &each, &res) < 0) {
		ci_results_release(&res);
		return -1;
	}
	if (!res.captures)
		ret = error("%s: no capture of memray check in this directory (memray-check.bin*)", dir);
	in->d.total[side][DIFF_PEAK] = res.whole.peak;
	in->d.total[side][DIFF_LEAKED] = res.whole.leaked;
	in->d.total[side][DIFF_ALLOCATED] = res.whole.bytes;
	in->d.total[side][DIFF_ALLOCATIONS] = res.whole.allocations;
	for (size_t i = 0; i < res.ntests && !ret; i++) {
		const struct ci_subject *t = &res.tests[i];
		uint64_t v[DIFF_NFIGURES] = { [DIFF_PEAK] = t->peak, [DIFF_LEAKED] = t->leaked,
					      [DIFF_ALLOCATED] = t->bytes, [DIFF_ALLOCATIONS] = t->allocations };

		if (diff_add_test(&in->d, side, t->id, v) < 0)
			ret = error("diff: out of memory");
	}
	ci_results_release(&res);
	return ret;
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int diff_open(struct diff_inputs *in, const char *cmd, int n, char **args, enum diff_match match, int partial)
{
	int ret;

	memset(in, 0, sizeof(*in));
	in->d.match = match;
	if (n != 2) {
		error("%s: two captures are needed, BASE and HEAD (see 'memray %s --help')", cmd, cmd);
		return EXIT_USAGE;
	}
	in->base_path = args[0];
	in->head_path = args[1];
	if (is_dir(in->base_path) != is_dir(in->head_path)) {
		error("%s: '%s' and '%s': give two captures or two directories kept by memray check "
		      "--keep-captures, not one of each", cmd, in->base_path, in->head_path);
		return EXIT_USAGE;
	}
	if (is_dir(in->head_path)) {
		in->is_open = 1;
		/* the head first: rows show the head's frames */
		if (open_run(in, DIFF_HEAD, in->head_path, partial) < 0 ||
		    open_run(in, DIFF_BASE, in->base_path, partial) < 0) {
			diff_close(in);
			return EXIT_CAPTURE_ERROR;
		}
		return 0;
	}
	if ((ret = reading_open(&in->side[DIFF_HEAD], cmd, in->head_path, partial, NULL)))
		return ret;
	if ((ret = reading_open(&in->side[DIFF_BASE], cmd, in->base_path, partial, NULL))) {
		reading_close(&in->side[DIFF_HEAD]);
		return ret;
	}
	in->is_open = 1;
	/* the head first: rows show the head's frames */
	if (diff_add(&in->d, DIFF_HEAD, &in->side[DIFF_HEAD].a, in->side[DIFF_HEAD].sym) < 0 ||
	    diff_add(&in->d, DIFF_BASE, &in->side[DIFF_BASE].a, in->side[DIFF_BASE].sym) < 0) {
		error("%s: out of memory", cmd);
		diff_close(in);
		return EXIT_CAPTURE_ERROR;
	}
	return 0;
}

void diff_close(struct diff_inputs *in)
{
	diff_release(&in->d);
	if (in->is_open) {
		reading_close(&in->side[DIFF_BASE]);
		reading_close(&in->side[DIFF_HEAD]);
	}
	memset(in, 0, sizeof(*in));
}

int cmd_diff(int argc, char **argv)
{
	const char *output = NULL;
	int force = 0, partial = 0, json = 0, markdown = 0, ret, n;
	enum diff_match match = DIFF_MATCH_FRAMES;
	struct diff_report_options ro = { .sort = DIFF_PEAK, .max_rows = 10 };
	struct opt opts[] = {
		OPT_CALLBACK(0, "match", &match, diff_match_arg),
		OPT_CALLBACK('s', "sort", &ro.sort, sort_arg),
		OPT_COUNT('r', "max-rows", &ro.max_rows),
		OPT_FLAG(0, "json", &json),
		OPT_FLAG(0, "markdown", &markdown),
		OPT_STRING('o', "output", &output),
		OPT_FLAG('f', "force", &force),
		OPT_FLAG(0, "partial", &partial),
		OPT_END(),
	};
	struct strbuf out = STRBUF_INIT;
	struct diff_inputs in;

	n = options_parse(argc, argv, "diff", diff_usage, opts, 0);
	if (n < 0)
		return n == OPTIONS_HELP ? 0 : EXIT_USAGE;
	if (json && markdown) {
		error("diff: --json and --markdown exclude each other");
		return EXIT_USAGE;
	}
	if ((ret = diff_open(&in, "diff", n, argv, match, partial)))
		return ret;
	ro.base_name = in.base_path;
	ro.head_name = in.head_path;
	if ((json ? diff_report_json : markdown ? diff_report_markdown : diff_report_text)(&out, &in.d, &ro) < 0) {
		error("diff: out of memory");
		ret = EXIT_CAPTURE_ERROR;
	} else {
		ret = output_write_or_stdout("diff", output, force, &out);
	}
	strbuf_release(&out);
	diff_close(&in);
	return ret;
}
