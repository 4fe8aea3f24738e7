/*
 * common/file: reading the small files the tools are given by name
 * (memray.yml, a baseline), and creating the ones they write as they go
 * (a live capture, a program's output), safely.
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

/*
 * Create the regular file path for writing (refused if it exists, unless
 * `force`: then emptied). A FIFO, socket or device is refused, never
 * waited on. The fd (close-on-exec), or -1 after one error line naming
 * `what` ("capture file") and path.
 */
int file_create(const char *path, int force, const char *what);

/*
 * Before a report is written to path with fopen: refuse a path that
 * exists and is not a regular file (opening a FIFO would block until a
 * reader came, and the command would hang). 0, or -1 after one error line
 * naming `what` ("JUnit") and path.
 */
int file_refuse_irregular(const char *path, const char *what);

#endif
