/* nouserns: run a command as a non-root user in a world without user
 * namespaces, to test the REQUIRED policy for real (issue #14, Tests).
 *
 *   nouserns UID -- command args...
 *
 * Needs real root. A child unshares a user + mount namespace; the parent
 * (root of the initial namespace, so allowed to) maps uids and gids
 * 0..65535 one to one; the child, root of its namespace, sets
 * user.max_user_namespaces to 0 there (the limit is per namespace and
 * inherited by every namespace below, so the host is untouched), drops to
 * UID and executes the command: any further unshare(CLONE_NEWUSER) fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int put(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: nouserns UID -- command args...\n");
        return 2;
    }
    uid_t uid = (uid_t)atoi(argv[1]);
    int go[2];
    if (pipe(go) < 0)
        return 2;
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(go[1]);
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
            perror("nouserns: unshare");
            _exit(2);
        }
        /* tell the parent (via our exit of the read) to write the maps */
        if (read(go[0], &c, 1) != 1)
            _exit(2);
        if (put("/proc/sys/user/max_user_namespaces", "0") < 0) {
            perror("nouserns: user.max_user_namespaces");
            _exit(2);
        }
        if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
            setresuid(uid, uid, uid) < 0) {
            perror("nouserns: drop to uid");
            _exit(2);
        }
        execvp(argv[3], &argv[3]);
        perror("nouserns: exec");
        _exit(127);
    }
    close(go[0]);
    /* Wait until the child is in its namespace: its uid_map becomes
     * writable once /proc/PID/ns/user differs from ours. */
    char path[64], mine[64] = "", theirs[64] = "";
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
    for (int i = 0; i < 5000; i++) {
        ssize_t a = readlink("/proc/self/ns/user", mine, sizeof mine - 1);
        ssize_t b = readlink(path, theirs, sizeof theirs - 1);
        if (a > 0 && b > 0) {
            mine[a] = theirs[b] = '\0';
            if (strcmp(mine, theirs) != 0)
                break;
        }
        usleep(1000);
    }
    char map[64];
    snprintf(map, sizeof map, "/proc/%d/uid_map", (int)pid);
    int rc1 = put(map, "0 0 65536\n");
    snprintf(map, sizeof map, "/proc/%d/gid_map", (int)pid);
    int rc2 = put(map, "0 0 65536\n");
    if (rc1 < 0 || rc2 < 0) {
        perror("nouserns: writing the id maps");
        kill(pid, 9);
    }
    (void)!write(go[1], "g", 1);
    close(go[1]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
