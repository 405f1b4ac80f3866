/* The canonical ABI of WIT types (Component Model, CanonicalABI.md):
 * sizes, alignments, field and payload offsets in linear memory, and
 * flattening to core wasm values. Recursion depth is bounded by the
 * parser's limits (ASTRID_WIT_MAX_DEPTH). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/wit.h"

/* Sizes are computed in 64 bits and saturate: a hostile document can
 * describe records larger than any memory. */
#define SAT (1ull << 33)

static uint64_t align_to(uint64_t x, uint64_t a)
{
    return a ? (x + a - 1) / a * a : x;
}

const astrid_wit_type *astrid_wit_unalias(const astrid_wit_type *t)
{
    /* bounded: the parser refused alias chains deeper than the limit */
    while (t && t->kind == ASTRID_WIT_NAMED && t->def->kind == ASTRID_WIT_ALIAS)
        t = t->def->target;
    return t;
}

static uint32_t disc_of(size_t ncases)
{
    return ncases <= 256 ? 1 : ncases <= 65536 ? 2 : 4;
}

static void sa(const astrid_wit_type *t, uint64_t *size, uint64_t *align);

/* The cases of a variant-like type (t unaliased): an option is
 * {none, some(T)}, a result {ok(T?), err(E?)}; NULL = no payload. */
static size_t ncases(const astrid_wit_type *t)
{
    return t->kind == ASTRID_WIT_NAMED ? t->def->nfields : 2;
}

static const astrid_wit_type *case_at(const astrid_wit_type *t, size_t i)
{
    if (t->kind == ASTRID_WIT_OPTION)
        return i ? t->elem : NULL;
    if (t->kind == ASTRID_WIT_RESULT)
        return i ? t->err : t->ok;
    return t->def->fields[i].type;
}

static void variant_sa(const astrid_wit_type *t, uint64_t *size, uint64_t *align, uint64_t *payload)
{
    size_t n = ncases(t);
    uint64_t d = disc_of(n), ms = 0, ma = 1;
    for (size_t i = 0; i < n; i++) {
        const astrid_wit_type *c = case_at(t, i);
        if (!c)
            continue;
        uint64_t s, a;
        sa(c, &s, &a);
        ms = s > ms ? s : ms;
        ma = a > ma ? a : ma;
    }
    *align = d > ma ? d : ma;
    *payload = align_to(d, ma);
    *size = align_to(*payload + ms, *align);
    if (*size > SAT)
        *size = SAT;
}

/* Fields of a record or tuple: offsets in order, then size and align. */
static uint64_t fields_sa(const astrid_wit_type *t, size_t upto, uint64_t *size, uint64_t *align)
{
    const astrid_wit_typedef *d = t->kind == ASTRID_WIT_NAMED ? t->def : NULL;
    size_t n = d ? d->nfields : t->nitems;
    uint64_t off = 0, ma = 1, at = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t s, a;
        sa(d ? d->fields[i].type : t->items[i], &s, &a);
        off = align_to(off, a);
        if (i == upto)
            at = off;
        off += s;
        if (off > SAT)
            off = SAT;
        ma = a > ma ? a : ma;
    }
    if (size)
        *size = align_to(off, ma);
    if (align)
        *align = ma;
    return at;
}

static void sa(const astrid_wit_type *t, uint64_t *size, uint64_t *align)
{
    t = astrid_wit_unalias(t);
    switch (t->kind) {
    case ASTRID_WIT_BOOL:
    case ASTRID_WIT_U8:
    case ASTRID_WIT_S8:
        *size = *align = 1;
        return;
    case ASTRID_WIT_U16:
    case ASTRID_WIT_S16:
        *size = *align = 2;
        return;
    case ASTRID_WIT_U32:
    case ASTRID_WIT_S32:
    case ASTRID_WIT_F32:
    case ASTRID_WIT_CHAR:
        *size = *align = 4;
        return;
    case ASTRID_WIT_U64:
    case ASTRID_WIT_S64:
    case ASTRID_WIT_F64:
        *size = *align = 8;
        return;
    case ASTRID_WIT_STRING:
    case ASTRID_WIT_LIST:
        *size = 8;
        *align = 4;
        return;
    case ASTRID_WIT_OPTION:
    case ASTRID_WIT_RESULT: {
        uint64_t p;
        variant_sa(t, size, align, &p);
        return;
    }
    case ASTRID_WIT_TUPLE:
        fields_sa(t, SIZE_MAX, size, align);
        return;
    case ASTRID_WIT_NAMED:
        break;
    }
    const astrid_wit_typedef *d = t->def;
    switch (d->kind) {
    case ASTRID_WIT_RECORD:
        fields_sa(t, SIZE_MAX, size, align);
        return;
    case ASTRID_WIT_ENUM:
        *size = *align = disc_of(d->nfields);
        return;
    case ASTRID_WIT_FLAGS:
        *size = *align = d->nfields <= 8 ? 1 : d->nfields <= 16 ? 2 : 4;
        return;
    case ASTRID_WIT_VARIANT: {
        uint64_t p;
        variant_sa(t, size, align, &p);
        return;
    }
    case ASTRID_WIT_ALIAS:
        break;
    }
    *size = *align = 1; /* unreachable: aliases were followed */
}

void astrid_wit_size_align(const astrid_wit_type *t, uint32_t *size, uint32_t *align)
{
    uint64_t s, a;
    sa(t, &s, &a);
    if (size)
        *size = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
    if (align)
        *align = (uint32_t)a;
}

uint32_t astrid_wit_disc_size(const astrid_wit_type *t)
{
    t = astrid_wit_unalias(t);
    if (t->kind == ASTRID_WIT_OPTION || t->kind == ASTRID_WIT_RESULT)
        return 1;
    if (t->kind == ASTRID_WIT_NAMED &&
        (t->def->kind == ASTRID_WIT_VARIANT || t->def->kind == ASTRID_WIT_ENUM))
        return disc_of(t->def->nfields);
    return 0;
}

uint32_t astrid_wit_payload_offset(const astrid_wit_type *t)
{
    t = astrid_wit_unalias(t);
    if (!astrid_wit_disc_size(t) ||
        (t->kind == ASTRID_WIT_NAMED && t->def->kind == ASTRID_WIT_ENUM))
        return 0;
    uint64_t s, a, p;
    variant_sa(t, &s, &a, &p);
    return (uint32_t)p;
}

uint32_t astrid_wit_field_offset(const astrid_wit_type *t, size_t i)
{
    t = astrid_wit_unalias(t);
    uint64_t at = fields_sa(t, i, NULL, NULL);
    return at > UINT32_MAX ? UINT32_MAX : (uint32_t)at;
}

/* ---------------------------------------------------------------- flat */
typedef struct flat {
    char v[ASTRID_WIT_FLAT_CAP];
    size_t n; /* full count; only the first FLAT_CAP letters are kept */
} flat;

static void put(flat *f, char c)
{
    if (f->n < ASTRID_WIT_FLAT_CAP)
        f->v[f->n] = c;
    if (f->n < SIZE_MAX / 2)
        f->n++;
}

static void flat_of(const astrid_wit_type *t, flat *f);

static char join(char a, char b)
{
    if (a == b)
        return a;
    if ((a == 'i' && b == 'f') || (a == 'f' && b == 'i'))
        return 'i';
    return 'I';
}

static void flat_variant(const astrid_wit_type *t, flat *f)
{
    put(f, 'i');
    flat acc = {.n = 0};
    for (size_t i = 0; i < ncases(t); i++) {
        const astrid_wit_type *ct = case_at(t, i);
        if (!ct)
            continue;
        flat c = {.n = 0};
        flat_of(ct, &c);
        for (size_t k = 0; k < c.n && k < ASTRID_WIT_FLAT_CAP; k++)
            acc.v[k] = k < acc.n ? join(acc.v[k], c.v[k]) : c.v[k];
        if (c.n > acc.n)
            acc.n = c.n;
    }
    for (size_t k = 0; k < acc.n; k++)
        put(f, k < ASTRID_WIT_FLAT_CAP ? acc.v[k] : 'i');
}

static void flat_of(const astrid_wit_type *t, flat *f)
{
    t = astrid_wit_unalias(t);
    switch (t->kind) {
    case ASTRID_WIT_U64:
    case ASTRID_WIT_S64:
        put(f, 'I');
        return;
    case ASTRID_WIT_F32:
        put(f, 'f');
        return;
    case ASTRID_WIT_F64:
        put(f, 'F');
        return;
    case ASTRID_WIT_STRING:
    case ASTRID_WIT_LIST:
        put(f, 'i');
        put(f, 'i');
        return;
    case ASTRID_WIT_OPTION:
    case ASTRID_WIT_RESULT:
        flat_variant(t, f);
        return;
    case ASTRID_WIT_TUPLE:
        for (size_t i = 0; i < t->nitems; i++)
            flat_of(t->items[i], f);
        return;
    case ASTRID_WIT_NAMED:
        break;
    default: /* bool, u8..u32, s8..s32, char */
        put(f, 'i');
        return;
    }
    const astrid_wit_typedef *d = t->def;
    if (d->kind == ASTRID_WIT_RECORD) {
        for (size_t i = 0; i < d->nfields; i++)
            flat_of(d->fields[i].type, f);
    } else if (d->kind == ASTRID_WIT_VARIANT) {
        flat_variant(t, f);
    } else { /* enum; flags (at most 32) */
        put(f, 'i');
    }
}

size_t astrid_wit_flatten(const astrid_wit_type *t, char *out, size_t cap)
{
    flat f = {.n = 0};
    flat_of(t, &f);
    size_t k = 0;
    for (; k < f.n && k < ASTRID_WIT_FLAT_CAP && k + 1 < cap; k++)
        out[k] = f.v[k];
    if (cap)
        out[k] = '\0';
    return f.n;
}

int astrid_wit_func_core_sig(const astrid_wit_func *fn, char *params, size_t pcap, char *results,
                             size_t rcap, astrid_err *err)
{
    flat p = {.n = 0}, r = {.n = 0};
    for (size_t i = 0; i < fn->nparams; i++)
        flat_of(fn->params[i].type, &p);
    if (fn->result)
        flat_of(fn->result, &r);
    const char *ps = p.n > ASTRID_WIT_MAX_FLAT_PARAMS ? "i" : NULL;
    size_t np = ps ? 1 : p.n, nr = r.n;
    int retptr = r.n > ASTRID_WIT_MAX_FLAT_RESULTS;
    if (retptr)
        nr = 0;
    if (np + retptr + 1 > pcap || nr + 1 > rcap)
        return astrid_err_set(err, ASTRID_E_LIMIT, "%s: signature buffer too small", fn->name);
    memcpy(params, ps ? ps : p.v, np);
    if (retptr)
        params[np++] = 'i';
    params[np] = '\0';
    memcpy(results, r.v, nr);
    results[nr] = '\0';
    return 0;
}

/* ---------------------------------------------------------------- text */
typedef struct buf {
    char *s;
    size_t n, cap;
    int oom;
} buf;

static void bput(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bput(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->oom || k < 0)
        return;
    if (b->n + (size_t)k + 1 > b->cap) {
        size_t nc = (b->n + (size_t)k + 1) * 2;
        char *s = realloc(b->s, nc);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = nc;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static const char *const prim_names[] = {"bool", "u8",  "u16", "u32", "u64",  "s8",    "s16",
                                         "s32",  "s64", "f32", "f64", "char", "string"};

static void tstr(buf *b, const astrid_wit_type *t)
{
    switch (t->kind) {
    case ASTRID_WIT_LIST:
        bput(b, "list<");
        tstr(b, t->elem);
        bput(b, ">");
        return;
    case ASTRID_WIT_OPTION:
        bput(b, "option<");
        tstr(b, t->elem);
        bput(b, ">");
        return;
    case ASTRID_WIT_RESULT:
        bput(b, "result");
        if (!t->ok && !t->err)
            return;
        bput(b, "<");
        if (t->ok)
            tstr(b, t->ok);
        else
            bput(b, "_");
        if (t->err) {
            bput(b, ", ");
            tstr(b, t->err);
        }
        bput(b, ">");
        return;
    case ASTRID_WIT_TUPLE:
        bput(b, "tuple<");
        for (size_t i = 0; i < t->nitems; i++) {
            bput(b, "%s", i ? ", " : "");
            tstr(b, t->items[i]);
        }
        bput(b, ">");
        return;
    case ASTRID_WIT_NAMED:
        bput(b, "%s", t->name);
        return;
    default:
        bput(b, "%s", prim_names[t->kind]);
    }
}

char *astrid_wit_type_str(const astrid_wit_type *t)
{
    buf b = {0};
    tstr(&b, t);
    if (b.oom || !b.s) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
