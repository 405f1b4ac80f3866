/* Repairs to Debian's wasm2c 1.0.32 output, applied to module.c before it
 * is compiled (aot.c).
 *
 * Imported functions placed in a table by an element segment: wasm2c
 * records the import's instance as `offsetof(<mod>_instance_t, <import
 * field>)` and funcref_table_init stores `(char *)instance + offset` — the
 * address of the field that holds the import's instance pointer, not the
 * pointer itself. A guest that then calls the import through call_indirect
 * hands the host function a pointer into its own instance struct as "the
 * instance", and the host reads past it (a hostile capsule crashed the
 * daemon this way). `ref.func` of an import is generated correctly
 * (`instance->Z_..._instance`), so only element segments need repair:
 * import entries get the top bit of their offset set, and the table
 * initialiser dereferences the field for those. The bit cannot collide
 * with a real offset (instance structs are small). */
#include "capsule/wasm/w2c_patch.h"

#include <stdlib.h>
#include <string.h>

#include "astrid/fs.h"

#define IMPORT_BIT "((size_t)1 << 63)"

static const char init_line[] = "(char*)module_instance + src_expr->module_offset};";
static const char init_fixed[] =
    "(src_expr->module_offset & " IMPORT_BIT ")\n"
    "            ? *(void**)((char*)module_instance + (src_expr->module_offset & ~" IMPORT_BIT
    "))\n"
    "            : (char*)module_instance + src_expr->module_offset};";

/* An element-segment entry line: `  {T, (wasm_rt_function_ptr_t)F, offsetof(M, I)},` */
static const char entry_mark[] = ", offsetof(";
static const char fnptr_mark[] = "(wasm_rt_function_ptr_t)";

int astrid_w2c_patch(const char *path, astrid_err *err)
{
    char *src = NULL;
    size_t len = 0;
    if (astrid_read_file(path, (size_t)1 << 31, &src, &len, err) < 0)
        return -1;
    /* worst case every line grows; count first */
    size_t nentries = 0, ninit = 0;
    for (char *p = src; (p = strstr(p, entry_mark)); p += sizeof entry_mark - 1)
        nentries++;
    for (char *p = src; (p = strstr(p, init_line)); p += sizeof init_line - 1)
        ninit++;
    if (nentries == 0) {
        free(src);
        return 0;
    }
    if (ninit != 1) {
        free(src);
        return astrid_err_set(
            err, ASTRID_E_INTERNAL,
            "wasm: wasm2c output not recognised (funcref_table_init): refusing "
            "to compile a module whose imported table entries cannot be repaired");
    }
    size_t cap = len + nentries * (sizeof IMPORT_BIT + 8) + sizeof init_fixed + 1;
    char *out = malloc(cap), *o = out;
    if (!out) {
        free(src);
        return astrid_err_set(err, ASTRID_E_NOMEM, "wasm: out of memory");
    }
    const char *p = src, *end = src + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl + 1 : end;
        size_t ll = (size_t)(le - p);
        const char *hit = NULL;
        const char *m = ll > 0 ? memmem(p, ll, entry_mark, sizeof entry_mark - 1) : NULL;
        if (m && memmem(p, (size_t)(m - p), fnptr_mark, sizeof fnptr_mark - 1))
            hit = m;
        const char *ih = memmem(p, ll, init_line, sizeof init_line - 1);
        if (hit) {
            /* `..., offsetof(M, I)},` -> `..., (offsetof(M, I) | BIT)},` */
            const char *close = memchr(hit, ')', (size_t)(le - hit));
            if (!close) {
                free(out);
                free(src);
                return astrid_err_set(err, ASTRID_E_INTERNAL,
                                      "wasm: wasm2c output not recognised (element segment)");
            }
            size_t pre = (size_t)(hit - p) + 2; /* through ", " */
            memcpy(o, p, pre), o += pre;
            *o++ = '(';
            size_t body = (size_t)(close + 1 - (hit + 2));
            memcpy(o, hit + 2, body), o += body;
            memcpy(o, " | " IMPORT_BIT ")", sizeof " | " IMPORT_BIT ")" - 1);
            o += sizeof " | " IMPORT_BIT ")" - 1;
            size_t rest = (size_t)(le - (close + 1));
            memcpy(o, close + 1, rest), o += rest;
        } else if (ih) {
            size_t pre = (size_t)(ih - p);
            memcpy(o, p, pre), o += pre;
            memcpy(o, init_fixed, sizeof init_fixed - 1), o += sizeof init_fixed - 1;
            size_t rest = (size_t)(le - (ih + sizeof init_line - 1));
            memcpy(o, ih + sizeof init_line - 1, rest), o += rest;
        } else {
            memcpy(o, p, ll), o += ll;
        }
        p = le;
    }
    int rc = astrid_atomic_write(path, out, (size_t)(o - out), 0600, err);
    free(out);
    free(src);
    return rc;
}
