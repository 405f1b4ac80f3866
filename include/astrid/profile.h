/* PrincipalProfile: etc/profiles/{principal}.toml.
 *
 * Ownership: astrid_profile_load* return a heap profile with one reference
 * owned by the caller (astrid_profile_release). A profile is never modified
 * after it is handed to the profile cache, so shared readers need no lock.
 * String lists own their strings. */
#ifndef ASTRID_PROFILE_H
#define ASTRID_PROFILE_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "astrid/err.h"
#ifdef __cplusplus
extern "C" {
#endif
#define ASTRID_PROFILE_VERSION 1u
#define ASTRID_MAX_GROUP_NAME_LEN 64
/* Bounds every profile load AND save applies (save runs the emitted text
 * through the loader's own parse), so nothing the daemon writes can fail to
 * load at the next boot. */
#define ASTRID_PROFILE_FILE_MAX (1u << 20) /* bytes of etc/profiles/{p}.toml */
#define ASTRID_PROFILE_MAX_LIST 1024u      /* entries in any one list */
#define ASTRID_PROFILE_MAX_ENTRY 1024u     /* bytes of one egress/process/key entry */

#define ASTRID_QUOTA_DEFAULT_MEMORY 67108864ull    /* 64 MiB */
#define ASTRID_QUOTA_DEFAULT_TIMEOUT 300ull        /* seconds, 1..=86400 */
#define ASTRID_QUOTA_DEFAULT_IPC 10485760ull       /* 10 MiB/s */
#define ASTRID_QUOTA_DEFAULT_BG_PROCS 8u           /* <= 256 */
#define ASTRID_QUOTA_DEFAULT_STORAGE 1073741824ull /* 1 GiB */

typedef struct astrid_strlist {
    char **v;
    size_t n;
} astrid_strlist;

typedef struct astrid_quotas {
    uint64_t max_memory_bytes;
    uint64_t max_timeout_secs;
    uint64_t max_ipc_throughput_bytes;
    uint32_t max_background_processes;
    uint64_t max_storage_bytes;
} astrid_quotas;

typedef struct astrid_profile {
    uint32_t profile_version;
    bool enabled;
    astrid_strlist groups, grants, revokes;
    astrid_strlist auth_methods; /* "keypair" | "passkey" | "system" */
    astrid_strlist auth_public_keys;
    astrid_strlist network_egress;
    astrid_strlist process_allow;
    astrid_quotas quotas;
    atomic_uint refs; /* private: use astrid_profile_release */
} astrid_profile;

/* A new default profile (one reference). NULL on allocation failure. */
astrid_profile *astrid_profile_new(astrid_err *err);
void astrid_profile_release(const astrid_profile *p); /* NULL is fine */
const astrid_profile *astrid_profile_retain(const astrid_profile *p);
/* Append a copy of `s` to a list. */
int astrid_strlist_push(astrid_strlist *l, const char *s, astrid_err *err);
/* Remove every entry equal to `s`; returns the number removed. */
size_t astrid_strlist_remove(astrid_strlist *l, const char *s);

/* Every §7.2 rule (version <= 1, names, grammar, quotas) plus the bounds
 * above (list lengths, entry lengths). */
int astrid_profile_validate(const astrid_profile *p, astrid_err *err);

/* The path `{home}/etc/profiles/{principal}.toml` comes from
 * astrid_profile_path() in astrid/home.h. */
/* Missing file -> defaults. Malformed TOML, unknown key (named with file,
 * line and column), wrong type or failed validation -> NULL. */
astrid_profile *astrid_profile_load_path(const char *path, astrid_err *err);
astrid_profile *astrid_profile_load(const char *home, const char *principal, astrid_err *err);
/* The loader proper, shared by load and save: `text` (len bytes and a
 * terminating NUL; `path`
 * only names it in errors) over ASTRID_PROFILE_FILE_MAX, malformed, with an
 * unknown key or failing validation -> NULL. An empty text is the defaults. */
astrid_profile *astrid_profile_parse(const char *path, const char *text, size_t len,
                                     astrid_err *err);
/* Validate, emit with the TOML emitter, re-parse the emitted text with
 * astrid_profile_parse (a document the loader would refuse is never
 * written), write atomically (0600). Creates etc/profiles (0700) when
 * needed. */
int astrid_profile_save_path(const astrid_profile *p, const char *path, astrid_err *err);
int astrid_profile_save(const char *home, const char *principal, const astrid_profile *p,
                        astrid_err *err);
/* TOML text for `p` (caller frees). */
char *astrid_profile_emit(const astrid_profile *p, astrid_err *err);

/* One-shot migration of legacy `{home}/home/{p}/.config/profile.toml`:
 * absent -> nothing; new file exists -> legacy deleted; else the legacy file
 * is loaded (must be valid; left untouched otherwise), saved at the new place
 * and then deleted. *migrated (optional) tells whether a file was moved. */
int astrid_profile_migrate_legacy(const char *home, const char *principal, bool *migrated,
                                  astrid_err *err);
/* Boot seeding: when etc/profiles/default.toml is missing or has empty
 * groups, grants and revokes, save it with groups = ["admin"] (other fields
 * kept). A malformed file is an error and is left untouched. *seeded
 * (optional) tells whether the file was written. */
int astrid_profile_bootstrap_default(const char *home, bool *seeded, astrid_err *err);
#ifdef __cplusplus
}
#endif
#endif
