/* Remote capsule sources (reference §15.3), fetched by the daemon's
 * InstallCapsule / UpdateCapsule jobs through libcurl (the CLI links none):
 *   https://HOST/.../NAME.capsule      the archive itself
 *   @org/repo, github.com/org/repo,     the first .capsule asset of the
 *   https://github.com/org/repo         latest release (GitHub API
 *                                       {ASTRID_GITHUB_API or
 *                                       https://api.github.com}/repos/
 *                                       {org}/{repo}/releases/latest)
 * optionally ending `#blake3=<64 hex>` (or params.blake3): the archive's
 * BLAKE3 must match. https only (redirects too), TLS verified (CA bundle
 * overridable by ASTRID_CA_FILE), at most 5 redirects, 50 MiB, 20 s to
 * connect and 300 s in all; a short body is refused. Thread: the job
 * thread (curl_global_init is the kernel's, capsules.c). */
#ifndef ASTRID_KERNEL_CAPSULE_FETCH_H
#define ASTRID_KERNEL_CAPSULE_FETCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "astrid/err.h"

#define KFETCH_MAX_BYTES ((size_t)50 << 20) /* upstream's cap */

typedef struct kfetch_source {
    char label[2048]; /* the source without its pin: what meta.json records */
    char pin[65];     /* "" when none */
    bool github;
    char org[128], repo[128];
    char url[2048]; /* the archive's URL (after resolving a GitHub source) */
    char hash[65];  /* BLAKE3 of what was downloaded */
} kfetch_source;

/* https://, @org/repo, github.com/...: what this file fetches. */
bool kfetch_is_remote(const char *source);
/* Split and check a remote source; `pin_param` (params.blake3) may be
 * NULL, and must agree with a #blake3= pin. */
int kfetch_parse(const char *source, const char *pin_param, kfetch_source *out, astrid_err *err);
/* Resolve (GitHub) and download into a new file run/fetch-*.capsule under
 * `home` (path out; the caller unlinks it after use). On any failure
 * nothing is left behind. */
int kfetch_download(const char *home, kfetch_source *s, const atomic_bool *cancel,
                    void (*progress)(void *, const char *), void *pctx, char *path, size_t n,
                    astrid_err *err);

#endif
