/* etc/federation.toml: the NATS bridge's configuration (issue #19,
 * docs/federation.md). Absent file = federation off; a file that does not
 * parse or validate refuses boot (the error names the line and the key).
 *
 *   [federation]
 *   host = "A"                 # this host's name in the lattice and in trust tables
 *   lattice = "dev"            # NATS subjects are astrid.<lattice>.<topic>
 *   urls = ["nats://127.0.0.1:4222"]
 *   nkey_seed = "keys/nats.nk" # optional: user nkey seed (SU...), path relative to the home
 *   tls_ca = "..."  tls_cert = "..."  tls_key = "..."   # optional, relative to the home
 *   export = ["llm.v1.request.generate.*"]  # local topics sent to the lattice
 *   import = ["agent.v1.*"]                 # lattice topics received (every importer)
 *   serve  = ["llm.v1.request.generate.*"]  # lattice topics this host serves (queue group)
 *   heartbeat_ms = 1000  peer_timeout_ms = 3500  request_timeout_ms = 5000  skew_ms = 30000
 *   [[map]]
 *   remote = "alice@B"   # or "*@B"
 *   group = "agent"
 *
 * Topics follow the bus's subscription rules (a trailing ".*" only).
 * Ownership: astrid_fedconf_load/parse return a config the caller frees
 * with astrid_fedconf_free; every string in it is owned by it. */
#ifndef ASTRID_FEDCONF_H
#define ASTRID_FEDCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "astrid/err.h"
#include "astrid/principal.h" /* ASTRID_FED_NAME_MAX */

#define ASTRID_FED_SUBJECT_MAX 400

typedef struct astrid_fedconf_map {
    char *remote; /* "id@host" or "*@host" */
    char *group;
} astrid_fedconf_map;

typedef struct astrid_fedconf {
    char host[ASTRID_FED_NAME_MAX + 1];
    char lattice[ASTRID_FED_NAME_MAX + 1];
    char **urls;
    size_t nurls;
    char *nkey_seed; /* absolute paths, NULL = unset */
    char *tls_ca, *tls_cert, *tls_key;
    char **exports;
    size_t nexports;
    char **imports;
    size_t nimports;
    char **serves;
    size_t nserves;
    astrid_fedconf_map *maps;
    size_t nmaps;
    uint32_t heartbeat_ms;
    uint32_t peer_timeout_ms;
    uint32_t request_timeout_ms;
    int64_t skew_ms;
    bool replicate_policy; /* TRUST's replicated policy (optional per lattice) */
} astrid_fedconf;

/* Parse `text` (the file's contents; `path` names it in errors, `home`
 * resolves relative paths). NULL on error. */
astrid_fedconf *astrid_fedconf_parse(const char *text, size_t len, const char *path,
                                     const char *home, astrid_err *err);
/* Load $home/etc/federation.toml. 0 with *out NULL when the file is absent
 * (federation off); -1 when it exists and is wrong. */
int astrid_fedconf_load(const char *home, astrid_fedconf **out, astrid_err *err);
void astrid_fedconf_free(astrid_fedconf *c);

/* Is `name` a valid host or lattice name? */
bool astrid_fed_name_valid(const char *name);
/* The group `[[map]]` gives the remote principal `id@host` (an exact entry
 * first, then "*@host"); NULL = none (nothing is granted). Borrowed. */
const char *astrid_fedconf_map_group(const astrid_fedconf *c, const char *remote);
/* Does `topic` match one of `patterns` (bus subscription matching)? */
bool astrid_fed_topic_listed(char *const *patterns, size_t n, const char *topic);

/* NATS subject of a topic or subscription pattern: "astrid.<lattice>.<topic>",
 * or the directed "astrid.<lattice>.@<host>.<topic>" when `host` is set; a
 * trailing ".*" becomes ".>". -1 when it does not fit. */
int astrid_fed_subject(char *out, size_t n, const char *lattice, const char *host,
                       const char *topic, astrid_err *err);
/* The topic of a subject (inverse of astrid_fed_subject): *host set to the
 * directed host (or "" for a lattice-wide subject). -1 when `subject` is not
 * one of this lattice's topic subjects. */
int astrid_fed_topic_of(const char *subject, const char *lattice, char *host, size_t hostn,
                        char *topic, size_t topicn);

/* NATS user nkeys (base32 of prefix ‖ bytes ‖ crc16): the public key
 * "U…" of a seed file's "SU…" seed, and a new seed for tests and setup. */
int astrid_nkey_public_of_seed(const char *seed, char *pub, size_t pubn, astrid_err *err);
int astrid_nkey_seed_from_bytes(const uint8_t raw[32], char *seed, size_t seedn, astrid_err *err);
/* The 32-byte ed25519 seed inside an "SU…" seed (for signing a nonce). */
int astrid_nkey_decode_seed(const char *seed, uint8_t raw[32], astrid_err *err);

#endif
