/* Reader of a WebAssembly binary's interface sections (see wasm_parse.h). */
#include "capsule/wasm/wasm_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rd {
    const uint8_t *p, *end;
    astrid_err *err;
} rd;

static int bad(rd *r, const char *what)
{
    return astrid_err_set(r->err, ASTRID_E_PARSE, "wasm: malformed %s", what);
}

static int u8_(rd *r, uint8_t *v)
{
    *v = 0;
    if (r->p >= r->end)
        return bad(r, "module (unexpected end)");
    *v = *r->p++;
    return 0;
}

static int leb_u32(rd *r, uint32_t *v)
{
    uint64_t x = 0;
    *v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        uint8_t b;
        if (u8_(r, &b) < 0)
            return -1;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (x > UINT32_MAX)
                return bad(r, "LEB128 integer");
            *v = (uint32_t)x;
            return 0;
        }
    }
    return bad(r, "LEB128 integer");
}

static int skip(rd *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        return bad(r, "module (unexpected end)");
    r->p += n;
    return 0;
}

static int name_(rd *r, char **out)
{
    uint32_t n;
    if (leb_u32(r, &n) < 0 || (size_t)(r->end - r->p) < n)
        return bad(r, "name");
    char *s = malloc((size_t)n + 1);
    if (!s)
        return astrid_err_set(r->err, ASTRID_E_NOMEM, "wasm: out of memory");
    memcpy(s, r->p, n);
    s[n] = 0;
    if (memchr(r->p, 0, n)) {
        free(s);
        return astrid_err_set(r->err, ASTRID_E_UNSUPPORTED,
                              "wasm: names with NUL bytes are not supported");
    }
    r->p += n;
    *out = s;
    return 0;
}

static int valtype(rd *r, char *c)
{
    uint8_t b;
    *c = 0;
    if (u8_(r, &b) < 0)
        return -1;
    switch (b) {
    case 0x7f:
        *c = 'i';
        return 0;
    case 0x7e:
        *c = 'I';
        return 0;
    case 0x7d:
        *c = 'f';
        return 0;
    case 0x7c:
        *c = 'F';
        return 0;
    case 0x7b:
        *c = 'v';
        return 0;
    case 0x70:
        *c = 'r';
        return 0;
    case 0x6f:
        *c = 'e';
        return 0;
    default:
        return bad(r, "value type");
    }
}

static int limits(rd *r, uint64_t *initial, astrid_wasm_limits *out)
{
    uint8_t flags;
    uint32_t min, max = 0;
    if (u8_(r, &flags) < 0 || leb_u32(r, &min) < 0)
        return -1;
    if ((flags & 1) && leb_u32(r, &max) < 0)
        return -1;
    if (initial)
        *initial = min;
    if (out)
        *out = (astrid_wasm_limits){min, max, flags & 1};
    return 0;
}

static void keep(astrid_wasm_limits *arr, size_t *n, const astrid_wasm_limits *l)
{
    if (*n < ASTRID_WASM_MAX_SPACES)
        arr[*n] = *l;
    (*n)++;
}

static int sec_types(rd *r, astrid_wasm_info *info)
{
    uint32_t n;
    if (leb_u32(r, &n) < 0)
        return -1;
    if (n > (size_t)(r->end - r->p))
        return bad(r, "type section");
    info->types = calloc(n ? n : 1, sizeof *info->types);
    if (!info->types)
        return astrid_err_set(r->err, ASTRID_E_NOMEM, "wasm: out of memory");
    for (uint32_t i = 0; i < n; i++) {
        uint8_t form;
        uint32_t np, nr;
        if (u8_(r, &form) < 0 || form != 0x60)
            return bad(r, "function type");
        astrid_wasm_functype *t = &info->types[i];
        info->ntypes = i + 1;
        if (leb_u32(r, &np) < 0)
            return -1;
        for (uint32_t k = 0; k < np; k++) {
            char c = 0;
            if (valtype(r, &c) < 0)
                return -1;
            if (k < ASTRID_WASM_MAX_SIG)
                t->params[k] = c;
        }
        if (leb_u32(r, &nr) < 0)
            return -1;
        for (uint32_t k = 0; k < nr; k++) {
            char c = 0;
            if (valtype(r, &c) < 0)
                return -1;
            if (k < ASTRID_WASM_MAX_SIG)
                t->results[k] = c;
        }
        if (np > ASTRID_WASM_MAX_SIG || nr > ASTRID_WASM_MAX_SIG)
            t->params[0] = '?'; /* marks "too many to call from the host" */
    }
    return 0;
}

static int add_func(astrid_wasm_info *info, uint32_t type, rd *r)
{
    if (type >= info->ntypes)
        return bad(r, "function type index");
    uint32_t *f = realloc(info->func_types, (info->nfuncs + 1) * sizeof *f);
    if (!f)
        return astrid_err_set(r->err, ASTRID_E_NOMEM, "wasm: out of memory");
    info->func_types = f;
    f[info->nfuncs++] = type;
    return 0;
}

static int add_global(astrid_wasm_info *info, char t, rd *r)
{
    char *g = realloc(info->global_types, info->nglobals + 1);
    if (!g)
        return astrid_err_set(r->err, ASTRID_E_NOMEM, "wasm: out of memory");
    info->global_types = g;
    g[info->nglobals++] = t;
    return 0;
}

static int sec_imports(rd *r, astrid_wasm_info *info)
{
    uint32_t n;
    if (leb_u32(r, &n) < 0)
        return -1;
    if (n > (size_t)(r->end - r->p))
        return bad(r, "import section");
    info->imports = calloc(n ? n : 1, sizeof *info->imports);
    if (!info->imports)
        return astrid_err_set(r->err, ASTRID_E_NOMEM, "wasm: out of memory");
    for (uint32_t i = 0; i < n; i++) {
        astrid_wasm_import *im = &info->imports[i];
        info->nimports = i + 1;
        uint8_t kind;
        if (name_(r, &im->module) < 0 || name_(r, &im->name) < 0 || u8_(r, &kind) < 0)
            return -1;
        im->kind = kind;
        switch (kind) {
        case ASTRID_WASM_EXT_FUNC:
            if (leb_u32(r, &im->type_index) < 0 || add_func(info, im->type_index, r) < 0)
                return -1;
            break;
        case ASTRID_WASM_EXT_TABLE: {
            char c = 0;
            if (valtype(r, &c) < 0 || limits(r, NULL, &im->limits) < 0)
                return -1;
            keep(info->table_limits, &info->ntables, &im->limits);
            break;
        }
        case ASTRID_WASM_EXT_MEMORY:
            if (limits(r, NULL, &im->limits) < 0)
                return -1;
            keep(info->mem_limits, &info->nmemories, &im->limits);
            break;
        case ASTRID_WASM_EXT_GLOBAL: {
            uint8_t mut;
            if (valtype(r, &im->global_type) < 0 || u8_(r, &mut) < 0)
                return -1;
            im->global_mut = mut;
            if (add_global(info, im->global_type, r) < 0)
                return -1;
            break;
        }
        default:
            return bad(r, "import kind");
        }
    }
    return 0;
}

static int sec_functions(rd *r, astrid_wasm_info *info)
{
    uint32_t n;
    if (leb_u32(r, &n) < 0)
        return -1;
    if (n > (size_t)(r->end - r->p))
        return bad(r, "function section");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t t;
        if (leb_u32(r, &t) < 0 || add_func(info, t, r) < 0)
            return -1;
    }
    return 0;
}

static int sec_tables(rd *r, astrid_wasm_info *info)
{
    uint32_t n;
    if (leb_u32(r, &n) < 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        char c = 0;
        astrid_wasm_limits l;
        if (valtype(r, &c) < 0 || limits(r, NULL, &l) < 0)
            return -1;
        keep(info->table_limits, &info->ntables, &l);
    }
    return 0;
}

static int sec_memories(rd *r, astrid_wasm_info *info)
{
    uint32_t n;
    if (leb_u32(r, &n) < 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t init;
        astrid_wasm_limits l;
        if (limits(r, &init, &l) < 0)
            return -1;
        keep(info->mem_limits, &info->nmemories, &l);
        if (!info->has_defined_memory) {
            info->has_defined_memory = 1;
            info->mem_initial_pages = init;
        }
    }
    return 0;
}

/* Globals: only the type matters; the init expression is skipped by
 * scanning to its `end` opcode (constant expressions hold no nested
 * blocks; immediates are LEBs or fixed-size floats). */
static int sec_globals(rd *r, astrid_wasm_info *info)
{
    uint32_t n;
    if (leb_u32(r, &n) < 0)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        char t;
        uint8_t mut, op;
        if (valtype(r, &t) < 0 || u8_(r, &mut) < 0 || add_global(info, t, r) < 0)
            return -1;
        for (;;) {
            if (u8_(r, &op) < 0)
                return -1;
            if (op == 0x0b)
                break;
            uint32_t imm = 0;
            if (op == 0x41 || op == 0x42 || op == 0x23 || op == 0xd2) {
                /* i32/i64.const (signed LEB up to 10 bytes), global.get, ref.func */
                uint8_t b;
                int k = 0;
                do {
                    if (u8_(r, &b) < 0 || ++k > 10)
                        return bad(r, "constant expression");
                } while (b & 0x80);
            } else if (op == 0x43) {
                if (skip(r, 4) < 0)
                    return -1;
            } else if (op == 0x44) {
                if (skip(r, 8) < 0)
                    return -1;
            } else if (op == 0xd0) {
                if (skip(r, 1) < 0)
                    return -1;
            } else if (op == 0xfd) {
                if (leb_u32(r, &imm) < 0 || skip(r, 16) < 0)
                    return -1;
            } else if (op == 0x6a || op == 0x6b || op == 0x6c || op == 0x7c || op == 0x7d ||
                       op == 0x7e) {
                /* extended-const arithmetic: no immediates */
            } else {
                return bad(r, "constant expression");
            }
        }
    }
    return 0;
}

static int sec_exports(rd *r, astrid_wasm_info *info)
{
    uint32_t n;
    if (leb_u32(r, &n) < 0)
        return -1;
    if (n > (size_t)(r->end - r->p))
        return bad(r, "export section");
    info->exports = calloc(n ? n : 1, sizeof *info->exports);
    if (!info->exports)
        return astrid_err_set(r->err, ASTRID_E_NOMEM, "wasm: out of memory");
    for (uint32_t i = 0; i < n; i++) {
        astrid_wasm_export *ex = &info->exports[i];
        info->nexports = i + 1;
        uint8_t kind;
        if (name_(r, &ex->name) < 0 || u8_(r, &kind) < 0 || leb_u32(r, &ex->index) < 0)
            return -1;
        ex->kind = kind;
        if (kind > ASTRID_WASM_EXT_GLOBAL)
            return bad(r, "export kind");
    }
    return 0;
}

int astrid_wasm_parse(const uint8_t *bytes, size_t len, astrid_wasm_info *info, astrid_err *err)
{
    memset(info, 0, sizeof *info);
    rd r = {bytes, bytes + len, err};
    static const uint8_t magic[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    if (len < 8 || memcmp(bytes, magic, 8) != 0)
        return astrid_err_set(err, ASTRID_E_PARSE,
                              "wasm: not a WebAssembly 1.0 module "
                              "(bad magic or version)");
    r.p += 8;
    uint32_t seen = 0;
    while (r.p < r.end) {
        uint8_t id;
        uint32_t size;
        if (u8_(&r, &id) < 0 || leb_u32(&r, &size) < 0)
            goto fail;
        /* every non-custom section at most once (a second one would also
         * replace arrays already filled) */
        if (id != 0 && id < 32) {
            if (seen & (1u << id)) {
                bad(&r, "module (duplicate section)");
                goto fail;
            }
            seen |= 1u << id;
        }
        if ((size_t)(r.end - r.p) < size) {
            bad(&r, "section size");
            goto fail;
        }
        rd s = {r.p, r.p + size, err};
        int rc = 0;
        switch (id) {
        case 1:
            rc = sec_types(&s, info);
            break;
        case 2:
            rc = sec_imports(&s, info);
            break;
        case 3:
            rc = sec_functions(&s, info);
            break;
        case 4:
            rc = sec_tables(&s, info);
            break;
        case 5:
            rc = sec_memories(&s, info);
            break;
        case 6:
            rc = sec_globals(&s, info);
            break;
        case 7:
            rc = sec_exports(&s, info);
            break;
        case 8:
            info->has_start = 1;
            break;
        default:
            break;
        }
        if (rc < 0)
            goto fail;
        r.p += size;
    }
    for (size_t i = 0; i < info->nexports; i++) {
        astrid_wasm_export *ex = &info->exports[i];
        if (ex->kind == ASTRID_WASM_EXT_FUNC) {
            if (ex->index >= info->nfuncs) {
                bad(&r, "export function index");
                goto fail;
            }
            ex->type_index = info->func_types[ex->index];
        } else if (ex->kind == ASTRID_WASM_EXT_GLOBAL) {
            if (ex->index >= info->nglobals) {
                bad(&r, "export global index");
                goto fail;
            }
            ex->global_type = info->global_types[ex->index];
        } else if ((ex->kind == ASTRID_WASM_EXT_MEMORY && ex->index >= info->nmemories) ||
                   (ex->kind == ASTRID_WASM_EXT_TABLE && ex->index >= info->ntables)) {
            /* wasm2c refuses these too; refusing here keeps every index
             * the engine reads in range (fuzz_wasm_diff). */
            bad(&r,
                ex->kind == ASTRID_WASM_EXT_MEMORY ? "export memory index" : "export table index");
            goto fail;
        }
    }
    return 0;
fail:
    astrid_wasm_info_free(info);
    return -1;
}

void astrid_wasm_info_free(astrid_wasm_info *info)
{
    for (size_t i = 0; i < info->nimports; i++) {
        free(info->imports[i].module);
        free(info->imports[i].name);
    }
    for (size_t i = 0; i < info->nexports; i++)
        free(info->exports[i].name);
    free(info->imports);
    free(info->exports);
    free(info->types);
    free(info->func_types);
    free(info->global_types);
    memset(info, 0, sizeof *info);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **astrid_wasm_import_modules(const astrid_wasm_info *info, size_t *n)
{
    const char **v = calloc(info->nimports + 1, sizeof *v);
    *n = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < info->nimports; i++)
        v[i] = info->imports[i].module;
    qsort(v, info->nimports, sizeof *v, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < info->nimports; i++)
        if (k == 0 || strcmp(v[k - 1], v[i]) != 0)
            v[k++] = v[i];
    *n = k;
    return v;
}

int astrid_wasm_mangle(char *out, size_t outsz, const char *name)
{
    size_t o = 0;
    if (outsz < 3)
        return -1;
    out[o++] = 'Z';
    out[o++] = '_';
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        int keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Y') ||
                   (*p >= '0' && *p <= '9') || *p == '_';
        if (keep) {
            if (o + 1 >= outsz)
                return -1;
            out[o++] = (char)*p;
        } else {
            if (o + 3 >= outsz)
                return -1;
            snprintf(out + o, 4, "Z%02X", *p);
            o += 3;
        }
    }
    out[o] = 0;
    return 0;
}

int astrid_wasm_name_safe(const char *name)
{
    /* "*" "/" ends the comment; a backslash (or its trigraph) before a newline
     * splices lines, so "*\<newline>/" would too. */
    return !strstr(name, "*/") && !strchr(name, '\\') &&
           !strstr(name, "?"
                         "?/");
}
