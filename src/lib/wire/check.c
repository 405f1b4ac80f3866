/* Pre-parse validation of untrusted JSON: UTF-8 and nesting depth. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "astrid/jsonsafe.h"
#include "astrid/utf8.h"
#include "astrid/wire.h"

int astrid_wire_check(const char *buf, size_t len, astrid_err *err)
{
    const unsigned char *p = (const unsigned char *)buf;
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t n = astrid_utf8_seq(buf + i, len - i);
            if (n == 0)
                return astrid_err_set(err, ASTRID_E_PARSE, "invalid UTF-8 at byte %zu", i);
            i += n;
            continue;
        }
        if (c == 0)
            return astrid_err_set(err, ASTRID_E_PARSE, "NUL byte at byte %zu", i);
        if (in_str) {
            if (c == '\\')
                i++; /* the escaped character cannot end the string */
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > ASTRID_WIRE_MAX_DEPTH)
                return astrid_err_set(err, ASTRID_E_LIMIT, "JSON nesting deeper than %d levels",
                                      ASTRID_WIRE_MAX_DEPTH);
        } else if (c == '}' || c == ']') {
            depth--;
        }
        i++;
    }
    return 0;
}

json_t *astrid_wire_parse(const char *buf, size_t len, astrid_err *err)
{
    if (astrid_wire_check(buf, len, err) != 0)
        return NULL;
    json_error_t je;
    json_t *v = astrid_json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!v && strcmp(je.text, "out of memory") == 0) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory decoding a frame");
        return NULL;
    }
    if (!v) {
        astrid_err_set(err, ASTRID_E_PARSE, "malformed JSON at line %d, column %d: %s", je.line,
                       je.column, je.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        astrid_err_set(err, ASTRID_E_PARSE, "a frame must hold a JSON object");
        return NULL;
    }
    return v;
}
