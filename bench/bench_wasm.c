/* WebAssembly engine benchmarks: the same workloads (tests/guests/bench_work.c)
 * native, in our engine, and in V8 (node) when present; medians and ratios
 * against baselines measured in this run. Also guest->host->guest calls,
 * instantiate+call+teardown, and a cold AOT compile of a ~1 MiB module. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "bench_util.h"
#include "capsule/wasm/engine.h"
#include "../tests/guests/bench_work.c" /* NOLINT(bugprone-suspicious-include) */

#define REPS 5

uint32_t Z_envZ_bench_nop(void *inst, uint32_t x);
uint32_t Z_envZ_bench_nop(void *inst, uint32_t x)
{
    astrid_wasm_host_enter(inst);
    astrid_wasm_host_leave(inst);
    return x;
}
uint32_t bench_nop(uint32_t x)
{
    return x;
}

static const astrid_wasm_host_func env_funcs[] = {{"bench_nop", "i", "i", 0}};
static const astrid_wasm_host_module hosts[] = {{"env", env_funcs, 1, 0}};

static char tmp[256];
static char work_wasm[300];

static double v8_ns(const char *fn, unsigned arg, int reps)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "node '%s/bench/wasm_v8.js' '%s' %s %u %d 2>/dev/null",
             getenv("ASTRID_SRC") ? getenv("ASTRID_SRC") : ".", work_wasm, fn, arg, reps);
    FILE *p = popen(cmd, "r");
    double ns = -1;
    if (p) {
        char line[64];
        char *end = NULL;
        if (fgets(line, sizeof line, p))
            ns = strtod(line, &end);
        if (end == line)
            ns = -1;
        pclose(p);
    }
    return ns;
}

typedef uint32_t (*native_fn)(uint32_t);

/* The same workloads built by clang -O2 (mk/bench_native.mk): the compiler
 * that built the .wasm. bench_nop is the import the workload calls. */
uint32_t clang_work_sha256(uint32_t mib);
uint32_t clang_work_sort(uint32_t n);
uint32_t clang_work_fib(uint32_t n);
uint32_t clang_bench_nop(uint32_t x);
uint32_t clang_bench_nop(uint32_t x)
{
    return x;
}

static void compare(astrid_wasm_instance *inst, const char *name, const char *fn, native_fn nat,
                    native_fn nat_clang, unsigned arg, int have_node)
{
    double tn[REPS], tc[REPS], tw[REPS];
    uint32_t rn = 0, rc = 0;
    uint64_t a[1] = {arg}, r[1] = {0};
    astrid_err err;
    for (int i = 0; i < REPS; i++) {
        double s = bench_now_ns();
        rn = nat(arg);
        tn[i] = bench_now_ns() - s;
        s = bench_now_ns();
        rc = nat_clang(arg);
        tc[i] = bench_now_ns() - s;
        s = bench_now_ns();
        if (astrid_wasm_call(inst, fn, a, 1, r, 1, 0, NULL, &err) < 0) {
            printf("  %s: engine call failed: %s\n", name, err.msg);
            return;
        }
        tw[i] = bench_now_ns() - s;
    }
    double mn = bench_median(tn, REPS), mc = bench_median(tc, REPS), mw = bench_median(tw, REPS);
    printf("  %-22s native %9.2f ms  ours %9.2f ms  ours/native %.2f%s\n", name, mc / 1e6, mw / 1e6,
           mw / mc, (uint32_t)r[0] == rc && rc == rn ? "" : "  (RESULT MISMATCH)");
    printf("  %-22s (native by clang -O2, as the .wasm; by gcc -O2: %.2f ms, ours/gcc %.2f)\n", "",
           mn / 1e6, mw / mn);
    if (have_node) {
        double v = v8_ns(fn, arg, REPS);
        if (v > 0)
            printf("  %-22s V8     %9.2f ms  ours/V8 %.2f\n", "", v / 1e6, mw / v);
    }
}

/* An engine with its own cache under tmp: parts as astrid_wasm_engine_config.aot_parts,
 * cc NULL = the engine's default. */
static astrid_wasm_engine *engine_cc(const char *sub, int parts, const char *cc, int opt)
{
    char cache[300];
    snprintf(cache, sizeof cache, "%s/%s", tmp, sub);
    astrid_wasm_engine_config cfg = {.cache_dir = cache,
                                     .cc = cc,
                                     .opt_level = opt,
                                     .host_modules = hosts,
                                     .nhost_modules = 1,
                                     .aot_parts = parts};
    astrid_err err;
    astrid_wasm_engine *e = astrid_wasm_engine_new(&cfg, &err);
    if (!e)
        printf("  engine: %s\n", err.msg);
    return e;
}

static astrid_wasm_engine *engine_with(const char *sub, int parts)
{
    return engine_cc(sub, parts, NULL, 2);
}

static astrid_wasm_module *load_file(astrid_wasm_engine *e, const char *path)
{
    char *buf;
    size_t len;
    astrid_err err;
    if (astrid_read_file(path, 64u << 20, &buf, &len, &err) < 0)
        return NULL;
    astrid_wasm_module *m = astrid_wasm_module_load(e, (uint8_t *)buf, len, NULL, NULL, &err);
    if (!m)
        printf("  load %s: %s\n", path, err.msg);
    free(buf);
    return m;
}

/* A module of ~1 MiB of code: many functions of straight-line arithmetic. */
static int write_big_wat(const char *path, int nfuncs)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "(module\n");
    for (int i = 0; i < nfuncs; i++) {
        fprintf(f, "(func (export \"f%d\") (param i32) (result i32) local.get 0\n", i);
        for (int k = 0; k < 60; k++)
            fprintf(f, " i32.const %d i32.add i32.const %d i32.mul i32.const %d i32.xor\n",
                    k * 7919 + i, 3 + k, 0x5bd1e995 ^ (k * 131 + i));
        fprintf(f, ")\n");
    }
    fprintf(f, ")\n");
    return fclose(f);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/astrid-bench-wasm-XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    const char *src = getenv("ASTRID_SRC") ? getenv("ASTRID_SRC") : ".";
    snprintf(work_wasm, sizeof work_wasm, "%s/work.wasm", tmp);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -fuse-ld=lld -o '%s' "
             "'%s/tests/guests/bench_work.c'",
             work_wasm, src);
    if (system(cmd) != 0) {
        printf("  skipped: clang --target=wasm32 unavailable\n");
        return 0;
    }
    char cache[300];
    snprintf(cache, sizeof cache, "%s/aot", tmp);
    astrid_wasm_engine_config cfg = {
        .cache_dir = cache, .opt_level = 2, .host_modules = hosts, .nhost_modules = 1};
    astrid_err err;
    astrid_wasm_engine *e = astrid_wasm_engine_new(&cfg, &err);
    if (!e) {
        printf("  engine: %s\n", err.msg);
        return 1;
    }
    astrid_wasm_module *m = load_file(e, work_wasm);
    astrid_wasm_instance_config ic = {.max_memory_bytes = 256u << 20};
    astrid_wasm_instance *inst = m ? astrid_wasm_instantiate(m, &ic, NULL, &err) : NULL;
    if (!inst) {
        printf("  instantiate failed: %s\n", err.msg);
        return 1;
    }
    int quick = getenv("ASTRID_BENCH_QUICK") != NULL; /* instantiate + host calls only */
    int have_node = !quick && system("node --version >/dev/null 2>&1") == 0;
    if (!have_node && !quick)
        printf("  (node not found: V8 comparison skipped)\n");
    if (!quick) {
        compare(inst, "sha256 64 MiB", "sha256", work_sha256, clang_work_sha256, 64, have_node);
        compare(inst, "heapsort 10M ints", "sort", work_sort, clang_work_sort, 10000000, have_node);
        compare(inst, "fib(32) recursive", "fib", work_fib, clang_work_fib, 32, have_node);
        /* what splitting costs at run time: the same module forced into 4
         * units (calls between units are not inlined) */
        astrid_wasm_engine *es = engine_with("aot-split4", 4);
        astrid_wasm_module *ms = es ? load_file(es, work_wasm) : NULL;
        astrid_wasm_instance *is = ms ? astrid_wasm_instantiate(ms, &ic, NULL, &err) : NULL;
        if (is) {
            printf("  -- the same workloads compiled in 4 units (w2c_split.c):\n");
            compare(is, "sha256 64 MiB", "sha256", work_sha256, clang_work_sha256, 64, 0);
            compare(is, "heapsort 10M ints", "sort", work_sort, clang_work_sort, 10000000, 0);
            compare(is, "fib(32) recursive", "fib", work_fib, clang_work_fib, 32, 0);
        }
        astrid_wasm_instance_free(is);
        astrid_wasm_module_free(ms);
        astrid_wasm_engine_free(es);
        /* what the compile-speed choices cost at run time: the daemon
         * compiles capsules with clang -O0 when clang is there (capsule
         * engine, src/capsule/invoke.c), else cc -O0 (smaller inputs: the
         * ratios are what matter) */
        static const struct {
            const char *label, *sub, *cc;
            int opt;
        } builds[] = {{"clang -O0", "aot-clang0", "clang", 0},
                      {"gcc -O0", "aot-gcc0", "gcc", 0},
                      {"gcc -O1", "aot-gcc1", "gcc", 1}};
        for (size_t b = 0; b < sizeof builds / sizeof builds[0]; b++) {
            astrid_wasm_engine *eb = engine_cc(builds[b].sub, 0, builds[b].cc, builds[b].opt);
            astrid_wasm_module *mb = eb ? load_file(eb, work_wasm) : NULL;
            astrid_wasm_instance *ib = mb ? astrid_wasm_instantiate(mb, &ic, NULL, &err) : NULL;
            if (ib) {
                printf("  -- the same workloads (smaller) compiled by %s:\n", builds[b].label);
                compare(ib, "sha256 8 MiB", "sha256", work_sha256, clang_work_sha256, 8, 0);
                compare(ib, "heapsort 1M ints", "sort", work_sort, clang_work_sort, 1000000, 0);
                compare(ib, "fib(27) recursive", "fib", work_fib, clang_work_fib, 27, 0);
            }
            astrid_wasm_instance_free(ib);
            astrid_wasm_module_free(mb);
            astrid_wasm_engine_free(eb);
        }
    }

    /* guest -> host -> guest */
    double t[REPS];
    uint64_t a[1] = {1000000}, r[1];
    for (int i = 0; i < REPS; i++) {
        double s = bench_now_ns();
        astrid_wasm_call(inst, "call_host", a, 1, r, 1, 0, NULL, &err);
        t[i] = (bench_now_ns() - s) / 1e6;
    }
    double host_ns = bench_median(t, REPS);
    for (int i = 0; i < REPS; i++) {
        double s = bench_now_ns();
        work_call_host(1000000);
        t[i] = (bench_now_ns() - s) / 1e6;
    }
    printf("  guest->host->guest     ours %.1f ns/call  native call %.1f ns  ratio %.1f\n", host_ns,
           bench_median(t, REPS), host_ns / bench_median(t, REPS));
    if (have_node) {
        double v = v8_ns("call_host", 1000000, REPS);
        if (v > 0)
            printf("  %-22s V8   %.1f ns/call\n", "", v / 1e6);
    }
    astrid_wasm_instance_free(inst);
    astrid_wasm_module_free(m);

    /* instantiate + one call + teardown of a small module */
    char small[300];
    snprintf(small, sizeof small, "%s/small.wat", tmp);
    const char *wat = "(module (memory 1) (func (export \"f\") (param i32) (result i32) "
                      "local.get 0 i32.const 1 i32.add))";
    astrid_atomic_write(small, wat, strlen(wat), 0600, NULL);
    snprintf(cmd, sizeof cmd, "wat2wasm '%s' -o '%s/small.wasm'", small, tmp);
    snprintf(small, sizeof small, "%s/small.wasm", tmp);
    astrid_wasm_module *sm = system(cmd) == 0 ? load_file(e, small) : NULL;
    if (sm) {
        double ti[15];
        for (int i = 0; i < 15; i++) {
            double s = bench_now_ns();
            for (int k = 0; k < 1000; k++) {
                astrid_wasm_instance *si = astrid_wasm_instantiate(sm, NULL, NULL, &err);
                astrid_wasm_call(si, "f", a, 1, r, 1, 1000, NULL, &err);
                astrid_wasm_instance_free(si);
            }
            ti[i] = (bench_now_ns() - s) / 1000;
        }
        double s = bench_now_ns();
        for (int k = 0; k < 100000; k++)
            r[0] = bench_nop((uint32_t)k);
        double base = (bench_now_ns() - s) / 100000;
        printf("  instantiate+call+free  ours %.2f us (target <= 20 us; baseline native call "
               "%.1f ns)\n",
               bench_median(ti, 15) / 1000, base);
        astrid_wasm_module_free(sm);
    }

    /* cold AOT compile of a ~1 MiB module */
    char big[300], bigw[300];
    snprintf(big, sizeof big, "%s/big.wat", tmp);
    snprintf(bigw, sizeof bigw, "%s/big.wasm", tmp);
    write_big_wat(big, 1400);
    snprintf(cmd, sizeof cmd, "wat2wasm '%s' -o '%s'", big, bigw);
    if (!quick && system(cmd) == 0) {
        char *buf;
        size_t len;
        astrid_read_file(bigw, 64u << 20, &buf, &len, NULL);
        /* the same module unsplit (as before w2c_split.c) and split by size
         * over the online cores, each into an empty cache */
        static const struct {
            const char *label, *sub;
            int parts;
        } modes[] = {{"one unit", "aot-one", 1}, {"split", "aot-split", 0}};
        for (size_t k = 0; k < 2; k++) {
            astrid_wasm_engine *ek = engine_with(modes[k].sub, modes[k].parts);
            if (!ek)
                break;
            double s = bench_now_ns();
            astrid_wasm_module *bm =
                astrid_wasm_module_load(ek, (uint8_t *)buf, len, NULL, NULL, &err);
            double cold = bench_now_ns() - s;
            astrid_wasm_module_free(bm);
            s = bench_now_ns();
            bm = astrid_wasm_module_load(ek, (uint8_t *)buf, len, NULL, NULL, &err);
            double warm = bench_now_ns() - s;
            printf("  AOT compile %zu KiB %-9s cold %.1f s  cached reload %.1f ms  (cold/cached "
                   "%.0f)%s\n",
                   len / 1024, modes[k].label, cold / 1e9, warm / 1e6, cold / warm,
                   bm ? "" : "  (FAILED)");
            astrid_wasm_module_free(bm);
            astrid_wasm_engine_free(ek);
        }
        free(buf);
    }
    astrid_wasm_engine_free(e);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : 1;
}
