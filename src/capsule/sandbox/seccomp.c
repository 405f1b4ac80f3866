/* The seccomp filter bwrap installs just before it executes the program
 * (`--seccomp FD`). Default allow, a deny list of the calls a tool never
 * needs and an attacker does (docs/sandbox.md, "Seccomp"). Denied calls fail
 * with EPERM rather than killing the process, so a well-behaved program can
 * fall back and the escape tests can see the exact errno. Syscalls of a
 * foreign architecture (i386 int 0x80 on x86_64) kill: libseccomp's
 * bad-arch action, since the list only names native numbers. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capsule/sandbox/sandbox.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Denied outright. Names, so a syscall this libseccomp does not know on
 * this architecture is skipped (it cannot be called either). */
static const char *const denied[] = {
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "quotactl_fd",
    "open_by_handle_at",
    "name_to_handle_at",
    "lookup_dcookie",
    "syslog",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "iopl",
    "ioperm",
    "vhangup",
    "nfsservctl",
    "uselib",
    "_sysctl",
    "fanotify_init",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kcmp",
    "pidfd_getfd",
};

static const unsigned long ns_flags[] = {CLONE_NEWNS,     CLONE_NEWUSER, CLONE_NEWPID,
                                         CLONE_NEWNET,    CLONE_NEWIPC,  CLONE_NEWUTS,
                                         CLONE_NEWCGROUP, CLONE_NEWTIME};

static int build(scmp_filter_ctx ctx, bool net)
{
    const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
    for (size_t i = 0; i < sizeof denied / sizeof *denied; i++) {
        int nr = seccomp_syscall_resolve_name(denied[i]);
        if (nr == __NR_SCMP_ERROR)
            continue;
        if (seccomp_rule_add(ctx, eperm, nr, 0) < 0)
            return -1;
    }
    /* clone(2) with any namespace flag; plain fork/thread clones pass. */
    for (size_t i = 0; i < sizeof ns_flags / sizeof *ns_flags; i++)
        if (seccomp_rule_add(ctx, eperm, SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i])) < 0)
            return -1;
    /* clone3 passes its flags in memory a filter cannot read: ENOSYS makes
     * glibc and other runtimes fall back to clone(2), which is checked. */
    if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) < 0)
        return -1;
    /* Pushing input into the controlling terminal; ioctl's request is an
     * int, so only the low 32 bits are compared. */
    if (seccomp_rule_add(ctx, eperm, SCMP_SYS(ioctl), 1,
                         SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI)) < 0 ||
        seccomp_rule_add(ctx, eperm, SCMP_SYS(ioctl), 1,
                         SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX)) < 0)
        return -1;
    /* Without network, only AF_UNIX sockets (the empty network namespace
     * already has no route; this makes the refusal immediate and visible,
     * and closes AF_NETLINK/AF_PACKET/AF_VSOCK too). */
    if (!net &&
        seccomp_rule_add(ctx, eperm, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_NE, AF_UNIX)) < 0)
        return -1;
    return 0;
}

int astrid_sandbox_seccomp_fd(bool net, astrid_err *err)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return astrid_err_set(err, ASTRID_E_INTERNAL, "seccomp_init failed");
    int fd = -1, rc = build(ctx, net);
    if (rc < 0) {
        seccomp_release(ctx);
        return astrid_err_set(err, ASTRID_E_INTERNAL, "building the seccomp filter failed");
    }
    fd = memfd_create("astrid-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        seccomp_release(ctx);
        return astrid_err_sys(err, "memfd_create for the seccomp filter");
    }
    rc = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    if (rc < 0) {
        close(fd);
        return astrid_err_set(err, ASTRID_E_INTERNAL, "seccomp_export_bpf: %s", strerror(-rc));
    }
    /* Sealed: the child that inherits the fd cannot rewrite its filter
     * before bwrap reads it. */
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0 ||
        lseek(fd, 0, SEEK_SET) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return astrid_err_sys(err, "sealing the seccomp filter");
    }
    return fd;
}
