/* libFuzzer: what a client sends after the frame layer, as the daemon
 * decodes it (src/kernel/server.c): the first frame is the handshake
 * {"token","protocol_version","principal"?}, a challenged principal's next
 * frame the proof {"public_key","signature"} (base64), every later frame an
 * IpcMessage {"topic","payload",...} routed by its topic (subscribe
 * patterns, request and admin topics, publish checks, private topics).
 *
 * server.c's handlers are tied to a libuv connection, so this target runs
 * the same decoding steps on the same library functions in the same order,
 * and looks principals up in a throw-away kernel's profile cache
 * (fuzz_kernel.h) as astrid_principal_admissible does: a claimed principal
 * such as "../x" must be refused by name, never become a path, and a remote
 * one ("alice@B") is refused before the cache is asked.
 *
 * Invariants: nothing crashes or leaks; a principal that the cache returns
 * a profile for is a valid PrincipalId; a topic accepted for publishing has
 * no wildcard and matches itself; the signed message always fits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/crypto.h"
#include "astrid/principal.h"
#include "astrid/topic.h"
#include "astrid/wire.h"
#include "fuzz_kernel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static astrid_kernel kern;
static int ready;

static void handshake(const json_t *hs, bool *challenged)
{
    const char *token = json_string_value(json_object_get(hs, "token"));
    json_t *pv = json_object_get(hs, "protocol_version");
    const char *principal = json_string_value(json_object_get(hs, "principal"));
    if (!json_is_integer(pv) || json_integer_value(pv) != 1)
        return;
    if (token)
        (void)astrid_ct_streq(token, "0123456789abcdef");
    if (!principal)
        principal = "default";
    /* server.c refuses "id@host" before any lookup: a remote principal acts
     * only through federation, and the profile cache (which does hold
     * remote profiles) must not be what decides. */
    if (astrid_principal_is_remote(principal))
        return;
    astrid_err err;
    const astrid_profile *p = astrid_profile_cache_get(kern.profiles, principal, &err);
    if (!p)
        return;
    if (astrid_principal_validate(principal, &err) != 0)
        abort(); /* a profile found under a name that is not a PrincipalId */
    astrid_profile_release(p);
    char msg[4096];
    if (astrid_auth_message(msg, sizeof msg, "00112233445566778899aabbccddeeff", principal,
                            "/run/astrid/agents.sock") < 0)
        abort();
    *challenged = true;
}

static void proof(const json_t *m)
{
    const char *pkb = json_string_value(json_object_get(m, "public_key"));
    const char *sigb = json_string_value(json_object_get(m, "signature"));
    uint8_t pk[ASTRID_ED25519_PK_LEN], sig[ASTRID_ED25519_SIG_LEN];
    if (!pkb || !sigb || astrid_b64_decode(pk, sizeof pk, pkb) != 0 ||
        astrid_b64_decode(sig, sizeof sig, sigb) != 0)
        return;
    static const char msg[] = "astrid-handshake-v1\n00\ndefault\n/s";
    (void)astrid_verify(sig, (const uint8_t *)msg, sizeof msg - 1, pk);
}

static const char *const patterns[] = {"astrid.v1.*",         "agent.*", "*.*.*",
                                       "astrid.v1.request.*", "a.*.c",   "astrid.v1.approval.*"};

static void message(const json_t *msg)
{
    astrid_err err;
    if (astrid_ipc_validate(msg, &err) != 0)
        return;
    const char *topic = json_string_value(json_object_get(msg, "topic"));
    json_t *payload = json_object_get(msg, "payload");
    if (!topic || !payload)
        abort(); /* validate promised both */
    if (strcmp(topic, "astrid.v1.connection.subscribe") == 0 ||
        strcmp(topic, "astrid.v1.connection.unsubscribe") == 0) {
        const char *pattern = json_string_value(json_object_get(payload, "pattern"));
        if (pattern && astrid_topic_check(pattern, ASTRID_TOPIC_SUBSCRIBE, &err) == 0)
            for (size_t i = 0; i < sizeof patterns / sizeof *patterns; i++)
                (void)astrid_topic_sub_matches_bus(patterns[i], pattern);
        return;
    }
    if (strncmp(topic, "astrid.v1.request.", 18) == 0 ||
        strncmp(topic, "astrid.v1.admin.", 16) == 0) {
        (void)json_string_value(json_object_get(payload, "method"));
        return;
    }
    if (astrid_topic_check(topic, ASTRID_TOPIC_PUBLISH, &err) != 0)
        return;
    if (strchr(topic, '*') || !astrid_topic_matches(topic, topic) ||
        !astrid_topic_sub_matches_bus(topic, topic))
        abort();
    (void)astrid_topic_privacy_of(topic);
    for (size_t i = 0; i < sizeof patterns / sizeof *patterns; i++) {
        (void)astrid_topic_matches(topic, patterns[i]);
        (void)astrid_topic_sub_matches_bus(topic, patterns[i]);
    }
    char *text = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (fk_up(&kern, "ipc") != 0)
            abort();
        ready = 1;
    }
    astrid_frame_reader r;
    astrid_frame_reader_init(&r, 64 * 1024);
    astrid_err err;
    bool authed = false, challenged = false;
    if (astrid_frame_reader_feed(&r, data, size, &err) == 0)
        for (int frames = 0; frames < 64; frames++) {
            const char *body;
            size_t len;
            if (astrid_frame_reader_next(&r, &body, &len, &err) <= 0)
                break;
            json_t *obj = astrid_wire_parse(body, len, &err);
            astrid_frame_reader_pop(&r);
            if (!obj)
                break; /* the daemon closes the connection */
            if (authed) {
                message(obj);
            } else if (challenged) {
                proof(obj);
                authed = true;
            } else {
                handshake(obj, &challenged);
                authed = !challenged;
            }
            json_decref(obj);
        }
    astrid_frame_reader_free(&r);
    return 0;
}
