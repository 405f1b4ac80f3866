/* Human quota specs: SIZE ("32M", "1.5GiB") and DURATION ("2h30m"). Pure. */
#ifndef ASTRID_QUOTA_H
#define ASTRID_QUOTA_H
#include <stddef.h>
#include <stdint.h>
#include "astrid/err.h"
#ifdef __cplusplus
extern "C" {
#endif
/* SIZE: a number (integer or decimal) and an optional case-insensitive unit:
 * B; K/KB, M/MB, G/GB, T/TB (powers of 1000); KiB, MiB, GiB, TiB (powers of
 * 1024). Whitespace between number and unit is allowed. Fractional bytes and
 * overflow of u64 are rejected. Errors (ASTRID_E_INVALID) quote the input. */
int astrid_size_parse(const char *s, uint64_t *out, astrid_err *err);
/* Exact human form: "0 B", "32 MB", "64 MiB", "1.5 GB", "1234567 B".
 * Always parses back to the same value. Returns 0, or -1 if `n` is too small. */
int astrid_size_format(uint64_t bytes, char *buf, size_t n);

/* DURATION: one or more <integer><unit> with units ms, s, m, h, d ("500ms",
 * "2h30m"); a bare integer is seconds. Result in milliseconds. */
int astrid_duration_parse(const char *s, uint64_t *ms_out, astrid_err *err);
/* "500ms", "30s", "2h30m", "1d2h", "1s500ms", "0s". */
int astrid_duration_format(uint64_t ms, char *buf, size_t n);
#ifdef __cplusplus
}
#endif
#endif
