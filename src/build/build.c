/* `astrid-build [PATH] [-o DIR]`: build a C capsule directory into
 * NAME.capsule. Steps (each announced on stderr): read Capsule.toml, compile
 * every *.c of PATH and PATH/src with clang --target=wasm32-wasi (reactor
 * model) against the guest SDK, then pack Capsule.toml, the .wasm and a
 * wit/ tree (the capsule's own wit/ plus wit/deps/astrid/astrid.wit) as a
 * gzip'd tar. Exit 0 built, 1 a build error, 2 an unsupported project. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "astrid/toml.h"
#include "build/build_cmds.h"
#include "lib/manifest/manifest.h"

#define MAX_SOURCES 256

typedef struct build_job {
    char dir[PATH_MAX];
    char out[PATH_MAX];
    char sdk[PATH_MAX];
    char wit[PATH_MAX]; /* our astrid.wit */
    char name[128];
    char version[64];
    char wasm_name[256];
    char *sources[MAX_SOURCES];
    size_t nsources;
} build_job;

static void usage(FILE *f)
{
    fputs("usage: astrid-build [PATH] [-o DIR] [--sdk DIR]\n"
          "       astrid-build hash [--no-names] [-l LEN] [--raw] [--keyed] "
          "[--derive-key CTX] FILE...\n\n"
          "Builds the capsule directory PATH (default .: Capsule.toml and C sources in PATH\n"
          "and PATH/src) to WebAssembly with clang --target=wasm32-wasi against the Astrid\n"
          "C SDK, and writes DIR/NAME.capsule (default DIR: PATH/dist): a gzip'd tar of\n"
          "Capsule.toml, the .wasm named by [[component]].file, and wit/.\n\n"
          "  -o, --output DIR  where NAME.capsule goes\n"
          "      --sdk DIR     the SDK (astrid.h, astrid.c); default: next to this program,\n"
          "                    or $ASTRID_SDK\n"
          "  -h, --help        this help\n",
          f);
}

/* The SDK next to the executable: <prefix>/bin/astrid-build ->
 * <prefix>/../sdk/c (the build tree) or <prefix>/share/astrid/sdk/c. */
static int find_sdk(build_job *j, const char *flag)
{
    const char *env = getenv("ASTRID_SDK");
    char cand[6][PATH_MAX];
    size_t n = 0;
    if (flag)
        snprintf(cand[n++], PATH_MAX, "%s", flag);
    else if (env && *env)
        snprintf(cand[n++], PATH_MAX, "%s", env);
    else {
        char exe[PATH_MAX];
        ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (l > 0) {
            exe[l] = '\0';
            char *slash = strrchr(exe, '/');
            if (slash)
                *slash = '\0'; /* .../bin */
            /* build/bin, build/san/bin (the source tree's sdk/c above) */
            snprintf(cand[n++], PATH_MAX, "%.3000s/../../sdk/c", exe);
            snprintf(cand[n++], PATH_MAX, "%.3000s/../../../sdk/c", exe);
            snprintf(cand[n++], PATH_MAX, "%.3000s/../share/astrid/sdk/c", exe);
        }
    }
    for (size_t i = 0; i < n; i++) {
        char h[PATH_MAX + 16];
        snprintf(h, sizeof h, "%s/astrid.h", cand[i]);
        if (access(h, R_OK) == 0 && realpath(cand[i], j->sdk)) {
            snprintf(h, sizeof h, "%s/../../wit/astrid.wit", j->sdk);
            if (!realpath(h, j->wit)) {
                snprintf(h, sizeof h, "%s/astrid.wit", j->sdk);
                if (!realpath(h, j->wit))
                    j->wit[0] = '\0';
            }
            return 0;
        }
    }
    fprintf(stderr,
            "astrid-build: the Astrid C SDK (astrid.h) was not found%s%s; pass --sdk DIR "
            "or set ASTRID_SDK\n",
            n ? " at " : "", n ? cand[0] : "");
    return -1;
}

static int read_manifest(build_job *j)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/Capsule.toml", j->dir);
    if (access(path, F_OK) != 0) {
        fprintf(stderr,
                "astrid-build: %s: no Capsule.toml (only C capsules with a Capsule.toml "
                "are supported)\n",
                j->dir);
        return 2;
    }
    astrid_err err;
    astrid_toml *t = astrid_toml_parse_file(path, &err, NULL);
    if (!t) {
        fprintf(stderr, "astrid-build: %s\n", err.msg);
        return 1;
    }
    char field[256];
    if (astrid_toml_find_nul(t, field, sizeof field)) {
        /* As the installer: a NUL would cut the name or path it sits in. */
        fprintf(stderr, "astrid-build: %s: %s: must not contain a NUL character (\\u0000)\n", path,
                field);
        astrid_toml_free(t);
        return 1;
    }
    const char *name =
        astrid_toml_str(astrid_toml_get(astrid_toml_get(t, "package"), "name"), NULL);
    const char *ver =
        astrid_toml_str(astrid_toml_get(astrid_toml_get(t, "package"), "version"), NULL);
    const astrid_toml *comp = astrid_toml_get(t, "component");
    const char *file = astrid_toml_str(astrid_toml_get(astrid_toml_at(comp, 0), "file"), NULL);
    if (!file)
        file = astrid_toml_str(astrid_toml_get(astrid_toml_at(comp, 0), "entrypoint"), NULL);
    int rc = 0;
    if (!name || !*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(name)) {
        fprintf(stderr,
                "astrid-build: %s: package.name must be a non-empty string of a-z, 0-9 "
                "and '-'\n",
                path);
        rc = 1;
    } else if (strlen(name) > ASTRID_MANIFEST_NAME_MAX) {
        fprintf(stderr,
                "astrid-build: %s: package.name is %zu characters long; at most %d are "
                "allowed\n",
                path, strlen(name), ASTRID_MANIFEST_NAME_MAX);
        rc = 1;
    } else if (!ver || !*ver) {
        fprintf(stderr, "astrid-build: %s: package.version is required\n", path);
        rc = 1;
    } else if (!file || strchr(file, '/') || strlen(file) < 6 ||
               strcmp(file + strlen(file) - 5, ".wasm") != 0) {
        fprintf(stderr,
                "astrid-build: %s: [[component]] needs file = \"NAME.wasm\" (a bare file "
                "name)\n",
                path);
        rc = 1;
    } else {
        snprintf(j->name, sizeof j->name, "%s", name);
        snprintf(j->version, sizeof j->version, "%s", ver);
        snprintf(j->wasm_name, sizeof j->wasm_name, "%s", file);
    }
    astrid_toml_free(t);
    return rc;
}

static void collect_sources(build_job *j, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) && j->nsources < MAX_SOURCES) {
        size_t n = strlen(de->d_name);
        if (n > 2 && strcmp(de->d_name + n - 2, ".c") == 0 && de->d_name[0] != '.') {
            char *p = malloc(strlen(dir) + n + 2);
            if (p) {
                sprintf(p, "%s/%s", dir, de->d_name);
                j->sources[j->nsources++] = p;
            }
        }
    }
    closedir(d);
}

/* fork/exec argv, wait; the exit status (127 when it cannot run). */
static int run(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return 127;
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "astrid-build: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 127;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The embedded astrid_imports.h into TMP/include (searched before the
 * SDK, so a stale copy beside an SDK never wins). */
static int put_imports(const char *tmp)
{
    char dir[PATH_MAX + 16], path[PATH_MAX + 40];
    astrid_err err;
    snprintf(dir, sizeof dir, "%s/include", tmp);
    snprintf(path, sizeof path, "%s/astrid_imports.h", dir);
    if (astrid_mkdir_p(dir, 0755, 0, &err) != 0 ||
        astrid_atomic_write(path, astrid_sdk_imports_h, strlen(astrid_sdk_imports_h), 0644, &err) !=
            0) {
        fprintf(stderr, "astrid-build: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int compile(build_job *j, const char *tmp, const char *wasm)
{
    char *argv[MAX_SOURCES + 32];
    size_t n = 0;
    char gen[PATH_MAX + 16], inc[PATH_MAX + 3], sdk_c[PATH_MAX + 16], sdk_json[PATH_MAX + 24];
    if (put_imports(tmp) != 0)
        return 1;
    snprintf(gen, sizeof gen, "-I%s/include", tmp);
    snprintf(inc, sizeof inc, "-I%s", j->sdk);
    snprintf(sdk_c, sizeof sdk_c, "%s/astrid.c", j->sdk);
    snprintf(sdk_json, sizeof sdk_json, "%s/astrid_json.c", j->sdk);
    const char *cc = getenv("ASTRID_BUILD_CC");
    argv[n++] = (char *)(cc && *cc ? cc : "clang");
    argv[n++] = "--target=wasm32-wasi";
    argv[n++] = "-mexec-model=reactor";
    argv[n++] = "-O2";
    argv[n++] = "-std=c17";
    argv[n++] = "-Wall";
    argv[n++] = "-Wl,--strip-debug";
    argv[n++] = gen;
    argv[n++] = inc;
    for (size_t i = 0; i < j->nsources; i++)
        argv[n++] = j->sources[i];
    argv[n++] = sdk_c;
    argv[n++] = sdk_json; /* unused functions are dropped by wasm-ld */
    argv[n++] = "-o";
    argv[n++] = (char *)wasm;
    argv[n] = NULL;
    int rc = run(argv);
    if (rc == 127)
        fprintf(stderr, "astrid-build: clang (with wasm32-wasi support: packages clang, lld, "
                        "wasi-libc, libclang-rt-14-dev-wasm32) is needed\n");
    else if (rc != 0)
        fprintf(stderr, "astrid-build: compiling %s failed (clang exit %d)\n", j->name, rc);
    return rc;
}

int astrid_build_cmd_build(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"sdk", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"type", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    build_job *j = calloc(1, sizeof *j);
    if (!j)
        return 1;
    const char *out = NULL, *sdk = NULL, *type = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 's':
            sdk = optarg;
            break;
        case 't':
            type = optarg;
            break;
        case 'h':
            usage(stdout);
            free(j);
            return 0;
        default:
            usage(stderr);
            free(j);
            return 1;
        }
    }
    int rc = 0;
    if (type && strcmp(type, "c") != 0) {
        fprintf(stderr, "astrid-build: --type %s is not supported (only C capsules: --type c)\n",
                type);
        free(j);
        return 2;
    }
    if (argc - optind > 1) {
        usage(stderr);
        free(j);
        return 1;
    }
    const char *path = optind < argc ? argv[optind] : ".";
    if (!realpath(path, j->dir)) {
        fprintf(stderr, "astrid-build: %s: %s\n", path, strerror(errno));
        free(j);
        return 1;
    }
    char tmp[PATH_MAX] = "";
    if ((rc = read_manifest(j)) != 0 || find_sdk(j, sdk) != 0) {
        rc = rc ? rc : 1;
        goto done;
    }
    char src[PATH_MAX + 8];
    collect_sources(j, j->dir);
    snprintf(src, sizeof src, "%s/src", j->dir);
    collect_sources(j, src);
    if (j->nsources == 0) {
        fprintf(stderr, "astrid-build: %s: no C sources (*.c in the directory or src/)\n", j->dir);
        rc = 1;
        goto done;
    }
    snprintf(j->out, sizeof j->out, "%s", out ? out : "");
    if (!out)
        snprintf(j->out, sizeof j->out, "%.4000s/dist", j->dir);
    astrid_err err;
    if (astrid_mkdir_p(j->out, 0755, 0, &err) != 0) {
        fprintf(stderr, "astrid-build: %s\n", err.msg);
        rc = 1;
        goto done;
    }
    snprintf(tmp, sizeof tmp, "%s/.astrid-build-XXXXXX", j->out);
    if (!mkdtemp(tmp)) {
        fprintf(stderr, "astrid-build: mkdtemp in %s: %s\n", j->out, strerror(errno));
        tmp[0] = '\0';
        rc = 1;
        goto done;
    }
    char wasm[PATH_MAX + 300];
    snprintf(wasm, sizeof wasm, "%s/%s", tmp, j->wasm_name);
    fprintf(stderr, "  Compiling %s v%s (%zu source%s + SDK) -> %s\n", j->name, j->version,
            j->nsources, j->nsources == 1 ? "" : "s", j->wasm_name);
    if ((rc = compile(j, tmp, wasm)) != 0) {
        rc = 1;
        goto done;
    }
    char capsule[PATH_MAX + 200];
    snprintf(capsule, sizeof capsule, "%s/%s.capsule", j->out, j->name);
    fprintf(stderr, "  Packing %s\n", capsule);
    if (astrid_build_pack(j->dir, wasm, j->wasm_name, j->wit, capsule, &err) != 0) {
        fprintf(stderr, "astrid-build: %s\n", err.msg);
        rc = 1;
        goto done;
    }
    printf("%s\n", capsule);
done:
    if (tmp[0]) {
        char w2[PATH_MAX + 300];
        snprintf(w2, sizeof w2, "%s/%s", tmp, j->wasm_name);
        unlink(w2);
        snprintf(w2, sizeof w2, "%s/include/astrid_imports.h", tmp);
        unlink(w2);
        snprintf(w2, sizeof w2, "%s/include", tmp);
        rmdir(w2);
        rmdir(tmp);
    }
    for (size_t i = 0; i < j->nsources; i++)
        free(j->sources[i]);
    free(j);
    return rc;
}
