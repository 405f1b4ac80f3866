/* `astrid setup`'s plan for hosts this machine is not: AppArmor restricting
 * unprivileged user namespaces (Ubuntu 23.10+), the Debian switch,
 * user.max_user_namespaces=0, bwrap missing, and what no command fixes.
 * The host-reading half is tests/integration/sandbox_setup.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/setup.h"

static char *fix_text(const cli_setup_facts *f, size_t *nsteps)
{
    cli_setup_step steps[CLI_SETUP_MAX_STEPS];
    size_t n = cli_setup_plan(f, steps);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    cli_setup_print_fix(out, f, steps, n);
    fclose(out);
    *nsteps = n;
    return buf;
}

static cli_setup_facts broken_userns(void)
{
    cli_setup_facts f = {.apparmor_restricts = -1,
                         .max_user_namespaces = 63000,
                         .unprivileged_userns_clone = -1,
                         .profile_loaded = -1};
    f.probe.bwrap_found = true;
    snprintf(f.probe.bwrap_path, sizeof f.probe.bwrap_path, "/usr/bin/bwrap");
    f.probe.seccomp_ok = true;
    f.probe.apparmor_restricts = false;
    return f;
}

static void test_apparmor_recipe(void **state)
{
    (void)state;
    cli_setup_facts f = broken_userns();
    f.apparmor_restricts = 1;
    f.profile_loaded = 0;
    size_t n;
    char *t = fix_text(&f, &n);
    assert_int_equal(n, 1);
    assert_string_equal(t, "\nTo fix:\n"
                           "  # install the narrow AppArmor profile (only adds `userns,`)\n"
                           "  TMPFILE=$(mktemp)\n"
                           "  astrid setup --print-apparmor > \"$TMPFILE\"\n"
                           "  sudo install -m 644 \"$TMPFILE\" /etc/apparmor.d/astrid\n"
                           "  sudo apparmor_parser -r /etc/apparmor.d/astrid\n"
                           "  sudo aa-status | grep astrid\n"
                           "  # (or, host-wide: sudo sysctl -w "
                           "kernel.apparmor_restrict_unprivileged_userns=0)\n");
    free(t);
    /* as root, no sudo */
    f.root = true;
    t = fix_text(&f, &n);
    assert_non_null(strstr(t, "\n  install -m 644 \"$TMPFILE\" /etc/apparmor.d/astrid\n"));
    assert_null(strstr(t, "sudo"));
    free(t);
    /* profile unknown (no securityfs) still gets the recipe; loaded does not */
    f.profile_loaded = -1;
    t = fix_text(&f, &n);
    assert_int_equal(n, 1);
    free(t);
    f.profile_loaded = 1;
    t = fix_text(&f, &n);
    assert_int_equal(n, 0);
    free(t);
}

static void test_sysctl_steps(void **state)
{
    (void)state;
    cli_setup_facts f = broken_userns();
    f.max_user_namespaces = 0;
    f.unprivileged_userns_clone = 0;
    size_t n;
    char *t = fix_text(&f, &n);
    assert_int_equal(n, 2);
    assert_non_null(strstr(t, "\n  sudo sysctl -w user.max_user_namespaces=15000\n"));
    assert_non_null(strstr(t, "\n  sudo sysctl -w kernel.unprivileged_userns_clone=1\n"));
    assert_null(strstr(t, "apparmor"));
    free(t);
}

static void test_bwrap_missing_and_unfixable(void **state)
{
    (void)state;
    cli_setup_facts f = broken_userns();
    f.probe.bwrap_found = false;
    f.apparmor_restricts = 1; /* irrelevant until bwrap exists */
    size_t n;
    char *t = fix_text(&f, &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(t, "# install bubblewrap\n  sudo "));
    assert_non_null(strstr(t, "bubblewrap\n"));
    free(t);
    /* userns fails for a reason no sysctl here explains: nothing to run */
    f = broken_userns();
    t = fix_text(&f, &n);
    assert_int_equal(n, 0);
    free(t);
    /* namespaces fine, seccomp missing: nothing this tool can run */
    f = broken_userns();
    f.probe.userns_ok = true;
    f.probe.seccomp_ok = false;
    f.max_user_namespaces = 0;
    t = fix_text(&f, &n);
    assert_int_equal(n, 0);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apparmor_recipe),
        cmocka_unit_test(test_sysctl_steps),
        cmocka_unit_test(test_bwrap_missing_and_unfixable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
