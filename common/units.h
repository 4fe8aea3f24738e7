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

#endif
