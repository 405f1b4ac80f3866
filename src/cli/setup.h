/* `astrid setup`'s plan (cmd_setup.c), apart from the host it reads so the
 * recipes for hosts this machine is not (AppArmor restricting user
 * namespaces, bwrap missing) are testable: facts in, steps and text out.
 * Plain data, nothing allocated. */
#ifndef ASTRID_CLI_SETUP_H
#define ASTRID_CLI_SETUP_H

#include <stdbool.h>
#include <stdio.h>

#include "astrid/sandbox_probe.h"

typedef struct cli_setup_facts {
    astrid_sandbox_probe probe;
    long apparmor_restricts;        /* kernel.apparmor_restrict_unprivileged_userns, -1 absent */
    long max_user_namespaces;       /* user.max_user_namespaces, -1 absent */
    long unprivileged_userns_clone; /* kernel.unprivileged_userns_clone (Debian), -1 absent */
    int profile_loaded;             /* the `astrid` AppArmor profile: 1, 0, -1 cannot tell */
    bool root;                      /* commands run without sudo */
} cli_setup_facts;

#define CLI_SETUP_MAX_STEPS 4
typedef struct cli_setup_step {
    const char *say; /* what it fixes (static text) */
    char cmd[256];   /* the command, without sudo */
    bool apparmor;   /* the profile recipe (a temp file, install, apparmor_parser) */
} cli_setup_step;

/* The steps that would make the probe pass; 0 when nothing this tool can
 * run fixes it (or nothing is broken). */
size_t cli_setup_plan(const cli_setup_facts *f, cli_setup_step steps[CLI_SETUP_MAX_STEPS]);
/* "To fix:" and the exact command lines, sudo-prefixed unless root. */
void cli_setup_print_fix(FILE *out, const cli_setup_facts *f, const cli_setup_step *steps,
                         size_t n);

#endif
