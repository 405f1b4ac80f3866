/* WIT types as JSON Schema (draft 2020-12), upstream's
 * astrid-build::wit_schema: what meta.json topics[].schema carries for a
 * [[topic]] wit_type (reference §6.1, §6.7; docs/capsules.md "Topic
 * schemas" lists the mapping).
 *
 * Named types are expanded inline (WIT has no recursive types); field,
 * case and flag names become snake_case (the serde wire convention);
 * `///` docs become "description". Expansion is bounded by a node budget
 * so a document that reuses one record many times at every level cannot
 * blow up (ASTRID_E_LIMIT).
 *
 * Ownership: every json_t returned is a new reference the caller
 * decrefs. */
#ifndef ASTRID_WIT_SCHEMA_H
#define ASTRID_WIT_SCHEMA_H

#include <jansson.h>

#include "astrid/err.h"
#include "astrid/wit.h"

/* Schema nodes one expansion may create. */
#define ASTRID_WIT_SCHEMA_MAX_NODES 20000
/* *.wit files read from one wit/ directory, and its depth. */
#define ASTRID_WIT_SCHEMA_MAX_FILES 256

/* The schema of a type; NULL with err on the node budget or memory. */
json_t *astrid_wit_schema_type(const astrid_wit_type *t, astrid_err *err);
/* The schema of a named definition, with "title" (its WIT name) and its
 * doc as "description". */
json_t *astrid_wit_schema_def(const astrid_wit_typedef *d, astrid_err *err);

/* A definition named `name` anywhere in the package (interfaces, then
 * worlds); NULL when absent. */
const astrid_wit_typedef *astrid_wit_find_def(const astrid_wit_package *pkg, const char *name);

/* Look `name` up in every *.wit file below `dir` (regular files only; no
 * symlink is followed) and return its schema. Not found: ASTRID_E_NOTFOUND
 * naming the type (and the first file our parser refused, if any). The
 * capsule's own files are searched before wit/deps/ (astrid-build puts
 * astrid.wit there), so a dependency never shadows the capsule's name; a
 * name defined twice within one of the two is refused (ambiguous). */
json_t *astrid_wit_schema_from_dir(const char *dir, const char *name, astrid_err *err);

/* "http-URL" -> "http_url" into out (always terminated). */
void astrid_wit_snake(const char *name, char *out, size_t n);

#endif
