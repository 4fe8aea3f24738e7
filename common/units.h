/*
 * common/units: sizes for people. Binary units throughout (KiB = 1024 B),
 * three decimals, as "3.906MiB"; a bare byte count below 1 KiB ("512B").
 */
#ifndef COMMON_UNITS_H
#define COMMON_UNITS_H

#include <stddef.h>
#include <stdint.h>

#define UNITS_BUF 32

/* format n into buf (UNITS_BUF bytes) and return buf */
const char *units_human(char *buf, uint64_t n);

/*
 * a + b, or UINT64_MAX where the sum would wrap: figures added up over
 * many processes or stacks of a crafted capture stay the largest
 * number, never a small wrong one.
 */
static inline uint64_t units_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/*
 * Parse a size as people write it, by pytest-memray's rule so that suites
 * ported from it mean the same: a number (decimals allowed) and an
 * optional unit, with or without a space. KB MB GB TB, KiB MiB GiB TiB and
 * bare K M G T are all powers of 1024 ("24 MB" is 25165824 bytes); there
 * are no decimal units. B or nothing is bytes. Case does not matter ("mb"
 * is MB: memory is never in bits). Only plain decimal numbers (no hex, no
 * exponent). Returns 0 with *out in bytes (rounded down), or -1 with *why
 * set to a static description of what is wrong.
 */
int units_parse(const char *s, uint64_t *out, const char **why);

#endif
