/* TOML through our emitter: json_t -> astrid_toml tree -> text. */
#include <stdlib.h>
#include <string.h>

#include "astrid/toml.h"
#include "cli/output/output.h"

static astrid_toml *convert(const json_t *v, int depth)
{
    if (depth > 64)
        return NULL;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        astrid_toml *t = astrid_toml_new_table();
        const char *k;
        json_t *val;
        json_object_foreach((json_t *)v, k, val)
        {
            if (!t)
                return NULL;
            if (json_is_null(val))
                continue;
            astrid_toml *c = convert(val, depth + 1);
            if (!c || astrid_toml_set(t, k, c) < 0) {
                astrid_toml_free(t);
                return NULL;
            }
        }
        return t;
    }
    case JSON_ARRAY: {
        astrid_toml *a = astrid_toml_new_array();
        size_t i;
        json_t *val;
        json_array_foreach(v, i, val)
        {
            if (!a)
                return NULL;
            if (json_is_null(val))
                continue;
            astrid_toml *c = convert(val, depth + 1);
            if (!c || astrid_toml_push(a, c) < 0) {
                astrid_toml_free(a);
                return NULL;
            }
        }
        return a;
    }
    case JSON_STRING:
        return astrid_toml_new_string(json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return astrid_toml_new_int(json_integer_value(v));
    case JSON_REAL:
        return astrid_toml_new_float(json_real_value(v));
    case JSON_TRUE:
        return astrid_toml_new_bool(true);
    case JSON_FALSE:
        return astrid_toml_new_bool(false);
    case JSON_NULL:
        return NULL;
    }
    return NULL;
}

char *cli_render_toml(const json_t *data, astrid_err *err)
{
    json_t *root = (json_t *)data;
    json_t *wrap = NULL;
    if (!json_is_object(data)) {
        wrap = json_pack("{sO}", "items", data);
        if (!wrap) {
            astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
            return NULL;
        }
        root = wrap;
    }
    astrid_toml *t = convert(root, 0);
    json_decref(wrap);
    if (!t) {
        astrid_err_set(err, ASTRID_E_INVALID, "data has no TOML form (too deep or out of memory)");
        return NULL;
    }
    char *s = astrid_toml_emit(t, err);
    astrid_toml_free(t);
    return s;
}
