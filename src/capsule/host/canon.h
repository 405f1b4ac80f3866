/* The runtime of the generated host glue ($(BUILD)/gen/host_glue.c, made
 * by astrid-witgen from wit/astrid.wit; docs/abi.md "Generated glue").
 *
 * The generator describes every WIT type twice: its canonical-ABI layout
 * in guest memory (size, alignment, offsets, flat core types, all
 * computed by src/lib/wit) and the C type the hand-written host function
 * sees (offsetof/sizeof). This file moves values between the two:
 * lifting arguments out of guest memory (bounds-checked, copied, strings
 * UTF-8-checked) and lowering results into it (allocated with the guest's
 * cabi_realloc).
 *
 * C representation of WIT types:
 *   bool, u8..u64, s8..s64, f32, f64  bool, uint8_t..uint64_t, int8_t..int64_t, float, double
 *   char                     uint32_t (a Unicode scalar value)
 *   string                   astrid_str {char *ptr; size_t len;}  (lifted: NUL-terminated)
 *   list<u8>                 astrid_bytes {uint8_t *ptr; size_t len;}
 *   list<T>                  struct {T *v; size_t n;}
 *   option<T>                struct {bool has; T val;}
 *   result<T, E>             struct {bool is_err; T ok; E err;}  (absent members left out)
 *   tuple<A, B>              struct {A f0; B f1;}
 *   record                   struct with the fields (kebab-case -> snake_case)
 *   enum                     a C enum (WIT_<TYPE>_<CASE>)
 *   flags                    uint32_t (WIT_<TYPE>_<FLAG> bits)
 *   variant                  struct {uint32_t tag; union {...} u;}
 *
 * Ownership: lifted arguments belong to the call (freed by the glue when
 * the host function returns: borrow them, copy what must outlive the
 * call). Out values start zeroed; everything they hold when the host
 * function returns (success or failure) must be malloc'd and is freed by
 * the glue after lowering.
 */
#ifndef ASTRID_CAPSULE_HOST_CANON_H
#define ASTRID_CAPSULE_HOST_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "capsule/host/host.h"

typedef struct astrid_str {
    char *ptr;
    size_t len;
} astrid_str;

typedef struct astrid_bytes {
    uint8_t *ptr;
    size_t len;
} astrid_bytes;

typedef enum astrid_canon_kind {
    ASTRID_CANON_BOOL,
    ASTRID_CANON_U8,
    ASTRID_CANON_S8,
    ASTRID_CANON_U16,
    ASTRID_CANON_S16,
    ASTRID_CANON_U32,
    ASTRID_CANON_S32,
    ASTRID_CANON_U64,
    ASTRID_CANON_S64,
    ASTRID_CANON_F32,
    ASTRID_CANON_F64,
    ASTRID_CANON_CHAR,
    ASTRID_CANON_STRING,
    ASTRID_CANON_LIST,
    ASTRID_CANON_OPTION,  /* elem; ctag = has, cval = val */
    ASTRID_CANON_RESULT,  /* fields[0] ok, fields[1] err; ctag = is_err */
    ASTRID_CANON_RECORD,  /* also tuples and a function's parameters */
    ASTRID_CANON_ENUM,    /* nfields cases, C enum of csize */
    ASTRID_CANON_FLAGS,   /* nfields flags, C uint32_t */
    ASTRID_CANON_VARIANT, /* fields = cases; ctag = tag (uint32_t) */
} astrid_canon_kind;

typedef struct astrid_canon_type astrid_canon_type;

/* A record field or a case: guest offset (records), C offset (record
 * field, case payload); type NULL = a case without payload. */
typedef struct astrid_canon_field {
    const astrid_canon_type *type;
    uint32_t off;
    uint32_t coff;
} astrid_canon_field;

struct astrid_canon_type {
    astrid_canon_kind kind;
    uint32_t size, align; /* in guest memory */
    uint32_t csize;       /* sizeof the C type */
    const char *flat;     /* core types (i I f F), as many as nflat */
    uint32_t nflat;
    const astrid_canon_type *elem; /* list, option */
    const astrid_canon_field *fields;
    uint32_t nfields;
    uint32_t disc, payload; /* variant-likes: discriminant size, payload offset */
    uint32_t ctag, cval;    /* C offsets of the tag / has / is_err and of an option's val */
};

/* One function of the WIT, as the generator lowered it. */
typedef struct astrid_canon_func {
    const char *iface, *name; /* WIT names */
    const char *symbol;       /* wasm2c's import symbol */
    const char *params_sig, *results_sig;
    const astrid_canon_type *params; /* a record of the parameters */
    const astrid_canon_type *result; /* NULL: none */
    int is_result;                   /* a top-level result<_, string>: -1 is its err */
    int retptr;                      /* results lowered at the trailing pointer */
    int params_in_memory;            /* more than 16 flat params: one pointer */
    const char *unavailable;         /* set when this build answers "unavailable" */
} astrid_canon_func;

/* Guest memory as the glue sees it; tests substitute their own. */
typedef struct astrid_canon_mem {
    /* [ptr, ptr+len) of guest memory or NULL when out of bounds */
    uint8_t *(*at)(void *ctx, uint32_t ptr, uint32_t len);
    /* cabi_realloc(0, 0, align, size); -1 on failure */
    int (*alloc)(void *ctx, uint32_t align, uint32_t size, uint32_t *ptr);
    void (*trap)(void *ctx, const char *why); /* must not return */
    void *ctx;
} astrid_canon_mem;

#define ASTRID_CANON_LIFT_MAX (16u << 20) /* bytes lifted per call */
#define ASTRID_HOST_ERR_MAX 1024

/* One host call in flight: what the hand-written function receives. */
typedef struct astrid_host_call {
    astrid_wasm_instance *inst;
    astrid_invocation *inv; /* the instance's host ctx */
    const astrid_canon_func *fn;
    char err[ASTRID_HOST_ERR_MAX]; /* the message of a failed call */
    /* private to canon.c */
    astrid_canon_mem mem;
    void **owned;
    size_t nowned, cowned;
    size_t lifted;
    int too_big;
    void *res; /* the C result, freed before a trap */
} astrid_host_call;

/* Fail the call: the message becomes the result's err string (a trap
 * for a function without one), cut to whole UTF-8 characters. Returns
 * -1. */
int astrid_host_fail(astrid_host_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "<iface>.<fn>: unavailable: not implemented in this build", or `why`. */
int astrid_host_unavailable(astrid_host_call *call, const char *why);
/* Set an out string to a malloc'd copy of s (NULL s: left empty). -1
 * (with the call failed) when out of memory. */
int astrid_host_set_str(astrid_host_call *call, astrid_str *out, const char *s);
/* The same for n bytes at s (a NUL is added after them). */
int astrid_host_set_strn(astrid_host_call *call, astrid_str *out, const char *s, size_t n);
/* The n malloc'd strings of v as a malloc'd array of astrid_str (a
 * list<string> out value); the strings move into it, the array v stays
 * the caller's. NULL (the call failed, the strings freed) when out of
 * memory. */
astrid_str *astrid_host_take_strs(astrid_host_call *call, char **v, size_t n);

/* ---- used by the generated wrappers ---- */
void astrid_canon_begin(astrid_host_call *call, void *inst, const astrid_canon_func *fn,
                        const uint64_t *flat, size_t nflat, void *args, void *res);
/* rc: the host function's; skip it (rc -1) when call->too_big. */
void astrid_canon_end(astrid_host_call *call, int rc, uint32_t retptr, uint64_t *flat_result);

/* ---- the pieces, for tests ---- */
void astrid_canon_call_init(astrid_host_call *call, const astrid_canon_mem *mem);
/* Free what lifting allocated. */
void astrid_canon_call_release(astrid_host_call *call);
void astrid_canon_lift_flat(astrid_host_call *call, const astrid_canon_type *t,
                            const uint64_t *flat, size_t nflat, void *dst);
void astrid_canon_load(astrid_host_call *call, const astrid_canon_type *t, uint32_t ptr, void *dst);
void astrid_canon_store(astrid_host_call *call, const astrid_canon_type *t, const void *src,
                        uint32_t ptr);
void astrid_canon_lower_flat(astrid_host_call *call, const astrid_canon_type *t, const void *src,
                             uint64_t *out);
/* Free what a C value of type t holds (not the value itself). */
void astrid_canon_free(const astrid_canon_type *t, void *v);

extern const astrid_canon_type astrid_canon_bool, astrid_canon_u8, astrid_canon_s8,
    astrid_canon_u16, astrid_canon_s16, astrid_canon_u32, astrid_canon_s32, astrid_canon_u64,
    astrid_canon_s64, astrid_canon_f32, astrid_canon_f64, astrid_canon_char, astrid_canon_string,
    astrid_canon_bytes;

static inline uint64_t astrid_canon_f32_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}
static inline uint64_t astrid_canon_f64_bits(double f)
{
    uint64_t b;
    memcpy(&b, &f, 8);
    return b;
}
static inline float astrid_canon_bits_f32(uint64_t b)
{
    uint32_t v = (uint32_t)b;
    float f;
    memcpy(&f, &v, 4);
    return f;
}
static inline double astrid_canon_bits_f64(uint64_t b)
{
    double f;
    memcpy(&f, &b, 8);
    return f;
}

#endif
