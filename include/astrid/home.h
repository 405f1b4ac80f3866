/* $ASTRID_HOME resolution and every path under it (reference §2).
 *
 * The layout lives here and nowhere else: no other file formats a path under
 * the home (tests/integration/layout_paths.sh fails when one does). Each
 * function builds one kind of path:
 *   - `out` is caller-owned, `outsz` its size (use PATH_MAX); a path that
 *     does not fit is ASTRID_E_LIMIT "path too long", never a truncated
 *     path, and on any failure `out` is left empty (so a caller with nowhere
 *     to report the error opens "" and fails);
 *   - `home` is the resolved home (astrid_home_resolve);
 *   - every variable part must be one plain path component, or the call
 *     fails with ASTRID_E_INVALID: a principal must pass
 *     astrid_principal_validate (upstream's messages); a capsule name,
 *     secret scope or key, day or temp prefix must be non-empty, at most 255
 *     bytes, without '/' and not start with '.' ("invalid capsule name 'x'");
 *     a content hash is 64 lowercase hex digits.
 * All return 0 or -1 with `err` set. */
#ifndef ASTRID_HOME_H
#define ASTRID_HOME_H

#include <stddef.h>

#include "astrid/err.h"
#include "astrid/principal.h" /* ASTRID_DEFAULT_PRINCIPAL */

#ifdef __cplusplus
extern "C" {
#endif

/* Paths relative to a principal's home (home/{p}/), for code that already
 * holds that directory or classifies paths inside it (the VFS guard, the
 * storage accounting). */
#define ASTRID_PHOME_LOCAL ".local"
#define ASTRID_PHOME_CONFIG ".config"
#define ASTRID_PHOME_TMP ".local/tmp"
#define ASTRID_PHOME_CAPSULES ".local/capsules"
#define ASTRID_PHOME_OVERLAY ".local/overlay" /* the workspace overlay (src/vfs/overlay.h) */
/* The suffix of the files in .config/env/ ({capsule}.env.json), for code
 * listing them. */
#define ASTRID_ENV_JSON_SUFFIX ".env.json"

/* $ASTRID_HOME if set (must be absolute, no '..' component, non-empty),
 * else $HOME/.astrid (HOME under the same rules). Errors quote upstream:
 * "ASTRID_HOME must be an absolute path", "ASTRID_HOME must not contain '..'
 * path components". */
int astrid_home_resolve(char *out, size_t outsz, astrid_err *err);

/* `home`/`rel` joined. For this module: other files call the named functions
 * below (layout_paths.sh rejects calls elsewhere). */
int astrid_home_path(char *out, size_t outsz, const char *home, const char *rel, astrid_err *err);

/* ---- directories directly under the home ---------------------------------- */
int astrid_home_etc_dir(char *out, size_t outsz, const char *home, astrid_err *err); /* etc */
int astrid_home_hooks_dir(char *out, size_t outsz, const char *home,
                          astrid_err *err); /* etc/hooks */
int astrid_home_profiles_dir(char *out, size_t outsz, const char *home,
                             astrid_err *err); /* etc/profiles */
int astrid_home_homes_dir(char *out, size_t outsz, const char *home, astrid_err *err); /* home */
int astrid_home_run_dir(char *out, size_t outsz, const char *home, astrid_err *err);   /* run */
int astrid_home_var_dir(char *out, size_t outsz, const char *home, astrid_err *err);   /* var */
int astrid_home_log_dir(char *out, size_t outsz, const char *home, astrid_err *err);   /* log */
int astrid_home_keys_dir(char *out, size_t outsz, const char *home, astrid_err *err);  /* keys */
int astrid_home_bin_dir(char *out, size_t outsz, const char *home, astrid_err *err);   /* bin */
int astrid_home_aot_dir(char *out, size_t outsz, const char *home, astrid_err *err);   /* bin/aot */
int astrid_home_wit_dir(char *out, size_t outsz, const char *home, astrid_err *err);   /* wit */
int astrid_home_secrets_dir(char *out, size_t outsz, const char *home,
                            astrid_err *err); /* secrets */

/* ---- fixed files ------------------------------------------------------------ */
/* etc/groups.toml, etc/layout-version */
int astrid_home_groups_file(char *out, size_t outsz, const char *home, astrid_err *err);
int astrid_home_layout_version_file(char *out, size_t outsz, const char *home, astrid_err *err);
/* etc/trust.toml: the federation trust table (include/astrid/trust.h) */
int astrid_home_trust_file(char *out, size_t outsz, const char *home, astrid_err *err);
/* run/system.sock, run/system.token, run/system.ready, run/cli-context.toml,
 * run/daemon.lock */
int astrid_home_system_sock(char *out, size_t outsz, const char *home, astrid_err *err);
/* run/agents.sock: the socket for key-authenticated principals only */
int astrid_home_agents_sock(char *out, size_t outsz, const char *home, astrid_err *err);
int astrid_home_system_token(char *out, size_t outsz, const char *home, astrid_err *err);
int astrid_home_system_ready(char *out, size_t outsz, const char *home, astrid_err *err);
int astrid_home_cli_context(char *out, size_t outsz, const char *home, astrid_err *err);
int astrid_home_daemon_lock(char *out, size_t outsz, const char *home, astrid_err *err);
/* var/state.db (the KV store) */
int astrid_home_state_db(char *out, size_t outsz, const char *home, astrid_err *err);
/* config.toml: the home layer of the layered configuration (docs/config.md;
 * upstream reads ~/.astrid/config.toml, not etc/config.toml, reference §2.2
 * note 1) */
int astrid_home_config(char *out, size_t outsz, const char *home, astrid_err *err);
/* keys/runtime.key, keys/runtime.pub */
int astrid_home_runtime_key(char *out, size_t outsz, const char *home, astrid_err *err);
int astrid_home_runtime_pub(char *out, size_t outsz, const char *home, astrid_err *err);
/* etc/federation.toml: the NATS bridge (absent = federation off) */
int astrid_home_federation_file(char *out, size_t outsz, const char *home, astrid_err *err);

/* ---- named entries under the home ------------------------------------------- */
/* run/capsule-{capsule}.sock: a capsule's own net socket. */
int astrid_home_capsule_sock(char *out, size_t outsz, const char *home, const char *capsule,
                             astrid_err *err);
/* run/{prefix}-XXXXXX: a mkdtemp/mkstemp template for scratch work. */
int astrid_home_run_temp(char *out, size_t outsz, const char *home, const char *prefix,
                         astrid_err *err);
/* log/astrid.{day}.log: the daemon's log of one UTC day (YYYY-MM-DD). */
int astrid_home_daemon_log(char *out, size_t outsz, const char *home, const char *day,
                           astrid_err *err);
/* bin/{hash}.wasm and wit/{hash}.wit: content-addressed blobs. */
int astrid_home_wasm_blob(char *out, size_t outsz, const char *home, const char *hash,
                          astrid_err *err);
int astrid_home_wit_blob(char *out, size_t outsz, const char *home, const char *hash,
                         astrid_err *err);
/* secrets/{scope}, secrets/{scope}/{capsule}, secrets/{scope}/{capsule}/{key}.
 * The scope is a principal or "host"; store/secrets.c applies the stricter
 * rules of what a scope, capsule and key may be before calling these. */
int astrid_home_secret_scope_dir(char *out, size_t outsz, const char *home, const char *scope,
                                 astrid_err *err);
int astrid_home_secret_capsule_dir(char *out, size_t outsz, const char *home, const char *scope,
                                   const char *capsule, astrid_err *err);
int astrid_home_secret_file(char *out, size_t outsz, const char *home, const char *scope,
                            const char *capsule, const char *key, astrid_err *err);

/* ---- one principal's home, home/{p}/ ----------------------------------------- */
/* home/{p} and etc/profiles/{p}.toml */
int astrid_principal_home(char *out, size_t outsz, const char *home, const char *principal,
                          astrid_err *err);
int astrid_profile_path(char *out, size_t outsz, const char *home, const char *principal,
                        astrid_err *err);
/* home/{p}/.config/env and home/{p}/.config/env/{capsule}.env.json */
int astrid_home_env_dir(char *out, size_t outsz, const char *home, const char *principal,
                        astrid_err *err);
int astrid_home_env_json(char *out, size_t outsz, const char *home, const char *principal,
                         const char *capsule, astrid_err *err);
/* home/{p}/.local/mcp/{capsule}: the state directory of that principal's
 * own MCP server of the capsule (docs/mcp.md, per_principal) */
int astrid_home_mcp_state_dir(char *out, size_t outsz, const char *home, const char *principal,
                              const char *capsule, astrid_err *err);
/* home/{p}/.config/profile.toml: where profiles lived before etc/profiles/ */
int astrid_home_legacy_profile(char *out, size_t outsz, const char *home, const char *principal,
                               astrid_err *err);
/* home/{p}/.local/{kv,tokens,tmp,audit,log,capsules} */
int astrid_home_kv_dir(char *out, size_t outsz, const char *home, const char *principal,
                       astrid_err *err);
int astrid_home_tokens_dir(char *out, size_t outsz, const char *home, const char *principal,
                           astrid_err *err);
int astrid_home_tmp_dir(char *out, size_t outsz, const char *home, const char *principal,
                        astrid_err *err);
int astrid_home_audit_dir(char *out, size_t outsz, const char *home, const char *principal,
                          astrid_err *err);
int astrid_home_guest_log_dir(char *out, size_t outsz, const char *home, const char *principal,
                              astrid_err *err);
int astrid_home_capsules_dir(char *out, size_t outsz, const char *home, const char *principal,
                             astrid_err *err);
/* home/{p}/.local/audit/audit.jsonl: the principal's audit chain */
int astrid_home_audit_file(char *out, size_t outsz, const char *home, const char *principal,
                           astrid_err *err);
/* home/{p}/.config/distro.lock: the agent's applied distro (docs/distro.md) */
int astrid_home_distro_lock(char *out, size_t outsz, const char *home, const char *principal,
                            astrid_err *err);
/* home/{p}/.local/log/{capsule}: a capsule's guest log directory */
int astrid_home_capsule_log_dir(char *out, size_t outsz, const char *home, const char *principal,
                                const char *capsule, astrid_err *err);
/* home/{p}/.local/log/{capsule}/{day}.log: one UTC day (YYYY-MM-DD) of it */
int astrid_home_capsule_log(char *out, size_t outsz, const char *home, const char *principal,
                            const char *capsule, const char *day, astrid_err *err);

/* home/{p}/.local/capsules/{capsule}: an installed capsule */
int astrid_home_capsule_dir(char *out, size_t outsz, const char *home, const char *principal,
                            const char *capsule, astrid_err *err);

/* Create the layout of reference §2.1: etc/ etc/hooks/ var/ run/ log/ keys/
 * bin/ wit/ home/ (0700, root too) and etc/layout-version ("1") if missing. */
int astrid_home_ensure(const char *home, astrid_err *err);

/* Create home/{p}/.local/{kv,log,audit,tmp,tokens,capsules} and
 * home/{p}/.config/env, all 0700. */
int astrid_principal_home_ensure(const char *home, const char *principal, astrid_err *err);

#ifdef __cplusplus
}
#endif
#endif
