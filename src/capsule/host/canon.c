/* Lifting and lowering for the generated host glue (canon.h): the
 * canonical ABI driven by the generator's type descriptors.
 *
 * Every guest access goes through call->mem.at, bounds-checked; a bad
 * pointer or discriminant traps (an invariant violation, as upstream),
 * after the call's allocations are freed. Flat values arrive as 64-bit
 * patterns (i32 zero-extended, floats as their bits), so the coercions
 * of a variant's joined flat types are the truncations the scalar
 * lifters do anyway. */
#include "capsule/host/canon.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "astrid/utf8.h"

#define PRIM(n, k, s, c, f)                                                                        \
    const astrid_canon_type astrid_canon_##n = {                                                   \
        .kind = (k), .size = (s), .align = (s), .csize = (c), .flat = (f), .nflat = 1}
PRIM(bool, ASTRID_CANON_BOOL, 1, sizeof(bool), "i");
PRIM(u8, ASTRID_CANON_U8, 1, 1, "i");
PRIM(s8, ASTRID_CANON_S8, 1, 1, "i");
PRIM(u16, ASTRID_CANON_U16, 2, 2, "i");
PRIM(s16, ASTRID_CANON_S16, 2, 2, "i");
PRIM(u32, ASTRID_CANON_U32, 4, 4, "i");
PRIM(s32, ASTRID_CANON_S32, 4, 4, "i");
PRIM(u64, ASTRID_CANON_U64, 8, 8, "I");
PRIM(s64, ASTRID_CANON_S64, 8, 8, "I");
PRIM(f32, ASTRID_CANON_F32, 4, 4, "f");
PRIM(f64, ASTRID_CANON_F64, 8, 8, "F");
PRIM(char, ASTRID_CANON_CHAR, 4, 4, "i");
const astrid_canon_type astrid_canon_string = {.kind = ASTRID_CANON_STRING,
                                               .size = 8,
                                               .align = 4,
                                               .csize = sizeof(astrid_str),
                                               .flat = "ii",
                                               .nflat = 2};
const astrid_canon_type astrid_canon_bytes = {.kind = ASTRID_CANON_LIST,
                                              .size = 8,
                                              .align = 4,
                                              .csize = sizeof(astrid_bytes),
                                              .flat = "ii",
                                              .nflat = 2,
                                              .elem = &astrid_canon_u8};

/* Every list's C form: {T *v; size_t n;}, like astrid_str/astrid_bytes. */
typedef struct clist {
    void *v;
    size_t n;
} clist;

/* ------------------------------------------------------------ call */
void astrid_canon_call_init(astrid_host_call *call, const astrid_canon_mem *mem)
{
    memset(call, 0, sizeof *call);
    call->mem = *mem;
}

void astrid_canon_call_release(astrid_host_call *call)
{
    for (size_t i = 0; i < call->nowned; i++)
        free(call->owned[i]);
    free(call->owned);
    call->owned = NULL;
    call->nowned = call->cowned = 0;
}

static void release_res(astrid_host_call *call)
{
    const astrid_canon_type *r = call->fn ? call->fn->result : NULL;
    if (call->res && r) {
        if (call->fn->is_result) {
            /* only the ok side is the host function's: err is call->err */
            if (r->fields[0].type)
                astrid_canon_free(r->fields[0].type, (char *)call->res + r->fields[0].coff);
        } else {
            astrid_canon_free(r, call->res);
        }
    }
    call->res = NULL;
}

_Noreturn static void trap(astrid_host_call *call, const char *why)
{
    astrid_canon_call_release(call);
    release_res(call);
    call->mem.trap(call->mem.ctx, why);
    abort(); /* not reached: mem.trap does not return */
}

static uint8_t *at(astrid_host_call *call, uint32_t ptr, uint64_t len, const char *what)
{
    uint8_t *g = len <= UINT32_MAX ? call->mem.at(call->mem.ctx, ptr, (uint32_t)len) : NULL;
    if (!g)
        trap(call, what);
    return g;
}
#define ARG_OOB "argument out of bounds of guest memory"
#define RES_OOB "result area out of bounds of guest memory"

/* Memory for lifted values, owned by the call; NULL (too_big set) once
 * the call's budget is spent: the glue then answers an error. */
static void *own(astrid_host_call *call, size_t n)
{
    if (call->too_big || n > ASTRID_CANON_LIFT_MAX - call->lifted) {
        call->too_big = 1;
        return NULL;
    }
    if (call->nowned == call->cowned) {
        size_t nc = call->cowned ? call->cowned * 2 : 16;
        void **o = realloc(call->owned, nc * sizeof *o);
        if (!o)
            trap(call, "host out of memory");
        call->owned = o;
        call->cowned = nc;
    }
    void *p = calloc(1, n ? n : 1);
    if (!p)
        trap(call, "host out of memory");
    call->owned[call->nowned++] = p;
    call->lifted += n;
    return p;
}

/* ------------------------------------------------------------ scalars */
static uint64_t rd(const uint8_t *p, uint32_t n)
{
    uint64_t v = 0;
    memcpy(&v, p, n); /* little-endian host, as wasm */
    return v;
}

static void wr(uint8_t *p, uint32_t n, uint64_t v)
{
    memcpy(p, &v, n);
}

static bool valid_char(uint64_t c)
{
    return c < 0x110000 && !(c >= 0xd800 && c <= 0xdfff);
}

/* Store scalar bits v of kind t into C memory. */
static void put_scalar(astrid_host_call *call, const astrid_canon_type *t, uint64_t v, void *dst)
{
    switch (t->kind) {
    case ASTRID_CANON_BOOL:
        *(bool *)dst = (uint32_t)v != 0;
        return;
    case ASTRID_CANON_CHAR:
        if (!valid_char((uint32_t)v))
            trap(call, "char argument is not a Unicode scalar value");
        wr(dst, 4, (uint32_t)v);
        return;
    case ASTRID_CANON_F32:
    case ASTRID_CANON_F64:
    default:
        wr(dst, t->csize, v);
        return;
    }
}

/* ------------------------------------------------------------ lifting */
static void lift_list(astrid_host_call *call, const astrid_canon_type *t, uint32_t ptr, uint32_t n,
                      void *dst)
{
    clist *l = dst;
    if (t->kind == ASTRID_CANON_STRING) {
        const uint8_t *g = n ? at(call, ptr, n, ARG_OOB) : (const uint8_t *)"";
        if (!astrid_utf8_valid((const char *)g, n))
            trap(call, "string argument is not valid UTF-8");
        char *s = own(call, (size_t)n + 1);
        if (!s)
            return;
        memcpy(s, g, n);
        l->v = s;
        l->n = n;
        return;
    }
    const astrid_canon_type *e = t->elem;
    uint64_t bytes = (uint64_t)n * e->size;
    if (n)
        at(call, ptr, bytes, ARG_OOB);
    if ((uint64_t)n * e->csize > ASTRID_CANON_LIFT_MAX) {
        call->too_big = 1;
        return;
    }
    uint8_t *v = own(call, (size_t)n * e->csize);
    if (!v)
        return;
    l->v = v;
    l->n = n;
    for (uint32_t i = 0; i < n && !call->too_big; i++)
        astrid_canon_load(call, e, ptr + i * e->size, v + (size_t)i * e->csize);
}

typedef struct reader {
    const uint64_t *v;
    size_t n, i;
} reader;

static uint64_t take(astrid_host_call *call, reader *r)
{
    if (r->i >= r->n)
        trap(call, "glue: too few flat arguments");
    return r->v[r->i++];
}

static uint32_t disc_cases(const astrid_canon_type *t)
{
    return t->kind == ASTRID_CANON_OPTION || t->kind == ASTRID_CANON_RESULT ? 2 : t->nfields;
}

/* The payload type and C offset of case k of a variant-like. */
static const astrid_canon_type *case_of(const astrid_canon_type *t, uint32_t k, uint32_t *coff)
{
    if (t->kind == ASTRID_CANON_OPTION) {
        *coff = t->cval;
        return k ? t->elem : NULL;
    }
    *coff = t->fields[k].coff;
    return t->fields[k].type;
}

static void set_tag(const astrid_canon_type *t, void *dst, uint32_t k)
{
    uint8_t *d = dst;
    if (t->kind == ASTRID_CANON_VARIANT)
        wr(d + t->ctag, 4, k);
    else
        *(bool *)(d + t->ctag) = k != 0;
}

static uint32_t get_tag(const astrid_canon_type *t, const void *src)
{
    const uint8_t *s = src;
    if (t->kind == ASTRID_CANON_VARIANT)
        return (uint32_t)rd(s + t->ctag, 4);
    return *(const bool *)(s + t->ctag) ? 1 : 0;
}

static void lift(astrid_host_call *call, const astrid_canon_type *t, reader *r, void *dst)
{
    uint8_t *d = dst;
    switch (t->kind) {
    case ASTRID_CANON_STRING:
    case ASTRID_CANON_LIST: {
        uint32_t p = (uint32_t)take(call, r), n = (uint32_t)take(call, r);
        lift_list(call, t, p, n, dst);
        return;
    }
    case ASTRID_CANON_RECORD:
        for (uint32_t i = 0; i < t->nfields; i++)
            lift(call, t->fields[i].type, r, d + t->fields[i].coff);
        return;
    case ASTRID_CANON_ENUM: {
        uint32_t k = (uint32_t)take(call, r);
        if (k >= t->nfields)
            trap(call, "enum argument out of range");
        wr(d, t->csize, k);
        return;
    }
    case ASTRID_CANON_FLAGS: {
        uint32_t v = (uint32_t)take(call, r);
        wr(d, 4, t->nfields >= 32 ? v : v & ((1u << t->nfields) - 1));
        return;
    }
    case ASTRID_CANON_OPTION:
    case ASTRID_CANON_RESULT:
    case ASTRID_CANON_VARIANT: {
        uint32_t k = (uint32_t)take(call, r);
        if (k >= disc_cases(t))
            trap(call, "variant argument has an unknown case");
        set_tag(t, dst, k);
        size_t start = r->i, joined = t->nflat - 1;
        uint32_t coff;
        const astrid_canon_type *c = case_of(t, k, &coff);
        if (c) {
            reader sub = {r->v + start, joined, 0};
            if (start + joined > r->n)
                trap(call, "glue: too few flat arguments");
            lift(call, c, &sub, d + coff);
        }
        r->i = start + joined;
        return;
    }
    default:
        put_scalar(call, t, take(call, r), dst);
        return;
    }
}

void astrid_canon_lift_flat(astrid_host_call *call, const astrid_canon_type *t,
                            const uint64_t *flat, size_t nflat, void *dst)
{
    reader r = {flat, nflat, 0};
    lift(call, t, &r, dst);
}

void astrid_canon_load(astrid_host_call *call, const astrid_canon_type *t, uint32_t ptr, void *dst)
{
    uint8_t *d = dst;
    if ((uint64_t)ptr + t->size > UINT32_MAX)
        trap(call, ARG_OOB);
    switch (t->kind) {
    case ASTRID_CANON_STRING:
    case ASTRID_CANON_LIST: {
        const uint8_t *g = at(call, ptr, 8, ARG_OOB);
        lift_list(call, t, (uint32_t)rd(g, 4), (uint32_t)rd(g + 4, 4), dst);
        return;
    }
    case ASTRID_CANON_RECORD:
        for (uint32_t i = 0; i < t->nfields && !call->too_big; i++)
            astrid_canon_load(call, t->fields[i].type, ptr + t->fields[i].off,
                              d + t->fields[i].coff);
        return;
    case ASTRID_CANON_ENUM: {
        uint32_t k = (uint32_t)rd(at(call, ptr, t->size, ARG_OOB), t->size);
        if (k >= t->nfields)
            trap(call, "enum argument out of range");
        wr(d, t->csize, k);
        return;
    }
    case ASTRID_CANON_FLAGS: {
        uint32_t v = (uint32_t)rd(at(call, ptr, t->size, ARG_OOB), t->size);
        wr(d, 4, t->nfields >= 32 ? v : v & ((1u << t->nfields) - 1));
        return;
    }
    case ASTRID_CANON_OPTION:
    case ASTRID_CANON_RESULT:
    case ASTRID_CANON_VARIANT: {
        uint32_t k = (uint32_t)rd(at(call, ptr, t->disc, ARG_OOB), t->disc);
        if (k >= disc_cases(t))
            trap(call, "variant argument has an unknown case");
        set_tag(t, dst, k);
        uint32_t coff;
        const astrid_canon_type *c = case_of(t, k, &coff);
        if (c)
            astrid_canon_load(call, c, ptr + t->payload, d + coff);
        return;
    }
    default:
        put_scalar(call, t, rd(at(call, ptr, t->size, ARG_OOB), t->size), dst);
        return;
    }
}

/* ------------------------------------------------------------ lowering */
static uint32_t galloc(astrid_host_call *call, uint32_t align, uint64_t size)
{
    uint32_t p = 0;
    if (!size)
        return 0;
    if (size > UINT32_MAX)
        trap(call, "result larger than guest memory");
    if (call->mem.alloc(call->mem.ctx, align, (uint32_t)size, &p) != 0)
        trap(call, "cabi_realloc failed");
    return p;
}

void astrid_canon_store(astrid_host_call *call, const astrid_canon_type *t, const void *src,
                        uint32_t ptr)
{
    const uint8_t *s = src;
    if ((uint64_t)ptr + t->size > UINT32_MAX)
        trap(call, RES_OOB);
    switch (t->kind) {
    case ASTRID_CANON_STRING:
    case ASTRID_CANON_LIST: {
        const clist *l = src;
        const astrid_canon_type *e = t->kind == ASTRID_CANON_STRING ? &astrid_canon_u8 : t->elem;
        if (l->n > UINT32_MAX)
            trap(call, "result larger than guest memory");
        uint32_t base = galloc(call, e->align, (uint64_t)l->n * e->size);
        if (e->kind == ASTRID_CANON_U8 && l->n)
            memcpy(at(call, base, l->n, RES_OOB), l->v, l->n);
        else
            for (size_t i = 0; i < l->n; i++)
                astrid_canon_store(call, e, (const uint8_t *)l->v + i * e->csize,
                                   base + (uint32_t)i * e->size);
        uint8_t *g = at(call, ptr, 8, RES_OOB);
        wr(g, 4, base);
        wr(g + 4, 4, (uint32_t)l->n);
        return;
    }
    case ASTRID_CANON_RECORD:
        for (uint32_t i = 0; i < t->nfields; i++)
            astrid_canon_store(call, t->fields[i].type, s + t->fields[i].coff,
                               ptr + t->fields[i].off);
        return;
    case ASTRID_CANON_OPTION:
    case ASTRID_CANON_RESULT:
    case ASTRID_CANON_VARIANT: {
        uint32_t k = get_tag(t, src), coff;
        if (k >= disc_cases(t))
            trap(call, "host result has an unknown case");
        /* the discriminant and the case's payload only, as the canonical
         * ABI: a guest may size the area for the case it expects */
        wr(at(call, ptr, t->disc, RES_OOB), t->disc, k);
        const astrid_canon_type *c = case_of(t, k, &coff);
        if (c)
            astrid_canon_store(call, c, s + coff, ptr + t->payload);
        return;
    }
    case ASTRID_CANON_BOOL:
        *at(call, ptr, 1, RES_OOB) = *(const bool *)src ? 1 : 0;
        return;
    case ASTRID_CANON_ENUM:
    case ASTRID_CANON_FLAGS:
        wr(at(call, ptr, t->size, RES_OOB), t->size, rd(s, t->csize));
        return;
    default:
        wr(at(call, ptr, t->size, RES_OOB), t->size, rd(s, t->size));
        return;
    }
}

/* Only types flattening to at most one value get here (the rest go
 * through the retptr): scalars, single-field records, payload-less
 * variant-likes. */
void astrid_canon_lower_flat(astrid_host_call *call, const astrid_canon_type *t, const void *src,
                             uint64_t *out)
{
    const uint8_t *s = src;
    switch (t->kind) {
    case ASTRID_CANON_RECORD:
        if (t->nfields)
            astrid_canon_lower_flat(call, t->fields[0].type, s + t->fields[0].coff, out);
        return;
    case ASTRID_CANON_OPTION:
    case ASTRID_CANON_RESULT:
    case ASTRID_CANON_VARIANT:
        *out = get_tag(t, src);
        return;
    case ASTRID_CANON_BOOL:
        *out = *(const bool *)src ? 1 : 0;
        return;
    case ASTRID_CANON_S8:
        *out = (uint32_t)(int32_t) * (const int8_t *)src;
        return;
    case ASTRID_CANON_S16:
        *out = (uint32_t)(int32_t) * (const int16_t *)src;
        return;
    default: /* enum, flags, unsigned and float bits */
        *out = rd(s, t->csize);
        return;
    }
}

void astrid_canon_free(const astrid_canon_type *t, void *v)
{
    uint8_t *d = v;
    switch (t->kind) {
    case ASTRID_CANON_STRING:
    case ASTRID_CANON_LIST: {
        clist *l = v;
        if (t->kind == ASTRID_CANON_LIST && t->elem->kind != ASTRID_CANON_U8)
            for (size_t i = 0; l->v && i < l->n; i++)
                astrid_canon_free(t->elem, (uint8_t *)l->v + i * t->elem->csize);
        free(l->v);
        l->v = NULL;
        l->n = 0;
        return;
    }
    case ASTRID_CANON_RECORD:
        for (uint32_t i = 0; i < t->nfields; i++)
            astrid_canon_free(t->fields[i].type, d + t->fields[i].coff);
        return;
    case ASTRID_CANON_OPTION:
    case ASTRID_CANON_RESULT:
    case ASTRID_CANON_VARIANT: {
        uint32_t coff, k = get_tag(t, v);
        const astrid_canon_type *c = k < disc_cases(t) ? case_of(t, k, &coff) : NULL;
        if (c)
            astrid_canon_free(c, d + coff);
        return;
    }
    default:
        return;
    }
}

/* ------------------------------------------------------------ calls */
int astrid_host_fail(astrid_host_call *call, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    astrid_vsnprintf_utf8(call->err, sizeof call->err, fmt, ap); /* a WIT string */
    va_end(ap);
    return -1;
}

int astrid_host_unavailable(astrid_host_call *call, const char *why)
{
    if (why)
        return astrid_host_fail(call, "%s", why);
    return astrid_host_fail(call, "%s.%s: unavailable: not implemented in this build",
                            call->fn->iface, call->fn->name);
}

int astrid_host_set_str(astrid_host_call *call, astrid_str *out, const char *s)
{
    return s ? astrid_host_set_strn(call, out, s, strlen(s)) : 0;
}

int astrid_host_set_strn(astrid_host_call *call, astrid_str *out, const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return astrid_host_fail(call, "%s: out of memory", call->fn->name);
    memcpy(d, s, n);
    d[n] = '\0';
    free(out->ptr);
    out->ptr = d;
    out->len = n;
    return 0;
}

astrid_str *astrid_host_take_strs(astrid_host_call *call, char **v, size_t n)
{
    astrid_str *a = calloc(n ? n : 1, sizeof *a);
    for (size_t i = 0; i < n; i++) {
        if (a)
            a[i] = (astrid_str){v[i], strlen(v[i])};
        else
            free(v[i]);
        v[i] = NULL;
    }
    if (!a)
        astrid_host_fail(call, "%s: out of memory", call->fn->name);
    return a;
}

static uint8_t *inst_at(void *ctx, uint32_t ptr, uint32_t len)
{
    return astrid_wasm_mem(ctx, ptr, len);
}

static int inst_alloc(void *ctx, uint32_t align, uint32_t size, uint32_t *ptr)
{
    uint64_t args[4] = {0, 0, align, size}, res[1] = {0};
    astrid_err err;
    if (astrid_wasm_call(ctx, "cabi_realloc", args, 4, res, 1, 0, NULL, &err) != 0)
        return -1;
    *ptr = (uint32_t)res[0];
    return 0;
}

_Noreturn static void inst_trap(void *ctx, const char *why)
{
    astrid_wasm_host_trap(ctx, why);
}

void astrid_canon_begin(astrid_host_call *call, void *inst, const astrid_canon_func *fn,
                        const uint64_t *flat, size_t nflat, void *args, void *res)
{
    astrid_wasm_host_enter(inst);
    astrid_canon_mem m = {inst_at, inst_alloc, inst_trap, inst};
    astrid_canon_call_init(call, &m);
    call->inst = inst;
    call->inv = astrid_wasm_host_ctx(inst);
    call->fn = fn;
    memset(args, 0, fn->params->csize);
    if (res && fn->result) {
        memset(res, 0, fn->result->csize);
        call->res = res;
    }
    if (fn->params_in_memory)
        astrid_canon_load(call, fn->params, (uint32_t)flat[0], args);
    else
        astrid_canon_lift_flat(call, fn->params, flat, nflat, args);
    if (call->too_big)
        astrid_host_fail(call, "%s: arguments larger than the host accepts (%u MiB)", fn->name,
                         ASTRID_CANON_LIFT_MAX >> 20);
}

void astrid_canon_end(astrid_host_call *call, int rc, uint32_t retptr, uint64_t *flat_result)
{
    const astrid_canon_func *fn = call->fn;
    const astrid_canon_type *r = fn->result;
    astrid_canon_call_release(call);
    if (rc != 0 && !(fn->is_result && r))
        trap(call, call->err[0] ? call->err : "host function failed");
    if (r) {
        uint8_t *res = call->res;
        if (fn->is_result) {
            *(bool *)(res + r->ctag) = rc != 0;
            const astrid_canon_field *e = &r->fields[1];
            if (rc != 0 && e->type) {
                astrid_str *s = (astrid_str *)(res + e->coff);
                s->ptr = call->err;
                s->len = strlen(call->err);
            }
        }
        if (fn->retptr)
            astrid_canon_store(call, r, res, retptr);
        else if (flat_result)
            astrid_canon_lower_flat(call, r, res, flat_result);
    }
    release_res(call);
    astrid_wasm_host_leave(call->inst);
}
