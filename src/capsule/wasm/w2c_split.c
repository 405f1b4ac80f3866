/* Split wasm2c 1.0.32 output into translation units (see w2c_split.h).
 *
 * The shape relied on, all at column 0 (function bodies are indented):
 *   prelude ... `static bool s_module_initialized = false;`
 *   `static u32 func_types[N];`, init_func_types
 *   `static <ret> w2c_<name>(<params>);`          one per defined function
 *   init_* functions, `static const u8 data_segment_data_<x>[] = {`,
 *   `static const wasm_elem_segment_expr_t elem_segment_exprs_<x>[] = {`
 *   `static <ret> w2c_<name>(<params>) {` ... `}`  in declaration order
 *   exports (comment `export: 'x'` + wrapper), init_module, instantiate, free
 * Anything else declines the split. A plain export wrapper goes to the part
 * of the function it calls (export_wrapper()); everything else after the
 * marker that is not a function body stays in part 0. */
#include "capsule/wasm/w2c_split.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astrid/fs.h"

#define MAX_PARTS 64
#define SHARED "ASTRID_W2C_SHARED "

typedef enum { L_MAIN, L_DECL, L_SHARED, L_FUNC, L_GUARD, L_EXPORT } line_kind;

typedef struct {
    const char *s;
    size_t n; /* without the newline */
    line_kind kind;
    int func; /* L_FUNC, L_EXPORT: index into funcs */
} line;

typedef struct {
    size_t first, last; /* line indices, inclusive */
    size_t bytes;
    int part;
    uint64_t refs; /* bit k: part k names it */
    const char *name;
    size_t name_len;
} func;

typedef struct {
    char *p;
    size_t n, cap;
    bool oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static bool starts(const line *l, const char *pre)
{
    size_t k = strlen(pre);
    return l->n >= k && memcmp(l->s, pre, k) == 0;
}

static bool ends(const line *l, const char *suf)
{
    size_t k = strlen(suf);
    return l->n >= k && memcmp(l->s + l->n - k, suf, k) == 0;
}

static bool is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The identifier a top-level declaration line declares: the last one before
 * the first '(' or '[' or '=' or ';'. */
static void decl_name(const line *l, const char **name, size_t *len)
{
    size_t e = 0;
    while (e < l->n && !strchr("([=;", l->s[e]))
        e++;
    while (e > 0 && l->s[e - 1] == ' ')
        e--;
    size_t b = e;
    while (b > 0 && is_ident(l->s[b - 1]))
        b--;
    *name = l->s + b;
    *len = e - b;
}

/* Whole-word occurrence of name in [s, s+n). */
static bool mentions(const char *s, size_t n, const char *name, size_t len)
{
    const char *end = s + n, *p = s;
    while (len && (p = memmem(p, (size_t)(end - p), name, len))) {
        bool left = p == s || !is_ident(p[-1]);
        bool right = p + len == end || !is_ident(p[len]);
        if (left && right)
            return true;
        p += len;
    }
    return false;
}

static void put_line(buf *b, const line *l)
{
    put(b, l->s, l->n);
    put(b, "\n", 1);
}

/* `static X` -> `ASTRID_W2C_SHARED X` */
static void put_unstatic(buf *b, const line *l)
{
    puts_(b, SHARED);
    put(b, l->s + 7, l->n - 7);
    put(b, "\n", 1);
}

/* Scratch output in the compile's private directory, removed after the run
 * and never read after a crash: not state, so no fsync. */
static int write_scratch(const char *path, const buf *b, astrid_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return astrid_err_sys(err, "wasm: creating %s", path);
    size_t off = 0;
    while (off < b->n) {
        ssize_t w = write(fd, b->p + off, b->n - off);
        if (w <= 0) {
            close(fd);
            return astrid_err_sys(err, "wasm: writing %s", path);
        }
        off += (size_t)w;
    }
    if (close(fd) != 0)
        return astrid_err_sys(err, "wasm: writing %s", path);
    return 0;
}

/* Classify the lines; returns false when the shape is not the expected one. */
static bool classify(line *ls, size_t nl, size_t s0, func **funcs_out, size_t *nfuncs_out)
{
    size_t ndecl = 0, nfuncs = 0;
    const line **decls = calloc(nl, sizeof(const line *));
    func *funcs = calloc(nl, sizeof *funcs);
    bool ok = decls && funcs;
    for (size_t i = s0; ok && i < nl; i++) {
        line *l = &ls[i];
        if (!starts(l, "static "))
            continue;
        const char *nm;
        size_t nn;
        decl_name(l, &nm, &nn);
        bool w2c = nn > 4 && memcmp(nm, "w2c_", 4) == 0;
        if (w2c && ends(l, ");") && nfuncs == 0) {
            l->kind = L_DECL;
            l->func = (int)ndecl;
            decls[ndecl++] = l;
        } else if (w2c && ends(l, ") {")) {
            /* definitions come in declaration order */
            const char *dn;
            size_t dl;
            if (nfuncs >= ndecl) {
                ok = false;
                break;
            }
            decl_name(decls[nfuncs], &dn, &dl);
            size_t e = i + 1;
            while (e < nl && !(ls[e].n == 1 && ls[e].s[0] == '}'))
                e++;
            if (dl != nn || memcmp(dn, nm, nn) != 0 || e == nl) {
                ok = false;
                break;
            }
            func *f = &funcs[nfuncs];
            f->first = i, f->last = e;
            f->name = nm, f->name_len = nn;
            f->bytes = (size_t)(ls[e].s + ls[e].n - l->s);
            for (size_t k = i; k <= e; k++)
                ls[k].kind = L_FUNC, ls[k].func = (int)nfuncs;
            nfuncs++;
            i = e;
        } else if ((starts(l, "static u32 func_types[") && ends(l, "];")) ||
                   (starts(l, "static const ") && ends(l, "[] = {") &&
                    ((nn > 18 && memcmp(nm, "data_segment_data_", 18) == 0) ||
                     (nn > 19 && memcmp(nm, "elem_segment_exprs_", 19) == 0)))) {
            l->kind = L_SHARED;
        } else {
            l->kind = L_GUARD;
        }
    }
    ok = ok && nfuncs == ndecl && nfuncs > 0;
    /* a static left in part 0 that a function body names would not link */
    for (size_t i = s0; ok && i < nl; i++) {
        if (ls[i].kind != L_GUARD)
            continue;
        const char *nm;
        size_t nn;
        decl_name(&ls[i], &nm, &nn);
        const char *b = ls[funcs[0].first].s;
        const line *last = &ls[funcs[nfuncs - 1].last];
        if (nn == 0 || mentions(b, (size_t)(last->s + last->n - b), nm, nn))
            ok = false;
    }
    free(decls);
    if (!ok) {
        free(funcs);
        return false;
    }
    *funcs_out = funcs;
    *nfuncs_out = nfuncs;
    return true;
}

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Open-addressed index of the functions' names (cap a power of two). */
typedef struct {
    int32_t *slot;
    size_t cap;
} name_tab;

static bool tab_build(name_tab *t, const func *funcs, size_t nfuncs)
{
    t->cap = 16;
    while (t->cap < nfuncs * 2)
        t->cap *= 2;
    t->slot = malloc(t->cap * sizeof *t->slot);
    if (!t->slot)
        return false;
    for (size_t i = 0; i < t->cap; i++)
        t->slot[i] = -1;
    for (size_t k = 0; k < nfuncs; k++) {
        size_t h = (size_t)fnv(funcs[k].name, funcs[k].name_len) & (t->cap - 1);
        while (t->slot[h] >= 0)
            h = (h + 1) & (t->cap - 1);
        t->slot[h] = (int32_t)k;
    }
    return true;
}

/* The function named [b, b+n), or -1. */
static int tab_find(const name_tab *t, const func *funcs, const char *b, size_t n)
{
    for (size_t h = (size_t)fnv(b, n) & (t->cap - 1); t->slot[h] >= 0; h = (h + 1) & (t->cap - 1)) {
        const func *f = &funcs[t->slot[h]];
        if (f->name_len == n && memcmp(f->name, b, n) == 0)
            return t->slot[h];
    }
    return -1;
}

/* wasm2c's wrapper of a function export, four lines at column 0: the
 * comment `export: 'NAME'`, `<type> Z_<mod>Z_<name>(<params>) {`,
 *   `  return w2c_<f>(instance[, w2c_p<k>]...);`, `}`
 * The wrapper names nothing but its guest function and its own
 * parameters, so it may sit in that function's part, where the function
 * then stays static and is inlined into it as it would be unsplit (part 0
 * would otherwise hold every wrapper and every function an export reaches
 * would cross parts). Returns the function or -1 (not this shape: the
 * lines stay in part 0). */
static int export_wrapper(const line *ls, size_t nl, size_t i, const name_tab *t, const func *funcs)
{
    if (i + 3 >= nl || !starts(&ls[i], "/* export: '") || !ends(&ls[i], "' */") ||
        starts(&ls[i + 1], "static ") || !ends(&ls[i + 1], ") {") ||
        !(ls[i + 3].n == 1 && ls[i + 3].s[0] == '}') || !starts(&ls[i + 2], "  return w2c_"))
        return -1;
    const char *p = ls[i + 2].s + 9, *end = ls[i + 2].s + ls[i + 2].n, *b = p;
    while (p < end && is_ident(*p))
        p++;
    int fn = tab_find(t, funcs, b, (size_t)(p - b));
    static const char inst[] = "(instance";
    if (fn < 0 || (size_t)(end - p) < sizeof inst - 1 || memcmp(p, inst, sizeof inst - 1) != 0)
        return -1;
    p += sizeof inst - 1;
    while (end - p > 7 && memcmp(p, ", w2c_p", 7) == 0) {
        p += 7;
        const char *d = p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == d)
            return -1;
    }
    return end - p == 2 && p[0] == ')' && p[1] == ';' ? fn : -1;
}

/* Which parts name each function (any whole-word use: a call, &f in a
 * segment or ref.func, an export wrapper). A function only its own part
 * names stays static there, so the compiler may inline it into its one
 * caller and drop it, as it would unsplit. Over-counting (a local that
 * shadows the name) only costs that; under-counting cannot happen since
 * every occurrence is seen. */
static void mark_refs(const line *ls, size_t nl, size_t s0, func *funcs, const name_tab *t)
{
    for (size_t i = s0; i < nl; i++) {
        const line *l = &ls[i];
        if (l->kind == L_DECL)
            continue;
        int part = l->kind == L_FUNC || l->kind == L_EXPORT ? funcs[l->func].part : 0;
        const char *p = l->s, *end = l->s + l->n;
        while ((p = memmem(p, (size_t)(end - p), "w2c_", 4))) {
            const char *b = p;
            p += 4;
            if (b > l->s && is_ident(b[-1]))
                continue;
            while (p < end && is_ident(*p))
                p++;
            int k = tab_find(t, funcs, b, (size_t)(p - b));
            if (k >= 0)
                funcs[k].refs |= 1ull << part;
        }
    }
}

static bool local_to_part(const func *f)
{
    return (f->refs & ~(1ull << f->part)) == 0;
}

int astrid_w2c_split(const char *dir, int max_parts, size_t min_part_bytes, astrid_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/module.c", dir);
    char *src = NULL;
    size_t len = 0;
    if (max_parts < 2)
        return 1;
    if (max_parts > MAX_PARTS)
        max_parts = MAX_PARTS;
    if (astrid_read_file(path, (size_t)1 << 31, &src, &len, err) < 0)
        return -1;
    size_t nl = 0;
    for (size_t i = 0; i < len; i++)
        nl += src[i] == '\n';
    line *ls = calloc(nl + 1, sizeof *ls);
    func *funcs = NULL;
    size_t nfuncs = 0, s0 = 0;
    int rc = 1;
    bool found = false, ok = ls != NULL;
    buf b = {0};
    name_tab tab = {0};
    if (!ok) {
        rc = astrid_err_set(err, ASTRID_E_NOMEM, "wasm: out of memory");
        goto out;
    }
    nl = 0;
    for (const char *p = src, *end = src + len; p < end;) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        ls[nl].s = p;
        ls[nl].n = (size_t)((e ? e : end) - p);
        nl++;
        p = e ? e + 1 : end;
    }
    static const char marker[] = "static bool s_module_initialized = false;";
    for (size_t i = 0; i < nl; i++) {
        if (ls[i].n == sizeof marker - 1 && memcmp(ls[i].s, marker, ls[i].n) == 0) {
            if (found)
                goto out; /* twice: not the expected shape */
            found = true;
            s0 = i;
        }
    }
    if (!found)
        goto out;
    /* the prelude is repeated in every part: it may hold functions only */
    for (size_t i = 0; i < s0; i++)
        if (starts(&ls[i], "static ") && !memchr(ls[i].s, '(', ls[i].n))
            goto out;
    if (!classify(ls, nl, s0, &funcs, &nfuncs))
        goto out;
    if (!tab_build(&tab, funcs, nfuncs)) {
        rc = astrid_err_set(err, ASTRID_E_NOMEM, "wasm: out of memory");
        goto out;
    }
    /* export wrappers go with their function (and count as its bytes) */
    for (size_t i = s0; i < nl; i++) {
        if (ls[i].kind != L_MAIN)
            continue;
        int fn = export_wrapper(ls, nl, i, &tab, funcs);
        if (fn < 0)
            continue;
        for (size_t k = i; k < i + 4; k++) {
            ls[k].kind = L_EXPORT, ls[k].func = fn;
            funcs[fn].bytes += ls[k].n + 1;
        }
        i += 3;
    }
    size_t fbytes = 0, mbytes = 0;
    for (size_t i = 0; i < nfuncs; i++)
        fbytes += funcs[i].bytes;
    for (size_t i = s0; i < nl; i++)
        mbytes += ls[i].kind == L_FUNC || ls[i].kind == L_EXPORT ? 0 : ls[i].n + 1;
    size_t parts = (size_t)max_parts;
    if (min_part_bytes && fbytes / min_part_bytes < parts)
        parts = fbytes / min_part_bytes;
    if (parts > nfuncs)
        parts = nfuncs;
    if (parts < 2)
        goto out;
    /* deal bodies out in order by size; part 0's other code (export
     * wrappers, init code, data arrays) counts as much as bodies: it holds
     * the callers its static functions are inlined into */
    size_t total = fbytes + mbytes, acc = mbytes;
    for (size_t i = 0; i < nfuncs; i++) {
        size_t mid = acc + funcs[i].bytes / 2;
        size_t p = (size_t)((double)mid * (double)parts / (double)total);
        funcs[i].part = (int)(p >= parts ? parts - 1 : p);
        acc += funcs[i].bytes;
    }
    mark_refs(ls, nl, s0, funcs, &tab);
    for (size_t p = 0; p < parts; p++) {
        b.n = 0;
        for (size_t i = 0; i < s0; i++)
            put_line(&b, &ls[i]);
        puts_(&b, "#define ASTRID_W2C_SHARED __attribute__((visibility(\"hidden\")))\n");
        for (size_t i = s0; i < nl; i++) {
            const line *l = &ls[i];
            if (l->kind == L_DECL) {
                const func *f = &funcs[l->func];
                if (!local_to_part(f))
                    put_unstatic(&b, l);
                else if (f->part == (int)p)
                    put_line(&b, l);
            } else if (l->kind == L_SHARED) {
                /* `static T x[..];` / `static const T x[] = {` -> extern decl */
                size_t n = ends(l, " = {") ? l->n - 4 : l->n - 1;
                puts_(&b, "extern " SHARED);
                put(&b, l->s + 7, n - 7);
                puts_(&b, ";\n");
            }
        }
        for (size_t i = s0; i < nl; i++) {
            const line *l = &ls[i];
            bool mine =
                l->kind == L_FUNC || l->kind == L_EXPORT ? funcs[l->func].part == (int)p : p == 0;
            if (!mine || l->kind == L_DECL)
                continue;
            if (l->kind == L_SHARED ||
                (l->kind == L_FUNC && funcs[l->func].first == i && !local_to_part(&funcs[l->func])))
                put_unstatic(&b, l);
            else
                put_line(&b, l);
        }
        if (b.oom) {
            rc = astrid_err_set(err, ASTRID_E_NOMEM, "wasm: out of memory");
            goto out;
        }
        snprintf(path, sizeof path, "%s/module_%zu.c", dir, p);
        if (write_scratch(path, &b, err) < 0) {
            rc = -1;
            goto out;
        }
    }
    rc = (int)parts;
out:
    free(tab.slot);
    free(b.p);
    free(funcs);
    free(ls);
    free(src);
    return rc;
}
