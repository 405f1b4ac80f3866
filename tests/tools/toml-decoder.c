/* toml-test decoder: TOML on stdin, tagged JSON on stdout; exit 1 with the
 * error on stderr when the input is not valid TOML. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml_json.h"

int main(void)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fprintf(stderr, "toml-decoder: out of memory\n");
            return 2;
        }
        size_t n = fread(buf + len, 1, cap - len, stdin);
        len += n;
        if (n == 0)
            break;
        if (len == cap) {
            if (cap > ASTRID_TOML_MAX_INPUT)
                break; /* the parser reports the size limit */
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                free(buf);
            buf = nb;
            cap *= 2;
        }
    }
    astrid_err err;
    astrid_toml *t = astrid_toml_parse(buf, len, &err, NULL);
    free(buf);
    if (!t) {
        fprintf(stderr, "toml-decoder: %s\n", err.msg);
        return 1;
    }
    json_t *j = toml_to_json(t);
    astrid_toml_free(t);
    if (!j || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) != 0) {
        fprintf(stderr, "toml-decoder: cannot write JSON\n");
        json_decref(j);
        return 2;
    }
    json_decref(j);
    putchar('\n');
    return 0;
}
