/* UTF-8 helpers for text that ends up in JSON. jansson refuses a string that
 * is not valid UTF-8, so a message cut in the middle of a multi-byte sequence
 * by a fixed-size buffer makes the whole frame (reply, error frame, audit
 * entry) unencodable. Every truncating formatter whose output may be
 * JSON-encoded goes through astrid_snprintf_utf8 / astrid_utf8_fix.
 *
 * Ownership: all functions work on caller-owned buffers; nothing allocates.
 */
#ifndef ASTRID_UTF8_H
#define ASTRID_UTF8_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Length (1..4) of the valid UTF-8 sequence at `p` (at most `left` bytes
 * readable), or 0 when it is invalid or incomplete. Overlong forms,
 * surrogates and code points above U+10FFFF are invalid. */
size_t astrid_utf8_seq(const char *p, size_t left);

/* True when the `n` bytes at `s` are valid UTF-8. */
bool astrid_utf8_valid(const char *s, size_t n);

/* Make the NUL-terminated `s` valid UTF-8 in place: an incomplete sequence
 * at the very end (what truncation leaves) is dropped, any other invalid
 * byte becomes '?'. Returns `s`. */
char *astrid_utf8_fix(char *s);

/* snprintf/vsnprintf that never leave a cut sequence or an invalid byte in
 * `buf` (astrid_utf8_fix on the result). Returns the length written (not
 * what snprintf would have wanted); 0 when `n` is 0. */
size_t astrid_snprintf_utf8(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
size_t astrid_vsnprintf_utf8(char *buf, size_t n, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#ifdef __cplusplus
}
#endif
#endif
