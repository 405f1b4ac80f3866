/* Remote capsule sources (reference §15.3) for InstallCapsule and
 * UpdateCapsule, on the job thread. See capsule_fetch.h. */
#include "kernel/capsule_fetch.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "astrid/fs.h"
#include "astrid/home.h"
#include "astrid/jsonsafe.h"

#define GITHUB_API "https://api.github.com"
#define API_MAX (1u << 20) /* a releases/latest answer */
#define CONNECT_TIMEOUT_S 20L
#define TOTAL_TIMEOUT_S 300L
#define MAX_REDIRS 5L

bool kfetch_is_remote(const char *s)
{
    return s[0] == '@' || strncmp(s, "github.com/", 11) == 0 || strstr(s, "://") != NULL;
}

static bool hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return false;
    return true;
}

static bool repo_part(const char *s, size_t n)
{
    if (!n || n > 100 || (n <= 2 && s[0] == '.'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

/* "org/repo" (optionally ending "/" or ".git") into org, repo. */
static int github_repo(const char *s, char *org, size_t on, char *repo, size_t rn)
{
    const char *slash = strchr(s, '/');
    if (!slash)
        return -1;
    size_t ol = (size_t)(slash - s);
    const char *r = slash + 1;
    size_t rl = strcspn(r, "/");
    if (r[rl] == '/' && r[rl + 1] != '\0')
        return -1;
    if (rl > 4 && strncmp(r + rl - 4, ".git", 4) == 0)
        rl -= 4;
    if (!repo_part(s, ol) || !repo_part(r, rl) || ol >= on || rl >= rn)
        return -1;
    memcpy(org, s, ol), org[ol] = '\0';
    memcpy(repo, r, rl), repo[rl] = '\0';
    return 0;
}

int kfetch_parse(const char *source, const char *pin_param, kfetch_source *out, astrid_err *err)
{
    memset(out, 0, sizeof *out);
    const char *hash = strstr(source, "#blake3=");
    size_t len = hash ? (size_t)(hash - source) : strlen(source);
    if (len >= sizeof out->label)
        return astrid_err_set(err, ASTRID_E_LIMIT, "source is longer than %zu bytes",
                              sizeof out->label - 1);
    memcpy(out->label, source, len);
    out->label[len] = '\0';
    if (hash) {
        if (!hex64(hash + 8))
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "source %s: #blake3= needs 64 lowercase hex digits", source);
        snprintf(out->pin, sizeof out->pin, "%s", hash + 8);
    }
    if (pin_param && *pin_param) {
        if (!hex64(pin_param))
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "params.blake3 needs 64 lowercase hex digits");
        if (out->pin[0] && strcmp(out->pin, pin_param) != 0)
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "the source's #blake3= pin and params.blake3 differ");
        snprintf(out->pin, sizeof out->pin, "%s", pin_param);
    }
    const char *l = out->label, *gh = NULL;
    if (l[0] == '@')
        gh = l + 1;
    else if (strncmp(l, "github.com/", 11) == 0)
        gh = l + 11;
    else if (strncmp(l, "https://github.com/", 19) == 0)
        gh = l + 19;
    if (gh) {
        if (github_repo(gh, out->org, sizeof out->org, out->repo, sizeof out->repo) != 0)
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "source %s: a GitHub source is @org/repo or github.com/org/repo",
                                  l);
        out->github = true;
        return 0;
    }
    if (strncmp(l, "https://", 8) != 0)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "source %s: only https:// sources are fetched (TLS verified)", l);
    if (len < 9 + 8 || strcmp(l + len - 8, ".capsule") != 0)
        return astrid_err_set(err, ASTRID_E_INVALID, "source %s: a URL source names a .capsule", l);
    if (strpbrk(l, " \t\r\n"))
        return astrid_err_set(err, ASTRID_E_INVALID, "source %s: whitespace in a URL", l);
    snprintf(out->url, sizeof out->url, "%s", l);
    return 0;
}

typedef struct sink {
    FILE *f;         /* the archive, or NULL: into mem */
    char *mem;       /* the API answer */
    size_t len, cap; /* bytes so far, the cap */
    astrid_blake3_hasher h;
    bool over;
    const atomic_bool *cancel;
} sink;

static size_t on_data(char *p, size_t sz, size_t n, void *user)
{
    sink *s = user;
    size_t k = sz * n;
    if (s->cancel && atomic_load(s->cancel))
        return 0;
    if (k > s->cap - s->len) { /* a server that ignores or lies in Content-Length */
        s->over = true;
        return 0;
    }
    if (s->f) {
        if (fwrite(p, 1, k, s->f) != k)
            return 0;
        astrid_blake3_update(&s->h, p, k);
    } else {
        char *m = realloc(s->mem, s->len + k + 1);
        if (!m)
            return 0;
        s->mem = m;
        memcpy(s->mem + s->len, p, k);
        s->mem[s->len + k] = '\0';
    }
    s->len += k;
    return k;
}

static int get(const char *url, sink *s, bool api, astrid_err *err)
{
    CURL *c = curl_easy_init();
    if (!c)
        return astrid_err_set(err, ASTRID_E_NOMEM, "libcurl: no handle");
    char ebuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdr = NULL;
    if (api) {
        hdr = curl_slist_append(hdr, "Accept: application/vnd.github+json");
        hdr = curl_slist_append(hdr, "X-GitHub-Api-Version: 2022-11-28");
    }
    const char *ca = getenv("ASTRID_CA_FILE");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "astrid-daemon");
    /* https only, also after a redirect: a plain-http hop would let anyone
     * on the path swap the archive when there is no pin */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, MAX_REDIRS);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca && *ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, TOTAL_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->cap);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    CURLcode rc = curl_easy_perform(c);
    int ret = 0;
    if (s->cancel && atomic_load(s->cancel))
        ret = astrid_err_set(err, ASTRID_E_INTERNAL,
                             "install cancelled: its requester went away; nothing was written");
    else if (rc == CURLE_FILESIZE_EXCEEDED || s->over)
        ret =
            astrid_err_set(err, ASTRID_E_LIMIT, "%s: larger than %zu bytes: refused", url, s->cap);
    else if (rc == CURLE_TOO_MANY_REDIRECTS)
        ret = astrid_err_set(err, ASTRID_E_INVALID, "%s: more than %ld redirects (a loop?)", url,
                             MAX_REDIRS);
    else if (rc == CURLE_PARTIAL_FILE)
        ret = astrid_err_set(err, ASTRID_E_IO,
                             "%s: truncated: the server sent less than it "
                             "announced",
                             url);
    else if (rc != CURLE_OK)
        ret = astrid_err_set(err, ASTRID_E_IO, "%s: %s", url,
                             ebuf[0] ? ebuf : curl_easy_strerror(rc));
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return ret;
}

/* GET {api}/repos/{org}/{repo}/releases/latest, as upstream: the first
 * asset whose name ends with .capsule. Upstream falls back to cloning and
 * building; this daemon builds nothing it downloads, so a release without
 * a .capsule asset is refused. */
static int resolve_github(kfetch_source *s, const atomic_bool *cancel, astrid_err *err)
{
    const char *api = getenv("ASTRID_GITHUB_API");
    char url[1024];
    snprintf(url, sizeof url, "%s/repos/%s/%s/releases/latest", api && *api ? api : GITHUB_API,
             s->org, s->repo);
    sink k = {.cap = API_MAX, .cancel = cancel};
    if (get(url, &k, true, err) != 0) {
        free(k.mem);
        return -1;
    }
    json_t *rel = astrid_json_loadb(k.mem ? k.mem : "", k.len, 0, NULL);
    free(k.mem);
    json_t *assets = json_object_get(rel, "assets"), *a;
    size_t i;
    const char *found = NULL;
    json_array_foreach(assets, i, a)
    {
        const char *name = json_string_value(json_object_get(a, "name"));
        const char *dl = json_string_value(json_object_get(a, "browser_download_url"));
        size_t nl = name ? strlen(name) : 0;
        if (dl && nl > 8 && strcmp(name + nl - 8, ".capsule") == 0) {
            found = dl;
            break;
        }
    }
    int rc = 0;
    if (!json_is_object(rel))
        rc = astrid_err_set(err, ASTRID_E_INVALID, "%s: not a GitHub release (JSON object)", url);
    else if (!found)
        rc = astrid_err_set(err, ASTRID_E_NOTFOUND,
                            "%s/%s: the latest release (%s) has no .capsule asset (building "
                            "from the repository is not done by the daemon: build it with "
                            "astrid-build and install the archive)",
                            s->org, s->repo,
                            json_string_value(json_object_get(rel, "tag_name")) ?: "untagged");
    else if (strncmp(found, "https://", 8) != 0 || strlen(found) >= sizeof s->url)
        rc = astrid_err_set(err, ASTRID_E_INVALID, "%s/%s: the asset URL is not https://", s->org,
                            s->repo);
    else
        snprintf(s->url, sizeof s->url, "%s", found);
    json_decref(rel);
    return rc;
}

int kfetch_download(const char *home, kfetch_source *s, const atomic_bool *cancel,
                    void (*progress)(void *, const char *), void *pctx, char *path, size_t n,
                    astrid_err *err)
{
    char line[2300];
    if (s->github) {
        if (progress) {
            snprintf(line, sizeof line, "resolving the latest release of %s/%s", s->org, s->repo);
            progress(pctx, line);
        }
        if (resolve_github(s, cancel, err) != 0)
            return -1;
    }
    char run[4096];
    if (astrid_home_run_dir(run, sizeof run, home, err) != 0 ||
        astrid_mkdir_p(run, 0700, 0, err) != 0)
        return -1;
    if ((size_t)snprintf(path, n, "%s/fetch-XXXXXX.capsule", run) >= n)
        return astrid_err_set(err, ASTRID_E_LIMIT, "path too long");
    int fd = mkstemps(path, 8);
    if (fd < 0)
        return astrid_err_sys(err, "mkstemp in %s", run);
    sink k = {.f = fdopen(fd, "wb"), .cap = KFETCH_MAX_BYTES, .cancel = cancel};
    if (!k.f) {
        close(fd);
        unlink(path);
        return astrid_err_sys(err, "fdopen");
    }
    astrid_blake3_init(&k.h);
    if (progress) {
        snprintf(line, sizeof line, "downloading %s", s->url);
        progress(pctx, line);
    }
    int rc = get(s->url, &k, false, err);
    if (fclose(k.f) != 0 && rc == 0)
        rc = astrid_err_sys(err, "write %s", path);
    if (rc == 0) {
        uint8_t out[32];
        astrid_blake3_finalize(&k.h, out, sizeof out);
        for (int i = 0; i < 32; i++)
            snprintf(s->hash + 2 * i, 3, "%02x", out[i]);
        if (s->pin[0] && strcmp(s->pin, s->hash) != 0)
            rc = astrid_err_set(err, ASTRID_E_INVALID,
                                "%s: BLAKE3 %s does not match the pin %s: refused", s->url, s->hash,
                                s->pin);
    }
    if (rc != 0)
        unlink(path);
    return rc;
}
