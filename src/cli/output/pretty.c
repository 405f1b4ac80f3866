/* The human rendering: aligned key/value blocks for objects, aligned tables
 * for arrays of objects. Widths are computed from the plain text, then the
 * colour codes wrap it, so alignment never counts escape bytes. */
#include <stdlib.h>
#include <string.h>

#include "cli/output/output.h"

#define BOLD "\033[1m"
#define DIM "\033[2m"
#define RESET "\033[0m"

/* Scalar as text (malloc'd); arrays of scalars joined with ", ". */
static char *scalar_text(const json_t *v)
{
    char *s = NULL;
    switch (json_typeof(v)) {
    case JSON_STRING:
        return strdup(json_string_value(v));
    case JSON_INTEGER:
        if (asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0)
            return NULL;
        return s;
    case JSON_REAL:
        if (asprintf(&s, "%g", json_real_value(v)) < 0)
            return NULL;
        return s;
    case JSON_TRUE:
        return strdup("true");
    case JSON_FALSE:
        return strdup("false");
    case JSON_NULL:
        return strdup("-");
    case JSON_ARRAY: {
        size_t len = 0, i;
        json_t *e;
        FILE *f = open_memstream(&s, &len);
        if (!f)
            return NULL;
        json_array_foreach(v, i, e)
        {
            char *t = json_is_object(e) || json_is_array(e)
                          ? json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER)
                          : scalar_text(e);
            fprintf(f, "%s%s", i ? ", " : "", t ? t : "?");
            free(t);
        }
        fclose(f);
        return s;
    }
    case JSON_OBJECT:
        return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    return NULL;
}

static bool is_flat(const json_t *v)
{
    if (json_is_object(v))
        return false;
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) if (json_is_object(e) || json_is_array(e)) return false;
    }
    return true;
}

static void pad(FILE *f, size_t n)
{
    while (n--)
        fputc(' ', f);
}

static void render(FILE *f, const json_t *v, bool colour, int indent, int depth);

static void render_table(FILE *f, const json_t *arr, bool colour, int indent)
{
    /* Columns: keys in first-seen order across all rows. */
    json_t *cols = json_array();
    size_t i, c;
    json_t *row;
    json_array_foreach(arr, i, row)
    {
        const char *k;
        json_t *val;
        json_object_foreach(row, k, val)
        {
            bool seen = false;
            json_t *ck;
            json_array_foreach(cols, c, ck) if (strcmp(json_string_value(ck), k) == 0) seen = true;
            if (!seen)
                json_array_append_new(cols, json_string(k));
        }
    }
    size_t ncol = json_array_size(cols), nrow = json_array_size(arr);
    size_t *w = calloc(ncol ? ncol : 1, sizeof *w);
    char **cell = calloc((nrow + 1) * (ncol ? ncol : 1), sizeof *cell);
    if (!w || !cell)
        goto out;
    for (c = 0; c < ncol; c++) {
        const char *k = json_string_value(json_array_get(cols, c));
        char *h = strdup(k);
        for (char *p = h; p && *p; p++)
            *p = (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : (*p == '_' ? ' ' : *p);
        cell[c] = h;
        json_array_foreach(arr, i, row) cell[(i + 1) * ncol + c] =
            scalar_text(json_object_get(row, k) ? json_object_get(row, k) : json_null());
    }
    for (size_t r = 0; r <= nrow; r++)
        for (c = 0; c < ncol; c++) {
            size_t tw = cell[r * ncol + c] ? cli_text_width(cell[r * ncol + c]) : 0;
            if (tw > w[c])
                w[c] = tw;
        }
    for (size_t r = 0; r <= nrow; r++) {
        pad(f, (size_t)indent);
        for (c = 0; c < ncol; c++) {
            const char *t = cell[r * ncol + c] ? cell[r * ncol + c] : "";
            bool last = c + 1 == ncol;
            fprintf(f, "%s%s%s", r == 0 && colour ? BOLD : "", t, r == 0 && colour ? RESET : "");
            if (!last)
                pad(f, w[c] - cli_text_width(t) + 2);
        }
        fputc('\n', f);
    }
out:
    if (cell)
        for (size_t k = 0; k < (nrow + 1) * ncol; k++)
            free(cell[k]);
    free(cell);
    free(w);
    json_decref(cols);
}

static void render_object(FILE *f, const json_t *obj, bool colour, int indent, int depth)
{
    size_t kw = 0;
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)obj, k, val) if (is_flat(val) && cli_text_width(k) > kw) kw =
        cli_text_width(k);
    /* Flat members first, aligned; nested ones after as indented blocks. */
    json_object_foreach((json_t *)obj, k, val)
    {
        if (!is_flat(val))
            continue;
        char *t = scalar_text(val);
        pad(f, (size_t)indent);
        fprintf(f, "%s%s:%s", colour ? BOLD : "", k, colour ? RESET : "");
        pad(f, kw - cli_text_width(k) + 1);
        fprintf(f, "%s\n", t ? t : "?");
        free(t);
    }
    json_object_foreach((json_t *)obj, k, val)
    {
        if (is_flat(val))
            continue;
        pad(f, (size_t)indent);
        fprintf(f, "%s%s:%s\n", colour ? BOLD : "", k, colour ? RESET : "");
        render(f, val, colour, indent + 2, depth + 1);
    }
}

static bool all_objects(const json_t *arr)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) if (!json_is_object(e)) return false;
    return json_array_size(arr) > 0;
}

static void render(FILE *f, const json_t *v, bool colour, int indent, int depth)
{
    if (depth > 64) {
        pad(f, (size_t)indent);
        fputs("...\n", f);
        return;
    }
    if (json_is_object(v)) {
        render_object(f, v, colour, indent, depth);
    } else if (json_is_array(v) && json_array_size(v) == 0) {
        pad(f, (size_t)indent);
        fprintf(f, "%s(none)%s\n", colour ? DIM : "", colour ? RESET : "");
    } else if (json_is_array(v) && all_objects(v)) {
        render_table(f, v, colour, indent);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (is_flat(e)) {
                char *t = scalar_text(e);
                pad(f, (size_t)indent);
                fprintf(f, "%s\n", t ? t : "?");
                free(t);
            } else {
                render(f, e, colour, indent, depth + 1);
            }
        }
    } else {
        char *t = scalar_text(v);
        pad(f, (size_t)indent);
        fprintf(f, "%s\n", t ? t : "?");
        free(t);
    }
}

char *cli_render_pretty(const json_t *data, bool colour, astrid_err *err)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f) {
        astrid_err_sys(err, "open_memstream");
        return NULL;
    }
    render(f, data, colour, 0, 0);
    if (fclose(f) != 0) {
        free(s);
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    return s;
}
