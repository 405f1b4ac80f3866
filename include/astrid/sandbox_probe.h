/* The sandbox prerequisites probe (docs/sandbox.md, "Probe"): is bubblewrap
 * on PATH, can it create the namespaces the sandbox uses, does the kernel
 * accept a seccomp filter, does AppArmor restrict unprivileged user
 * namespaces. It lives in libastrid (floor 0) because both the daemon (once,
 * at boot, result kept in the kernel struct) and the CLI (`astrid setup`,
 * `astrid doctor`) run it; it needs neither libseccomp nor any daemon state.
 * The policy (ASTRID_SANDBOX_POLICY) is parsed here for the same reason.
 * The struct is plain data owned by the caller; nothing is allocated. */
#ifndef ASTRID_SANDBOX_PROBE_H
#define ASTRID_SANDBOX_PROBE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "astrid/err.h"

typedef enum astrid_sandbox_policy {
    ASTRID_SANDBOX_REQUIRED = 0, /* default: refuse to launch when the sandbox cannot apply */
    ASTRID_SANDBOX_OFF = 1,      /* ASTRID_SANDBOX_POLICY=off: unsandboxed, audited */
} astrid_sandbox_policy;

/* value: getenv("ASTRID_SANDBOX_POLICY") (NULL/"" = required; "required" |
 * "off", case-insensitive, surrounding blanks ignored; anything else is
 * ASTRID_E_INVALID naming the accepted values -> the daemon refuses to boot).
 * *out is untouched on error. */
int astrid_sandbox_policy_parse(const char *value, astrid_sandbox_policy *out, astrid_err *err);
const char *astrid_sandbox_policy_name(astrid_sandbox_policy p); /* "required" | "off" */

typedef struct astrid_sandbox_probe {
    bool bwrap_found;
    char bwrap_path[PATH_MAX];
    bool userns_ok;          /* bwrap --unshare-all ... /bin/true exited 0 */
    bool seccomp_ok;         /* the kernel accepted a seccomp filter (no_new_privs set) */
    bool apparmor_restricts; /* kernel.apparmor_restrict_unprivileged_userns == 1 */
    char reason[512];        /* why not usable; empty when usable */
} astrid_sandbox_probe;

/* Runs the probe (forks twice; tens of ms). Never fails: what could not be
 * checked is reported as not ok with the reason. */
void astrid_sandbox_probe_run(astrid_sandbox_probe *out);

/* bwrap found, namespaces usable, seccomp usable. */
bool astrid_sandbox_usable(const astrid_sandbox_probe *p);

/* The first executable `name` in the directories of `path` (NULL: the
 * environment's PATH, else /usr/bin:/bin) written to out. 0 found, -1 not. */
int astrid_sandbox_which(const char *name, const char *path, char *out, size_t n);

/* The remediation paragraph every refusal and `astrid setup` print: the
 * sysctl, `astrid setup`, the ASTRID_SANDBOX_POLICY=off escape hatch. */
#define ASTRID_SANDBOX_REMEDIATION                                                                 \
    "Fix: `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, or run `astrid "        \
    "setup` (narrow AppArmor profile), or install bubblewrap if missing; to run "                  \
    "unsandboxed anyway (trusted machines only) set ASTRID_SANDBOX_POLICY=off."

#endif
