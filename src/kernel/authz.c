/* Layer 5 enforcement preamble: profile -> enabled -> capability.
 *
 * INTERIM evaluator until the policy core (GroupConfig, CapabilityCheck) is
 * merged: it reads etc/profiles/{p}.toml directly and applies revoke > grant
 * > group with the built-in groups only; custom groups in etc/groups.toml
 * grant nothing yet (fail closed). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "astrid/home.h"
#include "astrid/toml.h"
#include "kernel/kernel.h"

/* §7.5: bare '*' matches all; a trailing '*' one or more segments; an inner
 * '*' exactly one. */
static bool cap_matches(const char *pat, const char *cap)
{
    if (strcmp(pat, "*") == 0)
        return true;
    for (;;) {
        const char *pe = strchr(pat, ':');
        const char *ce = strchr(cap, ':');
        size_t pl = pe ? (size_t)(pe - pat) : strlen(pat);
        size_t cl = ce ? (size_t)(ce - cap) : strlen(cap);
        bool star = pl == 1 && pat[0] == '*';
        if (star && !pe)
            return true; /* trailing: this and any further segments */
        if (!star && (pl != cl || memcmp(pat, cap, pl) != 0))
            return false;
        if (!pe || !ce)
            return !pe && !ce;
        pat = pe + 1;
        cap = ce + 1;
    }
}

static const char *const ADMIN_CAPS[] = {"*", NULL};
static const char *const AGENT_CAPS[] = {"self:*", "self:quota:get", "self:agent:list", NULL};
static const char *const RESTRICTED_CAPS[] = {"self:capsule:list", NULL};

static const char *const *builtin(const char *name)
{
    if (strcmp(name, "admin") == 0)
        return ADMIN_CAPS;
    if (strcmp(name, "agent") == 0)
        return AGENT_CAPS;
    if (strcmp(name, "restricted") == 0)
        return RESTRICTED_CAPS;
    return NULL;
}

static bool any_match(const astrid_toml *arr, const char *cap)
{
    for (size_t i = 0; i < astrid_toml_len(arr); i++) {
        const char *p = astrid_toml_str(astrid_toml_at(arr, i), NULL);
        if (p && cap_matches(p, cap))
            return true;
    }
    return false;
}

static astrid_toml *load_profile(astrid_kernel *k, const char *principal, char *reason,
                                 size_t n)
{
    char path[PATH_MAX];
    astrid_err err;
    if (astrid_profile_path(path, sizeof path, k->home, principal, &err) != 0) {
        snprintf(reason, n, "%s", err.msg);
        return NULL;
    }
    if (access(path, F_OK) != 0) {
        snprintf(reason, n, "principal %s does not exist (no profile.toml at %s)", principal,
                 path);
        return NULL;
    }
    astrid_toml *t = astrid_toml_parse_file(path, &err, NULL);
    if (!t)
        snprintf(reason, n, "profile of %s cannot be loaded: %s", principal, err.msg);
    return t;
}

int astrid_principal_admissible(astrid_kernel *k, const char *principal, char *reason, size_t n)
{
    astrid_toml *t = load_profile(k, principal, reason, n);
    if (!t)
        return -1;
    const astrid_toml *en = astrid_toml_get(t, "enabled");
    bool enabled = !en || astrid_toml_bool(en);
    astrid_toml_free(t);
    if (!enabled) {
        snprintf(reason, n, "principal '%s' is disabled", principal);
        return -1;
    }
    return 0;
}

int astrid_authorize(astrid_kernel *k, const char *principal, const char *cap, char *reason,
                     size_t n)
{
    astrid_toml *t = load_profile(k, principal, reason, n);
    if (!t)
        return -1;
    int rc = -1;
    const astrid_toml *en = astrid_toml_get(t, "enabled");
    if (en && !astrid_toml_bool(en)) {
        snprintf(reason, n, "principal '%s' is disabled", principal);
        goto out;
    }
    const astrid_toml *revokes = astrid_toml_get(t, "revokes");
    for (size_t i = 0; i < astrid_toml_len(revokes); i++) {
        const char *p = astrid_toml_str(astrid_toml_at(revokes, i), NULL);
        if (p && cap_matches(p, cap)) {
            snprintf(reason, n, "capability '%s' is revoked for principal '%s' (pattern '%s')",
                     cap, principal, p);
            goto out;
        }
    }
    if (any_match(astrid_toml_get(t, "grants"), cap)) {
        rc = 0;
        goto out;
    }
    const astrid_toml *groups = astrid_toml_get(t, "groups");
    for (size_t i = 0; i < astrid_toml_len(groups) && rc != 0; i++) {
        const char *g = astrid_toml_str(astrid_toml_at(groups, i), NULL);
        const char *const *caps = g ? builtin(g) : NULL;
        for (; caps && *caps; caps++)
            if (cap_matches(*caps, cap))
                rc = 0;
    }
    if (rc != 0)
        snprintf(reason, n, "principal '%s' lacks capability '%s'", principal, cap);
out:
    astrid_toml_free(t);
    return rc;
}
