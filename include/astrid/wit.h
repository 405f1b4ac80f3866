/* WIT (WebAssembly Interface Types) documents: a parser for the subset
 * Astrid uses (wit/astrid.wit; capsules' records turned into JSON Schema)
 * and the canonical ABI of its types (flattening, sizes, offsets).
 *
 * Supported: `package ns:name@version;`, interfaces, worlds (import /
 * export of interfaces and of functions), `use iface.{a, b as c};`,
 * record, enum, flags, variant (cases with and without payload), type
 * aliases, functions with named parameters and at most one result; types
 * bool, u8..u64, s8..s64, f32, f64, char, string, list<T>, option<T>,
 * result<T, E> / result<_, E> / result<T> / result, tuple<...>. Line and
 * (nested) block comments are skipped; doc comments (`///` lines, or block
 * comments opened by slash-star-star) are kept on the item or field they
 * precede. Anything else (resources, async,
 * annotations, foreign packages, inline interfaces) is refused with an
 * error naming it. Every error is ASTRID_E_PARSE (or ASTRID_E_LIMIT) with
 * "line L, column C: ...".
 *
 * Limits keep hostile input cheap (the parser is fuzzed): input size,
 * identifier length, items per container, type nesting depth (also
 * through named types), so no walk over a parsed document recurses
 * deeper than ASTRID_WIT_MAX_DEPTH.
 *
 * Ownership: astrid_wit_parse returns a package the caller frees with
 * astrid_wit_free; every pointer reachable from it (names, docs, types)
 * is owned by the package and valid until then. Nothing is shared with
 * the input text.
 */
#ifndef ASTRID_WIT_H
#define ASTRID_WIT_H

#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ASTRID_WIT_MAX_INPUT (1u << 20) /* bytes */
#define ASTRID_WIT_MAX_IDENT 128        /* bytes of one identifier */
#define ASTRID_WIT_MAX_ITEMS 4096       /* fields, cases, params, items per container */
#define ASTRID_WIT_MAX_DEPTH 32         /* type nesting, named types included */
#define ASTRID_WIT_MAX_FLAGS 32         /* the canonical ABI's limit */

typedef enum astrid_wit_kind {
    ASTRID_WIT_BOOL,
    ASTRID_WIT_U8,
    ASTRID_WIT_U16,
    ASTRID_WIT_U32,
    ASTRID_WIT_U64,
    ASTRID_WIT_S8,
    ASTRID_WIT_S16,
    ASTRID_WIT_S32,
    ASTRID_WIT_S64,
    ASTRID_WIT_F32,
    ASTRID_WIT_F64,
    ASTRID_WIT_CHAR,
    ASTRID_WIT_STRING,
    ASTRID_WIT_LIST,   /* elem */
    ASTRID_WIT_OPTION, /* elem */
    ASTRID_WIT_RESULT, /* ok, err (either may be NULL) */
    ASTRID_WIT_TUPLE,  /* items */
    ASTRID_WIT_NAMED,  /* def: a record, enum, flags, variant or alias */
} astrid_wit_kind;

typedef enum astrid_wit_def_kind {
    ASTRID_WIT_RECORD,
    ASTRID_WIT_ENUM,
    ASTRID_WIT_FLAGS,
    ASTRID_WIT_VARIANT,
    ASTRID_WIT_ALIAS,
} astrid_wit_def_kind;

typedef struct astrid_wit_type astrid_wit_type;
typedef struct astrid_wit_typedef astrid_wit_typedef;
typedef struct astrid_wit_iface astrid_wit_iface;

struct astrid_wit_type {
    astrid_wit_kind kind;
    const astrid_wit_type *elem;
    const astrid_wit_type *ok, *err;
    const astrid_wit_type *const *items;
    size_t nitems;
    const char *name; /* NAMED: the name as written where it is used */
    const astrid_wit_typedef *def;
    unsigned line, col;
};

/* A record field, variant/enum case or flag, or a function parameter.
 * type: NULL for enum cases, flags and variant cases without payload. */
typedef struct astrid_wit_field {
    const char *name;
    const char *doc; /* NULL when none */
    const astrid_wit_type *type;
    unsigned line, col;
} astrid_wit_field;

struct astrid_wit_typedef {
    astrid_wit_def_kind kind;
    const char *name;
    const char *doc;
    const astrid_wit_field *fields; /* record fields / cases / flags */
    size_t nfields;
    const astrid_wit_type *target; /* ALIAS */
    const char *owner;             /* the interface or world defining it */
    unsigned line, col;
};

typedef struct astrid_wit_func {
    const char *name;
    const char *doc;
    const astrid_wit_field *params;
    size_t nparams;
    const astrid_wit_type *result; /* NULL: none */
    unsigned line, col;
} astrid_wit_func;

/* `use iface.{name as alias}`: def is the resolved definition. */
typedef struct astrid_wit_use {
    const char *iface, *name, *alias; /* alias == name without `as` */
    const astrid_wit_typedef *def;
    unsigned line, col;
} astrid_wit_use;

struct astrid_wit_iface {
    const char *name;
    const char *doc;
    const astrid_wit_typedef *const *types; /* in declaration order */
    size_t ntypes;
    const astrid_wit_use *uses;
    size_t nuses;
    const astrid_wit_func *funcs;
    size_t nfuncs;
    unsigned line, col;
};

/* A world's import or export: an interface of this package (iface) or a
 * function (func). */
typedef struct astrid_wit_world_item {
    int is_export;
    const char *name; /* the interface's or the function's */
    const char *doc;
    const astrid_wit_iface *iface;
    const astrid_wit_func *func;
    unsigned line, col;
} astrid_wit_world_item;

typedef struct astrid_wit_world {
    const char *name;
    const char *doc;
    const astrid_wit_world_item *items;
    size_t nitems;
    const astrid_wit_typedef *const *types;
    size_t ntypes;
    const astrid_wit_use *uses;
    size_t nuses;
    unsigned line, col;
} astrid_wit_world;

typedef struct astrid_wit_package {
    const char *ns, *name, *version; /* NULL when there is no package line */
    const char *doc;
    const astrid_wit_iface *const *ifaces;
    size_t nifaces;
    const astrid_wit_world *const *worlds;
    size_t nworlds;
    void *arena_; /* private */
} astrid_wit_package;

/* Parse `len` bytes of WIT. NULL on error (err set). */
astrid_wit_package *astrid_wit_parse(const char *src, size_t len, astrid_err *err);
void astrid_wit_free(astrid_wit_package *pkg);

/* Lookups by WIT name; NULL when absent. A type is found among an
 * interface's own definitions and its `use`s (by alias). */
const astrid_wit_iface *astrid_wit_find_iface(const astrid_wit_package *pkg, const char *name);
const astrid_wit_world *astrid_wit_find_world(const astrid_wit_package *pkg, const char *name);
const astrid_wit_func *astrid_wit_find_func(const astrid_wit_iface *iface, const char *name);
const astrid_wit_typedef *astrid_wit_find_type(const astrid_wit_iface *iface, const char *name);

/* Follow aliases: the returned type is never a NAMED alias. */
const astrid_wit_type *astrid_wit_unalias(const astrid_wit_type *t);
/* "u32", "list<string>", "identity-ok-response", ... (malloc'd; NULL on
 * allocation failure). */
char *astrid_wit_type_str(const astrid_wit_type *t);

/* ---- canonical ABI (Component Model), as lowered for a core module.
 * Core value types are written as letters: i = i32, I = i64, f = f32,
 * F = f64 (the engine's signature letters). */
#define ASTRID_WIT_MAX_FLAT_PARAMS 16
#define ASTRID_WIT_MAX_FLAT_RESULTS 1
#define ASTRID_WIT_FLAT_CAP 64 /* letters kept by astrid_wit_flatten */

/* Size and alignment in linear memory. */
void astrid_wit_size_align(const astrid_wit_type *t, uint32_t *size, uint32_t *align);
/* The flat core types of `t` into out[0..min(n, cap)) (NUL-terminated when
 * room); returns n, the full count (which may exceed cap). */
size_t astrid_wit_flatten(const astrid_wit_type *t, char *out, size_t cap);
/* Discriminant size (1, 2 or 4) of a variant, enum, option or result,
 * and the offset of the payload after it. */
uint32_t astrid_wit_disc_size(const astrid_wit_type *t);
uint32_t astrid_wit_payload_offset(const astrid_wit_type *t);
/* Offset of field i of a record (or item i of a tuple). */
uint32_t astrid_wit_field_offset(const astrid_wit_type *t, size_t i);

/* The core signature of a function as imported by a guest (the host's
 * view: params with the trailing retptr when results do not flatten to
 * at most one value; more than 16 flat params become one pointer).
 * Writes letters; -1 (ASTRID_E_LIMIT) when a buffer is too small. */
int astrid_wit_func_core_sig(const astrid_wit_func *f, char *params, size_t pcap, char *results,
                             size_t rcap, astrid_err *err);

#ifdef __cplusplus
}
#endif
#endif
