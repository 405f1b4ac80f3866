#include "astrid/home.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/fs.h"
#include "astrid/principal.h"

static int has_dotdot(const char *p)
{
    const char *s = p;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return 1;
        if (!e)
            break;
        s = e + 1;
    }
    return 0;
}

static int check_root(const char *var, const char *val, astrid_err *err)
{
    if (val[0] != '/')
        return astrid_err_set(err, ASTRID_E_INVALID, "%s must be an absolute path", var);
    if (has_dotdot(val))
        return astrid_err_set(err, ASTRID_E_INVALID, "%s must not contain '..' path components",
                              var);
    return 0;
}

int astrid_home_resolve(char *out, size_t outsz, astrid_err *err)
{
    const char *h = getenv("ASTRID_HOME");
    int n;
    if (h) {
        if (check_root("ASTRID_HOME", h, err) != 0)
            return -1;
        n = snprintf(out, outsz, "%s", h);
    } else {
        const char *home = getenv("HOME");
        if (!home)
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "neither ASTRID_HOME nor HOME is set; cannot locate ~/.astrid");
        if (check_root("HOME", home, err) != 0)
            return -1;
        n = snprintf(out, outsz, "%s/.astrid", strcmp(home, "/") == 0 ? "" : home);
    }
    if (n < 0 || (size_t)n >= outsz)
        return astrid_err_set(err, ASTRID_E_LIMIT, "ASTRID_HOME path too long");
    /* Drop trailing slashes so joined paths stay canonical. */
    while (n > 1 && out[n - 1] == '/')
        out[--n] = '\0';
    return 0;
}

int astrid_home_path(char *out, size_t outsz, const char *home, const char *rel, astrid_err *err)
{
    return astrid_path_join(out, outsz, home, rel, err);
}

/* A failed call leaves `out` empty, so a caller that cannot report the
 * error (a log line) opens "" and fails instead of a truncated path. */
static int bad(char *out, size_t outsz)
{
    if (outsz > 0)
        out[0] = '\0';
    return -1;
}

/* One plain path component: what a capsule name, secret scope or key, day
 * or temp prefix must be before it is put into a path. */
static int check_part(const char *what, const char *s, astrid_err *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 255 || s[0] == '.' || strchr(s, '/'))
        return astrid_err_set(err, ASTRID_E_INVALID, "invalid %s '%s'", what, s ? s : "");
    return 0;
}

static int check_hash(const char *h, astrid_err *err)
{
    if (!h || strlen(h) != 64 || strspn(h, "0123456789abcdef") != 64)
        return astrid_err_set(err, ASTRID_E_INVALID, "invalid content hash '%s'", h ? h : "");
    return 0;
}

/* home joined with the relative path `fmt` formats. Callers have checked
 * every part, so the join's own '..' refusal is a second line only. */
__attribute__((format(printf, 5, 6))) static int layout(char *out, size_t outsz, const char *home,
                                                        astrid_err *err, const char *fmt, ...)
{
    char rel[PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof rel) {
        astrid_err_set(err, ASTRID_E_LIMIT, "path too long");
        return bad(out, outsz);
    }
    return astrid_path_join(out, outsz, home, rel, err) == 0 ? 0 : bad(out, outsz);
}

#define FIXED(fn, rel)                                                                             \
    int fn(char *out, size_t outsz, const char *home, astrid_err *err)                             \
    {                                                                                              \
        return layout(out, outsz, home, err, "%s", rel);                                           \
    }

FIXED(astrid_home_etc_dir, "etc")
FIXED(astrid_home_hooks_dir, "etc/hooks")
FIXED(astrid_home_profiles_dir, "etc/profiles")
FIXED(astrid_home_homes_dir, "home")
FIXED(astrid_home_run_dir, "run")
FIXED(astrid_home_var_dir, "var")
FIXED(astrid_home_log_dir, "log")
FIXED(astrid_home_keys_dir, "keys")
FIXED(astrid_home_bin_dir, "bin")
FIXED(astrid_home_aot_dir, "bin/aot")
FIXED(astrid_home_wit_dir, "wit")
FIXED(astrid_home_secrets_dir, "secrets")
FIXED(astrid_home_groups_file, "etc/groups.toml")
FIXED(astrid_home_trust_file, "etc/trust.toml")
FIXED(astrid_home_layout_version_file, "etc/layout-version")
FIXED(astrid_home_system_sock, "run/system.sock")
FIXED(astrid_home_agents_sock, "run/agents.sock")
FIXED(astrid_home_system_token, "run/system.token")
FIXED(astrid_home_system_ready, "run/system.ready")
FIXED(astrid_home_cli_context, "run/cli-context.toml")
FIXED(astrid_home_daemon_lock, "run/daemon.lock")
FIXED(astrid_home_state_db, "var/state.db")
FIXED(astrid_home_runtime_key, "keys/runtime.key")
FIXED(astrid_home_runtime_pub, "keys/runtime.pub")
FIXED(astrid_home_federation_file, "etc/federation.toml")
FIXED(astrid_home_config, "config.toml")

int astrid_home_capsule_sock(char *out, size_t outsz, const char *home, const char *capsule,
                             astrid_err *err)
{
    if (check_part("capsule name", capsule, err) != 0)
        return bad(out, outsz);
    return layout(out, outsz, home, err, "run/capsule-%s.sock", capsule);
}

int astrid_home_run_temp(char *out, size_t outsz, const char *home, const char *prefix,
                         astrid_err *err)
{
    if (check_part("temp prefix", prefix, err) != 0)
        return bad(out, outsz);
    return layout(out, outsz, home, err, "run/%s-XXXXXX", prefix);
}

int astrid_home_daemon_log(char *out, size_t outsz, const char *home, const char *day,
                           astrid_err *err)
{
    if (check_part("log day", day, err) != 0)
        return bad(out, outsz);
    return layout(out, outsz, home, err, "log/astrid.%s.log", day);
}

int astrid_home_wasm_blob(char *out, size_t outsz, const char *home, const char *hash,
                          astrid_err *err)
{
    if (check_hash(hash, err) != 0)
        return bad(out, outsz);
    return layout(out, outsz, home, err, "bin/%s.wasm", hash);
}

int astrid_home_wit_blob(char *out, size_t outsz, const char *home, const char *hash,
                         astrid_err *err)
{
    if (check_hash(hash, err) != 0)
        return bad(out, outsz);
    return layout(out, outsz, home, err, "wit/%s.wit", hash);
}

int astrid_home_secret_scope_dir(char *out, size_t outsz, const char *home, const char *scope,
                                 astrid_err *err)
{
    if (check_part("secret scope", scope, err) != 0)
        return bad(out, outsz);
    return layout(out, outsz, home, err, "secrets/%s", scope);
}

int astrid_home_secret_capsule_dir(char *out, size_t outsz, const char *home, const char *scope,
                                   const char *capsule, astrid_err *err)
{
    if (check_part("secret scope", scope, err) != 0 ||
        check_part("capsule name", capsule, err) != 0)
        return bad(out, outsz);
    return layout(out, outsz, home, err, "secrets/%s/%s", scope, capsule);
}

int astrid_home_secret_file(char *out, size_t outsz, const char *home, const char *scope,
                            const char *capsule, const char *key, astrid_err *err)
{
    if (check_part("secret scope", scope, err) != 0 ||
        check_part("capsule name", capsule, err) != 0 || check_part("secret key", key, err) != 0)
        return bad(out, outsz);
    return layout(out, outsz, home, err, "secrets/%s/%s/%s", scope, capsule, key);
}

int astrid_principal_home(char *out, size_t outsz, const char *home, const char *principal,
                          astrid_err *err)
{
    if (astrid_principal_validate(principal, err) != 0)
        return bad(out, outsz);
    return layout(out, outsz, home, err, "home/%s", principal);
}

int astrid_profile_path(char *out, size_t outsz, const char *home, const char *principal,
                        astrid_err *err)
{
    /* Remote principals ("alice@B") have profiles, never homes. */
    if (astrid_profile_principal_validate(principal, err) != 0)
        return bad(out, outsz);
    return layout(out, outsz, home, err, "etc/profiles/%s.toml", principal);
}

/* home/{p}/{sub}: the fixed directories of one principal's home. */
#define PRINCIPAL_FIXED(fn, sub)                                                                   \
    int fn(char *out, size_t outsz, const char *home, const char *principal, astrid_err *err)      \
    {                                                                                              \
        if (astrid_principal_validate(principal, err) != 0)                                        \
            return bad(out, outsz);                                                                \
        return layout(out, outsz, home, err, "home/%s/%s", principal, sub);                        \
    }

PRINCIPAL_FIXED(astrid_home_env_dir, ".config/env")
PRINCIPAL_FIXED(astrid_home_legacy_profile, ".config/profile.toml")
PRINCIPAL_FIXED(astrid_home_kv_dir, ".local/kv")
PRINCIPAL_FIXED(astrid_home_tokens_dir, ".local/tokens")
PRINCIPAL_FIXED(astrid_home_tmp_dir, ASTRID_PHOME_TMP)
PRINCIPAL_FIXED(astrid_home_audit_dir, ".local/audit")
PRINCIPAL_FIXED(astrid_home_guest_log_dir, ".local/log")
PRINCIPAL_FIXED(astrid_home_capsules_dir, ASTRID_PHOME_CAPSULES)
PRINCIPAL_FIXED(astrid_home_audit_file, ".local/audit/audit.jsonl")
PRINCIPAL_FIXED(astrid_home_distro_lock, ".config/distro.lock")

int astrid_home_env_json(char *out, size_t outsz, const char *home, const char *principal,
                         const char *capsule, astrid_err *err)
{
    if (astrid_principal_validate(principal, err) != 0 ||
        check_part("capsule name", capsule, err) != 0)
        return bad(out, outsz);
    return layout(out, outsz, home, err, "home/%s/.config/env/%s" ASTRID_ENV_JSON_SUFFIX, principal,
                  capsule);
}

int astrid_home_mcp_state_dir(char *out, size_t outsz, const char *home, const char *principal,
                              const char *capsule, astrid_err *err)
{
    if (astrid_principal_validate(principal, err) != 0 ||
        check_part("capsule name", capsule, err) != 0)
        return bad(out, outsz);
    return layout(out, outsz, home, err, "home/%s/.local/mcp/%s", principal, capsule);
}

int astrid_home_capsule_log_dir(char *out, size_t outsz, const char *home, const char *principal,
                                const char *capsule, astrid_err *err)
{
    if (astrid_principal_validate(principal, err) != 0 ||
        check_part("capsule name", capsule, err) != 0)
        return bad(out, outsz);
    return layout(out, outsz, home, err, "home/%s/.local/log/%s", principal, capsule);
}

int astrid_home_capsule_log(char *out, size_t outsz, const char *home, const char *principal,
                            const char *capsule, const char *day, astrid_err *err)
{
    if (astrid_principal_validate(principal, err) != 0 ||
        check_part("capsule name", capsule, err) != 0 || check_part("log day", day, err) != 0)
        return bad(out, outsz);
    return layout(out, outsz, home, err, "home/%s/.local/log/%s/%s.log", principal, capsule, day);
}

int astrid_home_capsule_dir(char *out, size_t outsz, const char *home, const char *principal,
                            const char *capsule, astrid_err *err)
{
    if (astrid_principal_validate(principal, err) != 0 ||
        check_part("capsule name", capsule, err) != 0)
        return bad(out, outsz);
    return layout(out, outsz, home, err, "home/%s/" ASTRID_PHOME_CAPSULES "/%s", principal,
                  capsule);
}

int astrid_home_ensure(const char *home, astrid_err *err)
{
    static const char *const dirs[] = {"etc",  "etc/hooks", "var", "run", "log",
                                       "keys", "bin",       "wit", "home"};
    if (astrid_mkdir_p(home, 0700, 1, err) != 0)
        return -1;
    char p[PATH_MAX];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (astrid_path_join(p, sizeof p, home, dirs[i], err) != 0 ||
            astrid_mkdir_p(p, 0700, 1, err) != 0)
            return -1;
    }
    if (astrid_path_join(p, sizeof p, home, "etc/layout-version", err) != 0)
        return -1;
    FILE *f = fopen(p, "r");
    if (f) {
        fclose(f);
        return 0;
    }
    return astrid_atomic_write(p, "1", 1, 0600, err);
}

int astrid_principal_home_ensure(const char *home, const char *principal, astrid_err *err)
{
    static const char *const sub[] = {".local/kv",  ".local/log",    ".local/audit",
                                      ".local/tmp", ".local/tokens", ".local/capsules",
                                      ".config/env"};
    char ph[PATH_MAX];
    char p[PATH_MAX];
    if (astrid_principal_home(ph, sizeof ph, home, principal, err) != 0)
        return -1;
    if (astrid_mkdir_p(ph, 0700, 1, err) != 0)
        return -1;
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        if (astrid_path_join(p, sizeof p, ph, sub[i], err) != 0 ||
            astrid_mkdir_p(p, 0700, 1, err) != 0)
            return -1;
    }
    /* The intermediate .local and .config must be 0700 too. */
    const char *mid[] = {".local", ".config"};
    for (size_t i = 0; i < 2; i++) {
        if (astrid_path_join(p, sizeof p, ph, mid[i], err) != 0 ||
            astrid_mkdir_p(p, 0700, 1, err) != 0)
            return -1;
    }
    return 0;
}
