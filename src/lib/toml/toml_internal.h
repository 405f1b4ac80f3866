/* Internal representation shared by the TOML parser, tree and emitter.
 * Not part of the public API. */
#ifndef ASTRID_TOML_INTERNAL_H
#define ASTRID_TOML_INTERNAL_H

#include "astrid/toml.h"

/* Node flags. The parser uses them to enforce TOML's definition rules; the
 * emitter uses INLINE/AOT to reproduce the document's shape. */
enum {
    TF_INLINE = 1u << 0,   /* table written inline, or array of tables ([[x]]) */
    TF_FROZEN = 1u << 1,   /* inline table: nothing may be added after '}' */
    TF_DEFINED = 1u << 2,  /* table created by a [header] */
    TF_IMPLICIT = 1u << 3, /* table created as a header's intermediate part */
    TF_DOTTED = 1u << 4,   /* table created by a dotted key */
    TF_AOT = 1u << 5,      /* array created by [[header]] */
};

typedef struct toml_entry {
    char *key; /* owned, NUL-terminated (may contain NULs; see klen) */
    size_t klen;
    uint32_t hash;
    astrid_toml *val; /* owned */
} toml_entry;

struct astrid_toml {
    astrid_toml_type type;
    unsigned flags;
    union {
        struct {
            toml_entry *ents;
            size_t n, cap;
            uint32_t *index; /* open addressing, slot = entry index + 1; NULL when small */
            size_t icap;
        } tab;
        struct {
            astrid_toml **items;
            size_t n, cap;
        } arr;
        struct {
            char *s; /* points into the same allocation, after the node */
            size_t len;
        } str;
        int64_t i;
        double f;
        bool b;
        astrid_toml_datetime dt;
    } u;
};

uint32_t toml_hash(const char *key, size_t len);
/* Lookup by counted key. */
astrid_toml *toml_table_find(const astrid_toml *t, const char *key, size_t klen);
/* Append a key known to be absent. Takes ownership of `val` (freed on failure). */
int toml_table_append(astrid_toml *t, const char *key, size_t klen, astrid_toml *val);
astrid_toml *toml_new_node(astrid_toml_type type);

/* Datetime scanning, shared by parser and tests: parse a date/time literal at
 * s[0..len). Returns bytes consumed (0 when not a date/time), sets *type, or
 * -1 with *why set when it looks like one but is invalid. */
long toml_scan_datetime(const char *s, size_t len, astrid_toml_type *type, astrid_toml_datetime *dt,
                        const char **why);
/* Format a datetime into buf (>= 64 bytes). Returns length. */
int toml_format_datetime(char *buf, size_t cap, astrid_toml_type type,
                         const astrid_toml_datetime *dt);

/* UTF-8: validate s[0..len). Returns offset of first bad byte or len. */
size_t toml_utf8_check(const char *s, size_t len);

#endif
