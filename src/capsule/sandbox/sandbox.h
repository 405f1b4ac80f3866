/* Native subprocess sandbox (docs/sandbox.md): bubblewrap with a fixed
 * mount layout, a libseccomp filter, no_new_privs, rlimits and upstream's
 * environment blocklist, under a policy that is REQUIRED by default (refuse
 * to launch when the sandbox cannot apply) or OFF (launch unsandboxed; the
 * caller audits it).
 *
 * Ownership: every pointer in a spec is borrowed for the duration of the
 * call only. astrid_sandbox_spawn gives the caller a pid to reap and three
 * fds to close. astrid_sandbox_argv_free releases what the builder made.
 *
 * Threads: the spawned child gets PR_SET_PDEATHSIG (and bwrap's
 * --die-with-parent), which Linux fires when the *thread* that forked it
 * exits, so call astrid_sandbox_spawn from a long-lived thread (a worker
 * of the daemon's pools, the loop thread), never from a throw-away one.
 *
 * Inside the sandbox $HOME and $ASTRID_HOME are empty read-only tmpfs
 * layers (writes fail with EROFS); /tmp is private and writable; anything
 * else a program must write needs to be in rw_paths. */
#ifndef ASTRID_CAPSULE_SANDBOX_H
#define ASTRID_CAPSULE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "astrid/err.h"
#include "astrid/sandbox_probe.h"

/* astrid_sandbox_policy (ASTRID_SANDBOX_REQUIRED = 0, the default;
 * ASTRID_SANDBOX_OFF = 1), astrid_sandbox_policy_parse and
 * astrid_sandbox_policy_name come from astrid/sandbox_probe.h as well: the
 * CLI (`astrid doctor`) parses the policy too and links only libastrid. */

/* astrid_sandbox_probe, astrid_sandbox_probe_run and astrid_sandbox_usable
 * come from astrid/sandbox_probe.h (floor 0, shared with the CLI). */

typedef struct astrid_sandbox_spec {
    const char *const *argv; /* NULL-terminated; argv[0] absolute, or a name found on PATH */
    const char *const *env;  /* NULL-terminated "K=V"; the §13.3 blocklist is applied here */
    const char *cwd;         /* host path made the cwd (must be bound below); NULL = capsule_dir */
    const char *capsule_dir; /* bound read-only at its own path (may be NULL) */
    const char *const *rw_paths; /* host paths bound read-write AFTER the tmpfs layers (NULL ok) */
    const char *const *ro_paths; /* host paths bound read-only AFTER the tmpfs layers (NULL ok) */
    const char *astrid_home;     /* tmpfs'd over (with $HOME) before the binds above */
    bool net;                    /* keep the network namespace */
    struct {
        uint64_t as_bytes, nofile, nproc, cpu_secs, fsize_bytes;
    } rlim; /* 0 = leave */
} astrid_sandbox_spec;

typedef struct astrid_sandbox_proc {
    pid_t pid;                 /* the bwrap (or, policy off, the program) pid; caller reaps. Killing
                                * it kills the sandbox: bwrap's children have PDEATHSIG (--die-with-parent) */
    int in_fd, out_fd, err_fd; /* our ends of the pipes, O_CLOEXEC; caller closes */
    bool sandboxed;            /* false only under ASTRID_SANDBOX_POLICY=off */
} astrid_sandbox_proc;

/* Starts spec under policy. REQUIRED and !astrid_sandbox_usable(probe) =>
 * -1, ASTRID_E_UNSUPPORTED with the remediation text (sysctl, `astrid
 * setup`, ASTRID_SANDBOX_POLICY=off). Bad specs (relative or missing paths, a
 * bind that would expose $HOME or $ASTRID_HOME, a cwd outside the binds, a
 * program not found) => -1, ASTRID_E_INVALID / ASTRID_E_NOTFOUND. A program
 * that cannot be executed is reported here (exec errno), not as an exit
 * status. The child is in its own session, has no_new_privs and dies with
 * the daemon. Returns 0 and fills *out. */
int astrid_sandbox_spawn(const astrid_sandbox_probe *probe, astrid_sandbox_policy policy,
                         const astrid_sandbox_spec *spec, astrid_sandbox_proc *out,
                         astrid_err *err);

/* ---- pieces, exposed for tests, `astrid setup` and the docs ---- */

/* True when `name` (the part before '=') may not come from a capsule's
 * config: upstream's list, case-insensitive, plus the ld_/dyld_/npm_config_
 * prefixes. */
bool astrid_sandbox_env_blocked(const char *name, size_t len);

/* The environment the child gets, malloc'd NULL-terminated array of
 * malloc'd strings (free with astrid_sandbox_argv_free): PATH fixed to
 * ASTRID_SANDBOX_PATH, HOME USER SHELL TERM LANG copied from the daemon's
 * environment, then spec env minus blocked names (later entries win). An
 * entry without '=' or with an empty name is ASTRID_E_INVALID. */
#define ASTRID_SANDBOX_PATH "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
char **astrid_sandbox_build_env(const char *const *env, astrid_err *err);

/* The full bwrap argv (bwrap_path first, then the layout of docs/sandbox.md,
 * "--seccomp <seccomp_fd>" when seccomp_fd >= 0, "--", the program) for
 * spec, with `home` taken as $HOME (NULL/"" = none) and `program` the
 * resolved argv[0]. Paths are checked and resolved (realpath) here.
 * malloc'd; free with astrid_sandbox_argv_free. */
char **astrid_sandbox_bwrap_argv(const char *bwrap_path, const astrid_sandbox_spec *spec,
                                 const char *home, const char *program, int seccomp_fd,
                                 astrid_err *err);
/* The same, but the binds of the capsule dir and the allowed paths go to
 * bwrap as descriptors (`--bind-fd`/`--ro-bind-fd fd_base+i`), opened here
 * right after the checks and proven to be the checked paths, so nothing can
 * swap a component for a symlink between check and mount. fds (at least
 * ASTRID_SANDBOX_MAX_BINDS) receives the parent's O_CLOEXEC descriptors,
 * *nfds their count; fds[i] must become fd_base+i in the child; the caller
 * closes them. On error none is left open. */
#define ASTRID_SANDBOX_MAX_BINDS 64
char **astrid_sandbox_bwrap_argv_fds(const char *bwrap_path, const astrid_sandbox_spec *spec,
                                     const char *home, const char *program, int seccomp_fd,
                                     int fd_base, int *fds, size_t *nfds, astrid_err *err);
void astrid_sandbox_argv_free(char **v);

/* The seccomp filter (docs/sandbox.md, "Seccomp") as BPF in a sealed
 * memfd positioned at 0, ready for `bwrap --seccomp FD`; O_CLOEXEC, caller
 * closes. net=false also refuses socket() outside AF_UNIX. -1 on error. */
int astrid_sandbox_seccomp_fd(bool net, astrid_err *err);

#endif
