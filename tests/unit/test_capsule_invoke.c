/* The one invocation API (src/capsule/invoke.h) on an installed capsule
 * written in WAT, so the guest can answer what an SDK never would: the
 * capsule-result layout is the WIT's; arguments arrive where the guest's
 * cabi_realloc put them; deny/final and their data are decoded; a result
 * or a data string out of bounds is refused or dropped; an interrupt stops
 * a running invocation and one started after it; a tampered wasm is refused at
 * open, before anything is compiled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "astrid/fs.h"
#include "astrid/wit.h"
#include "capsule/invoke.h"
#include "wasm_test_util.h"

/* action's first byte picks the answer:
 *   d  deny "go away"           f  final, data = the payload
 *   o  result pointer out of bounds
 *   x  deny, data pointer out of bounds
 *   l  log "looping" (stdout), then loop forever
 *   c  count: the digit at 400 ('0' at instantiation) goes up by one,
 *      final with data = that digit (what survives between invocations);
 *      and nothing unsaved
 *   u  count, and 10 minutes' worth of unsaved state (astrid-unsaved-ms
 *      answers the u32 at 404)
 *   v  count, and unsaved state for 1 ms
 * astrid-save logs "saved" (stdout) and clears the unsaved state. */
static const char *const GUEST =
    "(module\n"
    "  (import \"wasi_snapshot_preview1\" \"fd_write\"\n"
    "    (func $fd_write (param i32 i32 i32 i32) (result i32)))\n"
    "  (memory (export \"memory\") 1)\n"
    "  (global $next (mut i32) (i32.const 4096))\n"
    "  (func (export \"cabi_realloc\") (param i32 i32 i32 i32) (result i32)\n"
    "    (local $p i32)\n"
    "    (local.set $p (global.get $next))\n"
    "    (global.set $next (i32.add (global.get $next) (local.get 3)))\n"
    "    (local.get $p))\n"
    "  (data (i32.const 16) \"deny\")\n"
    "  (data (i32.const 32) \"go away\")\n"
    "  (data (i32.const 48) \"final\")\n"
    "  (data (i32.const 200) \"\\d0\\00\\00\\00\\08\\00\\00\\00looping\\n\")\n"
    "  (data (i32.const 400) \"0\")\n"
    "  (data (i32.const 232) \"\\f0\\00\\00\\00\\06\\00\\00\\00\")\n"
    "  (data (i32.const 240) \"saved\\n\")\n"
    "  (func (export \"astrid-unsaved-ms\") (result i32) (i32.load (i32.const 404)))\n"
    "  (func (export \"astrid-save\")\n"
    "    (drop (call $fd_write (i32.const 1) (i32.const 232) (i32.const 1) (i32.const 248)))\n"
    "    (i32.store (i32.const 404) (i32.const 0)))\n"
    "  (data (i32.const 160) "
    "\"\\30\\00\\00\\00\\05\\00\\00\\00\\01\\00\\00\\00\\90\\01\\00\\00\\01\\00\\00\\00\")\n"
    "  (data (i32.const 64) "
    "\"\\10\\00\\00\\00\\04\\00\\00\\00\\01\\00\\00\\00\\20\\00\\00\\00\\07\\00\\00\\00\")\n"
    "  (data (i32.const 96) "
    "\"\\30\\00\\00\\00\\05\\00\\00\\00\\01\\00\\00\\00\\00\\00\\00\\00\\00\\00\\00\\00\")\n"
    "  (data (i32.const 128) "
    "\"\\10\\00\\00\\00\\04\\00\\00\\00\\01\\00\\00\\00\\00\\00\\ff\\ff\\07\\00\\00\\00\")\n"
    "  (func (export \"astrid-hook-trigger\") (param $a i32) (param $al i32) (param $p i32)\n"
    "        (param $pl i32) (result i32)\n"
    "    (local $c i32)\n"
    "    (local.set $c (i32.load8_u (local.get $a)))\n"
    "    (if (i32.eq (local.get $c) (i32.const 100)) (then (return (i32.const 64))))\n"
    "    (if (i32.eq (local.get $c) (i32.const 102)) (then\n"
    "      (i32.store (i32.const 108) (local.get $p))\n"
    "      (i32.store (i32.const 112) (local.get $pl))\n"
    "      (return (i32.const 96))))\n"
    "    (if (i32.eq (local.get $c) (i32.const 111)) (then (return (i32.const 65530))))\n"
    "    (if (i32.eq (local.get $c) (i32.const 99)) (then (i32.store (i32.const 404) (i32.const "
    "0))))\n"
    "    (if (i32.eq (local.get $c) (i32.const 117)) (then\n"
    "      (i32.store (i32.const 404) (i32.const 600000))))\n"
    "    (if (i32.eq (local.get $c) (i32.const 118)) (then (i32.store (i32.const 404) (i32.const "
    "1))))\n"
    "    (if (i32.or (i32.eq (local.get $c) (i32.const 99))\n"
    "                (i32.or (i32.eq (local.get $c) (i32.const 117))\n"
    "                        (i32.eq (local.get $c) (i32.const 118)))) (then\n"
    "      (i32.store8 (i32.const 400) (i32.add (i32.load8_u (i32.const 400)) (i32.const 1)))\n"
    "      (return (i32.const 160))))\n"
    "    (if (i32.eq (local.get $c) (i32.const 120)) (then (return (i32.const 128))))\n"
    "    (if (i32.eq (local.get $c) (i32.const 108)) (then\n"
    "      (drop (call $fd_write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 220)))\n"
    "      (loop $l (br $l))))\n"
    "    (unreachable)))\n";

static const char *const MANIFEST = "[package]\nname = \"wat\"\nversion = \"0.1.0\"\n\n"
                                    "[[component]]\nid = \"wat\"\nfile = \"wat.wasm\"\n\n"
                                    "[[interceptor]]\nevent = \"test.v1.wat\"\naction = \"d\"\n";

static char home[300], capdir[400];
static astrid_capsule_engine *engine;
static astrid_host_env env;

static void write_text(const char *path, const char *text, size_t len)
{
    astrid_err err;
    if (astrid_atomic_write(path, text, len, 0600, &err) != 0)
        fail_msg("%s", err.msg);
}

/* An installed capsule as astrid_installed_load expects it: manifest,
 * meta.json naming the hash, bin/{hash}.wasm. */
static int setup(void **state)
{
    (void)state;
    (void)wt_engine; /* the helper header's; here the capsule layer makes the engine */
    if (wt_setup_dir() != 0)
        return -1;
    size_t len;
    uint8_t *wasm = wt_wat(GUEST, 0, &len);
    if (!wasm)
        return -1;
    char hash[65], path[600], meta[200];
    astrid_blake3_hex(wasm, len, hash);
    snprintf(home, sizeof home, "%s/home", wt_dir);
    snprintf(capdir, sizeof capdir, "%s/home/default/.local/capsules/wat", home);
    snprintf(path, sizeof path, "%s/bin", home);
    astrid_err err;
    if (astrid_mkdir_p(capdir, 0700, 0, &err) != 0 || astrid_mkdir_p(path, 0700, 0, &err) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/bin/%s.wasm", home, hash);
    write_text(path, (const char *)wasm, len);
    free(wasm);
    snprintf(path, sizeof path, "%s/Capsule.toml", capdir);
    write_text(path, MANIFEST, strlen(MANIFEST));
    snprintf(meta, sizeof meta, "{\"version\": \"0.1.0\", \"wasm_hash\": \"%s\"}", hash);
    snprintf(path, sizeof path, "%s/meta.json", capdir);
    write_text(path, meta, strlen(meta));
    /* 16 slots, as a host with that many agents chatting at once sets it
     * (the default, 4, is what the soak holds flat): the pool must then keep
     * an instance for each (every_active_agent_keeps_its_instance) */
    if (!getenv("ASTRID_INSTANCE_POOL"))
        setenv("ASTRID_INSTANCE_POOL", "16", 1);
    if (!(engine = astrid_capsule_engine_new(home, &err))) {
        fprintf(stderr, "engine: %s\n", err.msg);
        return -1;
    }
    env = (astrid_host_env){.home = home};
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    astrid_capsule_engine_free(engine);
    wt_rm_dir();
    return 0;
}

static astrid_capsule *load_with(astrid_capsule_engine *e)
{
    astrid_capsule *c = NULL;
    astrid_err err;
    if (astrid_capsule_open(home, "default", capdir, &c, &err) != 0)
        fail_msg("open: %s", err.msg);
    if (astrid_capsule_prepare(c, e, &err) != 0)
        fail_msg("prepare: %s", err.msg);
    assert_string_equal(astrid_capsule_installed(c)->manifest->name, "wat");
    assert_string_equal(astrid_capsule_installed(c)->owner, "default");
    assert_false(astrid_capsule_is_run_loop(c));
    return c;
}

static astrid_capsule *load(void)
{
    return load_with(engine);
}

/* An engine whose pool has `slots` (ASTRID_INSTANCE_POOL is read when an
 * engine is made). */
static astrid_capsule_engine *engine_with_pool(const char *slots)
{
    const char *env_was = getenv("ASTRID_INSTANCE_POOL");
    char was[32];
    snprintf(was, sizeof was, "%s", env_was ? env_was : "");
    setenv("ASTRID_INSTANCE_POOL", slots, 1);
    astrid_err err;
    astrid_capsule_engine *e = astrid_capsule_engine_new(home, &err);
    setenv("ASTRID_INSTANCE_POOL", was, 1);
    if (!e)
        fail_msg("engine: %s", err.msg);
    return e;
}

static const astrid_principal_ctx PC = {.principal = "default",
                                        .max_memory_bytes = 16u << 20,
                                        .timeout_ms = 60000,
                                        .source_id = "00000000-0000-4000-8000-000000000001",
                                        .env = &env};

/* The constants the decoder reads by are the canonical layout of the
 * WIT's capsule-result, recomputed from wit/astrid.wit. */
static void result_layout_is_the_wit(void **state)
{
    (void)state;
    const char *src = getenv("ASTRID_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/wit/astrid.wit", src ? src : ".");
    char *text = NULL;
    size_t len;
    astrid_err err;
    if (astrid_read_file(path, ASTRID_WIT_MAX_INPUT, &text, &len, &err) != 0)
        fail_msg("%s", err.msg);
    astrid_wit_package *p = astrid_wit_parse(text, len, &err);
    free(text);
    if (!p) {
        fail_msg("%s", err.msg);
        return;
    }
    const astrid_wit_typedef *def = NULL;
    for (size_t i = 0; i < p->nifaces && !def; i++)
        def = astrid_wit_find_type(p->ifaces[i], "capsule-result");
    if (!def) {
        fail_msg("wit/astrid.wit has no capsule-result");
        return;
    }
    assert_int_equal(def->nfields, 2);
    assert_string_equal(def->fields[0].name, "action");
    assert_string_equal(def->fields[1].name, "data");
    uint32_t off = 0, size, align, max_align = 1, offs[2];
    for (size_t i = 0; i < 2; i++) {
        astrid_wit_size_align(def->fields[i].type, &size, &align);
        off = (off + align - 1) / align * align;
        offs[i] = off;
        off += size;
        max_align = align > max_align ? align : max_align;
    }
    off = (off + max_align - 1) / max_align * max_align;
    assert_int_equal(off, ASTRID_CAPSULE_RESULT_SIZE);
    assert_int_equal(offs[0], ASTRID_CAPSULE_RESULT_ACTION);
    assert_int_equal(offs[1], ASTRID_CAPSULE_RESULT_DATA_TAG);
    /* option<string>: a u8 discriminant, the string at its alignment */
    const astrid_wit_type *opt = astrid_wit_unalias(def->fields[1].type);
    assert_int_equal(opt->kind, ASTRID_WIT_OPTION);
    astrid_wit_size_align(opt->elem, &size, &align);
    assert_int_equal(offs[1] + (1 + align - 1) / align * align, ASTRID_CAPSULE_RESULT_DATA);
    astrid_wit_free(p);
}

static void deny_and_final_are_decoded(void **state)
{
    (void)state;
    astrid_capsule *c = load();
    astrid_capsule_result r;
    astrid_err err;
    assert_int_equal(astrid_capsule_invoke(c, &PC, "d", (const uint8_t *)"{}", 2, &r, &err), 0);
    assert_int_equal(r.action, ASTRID_CAPSULE_DENY);
    assert_string_equal(r.data, "go away");
    assert_int_equal(r.len, 7);
    astrid_capsule_result_clear(&r);
    assert_null(r.data);
    /* the payload the guest hands back is the one lowered into it */
    const char *payload = "{\"k\":\"v\",\"n\":12345}";
    assert_int_equal(
        astrid_capsule_invoke(c, &PC, "f", (const uint8_t *)payload, strlen(payload), &r, &err), 0);
    assert_int_equal(r.action, ASTRID_CAPSULE_FINAL);
    assert_string_equal(r.data, payload);
    assert_int_equal(r.len, strlen(payload));
    astrid_capsule_result_clear(&r);
    /* an empty payload: no allocation in the guest, empty data back */
    assert_int_equal(astrid_capsule_invoke(c, &PC, "f", NULL, 0, &r, &err), 0);
    assert_int_equal(r.action, ASTRID_CAPSULE_FINAL);
    assert_string_equal(r.data, "");
    astrid_capsule_result_clear(&r);
    astrid_capsule_free(c);
}

/* One count invocation as `who`: the digit the guest's memory holds. */
static char count_as(astrid_capsule *c, const char *who)
{
    astrid_principal_ctx pc = PC;
    pc.principal = who;
    astrid_capsule_result r;
    astrid_err err;
    if (astrid_capsule_invoke(c, &pc, "c", NULL, 0, &r, &err) != 0)
        fail_msg("count as %s: %s", who, err.msg);
    char d = r.data && r.len == 1 ? r.data[0] : '?';
    astrid_capsule_result_clear(&r);
    return d;
}

/* Instances are reused for the same principal only: its memory carries
 * over, another principal never sees it; a failed invocation's instance is
 * not reused. */
static void instances_are_reused_per_principal_only(void **state)
{
    (void)state;
    astrid_capsule *c = load();
    assert_int_equal(count_as(c, "alice"), '1');
    assert_int_equal(count_as(c, "alice"), '2'); /* the same instance again */
    assert_int_equal(count_as(c, "bob"), '1');   /* never alice's memory */
    assert_int_equal(count_as(c, "alice"), '3');
    assert_int_equal(count_as(c, "bob"), '2');
    /* a larger memory cap is not the instance alice had */
    astrid_principal_ctx big = PC;
    big.principal = "alice";
    big.max_memory_bytes = 32u << 20;
    astrid_capsule_result r;
    astrid_err err;
    assert_int_equal(astrid_capsule_invoke(c, &big, "c", NULL, 0, &r, &err), 0);
    assert_string_equal(r.data, "1");
    astrid_capsule_result_clear(&r);
    /* alice's instance fails (result out of bounds): it is dropped */
    astrid_principal_ctx pa = PC;
    pa.principal = "alice";
    assert_int_equal(astrid_capsule_invoke(c, &pa, "o", NULL, 0, &r, &err), -1);
    assert_int_equal(count_as(c, "alice"), '1');
    assert_int_equal(count_as(c, "bob"), '3');
    astrid_capsule_free(c);
}

/* Twelve agents taking turns each keep their own instance when the pool
 * has the slots: none loses what its guest held in memory between two of
 * its events (a pool capped at 4 did: the 100-client load run lost react's
 * last deltas of chat turns). */
static void every_active_agent_keeps_its_instance(void **state)
{
    (void)state;
    astrid_capsule *c = load();
    char who[12][8];
    for (int i = 0; i < 12; i++) {
        snprintf(who[i], sizeof who[i], "p%d", i);
        assert_int_equal(count_as(c, who[i]), '1');
    }
    for (int i = 0; i < 12; i++)
        assert_int_equal(count_as(c, who[i]), '2');
    astrid_capsule_free(c);
}

/* One invocation of `action` as `who`: the digit the guest answers. */
static char act_as(astrid_capsule *c, const char *who, const char *action)
{
    astrid_principal_ctx pc = PC;
    pc.principal = who;
    astrid_capsule_result r;
    astrid_err err;
    if (astrid_capsule_invoke(c, &pc, action, NULL, 0, &r, &err) != 0)
        fail_msg("%s as %s: %s", action, who, err.msg);
    char d = r.data && r.len == 1 ? r.data[0] : '?';
    astrid_capsule_result_clear(&r);
    return d;
}

/* How often the guest saved for `who`: "saved" lines in its capsule log. */
static int saves_of(const char *who)
{
    char dir[700], path[1000];
    snprintf(dir, sizeof dir, "%s/home/%s/.local/log/wat", home, who);
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *text = NULL;
        size_t len;
        astrid_err err;
        if (astrid_read_file(path, 1u << 20, &text, &len, &err) != 0)
            fail_msg("%s", err.msg);
        for (const char *p = text; (p = strstr(p, "saved")); p++)
            n++;
        free(text);
    }
    if (d)
        closedir(d);
    return n;
}

/* Six agents, two slots: an instance whose guest holds unsaved state is
 * pinned beside the slots — the other agents' instances coming back do
 * not evict it — and not asked to save; once its state is saved (here:
 * 'c' leaves nothing unsaved) it is an ordinary idle instance again. */
static void unsaved_instances_are_pinned_past_the_slots(void **state)
{
    (void)state;
    astrid_capsule_engine *e = engine_with_pool("2");
    astrid_capsule *c = load_with(e);
    const char *who[6] = {"u0", "u1", "u2", "u3", "u4", "u5"};
    for (int i = 0; i < 6; i++)
        assert_int_equal(act_as(c, who[i], "u"), '1');
    for (int i = 0; i < 6; i++)
        assert_int_equal(act_as(c, who[i], "c"), '2'); /* each one's own memory */
    for (int i = 0; i < 6; i++)
        assert_int_equal(saves_of(who[i]), 0);
    /* nothing unsaved now: two slots for six (the last two used) */
    for (int i = 5; i >= 0; i--)
        assert_int_equal(act_as(c, who[i], "c"), i >= 4 ? '3' : '1');
    astrid_capsule_free(c);
    astrid_capsule_engine_free(e);
}

/* With no pin to be had the guest saves before its instance goes: reuse
 * off (ASTRID_INSTANCE_POOL=0), and past PIN_MAX (256) pinned instances. A
 * guest with nothing unsaved is not asked. */
static void unsaved_state_is_saved_when_no_pin(void **state)
{
    (void)state;
    astrid_capsule_engine *e = engine_with_pool("0");
    astrid_capsule *c = load_with(e);
    assert_int_equal(act_as(c, "s0", "u"), '1');
    assert_int_equal(saves_of("s0"), 1);
    assert_int_equal(act_as(c, "s0", "u"), '1'); /* a fresh instance each time */
    assert_int_equal(saves_of("s0"), 2);
    assert_int_equal(act_as(c, "s1", "c"), '1');
    assert_int_equal(saves_of("s1"), 0);
    astrid_capsule_free(c);
    astrid_capsule_engine_free(e);

    e = engine_with_pool("2");
    c = load_with(e);
    char who[257][8];
    for (int i = 0; i < 257; i++) {
        snprintf(who[i], sizeof who[i], "k%d", i);
        assert_int_equal(act_as(c, who[i], "u"), '1');
        assert_int_equal(saves_of(who[i]), i < 256 ? 0 : 1);
    }
    for (int i = 0; i < 256; i++)
        assert_int_equal(act_as(c, who[i], "u"), '2'); /* all 256 pinned ones kept */
    astrid_capsule_free(c);
    astrid_capsule_engine_free(e);
}

/* A pin lasts as long as the guest asked: past it the instance is an
 * idle one like any other, evicted for the slots. */
static void pins_expire(void **state)
{
    (void)state;
    astrid_capsule_engine *e = engine_with_pool("2");
    astrid_capsule *c = load_with(e);
    assert_int_equal(act_as(c, "x0", "v"), '1'); /* pinned for 1 ms */
    assert_int_equal(act_as(c, "x1", "u"), '1'); /* for 10 minutes */
    usleep(20000);
    for (int i = 2; i < 6; i++) {
        char w[8];
        snprintf(w, sizeof w, "x%d", i);
        assert_int_equal(act_as(c, w, "c"), '1');
    }
    assert_int_equal(act_as(c, "x1", "c"), '2');
    assert_int_equal(act_as(c, "x0", "c"), '1'); /* evicted once its pin ran out */
    assert_int_equal(saves_of("x0"), 0);
    astrid_capsule_free(c);
    astrid_capsule_engine_free(e);
}

/* Half of the unsaved-state protocol is refused when the capsule is
 * prepared: a guest reporting unsaved state it cannot save would be
 * pinned for nothing, one saving without reporting is never asked. */
static void half_the_unsaved_protocol_is_refused(void **state)
{
    (void)state;
    static const char *const halves[] = {
        "(module (memory (export \"memory\") 1)\n"
        "  (func (export \"astrid-save\")))\n",
        "(module (memory (export \"memory\") 1)\n"
        "  (func (export \"astrid-unsaved-ms\") (result i32) (i32.const 1)))\n",
        "(module (memory (export \"memory\") 1)\n"
        "  (func (export \"astrid-save\"))\n"
        "  (func (export \"astrid-unsaved-ms\") (result i64) (i64.const 1)))\n"};
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        uint8_t *wasm = wt_wat(halves[i], 0, &len);
        assert_non_null(wasm);
        char hash[65], dir[600], path[800], meta[200];
        astrid_blake3_hex(wasm, len, hash);
        snprintf(dir, sizeof dir, "%s/home/default/.local/capsules/half%zu", home, i);
        astrid_err err;
        assert_int_equal(astrid_mkdir_p(dir, 0700, 0, &err), 0);
        snprintf(path, sizeof path, "%s/bin/%s.wasm", home, hash);
        write_text(path, (const char *)wasm, len);
        free(wasm);
        snprintf(path, sizeof path, "%s/Capsule.toml", dir);
        char manifest[200];
        snprintf(manifest, sizeof manifest,
                 "[package]\nname = \"half%zu\"\nversion = \"0.1.0\"\n\n"
                 "[[component]]\nid = \"half\"\nfile = \"half.wasm\"\n",
                 i);
        write_text(path, manifest, strlen(manifest));
        snprintf(meta, sizeof meta, "{\"version\": \"0.1.0\", \"wasm_hash\": \"%s\"}", hash);
        snprintf(path, sizeof path, "%s/meta.json", dir);
        write_text(path, meta, strlen(meta));
        astrid_capsule *c = NULL;
        assert_int_equal(astrid_capsule_open(home, "default", dir, &c, &err), 0);
        assert_int_equal(astrid_capsule_prepare(c, engine, &err), -1);
        assert_non_null(strstr(err.msg, "come together"));
        astrid_capsule_free(c);
    }
}

static void results_out_of_bounds_are_refused(void **state)
{
    (void)state;
    astrid_capsule *c = load();
    astrid_capsule_result r;
    astrid_err err;
    assert_int_equal(astrid_capsule_invoke(c, &PC, "o", NULL, 0, &r, &err), -1);
    assert_non_null(strstr(err.msg, "capsule-result out of bounds"));
    assert_null(r.data);
    /* a data string out of bounds reads as no data (the kernel then
     * gives its own deny reason) */
    assert_int_equal(astrid_capsule_invoke(c, &PC, "x", NULL, 0, &r, &err), 0);
    assert_int_equal(r.action, ASTRID_CAPSULE_DENY);
    assert_null(r.data);
    /* a trap is an error, not a result */
    assert_int_equal(astrid_capsule_invoke(c, &PC, "?", NULL, 0, &r, &err), -1);
    assert_non_null(strstr(err.msg, "unreachable"));
    astrid_capsule_free(c);
}

typedef struct looping {
    astrid_capsule *c;
    int rc;
    astrid_err err;
} looping;

static void *loop_forever(void *arg)
{
    looping *l = arg;
    astrid_principal_ctx pc = PC;
    pc.timeout_ms = ASTRID_WASM_FOREVER; /* only an interrupt ends it */
    astrid_capsule_result r;
    l->rc = astrid_capsule_invoke(l->c, &pc, "l", NULL, 0, &r, &l->err);
    astrid_capsule_result_clear(&r);
    return NULL;
}

static void interrupt_stops_running_and_later_invocations(void **state)
{
    (void)state;
    astrid_capsule *c = load();
    looping l = {.c = c};
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 8u << 20);
    assert_int_equal(pthread_create(&t, &attr, loop_forever, &l), 0);
    pthread_attr_destroy(&attr);
    /* the guest runs once its log line exists: an interrupt must reach it
     * (not merely stop later invocations) */
    char logdir[600];
    snprintf(logdir, sizeof logdir, "%s/home/default/.local/log/wat", home);
    struct stat st;
    for (int i = 0; i < 60000 && stat(logdir, &st) != 0; i++)
        usleep(1000);
    assert_int_equal(astrid_capsule_interrupt(c), 1);
    pthread_join(t, NULL);
    assert_int_equal(l.rc, -1);
    /* one started after the interrupt is stopped too (without a deadline,
     * nothing else could end it) */
    looping later = {.c = c};
    loop_forever(&later);
    assert_int_equal(later.rc, -1);
    assert_int_equal(astrid_capsule_interrupt(c), 0); /* nothing left running */
    astrid_capsule_free(c);
}

static void tampered_wasm_is_refused_at_open(void **state)
{
    (void)state;
    char path[600], meta[200];
    snprintf(path, sizeof path, "%s/meta.json", capdir);
    char *saved = NULL;
    size_t len;
    astrid_err err;
    assert_int_equal(astrid_read_file(path, 4096, &saved, &len, &err), 0);
    snprintf(meta, sizeof meta, "{\"version\": \"0.1.0\", \"wasm_hash\": \"%064d\"}", 0);
    write_text(path, meta, strlen(meta));
    astrid_capsule *c = (astrid_capsule *)&err; /* must be reset */
    assert_int_equal(astrid_capsule_open(home, "default", capdir, &c, &err), -1);
    assert_null(c);
    assert_non_null(strstr(err.msg, "wat"));
    write_text(path, saved, len);
    free(saved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(result_layout_is_the_wit),
        cmocka_unit_test(deny_and_final_are_decoded),
        cmocka_unit_test(instances_are_reused_per_principal_only),
        cmocka_unit_test(every_active_agent_keeps_its_instance),
        cmocka_unit_test(unsaved_instances_are_pinned_past_the_slots),
        cmocka_unit_test(unsaved_state_is_saved_when_no_pin),
        cmocka_unit_test(pins_expire),
        cmocka_unit_test(half_the_unsaved_protocol_is_refused),
        cmocka_unit_test(results_out_of_bounds_are_refused),
        cmocka_unit_test(interrupt_stops_running_and_later_invocations),
        cmocka_unit_test(tampered_wasm_is_refused_at_open),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
