/* Capsule HTTP through libcurl (the astrid_http_ops of host.h), with every
 * gate applied before a connection is made:
 *   1. http/https only, one of the seven methods, no line breaks in headers;
 *   2. the host is on the manifest's `net` list;
 *   3. the invoking principal may reach it: its profile's network_egress or
 *      a `network:egress:<host, '.' and ':' spelled '_'>` capability (upstream never enforces
 *      egress; we do, as the human's authority over the agent);
 *   4. the security gate (gate.h) as a capsule_http_request on
 *      net://host:port, preauthorized by 2 and 3: hard policy, a token,
 *      the budget, and the decision in the principal's audit log;
 *   5. SSRF: the name is resolved here, private/local addresses dropped
 *      (unless ASTRID_ALLOW_LOCAL_IPS or ASTRID_TEST_ALLOW_LOCAL_IP is
 *      set), and curl is pinned to what remains (CURLOPT_RESOLVE), so a
 *      second lookup cannot rebind it. Redirects are not followed and
 *      proxies are not used: either would reach a host nobody checked.
 * Limits: 30 s and 10 MiB for a request; streams connect within 30 s and
 * wait at most 120 s for each chunk.
 *
 * Runs on whichever thread runs the capsule (a chain worker or run loop); it
 * touches the kernel only through its thread-safe profile/group caches. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "astrid/trust.h"
#include "capsule/host/host.h"
#include "kernel/fed_trust.h"
#include "kernel/gate.h"
#include "astrid/version.h"
#include "capsule/netpolicy.h"
#include "kernel/capsules.h"
#include "kernel/kernel.h"

#define REQUEST_TIMEOUT_MS 30000L
#define CHUNK_TIMEOUT_MS 120000
#define BODY_MAX (10u << 20)
#define MAX_RESP_HEADERS 256
#define HDR_LINE_MAX (2 * 8192 + 4)

typedef struct hxfer {
    CURL *easy;
    CURLM *multi; /* streams only */
    CURLU *url;
    struct curl_slist *hdrs, *resolve;
    uint8_t *buf;
    size_t len, cap, max;
    bool over, head_done, done;
    CURLcode result;
    astrid_http_resp head;
    char errbuf[CURL_ERROR_SIZE];
} hxfer;

static void xfer_free(hxfer *x)
{
    if (!x)
        return;
    if (x->multi && x->easy)
        curl_multi_remove_handle(x->multi, x->easy);
    curl_easy_cleanup(x->easy);
    curl_multi_cleanup(x->multi);
    curl_url_cleanup(x->url);
    curl_slist_free_all(x->hdrs);
    curl_slist_free_all(x->resolve);
    astrid_http_resp_clear(&x->head);
    free(x->buf);
    free(x);
}

static size_t on_body(char *data, size_t sz, size_t nm, void *ud)
{
    hxfer *x = ud;
    size_t n = sz * nm;
    if (x->max && x->len + n > x->max) {
        x->over = true;
        return 0;
    }
    if (x->len + n > x->cap) {
        size_t nc = x->cap ? x->cap : 16384;
        while (nc < x->len + n)
            nc *= 2;
        uint8_t *nb = realloc(x->buf, nc);
        if (!nb)
            return 0;
        x->buf = nb;
        x->cap = nc;
    }
    memcpy(x->buf + x->len, data, n);
    x->len += n;
    return n;
}

/* Headers of the final response: a new status line (after 1xx) starts
 * over; the blank line ends them. */
static size_t on_header(char *data, size_t sz, size_t nm, void *ud)
{
    hxfer *x = ud;
    size_t n = sz * nm, l = n;
    while (l && (data[l - 1] == '\n' || data[l - 1] == '\r'))
        l--;
    if (l >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        astrid_http_resp_clear(&x->head);
        return n;
    }
    if (l == 0) {
        long code = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200)
            x->head_done = true;
        return n;
    }
    const char *colon = memchr(data, ':', l);
    if (!colon || x->head.nheaders >= MAX_RESP_HEADERS)
        return n;
    astrid_http_header *nh =
        realloc(x->head.headers, (x->head.nheaders + 1) * sizeof *x->head.headers);
    if (!nh)
        return 0;
    x->head.headers = nh;
    const char *v = colon + 1;
    while (v < data + l && (*v == ' ' || *v == '\t'))
        v++;
    nh[x->head.nheaders].key = strndup(data, (size_t)(colon - data));
    nh[x->head.nheaders].value = strndup(v, (size_t)(data + l - v));
    if (!nh[x->head.nheaders].key || !nh[x->head.nheaders].value) {
        free(nh[x->head.nheaders].key);
        free(nh[x->head.nheaders].value);
        return 0;
    }
    for (char *c = nh[x->head.nheaders].key; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    x->head.nheaders++;
    return n;
}

static bool allow_local(void)
{
    return getenv("ASTRID_ALLOW_LOCAL_IPS") || getenv("ASTRID_TEST_ALLOW_LOCAL_IP");
}

/* Gate 3: the principal's own egress list, then its capabilities. */
static int egress_check(astrid_kernel *k, const char *principal, const char *host, astrid_err *err)
{
    const astrid_profile *p = astrid_principal_is_remote(principal)
                                  ? astrid_kernel_remote_profile(k, principal, err)
                                  : astrid_profile_cache_get(k->profiles, principal, err);
    if (!p)
        return -1;
    bool ok = astrid_net_host_listed(p->network_egress.v, p->network_egress.n, host);
    astrid_profile_release(p);
    if (ok)
        return 0;
    /* A capability segment holds no '.' or ':': the host is spelled with
     * '_' for both ("network:egress:api_example_com"). */
    char cap[400], reason[512];
    snprintf(cap, sizeof cap, "network:egress:%s", host);
    for (char *c = cap + 15; *c; c++)
        if (*c == ':' || *c == '.')
            *c = '_';
    if (astrid_authorize(k, principal, cap, reason, sizeof reason) == 0)
        return 0;
    return astrid_err_set(err, ASTRID_E_PERM,
                          "http: principal %s may not reach %s (needs %s or the host in its "
                          "profile's network_egress): %s",
                          principal, host, cap, reason);
}

/* Gate 4: resolve, filter, and pin curl to the survivors. */
/* Gate 4: never prompts (2 and 3 are the standing grant); a denial or an
 * undecidable gate (e.g. the audit log failing) refuses the request. */
static int gate_http(astrid_kernel *k, const astrid_invocation *inv, const char *host,
                     const char *port, astrid_err *err)
{
    char res[400];
    snprintf(res, sizeof res, "net://%s:%s", host, port);
    astrid_gate_req r = {.principal = inv->principal,
                         .capsule = inv->capsule,
                         .action = "capsule_http_request",
                         .resource = res,
                         .perm = ASTRID_PERM_INVOKE,
                         .preauthorized = true,
                         .no_prompt = true};
    astrid_gate_result out;
    if (astrid_gate_check(k, &r, &out, err) != 0)
        return astrid_err_prefix(err, "http");
    if (!out.allowed)
        return astrid_err_set(err, ASTRID_E_PERM, "http: %s: %s", res, out.reason);
    return 0;
}

static int resolve_pinned(hxfer *x, const char *host, const char *port, bool literal,
                          astrid_err *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int g = getaddrinfo(host, port, &hints, &ai);
    if (g != 0)
        return astrid_err_set(err, ASTRID_E_IO, "http: cannot resolve %s: %s", host,
                              gai_strerror(g));
    char entry[2048];
    int off = snprintf(entry, sizeof entry, "%s:%s:", host, port);
    size_t kept = 0;
    bool local_ok = allow_local();
    for (struct addrinfo *a = ai; a && off < (int)sizeof entry - 64; a = a->ai_next) {
        if (!local_ok && astrid_net_addr_private(a->ai_addr))
            continue;
        char ip[INET6_ADDRSTRLEN];
        if (getnameinfo(a->ai_addr, a->ai_addrlen, ip, sizeof ip, NULL, 0, NI_NUMERICHOST) != 0)
            continue;
        off += snprintf(entry + off, sizeof entry - (size_t)off,
                        a->ai_family == AF_INET6 ? "%s[%s]" : "%s%s", kept ? "," : "", ip);
        kept++;
    }
    freeaddrinfo(ai);
    if (!kept)
        return astrid_err_set(err, ASTRID_E_PERM,
                              "http: DNS resolved to an unauthorized private or local IP address");
    if (literal)
        return 0; /* curl does not look a literal up */
    if (!(x->resolve = curl_slist_append(NULL, entry)))
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    curl_easy_setopt(x->easy, CURLOPT_RESOLVE, x->resolve);
    return 0;
}

static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};

static int set_method_headers(hxfer *x, const astrid_http_req *req, astrid_err *err)
{
    const char *m = req->method && *req->method ? req->method : "GET";
    size_t i = 0;
    while (i < sizeof methods / sizeof *methods && strcasecmp(m, methods[i]) != 0)
        i++;
    if (i == sizeof methods / sizeof *methods)
        return astrid_err_set(err, ASTRID_E_INVALID,
                              "http: method '%.16s' is not one of GET POST PUT DELETE PATCH HEAD "
                              "OPTIONS",
                              m);
    m = methods[i];
    if (strcmp(m, "HEAD") == 0)
        curl_easy_setopt(x->easy, CURLOPT_NOBODY, 1L);
    else if (strcmp(m, "GET") != 0)
        curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, m);
    if (req->body) {
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(x->easy, CURLOPT_COPYPOSTFIELDS,
                         req->body_len ? (const char *)req->body : "");
        if (strcmp(m, "POST") != 0)
            curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, m);
    }
    for (size_t h = 0; h < req->nheaders; h++) {
        const astrid_http_header *hd = &req->headers[h];
        if (!*hd->key || strpbrk(hd->key, "\r\n:") || strpbrk(hd->value, "\r\n"))
            return astrid_err_set(err, ASTRID_E_INVALID,
                                  "http: header '%.64s' is malformed (empty, a colon in its name, "
                                  "or a line break)",
                                  hd->key);
        char line[HDR_LINE_MAX];
        snprintf(line, sizeof line, "%s: %s", hd->key, hd->value);
        struct curl_slist *nl = curl_slist_append(x->hdrs, line);
        if (!nl)
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        x->hdrs = nl;
    }
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
    return 0;
}

/* Parse, gate and set up one transfer; NULL (err set) when refused. */
static hxfer *prepare(astrid_kernel *k, const astrid_invocation *inv, const astrid_http_req *req,
                      astrid_err *err)
{
    hxfer *x = calloc(1, sizeof *x);
    char *scheme = NULL, *host = NULL, *port = NULL;
    if (!x || !(x->easy = curl_easy_init()) || !(x->url = curl_url())) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        goto fail;
    }
    if (curl_url_set(x->url, CURLUPART_URL, req->url, 0) != CURLUE_OK ||
        curl_url_get(x->url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(x->url, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(x->url, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        astrid_err_set(err, ASTRID_E_INVALID, "http: invalid URL '%.200s'", req->url);
        goto fail;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        astrid_err_set(err, ASTRID_E_INVALID, "http: scheme '%s' refused (http and https only)",
                       scheme);
        goto fail;
    }
    bool literal = host[0] == '[';
    char bare[256];
    snprintf(bare, sizeof bare, "%.*s", (int)(strlen(host) - (literal ? 2 : 0)),
             host + (literal ? 1 : 0));
    struct in_addr v4;
    literal = literal || inet_pton(AF_INET, bare, &v4) == 1;
    const astrid_manifest *m = inv->manifest;
    if (!astrid_net_host_listed(m->net.v, m->net.n, bare)) {
        astrid_err_set(err, ASTRID_E_PERM,
                       "http: host '%s' is not in capsule %s's net allow-list (manifest "
                       "[capabilities] net)",
                       bare, m->name);
        goto fail;
    }
    if (egress_check(k, inv->principal, bare, err) != 0 ||
        gate_http(k, inv, bare, port, err) != 0 || set_method_headers(x, req, err) != 0 ||
        resolve_pinned(x, bare, port, literal, err) != 0)
        goto fail;
    curl_easy_setopt(x->easy, CURLOPT_CURLU, x->url);
    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(x->easy, CURLOPT_PROXY, "");
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, REQUEST_TIMEOUT_MS);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "astrid-capsule/" ASTRID_VERSION);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    return x;
fail:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    xfer_free(x);
    return NULL;
}

static int xfer_error(hxfer *x, CURLcode rc, astrid_err *err)
{
    if (x->over || rc == CURLE_FILESIZE_EXCEEDED)
        return astrid_err_set(err, ASTRID_E_LIMIT, "http: response body over 10 MiB");
    return astrid_err_set(err, ASTRID_E_IO, "http: %s",
                          x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
}

static int op_request(void *ctx, const astrid_invocation *inv, const astrid_http_req *req,
                      astrid_http_resp *resp, astrid_err *err)
{
    hxfer *x = prepare(ctx, inv, req, err);
    if (!x)
        return -1;
    x->max = BODY_MAX;
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
    curl_easy_setopt(x->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)BODY_MAX);
    CURLcode rc = curl_easy_perform(x->easy);
    if (rc != CURLE_OK) {
        xfer_error(x, rc, err);
        xfer_free(x);
        return -1;
    }
    long code = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    *resp = x->head;
    x->head = (astrid_http_resp){0};
    resp->status = (unsigned)code;
    resp->body = x->buf;
    resp->body_len = x->len;
    x->buf = NULL;
    xfer_free(x);
    return 0;
}

/* Drive a stream until `until` holds, the transfer ends, or `ms` pass. */
static void pump(hxfer *x, bool (*until)(const hxfer *), int ms)
{
    long long waited = 0;
    while (!until(x) && !x->done && waited < ms) {
        int running = 0;
        curl_multi_perform(x->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(x->multi, &left)))
            if (msg->msg == CURLMSG_DONE) {
                x->done = true;
                x->result = msg->data.result;
            }
        if (until(x) || x->done)
            break;
        curl_multi_poll(x->multi, NULL, 0, 100, NULL);
        waited += 100;
    }
}

static bool head_ready(const hxfer *x)
{
    return x->head_done;
}

static bool has_data(const hxfer *x)
{
    return x->len > 0;
}

static void *op_stream_start(void *ctx, const astrid_invocation *inv, const astrid_http_req *req,
                             astrid_http_resp *head, astrid_err *err)
{
    hxfer *x = prepare(ctx, inv, req, err);
    if (!x)
        return NULL;
    if (!(x->multi = curl_multi_init()) || curl_multi_add_handle(x->multi, x->easy) != CURLM_OK) {
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        xfer_free(x);
        return NULL;
    }
    pump(x, head_ready, (int)REQUEST_TIMEOUT_MS);
    if (!x->head_done) {
        if (x->done && x->result != CURLE_OK)
            xfer_error(x, x->result, err);
        else
            astrid_err_set(err, ASTRID_E_TIMEOUT, "http: no response headers within 30 s");
        xfer_free(x);
        return NULL;
    }
    long code = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    *head = x->head;
    x->head = (astrid_http_resp){0};
    head->status = (unsigned)code;
    return x;
}

static int op_stream_read(void *s, uint8_t **chunk, size_t *len, astrid_err *err)
{
    hxfer *x = s;
    *chunk = NULL;
    *len = 0;
    pump(x, has_data, CHUNK_TIMEOUT_MS);
    if (x->len) {
        *chunk = x->buf;
        *len = x->len;
        x->buf = NULL;
        x->len = x->cap = 0;
        return 0;
    }
    if (!x->done)
        return astrid_err_set(err, ASTRID_E_TIMEOUT, "http: no data within 120 s");
    return x->result == CURLE_OK ? 0 : xfer_error(x, x->result, err);
}

static void op_stream_close(void *s)
{
    xfer_free(s);
}

void astrid_kernel_http_ops(astrid_kernel *k, astrid_http_ops *ops)
{
    *ops = (astrid_http_ops){.request = op_request,
                             .stream_start = op_stream_start,
                             .stream_read = op_stream_read,
                             .stream_close = op_stream_close,
                             .ctx = k};
}
