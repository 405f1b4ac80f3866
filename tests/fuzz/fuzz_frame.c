/* Wire fuzzer: arbitrary bytes fed to the frame reader in two chunks; every
 * complete frame goes through check/parse/validate. Invariants: nothing
 * crashes; a parsed frame re-encodes and re-parses to an equal object; the
 * reader never returns a body larger than its limit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small limit so the "too large" path is reachable from short inputs. */
#define FUZZ_MAX_BODY 4096u

static void roundtrip(json_t *obj)
{
    astrid_err err = {0};
    char *enc = NULL;
    size_t enclen = 0;
    if (astrid_frame_encode(obj, &enc, &enclen, &err) != 0)
        return; /* e.g. over the frame limit: refusing is allowed */
    if (enclen < 4)
        abort();
    json_t *again = astrid_wire_parse(enc + 4, enclen - 4, &err);
    if (!again || !json_equal(obj, again))
        abort();
    json_decref(again);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    astrid_frame_reader r;
    astrid_frame_reader_init(&r, FUZZ_MAX_BODY);
    size_t split = size ? data[0] % (size + 1) : 0;
    const uint8_t *chunks[2] = {data, data + split};
    size_t lens[2] = {split, size - split};
    for (int c = 0; c < 2; c++) {
        astrid_err err = {0};
        if (astrid_frame_reader_feed(&r, chunks[c], lens[c], &err) != 0)
            break;
        for (;;) {
            const char *body = NULL;
            size_t len = 0;
            int rc = astrid_frame_reader_next(&r, &body, &len, &err);
            if (rc <= 0)
                break;
            if (len > FUZZ_MAX_BODY)
                abort();
            json_t *obj = astrid_wire_parse(body, len, &err);
            if (obj) {
                if (!json_is_object(obj))
                    abort();
                (void)astrid_ipc_validate(obj, &err);
                roundtrip(obj);
                json_decref(obj);
            }
            astrid_frame_reader_pop(&r);
        }
    }
    astrid_frame_reader_free(&r);
    return 0;
}
