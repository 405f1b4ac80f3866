/* Convert a parsed TOML tree to toml-test's tagged JSON (jansson), shared by
 * the toml-decoder tool and the conformance test so both check the same code.
 * Caller owns the returned json_t (json_decref); NULL on allocation failure. */
#ifndef ASTRID_TESTS_TOML_JSON_H
#define ASTRID_TESTS_TOML_JSON_H

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "astrid/toml.h"
#include "lib/toml/toml_internal.h"

static inline json_t *toml_tagged(const char *type, const char *value, size_t len)
{
    return json_pack("{s:s,s:s%}", "type", type, "value", value, len);
}

static inline json_t *toml_to_json(const astrid_toml *v)
{
    char b[64];
    switch (astrid_toml_type_of(v)) {
    case ASTRID_TOML_TABLE: {
        json_t *o = json_object();
        for (size_t i = 0; o && i < astrid_toml_len(v); i++) {
            const toml_entry *e = &v->u.tab.ents[i];
            json_t *c = toml_to_json(e->val);
            if (!c || json_object_setn_new(o, e->key, e->klen, c) != 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    case ASTRID_TOML_ARRAY: {
        json_t *a = json_array();
        for (size_t i = 0; a && i < astrid_toml_len(v); i++) {
            json_t *c = toml_to_json(astrid_toml_at(v, i));
            if (!c || json_array_append_new(a, c) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case ASTRID_TOML_STRING: {
        size_t n;
        const char *s = astrid_toml_str(v, &n);
        return toml_tagged("string", s, n);
    }
    case ASTRID_TOML_INTEGER:
        snprintf(b, sizeof b, "%" PRId64, astrid_toml_int(v));
        return toml_tagged("integer", b, strlen(b));
    case ASTRID_TOML_FLOAT: {
        double d = astrid_toml_float(v);
        if (isnan(d))
            snprintf(b, sizeof b, "nan");
        else if (isinf(d))
            snprintf(b, sizeof b, "%s", d < 0 ? "-inf" : "inf");
        else
            snprintf(b, sizeof b, "%.17g", d);
        return toml_tagged("float", b, strlen(b));
    }
    case ASTRID_TOML_BOOL:
        return toml_tagged("bool", astrid_toml_bool(v) ? "true" : "false",
                           astrid_toml_bool(v) ? 4 : 5);
    default: {
        int n =
            toml_format_datetime(b, sizeof b, astrid_toml_type_of(v), astrid_toml_datetime_of(v));
        return toml_tagged(astrid_toml_type_name(astrid_toml_type_of(v)), b, (size_t)n);
    }
    }
}

#endif
