/* `astrid-build hash`: a drop-in for `b3sum FILE...` (b3sum 1.2.0 output,
 * error lines and exit codes), over libastrid's BLAKE3. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astrid/blake3.h"
#include "build/build_cmds.h"

#define READ_BLOCK (1u << 20)
/* Same bound as b3sum's -l in practice: keep the hex line allocatable. */
#define MAX_OUT_LEN (1ull << 30)

typedef struct {
    int no_names, raw, keyed;
    const char *derive_ctx;
    uint64_t out_len;
    uint8_t key[ASTRID_BLAKE3_KEY_LEN];
} hash_opts;

static void usage(FILE *f)
{
    fputs("Usage: astrid-build hash [--no-names] [-l LEN] [--raw] [--keyed] "
          "[--derive-key CONTEXT] [FILE]...\n"
          "Print BLAKE3 sums like b3sum. With no FILE, or when FILE is -, read "
          "standard input.\n",
          f);
}

/* Rust's errors read "msg (os error N)"; b3sum prints them that way. */
static void file_error(const char *name, int e)
{
    fprintf(stderr, "astrid-build: %s: %s (os error %d)\n", name, strerror(e), e);
}

static int hash_fd(int fd, astrid_blake3_hasher *h, uint8_t *buf)
{
    for (;;) {
        ssize_t n = read(fd, buf, READ_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n == 0)
            return 0;
        astrid_blake3_update(h, buf, (size_t)n);
    }
}

/* Length of the valid UTF-8 sequence at s (0 if invalid), with the prefix
 * length `*bad` to replace otherwise — Rust's from_utf8_lossy rules, which
 * b3sum applies to file names. */
static size_t utf8_seq(const unsigned char *s, size_t left, size_t *bad)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else {
        *bad = 1;
        return 0;
    }
    size_t i = 1;
    for (; i < need; i++) {
        unsigned char l = i == 1 ? lo : 0x80, u = i == 1 ? hi : 0xBF;
        if (i >= left || s[i] < l || s[i] > u) {
            *bad = i;
            return 0;
        }
    }
    return need;
}

/* b3sum escapes '\\' and '\n' in names and then marks the line with a
 * leading backslash; returns whether the name needed escaping. */
static int needs_escape(const char *name)
{
    return strchr(name, '\\') || strchr(name, '\n');
}

static void print_name(const char *name)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t left = strlen(name);
    while (left > 0) {
        size_t bad = 0, n = utf8_seq(s, left, &bad);
        if (n == 0) {
            fputs("\xEF\xBF\xBD", stdout);
            s += bad;
            left -= bad;
            continue;
        }
        if (n == 1 && *s == '\\')
            fputs("\\\\", stdout);
        else if (n == 1 && *s == '\n')
            fputs("\\n", stdout);
        else
            fwrite(s, 1, n, stdout);
        s += n;
        left -= n;
    }
}

static void print_sum(const hash_opts *o, const astrid_blake3_hasher *h, const char *name)
{
    static const char digits[] = "0123456789abcdef";
    uint8_t out[64];
    uint64_t done = 0;
    int esc = !o->no_names && !o->raw && needs_escape(name);
    if (esc)
        putchar('\\');
    while (done < o->out_len) {
        size_t n = o->out_len - done < sizeof out ? (size_t)(o->out_len - done) : sizeof out;
        astrid_blake3_finalize_seek(h, done, out, n);
        if (o->raw) {
            fwrite(out, 1, n, stdout);
        } else {
            for (size_t i = 0; i < n; i++) {
                putchar(digits[out[i] >> 4]);
                putchar(digits[out[i] & 15]);
            }
        }
        done += n;
    }
    if (o->raw)
        return;
    if (!o->no_names) {
        fputs("  ", stdout);
        print_name(name);
    }
    putchar('\n');
}

static void init_hasher(const hash_opts *o, astrid_blake3_hasher *h)
{
    if (o->keyed)
        astrid_blake3_init_keyed(h, o->key);
    else if (o->derive_ctx)
        astrid_blake3_init_derive_key(h, o->derive_ctx);
    else
        astrid_blake3_init(h);
}

static int hash_one(const hash_opts *o, const char *name, uint8_t *buf)
{
    int is_stdin = strcmp(name, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        file_error(name, errno);
        return 1;
    }
    astrid_blake3_hasher h;
    init_hasher(o, &h);
    int e = hash_fd(fd, &h, buf);
    if (!is_stdin)
        close(fd);
    if (e != 0) {
        file_error(name, e);
        return 1;
    }
    print_sum(o, &h, name);
    /* Keep stdout and stderr lines in b3sum's order when both go to one pipe. */
    fflush(stdout);
    return 0;
}

/* --keyed: exactly 32 raw key bytes on stdin, as b3sum requires. */
static int read_key(hash_opts *o)
{
    size_t got = 0;
    uint8_t extra;
    while (got < sizeof o->key) {
        ssize_t n = read(STDIN_FILENO, o->key + got, sizeof o->key - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got != sizeof o->key || read(STDIN_FILENO, &extra, 1) != 0) {
        fputs("astrid-build: key must be exactly 32 bytes on standard input\n", stderr);
        return -1;
    }
    return 0;
}

static int parse_len(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > MAX_OUT_LEN)
        return -1;
    *out = v;
    return 0;
}

int astrid_build_cmd_hash(int argc, char **argv)
{
    hash_opts o = {.out_len = ASTRID_BLAKE3_OUT_LEN};
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    if (!files) {
        fputs("astrid-build: out of memory\n", stderr);
        return 1;
    }
    int nfiles = 0, only_files = 0, rc = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (only_files || a[0] != '-' || strcmp(a, "-") == 0) {
            files[nfiles++] = a;
        } else if (strcmp(a, "--") == 0) {
            only_files = 1;
        } else if (strcmp(a, "--no-names") == 0) {
            o.no_names = 1;
        } else if (strcmp(a, "--raw") == 0) {
            o.raw = 1;
        } else if (strcmp(a, "--keyed") == 0) {
            o.keyed = 1;
        } else if (strcmp(a, "--no-mmap") == 0) {
            /* We always stream with read(); nothing to turn off. */
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            goto out;
        } else if (strcmp(a, "-l") == 0 || strcmp(a, "--length") == 0 ||
                   strncmp(a, "--length=", 9) == 0 || strncmp(a, "-l", 2) == 0) {
            val = strncmp(a, "--length=", 9) == 0 ? a + 9
                  : (a[1] == 'l' && a[2])         ? a + 2
                  : i + 1 < argc                  ? argv[++i]
                                                  : NULL;
            if (parse_len(val, &o.out_len) != 0) {
                fputs("astrid-build: Failed to parse length.\n", stderr);
                rc = 1;
                goto out;
            }
        } else if (strcmp(a, "--derive-key") == 0 && i + 1 < argc) {
            o.derive_ctx = argv[++i];
        } else if (strcmp(a, "--num-threads") == 0 && i + 1 < argc) {
            i++; /* Single-threaded by design; accepted for b3sum compatibility. */
        } else if (strcmp(a, "-c") == 0 || strcmp(a, "--check") == 0 || strcmp(a, "--quiet") == 0) {
            fprintf(stderr, "astrid-build: hash %s is not built yet (use b3sum --check)\n", a);
            rc = 2;
            goto out;
        } else {
            fprintf(stderr, "astrid-build: hash: unexpected argument '%s'\n", a);
            usage(stderr);
            rc = 1;
            goto out;
        }
    }
    if (o.keyed && o.derive_ctx) {
        fputs("astrid-build: --keyed and --derive-key cannot be used together\n", stderr);
        rc = 1;
        goto out;
    }
    if (nfiles == 0)
        files[nfiles++] = "-";
    if (o.raw && nfiles > 1) {
        fputs("Error: Only one filename can be provided when using --raw\n", stderr);
        rc = 1;
        goto out;
    }
    if (o.keyed && read_key(&o) != 0) {
        rc = 1;
        goto out;
    }
    uint8_t *buf = malloc(READ_BLOCK);
    if (!buf) {
        fputs("astrid-build: out of memory\n", stderr);
        rc = 1;
        goto out;
    }
    for (int i = 0; i < nfiles; i++)
        if (hash_one(&o, files[i], buf) != 0)
            rc = 1;
    free(buf);
out:
    if (fflush(stdout) != 0 && rc == 0)
        rc = 1;
    free(files);
    return rc;
}
