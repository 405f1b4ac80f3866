/* astrid-daemon — the kernel. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/jsonsafe.h"
#include "astrid/uuid.h"
#include "astrid/version.h"
#include "kernel/kernel.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: astrid-daemon [OPTIONS]\n\n"
               "The Astrid kernel: one per $ASTRID_HOME (default ~/.astrid).\n\n"
               "Options:\n"
               "      --ephemeral        exit 30 s after the last client leaves\n"
               "                         (ASTRID_IDLE_TIMEOUT_SECS overrides; persistent mode\n"
               "                         only shuts down when idle if that variable is set)\n"
               "  -s, --session UUID     session id (default nil UUID)\n"
               "  -w, --workspace PATH   workspace root (default: current directory)\n"
               "  -v, --verbose          also log to stderr\n"
               "  -h, --help             this help\n"
               "  -V, --version          print the version\n");
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"ephemeral", no_argument, NULL, 'e'},
        {"session", required_argument, NULL, 's'},
        {"workspace", required_argument, NULL, 'w'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    /* Before any thread decodes: jansson must not see a NULL while
     * lexing (astrid/jsonsafe.h). */
    astrid_json_install_alloc(malloc);
    astrid_kernel_opts o = {0};
    char session[ASTRID_UUID_STR_LEN];
    int c;
    while ((c = getopt_long(argc, argv, "s:w:vhV", longs, NULL)) != -1) {
        switch (c) {
        case 'e':
            o.ephemeral = true;
            break;
        case 's':
            if (!astrid_uuid_parse(optarg, session)) {
                fprintf(stderr, "astrid-daemon: --session '%s' is not a UUID\n", optarg);
                return 1;
            }
            o.session = session;
            break;
        case 'w':
            o.workspace = optarg;
            break;
        case 'v':
            o.verbose = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("astrid-daemon %s\n", ASTRID_VERSION);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "astrid-daemon: unexpected argument '%s'\n", argv[optind]);
        return 1;
    }
    static astrid_kernel k; /* the one kernel of this process */
    astrid_err err;
    if (astrid_kernel_boot(&k, &o, &err) != 0) {
        fprintf(stderr, "astrid-daemon: %s\n", err.msg);
        if (k.log)
            astrid_klog(&k, "ERROR", "boot failed: %s", err.msg);
        return 1;
    }
    return astrid_kernel_run(&k);
}
