/* The generator (witgen.h): walks a parsed WIT package and writes C.
 * Layout numbers (sizes, offsets, flat types) come from src/lib/wit; the
 * C side of every offset is left to the compiler (offsetof/sizeof), so
 * the emitted descriptors cannot disagree with the emitted structs. */
#include "witgen/witgen.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/wit.h"

/* ------------------------------------------------------------ text */
typedef struct buf {
    char *s;
    size_t n, cap;
    bool oom;
} buf;

__attribute__((format(printf, 2, 3))) static void out(buf *b, const char *fmt, ...)
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
            b->oom = true;
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

/* A doc comment as C comment lines (indent, " * " prefix); a stray
 * comment terminator is broken up. */
static void doc(buf *b, const char *indent, const char *d)
{
    if (!d || !*d)
        return;
    out(b, "%s/* ", indent);
    for (const char *p = d; *p; p++) {
        if (*p == '\n')
            out(b, "\n%s * ", indent);
        else if (*p == '*' && p[1] == '/')
            out(b, "* ");
        else
            out(b, "%c", *p);
    }
    out(b, " */\n");
}

/* ------------------------------------------------------------ names */
static const char *const c_keywords[] = {
    "auto",     "break",  "case",   "char",     "const",    "continue", "default",  "do",
    "double",   "else",   "enum",   "extern",   "float",    "for",      "goto",     "if",
    "inline",   "int",    "long",   "register", "restrict", "return",   "short",    "signed",
    "sizeof",   "static", "struct", "switch",   "typedef",  "union",    "unsigned", "void",
    "volatile", "while",  "bool",   "true",     "false",    "_Bool"};

/* kebab-case -> snake_case, with a trailing '_' where that is a C
 * keyword. */
static void cid(char *dst, size_t n, const char *wit)
{
    size_t k = 0;
    for (; *wit && k + 2 < n; wit++)
        dst[k++] = *wit == '-' ? '_' : (char)tolower((unsigned char)*wit);
    dst[k] = '\0';
    for (size_t i = 0; i < sizeof c_keywords / sizeof *c_keywords; i++)
        if (strcmp(dst, c_keywords[i]) == 0 && k + 1 < n) {
            dst[k] = '_';
            dst[k + 1] = '\0';
        }
}

/* A parameter's C name: also clear of the hand-written prototype's
 * own `call` and `out`. */
static void pid(char *dst, size_t n, const char *wit)
{
    cid(dst, n, wit);
    size_t k = strlen(dst);
    if ((strcmp(dst, "call") == 0 || strcmp(dst, "out") == 0) && k + 1 < n) {
        dst[k] = '_';
        dst[k + 1] = '\0';
    }
}

static void upper(char *s)
{
    for (; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}

static bool is_bytes(const astrid_wit_type *t)
{
    t = astrid_wit_unalias(t);
    return t->kind == ASTRID_WIT_LIST && astrid_wit_unalias(t->elem)->kind == ASTRID_WIT_U8;
}

static const char *const prim_c[] = {"bool",   "uint8_t",  "uint16_t",  "uint32_t", "uint64_t",
                                     "int8_t", "int16_t",  "int32_t",   "int64_t",  "float",
                                     "double", "uint32_t", "astrid_str"};
static const char *const prim_w[] = {"bool", "u8",  "u16", "u32", "u64",  "s8",    "s16",
                                     "s32",  "s64", "f32", "f64", "char", "string"};

/* The part of generated names that identifies a type: u8, string,
 * identity_ok_response, list_string, option_list_u8, result_void_string,
 * tuple2_u32_string. */
static void mangle(buf *b, const astrid_wit_type *t)
{
    t = astrid_wit_unalias(t);
    char c[ASTRID_WIT_MAX_IDENT + 4];
    switch (t->kind) {
    case ASTRID_WIT_LIST:
        out(b, "list_");
        mangle(b, t->elem);
        return;
    case ASTRID_WIT_OPTION:
        out(b, "option_");
        mangle(b, t->elem);
        return;
    case ASTRID_WIT_RESULT:
        out(b, "result_");
        if (t->ok)
            mangle(b, t->ok);
        else
            out(b, "void");
        out(b, "_");
        if (t->err)
            mangle(b, t->err);
        else
            out(b, "void");
        return;
    case ASTRID_WIT_TUPLE:
        out(b, "tuple%zu", t->nitems);
        for (size_t i = 0; i < t->nitems; i++) {
            out(b, "_");
            mangle(b, t->items[i]);
        }
        return;
    case ASTRID_WIT_NAMED:
        cid(c, sizeof c, t->def->name);
        out(b, "%s", c);
        return;
    default:
        out(b, "%s", prim_w[t->kind]);
    }
}

static bool is_prim(const astrid_wit_type *t)
{
    return astrid_wit_unalias(t)->kind <= ASTRID_WIT_STRING || is_bytes(t);
}

/* C type name (malloc'd). */
static char *ctype(const astrid_wit_type *t)
{
    buf b = {0};
    t = astrid_wit_unalias(t);
    if (is_bytes(t))
        out(&b, "astrid_bytes");
    else if (t->kind <= ASTRID_WIT_STRING)
        out(&b, "%s", prim_c[t->kind]);
    else {
        out(&b, "wit_");
        mangle(&b, t);
    }
    return b.s;
}

/* Descriptor name (malloc'd). */
static char *dname(const astrid_wit_type *t)
{
    buf b = {0};
    t = astrid_wit_unalias(t);
    if (is_bytes(t))
        out(&b, "astrid_canon_bytes");
    else if (t->kind <= ASTRID_WIT_STRING)
        out(&b, "astrid_canon_%s", prim_w[t->kind]);
    else {
        out(&b, "astrid_ct_");
        mangle(&b, t);
    }
    return b.s;
}

/* By value in a hand-written prototype (else by const pointer). */
static bool by_value(const astrid_wit_type *t)
{
    t = astrid_wit_unalias(t);
    if (t->kind == ASTRID_WIT_NAMED)
        return t->def->kind == ASTRID_WIT_ENUM || t->def->kind == ASTRID_WIT_FLAGS;
    return t->kind < ASTRID_WIT_STRING;
}

/* ------------------------------------------------------------ state */
typedef struct gen {
    const astrid_wit_package *pkg;
    const char *path;
    buf h, c, sdk, tables, embed;
    struct {
        char *cname, *key;
    } * seen;
    size_t nseen, cseen;
    char **hnames;
    size_t nhnames;
    astrid_err *err;
    int failed;
} gen;

__attribute__((format(printf, 2, 3))) static void gfail(gen *g, const char *fmt, ...)
{
    if (g->failed)
        return;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    astrid_err_set(g->err, ASTRID_E_INVALID, "%s: %s", g->path, msg);
    g->failed = 1;
}

/* A type's identity: aliases followed, definitions named with their
 * interface. */
static void ckey(buf *b, const astrid_wit_type *t)
{
    t = astrid_wit_unalias(t);
    switch (t->kind) {
    case ASTRID_WIT_LIST:
    case ASTRID_WIT_OPTION:
        out(b, "%s<", t->kind == ASTRID_WIT_LIST ? "list" : "option");
        ckey(b, t->elem);
        out(b, ">");
        return;
    case ASTRID_WIT_RESULT:
        out(b, "result<");
        if (t->ok)
            ckey(b, t->ok);
        out(b, ",");
        if (t->err)
            ckey(b, t->err);
        out(b, ">");
        return;
    case ASTRID_WIT_TUPLE:
        out(b, "tuple<");
        for (size_t i = 0; i < t->nitems; i++) {
            out(b, "%s", i ? "," : "");
            ckey(b, t->items[i]);
        }
        out(b, ">");
        return;
    case ASTRID_WIT_NAMED:
        out(b, "%s.%s", t->def->owner, t->def->name);
        return;
    default:
        out(b, "%s", prim_w[t->kind]);
    }
}

/* 1 when the C type was emitted already; a different WIT type under the
 * same C name is an error (it would be a second definition). */
static int seen(gen *g, const char *cname, const astrid_wit_type *t)
{
    buf kb = {0};
    ckey(&kb, t);
    char *key = kb.s;
    for (size_t i = 0; i < g->nseen; i++)
        if (strcmp(g->seen[i].cname, cname) == 0) {
            int same = key && strcmp(key, g->seen[i].key) == 0;
            if (!same)
                gfail(g, "types '%s' and '%s' would both be C type %s", g->seen[i].key,
                      key ? key : "?", cname);
            free(key);
            return 1;
        }
    if (g->nseen == g->cseen) {
        size_t nc = g->cseen ? g->cseen * 2 : 64;
        void *s = realloc(g->seen, nc * sizeof *g->seen);
        if (!s) {
            free(key);
            gfail(g, "out of memory");
            return 1;
        }
        g->seen = s;
        g->cseen = nc;
    }
    g->seen[g->nseen].cname = strdup(cname);
    g->seen[g->nseen].key = key;
    g->nseen++;
    return 0;
}

/* The shared numbers of a descriptor: kind, guest size/align, flat. */
static void desc_head(gen *g, const astrid_wit_type *t, const char *kind, const char *cname)
{
    uint32_t size, align;
    astrid_wit_size_align(t, &size, &align);
    char flat[ASTRID_WIT_FLAT_CAP + 1];
    size_t nf = astrid_wit_flatten(t, flat, sizeof flat);
    out(&g->c, "    .kind = ASTRID_CANON_%s, .size = %u, .align = %u, .csize = sizeof(%s),\n", kind,
        size, align, cname);
    out(&g->c, "    .flat = \"%s\", .nflat = %zu,\n", flat, nf);
}

static void emit_type(gen *g, const astrid_wit_type *t);

static void field_row(gen *g, const astrid_wit_type *ft, uint32_t off, const char *cname,
                      const char *member)
{
    if (!ft) {
        out(&g->c, "    {NULL, 0, 0},\n");
        return;
    }
    char *d = dname(ft);
    out(&g->c, "    {&%s, %u, offsetof(%s, %s)},\n", d, off, cname, member);
    free(d);
}

static void emit_record(gen *g, const astrid_wit_type *t, const char *cname, const char *m)
{
    const astrid_wit_typedef *d = t->kind == ASTRID_WIT_NAMED ? t->def : NULL;
    size_t n = d ? d->nfields : t->nitems;
    if (d)
        doc(&g->h, "", d->doc);
    out(&g->h, "typedef struct %s {\n", cname);
    char f[ASTRID_WIT_MAX_IDENT + 8];
    for (size_t i = 0; i < n; i++) {
        const astrid_wit_type *ft = d ? d->fields[i].type : t->items[i];
        char *ct = ctype(ft);
        if (d) {
            doc(&g->h, "    ", d->fields[i].doc);
            cid(f, sizeof f, d->fields[i].name);
        } else {
            snprintf(f, sizeof f, "f%zu", i);
        }
        out(&g->h, "    %s %s;\n", ct, f);
        free(ct);
    }
    out(&g->h, "} %s;\n", cname);
    out(&g->c, "static const astrid_canon_field %s_f[] = {\n", m);
    for (size_t i = 0; i < n; i++) {
        if (d)
            cid(f, sizeof f, d->fields[i].name);
        else
            snprintf(f, sizeof f, "f%zu", i);
        field_row(g, d ? d->fields[i].type : t->items[i], astrid_wit_field_offset(t, i), cname, f);
    }
    out(&g->c, "};\n");
}

static void emit_type(gen *g, const astrid_wit_type *t)
{
    t = astrid_wit_unalias(t);
    if (g->failed || is_prim(t))
        return;
    char *cname = ctype(t), *dn = dname(t);
    if (!cname || !dn || seen(g, cname, t)) {
        free(cname);
        free(dn);
        return;
    }
    /* children first: C needs their definitions */
    const astrid_wit_typedef *d = t->kind == ASTRID_WIT_NAMED ? t->def : NULL;
    if (t->elem)
        emit_type(g, t->elem);
    if (t->ok)
        emit_type(g, t->ok);
    if (t->err)
        emit_type(g, t->err);
    for (size_t i = 0; i < t->nitems; i++)
        emit_type(g, t->items[i]);
    for (size_t i = 0; d && i < d->nfields; i++)
        if (d->fields[i].type)
            emit_type(g, d->fields[i].type);

    char up[300], f[ASTRID_WIT_MAX_IDENT + 8];
    const char *m = dn; /* the descriptor's name; its field table is <m>_f */
    out(&g->c, "\n");
    out(&g->h, "\n");
    char *elem = t->elem ? ctype(t->elem) : NULL, *edesc = t->elem ? dname(t->elem) : NULL;
    if (t->kind == ASTRID_WIT_LIST) {
        out(&g->h, "typedef struct %s {\n    %s *v;\n    size_t n;\n} %s;\n", cname, elem, cname);
        out(&g->c, "const astrid_canon_type %s = {\n", m);
        desc_head(g, t, "LIST", cname);
        out(&g->c, "    .elem = &%s};\n", edesc);
    } else if (t->kind == ASTRID_WIT_OPTION) {
        out(&g->h, "typedef struct %s {\n    bool has;\n    %s val;\n} %s;\n", cname, elem, cname);
        out(&g->c, "const astrid_canon_type %s = {\n", m);
        desc_head(g, t, "OPTION", cname);
        out(&g->c,
            "    .elem = &%s, .disc = 1, .payload = %u,\n"
            "    .ctag = offsetof(%s, has), .cval = offsetof(%s, val)};\n",
            edesc, astrid_wit_payload_offset(t), cname, cname);
    } else if (t->kind == ASTRID_WIT_RESULT) {
        char *ok = t->ok ? ctype(t->ok) : NULL, *er = t->err ? ctype(t->err) : NULL;
        out(&g->h, "typedef struct %s {\n    bool is_err;\n", cname);
        if (ok)
            out(&g->h, "    %s ok;\n", ok);
        if (er)
            out(&g->h, "    %s err;\n", er);
        out(&g->h, "} %s;\n", cname);
        free(ok);
        free(er);
        out(&g->c, "static const astrid_canon_field %s_f[] = {\n", m);
        field_row(g, t->ok, 0, cname, "ok");
        field_row(g, t->err, 0, cname, "err");
        out(&g->c, "};\n");
        out(&g->c, "const astrid_canon_type %s = {\n", m);
        desc_head(g, t, "RESULT", cname);
        out(&g->c,
            "    .fields = %s_f, .nfields = 2, .disc = 1, .payload = %u,\n"
            "    .ctag = offsetof(%s, is_err)};\n",
            m, astrid_wit_payload_offset(t), cname);
    } else if (t->kind == ASTRID_WIT_TUPLE || (d && d->kind == ASTRID_WIT_RECORD)) {
        emit_record(g, t, cname, m);
        out(&g->c, "const astrid_canon_type %s = {\n", m);
        desc_head(g, t, "RECORD", cname);
        out(&g->c, "    .fields = %s_f, .nfields = %zu};\n", m, d ? d->nfields : t->nitems);
    } else if (d && (d->kind == ASTRID_WIT_ENUM || d->kind == ASTRID_WIT_FLAGS)) {
        doc(&g->h, "", d->doc);
        snprintf(up, sizeof up, "%s", cname);
        upper(up);
        bool fl = d->kind == ASTRID_WIT_FLAGS;
        if (fl)
            out(&g->h, "typedef uint32_t %s;\n", cname);
        else
            out(&g->h, "typedef enum %s {\n", cname);
        for (size_t i = 0; i < d->nfields; i++) {
            cid(f, sizeof f, d->fields[i].name);
            upper(f);
            if (fl) {
                doc(&g->h, "", d->fields[i].doc);
                out(&g->h, "#define %s_%s (1u << %zu)\n", up, f, i);
            } else {
                doc(&g->h, "    ", d->fields[i].doc);
                out(&g->h, "    %s_%s = %zu,\n", up, f, i);
            }
        }
        if (!fl)
            out(&g->h, "} %s;\n", cname);
        out(&g->c, "const astrid_canon_type %s = {\n", m);
        desc_head(g, t, fl ? "FLAGS" : "ENUM", cname);
        out(&g->c, "    .nfields = %zu};\n", d->nfields);
    } else if (d && d->kind == ASTRID_WIT_VARIANT) {
        doc(&g->h, "", d->doc);
        snprintf(up, sizeof up, "%s", cname);
        upper(up);
        out(&g->h, "enum {\n");
        bool payload = false;
        for (size_t i = 0; i < d->nfields; i++) {
            cid(f, sizeof f, d->fields[i].name);
            upper(f);
            doc(&g->h, "    ", d->fields[i].doc);
            out(&g->h, "    %s_%s = %zu,\n", up, f, i);
            payload |= d->fields[i].type != NULL;
        }
        out(&g->h, "};\ntypedef struct %s {\n    uint32_t tag;\n", cname);
        if (payload) {
            out(&g->h, "    union {\n");
            for (size_t i = 0; i < d->nfields; i++) {
                if (!d->fields[i].type)
                    continue;
                char *ct = ctype(d->fields[i].type);
                cid(f, sizeof f, d->fields[i].name);
                out(&g->h, "        %s %s;\n", ct, f);
                free(ct);
            }
            out(&g->h, "    } u;\n");
        }
        out(&g->h, "} %s;\n", cname);
        out(&g->c, "static const astrid_canon_field %s_f[] = {\n", m);
        for (size_t i = 0; i < d->nfields; i++) {
            char member[ASTRID_WIT_MAX_IDENT + 16];
            cid(f, sizeof f, d->fields[i].name);
            snprintf(member, sizeof member, "u.%s", f);
            field_row(g, d->fields[i].type, 0, cname, member);
        }
        out(&g->c, "};\n");
        out(&g->c, "const astrid_canon_type %s = {\n", m);
        desc_head(g, t, "VARIANT", cname);
        out(&g->c,
            "    .fields = %s_f, .nfields = %zu, .disc = %u, .payload = %u,\n"
            "    .ctag = offsetof(%s, tag)};\n",
            m, d->nfields, astrid_wit_disc_size(t), astrid_wit_payload_offset(t), cname);
    }
    out(&g->h, "extern const astrid_canon_type %s;\n", m);
    free(elem);
    free(edesc);
    free(cname);
    free(dn);
}

/* ------------------------------------------------------------ functions */
static const char *core_c(char l)
{
    return l == 'I' ? "uint64_t" : l == 'f' ? "float" : l == 'F' ? "double" : "uint32_t";
}

static const char *core_guest(char l)
{
    return l == 'I' ? "int64_t" : l == 'f' ? "float" : l == 'F' ? "double" : "int32_t";
}

static void wasm2c_mangle(buf *b, const char *s)
{
    out(b, "Z_");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Y') || (*p >= '0' && *p <= '9') ||
            *p == '_')
            out(b, "%c", *p);
        else
            out(b, "Z%02X", *p);
    }
}

/* astrid_host_<iface>_<fn> without the fn's own "<iface>-" prefix:
 * kv/kv-get -> kv_get, identity/identity-resolve -> identity_resolve. */
static void hname(char *dst, size_t n, const char *iface, const char *fn)
{
    char a[ASTRID_WIT_MAX_IDENT + 4], b[ASTRID_WIT_MAX_IDENT + 4];
    size_t il = strlen(iface);
    if (strncmp(fn, iface, il) == 0 && fn[il] == '-')
        fn += il + 1;
    cid(a, sizeof a, iface);
    cid(b, sizeof b, fn);
    /* cid escaped keywords with '_'; inside a longer name none is needed */
    size_t al = strlen(a), bl = strlen(b);
    if (al && a[al - 1] == '_')
        a[al - 1] = '\0';
    if (bl && b[bl - 1] == '_')
        b[bl - 1] = '\0';
    snprintf(dst, n, "%s_%s", a, b);
}

static char *sig_comment(const astrid_wit_func *f)
{
    buf b = {0};
    out(&b, "%s: func(", f->name);
    for (size_t i = 0; i < f->nparams; i++) {
        char *ts = astrid_wit_type_str(f->params[i].type);
        out(&b, "%s%s: %s", i ? ", " : "", f->params[i].name, ts ? ts : "?");
        free(ts);
    }
    out(&b, ")");
    if (f->result) {
        char *ts = astrid_wit_type_str(f->result);
        out(&b, " -> %s", ts ? ts : "?");
        free(ts);
    }
    return b.s;
}

/* The hand-written function's parameter list (after the call). */
static void hand_params(gen *g, buf *b, const astrid_wit_func *f, const astrid_wit_type *outt)
{
    char p[ASTRID_WIT_MAX_IDENT + 8];
    for (size_t i = 0; i < f->nparams; i++) {
        char *ct = ctype(f->params[i].type);
        pid(p, sizeof p, f->params[i].name);
        out(b, ", %s%s %s%s", by_value(f->params[i].type) ? "" : "const ", ct,
            by_value(f->params[i].type) ? "" : "*", p);
        free(ct);
    }
    if (outt) {
        char *ct = ctype(outt);
        out(b, ", %s *out", ct);
        free(ct);
    }
    (void)g;
}

/* The core-wasm import module of an interface: ns:name/iface@version. */
static void module_name(const gen *g, const astrid_wit_iface *fi, char *dst, size_t n)
{
    snprintf(dst, n, "%s:%s/%s%s%s", g->pkg->ns, g->pkg->name, fi->name, g->pkg->version ? "@" : "",
             g->pkg->version ? g->pkg->version : "");
}

static void emit_func(gen *g, const astrid_wit_iface *fi, const astrid_wit_func *f)
{
    char ps[64], rs[8];
    astrid_err e;
    if (astrid_wit_func_core_sig(f, ps, sizeof ps, rs, sizeof rs, &e) != 0) {
        gfail(g, "%s.%s: %s", fi->name, f->name, e.msg);
        return;
    }
    char module[400];
    module_name(g, fi, module, sizeof module);
    char *comment = sig_comment(f);
    char h[2 * ASTRID_WIT_MAX_IDENT + 8];
    hname(h, sizeof h, fi->name, f->name);
    out(&g->tables, "    {\"%s\", \"%s\", \"%s\", 0},\n", f->name, ps, rs);

    /* guest import */
    size_t np = strlen(ps);
    const astrid_wit_type *res = f->result ? astrid_wit_unalias(f->result) : NULL;
    bool retptr = res && rs[0] == '\0';
    out(&g->sdk, "\n/* %s */\n", comment);
    if (retptr) {
        uint32_t sz, al;
        astrid_wit_size_align(res, &sz, &al);
        char up[sizeof h];
        snprintf(up, sizeof up, "%s", h);
        upper(up);
        out(&g->sdk,
            "#define ASTRID_IMPORT_%s_RET_SIZE %u\n#define ASTRID_IMPORT_%s_RET_ALIGN %u\n", up, sz,
            up, al);
    }
    out(&g->sdk,
        "__attribute__((import_module(\"%s\"), import_name(\"%s\"))) extern %s "
        "astrid_import_%s(",
        module, f->name, rs[0] ? core_guest(rs[0]) : "void", h);
    for (size_t i = 0; i < np; i++) {
        if (retptr && i == np - 1)
            out(&g->sdk, "%sint32_t retptr", i ? ", " : "");
        else
            out(&g->sdk, "%s%s a%zu", i ? ", " : "", core_guest(ps[i]), i);
    }
    out(&g->sdk, "%s);\n", np ? "" : "void");
    /* the C types of every function */
    for (size_t i = 0; i < f->nparams; i++)
        emit_type(g, f->params[i].type);
    if (res)
        emit_type(g, res);
    /* the hand-written function's name must be unique */
    for (size_t i = 0; i < g->nhnames; i++)
        if (strcmp(g->hnames[i], h) == 0)
            gfail(g, "%s.%s: C name astrid_host_%s is taken by another function", fi->name, f->name,
                  h);
    char **hn = realloc(g->hnames, (g->nhnames + 1) * sizeof *hn);
    if (!hn) {
        gfail(g, "out of memory");
        free(comment);
        return;
    }
    g->hnames = hn;
    g->hnames[g->nhnames++] = strdup(h);

    bool is_result = res && res->kind == ASTRID_WIT_RESULT;
    if (is_result && res->err && astrid_wit_unalias(res->err)->kind != ASTRID_WIT_STRING) {
        gfail(g, "%s.%s: a result's error type must be string (or none)", fi->name, f->name);
        free(comment);
        return;
    }
    const astrid_wit_type *outt = res && is_result ? res->ok : res;

    /* params record: its guest layout is that of a tuple of the params */
    const astrid_wit_type **items = calloc(f->nparams ? f->nparams : 1, sizeof(void *));
    if (!items) {
        gfail(g, "out of memory");
        free(comment);
        return;
    }
    for (size_t i = 0; i < f->nparams; i++)
        items[i] = f->params[i].type;
    astrid_wit_type tup = {.kind = ASTRID_WIT_TUPLE, .items = items, .nitems = f->nparams};
    char args[sizeof h + 16], p[ASTRID_WIT_MAX_IDENT + 8];
    snprintf(args, sizeof args, "astrid_args_%s", h);

    /* header: the prototype and its unavailable stand-in */
    buf proto = {0};
    out(&proto, "int astrid_host_%s(astrid_host_call *call", h);
    hand_params(g, &proto, f, outt);
    out(&proto, ")");
    out(&g->h, "\n/* %s.%s */\n", fi->name, comment);
    doc(&g->h, "", f->doc);
    out(&g->h, "%s;\n", proto.s);
    out(&g->h, "#define ASTRID_HOST_UNAVAILABLE_%s(why) \\\n", h);
    out(&g->h, "    const char astrid_host_unavailable__%s[] = \"%s.%s\"; \\\n", h, fi->name,
        f->name);
    out(&g->h, "    %s \\\n    { \\\n", proto.s);
    for (size_t i = 0; i < f->nparams; i++) {
        pid(p, sizeof p, f->params[i].name);
        out(&g->h, "        (void)%s; \\\n", p);
    }
    if (outt)
        out(&g->h, "        (void)out; \\\n");
    out(&g->h, "        return astrid_host_unavailable(call, why); \\\n    }\n");
    free(proto.s);

    /* glue: params record, function descriptor, wrapper */
    out(&g->c, "\n/* %s.%s */\ntypedef struct %s {\n", fi->name, comment, args);
    for (size_t i = 0; i < f->nparams; i++) {
        char *ct = ctype(f->params[i].type);
        pid(p, sizeof p, f->params[i].name);
        out(&g->c, "    %s %s;\n", ct, p);
        free(ct);
    }
    if (!f->nparams)
        out(&g->c, "    char none;\n");
    out(&g->c, "} %s;\n", args);
    if (f->nparams) {
        out(&g->c, "static const astrid_canon_field %s_f[] = {\n", args);
        for (size_t i = 0; i < f->nparams; i++) {
            pid(p, sizeof p, f->params[i].name);
            field_row(g, f->params[i].type, astrid_wit_field_offset(&tup, i), args, p);
        }
        out(&g->c, "};\n");
    }
    out(&g->c, "static const astrid_canon_type %s_t = {\n", args);
    desc_head(g, &tup, "RECORD", args);
    out(&g->c, "    .fields = %s%s, .nfields = %zu};\n", f->nparams ? args : "NULL",
        f->nparams ? "_f" : "", f->nparams);
    free(items);

    buf sym = {0};
    wasm2c_mangle(&sym, module);
    wasm2c_mangle(&sym, f->name);
    char *rd = res ? dname(res) : NULL, *rc = res ? ctype(res) : NULL;
    char flat[ASTRID_WIT_FLAT_CAP + 1];
    size_t nflat = 0;
    for (size_t i = 0; i < f->nparams; i++)
        nflat += astrid_wit_flatten(f->params[i].type, flat, sizeof flat);
    bool in_mem = nflat > ASTRID_WIT_MAX_FLAT_PARAMS;
    out(&g->c, "extern const char astrid_host_unavailable__%s[] __attribute__((weak));\n", h);
    out(&g->c,
        "const astrid_canon_func astrid_fn_%s = {\n"
        "    .iface = \"%s\", .name = \"%s\", .symbol = \"%s\",\n"
        "    .params_sig = \"%s\", .results_sig = \"%s\",\n"
        "    .params = &%s_t, .result = %s%s, .is_result = %d, .retptr = %d,\n"
        "    .params_in_memory = %d, .unavailable = astrid_host_unavailable__%s};\n",
        h, fi->name, f->name, sym.s, ps, rs, args, rd ? "&" : "", rd ? rd : "NULL", is_result,
        retptr, in_mem, h);
    /* the wrapper wasm2c's code calls */
    buf plist = {0};
    out(&plist, "void *inst");
    size_t nargs = retptr ? np - 1 : np;
    for (size_t i = 0; i < np; i++)
        if (retptr && i == np - 1)
            out(&plist, ", uint32_t ret");
        else
            out(&plist, ", %s a%zu", core_c(ps[i]), i);
    const char *ret_c = rs[0] ? core_c(rs[0]) : "void";
    out(&g->c, "%s %s(%s);\n%s %s(%s)\n{\n", ret_c, sym.s, plist.s, ret_c, sym.s, plist.s);
    out(&g->c, "    const uint64_t flat[%zu] = {", nargs ? nargs : 1);
    for (size_t i = 0; i < nargs; i++) {
        if (ps[i] == 'f')
            out(&g->c, "%sastrid_canon_f32_bits(a%zu)", i ? ", " : "", i);
        else if (ps[i] == 'F')
            out(&g->c, "%sastrid_canon_f64_bits(a%zu)", i ? ", " : "", i);
        else
            out(&g->c, "%sa%zu", i ? ", " : "", i);
    }
    if (!nargs)
        out(&g->c, "0");
    out(&g->c, "};\n    %s args;\n", args);
    if (res)
        out(&g->c, "    %s res;\n", rc);
    out(&g->c, "    astrid_host_call call;\n");
    out(&g->c, "    astrid_canon_begin(&call, inst, &astrid_fn_%s, flat, %zu, &args, %s);\n", h,
        nargs, res ? "&res" : "NULL");
    out(&g->c, "    int rc = call.too_big ? -1 : astrid_host_%s(&call", h);
    for (size_t i = 0; i < f->nparams; i++) {
        pid(p, sizeof p, f->params[i].name);
        out(&g->c, ", %sargs.%s", by_value(f->params[i].type) ? "" : "&", p);
    }
    if (outt)
        out(&g->c, ", %s", is_result ? "&res.ok" : "&res");
    out(&g->c, ");\n");
    if (rs[0]) {
        out(&g->c, "    uint64_t r = 0;\n    astrid_canon_end(&call, rc, 0, &r);\n");
        if (rs[0] == 'f')
            out(&g->c, "    return astrid_canon_bits_f32(r);\n");
        else if (rs[0] == 'F')
            out(&g->c, "    return astrid_canon_bits_f64(r);\n");
        else
            out(&g->c, "    return (%s)r;\n", ret_c);
    } else {
        out(&g->c, "    astrid_canon_end(&call, rc, %s, NULL);\n", retptr ? "ret" : "0");
    }
    out(&g->c, "}\n");
    free(plist.s);
    free(sym.s);
    free(rd);
    free(rc);
    free(comment);
}

/* ------------------------------------------------------------ driver */
/* `text` as the C array `name` (astrid-build carries the guest header in
 * its binary, so capsules built anywhere get the declarations this build
 * serves). */
static void embed(gen *g, const char *name, const char *text)
{
    out(&g->embed,
        "/* GENERATED by astrid-witgen from %s: do not edit. sdk/astrid_imports.h\n"
        " * as a string, for astrid-build. */\n"
        "extern const char %s[];\nconst char %s[] =\n    \"",
        g->path, name, name);
    for (const char *p = text; *p; p++) {
        if (*p == '\n')
            out(&g->embed, "\\n\"%s", p[1] ? "\n    \"" : "");
        else if (*p == '"' || *p == '\\' || *p == '?') /* '?': no trigraphs */
            out(&g->embed, "\\%c", *p);
        else
            out(&g->embed, "%c", *p);
    }
    out(&g->embed, "%s;\n", text[0] && text[strlen(text) - 1] == '\n' ? "" : "\"");
}

static const char *const h_head =
    "/* GENERATED by astrid-witgen from %s: do not edit (docs/abi.md,\n"
    " * \"Generated glue\"). C types of the WIT, and for every host function\n"
    " * the prototype of its hand-written body:\n"
    " *   int astrid_host_<iface>_<fn>(astrid_host_call *call, <params>, <T *out>);\n"
    " * returning 0 (out filled) or -1 after astrid_host_fail() (the message\n"
    " * becomes the result's err). Ownership is canon.h's: params are borrowed\n"
    " * for the call; out starts zeroed and what it holds is freed by the glue.\n"
    " * A function without a body fails the link (\"undefined reference to\n"
    " * astrid_host_...\"); one this build does not provide is written\n"
    " * ASTRID_HOST_UNAVAILABLE(<iface>_<fn>, why) (why NULL: \"<iface>.<fn>:\n"
    " * unavailable: not implemented in this build\") and is then listed by\n"
    " * astrid_glue_funcs[i]->unavailable. */\n"
    "#ifndef ASTRID_GEN_HOST_GLUE_H\n#define ASTRID_GEN_HOST_GLUE_H\n\n"
    "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n"
    "#include \"capsule/host/canon.h\"\n\n"
    "#define ASTRID_HOST_UNAVAILABLE(fn, why) ASTRID_HOST_UNAVAILABLE_##fn(why)\n";

int astrid_witgen(const char *wit, size_t len, const char *path, astrid_witgen_out *o,
                  astrid_err *err)
{
    memset(o, 0, sizeof *o);
    astrid_err perr;
    astrid_wit_package *pkg = astrid_wit_parse(wit, len, &perr);
    if (!pkg)
        return astrid_err_set(err, perr.code, "%s: %s", path, perr.msg);
    gen g = {.pkg = pkg, .path = path, .err = err};
    if (!pkg->ns) {
        gfail(&g, "no package declaration (the import module names need it)");
        goto done;
    }
    out(&g.h, h_head, path);
    out(&g.c,
        "/* GENERATED by astrid-witgen from %s: do not edit. Type descriptors\n"
        " * and the wasm2c-named wrappers of the host functions, their engine\n"
        " * rows and the host module table (see host_glue.h). */\n"
        "#include \"host_glue.h\"\n\n#include <stddef.h>\n",
        path);
    out(&g.sdk,
        "/* GENERATED by astrid-witgen from %s: do not edit. The guest side of\n"
        " * every host function: its core-wasm import (the canonical ABI's\n"
        " * lowering, docs/abi.md). Arguments a<i> are the flattened parameters in\n"
        " * order (a string or list is (ptr, len), an option (is-some, value...));\n"
        " * retptr points at RET_SIZE bytes aligned to RET_ALIGN that the host fills.\n"
        " * For wasm32 guests (clang --target=wasm32-wasi). */\n"
        "#ifndef ASTRID_IMPORTS_H\n#define ASTRID_IMPORTS_H\n\n#include <stdint.h>\n",
        path);
    /* every named type, whether a function uses it or not */
    for (size_t i = 0; i < pkg->nifaces; i++)
        for (size_t k = 0; k < pkg->ifaces[i]->ntypes; k++) {
            const astrid_wit_typedef *d = pkg->ifaces[i]->types[k];
            astrid_wit_type t = {.kind = ASTRID_WIT_NAMED, .name = d->name, .def = d};
            emit_type(&g, &t);
        }
    buf idx = {0}, tabs = {0}, mods = {0};
    size_t nglued = 0, nmods = 0;
    for (size_t i = 0; i < pkg->nifaces && !g.failed; i++) {
        const astrid_wit_iface *fi = pkg->ifaces[i];
        if (!fi->nfuncs)
            continue;
        char ic[ASTRID_WIT_MAX_IDENT + 4], up[ASTRID_WIT_MAX_IDENT + 4], module[400];
        cid(ic, sizeof ic, fi->name);
        snprintf(up, sizeof up, "%s", ic);
        upper(up);
        g.tables.n = 0;
        for (size_t k = 0; k < fi->nfuncs; k++) {
            char h[2 * ASTRID_WIT_MAX_IDENT + 8];
            emit_func(&g, fi, &fi->funcs[k]);
            hname(h, sizeof h, fi->name, fi->funcs[k].name);
            out(&idx, "    &astrid_fn_%s,\n", h);
            nglued++;
        }
        out(&tabs, "\nconst astrid_wasm_host_func astrid_glue_%s_fns[%zu] = {\n%s};\n", ic,
            fi->nfuncs, g.tables.s ? g.tables.s : "");
        out(&g.h,
            "\n/* %s: engine rows (name, params, results) of its %zu functions */\n"
            "#define ASTRID_GLUE_%s_NFNS %zu\n"
            "extern const astrid_wasm_host_func astrid_glue_%s_fns[%zu];\n",
            fi->name, fi->nfuncs, up, fi->nfuncs, ic, fi->nfuncs);
        module_name(&g, fi, module, sizeof module);
        out(&mods, "    {\"%s\", astrid_glue_%s_fns, %zu, 0},\n", module, ic, fi->nfuncs);
        nmods++;
    }
    out(&g.c, "%s", tabs.s ? tabs.s : "");
    out(&g.c, "\nconst astrid_canon_func *const astrid_glue_funcs[] = {\n%s    NULL};\n",
        idx.s ? idx.s : "");
    out(&g.c, "const size_t astrid_glue_nfuncs = %zu;\n", nglued);
    /* the engine's table (capsule/host/host.h): the wrappers above are
     * linked with it, and wasm2c's code finds them by name at dlopen */
    out(&g.c, "\nconst astrid_wasm_host_module astrid_capsule_host_modules[] = {\n%s};\n",
        mods.s ? mods.s : "");
    out(&g.c, "const size_t astrid_capsule_host_nmodules = %zu;\n", nmods);
    out(&g.h, "\n/* Every host function (NULL-terminated), for listing and tests. */\n"
              "extern const astrid_canon_func *const astrid_glue_funcs[];\n"
              "extern const size_t astrid_glue_nfuncs;\n\n#endif\n");
    out(&g.sdk, "\n#ifdef ASTRID_IMPORTS_REFERENCE_ALL\n"
                "/* Every import referenced, so an object file lists them all (tests). */\n"
                "void *const astrid_imports_all[] = {\n");
    for (size_t i = 0; i < pkg->nifaces; i++)
        for (size_t k = 0; k < pkg->ifaces[i]->nfuncs; k++) {
            char h[2 * ASTRID_WIT_MAX_IDENT + 8];
            hname(h, sizeof h, pkg->ifaces[i]->name, pkg->ifaces[i]->funcs[k].name);
            out(&g.sdk, "    (void *)astrid_import_%s,\n", h);
        }
    out(&g.sdk, "};\n#endif\n\n#endif\n");
    free(idx.s);
    free(tabs.s);
    free(mods.s);
    if (g.h.oom || g.c.oom || g.sdk.oom || idx.oom || tabs.oom || mods.oom)
        gfail(&g, "out of memory");
    else
        embed(&g, "astrid_sdk_imports_h", g.sdk.s);
done:
    for (size_t i = 0; i < g.nseen; i++) {
        free(g.seen[i].cname);
        free(g.seen[i].key);
    }
    free(g.seen);
    for (size_t i = 0; i < g.nhnames; i++)
        free(g.hnames[i]);
    free(g.hnames);
    free(g.tables.s);
    astrid_wit_free(pkg);
    if (g.failed || g.embed.oom) {
        free(g.h.s);
        free(g.c.s);
        free(g.sdk.s);
        free(g.embed.s);
        return g.failed ? -1 : astrid_err_set(err, ASTRID_E_NOMEM, "%s: out of memory", path);
    }
    o->glue_h = g.h.s;
    o->glue_c = g.c.s;
    o->imports = g.sdk.s;
    o->imports_c = g.embed.s;
    return 0;
}

void astrid_witgen_out_free(astrid_witgen_out *o)
{
    free(o->glue_h);
    free(o->glue_c);
    free(o->imports);
    free(o->imports_c);
    memset(o, 0, sizeof *o);
}
