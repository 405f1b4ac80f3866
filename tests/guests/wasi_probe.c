/* WASI probe guest (wasm32-wasi): exercises args, environ, clocks, random,
 * files under the /data preopen and two escape attempts, printing one line
 * per check for test_wasm_wasi, then exits with code 7. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    printf("argc=%d argv1=%s\n", argc, argc > 1 ? argv[1] : "-");
    const char *v = getenv("GREETING");
    printf("env=%s secret=%s\n", v ? v : "-", getenv("SECRET") ? "leaked" : "absent");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("clock=%s\n", ts.tv_sec > 1600000000 ? "ok" : "bad");
    unsigned char r1[16] = {0}, r2[16] = {0};
    arc4random_buf(r1, sizeof r1);
    arc4random_buf(r2, sizeof r2);
    printf("random=%s\n", memcmp(r1, r2, 16) ? "ok" : "bad");
    FILE *f = fopen("/data/out.txt", "w");
    printf("create=%s\n", f ? "ok" : strerror(errno));
    if (f) {
        fputs("written by guest", f);
        fclose(f);
    }
    char buf[64] = {0};
    f = fopen("/data/out.txt", "r");
    if (f) {
        fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
    }
    printf("readback=%s\n", buf);
    printf("mkdir=%s\n", mkdir("/data/sub", 0700) == 0 ? "ok" : strerror(errno));
    printf("rename=%s\n", rename("/data/out.txt", "/data/sub/moved.txt") == 0 ? "ok" : "bad");
    struct stat st;
    printf("stat=%s size=%lld\n", stat("/data/sub/moved.txt", &st) == 0 ? "ok" : "bad",
           (long long)st.st_size);
    int n = 0;
    DIR *d = opendir("/data/sub");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.')
                n++;
        closedir(d);
    }
    printf("readdir=%d\n", n);
    printf("escape_dotdot=%s\n", fopen("/data/../outside.txt", "r") ? "LEAKED" : "denied");
    printf("escape_symlink=%s\n", fopen("/data/link/outside.txt", "r") ? "LEAKED" : "denied");
    printf("unlink=%s\n", unlink("/data/sub/moved.txt") == 0 ? "ok" : "bad");
    fprintf(stderr, "to stderr\n");
    fflush(stdout);
    exit(7);
}
