#include "astrid/home.h"

#include <limits.h>
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

int astrid_principal_home(char *out, size_t outsz, const char *home, const char *principal,
                          astrid_err *err)
{
    if (astrid_principal_validate(principal, err) != 0)
        return -1;
    char rel[128];
    snprintf(rel, sizeof rel, "home/%s", principal);
    return astrid_path_join(out, outsz, home, rel, err);
}

int astrid_profile_path(char *out, size_t outsz, const char *home, const char *principal,
                        astrid_err *err)
{
    if (astrid_principal_validate(principal, err) != 0)
        return -1;
    char rel[128];
    snprintf(rel, sizeof rel, "etc/profiles/%s.toml", principal);
    return astrid_path_join(out, outsz, home, rel, err);
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
