/* cfgprobe: on demo.v1.cfgprobe {"key": K} publishes
 * {"principal": P, "value": V} (or {"err": E}) on demo.v1.cfgprobe.reply:
 * what get-config answers this capsule for the invoking agent
 * (tests/integration/secrets.sh). */
#include <astrid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The string value of "key" (no escapes), or "". */
static void str_of(const char *json, const char *key, char *out, size_t n)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *k = strstr(json, pat);
    const char *e = k ? strchr(k + strlen(pat), '"') : NULL;
    out[0] = '\0';
    if (e && (size_t)(e - k - strlen(pat)) < n)
        snprintf(out, n, "%.*s", (int)(e - k - strlen(pat)), k + strlen(pat));
}

/* `s` as a JSON string body (quotes and backslashes escaped, controls dropped). */
static void esc(char *out, size_t n, const char *s)
{
    size_t o = 0;
    for (; *s && o + 3 < n; s++) {
        if (*s == '"' || *s == '\\')
            out[o++] = '\\';
        if ((unsigned char)*s >= 0x20)
            out[o++] = *s;
    }
    out[o] = '\0';
}

static astrid_action get(const astrid_event *ev, astrid_reply *out)
{
    (void)out;
    char key[128], msg[4096], ev_s[1500], pr_s[200];
    str_of((const char *)ev->payload, "key", key, sizeof key);
    char *value = NULL, *err = NULL;
    astrid_caller who = {0};
    astrid_get_caller(&who, NULL);
    esc(pr_s, sizeof pr_s, who.principal ? who.principal : "");
    if (astrid_get_config(key, &value, &err) == 0) {
        esc(ev_s, sizeof ev_s, value);
        snprintf(msg, sizeof msg, "{\"principal\":\"%s\",\"value\":\"%s\"}", pr_s, ev_s);
    } else {
        esc(ev_s, sizeof ev_s, err ? err : "?");
        snprintf(msg, sizeof msg, "{\"principal\":\"%s\",\"err\":\"%s\"}", pr_s, ev_s);
    }
    free(value);
    free(err);
    astrid_caller_free(&who);
    astrid_publish("demo.v1.cfgprobe.reply", msg, NULL);
    return ASTRID_CONTINUE;
}
ASTRID_INTERCEPTOR("get", get)
