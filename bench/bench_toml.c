/* TOML parse throughput: ours vs toml++ (bench/toml_baseline.cpp, run as a
 * subprocess on the same generated document in the same run). Prints the
 * median MB/s of each and the ratio ours/toml++. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "astrid/toml.h"
#include "bench_util.h"

#define RUNS 7

/* A config-like document of several MiB mixing every kind of value. */
static char *generate(size_t target, size_t *len)
{
    size_t cap = target + 4096, n = 0;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    n += (size_t)snprintf(b + n, cap - n,
                          "title = \"generated benchmark document\"\n"
                          "version = 3\n\n");
    for (int i = 0; n < target; i++) {
        if (i % 4 == 0)
            n += (size_t)snprintf(
                b + n, cap - n,
                "[server.node-%d]\nhost = \"10.%d.%d.%d\"\nport = %d\nenabled = %s\n"
                "ratio = %d.%03de-2\ntags = [\"alpha\", \"beta\", \"gamma-%d\"]\n"
                "created = 2024-%02d-%02dT%02d:%02d:05.123Z\nweight = 1_000_%03d\n\n",
                i, i % 256, (i / 7) % 256, (i / 3) % 256, 8000 + i % 1000, i % 2 ? "true" : "false",
                i % 97, i % 1000, i, i % 12 + 1, i % 28 + 1, i % 24, i % 60, i % 1000);
        n += (size_t)snprintf(
            b + n, cap - n,
            "[[items]]\nid = %d\nname = \"item %d: caf\\u00e9 \\t with some longer text to "
            "scan through\"\nprice = %d.5e3\ndate = 2024-05-%02d\nat = 12:%02d:00\n"
            "values = [%d, %d, %d, 4, 5, 6, 7, 8]\npoint = { x = %d, y = %d.25, label = 'p' }\n"
            "note = '''\nmulti-line literal text %d\nsecond line\n'''\n\n",
            i, i, i % 1000, i % 28 + 1, i % 60, i, i + 1, i + 2, i % 100, i % 50, i);
    }
    *len = n;
    return b;
}

static double run_ours(const char *doc, size_t len)
{
    double mbps[RUNS];
    for (int r = 0; r < RUNS; r++) {
        astrid_err err;
        double t0 = bench_now_s();
        astrid_toml *t = astrid_toml_parse(doc, len, &err, NULL);
        double t1 = bench_now_s();
        if (!t) {
            fprintf(stderr, "bench_toml: our parser failed: %s\n", err.msg);
            return -1;
        }
        astrid_toml_free(t);
        mbps[r] = (double)len / 1e6 / (t1 - t0);
    }
    bench_sort(mbps, RUNS);
    return mbps[RUNS / 2];
}

static double run_baseline(const char *path)
{
    char exe[4096], cmd[8400];
    const char *build = getenv("ASTRID_BUILD");
    snprintf(exe, sizeof exe, "%s/bench/toml_baseline", build ? build : "build");
    if (access(exe, X_OK) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "'%s' '%s' %d", exe, path, RUNS);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    double v = -1;
    char line[256];
    if (fgets(line, sizeof line, p) && strncmp(line, "MBPS ", 5) == 0) {
        char *end;
        v = strtod(line + 5, &end);
        if (end == line + 5)
            v = -1;
    }
    pclose(p);
    return v;
}

int main(void)
{
    size_t len;
    char *doc = generate(6u << 20, &len);
    if (!doc)
        return 1;
    char path[] = "/tmp/astrid-bench-toml-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, doc, len) != (ssize_t)len) {
        perror("bench_toml: temp file");
        free(doc);
        return 1;
    }
    close(fd);
    double ours = run_ours(doc, len);
    double base = run_baseline(path);
    unlink(path);
    free(doc);
    if (ours < 0)
        return 1;
    printf("document %.2f MiB, median of %d parses\n", (double)len / (1 << 20), RUNS);
    printf("astrid toml  %8.1f MB/s\n", ours);
    if (base <= 0) {
        printf("toml++       unavailable (build/bench/toml_baseline missing or failed)\n");
        return 0;
    }
    printf("toml++       %8.1f MB/s\n", base);
    printf("ratio ours/toml++ = %.2f\n", ours / base);
    return 0;
}
