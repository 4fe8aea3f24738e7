/*
 * fuzz_capture: libFuzzer target for the capture reader and the analysis
 * pass every report runs. Any byte sequence must end in a status (OK,
 * INCOMPLETE or DAMAGED), never a crash, a leak or undefined behaviour
 * (built with ASan and UBSan). `make fuzz` runs it from seeds that real
 * `memray run` captures make; FUZZ_SECONDS sets how long.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/reader.h"
#include "report/analysis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	capture_reader_free(r);
	return 0;
}
