#include "common/units.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

int units_parse(const char *s, uint64_t *out, const char **why)
{
	static const struct {
		const char *name;
		double factor;
	} units[] = {
		{ "", 1 }, { "B", 1 },
		{ "K", 1024.0 }, { "KiB", 1024.0 }, { "KB", 1024.0 },
		{ "M", 1048576.0 }, { "MiB", 1048576.0 }, { "MB", 1048576.0 },
		{ "G", 1073741824.0 }, { "GiB", 1073741824.0 }, { "GB", 1073741824.0 },
		{ "T", 1099511627776.0 }, { "TiB", 1099511627776.0 }, { "TB", 1099511627776.0 },
	};
	const char *p = s;
	char *end;
	double v;

	while (isspace((unsigned char)*p))
		p++;
	if (!isdigit((unsigned char)*p) && *p != '.') {
		*why = "a size starts with a number";
		return -1;
	}
	v = strtod(p, &end);
	/* plain decimal only: strtod also takes hex and exponents */
	if (end == p || !isfinite(v) || strspn(p, "0123456789.") != (size_t)(end - p)) {
		*why = "a size starts with a number";
		return -1;
	}
	while (isspace((unsigned char)*end))
		end++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t len = strlen(units[i].name);
		const char *rest = end + len;

		if (strncasecmp(end, units[i].name, len))
			continue;
		while (isspace((unsigned char)*rest))
			rest++;
		if (*rest)
			continue;
		if (v * units[i].factor >= 18446744073709551615.0) {
			*why = "size is too large";
			return -1;
		}
		*out = (uint64_t)(v * units[i].factor);
		return 0;
	}
	*why = "unknown unit (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB: all powers of 1024)";
	return -1;
}
