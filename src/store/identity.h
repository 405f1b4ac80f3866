/* Identity store (reference §11.4): Astrid users and links from (platform,
 * platform user id) to a user, kept in the KV namespace `system:identity`:
 *   user/{uuid}                         -> user JSON
 *   link/{platform}/{platform_user_id}  -> link JSON
 *   name/{display_name}                 -> uuid text (last writer wins)
 *
 * Ownership: the store borrows the astrid_kv (caller keeps it open longer).
 * Records returned are filled into caller-owned structs; lists are malloc'd
 * arrays freed with the matching *_free function.
 */
#ifndef ASTRID_STORE_IDENTITY_H
#define ASTRID_STORE_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include "astrid/err.h"
#include "astrid/uuid.h"
#include "store/kv.h"

#define ASTRID_IDENTITY_NS "system:identity"

typedef struct astrid_user {
    char id[ASTRID_UUID_STR_LEN];
    char principal[65];
    char display_name[256]; /* "" when none */
    char public_key[64];    /* base64 of 32 bytes, "" when none */
    char created_at[40];    /* RFC 3339 UTC */
} astrid_user;

typedef struct astrid_link {
    char platform[128]; /* trimmed, lower-cased */
    char platform_user_id[256];
    char astrid_user_id[ASTRID_UUID_STR_LEN];
    char linked_at[40];
    char method[64];
} astrid_link;

/* Derive a principal id from a display name: lower-case, every character
 * outside [a-z0-9_-] becomes '-', runs of '-' collapse, leading/trailing '-'
 * trimmed, at most 64 chars (no trailing '-'); empty result falls back to
 * "user-{first 8 chars of uuid}". */
void astrid_identity_principal_from_name(char out[65], const char *name, const char *uuid);

/* Create a user (display_name may be NULL or blank). When `principal` is
 * NULL the principal is derived from the display name (or "default"). The
 * record and its name index are written in one transaction. */
int astrid_identity_create_user(astrid_kv *kv, const char *display_name, const char *principal,
                                astrid_user *out, astrid_err *err);
/* 0 and *found=false when absent. */
int astrid_identity_get_user(astrid_kv *kv, const char *uuid, astrid_user *out, bool *found,
                             astrid_err *err);
int astrid_identity_get_user_by_name(astrid_kv *kv, const char *name, astrid_user *out, bool *found,
                                     astrid_err *err);
/* create_user plus one platform link, in one transaction (all or none):
 * what `agent create` needs, so a crash cannot leave a user without its
 * name index or link. */
int astrid_identity_create_linked_user(astrid_kv *kv, const char *display_name,
                                       const char *principal, const char *platform,
                                       const char *platform_user_id, const char *method,
                                       astrid_user *out, astrid_err *err);
/* Link (platform, platform_user_id) to an existing user; `method` non-empty. */
int astrid_identity_link(astrid_kv *kv, const char *platform, const char *platform_user_id,
                         const char *uuid, const char *method, astrid_err *err);
int astrid_identity_unlink(astrid_kv *kv, const char *platform, const char *platform_user_id,
                           bool *existed, astrid_err *err);
/* Resolve a link to its user; *found=false when no link or the user is gone. */
int astrid_identity_resolve(astrid_kv *kv, const char *platform, const char *platform_user_id,
                            astrid_user *out, bool *found, astrid_err *err);
/* Remove every link to the user, the name index while it still points at
 * this uuid, then the record. Unknown uuid: 0 with *existed=false. */
int astrid_identity_delete_user(astrid_kv *kv, const char *uuid, bool *existed, astrid_err *err);

typedef struct astrid_user_list {
    astrid_user *users;
    size_t count;
} astrid_user_list;
int astrid_identity_list_users(astrid_kv *kv, astrid_user_list *out, astrid_err *err);
void astrid_user_list_free(astrid_user_list *l);

typedef struct astrid_link_list {
    astrid_link *links;
    size_t count;
} astrid_link_list;
int astrid_identity_list_links(astrid_kv *kv, const char *uuid, astrid_link_list *out,
                               astrid_err *err);
void astrid_link_list_free(astrid_link_list *l);

#endif
