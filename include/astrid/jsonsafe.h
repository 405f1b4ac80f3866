/* Decoding JSON with jansson when memory runs out.
 *
 * jansson 2.14's lexer ignores a failed growth of its token buffer
 * (lex_save drops the character; load.c): a dropped character silently
 * alters a string value ("load-10" can decode as "load-1"), a dropped
 * closing quote makes the second pass run past the buffer, reading and
 * writing, until it asserts. The fault sweep found it (docs/testing.md
 * "Fault injection"). So an allocation jansson makes while decoding must
 * never return NULL to it:
 *
 * astrid_json_install_alloc() gives jansson (process-wide: jansson's
 * allocator is global by its design) an allocator over `base` (malloc in
 * the programs) that, inside astrid_json_loadb() on the same thread, jumps
 * back out of the decoder when `base` fails. astrid_json_loadb() then
 * returns NULL with je->text "out of memory"; what the decoder held is
 * leaked (bounded by the input, and only when memory is already short).
 * Outside a guarded decode the allocator returns NULL as malloc does, so
 * building values keeps its own error paths.
 *
 * Encoding has the same flaw: json_dumps ignores a failed append of an
 * object's key (dump.c, dump_object), so under memory pressure it returns
 * text with a key missing (`"a":1,:2`) instead of NULL — the sweep found an
 * audit entry signed so. astrid_json_dumps() is json_dumps() under the same
 * guard: the whole text or NULL.
 *
 * astrid_json_load_file() is json_load_file() under the same guard: the
 * file is read whole first (jansson's own reader holds a FILE * a jump
 * would leak), at most ASTRID_JSON_FILE_MAX bytes; a file that cannot be
 * read gives NULL with je->text saying why ("open PATH: No such file or
 * directory", "... over the 16777216-byte limit").
 *
 * json_dumpb() needs no guard (its buffer callback never allocates, so no
 * key is dropped) but fails, returning 0, when its loop check cannot
 * allocate: a caller that sizes with one call and fills with a second
 * must check the second too (astrid_frame_encode).
 *
 * Without astrid_json_install_alloc() these are json_loadb(),
 * json_dumps() and json_load_file(). Ownership as theirs: the caller
 * decrefs the returned value, frees the returned text. */
#ifndef ASTRID_JSONSAFE_H
#define ASTRID_JSONSAFE_H

#include <jansson.h>
#include <stddef.h>

void astrid_json_install_alloc(void *(*base)(size_t));
json_t *astrid_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *je);
char *astrid_json_dumps(const json_t *v, size_t flags);

#define ASTRID_JSON_FILE_MAX (16u << 20)
json_t *astrid_json_load_file(const char *path, size_t flags, json_error_t *je);

#endif
