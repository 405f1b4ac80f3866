/* Federation envelope fuzzer (issue #19's wire from other hosts, issue #18's
 * "every parser of untrusted input"): arbitrary bytes as a NATS message body
 * through astrid_envelope_open (v1 and v2 batch forms) and
 * astrid_envelope_parse, then signature verification with a fixed key and a
 * replay window fed with every entry's seq. Invariants: nothing crashes; an
 * opened batch has 1..ASTRID_ENV_BATCH_MAX entries, and a v1 exactly one;
 * parse and open agree on a v1; a batch that verifies re-seals to a wire
 * form that opens to the same fields and verifies again (ed25519 is
 * deterministic); verifying with another key never succeeds; the replay
 * window never accepts one seq twice. Seeds are sealed with the fixed key
 * (tests/fuzz/gen_seeds.py: the seed bytes below), so mutations reach the
 * code behind a good signature. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/crypto.h"
#include "astrid/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static astrid_keypair key, other;

static void keys(void)
{
    static int done;
    if (done)
        return;
    uint8_t seed[ASTRID_ED25519_SEED_LEN];
    memset(seed, 0x42, sizeof seed); /* tests/fuzz/gen_seeds.py signs with this */
    if (astrid_crypto_init(NULL) != 0 || astrid_keypair_from_seed(&key, seed, NULL) != 0)
        abort();
    memset(seed, 0x43, sizeof seed);
    if (astrid_keypair_from_seed(&other, seed, NULL) != 0)
        abort();
    done = 1;
}

static void same_fields(const astrid_env_batch *a, const astrid_env_batch *b)
{
    if (a->n != b->n || strcmp(a->lattice, b->lattice) != 0 || strcmp(a->origin, b->origin) != 0 ||
        strcmp(a->topic, b->topic) != 0 || memcmp(a->sig, b->sig, 64) != 0)
        abort();
    for (size_t i = 0; i < a->n; i++) {
        const astrid_env_entry *x = &a->e[i], *y = &b->e[i];
        if (strcmp(x->principal, y->principal) != 0 || x->seq != y->seq || x->ts_ms != y->ts_ms ||
            memcmp(x->payload_b3, y->payload_b3, 32) != 0 || x->payload_len != y->payload_len ||
            memcmp(x->payload, y->payload, x->payload_len) != 0)
            abort();
    }
}

/* A batch that verifies is re-sealed with the same key: same signature. */
static void reseal(const astrid_env_batch *b)
{
    char *wire = NULL;
    size_t wl = 0;
    astrid_env_batch again;
    if (b->version == 1) {
        astrid_envelope env;
        astrid_env_batch_entry(b, 0, &env);
        if (astrid_envelope_seal(&env, b->e[0].payload, b->e[0].payload_len, &key, &wire, &wl,
                                 NULL) != 0)
            return; /* over a limit on the way out: refusing is allowed */
    } else {
        astrid_env_batch copy = *b;
        if (astrid_envelope_batch_seal(&copy, &key, &wire, &wl, NULL) != 0)
            return;
    }
    if (astrid_envelope_open(wire, wl, &again, NULL) != 0)
        abort();
    same_fields(b, &again);
    if (astrid_env_batch_verify(&again, key.pk, NULL) != 0)
        abort();
    astrid_env_batch_free(&again);
    free(wire);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    keys();
    const char *wire = (const char *)data;
    astrid_env_batch b;
    int opened = astrid_envelope_open(wire, size, &b, NULL) == 0;

    astrid_envelope env;
    char *payload = NULL;
    size_t plen = 0;
    if (astrid_envelope_parse(wire, size, &env, &payload, &plen, NULL) == 0) {
        /* what parse accepts, open accepts as a v1 with the same fields */
        if (!opened || b.version != 1 || b.n != 1 || strcmp(env.topic, b.topic) != 0 ||
            strcmp(env.principal, b.e[0].principal) != 0 || env.seq != b.e[0].seq ||
            plen != b.e[0].payload_len || memcmp(payload, b.e[0].payload, plen) != 0)
            abort();
        int v1 = astrid_envelope_verify(&env, key.pk, NULL) == 0;
        if (v1 != (astrid_env_batch_verify(&b, key.pk, NULL) == 0))
            abort();
        free(payload);
    }
    if (!opened)
        return 0;
    if (b.n < 1 || b.n > ASTRID_ENV_BATCH_MAX || (b.version == 1 && b.n != 1) ||
        (b.version != 1 && b.version != 2))
        abort();
    if (astrid_env_batch_verify(&b, other.pk, NULL) == 0)
        abort(); /* signed with `key` or forged: never valid under another key */
    if (astrid_env_batch_verify(&b, key.pk, NULL) == 0)
        reseal(&b);

    /* the replay window, fed each entry's seq and ts twice over */
    astrid_replay_window w = {0};
    uint64_t accepted[2 * ASTRID_ENV_BATCH_MAX];
    size_t na = 0;
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < b.n; i++) {
            uint64_t seq = b.e[i].seq;
            if (astrid_replay_check(&w, seq, b.e[i].ts_ms, b.e[i].ts_ms, 30000, NULL) != 0)
                continue;
            for (size_t j = 0; j < na; j++)
                if (accepted[j] == seq)
                    abort();
            accepted[na++] = seq;
        }
    astrid_env_batch_free(&b);
    return 0;
}
