/* etc/federation.toml (include/astrid/fedconf.h). Unknown keys are errors:
 * a misspelt allow-list must not silently federate nothing -- or more. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/fedconf.h"
#include "astrid/home.h"
#include "astrid/principal.h"
#include "astrid/toml.h"
#include "astrid/topic.h"
#include "lib/policy/tomlutil.h"

#define FEDCONF_MAX_BYTES (256u * 1024u)
#define FEDCONF_MAX_LIST 256

void astrid_fedconf_free(astrid_fedconf *c)
{
    if (!c)
        return;
    policy_free_strv(c->urls, c->nurls);
    policy_free_strv(c->exports, c->nexports);
    policy_free_strv(c->imports, c->nimports);
    policy_free_strv(c->serves, c->nserves);
    free(c->nkey_seed);
    free(c->tls_ca);
    free(c->tls_cert);
    free(c->tls_key);
    for (size_t i = 0; i < c->nmaps; i++) {
        free(c->maps[i].remote);
        free(c->maps[i].group);
    }
    free(c->maps);
    free(c);
}

bool astrid_fed_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > ASTRID_FED_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

static int fail(astrid_err *err, const char *path, const char *text, const char *key,
                const char *fmt, const char *what)
{
    int line, col;
    policy_key_pos(text, key, &line, &col);
    astrid_err_set(err, ASTRID_E_PARSE, "%s: line %d, column %d: '%s' ", path, line, col, key);
    size_t used = strlen(err ? err->msg : "");
    if (err)
        snprintf(err->msg + used, sizeof err->msg - used, fmt, what);
    return -1;
}

static int get_str(const astrid_toml *t, const char *key, const char **out, const char *path,
                   const char *text, astrid_err *err)
{
    const astrid_toml *v = astrid_toml_get(t, key);
    *out = NULL;
    if (!v)
        return 0;
    size_t len = 0;
    const char *s = astrid_toml_type_of(v) == ASTRID_TOML_STRING ? astrid_toml_str(v, &len) : NULL;
    if (!s || strlen(s) != len || len == 0)
        return fail(err, path, text, key, "must be a non-empty string%s", "");
    *out = s;
    return 0;
}

static int get_path(const astrid_toml *t, const char *key, const char *home, char **out,
                    const char *path, const char *text, astrid_err *err)
{
    const char *s;
    if (get_str(t, key, &s, path, text, err) != 0)
        return -1;
    if (!s)
        return 0;
    char buf[PATH_MAX];
    int n = s[0] == '/' ? snprintf(buf, sizeof buf, "%s", s)
                        : snprintf(buf, sizeof buf, "%s/%s", home ? home : ".", s);
    if (n < 0 || (size_t)n >= sizeof buf)
        return fail(err, path, text, key, "is a path too long%s", "");
    if (!(*out = strdup(buf)))
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    return 0;
}

static int get_ms(const astrid_toml *t, const char *key, uint32_t dflt, uint32_t min, uint32_t max,
                  uint32_t *out, const char *path, const char *text, astrid_err *err)
{
    const astrid_toml *v = astrid_toml_get(t, key);
    *out = dflt;
    if (!v)
        return 0;
    int64_t x = astrid_toml_int(v);
    if (astrid_toml_type_of(v) != ASTRID_TOML_INTEGER || x < (int64_t)min || x > (int64_t)max) {
        char range[64];
        snprintf(range, sizeof range, "%u..%u", min, max);
        return fail(err, path, text, key, "must be an integer in %s (milliseconds)", range);
    }
    *out = (uint32_t)x;
    return 0;
}

/* A topic list: bus subscription patterns that also make clean NATS
 * subjects (no '>', no whitespace) and do not begin with '@', which marks
 * the directed and control subjects of the lattice. */
static int get_topics(const astrid_toml *t, const char *key, char ***out, size_t *n,
                      const char *path, const char *text, astrid_err *err)
{
    const astrid_toml *v = astrid_toml_get(t, key);
    *out = NULL;
    *n = 0;
    if (!v)
        return 0;
    if (policy_str_array(v, out, n, path, text, key, err) != 0)
        return -1;
    if (*n > FEDCONF_MAX_LIST)
        return fail(err, path, text, key, "lists more than 256 topics%s", "");
    for (size_t i = 0; i < *n; i++) {
        const char *s = (*out)[i];
        astrid_err te;
        if (astrid_topic_check(s, ASTRID_TOPIC_SUBSCRIBE, &te) != 0)
            return fail(err, path, text, key, "has a bad topic: %s", te.msg);
        if (s[0] == '@' || strpbrk(s, "> \t\r\n"))
            return fail(err, path, text, key,
                        "has a topic starting with '@' or holding '>' or whitespace: %s", s);
    }
    return 0;
}

static int parse_map(const astrid_toml *arr, astrid_fedconf *c, const char *path, const char *text,
                     astrid_err *err)
{
    if (astrid_toml_type_of(arr) != ASTRID_TOML_ARRAY)
        return fail(err, path, text, "map", "must be an array of tables ([[map]])%s", "");
    size_t n = astrid_toml_len(arr);
    if (n > FEDCONF_MAX_LIST)
        return fail(err, path, text, "map", "has more than 256 entries%s", "");
    c->maps = calloc(n ? n : 1, sizeof *c->maps);
    if (!c->maps)
        return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const astrid_toml *m = astrid_toml_at(arr, i);
        if (astrid_toml_type_of(m) != ASTRID_TOML_TABLE)
            return fail(err, path, text, "map", "must be an array of tables ([[map]])%s", "");
        for (size_t j = 0; j < astrid_toml_len(m); j++) {
            const char *k = astrid_toml_key_at(m, j);
            if (strcmp(k, "remote") != 0 && strcmp(k, "group") != 0)
                return policy_unknown_key(err, path, text, k, "[[map]]");
        }
        const char *remote, *group;
        if (get_str(m, "remote", &remote, path, text, err) != 0 ||
            get_str(m, "group", &group, path, text, err) != 0)
            return -1;
        if (!remote || !group)
            return fail(err, path, text, remote ? "group" : "remote",
                        "is required in every [[map]]%s", "");
        const char *at = strrchr(remote, '@');
        char id[256];
        if (!at || (size_t)(at - remote) >= sizeof id || !astrid_fed_name_valid(at + 1))
            return fail(err, path, text, "remote", "must be \"id@host\" or \"*@host\", not %s",
                        remote);
        memcpy(id, remote, (size_t)(at - remote));
        id[at - remote] = 0;
        if (strcmp(id, "*") != 0 && astrid_principal_validate(id, NULL) != 0)
            return fail(err, path, text, "remote", "names a bad principal id: %s", remote);
        if (!astrid_fed_name_valid(group))
            return fail(err, path, text, "group", "is not a group name: %s", group);
        c->maps[i].remote = strdup(remote);
        c->maps[i].group = strdup(group);
        c->nmaps = i + 1;
        if (!c->maps[i].remote || !c->maps[i].group)
            return astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
    }
    return 0;
}

static const char *const fed_keys[] = {"host",
                                       "lattice",
                                       "urls",
                                       "nkey_seed",
                                       "tls_ca",
                                       "tls_cert",
                                       "tls_key",
                                       "export",
                                       "import",
                                       "serve",
                                       "heartbeat_ms",
                                       "peer_timeout_ms",
                                       "request_timeout_ms",
                                       "skew_ms",
                                       "replicate_policy"};

static int parse_fed(const astrid_toml *f, astrid_fedconf *c, const char *path, const char *text,
                     const char *home, astrid_err *err)
{
    for (size_t j = 0; j < astrid_toml_len(f); j++) {
        const char *k = astrid_toml_key_at(f, j);
        bool known = false;
        for (size_t i = 0; i < sizeof fed_keys / sizeof fed_keys[0]; i++)
            known = known || strcmp(k, fed_keys[i]) == 0;
        if (!known)
            return policy_unknown_key(err, path, text, k, "[federation]");
    }
    const char *host, *lattice;
    if (get_str(f, "host", &host, path, text, err) != 0 ||
        get_str(f, "lattice", &lattice, path, text, err) != 0)
        return -1;
    if (!host || !astrid_fed_name_valid(host))
        return fail(err, path, text, "host", "must be a name of [A-Za-z0-9_-], 1..63 bytes%s", "");
    if (!lattice || !astrid_fed_name_valid(lattice))
        return fail(err, path, text, "lattice", "must be a name of [A-Za-z0-9_-], 1..63 bytes%s",
                    "");
    snprintf(c->host, sizeof c->host, "%s", host);
    snprintf(c->lattice, sizeof c->lattice, "%s", lattice);
    const astrid_toml *u = astrid_toml_get(f, "urls");
    if (!u)
        return fail(err, path, text, "urls", "is required (the NATS servers)%s", "");
    if (policy_str_array(u, &c->urls, &c->nurls, path, text, "urls", err) != 0)
        return -1;
    if (c->nurls == 0 || c->nurls > 32)
        return fail(err, path, text, "urls", "must list 1..32 servers%s", "");
    for (size_t i = 0; i < c->nurls; i++)
        if (strncmp(c->urls[i], "nats://", 7) != 0 && strncmp(c->urls[i], "tls://", 6) != 0)
            return fail(err, path, text, "urls", "must be nats:// or tls:// URLs, not %s",
                        c->urls[i]);
    if (get_path(f, "nkey_seed", home, &c->nkey_seed, path, text, err) != 0 ||
        get_path(f, "tls_ca", home, &c->tls_ca, path, text, err) != 0 ||
        get_path(f, "tls_cert", home, &c->tls_cert, path, text, err) != 0 ||
        get_path(f, "tls_key", home, &c->tls_key, path, text, err) != 0)
        return -1;
    if (!c->tls_cert != !c->tls_key)
        return fail(err, path, text, c->tls_cert ? "tls_key" : "tls_cert",
                    "is needed with the other of tls_cert/tls_key%s", "");
    if (get_topics(f, "export", &c->exports, &c->nexports, path, text, err) != 0 ||
        get_topics(f, "import", &c->imports, &c->nimports, path, text, err) != 0 ||
        get_topics(f, "serve", &c->serves, &c->nserves, path, text, err) != 0)
        return -1;
    uint32_t skew;
    if (get_ms(f, "heartbeat_ms", 1000, 50, 60000, &c->heartbeat_ms, path, text, err) != 0 ||
        get_ms(f, "peer_timeout_ms", 3500, 100, 600000, &c->peer_timeout_ms, path, text, err) !=
            0 ||
        get_ms(f, "request_timeout_ms", 5000, 10, 600000, &c->request_timeout_ms, path, text,
               err) != 0 ||
        get_ms(f, "skew_ms", 30000, 100, 3600000, &skew, path, text, err) != 0)
        return -1;
    c->skew_ms = skew;
    if (c->peer_timeout_ms <= c->heartbeat_ms)
        return fail(err, path, text, "peer_timeout_ms", "must be longer than heartbeat_ms%s", "");
    const astrid_toml *rp = astrid_toml_get(f, "replicate_policy");
    if (rp && astrid_toml_type_of(rp) != ASTRID_TOML_BOOL)
        return fail(err, path, text, "replicate_policy", "must be true or false%s", "");
    c->replicate_policy = rp && astrid_toml_bool(rp);
    return 0;
}

astrid_fedconf *astrid_fedconf_parse(const char *text, size_t len, const char *path,
                                     const char *home, astrid_err *err)
{
    if (policy_check_size(path, len, FEDCONF_MAX_BYTES, err) != 0)
        return NULL;
    astrid_toml *root = astrid_toml_parse(text, len, err, NULL);
    if (!root) {
        astrid_err_prefix(err, "%s", path);
        return NULL;
    }
    astrid_fedconf *c = calloc(1, sizeof *c);
    if (!c) {
        astrid_toml_free(root);
        astrid_err_set(err, ASTRID_E_NOMEM, "out of memory");
        return NULL;
    }
    int rc = policy_refuse_nul(root, path, err);
    for (size_t j = 0; rc == 0 && j < astrid_toml_len(root); j++) {
        const char *k = astrid_toml_key_at(root, j);
        if (strcmp(k, "federation") != 0 && strcmp(k, "map") != 0)
            rc = policy_unknown_key(err, path, text, k, "the top level");
    }
    const astrid_toml *f = astrid_toml_get(root, "federation");
    if (rc == 0 && astrid_toml_type_of(f) != ASTRID_TOML_TABLE)
        rc = astrid_err_set(err, ASTRID_E_PARSE, "%s: a [federation] table is required", path);
    if (rc == 0)
        rc = parse_fed(f, c, path, text, home, err);
    const astrid_toml *m = astrid_toml_get(root, "map");
    if (rc == 0 && m)
        rc = parse_map(m, c, path, text, err);
    astrid_toml_free(root);
    if (rc != 0) {
        astrid_fedconf_free(c);
        return NULL;
    }
    return c;
}

int astrid_fedconf_load(const char *home, astrid_fedconf **out, astrid_err *err)
{
    char path[PATH_MAX];
    *out = NULL;
    if (astrid_home_federation_file(path, sizeof path, home, err) != 0)
        return -1;
    char *text = NULL;
    size_t len = 0;
    bool missing = false;
    if (policy_read(path, FEDCONF_MAX_BYTES, &text, &len, &missing, err) != 0)
        return -1;
    if (missing)
        return 0;
    *out = astrid_fedconf_parse(text, len, path, home, err);
    free(text);
    return *out ? 0 : -1;
}

const char *astrid_fedconf_map_group(const astrid_fedconf *c, const char *remote)
{
    const char *at = remote ? strrchr(remote, '@') : NULL;
    if (!c || !at)
        return NULL;
    for (size_t i = 0; i < c->nmaps; i++)
        if (strcmp(c->maps[i].remote, remote) == 0)
            return c->maps[i].group;
    for (size_t i = 0; i < c->nmaps; i++)
        if (c->maps[i].remote[0] == '*' && c->maps[i].remote[1] == '@' &&
            strcmp(c->maps[i].remote + 2, at + 1) == 0)
            return c->maps[i].group;
    return NULL;
}

bool astrid_fed_topic_listed(char *const *patterns, size_t n, const char *topic)
{
    for (size_t i = 0; i < n; i++)
        if (astrid_topic_sub_matches_bus(topic, patterns[i]))
            return true;
    return false;
}

int astrid_fed_subject(char *out, size_t n, const char *lattice, const char *host,
                       const char *topic, astrid_err *err)
{
    size_t tl = strlen(topic);
    bool wild = tl >= 2 && strcmp(topic + tl - 2, ".*") == 0;
    int w = host && host[0] ? snprintf(out, n, "astrid.%s.@%s.%.*s%s", lattice, host,
                                       (int)(wild ? tl - 1 : tl), topic, wild ? ">" : "")
                            : snprintf(out, n, "astrid.%s.%.*s%s", lattice,
                                       (int)(wild ? tl - 1 : tl), topic, wild ? ">" : "");
    if (w < 0 || (size_t)w >= n)
        return astrid_err_set(err, ASTRID_E_LIMIT, "NATS subject for %s is too long", topic);
    return 0;
}

int astrid_fed_topic_of(const char *subject, const char *lattice, char *host, size_t hostn,
                        char *topic, size_t topicn)
{
    size_t ll = strlen(lattice);
    if (strncmp(subject, "astrid.", 7) != 0 || strncmp(subject + 7, lattice, ll) != 0 ||
        subject[7 + ll] != '.')
        return -1;
    const char *rest = subject + 8 + ll;
    host[0] = 0;
    if (rest[0] == '@') {
        const char *dot = strchr(rest, '.');
        if (!dot || (size_t)(dot - rest - 1) >= hostn || dot == rest + 1)
            return -1;
        memcpy(host, rest + 1, (size_t)(dot - rest - 1));
        host[dot - rest - 1] = 0;
        rest = dot + 1;
    }
    if (rest[0] == '@' || strlen(rest) >= topicn ||
        astrid_topic_check(rest, ASTRID_TOPIC_PUBLISH, NULL) != 0)
        return -1;
    snprintf(topic, topicn, "%s", rest);
    return 0;
}
