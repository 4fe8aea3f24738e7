/*
 * fuzz_capture: libFuzzer target for the capture reader and the analysis
 * pass every report runs. Any byte sequence must end in a status (OK,
 * INCOMPLETE or DAMAGED), never a crash, a leak or undefined behaviour
 * (built with ASan and UBSan). The same bytes are also fed to a stream
 * reader (`memray live`) in pieces whose size the data picks: it must
 * read the same records and end in the same status as the file reader. `make fuzz` runs it from seeds that real
 * `memray run` captures make; FUZZ_SECONDS sets how long.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/reader.h"
#include "report/analysis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the bytes as a stream, `piece` at a time: its status, and its record count in *records */
static enum capture_status as_stream(const uint8_t *data, size_t size, size_t piece, uint64_t *records)
{
	struct capture_reader *r = capture_reader_stream("stream");
	struct analysis a;
	int has_begun = 0, failed = 0;
	enum capture_status status;

	if (!r)
		__builtin_trap();
	for (size_t off = 0; !failed && off < size + piece; off += piece) {
		if (off >= size)
			capture_reader_feed_end(r);
		else if (capture_reader_feed(r, data + off, off + piece < size ? piece : size - off) < 0)
			__builtin_trap();
		if (!has_begun && capture_reader_has_header(r)) {
			if (analysis_begin(&a, r, NULL) < 0)
				__builtin_trap();
			has_begun = 1;
		}
		if (has_begun && analysis_feed(&a, r) < 0)
			failed = 1;	/* as analysis_run() fails on the file */
	}
	if (has_begun && !failed)
		analysis_end(&a, r);
	if (has_begun)
		analysis_release(&a);
	status = capture_reader_status(r);
	if (status != CAPTURE_OK && !capture_reader_problem(r))
		__builtin_trap();
	*records = capture_reader_records(r);
	capture_reader_free(r);
	return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64];
	struct capture_reader *r;
	struct analysis a;

	if (fd < 0) {
		fd = memfd_create("capture", 0);
		if (fd < 0)
			return 0;
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = capture_reader_open(path);
	if (!r)
		return 0;
	if (analysis_run(&a, r, NULL) == 0 && capture_reader_status(r) != CAPTURE_OK &&
	    !capture_reader_problem(r))
		__builtin_trap();	/* a bad status must say what is wrong */
	analysis_release(&a);
	if (size) {
		uint64_t records;
		enum capture_status status = as_stream(data, size, 1 + data[size - 1] % 4096, &records);

		if (status != capture_reader_status(r) || records != capture_reader_records(r))
			__builtin_trap();	/* a stream reads as the file does */
	}
	capture_reader_free(r);
	return 0;
}
