/*
 * common/file: reading the small files the tools are given by name
 * (memray.yml, a baseline), safely.
 *
 * A name may point at anything: a FIFO, a socket, a device. Opening a FIFO
 * for reading blocks until a writer comes, which would hang the command.
 * So the file is opened O_NONBLOCK, looked at with fstat, and read only if
 * it is a regular file.
 */
#ifndef COMMON_FILE_H
#define COMMON_FILE_H

struct strbuf;

/*
 * Append the whole regular file at path to sb: 0, or -1 after one error
 * line naming `what` ("manifest") and path.
 */
int file_read(struct strbuf *sb, const char *path, const char *what);

#endif
