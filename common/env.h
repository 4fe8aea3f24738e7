/*
 * common/env: the environment contract between memray's commands and the
 * tracker they preload, spelled once.
 *
 * `memray run` and `memray check` (cli/) create the capture, write its
 * header and exec the program with LD_PRELOAD naming the tracker and these
 * variables set; the tracker (tracker/) reads them in every process it
 * starts in, and puts them back into the environment of an exec when the
 * program dropped them. The values are plain decimal or absolute paths.
 */
#ifndef COMMON_ENV_H
#define COMMON_ENV_H

/*
 * absolute path of the root process's capture; forked children add ".<pid>".
 * Set but empty in the environment of an exec, it asks for that program to
 * run untracked: the tracker neither starts in it nor puts LD_PRELOAD back
 * (the pytest plugin runs memray itself that way).
 */
#define ENV_OUTPUT "MEMRAY_OUTPUT"
/* pid of the root process: a process with another pid is a forked child */
#define ENV_PID "MEMRAY_PID"
/* the capture header's flags (CAPTURE_F_*), decimal */
#define ENV_OPTIONS "MEMRAY_OPTIONS"
/*
 * live mode (`memray run --live`, `--live-remote`): "FD:INODE", a connected
 * stream socket the program inherits, the capture header already written
 * to it. The tracker streams its blocks there instead of to a file, in the
 * root process's first image only: the inode proves the number is still
 * that socket. MEMRAY_OUTPUT is then a label for messages, not a path.
 */
#define ENV_LIVE "MEMRAY_LIVE"
/* absolute path of the tracker library, to keep it in LD_PRELOAD across exec */
#define ENV_TRACKER "MEMRAY_TRACKER"

/*
 * Set by `memray check` alone: the absolute path of the run's folder. The
 * tracker then points Check's XML log (CK_XML_LOG_FILE_NAME) of each
 * process at ENV_CHECK_LOG_NAME<pid>.xml in it, or links that name to the
 * user's own CK_XML_LOG_FILE_NAME, so that ci/checklog can name each
 * forked Check test by its suite and tcase.
 */
#define ENV_CHECK_LOGS "MEMRAY_CHECK_LOGS"
#define ENV_CHECK_LOG_NAME "memray-check-log."

/*
 * The garbage collector (`memray run --collect-garbage[=INTERVAL]`, or set
 * by the user for `memray check`): collect every INTERVAL, a whole number
 * with "ms" or "s" ("500ms", "2s"; no unit: seconds), at least 10 ms;
 * empty: every second. SIGUSR2 collects at once. See env_gc_interval().
 */
#define ENV_GC "MEMRAY_GC"
#define ENV_GC_DEFAULT_MS 1000u
#define ENV_GC_MIN_MS 10u

/*
 * ENV_GC's value in milliseconds, or 0 when it is not an interval. Here,
 * not in common/units, because the tracker reads it too, without the
 * tools' library: no allocation, no locale.
 */
static inline unsigned long env_gc_interval(const char *s)
{
	unsigned long n = 0, ms;

	if (!*s)
		return ENV_GC_DEFAULT_MS;
	if (*s < '0' || *s > '9')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > 86400000ul)
			return 0;	/* more than a day */
		n = n * 10 + (unsigned long)(*s - '0');
	}
	if (s[0] == 'm' && s[1] == 's' && !s[2])
		ms = n;
	else if ((s[0] == 's' && !s[1]) || !s[0])
		ms = n * 1000ul;
	else
		return 0;
	return ms >= ENV_GC_MIN_MS && ms <= 86400000ul ? ms : 0;
}

/* what users may set to steer where memray finds its parts */
#define ENV_TRACKER_LIB "MEMRAY_TRACKER_LIB"	/* the tracker library to preload */
#define ENV_PYTHON "MEMRAY_PYTHON"		/* the interpreter for SCRIPT.py, -m, -c */
#define ENV_PYTHON_DIR "MEMRAY_PYTHON_DIR"	/* where the gate's pytest plugin is */
/* the memray binary: python3 -m memray runs it; under check, check's own (for `memray window`) */
#define ENV_BIN "MEMRAY_BIN"
#define ENV_NO_ANNOTATIONS "MEMRAY_NO_ANNOTATIONS"	/* 1: no ::error lines on GitHub */
/*
 * 1: the tracker checks every stack its fast unwinder gives against a slow,
 * uncached unwind of the same moment and says at exit, on one "memray:"
 * line of fd 2, how many stacks it compared and how many differed
 * (tracker/unwind.c). For tests: it costs microseconds per allocation.
 */
#define ENV_VERIFY_UNWIND "MEMRAY_VERIFY_UNWIND"
/*
 * libunwind: every stack is unwound by libunwind's unw_backtrace(), not by
 * the tracker's own walk first (tracker/walk.h). For comparisons and as a
 * way out; the stacks are the same.
 */
#define ENV_UNWIND "MEMRAY_UNWIND"
/*
 * fast: blocks are compressed with lz4's fast mode only, never its
 * high-compression mode. memray check sets it: its captures are read
 * once and deleted (unless --keep-captures), and the high-compression
 * mode made a forked test that allocates fast wait for its writer at
 * exit (bench: a Check suite of 4 x 500k pairs tracked in 0.43 s with
 * it, 0.31 s without).
 */
#define ENV_COMPRESS "MEMRAY_COMPRESS"

#endif
