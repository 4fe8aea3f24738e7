/*
 * capture/header: the file header of format.h, encoded and decoded.
 *
 * Ownership: a decoded header owns its argv (strings and array), freed by
 * capture_header_release(). Encoding borrows argv.
 */
#ifndef CAPTURE_HEADER_H
#define CAPTURE_HEADER_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* why a capture can hold its header and nothing else: what `memray run` and `memray check` say */
#define CAPTURE_UNTRACKED_WHY \
	"a statically linked or setuid program ignores LD_PRELOAD, one built with a sanitizer (ASan) refuses " \
	"to start behind it, and one killed at once never starts the tracker"

struct capture_header {
	unsigned major, minor;
	uint32_t flags;
	uint32_t rss_interval_ms;
	uint32_t pid;
	uint64_t start_ns;
	int argc;
	char **argv;
};

/*
 * Append "v argc, argc x str" for argv[0..argc) to sb, bounded as
 * format.h's COMMAND LINES says (the header and SEGMENT both use it).
 * 0, or -1 when out of memory.
 */
int capture_args_encode(struct strbuf *sb, int argc, const char *const *argv);

/* append the encoded header to sb; 0, or -1 when out of memory */
int capture_header_encode(struct strbuf *sb, const struct capture_header *h);

/*
 * The header's total size as announced by the CAPTURE_HEADER_FIXED bytes
 * at buf, after checking magic and version. Returns the size, or 0 with
 * *why set (a static string) when buf does not start a capture we read.
 */
size_t capture_header_size(const uint8_t *buf, size_t len, const char **why, char *whybuf, size_t whylen);

/*
 * Decode a whole header of `size` bytes (as capture_header_size gave).
 * Returns 0, or -1 with *why set; h is then released already.
 */
int capture_header_decode(const uint8_t *buf, size_t size, struct capture_header *h, const char **why);

void capture_header_release(struct capture_header *h);

/*
 * Add `flags` to the header of the capture open (read and write, not
 * append) on fd: the flags and the checksum are rewritten in place, no
 * byte is added to the file. For the tracker (no malloc: memory from
 * capture/mapmem). 0, or -1 with errno set and the file unchanged.
 */
int capture_header_add_flags(int fd, uint32_t flags);

#endif
