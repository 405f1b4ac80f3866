/* The sandbox prerequisites probe (docs/sandbox.md, "Probe"): is bubblewrap
 * on PATH, can it create the namespaces the sandbox uses, does the kernel
 * accept a seccomp filter, does AppArmor restrict unprivileged user
 * namespaces. It lives in libastrid (floor 0) because both the daemon (once,
 * at boot, result kept in the kernel struct) and the CLI (`astrid setup`,
 * `astrid doctor`) run it; it needs neither libseccomp nor any daemon state.
 * The struct is plain data owned by the caller; nothing is allocated. */
#ifndef ASTRID_SANDBOX_PROBE_H
#define ASTRID_SANDBOX_PROBE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

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
    "To fix: install bubblewrap (bwrap) if it is missing; on Ubuntu 23.10+ allow user "            \
    "namespaces with `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` or "          \
    "install the narrow AppArmor profile with `astrid setup --apply` (see `astrid setup`). "       \
    "To run without the sandbox anyway (trusted dev machines and CI only), set "                   \
    "ASTRID_SANDBOX_POLICY=off."

#endif
