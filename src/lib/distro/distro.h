/* Distro.toml and Distro.lock (reference §15.1, §15.2): schema-version 1,
 * kebab-case keys. The parser validates every rule upstream checks
 * (schema-version, id format, semver version, astrid-version and
 * requires parse, >= 1 capsule, unique names, >= 1 uplink, every
 * `{{ var }}` of an env value defined) and, failing closed, refuses keys
 * it does not know; every error names the field ("capsule[2].name: ...").
 *
 * Ownership: astrid_distro / astrid_distro_lock and every string in them
 * belong to the struct and are freed by its _free(). */
#ifndef ASTRID_LIB_DISTRO_H
#define ASTRID_LIB_DISTRO_H

#include <stdbool.h>
#include <stddef.h>

#include "astrid/err.h"

typedef struct astrid_distro_var {
    char *name;
    bool secret;
    char *description; /* NULL when absent */
    char *def;         /* default, NULL when absent */
} astrid_distro_var;

typedef struct astrid_distro_kv {
    char *key, *value;
} astrid_distro_kv;

typedef struct astrid_distro_capsule {
    char *name, *source, *version;
    char *role, *group; /* NULL when absent */
    astrid_distro_kv *env;
    size_t n_env;
} astrid_distro_capsule;

typedef struct astrid_distro {
    char *id, *name, *version;
    char *pretty_name, *codename, *description, *astrid_version; /* NULL when absent */
    astrid_distro_var *vars;
    size_t n_vars;
    astrid_distro_capsule *caps;
    size_t n_caps;
} astrid_distro;

/* Parse and validate. 0 with *out, or -1 with err (ASTRID_E_PARSE for bad
 * TOML, ASTRID_E_INVALID naming the field otherwise). */
int astrid_distro_parse(const char *buf, size_t len, astrid_distro **out, astrid_err *err);
int astrid_distro_load(const char *path, astrid_distro **out, astrid_err *err);
void astrid_distro_free(astrid_distro *d);

const astrid_distro_var *astrid_distro_var_find(const astrid_distro *d, const char *name);

/* Calls fn for each variable name a template references ({{ var }} or
 * {{var}}). -1 with err when a reference is malformed ("{{" unclosed or
 * not a name). */
int astrid_distro_template_each(const char *tmpl, void (*fn)(const char *name, void *user),
                                void *user, astrid_err *err);

/* The template with each {{ var }} replaced by lookup(name) (NULL: ""),
 * malloc'd (caller frees). NULL with err on a malformed template. */
char *astrid_distro_render(const char *tmpl, const char *(*lookup)(const char *name, void *user),
                           void *user, astrid_err *err);

/* Distro.lock */
typedef struct astrid_distro_lock_capsule {
    char *name, *version, *source, *hash; /* hash: "blake3:<hex>" or "" */
} astrid_distro_lock_capsule;

typedef struct astrid_distro_lock {
    char *id, *version, *resolved_at;
    astrid_distro_lock_capsule *caps;
    size_t n_caps;
} astrid_distro_lock;

/* Read a lock; a missing file is ASTRID_E_NOTFOUND. */
int astrid_distro_lock_read(const char *path, astrid_distro_lock **out, astrid_err *err);
int astrid_distro_lock_parse(const char *buf, size_t len, astrid_distro_lock **out,
                             astrid_err *err);
/* Written atomically (astrid_atomic_write, 0600); the parent directory is
 * created (0700) when missing. resolved_at NULL: now, RFC 3339 UTC. */
int astrid_distro_lock_write(const char *path, const astrid_distro_lock *l, astrid_err *err);
void astrid_distro_lock_free(astrid_distro_lock *l);
/* Upstream's "fresh": same distro id and version. */
bool astrid_distro_lock_fresh(const astrid_distro_lock *l, const astrid_distro *d);

#endif
