/* listener: a run loop serving run/capsule-listener.sock. Each frame a
 * client sends comes back as {"echo": <the frame's text>}; a frame "bye"
 * closes the stream from our side. */
#include <astrid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NET(name) __attribute__((import_module("astrid:capsule/net@0.1.0"), import_name(name)))
NET("net-bind-unix") extern void net_bind(unsigned long long h, void *ret);
NET("net-poll-accept") extern void net_poll_accept(unsigned long long h, void *ret);
NET("net-read") extern void net_read(unsigned long long h, void *ret);
NET("net-write") extern void net_write(unsigned long long h, const void *d, size_t n, void *ret);
NET("net-close-stream") extern void net_close(unsigned long long h, void *ret);

static unsigned int u32(const unsigned char *p)
{
    unsigned int v;
    memcpy(&v, p, 4);
    return v;
}

static void loop(void)
{
    _Alignas(8) unsigned char ret[32];
    net_bind(1, ret);
    if (ret[0]) {
        astrid_logf(ASTRID_LOG_ERROR, "bind: %.*s", (int)u32(ret + 12),
                    (const char *)(size_t)u32(ret + 8));
        return;
    }
    unsigned long long lh;
    memcpy(&lh, ret + 8, 8);
    astrid_log(ASTRID_LOG_INFO, "listening");
    astrid_signal_ready();
    unsigned long long streams[8] = {0};
    for (;;) {
        net_poll_accept(lh, ret);
        if (!ret[0] && ret[8]) {
            unsigned long long s;
            memcpy(&s, ret + 16, 8);
            for (int i = 0; i < 8; i++)
                if (!streams[i]) {
                    streams[i] = s;
                    break;
                }
            astrid_logf(ASTRID_LOG_INFO, "client %llu", s);
        }
        for (int i = 0; i < 8; i++) {
            if (!streams[i])
                continue;
            net_read(streams[i], ret);
            if (ret[0] || ret[4] == 1) {
                streams[i] = 0;
                continue;
            }
            if (ret[4] != 0)
                continue; /* pending */
            char *data = (char *)(size_t)u32(ret + 8);
            unsigned int n = u32(ret + 12);
            if (n == 3 && memcmp(data, "bye", 3) == 0) {
                net_close(streams[i], ret);
                streams[i] = 0;
            } else {
                char out[4200];
                int k = snprintf(out, sizeof out, "{\"echo\":\"%.*s\"}", n > 4000 ? 4000 : (int)n,
                                 data);
                net_write(streams[i], out, (size_t)k, ret);
            }
            free(data);
        }
    }
}
ASTRID_RUN(loop)
