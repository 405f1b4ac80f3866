/* Federation envelopes per message (issue #19): seal (BLAKE3 of the payload
 * + ed25519 sign + JSON) and parse + verify + replay check, for a small
 * control payload and a 4 KiB model-stream-sized one, against the bare
 * ed25519 sign/verify of the same bytes in the same run. The end-to-end
 * request/reply through two bridges against raw NATS is
 * bench/bench_federation.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/crypto.h"
#include "astrid/envelope.h"
#include "bench_util.h"

#define N 2000

static void run(size_t plen, const astrid_keypair *kp)
{
    char *payload = malloc(plen + 1);
    memset(payload, 'x', plen);
    payload[0] = '{';
    payload[plen - 1] = '}';
    if (plen > 8)
        memcpy(payload + 1, "\"a\":\"", 5), payload[plen - 2] = '"';
    payload[plen] = 0;
    static double seal_us[N], open_us[N], sign_us[N], verify_us[N];
    astrid_replay_window w = {0};
    for (int i = 0; i < N; i++) {
        astrid_envelope env;
        memset(&env, 0, sizeof env);
        strcpy(env.lattice, "dev");
        strcpy(env.origin, "A");
        strcpy(env.topic, "llm.v1.stream.openai-compat");
        strcpy(env.principal, "alice");
        env.seq = 1000000 + (uint64_t)i;
        env.ts_ms = 1700000000000;
        char *wire = NULL, *back = NULL;
        size_t wl = 0, bl = 0;
        double t0 = bench_now_us();
        if (astrid_envelope_seal(&env, payload, plen, kp, &wire, &wl, NULL) != 0)
            break;
        double t1 = bench_now_us();
        astrid_envelope got;
        if (astrid_envelope_parse(wire, wl, &got, &back, &bl, NULL) != 0 ||
            astrid_envelope_verify(&got, kp->pk, NULL) != 0 ||
            astrid_replay_check(&w, got.seq, got.ts_ms, got.ts_ms, 30000, NULL) != 0) {
            free(wire);
            free(back);
            break;
        }
        double t2 = bench_now_us();
        seal_us[i] = t1 - t0;
        open_us[i] = t2 - t1;
        uint8_t sig[64];
        double t3 = bench_now_us();
        astrid_sign(sig, wire, wl < 200 ? wl : 200, kp);
        double t4 = bench_now_us();
        astrid_verify(sig, wire, wl < 200 ? wl : 200, kp->pk);
        double t5 = bench_now_us();
        sign_us[i] = t4 - t3;
        verify_us[i] = t5 - t4;
        free(wire);
        free(back);
    }
    printf("  payload %5zu B: seal %.1f us (bare ed25519 sign %.1f us), parse+verify+replay %.1f "
           "us (bare verify %.1f us)\n",
           plen, bench_median(seal_us, N), bench_median(sign_us, N), bench_median(open_us, N),
           bench_median(verify_us, N));
    free(payload);
}

int main(void)
{
    astrid_keypair kp;
    uint8_t seed[32] = {1};
    if (astrid_crypto_init(NULL) != 0 || astrid_keypair_from_seed(&kp, seed, NULL) != 0)
        return 1;
    printf("federation envelope per message (median of %d):\n", N);
    run(64, &kp);
    run(4096, &kp);
    return 0;
}
