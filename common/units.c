#include "common/units.h"

#include <stdio.h>

const char *units_human(char *buf, uint64_t n)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)n;
	int i = -1;

	if (n < 1024) {
		snprintf(buf, UNITS_BUF, "%lluB", (unsigned long long)n);
		return buf;
	}
	while (v >= 1024.0 && i < 5) {
		v /= 1024.0;
		i++;
	}
	snprintf(buf, UNITS_BUF, "%.3f%s", v, unit[i]);
	return buf;
}
