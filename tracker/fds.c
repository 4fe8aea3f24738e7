/*
 * tracker/fds: the descriptors the tracker keeps open in the program (the
 * capture, /proc/self/statm), kept out of its way.
 *
 * The program owns its descriptor table. It may close every descriptor
 * it did not open (daemons, sandboxes, close_range), open its own files
 * on the numbers that frees, dup2() over any number, or run with a tiny
 * RLIMIT_NOFILE and count on 3, 4, ... being free. Two rules follow.
 *
 * RULE 1: out of the way. A descriptor of ours is moved high at once
 * (F_DUPFD_CLOEXEC at min(soft limit, 1024) - 16: lowest numbers stay the
 * program's, yet under FD_SETSIZE, and without growing the kernel's table
 * to a million entries for a huge limit). Under a soft limit too small to
 * leave room (< 64), it goes above the limit: the soft limit is raised to
 * the hard one for the one dup and put back (a descriptor above the limit
 * stays valid); only when the hard limit forbids that does it take the
 * highest free number below the limit.
 *
 * RULE 2: never use a descriptor the tracker does not own. Its device and
 * inode are recorded when it is adopted and checked before each use. If
 * the number now holds something else, or nothing, it is the program's:
 * left alone (not closed, not written), and the file is opened again by
 * path (the capture must be the very same file, checked by inode); if
 * that fails, tracking stops with one line. The check and the write are
 * two system calls: a program that replaces our number between them (it
 * would have to aim at a high number it did not open) still wins the race;
 * the check narrows it to microseconds, rule 1 makes it unlikely.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "capture/header.h"
#include "tracker/internal.h"

#define HIGH_TOP 1024	/* where our descriptors go, below this */
#define HIGH_ROOM 16	/* how far below */
#define TINY_LIMIT 64	/* a soft limit below this leaves the program no room for ours */

/* the highest free number below the limit, or -1 */
static int dup_highest(int fd, int limit)
{
	for (int want = limit - 1; want > fd; want--) {
		int moved = fcntl(fd, F_DUPFD_CLOEXEC, want);

		if (moved >= 0)
			return moved;
	}
	return -1;
}

/* fd moved high (RULE 1): the new number (fd closed), or fd itself */
static int place_high(int fd)
{
	struct rlimit rl;
	int moved = -1;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return fd;
	if (rl.rlim_cur >= TINY_LIMIT) {
		rlim_t top = rl.rlim_cur < HIGH_TOP ? rl.rlim_cur : HIGH_TOP;

		moved = fcntl(fd, F_DUPFD_CLOEXEC, (int)(top - HIGH_ROOM));
	} else {
		struct rlimit raised = { rl.rlim_max < HIGH_TOP ? rl.rlim_max : HIGH_TOP, rl.rlim_max };

		if (raised.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &raised) == 0) {
			rlim_t at = raised.rlim_cur - rl.rlim_cur > HIGH_ROOM ? raised.rlim_cur - HIGH_ROOM : rl.rlim_cur;

			moved = fcntl(fd, F_DUPFD_CLOEXEC, (int)at);
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (moved < 0)
			moved = dup_highest(fd, (int)rl.rlim_cur);
	}
	if (moved < 0 || moved < fd) {
		if (moved >= 0)
			close(moved);
		return fd;
	}
	close(fd);
	return moved;
}

int tracker_fd_adopt(struct tracker_fd *o, int fd)
{
	struct stat st;

	o->fd = -1;
	if (fd < 0)
		return -1;
	fd = place_high(fd);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	o->fd = fd;
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	return fd;
}

/* is o->fd still the file we adopted? */
static int is_ours(const struct tracker_fd *o)
{
	struct stat st;

	return o->fd >= 0 && fstat(o->fd, &st) == 0 && st.st_dev == o->dev && st.st_ino == o->ino;
}

int tracker_fd_get(struct tracker_fd *o, const char *path, int flags, int same_file)
{
	struct stat st;
	int fd;

	if (is_ours(o))
		return o->fd;
	o->fd = -1;	/* the number is the program's now (RULE 2): never closed by us */
	if (!o->ino)
		return -1;	/* never adopted */
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || (same_file && (st.st_dev != o->dev || st.st_ino != o->ino))) {
		close(fd);	/* another file at that path: not ours to write */
		return -1;
	}
	fd = place_high(fd);
	o->fd = fd;
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	return fd;
}

void tracker_fd_close(struct tracker_fd *o)
{
	if (is_ours(o))
		close(o->fd);
	o->fd = -1;
}

/*
 * Tracking stopped early: say so in the capture itself (CAPTURE_F_STOPPED
 * in its header), so that no reader takes what it holds for the whole
 * run, and `memray check` does not pass a run it measured in part. The
 * header is rewritten in place, which a full disk or a file size limit
 * still allows. A new descriptor without O_APPEND (with it, Linux would
 * append pwrite's bytes), checked to be our capture (RULE 2). Best effort.
 */
void tracker_mark_stopped(void)
{
	struct stat st;
	int fd;

	if (!tracker_cfg.capture.ino || !tracker_cfg.output[0])
		return;
	fd = open(tracker_cfg.output, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && st.st_dev == tracker_cfg.capture.dev && st.st_ino == tracker_cfg.capture.ino)
		capture_header_add_flags(fd, CAPTURE_F_STOPPED);
	close(fd);
}
