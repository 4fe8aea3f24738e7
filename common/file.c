/*
 * common/file: see file.h.
 */
#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/strbuf.h"

int file_read(struct strbuf *sb, const char *path, const char *what)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), ret = 0;
	struct stat st;

	if (fd < 0)
		return error_errno("cannot open %s '%s'", what, path);
	if (fstat(fd, &st) < 0)
		ret = error_errno("cannot read %s '%s'", what, path);
	else if (!S_ISREG(st.st_mode))
		ret = error("%s '%s' is not a regular file (a FIFO, socket or device)", what, path);
	else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 || strbuf_read_fd(sb, fd) < 0)
		ret = error_errno("cannot read %s '%s'", what, path);
	close(fd);
	return ret;
}

int file_create(const char *path, int force, const char *what)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK | (force ? O_TRUNC : O_EXCL), 0644);

	if (fd < 0 && errno == EEXIST)
		return error("%s '%s' already exists (use -f to overwrite it)", what, path);
	if (fd < 0 && errno == ENXIO)
		return error("%s '%s' is not a regular file (a FIFO, socket or device)", what, path);
	if (fd < 0)
		return error_errno("cannot create %s '%s'", what, path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		close(fd);
		return error("%s '%s' is not a regular file (a FIFO, socket or device)", what, path);
	}
	return fd;
}

int file_refuse_irregular(const char *path, const char *what)
{
	struct stat st;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return error("cannot write %s file '%s': not a regular file", what, path);
	return 0;
}
