/* libFuzzer: parse arbitrary bytes as WIT; whatever parses, walk every
 * type of it through the canonical-ABI functions (sizes, offsets, flat
 * types, signatures, printing), which must stay within the parser's
 * depth and size limits. */
#include <stdint.h>
#include <stdlib.h>

#include "astrid/wit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const astrid_wit_type *t)
{
    uint32_t s, a;
    char flat[ASTRID_WIT_FLAT_CAP + 1];
    astrid_wit_size_align(t, &s, &a);
    if (a == 0 || (a & (a - 1)) != 0 || (s % a) != 0)
        abort();
    astrid_wit_flatten(t, flat, sizeof flat);
    astrid_wit_payload_offset(t);
    const astrid_wit_type *u = astrid_wit_unalias(t);
    if (u->kind == ASTRID_WIT_TUPLE)
        for (size_t i = 0; i < u->nitems; i++)
            if (astrid_wit_field_offset(u, i) > s)
                abort();
    if (u->kind == ASTRID_WIT_NAMED && u->def->kind == ASTRID_WIT_RECORD)
        for (size_t i = 0; i < u->def->nfields; i++)
            if (astrid_wit_field_offset(u, i) > s)
                abort();
    free(astrid_wit_type_str(t));
}

static void walk_def(const astrid_wit_typedef *d)
{
    for (size_t i = 0; i < d->nfields; i++)
        if (d->fields[i].type)
            walk(d->fields[i].type);
    if (d->target)
        walk(d->target);
}

static void walk_func(const astrid_wit_func *f)
{
    char ps[64], rs[8];
    astrid_err err;
    for (size_t i = 0; i < f->nparams; i++)
        walk(f->params[i].type);
    if (f->result)
        walk(f->result);
    astrid_wit_func_core_sig(f, ps, sizeof ps, rs, sizeof rs, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    astrid_err err;
    astrid_wit_package *p = astrid_wit_parse((const char *)data, size, &err);
    if (!p)
        return 0;
    for (size_t i = 0; i < p->nifaces; i++) {
        const astrid_wit_iface *f = p->ifaces[i];
        for (size_t k = 0; k < f->ntypes; k++)
            walk_def(f->types[k]);
        for (size_t k = 0; k < f->nfuncs; k++)
            walk_func(&f->funcs[k]);
    }
    for (size_t i = 0; i < p->nworlds; i++) {
        const astrid_wit_world *w = p->worlds[i];
        for (size_t k = 0; k < w->ntypes; k++)
            walk_def(w->types[k]);
        for (size_t k = 0; k < w->nitems; k++)
            if (w->items[k].func)
                walk_func(w->items[k].func);
    }
    astrid_wit_free(p);
    return 0;
}
