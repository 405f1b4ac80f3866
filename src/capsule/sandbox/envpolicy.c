/* The environment a sandboxed child sees: upstream's env_policy.rs
 * blocklist (reference §13.3) over a fixed base, so a capsule's [env] can
 * neither redirect the loader (LD_PRELOAD), the interpreter (NODE_OPTIONS,
 * PYTHONPATH), TLS trust (SSL_CERT_FILE), proxies, nor point the child back
 * at the daemon (ASTRID_HOME, ASTRID_SOCKET_PATH, ASTRID_SESSION_TOKEN). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capsule/sandbox/sandbox.h"

static const char *const blocked[] = {
    "HOME",
    "PATH",
    "ASTRID_HOME",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "DYLD_INSERT_LIBRARIES",
    "DYLD_LIBRARY_PATH",
    "DYLD_FRAMEWORK_PATH",
    "NODE_OPTIONS",
    "NODE_PATH",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PERL5LIB",
    "RUBYLIB",
    "BASH_ENV",
    "ENV",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "OPENSSL_CONF",
    "TMPDIR",
    "TEMP",
    "TMP",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "ASTRID_SOCKET_PATH",
    "ASTRID_SESSION_TOKEN",
};
static const char *const blocked_prefixes[] = {"ld_", "dyld_", "npm_config_"};

bool astrid_sandbox_env_blocked(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof blocked / sizeof *blocked; i++)
        if (strlen(blocked[i]) == len && strncasecmp(blocked[i], name, len) == 0)
            return true;
    for (size_t i = 0; i < sizeof blocked_prefixes / sizeof *blocked_prefixes; i++) {
        size_t pl = strlen(blocked_prefixes[i]);
        if (len >= pl && strncasecmp(blocked_prefixes[i], name, pl) == 0)
            return true;
    }
    return false;
}

void astrid_sandbox_argv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* Replace an entry with the same name or append; takes `kv`. */
static int env_put(char ***v, size_t *n, char *kv)
{
    size_t klen = strcspn(kv, "=");
    for (size_t i = 0; i < *n; i++)
        if (strncmp((*v)[i], kv, klen) == 0 && (*v)[i][klen] == '=') {
            free((*v)[i]);
            (*v)[i] = kv;
            return 0;
        }
    char **nv = realloc(*v, (*n + 2) * sizeof *nv);
    if (!nv) {
        free(kv);
        return -1;
    }
    nv[(*n)++] = kv;
    nv[*n] = NULL;
    *v = nv;
    return 0;
}

char **astrid_sandbox_build_env(const char *const *env, astrid_err *err)
{
    static const char *const inherited[] = {"HOME", "USER", "SHELL", "TERM", "LANG"};
    char **v = calloc(1, sizeof *v);
    size_t n = 0;
    if (!v || env_put(&v, &n, strdup("PATH=" ASTRID_SANDBOX_PATH)) < 0)
        goto nomem;
    for (size_t i = 0; i < sizeof inherited / sizeof *inherited; i++) {
        const char *val = getenv(inherited[i]);
        if (!val)
            continue;
        size_t len = strlen(inherited[i]) + strlen(val) + 2;
        char *kv = malloc(len);
        if (!kv)
            goto nomem;
        snprintf(kv, len, "%s=%s", inherited[i], val);
        if (env_put(&v, &n, kv) < 0)
            goto nomem;
    }
    for (size_t i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        if (!eq || eq == env[i]) {
            astrid_sandbox_argv_free(v);
            astrid_err_set(err, ASTRID_E_INVALID,
                           "environment entry \"%.64s\": expected NAME=VALUE with a non-empty "
                           "name",
                           env[i]);
            return NULL;
        }
        if (astrid_sandbox_env_blocked(env[i], (size_t)(eq - env[i])))
            continue;
        char *kv = strdup(env[i]);
        if (!kv || env_put(&v, &n, kv) < 0)
            goto nomem;
    }
    return v;
nomem:
    astrid_sandbox_argv_free(v);
    astrid_err_set(err, ASTRID_E_NOMEM, "out of memory building the sandbox environment");
    return NULL;
}
