/* libFuzzer: the params of admin requests through the request table's
 * handlers (src/kernel/admin_*.c), on a throw-away kernel (fuzz_kernel.h)
 * without a daemon: no socket, no loop. The Layer 5 preamble is not run
 * (its inputs are the caller and the row's capability, not the params);
 * the handler is called as the pipeline calls it, as `default` with the
 * admin write lock held for mutating rows.
 *
 * Input: byte 0 picks the admin row, the rest is the params JSON text,
 * checked and parsed as the wire does (astrid_wire_parse).
 *
 * Invariants: nothing crashes or leaks; a refusal has a message; a refused
 * mutating request leaves every stored byte as it was (logs excepted).
 * After a mutation succeeds the kernel is rebuilt, so each input runs
 * against the same fresh state (a finding reproduces from its input).
 *
 * Management rows are not here: their params (capsule install, update,
 * config, approvals) go to job threads and the capsule engine, which need
 * a booted daemon; request_kinds.sh and the capsule suites drive them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/wire.h"
#include "fuzz_kernel.h"
#include "kernel/requests.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static astrid_kernel kern;
#define MAX_ROWS 64
static const astrid_req_row *rows[MAX_ROWS];
static size_t nrows;

static void init_once(void)
{
    size_t n;
    const astrid_req_row *t = astrid_req_table(&n);
    for (size_t i = 0; i < n && nrows < MAX_ROWS; i++)
        if (t[i].topic)
            rows[nrows++] = &t[i];
    if (nrows == 0 || fk_up(&kern, "req") != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!nrows)
        init_once();
    if (size < 1)
        return 0;
    const astrid_req_row *row = rows[data[0] % nrows];
    astrid_err err;
    json_t *params = astrid_wire_parse((const char *)data + 1, size - 1, &err);
    if (!params)
        return 0;
    uint8_t before[32], after[32];
    if (row->mutates)
        fk_snapshot(&kern, before);
    char msg[1024] = "";
    astrid_req r = {.k = &kern,
                    .conn = NULL,
                    .caller = "default",
                    .params = params,
                    .err = msg,
                    .errn = sizeof msg,
                    .kind = ASTRID_KIND_INTERNAL,
                    .suffix = row->topic,
                    .rid = NULL};
    json_t *out = NULL;
    const char *status = "success";
    if (row->mutates)
        pthread_mutex_lock(&kern.admin_write_lock);
    int rc = row->fn(&r, &out, &status);
    if (row->mutates)
        pthread_mutex_unlock(&kern.admin_write_lock);
    json_decref(out);
    json_decref(params);
    if (rc != 0) {
        if (!msg[0]) {
            fprintf(stderr, "%s refused without a message\n", row->method);
            abort();
        }
        if (row->mutates) {
            fk_snapshot(&kern, after);
            if (memcmp(before, after, sizeof before) != 0) {
                fprintf(stderr, "%s refused (%s) but changed stored state\n", row->method, msg);
                abort();
            }
        }
    } else if (row->mutates) {
        fk_down(&kern);
        if (fk_up(&kern, "req") != 0)
            abort();
    }
    return 0;
}
