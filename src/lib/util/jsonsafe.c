/* Guarded JSON decoding: see include/astrid/jsonsafe.h for why. */
#include "astrid/jsonsafe.h"

#include "astrid/err.h"
#include "astrid/fs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The allocator jansson calls has no context argument, so what it needs
 * lives beside it: `base`, written once before any thread decodes, and the
 * current thread's way out of a guarded decode (NULL outside one). */
static void *(*alloc_base)(size_t) = malloc;
static _Thread_local jmp_buf *decode_exit;

static void *guarded_alloc(size_t n)
{
    void *p = alloc_base(n);
    if (!p && decode_exit)
        longjmp(*decode_exit, 1);
    return p;
}

void astrid_json_install_alloc(void *(*base)(size_t))
{
    alloc_base = base ? base : malloc;
    json_set_alloc_funcs(guarded_alloc, free);
}

json_t *astrid_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *je)
{
    jmp_buf here;
    json_error_t local = {0};
    /* volatile: read after longjmp */
    json_error_t *volatile e = je ? je : &local;
    jmp_buf *volatile outer = decode_exit;
    if (setjmp(here) != 0) {
        decode_exit = outer;
        memset(e, 0, sizeof *e);
        e->line = e->column = -1;
        snprintf(e->text, sizeof e->text, "out of memory");
        return NULL;
    }
    decode_exit = &here;
    json_t *v = json_loadb(buf, len, flags, e);
    decode_exit = outer;
    return v;
}

char *astrid_json_dumps(const json_t *v, size_t flags)
{
    jmp_buf here;
    jmp_buf *volatile outer = decode_exit;
    if (setjmp(here) != 0) {
        decode_exit = outer;
        return NULL;
    }
    decode_exit = &here;
    char *s = json_dumps(v, flags);
    decode_exit = outer;
    return s;
}

json_t *astrid_json_load_file(const char *path, size_t flags, json_error_t *je)
{
    char *buf = NULL;
    size_t len = 0;
    astrid_err err = {0};
    if (astrid_read_file(path, ASTRID_JSON_FILE_MAX, &buf, &len, &err) != 0) {
        if (je) {
            memset(je, 0, sizeof *je);
            je->line = je->column = -1;
            snprintf(je->source, sizeof je->source, "%s", path);
            snprintf(je->text, sizeof je->text, "%s", err.msg);
        }
        return NULL;
    }
    json_t *v = astrid_json_loadb(buf, len, flags, je);
    free(buf);
    return v;
}
