/* Internal helpers shared by the groups and profile loaders. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "astrid/fs.h"
#include "lib/policy/tomlutil.h"

static bool keych(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

void policy_key_pos(const char *text, const char *key, int *line, int *col)
{
    *line = 0;
    *col = 0;
    size_t kl = strlen(key);
    int ln = 1;
    const char *bol = text;
    for (const char *p = text; text && *p; p++) {
        if (*p == '\n') {
            ln++;
            bol = p + 1;
            continue;
        }
        if (strncmp(p, key, kl) != 0 || keych(p[kl]))
            continue;
        /* Key position: preceded (ignoring blanks and a quote) by line start, '[', '.', '{' or ','.
         */
        const char *q = p;
        if (q > bol && (q[-1] == '"' || q[-1] == '\''))
            q--;
        while (q > bol && (q[-1] == ' ' || q[-1] == '\t'))
            q--;
        if (q == bol || q[-1] == '[' || q[-1] == '.' || q[-1] == '{' || q[-1] == ',') {
            *line = ln;
            *col = (int)(p - bol) + 1;
            return;
        }
    }
}

int policy_unknown_key(astrid_err *err, const char *path, const char *text, const char *key,
                       const char *where)
{
    int line, col;
    policy_key_pos(text, key, &line, &col);
    return astrid_err_set(err, ASTRID_E_PARSE, "%s: line %d, column %d: unknown key '%s' in %s",
                          path, line, col, key, where);
}

int policy_check_size(const char *path, size_t len, size_t max, astrid_err *err)
{
    if (len <= max)
        return 0;
    return astrid_err_set(err, ASTRID_E_LIMIT, "%s is %zu bytes, over the %zu-byte limit", path,
                          len, max);
}

int policy_read(const char *path, size_t max, char **text, size_t *len, bool *missing,
                astrid_err *err)
{
    struct stat st;
    *missing = false;
    *text = NULL;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        *missing = true;
        return 0;
    }
    return astrid_read_file(path, max, text, len, err);
}

void policy_free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int policy_str_array(const astrid_toml *arr, char ***out, size_t *n, const char *path,
                     const char *text, const char *key, astrid_err *err)
{
    int line, col;
    if (astrid_toml_type_of(arr) != ASTRID_TOML_ARRAY) {
        policy_key_pos(text, key, &line, &col);
        return astrid_err_set(err, ASTRID_E_PARSE,
                              "%s: line %d, column %d: '%s' must be an array of strings", path,
                              line, col, key);
    }
    size_t cnt = astrid_toml_len(arr);
    char **v = calloc(cnt ? cnt : 1, sizeof *v);
    if (!v)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        const astrid_toml *e = astrid_toml_at(arr, i);
        size_t sl = 0;
        const char *s =
            astrid_toml_type_of(e) == ASTRID_TOML_STRING ? astrid_toml_str(e, &sl) : NULL;
        if (!s || strlen(s) != sl) {
            policy_free_strv(v, i);
            policy_key_pos(text, key, &line, &col);
            return astrid_err_set(err, ASTRID_E_PARSE,
                                  "%s: line %d, column %d: '%s' must be an array of strings", path,
                                  line, col, key);
        }
        if (!(v[i] = strdup(s))) {
            policy_free_strv(v, i);
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        }
    }
    *out = v;
    *n = cnt;
    return 0;
}

astrid_toml *policy_toml_strv(const char *const *v, size_t n)
{
    astrid_toml *a = astrid_toml_new_array();
    for (size_t i = 0; a && i < n; i++) {
        astrid_toml *s = astrid_toml_new_string(v[i], strlen(v[i]));
        if (!s || astrid_toml_push(a, s) != 0) {
            astrid_toml_free(a);
            return NULL;
        }
    }
    return a;
}

int policy_refuse_nul(const astrid_toml *root, const char *path, astrid_err *err)
{
    char field[256];
    if (!astrid_toml_find_nul(root, field, sizeof field))
        return 0;
    return astrid_err_set(err, ASTRID_E_PARSE, "%s: %s: must not contain a NUL character (\\u0000)",
                          path, field);
}
