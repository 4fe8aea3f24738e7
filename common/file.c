/*
 * common/file: see file.h.
 */
#include "common/file.h"

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
