/* `astrid-build hash`: BLAKE3 sums with exactly b3sum's output format, so
 * operators can check content-addressed blobs with either tool.
 *   HEX  NAME            one line per input ("-" or no FILE: stdin)
 *   \HEX  ESCAPED        when NAME holds '\' or '\n' (escaped as \\ and \n)
 * Errors go to stderr as "astrid-build hash: NAME: reason (os error N)";
 * the exit code is 1 when any input failed. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "build/build_cmds.h"

#define READ_BLOCK (1u << 20)

typedef struct hash_opts {
    bool no_names;
    bool raw;
    size_t length;
    const char *derive_key;
    bool keyed;
    uint8_t key[ASTRID_BLAKE3_KEY_LEN];
} hash_opts;

static void usage(FILE *f)
{
    fprintf(f, "Usage: astrid-build hash [OPTIONS] [FILE]...\n"
               "Print BLAKE3 sums, in the same format as b3sum. With no FILE, or when FILE\n"
               "is -, read standard input.\n\n"
               "Options:\n"
               "  -l, --length LEN        output bytes before hex encoding (default 32)\n"
               "      --no-names          omit file names\n"
               "      --raw               write raw output bytes (one input only)\n"
               "      --derive-key CTX    key derivation mode with context CTX\n"
               "      --keyed             keyed mode; the 32-byte key is read from stdin\n"
               "  -h, --help              this help\n");
}

static int hash_fd(int fd, const hash_opts *o, uint8_t *out)
{
    astrid_blake3_hasher h;
    if (o->derive_key)
        astrid_blake3_init_derive_key(&h, o->derive_key);
    else if (o->keyed)
        astrid_blake3_init_keyed(&h, o->key);
    else
        astrid_blake3_init(&h);
    uint8_t *buf = malloc(READ_BLOCK);
    if (!buf)
        return ENOMEM;
    for (;;) {
        ssize_t n = read(fd, buf, READ_BLOCK);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            return e;
        }
        if (n == 0)
            break;
        astrid_blake3_update(&h, buf, (size_t)n);
    }
    free(buf);
    astrid_blake3_finalize(&h, out, o->length);
    return 0;
}

static void print_name(const char *name)
{
    for (const char *p = name; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", stdout);
        else if (*p == '\n')
            fputs("\\n", stdout);
        else
            putchar(*p);
    }
}

static int hash_one(const char *name, const hash_opts *o)
{
    int fd = 0;
    bool is_stdin = strcmp(name, "-") == 0;
    if (!is_stdin) {
        fd = open(name, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            fprintf(stderr, "astrid-build hash: %s: %s (os error %d)\n", name, strerror(e), e);
            return 1;
        }
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            fprintf(stderr, "astrid-build hash: %s: %s (os error %d)\n", name, strerror(EISDIR),
                    EISDIR);
            close(fd);
            return 1;
        }
    }
    uint8_t *out = calloc(o->length ? o->length : 1, 1);
    int e = out ? hash_fd(fd, o, out) : ENOMEM;
    if (!is_stdin)
        close(fd);
    if (e != 0) {
        fprintf(stderr, "astrid-build hash: %s: %s (os error %d)\n", name, strerror(e), e);
        free(out);
        return 1;
    }
    if (o->raw) {
        fwrite(out, 1, o->length, stdout);
        free(out);
        return 0;
    }
    bool escape = !o->no_names && (strchr(name, '\\') || strchr(name, '\n'));
    if (escape)
        putchar('\\');
    for (size_t i = 0; i < o->length; i++)
        printf("%02x", out[i]);
    if (!o->no_names) {
        fputs("  ", stdout);
        print_name(name);
    }
    putchar('\n');
    free(out);
    return 0;
}

int astrid_build_cmd_hash(int argc, char **argv)
{
    enum { OPT_NO_NAMES = 256, OPT_RAW, OPT_DERIVE, OPT_KEYED, OPT_CHECK };
    static const struct option longs[] = {
        {"length", required_argument, NULL, 'l'},
        {"no-names", no_argument, NULL, OPT_NO_NAMES},
        {"raw", no_argument, NULL, OPT_RAW},
        {"derive-key", required_argument, NULL, OPT_DERIVE},
        {"keyed", no_argument, NULL, OPT_KEYED},
        {"check", no_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    hash_opts o = {.length = ASTRID_BLAKE3_OUT_LEN};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "l:ch", longs, NULL)) != -1) {
        switch (c) {
        case 'l': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || *end || end == optarg || v > (1ull << 30)) {
                fprintf(stderr, "astrid-build hash: invalid --length '%s'\n", optarg);
                return 1;
            }
            o.length = (size_t)v;
            break;
        }
        case OPT_NO_NAMES:
            o.no_names = true;
            break;
        case OPT_RAW:
            o.raw = true;
            break;
        case OPT_DERIVE:
            o.derive_key = optarg;
            break;
        case OPT_KEYED:
            o.keyed = true;
            break;
        case 'c':
            fprintf(stderr, "astrid-build hash: --check is not available in this release "
                            "(use b3sum --check)\n");
            return 2;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (o.keyed && o.derive_key) {
        fprintf(stderr, "astrid-build hash: --keyed and --derive-key cannot be combined\n");
        return 1;
    }
    int nfiles = argc - optind;
    if (o.keyed) {
        size_t got = fread(o.key, 1, sizeof o.key, stdin);
        int extra = getc(stdin);
        if (got != sizeof o.key || extra != EOF) {
            fprintf(stderr, "astrid-build hash: --keyed needs exactly 32 key bytes on stdin\n");
            return 1;
        }
        for (int i = optind; i < argc; i++)
            if (strcmp(argv[i], "-") == 0) {
                fprintf(stderr, "astrid-build hash: stdin carries the key with --keyed\n");
                return 1;
            }
        if (nfiles == 0) {
            fprintf(stderr, "astrid-build hash: --keyed needs FILE arguments\n");
            return 1;
        }
    }
    if (o.raw && nfiles > 1) {
        fprintf(stderr, "astrid-build hash: --raw allows only one input\n");
        return 1;
    }
    int rc = 0;
    if (nfiles == 0)
        rc |= hash_one("-", &o);
    for (int i = optind; i < argc; i++)
        rc |= hash_one(argv[i], &o);
    if (fflush(stdout) != 0)
        rc = 1;
    return rc;
}
