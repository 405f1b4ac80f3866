/* Format selection, colour policy and the JSON renderer. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/output/output.h"

int cli_format_parse(const char *name, cli_format *out)
{
    if (!name || strcmp(name, "pretty") == 0)
        *out = CLI_FMT_PRETTY;
    else if (strcmp(name, "json") == 0)
        *out = CLI_FMT_JSON;
    else if (strcmp(name, "yaml") == 0 || strcmp(name, "yml") == 0)
        *out = CLI_FMT_YAML;
    else if (strcmp(name, "toml") == 0)
        *out = CLI_FMT_TOML;
    else
        return -1;
    return 0;
}

bool cli_colour_wanted(FILE *f)
{
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc)
        return false;
    return isatty(fileno(f)) == 1;
}

size_t cli_text_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == 0x1b && p[1] == '[') { /* CSI ... final byte */
            p += 2;
            while (*p && !(*p >= 0x40 && *p <= 0x7e))
                p++;
            if (!*p)
                break;
            continue;
        }
        if ((*p & 0xc0) != 0x80)
            w++;
    }
    return w;
}

char *cli_render_json(const json_t *data, astrid_err *err)
{
    char *s = json_dumps(data, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (!s) {
        astrid_err_set(err, ASTRID_E_NOMEM, "cannot encode JSON");
        return NULL;
    }
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    return t;
}

int cli_render(FILE *out, const json_t *data, cli_format fmt, astrid_err *err)
{
    char *s = NULL;
    switch (fmt) {
    case CLI_FMT_PRETTY:
        s = cli_render_pretty(data, cli_colour_wanted(out), err);
        break;
    case CLI_FMT_JSON:
        s = cli_render_json(data, err);
        break;
    case CLI_FMT_YAML:
        s = cli_render_yaml(data, err);
        break;
    case CLI_FMT_TOML:
        s = cli_render_toml(data, err);
        break;
    }
    if (!s)
        return -1;
    int rc = fputs(s, out) < 0 ? astrid_err_sys(err, "write") : 0;
    free(s);
    return rc;
}
