/* Layered configuration (reference §1 astrid-config, §2 note 1; docs/config.md).
 *
 * One schema table lists every key: section, name, type, default, doc,
 * the ASTRID_* variable that sets it, and its *tighten direction* -- what
 * "stricter" means for it. Values merge, later layers replacing earlier ones
 * key by key:
 *
 *   defaults -> system (/etc/astrid/config.toml, or $ASTRID_SYSTEM_CONFIG)
 *            -> home ($ASTRID_HOME/config.toml)
 *            -> workspace (<workspace>/.astrid/config.toml)
 *            -> environment (ASTRID_*)
 *
 * The workspace layer comes with the project being worked on, so it is not
 * trusted: each of its keys must be at least as strict as the value of the
 * layers below it (defaults, system, home), else the whole load fails naming
 * the key. Unknown keys, wrong types and out-of-range values are errors
 * naming the key and file:line. Every value remembers where it came from.
 *
 * Ownership: astrid_config_load() returns a config the caller frees with
 * astrid_config_free(). Accessors return borrowed pointers valid while the
 * config lives. The schema is static const data. A loaded config is never
 * modified, so any number of threads may read it.
 */
#ifndef ASTRID_LIB_CONFIG_H
#define ASTRID_LIB_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"

/* The variable naming another system layer (tests, packagers). */
#define ASTRID_SYSTEM_CONFIG_ENV "ASTRID_SYSTEM_CONFIG"
#define ASTRID_SYSTEM_CONFIG_PATH "/etc/astrid/config.toml"
/* A config file larger than this is refused (it is a few hundred bytes). */
#define ASTRID_CONFIG_MAX_BYTES (1024u * 1024u)

typedef enum astrid_config_layer {
    ASTRID_CFG_DEFAULTS,
    ASTRID_CFG_SYSTEM,
    ASTRID_CFG_HOME,
    ASTRID_CFG_WORKSPACE,
    ASTRID_CFG_ENV,
    ASTRID_CFG_NLAYERS
} astrid_config_layer;

typedef enum astrid_config_type {
    ASTRID_CFG_INT,     /* TOML integer in [min, max] */
    ASTRID_CFG_FLOAT,   /* TOML integer or float, finite, in [min, max] */
    ASTRID_CFG_BOOL,    /* TOML boolean */
    ASTRID_CFG_ENUM,    /* TOML string, one of `choices` */
    ASTRID_CFG_STRLIST, /* TOML array of strings */
} astrid_config_type;

/* What a workspace may do with a key. */
typedef enum astrid_config_tighten {
    ASTRID_TIGHT_LOWER,             /* a number no higher than below */
    ASTRID_TIGHT_LOWER_0_UNLIMITED, /* the same, where 0 means "no limit" (loosest) */
    ASTRID_TIGHT_SUBSET,            /* an allow-list: a subset; [] means "anything" (loosest) */
    ASTRID_TIGHT_SUPERSET,          /* a deny-list: keeps every entry, may add */
    ASTRID_TIGHT_TRUE,              /* a bool where true is stricter */
    ASTRID_TIGHT_ENUM,              /* an enum: `choices` are listed strictest first */
    ASTRID_TIGHT_NEVER,             /* an operator setting: a workspace may not set it */
} astrid_config_tighten;

/* Fields in the order a schema row reads (section, name, type, ...). */
typedef struct astrid_config_key { // NOLINT(clang-analyzer-optin.performance.Padding)
    const char *section;           /* "security", "model.pricing" */
    const char *name;              /* "max_argument_size" */
    astrid_config_type type;
    astrid_config_tighten tighten;
    int64_t def_int, min_int, max_int;
    double def_float, min_float, max_float;
    bool def_bool;
    const char *const *def_list; /* NULL-terminated; NULL = [] */
    const char *const *choices;  /* ENUM: NULL-terminated, strictest first; [0] is not
                                  * necessarily the default: def_choice is */
    int def_choice;
    const char *env; /* the ASTRID_* variable of the env layer */
    /* ENUM: checks an environment value with the message its older reader
     * gave (NULL = the generic one). */
    int (*env_check)(const char *value, astrid_err *err);
    const char *doc;
} astrid_config_key;

/* The schema: every key, in the order `config show` prints them. */
extern const astrid_config_key astrid_config_schema[];
extern const size_t astrid_config_nkeys;

typedef struct astrid_config_value {
    int64_t i;
    double f;
    bool b;
    int choice; /* ENUM: index into choices */
    char **list;
    size_t nlist;
    astrid_config_layer layer;
    /* where: the file (as labelled) and 1-based line, or the variable for
     * the env layer; "" for defaults. line 0 = not located. */
    char where[320];
    int line;
} astrid_config_value;

typedef struct astrid_config astrid_config;

/* Where each layer lives. A NULL path skips that layer (e.g. no workspace).
 * `label` (optional) is what messages and sources call the file -- the
 * real path when `config edit` validates a temp copy. `no_env` skips the
 * environment layer (tests of a file alone). */
typedef struct astrid_config_paths {
    const char *path[ASTRID_CFG_NLAYERS];
    const char *label[ASTRID_CFG_NLAYERS];
    bool no_env;
} astrid_config_paths;

/* The usual paths: system from $ASTRID_SYSTEM_CONFIG else /etc/astrid/config.toml;
 * home $ASTRID_HOME/config.toml (`home` resolved, may be NULL to skip);
 * workspace <workspace>/.astrid/config.toml (`workspace` NULL to skip).
 * The strings are written into `buf` (caller-owned, lives as long as `p`). */
typedef struct astrid_config_pathbuf {
    char system[4096], home[4096], workspace[4096];
} astrid_config_pathbuf;
int astrid_config_default_paths(astrid_config_paths *p, astrid_config_pathbuf *buf,
                                const char *home, const char *workspace, astrid_err *err);

/* Load and merge. A missing file is an absent layer; a present one must be
 * a regular file of at most ASTRID_CONFIG_MAX_BYTES; the system and home
 * files must be owned by root or the caller and not writable by others.
 * Returns NULL with `err` naming the key and file:line on any error. */
astrid_config *astrid_config_load(const astrid_config_paths *p, astrid_err *err);
void astrid_config_free(astrid_config *c);

/* Lookups by "section.name". An unknown key returns NULL / the zero value
 * (the unit test checks every key the daemon and CLI read exists). A NULL
 * `c` reads the defaults (the typed accessors; astrid_config_get needs a
 * config). */
const astrid_config_key *astrid_config_key_find(const char *dotted);
const astrid_config_value *astrid_config_get(const astrid_config *c, const char *dotted);
int64_t astrid_config_int(const astrid_config *c, const char *dotted);
double astrid_config_float(const astrid_config *c, const char *dotted);
bool astrid_config_bool(const astrid_config *c, const char *dotted);
const char *astrid_config_enum(const astrid_config *c, const char *dotted);
/* The list and its length (borrowed). */
const char *const *astrid_config_list(const astrid_config *c, const char *dotted, size_t *n);

/* Which layers were present, and the path each was read from. */
bool astrid_config_layer_present(const astrid_config *c, astrid_config_layer l);
const char *astrid_config_layer_name(astrid_config_layer l); /* "defaults", "system", ... */

/* "defaults", "/etc/astrid/config.toml:3", "env ASTRID_X" -- into out. */
void astrid_config_source(const astrid_config_value *v, char *out, size_t n);

/* The merged result as TOML text, each value followed by "# from SOURCE"
 * (malloc'd, caller frees), or as JSON {section: {name: {value, source}}}
 * (new reference). `section` (NULL = all) limits to one section; an
 * unknown one is ASTRID_E_NOTFOUND. */
char *astrid_config_show_toml(const astrid_config *c, const char *section, astrid_err *err);
json_t *astrid_config_show_json(const astrid_config *c, const char *section, astrid_err *err);

#endif
