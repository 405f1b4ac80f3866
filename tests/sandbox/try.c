/* try: attempt ONE thing and report the exact outcome, in the style of
 * bubblewrap's try-syscall tests. Run inside the sandbox by
 * tests/integration/sandbox_escape.sh through build/tests/sandbox_driver.
 *
 *   try <what> [arg]   prints "<what>: ok" (exit 0) or "<what>: <ERRNO>" (exit 1)
 *
 * Built without sanitizers (mk/sandbox.mk): LeakSanitizer stops the world
 * with ptrace, which the sandbox refuses by design. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errname(int e)
{
    switch (e) {
    case EPERM:
        return "EPERM";
    case ENOENT:
        return "ENOENT";
    case EACCES:
        return "EACCES";
    case EROFS:
        return "EROFS";
    case ENOSYS:
        return "ENOSYS";
    case EINVAL:
        return "EINVAL";
    case ENOTTY:
        return "ENOTTY";
    case EBADF:
        return "EBADF";
    case ENETUNREACH:
        return "ENETUNREACH";
    case EAFNOSUPPORT:
        return "EAFNOSUPPORT";
    case ESRCH:
        return "ESRCH";
    case EUSERS:
        return "EUSERS";
    case ENOSPC:
        return "ENOSPC";
    case ENOTDIR:
        return "ENOTDIR";
    case EEXIST:
        return "EEXIST";
    default:
        return "OTHER";
    }
}

static int report(const char *what, long rc)
{
    if (rc >= 0) {
        printf("%s: ok\n", what);
        return 0;
    }
    int e = errno;
    printf("%s: %s\n", what, errname(e));
    if (!strcmp(errname(e), "OTHER"))
        printf("(errno %d %s)\n", e, strerror(e));
    return 1;
}

static long do_read(const char *path)
{
    char buf[64];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    long n = read(fd, buf, sizeof buf);
    int e = errno;
    close(fd);
    errno = e;
    return n;
}

static long do_write(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    long n = write(fd, "pwned\n", 6);
    int e = errno;
    close(fd);
    errno = e;
    return n;
}

static long do_ls(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n > 2 ? n : (errno = ENOENT, -1); /* only . and ..: nothing of the host */
}

static long do_ptrace(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    long rc = ptrace(PTRACE_ATTACH, pid, NULL, NULL);
    int e = errno;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    errno = e;
    return rc;
}

static long do_clone_ns(void)
{
    /* raw clone(2) with CLONE_NEWNS: the filter's flag check, not unshare's. */
    long rc = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, NULL, NULL, NULL, 0);
    if (rc == 0)
        _exit(0);
    if (rc > 0)
        waitpid((pid_t)rc, NULL, 0);
    return rc;
}

static long do_perf(void)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_CPU_CLOCK;
    return syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: try <what> [arg]\n");
        return 2;
    }
    const char *w = argv[1], *arg = argc > 2 ? argv[2] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(w, "read"))
        return report(w, do_read(arg));
    if (!strcmp(w, "write"))
        return report(w, do_write(arg));
    if (!strcmp(w, "ls"))
        return report(w, do_ls(arg));
    if (!strcmp(w, "ptrace"))
        return report(w, do_ptrace());
    if (!strcmp(w, "mount"))
        return report(w, mount("none", "/tmp", "tmpfs", 0, NULL));
    if (!strcmp(w, "unshare-user"))
        return report(w, unshare(CLONE_NEWUSER));
    if (!strcmp(w, "unshare-net"))
        return report(w, unshare(CLONE_NEWNET));
    if (!strcmp(w, "clone-newns"))
        return report(w, do_clone_ns());
    if (!strcmp(w, "tiocsti")) {
        char c = 'x';
        return report(w, ioctl(0, TIOCSTI, &c));
    }
    if (!strcmp(w, "socket-inet"))
        return report(w, socket(AF_INET, SOCK_STREAM, 0));
    if (!strcmp(w, "socket-unix"))
        return report(w, socket(AF_UNIX, SOCK_STREAM, 0));
    if (!strcmp(w, "keyctl"))
        return report(w, syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
    if (!strcmp(w, "bpf"))
        return report(w, syscall(SYS_bpf, 0, NULL, 0));
    if (!strcmp(w, "userfaultfd"))
        return report(w, syscall(SYS_userfaultfd, 0));
    if (!strcmp(w, "io_uring")) {
        char params[120];
        memset(params, 0, sizeof params);
        return report(w, syscall(SYS_io_uring_setup, 4, params));
    }
    if (!strcmp(w, "perf"))
        return report(w, do_perf());
    if (!strcmp(w, "env")) {
        const char *v = getenv(arg);
        printf("env %s=%s\n", arg, v ? v : "(unset)");
        return 0;
    }
    if (!strcmp(w, "fds")) {
        /* Nothing but 0-2 may reach the program: a leaked directory fd of
         * the host (a bind source, the daemon's state) escapes the mount
         * namespace through openat(fd, ".."). */
        DIR *d = opendir("/proc/self/fd");
        int extra = 0;
        struct dirent *e;
        while (d && (e = readdir(d)))
            if (e->d_name[0] != '.' && atoi(e->d_name) > 2 && atoi(e->d_name) != dirfd(d))
                extra++;
        if (d)
            closedir(d);
        printf("fds: %s\n", d && !extra ? "only 0-2" : "LEAKED");
        return extra ? 1 : 0;
    }
    if (!strcmp(w, "pwd")) {
        char b[4096];
        printf("pwd: %s\n", getcwd(b, sizeof b) ? b : "?");
        return 0;
    }
    if (!strcmp(w, "sleep")) {
        /* marker for the parent-death test: the test finds us by argv. */
        sleep((unsigned)atoi(arg[0] ? arg : "60"));
        return 0;
    }
    fprintf(stderr, "try: unknown test %s\n", w);
    return 2;
}
