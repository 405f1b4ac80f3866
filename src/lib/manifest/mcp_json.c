/* mcp.json -> Capsule.toml (mcp_json.h). */
#include "lib/manifest/mcp_json.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/jsonsafe.h"
#include "lib/manifest/manifest.h"

/* A TOML basic string: quotes, backslashes and control characters escaped
 * (a value from mcp.json cannot end the string or add a key). */
static void toml_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* an [env] key or server id must be a bare TOML key and a plain name */
static bool plain_key(const char *s)
{
    size_t n = strlen(s);
    return n && n <= 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

static void capsule_name(const char *server, char out[65])
{
    size_t n = 0;
    for (const char *p = server; *p && n < 64; p++) {
        char c = (char)tolower((unsigned char)*p);
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            out[n++] = c;
        else if (n && out[n - 1] != '-')
            out[n++] = '-';
    }
    while (n && out[n - 1] == '-')
        n--;
    out[n] = '\0';
    if (!n)
        snprintf(out, 65, "legacy-mcp");
}

static bool has_str(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

int astrid_mcp_json_to_capsule(const char *json, size_t len, const char *server, char **toml_out,
                               char name_out[65], char **env_keys_out, astrid_err *err)
{
    *toml_out = NULL;
    if (env_keys_out)
        *env_keys_out = NULL;
    if (len > ASTRID_MCP_JSON_MAX)
        return astrid_err_set(err, ASTRID_E_LIMIT, "mcp.json is over 1 MiB");
    json_error_t je;
    json_t *root = astrid_json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return astrid_err_set(err, ASTRID_E_PARSE, "line %d, column %d: %s", je.line, je.column,
                              je.text);
    json_t *servers = json_object_get(root, "mcpServers");
    int rc = -1;
    char *text = NULL, *keys = NULL;
    size_t tlen = 0, klen = 0;
    FILE *f = NULL, *kf = NULL;
    json_t *cmds = json_array(), *envs = json_array(), *picked = json_array();
    if (!json_is_object(servers) || !json_object_size(servers)) {
        astrid_err_set(err, ASTRID_E_INVALID, "no \"mcpServers\" object with servers");
        goto out;
    }
    const char *sname;
    json_t *s;
    json_object_foreach(servers, sname, s)
    {
        if (server && strcmp(sname, server) != 0)
            continue;
        if (!json_is_object(s) || !json_is_string(json_object_get(s, "command"))) {
            if (server) {
                astrid_err_set(err, ASTRID_E_INVALID,
                               "server %s has no \"command\" (only stdio servers "
                               "become capsules)",
                               sname);
                goto out;
            }
            continue; /* a url/http server: not a subprocess */
        }
        if (!plain_key(sname)) {
            astrid_err_set(err, ASTRID_E_INVALID,
                           "server name \"%.80s\" must be 1-64 characters of A-Z, a-z, "
                           "0-9, _ and -",
                           sname);
            goto out;
        }
        json_array_append_new(picked, json_string(sname));
    }
    if (!json_array_size(picked)) {
        char names[512] = "";
        size_t w = 0;
        json_object_foreach(servers, sname, s)
        {
            if (w < sizeof names)
                w += (size_t)snprintf(names + w, sizeof names - w, "%s%s", w ? ", " : "", sname);
        }
        astrid_err_set(err, ASTRID_E_NOTFOUND, "%s (servers: %s)",
                       server ? "no server by that name" : "no server with a command", names);
        goto out;
    }
    capsule_name(json_array_size(picked) == 1 ? json_string_value(json_array_get(picked, 0))
                                              : "legacy-mcp",
                 name_out);
    if (json_array_size(picked) > 1)
        snprintf(name_out, 65, "legacy-mcp");
    size_t i;
    json_t *pn;
    json_array_foreach(picked, i, pn)
    {
        json_t *e = json_object_get(json_object_get(servers, json_string_value(pn)), "env");
        const char *cmd = json_string_value(
            json_object_get(json_object_get(servers, json_string_value(pn)), "command"));
        if (!has_str(cmds, cmd))
            json_array_append_new(cmds, json_string(cmd));
        const char *k;
        json_t *v;
        json_object_foreach(e, k, v)
        {
            if (!plain_key(k)) {
                astrid_err_set(err, ASTRID_E_INVALID,
                               "env key \"%.80s\" of server %s must be 1-64 "
                               "characters of A-Z, a-z, 0-9, _ and -",
                               k, json_string_value(pn));
                goto out;
            }
            if (!has_str(envs, k))
                json_array_append_new(envs, json_string(k));
        }
    }
    if (!(f = open_memstream(&text, &tlen)) || !(kf = open_memstream(&keys, &klen))) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        goto out;
    }
    fprintf(f,
            "# Converted from mcp.json by astrid capsule build --from-mcp-json\n"
            "[package]\nname = \"%s\"\nversion = \"1.0.0\"\ndescription = ",
            name_out);
    toml_str(f, "MCP server(s) from mcp.json");
    fprintf(f, "\n\n[capabilities]\nhost_process = [");
    json_t *v;
    json_array_foreach(cmds, i, v)
    {
        fputs(i ? ", " : "", f);
        toml_str(f, json_string_value(v));
    }
    fprintf(f, "]\n");
    if (json_array_size(envs)) {
        fprintf(f, "\n[env]\n");
        json_array_foreach(envs, i, v)
        {
            fprintf(f, "%s = { type = \"secret\", description = \"from mcp.json\" }\n",
                    json_string_value(v));
            fprintf(kf, "%s%s", i ? " " : "", json_string_value(v));
        }
    }
    json_array_foreach(picked, i, pn)
    {
        json_t *sv = json_object_get(servers, json_string_value(pn));
        fprintf(f, "\n[[mcp_server]]\nid = \"%s\"\ntype = \"stdio\"\ncommand = ",
                json_string_value(pn));
        toml_str(f, json_string_value(json_object_get(sv, "command")));
        fprintf(f, "\nargs = [");
        size_t j;
        json_t *a;
        json_array_foreach(json_object_get(sv, "args"), j, a)
        {
            if (!json_is_string(a)) {
                astrid_err_set(err, ASTRID_E_INVALID, "server %s: args[%zu] is not a string",
                               json_string_value(pn), j);
                goto out;
            }
            fputs(j ? ", " : "", f);
            toml_str(f, json_string_value(a));
        }
        fprintf(f, "]\n");
    }
    fclose(f);
    f = NULL;
    fclose(kf);
    kf = NULL;
    /* what we write must install: parse it back with the real parser */
    astrid_manifest *m = astrid_manifest_parse(text, tlen, "Capsule.toml (from mcp.json)", err);
    if (!m)
        goto out;
    astrid_manifest_free(m);
    *toml_out = text;
    text = NULL;
    if (env_keys_out && klen) {
        *env_keys_out = keys;
        keys = NULL;
    }
    rc = 0;
out:
    if (f)
        fclose(f);
    if (kf)
        fclose(kf);
    free(text);
    free(keys);
    json_decref(cmds);
    json_decref(envs);
    json_decref(picked);
    json_decref(root);
    return rc;
}
