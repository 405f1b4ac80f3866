/* GroupConfig: built-in groups (admin, agent, restricted) plus custom groups
 * from etc/groups.toml.
 *
 * Ownership: an astrid_group_config is IMMUTABLE once returned and reference
 * counted. Every constructor/mutator returns a NEW config with one reference
 * owned by the caller; release it with astrid_groups_unref(). Strings handed
 * out by accessors live as long as the config. Mutators never change their
 * input, so a config shared between threads needs no lock. */
#ifndef ASTRID_GROUPS_H
#define ASTRID_GROUPS_H
#include <stdbool.h>
#include <stddef.h>
#include "astrid/err.h"
#ifdef __cplusplus
extern "C" {
#endif
/* Bounds every load AND save applies (save re-parses the emitted text with
 * the loader), so a group the daemon writes always loads at the next boot. */
#define ASTRID_GROUPS_FILE_MAX (1u << 20) /* bytes of etc/groups.toml */
#define ASTRID_GROUP_MAX_CAPS 1024u       /* capabilities of one group */
#define ASTRID_GROUP_MAX_DESC 4096u       /* bytes of one description */
#define ASTRID_GROUPS_MAX_CUSTOM 1024u    /* custom groups */

typedef struct astrid_group {
    const char *name;
    const char *description; /* NULL when absent */
    const char *const *caps; /* ncaps entries, in file order */
    size_t ncaps;
    bool unsafe_admin;
    bool builtin;
} astrid_group;

typedef struct astrid_group_config astrid_group_config;

/* Why a mutator/load failed, beyond the astrid_err message. */
typedef enum astrid_group_error {
    ASTRID_GROUP_OK = 0,
    ASTRID_GROUP_REDEFINED_BUILTIN,
    ASTRID_GROUP_DUPLICATE_NAME,
    ASTRID_GROUP_UNKNOWN_GROUP,
    ASTRID_GROUP_INVALID_CAPABILITY,
    ASTRID_GROUP_UNSAFE_UNIVERSAL_GRANT,
    ASTRID_GROUP_INVALID_NAME,
    ASTRID_GROUP_FILE,  /* IO, parse error or unknown key */
    ASTRID_GROUP_LIMIT, /* over a bound above */
} astrid_group_error;

/* Built-ins only. NULL only on allocation failure. */
astrid_group_config *astrid_groups_builtin(astrid_err *err);
/* Load `path` (etc/groups.toml). Missing file -> built-ins only. Malformed
 * file or unknown key -> NULL with an error naming file, line and column. */
astrid_group_config *astrid_groups_load(const char *path, astrid_group_error *why, astrid_err *err);
/* The loader proper, shared by load and save: `text` (len bytes and a
 * terminating NUL; `path`
 * only names it in errors) over ASTRID_GROUPS_FILE_MAX, malformed or
 * breaking a rule -> NULL. */
astrid_group_config *astrid_groups_parse(const char *path, const char *text, size_t len,
                                         astrid_group_error *why, astrid_err *err);
/* TOML text of the custom groups (caller frees). */
char *astrid_groups_emit(const astrid_group_config *cfg, astrid_err *err);
/* Emit, re-parse with astrid_groups_parse (a document the loader would
 * refuse is never written), atomically write to `path` (0600). */
int astrid_groups_save(const astrid_group_config *cfg, const char *path, astrid_err *err);

astrid_group_config *astrid_groups_ref(astrid_group_config *cfg);
void astrid_groups_unref(astrid_group_config *cfg); /* NULL is fine */

size_t astrid_groups_count(const astrid_group_config *cfg);
const astrid_group *astrid_groups_at(const astrid_group_config *cfg, size_t i);
const astrid_group *astrid_groups_find(const astrid_group_config *cfg, const char *name);
bool astrid_groups_is_builtin_name(const char *name);

/* Mutators: return a new config (caller owns) or NULL with `why`/`err`. */
astrid_group_config *astrid_groups_insert(const astrid_group_config *cfg, const char *name,
                                          const char *const *caps, size_t ncaps,
                                          const char *description, bool unsafe_admin,
                                          astrid_group_error *why, astrid_err *err);
typedef enum { ASTRID_DESC_KEEP, ASTRID_DESC_CLEAR, ASTRID_DESC_SET } astrid_desc_change;
/* caps == NULL keeps the capabilities; unsafe_admin < 0 keeps the flag. */
astrid_group_config *astrid_groups_modify(const astrid_group_config *cfg, const char *name,
                                          const char *const *caps, size_t ncaps,
                                          astrid_desc_change desc_change, const char *description,
                                          int unsafe_admin, astrid_group_error *why,
                                          astrid_err *err);
astrid_group_config *astrid_groups_remove(const astrid_group_config *cfg, const char *name,
                                          astrid_group_error *why, astrid_err *err);
#ifdef __cplusplus
}
#endif
#endif
