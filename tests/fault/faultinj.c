/* faultinj: an LD_PRELOAD shim that fails (or kills the process at) the
 * N-th call of one I/O or allocation function, for the fault sweep
 * (tests/fault/sweep.sh, docs/testing.md "Fault injection").
 *
 *   ASTRID_FAULT=call:N:what   call is write, pwrite, fsync, fdatasync,
 *                              rename, open, openat, msync, ftruncate or
 *                              malloc (pwrite64, renameat(2), open64 ...
 *                              count as their family); N counts from 1; what is an errno
 *                              name (EIO, ENOSPC, ENOMEM, ...) or KILL
 *                              (raise SIGKILL instead of making the call)
 *   ASTRID_FAULT_COUNT=file    at exit, write "call count" lines to file
 *   ASTRID_FAULT_PROG=name     act only in a program whose argv[0] ends
 *                              in /name (default: every program)
 *   ASTRID_FAULT_ARM=accept    count (and fault) nothing until the process
 *                              accepts its first connection, so N covers
 *                              the operation a client asks for, not boot;
 *                              ASTRID_FAULT_COUNT then holds the counts as
 *                              of the latest accept after that one (a run
 *                              ended by `astrid stop` counts up to the
 *                              stop's connection), not those at exit
 *
 * write, pwrite, fsync, fdatasync and ftruncate count only on files and
 * directories, not on sockets, pipes or eventfds (see is_file).
 * Only the first matching process counts: its pid is exported as
 * ASTRID_FAULT_PID, so programs it runs (cc, wasm2c, bwrap, ...) and the
 * children it forks leave everything alone; the sweep is about the state
 * one process writes.
 *
 * The counters are process-global by nature (an interposed libc function
 * has no context to hang them on) and atomic, because the daemon calls
 * these from many threads. Built without sanitizers: under ASan it is
 * preloaded after libasan (see sweep.sh), whose interceptors then call it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

enum {
    K_WRITE,
    K_PWRITE,
    K_FSYNC,
    K_FDATASYNC,
    K_RENAME,
    K_OPEN,
    K_OPENAT,
    K_MSYNC,
    K_FTRUNCATE,
    K_MALLOC,
    K_N
};
static const char *const kind_names[K_N] = {"write", "pwrite", "fsync", "fdatasync", "rename",
                                            "open",  "openat", "msync", "ftruncate", "malloc"};

static atomic_ulong counts[K_N];
static int active;            /* this process counts and faults */
static pid_t owner;           /* its pid: a forked child has another */
static int fault_kind = -1;   /* which call to fail */
static unsigned long fault_n; /* at which count */
static int fault_errno;       /* 0: raise SIGKILL */
static char count_file[4096];
static atomic_int fired;
static int arm_on_accept; /* ASTRID_FAULT_ARM=accept */
static atomic_int armed;  /* the first connection has been accepted */

static const struct {
    const char *name;
    int value;
} errnos[] = {{"EIO", EIO},       {"ENOSPC", ENOSPC}, {"ENOMEM", ENOMEM}, {"EDQUOT", EDQUOT},
              {"EACCES", EACCES}, {"EROFS", EROFS},   {"EINTR", EINTR},   {"EMFILE", EMFILE},
              {"EFBIG", EFBIG},   {"EPERM", EPERM}};

/* Writes to stderr with the raw syscall: the shim must not recurse into
 * its own write or allocate. */
static void say(const char *msg)
{
    syscall(SYS_write, 2, msg, strlen(msg));
}

static int prog_matches(const char *want)
{
    char buf[4096];
    int fd = (int)syscall(SYS_open, "/proc/self/cmdline", O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    ssize_t n = syscall(SYS_read, fd, buf, sizeof buf - 1);
    syscall(SYS_close, fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *base = strrchr(buf, '/');
    base = base ? base + 1 : buf;
    return strcmp(base, want) == 0;
}

__attribute__((constructor)) static void faultinj_init(void)
{
    const char *pid = getenv("ASTRID_FAULT_PID");
    if (pid && *pid)
        return; /* a descendant of the process under test */
    const char *prog = getenv("ASTRID_FAULT_PROG");
    if (prog && *prog && !prog_matches(prog))
        return;
    char me[32];
    snprintf(me, sizeof me, "%ld", (long)getpid());
    setenv("ASTRID_FAULT_PID", me, 1);
    /* Programs the process runs get neither the shim nor (under ASan) the
     * preloaded libasan, which a child under an address-space rlimit
     * cannot even start with. */
    unsetenv("LD_PRELOAD");
    owner = getpid();
    const char *cf = getenv("ASTRID_FAULT_COUNT");
    if (cf)
        snprintf(count_file, sizeof count_file, "%s", cf);
    const char *spec = getenv("ASTRID_FAULT");
    if (spec && *spec) {
        char call[32] = "", what[32] = "";
        unsigned long n = 0;
        const char *c1 = strchr(spec, ':');
        const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        char *end = NULL;
        if (c1 && c2 && (size_t)(c1 - spec) < sizeof call && strlen(c2 + 1) < sizeof what) {
            memcpy(call, spec, (size_t)(c1 - spec));
            call[c1 - spec] = '\0';
            snprintf(what, sizeof what, "%s", c2 + 1);
            errno = 0;
            n = strtoul(c1 + 1, &end, 10);
        }
        if (!end || end != c2 || errno != 0 || n == 0 || c1[1] == '-') {
            say("faultinj: ASTRID_FAULT must be call:N:ERRNO|KILL\n");
            _exit(97);
        }
        for (int i = 0; i < K_N; i++)
            if (strcmp(call, kind_names[i]) == 0)
                fault_kind = i;
        int found = strcmp(what, "KILL") == 0;
        for (size_t i = 0; !found && i < sizeof errnos / sizeof *errnos; i++)
            if (strcmp(what, errnos[i].name) == 0) {
                fault_errno = errnos[i].value;
                found = 1;
            }
        if (fault_kind < 0 || !found) {
            say("faultinj: unknown call or errno in ASTRID_FAULT\n");
            _exit(97);
        }
        fault_n = n;
    }
    const char *arm = getenv("ASTRID_FAULT_ARM");
    if (arm && *arm) {
        if (strcmp(arm, "accept") != 0) {
            say("faultinj: ASTRID_FAULT_ARM must be accept\n");
            _exit(97);
        }
        arm_on_accept = 1;
    }
    active = 1;
}

/* Raw syscalls and a stack buffer: this runs at exit and, armed, inside
 * accept on the daemon's event loop, where it must neither recurse into the
 * shim nor allocate. */
static void write_counts(void)
{
    char buf[1024];
    size_t o = 0;
    for (int i = 0; i < K_N; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s %lu\n", kind_names[i],
                              atomic_load(&counts[i]));
    int fd = (int)syscall(SYS_open, count_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        syscall(SYS_write, fd, buf, o);
        syscall(SYS_close, fd);
    }
}

__attribute__((destructor)) static void faultinj_fini(void)
{
    if (!active || !count_file[0] || getpid() != owner || arm_on_accept)
        return;
    write_counts();
}

/* 0: make the call; -1: fail it (errno set). Kills the process when so
 * asked. A forked child carries the parent's state but not its pid. */
static int faultinj_hit(int kind)
{
    if (!active || getpid() != owner)
        return 0;
    if (arm_on_accept && !atomic_load(&armed))
        return 0;
    unsigned long n = atomic_fetch_add(&counts[kind], 1) + 1;
    if (kind != fault_kind || n != fault_n)
        return 0;
    atomic_store(&fired, 1);
    if (fault_errno == 0) {
        say("faultinj: SIGKILL\n");
        raise(SIGKILL);
    }
    errno = fault_errno;
    return -1;
}

/* A regular file or a directory (whose fsync makes a rename durable).
 * Disk faults are the sweep's subject: a write to a socket, pipe or
 * eventfd fails otherwise (EPIPE, EAGAIN), and libuv rightly aborts on an
 * eventfd write that cannot fail. Those calls are neither counted nor
 * failed, which also keeps the counts independent of client timing. The
 * raw syscall, so the check itself is not interposed. */
static int is_file(int fd)
{
    struct stat st;
    return syscall(SYS_fstat, fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
}

#define REAL(name)                                                                                 \
    static __typeof__(name) *real_##name;                                                          \
    if (!real_##name)                                                                              \
        real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(write);
    /* stderr carries the sanitizers' and the daemon's own reports */
    if (fd != 2 && is_file(fd) && faultinj_hit(K_WRITE))
        return -1;
    return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    REAL(pwrite);
    if (is_file(fd) && faultinj_hit(K_PWRITE))
        return -1;
    return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    REAL(pwrite64);
    if (is_file(fd) && faultinj_hit(K_PWRITE))
        return -1;
    return real_pwrite64(fd, buf, n, off);
}

int fsync(int fd)
{
    REAL(fsync);
    if (is_file(fd) && faultinj_hit(K_FSYNC))
        return -1;
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(fdatasync);
    if (is_file(fd) && faultinj_hit(K_FDATASYNC))
        return -1;
    return real_fdatasync(fd);
}

int msync(void *addr, size_t len, int flags)
{
    REAL(msync);
    if (faultinj_hit(K_MSYNC))
        return -1;
    return real_msync(addr, len, flags);
}

int ftruncate(int fd, off_t len)
{
    REAL(ftruncate);
    if (is_file(fd) && faultinj_hit(K_FTRUNCATE))
        return -1;
    return real_ftruncate(fd, len);
}

int ftruncate64(int fd, off_t len)
{
    REAL(ftruncate64);
    if (is_file(fd) && faultinj_hit(K_FTRUNCATE))
        return -1;
    return real_ftruncate64(fd, len);
}

int rename(const char *from, const char *to)
{
    REAL(rename);
    if (faultinj_hit(K_RENAME))
        return -1;
    return real_rename(from, to);
}

int renameat(int fd1, const char *from, int fd2, const char *to)
{
    REAL(renameat);
    if (faultinj_hit(K_RENAME))
        return -1;
    return real_renameat(fd1, from, fd2, to);
}

int renameat2(int fd1, const char *from, int fd2, const char *to, unsigned int flags)
{
    REAL(renameat2);
    if (faultinj_hit(K_RENAME))
        return -1;
    return real_renameat2(fd1, from, fd2, to, flags);
}

static mode_t open_mode(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    REAL(open);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = open_mode(flags, ap);
    va_end(ap);
    if (faultinj_hit(K_OPEN))
        return -1;
    return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    REAL(open64);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = open_mode(flags, ap);
    va_end(ap);
    if (faultinj_hit(K_OPEN))
        return -1;
    return real_open64(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    REAL(openat);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = open_mode(flags, ap);
    va_end(ap);
    if (faultinj_hit(K_OPENAT))
        return -1;
    return real_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    REAL(openat64);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = open_mode(flags, ap);
    va_end(ap);
    if (faultinj_hit(K_OPENAT))
        return -1;
    return real_openat64(dirfd, path, flags, mode);
}

/* A connection accepted: arms the counters (the first), or records the
 * counts so far (every later one). Failed accepts (EAGAIN ending libuv's
 * accept loop) are not connections. */
static void accepted(int fd)
{
    if (fd < 0 || !active || !arm_on_accept || getpid() != owner)
        return;
    int was = 0;
    if (atomic_compare_exchange_strong(&armed, &was, 1))
        return;
    if (count_file[0])
        write_counts();
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    REAL(accept);
    int r = real_accept(fd, addr, len);
    int saved = errno;
    accepted(r);
    errno = saved;
    return r;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    REAL(accept4);
    int r = real_accept4(fd, addr, len, flags);
    int saved = errno;
    accepted(r);
    errno = saved;
    return r;
}

/* malloc through glibc's own entry point: dlsym may allocate, and
 * __libc_malloc needs no lookup. Under ASan the binary's malloc is
 * libasan's and never reaches here; the sweep says so. */
extern void *__libc_malloc(size_t);
void *malloc(size_t n)
{
    if (active && faultinj_hit(K_MALLOC))
        return NULL;
    return __libc_malloc(n);
}
