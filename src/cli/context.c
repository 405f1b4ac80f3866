/* The active-agent file. It is tiny, so it is re-read on every invocation. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "astrid/crypto.h"
#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/toml.h"
#include "cli/context.h"

#include <stdlib.h>

#include "astrid/crypto.h"

int cli_home(char *out, size_t outsz, astrid_err *err)
{
    return astrid_home_resolve(out, outsz, err);
}

static int check_principal(const char *home, const char *p, astrid_err *err)
{
    char tmp[PATH_MAX];
    return astrid_profile_path(tmp, sizeof tmp, home, p, err);
}

int cli_context_active(const char *home, char *out, size_t outsz, astrid_err *err)
{
    char path[PATH_MAX];
    struct stat st;
    /* An identity (--identity / ASTRID_IDENTITY) is who this CLI is: its
     * principal is the one connected as and the default target. */
    const char *id = getenv("ASTRID_IDENTITY");
    if (id && *id) {
        astrid_keypair kp;
        int rc = astrid_identity_load(id, &kp, out, outsz, err);
        astrid_keypair_wipe(&kp);
        return rc < 0 ? -1 : 0;
    }
    if (astrid_home_cli_context(path, sizeof path, home, err) < 0)
        return -1;
    if (stat(path, &st) < 0) {
        if (errno != ENOENT)
            return astrid_err_sys(err, "%s", path);
        snprintf(out, outsz, "%s", ASTRID_DEFAULT_PRINCIPAL);
        return 0;
    }
    astrid_toml *doc = astrid_toml_parse_file(path, err, NULL);
    if (!doc)
        return astrid_err_prefix(err, "%s", path);
    const astrid_toml *v = astrid_toml_get(doc, "active_agent");
    int rc = 0;
    if (!v) {
        snprintf(out, outsz, "%s", ASTRID_DEFAULT_PRINCIPAL);
    } else if (astrid_toml_type_of(v) != ASTRID_TOML_STRING) {
        rc = astrid_err_set(err, ASTRID_E_PARSE, "%s: active_agent must be a string", path);
    } else {
        size_t sl = 0;
        const char *s = astrid_toml_str(v, &sl);
        if (strlen(s) != sl) /* "bob\u0000x" must not act as bob */
            rc =
                astrid_err_set(err, ASTRID_E_INVALID,
                               "%s: active_agent must not contain a NUL character (\\u0000)", path);
        else if (strlen(s) >= outsz || check_principal(home, s, err) < 0)
            rc = astrid_err_set(err, ASTRID_E_INVALID, "%s: invalid active_agent '%s'", path, s);
        else
            snprintf(out, outsz, "%s", s);
    }
    astrid_toml_free(doc);
    return rc;
}

int cli_context_set(const char *home, const char *principal, astrid_err *err)
{
    char path[PATH_MAX], run[PATH_MAX];
    if (check_principal(home, principal, err) < 0)
        return -1;
    if (astrid_home_run_dir(run, sizeof run, home, err) < 0 ||
        astrid_home_cli_context(path, sizeof path, home, err) < 0)
        return -1;
    if (astrid_mkdir_p(run, 0700, 0, err) < 0)
        return -1;
    astrid_toml *doc = astrid_toml_new_table();
    if (!doc || astrid_toml_set(doc, "active_agent",
                                astrid_toml_new_string(principal, strlen(principal))) < 0) {
        astrid_toml_free(doc);
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    char *text = astrid_toml_emit(doc, err);
    astrid_toml_free(doc);
    if (!text)
        return -1;
    int rc = astrid_atomic_write(path, text, strlen(text), 0600, err);
    free(text);
    return rc;
}

int cli_target_agent(const char *flag_value, const char *home, char *out, size_t outsz,
                     astrid_err *err)
{
    if (!flag_value)
        return cli_context_active(home, out, outsz, err);
    if (strlen(flag_value) >= outsz || check_principal(home, flag_value, err) < 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "invalid agent name '%s'", flag_value);
    snprintf(out, outsz, "%s", flag_value);
    return 0;
}
