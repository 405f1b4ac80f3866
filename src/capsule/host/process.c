/* interface process: native processes for a capsule (docs/capsules.md
 * "Processes"). Here only the request's shape is checked and the answer
 * lowered; the gates (host_process, the invoking principal's allow-list),
 * the sandbox and the per-principal registry are the daemon's
 * (env->proc, src/kernel/capsule_process.c). Lifting and lowering are the
 * generated glue's (host_glue.h). */
#include <stdlib.h>
#include <string.h>

#include "astrid/utf8.h"
#include "host_glue.h"

#define CMD_MAX 4096
#define ARGS_MAX 256
#define ARG_MAX_BYTES (64u << 10)
#define ARGV_TOTAL_MAX (1u << 20)

void astrid_proc_output_clear(astrid_proc_output *o)
{
    free(o->out);
    free(o->err);
    *o = (astrid_proc_output){0};
}

static int gate(astrid_host_call *c)
{
    const astrid_invocation *inv = c->inv;
    if (!inv->env->proc)
        return astrid_host_fail(c,
                                "%s: no native processes in this program (only the daemon "
                                "runs them)",
                                c->fn->name);
    return 0;
}

/* The request as argv: cmd's whitespace-separated words, then the args
 * verbatim (no shell is involved). NULL (the call failed) when the request
 * is malformed or over a bound; the caller frees the array, not the
 * strings (cmd's words live in *words). */
static const char **build_argv(astrid_host_call *c, const wit_spawn_request *r, char **words)
{
    *words = NULL;
    if (r->cmd.len == 0 || r->cmd.len > CMD_MAX || strlen(r->cmd.ptr) != r->cmd.len) {
        astrid_host_fail(c, "%s: cmd must be 1..%d bytes without NUL", c->fn->name, CMD_MAX);
        return NULL;
    }
    if (r->args.n > ARGS_MAX) {
        astrid_host_fail(c, "%s: %zu args is over the limit of %d", c->fn->name, r->args.n,
                         ARGS_MAX);
        return NULL;
    }
    size_t total = r->cmd.len;
    for (size_t i = 0; i < r->args.n; i++) {
        const astrid_str *a = &r->args.v[i];
        total += a->len;
        if (a->len > ARG_MAX_BYTES || strlen(a->ptr) != a->len || total > ARGV_TOTAL_MAX) {
            astrid_host_fail(c,
                             "%s: arg %zu holds a NUL or is over the size limits (%u bytes each, "
                             "%u in all)",
                             c->fn->name, i, ARG_MAX_BYTES, ARGV_TOTAL_MAX);
            return NULL;
        }
    }
    char *w = strdup(r->cmd.ptr);
    const char **argv = calloc(r->cmd.len / 2 + 2 + r->args.n, sizeof *argv);
    if (!w || !argv) {
        free(w);
        free(argv);
        astrid_host_fail(c, "%s: out of memory", c->fn->name);
        return NULL;
    }
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(w, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
        argv[n++] = t;
    if (n == 0) {
        free(w);
        free(argv);
        astrid_host_fail(c, "%s: cmd is blank", c->fn->name);
        return NULL;
    }
    for (size_t i = 0; i < r->args.n; i++)
        argv[n++] = r->args.v[i].ptr;
    argv[n] = NULL;
    *words = w;
    return argv;
}

/* A process's bytes as a WIT string: each invalid UTF-8 byte becomes
 * U+FFFD (what a reader of a string expects; the bytes are not the
 * guest's to trust either way). */
static int set_lossy(astrid_host_call *c, astrid_str *out, const char *s, size_t n)
{
    if (!s || n == 0)
        return astrid_host_set_strn(c, out, "", 0);
    if (astrid_utf8_valid(s, n))
        return astrid_host_set_strn(c, out, s, n);
    char *t = malloc(n * 3 + 1);
    if (!t)
        return astrid_host_fail(c, "%s: out of memory", c->fn->name);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t q = astrid_utf8_seq(s + i, n - i);
        if (q == 0) {
            t[o++] = (char)0xEF; /* U+FFFD */
            t[o++] = (char)0xBF;
            t[o++] = (char)0xBD;
            i++;
            continue;
        }
        memcpy(t + o, s + i, q);
        o += q;
        i += q;
    }
    int rc = astrid_host_set_strn(c, out, t, o);
    free(t);
    return rc;
}

static bool stop_waiting(void *inst)
{
    return astrid_wasm_instance_interrupted(inst) || astrid_wasm_deadline_expired();
}

int astrid_host_process_spawn(astrid_host_call *c, const wit_spawn_request *request,
                              wit_process_result *out)
{
    if (gate(c))
        return -1;
    char *words;
    const char **argv = build_argv(c, request, &words);
    if (!argv)
        return -1;
    const astrid_invocation *inv = c->inv;
    astrid_proc_output o = {0};
    astrid_err err;
    int rc = inv->env->proc->spawn(inv->env->rt, inv, request->cmd.ptr, argv, stop_waiting, c->inst,
                                   &o, &err);
    free(argv);
    free(words);
    if (rc != 0)
        return astrid_host_fail(c, "%s: %s", c->fn->name, err.msg);
    out->exit_code = o.code;
    rc = set_lossy(c, &out->stdout, o.out, o.out_len) != 0 ||
                 set_lossy(c, &out->stderr, o.err, o.err_len) != 0
             ? -1
             : 0;
    astrid_proc_output_clear(&o);
    return rc;
}

int astrid_host_process_spawn_background(astrid_host_call *c, const wit_spawn_request *request,
                                         wit_spawn_background_result *out)
{
    if (gate(c))
        return -1;
    char *words;
    const char **argv = build_argv(c, request, &words);
    if (!argv)
        return -1;
    const astrid_invocation *inv = c->inv;
    astrid_err err;
    int rc = inv->env->proc->start(inv->env->rt, inv, request->cmd.ptr, argv, &out->id, &err);
    free(argv);
    free(words);
    if (rc != 0)
        return astrid_host_fail(c, "%s: %s", c->fn->name, err.msg);
    return 0;
}

int astrid_host_process_read_logs(astrid_host_call *c, uint64_t process_id,
                                  wit_read_logs_result *out)
{
    if (gate(c))
        return -1;
    const astrid_invocation *inv = c->inv;
    astrid_proc_output o = {0};
    astrid_err err;
    if (inv->env->proc->read(inv->env->rt, inv, process_id, &o, &err) != 0)
        return astrid_host_fail(c, "%s: %s", c->fn->name, err.msg);
    out->running = o.running;
    out->exit_code = (wit_option_s32){o.has_code, o.code};
    int rc = set_lossy(c, &out->stdout, o.out, o.out_len) != 0 ||
                     set_lossy(c, &out->stderr, o.err, o.err_len) != 0
                 ? -1
                 : 0;
    astrid_proc_output_clear(&o);
    return rc;
}

int astrid_host_process_kill(astrid_host_call *c, uint64_t process_id, wit_kill_process_result *out)
{
    if (gate(c))
        return -1;
    const astrid_invocation *inv = c->inv;
    astrid_proc_output o = {0};
    astrid_err err;
    if (inv->env->proc->kill(inv->env->rt, inv, process_id, &o, &err) != 0)
        return astrid_host_fail(c, "%s: %s", c->fn->name, err.msg);
    out->killed = o.killed;
    out->exit_code = (wit_option_s32){o.has_code, o.code};
    int rc = set_lossy(c, &out->stdout, o.out, o.out_len) != 0 ||
                     set_lossy(c, &out->stderr, o.err, o.err_len) != 0
                 ? -1
                 : 0;
    astrid_proc_output_clear(&o);
    return rc;
}
