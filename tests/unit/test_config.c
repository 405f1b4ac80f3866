/* The layered configuration (src/lib/config, docs/config.md): merge order,
 * every type, tighten-only workspace for every tighten kind, unknown keys
 * and bad types with file:line, the environment layer, sources, show. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "lib/config/config.h"

static char dir[256], sys_p[512], home_p[512], ws_p[512];

static void put_file(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    fchmod(fd, mode);
    close(fd);
}

static int setup(void **state)
{
    (void)state;
    if (fixture_tmpdir(dir, sizeof dir, "config") != 0)
        return -1;
    snprintf(sys_p, sizeof sys_p, "%s/system.toml", dir);
    snprintf(home_p, sizeof home_p, "%s/home.toml", dir);
    snprintf(ws_p, sizeof ws_p, "%s/ws.toml", dir);
    /* the runner's own ASTRID_* must not leak into the env layer */
    for (size_t i = 0; i < astrid_config_nkeys; i++)
        unsetenv(astrid_config_schema[i].env);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < astrid_config_nkeys; i++)
        unsetenv(astrid_config_schema[i].env);
    return fixture_rmdir(dir);
}

/* Load with the given files (NULL = no such layer's file). */
static astrid_config *load(const char *sys, const char *home, const char *ws, astrid_err *err)
{
    unlink(sys_p);
    unlink(home_p);
    unlink(ws_p);
    if (sys)
        put_file(sys_p, sys, 0644);
    if (home)
        put_file(home_p, home, 0600);
    if (ws)
        put_file(ws_p, ws, 0644);
    astrid_config_paths p = {0};
    p.path[ASTRID_CFG_SYSTEM] = sys_p;
    p.path[ASTRID_CFG_HOME] = home_p;
    p.path[ASTRID_CFG_WORKSPACE] = ws_p;
    return astrid_config_load(&p, err);
}

static void expect_fail(const char *sys, const char *home, const char *ws, const char *needle)
{
    astrid_err err = {0};
    astrid_config *c = load(sys, home, ws, &err);
    if (c || !strstr(err.msg, needle))
        fail_msg("expected an error containing '%s', got %s: '%s'", needle, c ? "success" : "error",
                 err.msg);
}

static const char *src_of(const astrid_config *c, const char *key, char *buf, size_t n)
{
    const astrid_config_value *v = astrid_config_get(c, key);
    assert_non_null(v);
    astrid_config_source(v, buf, n);
    return buf;
}

static void test_defaults(void **state)
{
    (void)state;
    astrid_err err;
    astrid_config *c = load(NULL, NULL, NULL, &err);
    assert_non_null(c);
    /* §8.6 / §8.9 and the values the code used before */
    assert_int_equal(astrid_config_int(c, "security.max_argument_size"), 1048576);
    assert_true(astrid_config_float(c, "budget.session_max_usd") == 100.0);
    assert_true(astrid_config_float(c, "budget.per_action_max_usd") == 10.0);
    assert_int_equal(astrid_config_int(c, "budget.warn_at_percent"), 80);
    assert_int_equal(astrid_config_int(c, "timeouts.approval_ms"), 60000);
    assert_int_equal(astrid_config_int(c, "timeouts.headless_secs"), 120);
    assert_int_equal(astrid_config_int(c, "log.keep_days"), 7);
    assert_string_equal(astrid_config_enum(c, "sandbox.policy"), "required");
    size_t n;
    const char *const *l = astrid_config_list(c, "security.blocked_tools", &n);
    assert_int_equal(n, 10);
    assert_string_equal(l[2], "sudo");
    char b[400];
    assert_string_equal(src_of(c, "security.blocked_tools", b, sizeof b), "defaults");
    assert_false(astrid_config_layer_present(c, ASTRID_CFG_HOME));
    /* every key: the NULL config reads the same defaults as a loaded one */
    for (size_t i = 0; i < astrid_config_nkeys; i++) {
        const astrid_config_key *k = &astrid_config_schema[i];
        char dotted[128];
        snprintf(dotted, sizeof dotted, "%s.%s", k->section, k->name);
        assert_ptr_equal(astrid_config_key_find(dotted), k);
        assert_true(k->env && strncmp(k->env, "ASTRID_", 7) == 0);
        assert_true(k->doc && *k->doc);
        assert_true(astrid_config_int(NULL, dotted) == astrid_config_int(c, dotted));
        assert_true(astrid_config_bool(NULL, dotted) == astrid_config_bool(c, dotted));
        size_t n1, n2;
        astrid_config_list(NULL, dotted, &n1);
        astrid_config_list(c, dotted, &n2);
        assert_int_equal(n1, n2);
    }
    assert_null(astrid_config_key_find("security.nope"));
    assert_null(astrid_config_key_find("nodot"));
    astrid_config_free(c);
}

static void test_merge_order_and_sources(void **state)
{
    (void)state;
    astrid_err err;
    astrid_config *c = load("[timeouts]\napproval_ms = 50000\nheadless_secs = 100\n"
                            "[log]\nkeep_days = 3\n",
                            "# home\n[timeouts]\n\nheadless_secs = 90\n[log]\nkeep_days = 4\n",
                            "[timeouts]\nheadless_secs = 80\n", &err);
    assert_non_null(c);
    char b[600], want[600];
    /* system < home < workspace, each key from its last layer */
    assert_int_equal(astrid_config_int(c, "timeouts.approval_ms"), 50000);
    snprintf(want, sizeof want, "%s:2", sys_p);
    assert_string_equal(src_of(c, "timeouts.approval_ms", b, sizeof b), want);
    assert_int_equal(astrid_config_int(c, "log.keep_days"), 4);
    snprintf(want, sizeof want, "%s:6", home_p);
    assert_string_equal(src_of(c, "log.keep_days", b, sizeof b), want);
    assert_int_equal(astrid_config_int(c, "timeouts.headless_secs"), 80);
    snprintf(want, sizeof want, "%s:2", ws_p);
    assert_string_equal(src_of(c, "timeouts.headless_secs", b, sizeof b), want);
    assert_int_equal(astrid_config_get(c, "timeouts.headless_secs")->layer, ASTRID_CFG_WORKSPACE);
    assert_true(astrid_config_layer_present(c, ASTRID_CFG_SYSTEM));
    assert_true(astrid_config_layer_present(c, ASTRID_CFG_WORKSPACE));
    astrid_config_free(c);
    /* env wins over every file */
    setenv("ASTRID_HEADLESS_TIMEOUT_SECS", "7", 1);
    c = load(NULL, "[timeouts]\nheadless_secs = 90\n", "[timeouts]\nheadless_secs = 80\n", &err);
    assert_non_null(c);
    assert_int_equal(astrid_config_int(c, "timeouts.headless_secs"), 7);
    assert_string_equal(src_of(c, "timeouts.headless_secs", b, sizeof b),
                        "env ASTRID_HEADLESS_TIMEOUT_SECS");
    astrid_config_free(c);
    unsetenv("ASTRID_HEADLESS_TIMEOUT_SECS");
    /* a label names the real file (config edit validates a temp copy) */
    put_file(home_p, "[log]\nkeep_days = 2\n", 0600);
    astrid_config_paths p = {0};
    p.path[ASTRID_CFG_HOME] = home_p;
    p.label[ASTRID_CFG_HOME] = "/real/config.toml";
    p.no_env = true;
    c = astrid_config_load(&p, &err);
    assert_non_null(c);
    assert_string_equal(src_of(c, "log.keep_days", b, sizeof b), "/real/config.toml:2");
    astrid_config_free(c);
}

static void test_types(void **state)
{
    (void)state;
    astrid_err err;
    astrid_config *c =
        load(NULL,
             "[budget]\nsession_max_usd = 5\nper_action_max_usd = 0.5\n"
             "[security]\nrequire_approval_for_network = false\nblocked_capsules = [\"evil\"]\n"
             "[sandbox]\npolicy = \"off\"\n",
             NULL, &err);
    assert_non_null(c);
    assert_true(astrid_config_float(c, "budget.session_max_usd") == 5.0); /* integer as number */
    assert_true(astrid_config_float(c, "budget.per_action_max_usd") == 0.5);
    assert_false(astrid_config_bool(c, "security.require_approval_for_network"));
    size_t n;
    const char *const *l = astrid_config_list(c, "security.blocked_capsules", &n);
    assert_int_equal(n, 1);
    assert_string_equal(l[0], "evil");
    assert_string_equal(astrid_config_enum(c, "sandbox.policy"), "off");
    astrid_config_free(c);
    /* wrong types and ranges name the key and file:line */
    char want[600];
    snprintf(want, sizeof want, "%s:3: timeouts.approval_ms must be an integer, not a string",
             home_p);
    expect_fail(NULL, "# x\n[timeouts]\napproval_ms = \"soon\"\n", NULL, want);
    snprintf(want, sizeof want, "%s:2: timeouts.approval_ms must be in 1..86400000, not 0", home_p);
    expect_fail(NULL, "[timeouts]\napproval_ms = 0\n", NULL, want);
    expect_fail(NULL, "[timeouts]\napproval_ms = 1.5\n", NULL, "must be an integer, not a float");
    expect_fail(NULL, "[budget]\nsession_max_usd = -1\n", NULL,
                "budget.session_max_usd must be in 0..1e+09, not -1");
    expect_fail(NULL, "[budget]\nsession_max_usd = nan\n", NULL, "budget.session_max_usd");
    expect_fail(NULL, "[budget]\nsession_max_usd = \"5\"\n", NULL, "must be a number");
    expect_fail(NULL, "[security]\nrequire_approval_for_network = 1\n", NULL,
                "security.require_approval_for_network must be a boolean, not an integer");
    expect_fail(NULL, "[security]\nblocked_tools = \"sudo\"\n", NULL,
                "security.blocked_tools must be an array of strings, not a string");
    expect_fail(NULL, "[security]\nblocked_tools = [\"sudo\", 3]\n", NULL,
                "element 2 is an integer");
    expect_fail(NULL, "[security]\nblocked_tools = [\"\"]\n", NULL, "non-empty string");
    expect_fail(NULL, "[sandbox]\npolicy = \"OFF\"\n", NULL,
                "sandbox.policy must be one of \"required\", \"off\", not \"OFF\"");
    expect_fail(NULL, "[security]\nblocked_tools = [\"a\\u0000b\"]\n", NULL,
                "must not contain a NUL character");
}

static void test_unknown_and_syntax(void **state)
{
    (void)state;
    char want[600];
    snprintf(want, sizeof want, "%s:4: unknown key 'security.max_arg_size'", home_p);
    expect_fail(NULL, "[security]\nmax_argument_size = 5\n\nmax_arg_size = 5\n", NULL, want);
    snprintf(want, sizeof want, "%s:2: unknown key 'securty'", ws_p);
    expect_fail(NULL, NULL, "# typo\n[securty]\nmax_argument_size = 5\n", want);
    snprintf(want, sizeof want, "%s:1: unknown key 'verbose'", sys_p);
    expect_fail("verbose = true\n", NULL, NULL, want);
    expect_fail(NULL, "security = 5\n", NULL, "[security] must be a table, not an integer");
    expect_fail(NULL, "[security.max_argument_size]\n", NULL,
                "security.max_argument_size must be an integer, not a table");
    snprintf(want, sizeof want, "%s: line 2", home_p);
    expect_fail(NULL, "[log]\nkeep_days = = 3\n", NULL, want);
    /* dotted keys and inline tables are the same keys */
    astrid_err err;
    astrid_config *c =
        load(NULL, "log.keep_days = 2\nbudget = {warn_at_percent = 50}\n", NULL, &err);
    assert_non_null(c);
    assert_int_equal(astrid_config_int(c, "log.keep_days"), 2);
    assert_int_equal(astrid_config_int(c, "budget.warn_at_percent"), 50);
    astrid_config_free(c);
}

/* A workspace value accepted over `home`, and one refused with `needle`. */
static void tight(const char *home, const char *ok_ws, const char *bad_ws, const char *needle)
{
    astrid_err err;
    astrid_config *c = load(NULL, home, ok_ws, &err);
    if (!c)
        fail_msg("tightening '%s' refused: %s", ok_ws, err.msg);
    astrid_config_free(c);
    expect_fail(NULL, home, bad_ws, needle);
}

static void test_tighten_only(void **state)
{
    (void)state;
    char want[700];
    /* lower is tighter; the message has both values and where the base is from */
    snprintf(want, sizeof want,
             "%s:2: workspace config may only tighten security.max_argument_size: 10 > 5 "
             "(from %s:2)",
             ws_p, home_p);
    tight("[security]\nmax_argument_size = 5\n", "[security]\nmax_argument_size = 4\n",
          "[security]\nmax_argument_size = 10\n", want);
    tight(NULL, "[timeouts]\napproval_ms = 1000\n", "[timeouts]\napproval_ms = 60001\n",
          "timeouts.approval_ms: 60001 > 60000 (from defaults)");
    tight(NULL, "[budget]\nwarn_at_percent = 50\n", "[budget]\nwarn_at_percent = 90\n",
          "budget.warn_at_percent: 90 > 80");
    /* 0 = unlimited is the loosest budget; anything tightens an unlimited one */
    tight(NULL, "[budget]\nsession_max_usd = 5\n", "[budget]\nsession_max_usd = 0\n",
          "budget.session_max_usd: 0 (unlimited) > 100 (from defaults)");
    tight(NULL, "[budget]\nper_action_max_usd = 1.5\n", "[budget]\nper_action_max_usd = 11\n",
          "budget.per_action_max_usd: 11 > 10");
}

static void test_tighten_kinds(void **state)
{
    (void)state;
    /* workspace_max_usd defaults to 0 (unlimited): any value tightens it */
    astrid_err err;
    astrid_config *c = load(NULL, NULL, "[budget]\nworkspace_max_usd = 3\n", &err);
    assert_non_null(c);
    astrid_config_free(c);
    tight("[budget]\nworkspace_max_usd = 3\n", "[budget]\nworkspace_max_usd = 2\n",
          "[budget]\nworkspace_max_usd = 0\n", "workspace_max_usd: 0 (unlimited) > 3");
    /* deny-lists: keep every entry, may add */
    tight(NULL,
          "[security]\ndenied_hosts = [\"evil.example\"]\nblocked_tools = [\"rm -rf /\", "
          "\"rm -rf /*\", \"sudo\", \"su\", \"mkfs\", \"dd\", \"chmod 777\", \"shutdown\", "
          "\"reboot\", \"init\", \"curl\"]\n",
          "[security]\nblocked_tools = [\"curl\"]\n",
          "security.blocked_tools: it drops \"rm -rf /\" of [");
    tight("[security]\ndenied_paths = [\"/srv/**\"]\n",
          "[security]\ndenied_paths = [\"/srv/**\", \"/opt/**\"]\n",
          "[security]\ndenied_paths = [\"/opt/**\"]\n", "it drops \"/srv/**\"");
    /* allow-lists: [] is "anything"; a list may only shrink */
    c = load(NULL, NULL, "[security]\nallowed_hosts = [\"a.example\"]\n", &err);
    assert_non_null(c); /* [] (the default) is the loosest: anything tightens it */
    astrid_config_free(c);
    c = load(NULL, NULL, "[security]\nallowed_hosts = []\n", &err);
    assert_non_null(c);
    astrid_config_free(c);
}

static void test_tighten_allow_lists(void **state)
{
    (void)state;
    const char *home = "[security]\nallowed_hosts = [\"a.example\", \"b.example\"]\n";
    tight(home, "[security]\nallowed_hosts = [\"b.example\"]\n",
          "[security]\nallowed_hosts = [\"b.example\", \"c.example\"]\n",
          "security.allowed_hosts: \"c.example\" is not in [\"a.example\", \"b.example\"]");
    expect_fail(NULL, home, "[security]\nallowed_hosts = []\n",
                "security.allowed_hosts: [] (anything) is looser than");
    tight("[security]\nallowed_paths = [\"/work/**\"]\n",
          "[security]\nallowed_paths = [\"/work/**\"]\n", "[security]\nallowed_paths = [\"/\"]\n",
          "\"/\" is not in [\"/work/**\"]");
    /* bool: true is tighter */
    tight(NULL, "[security]\nrequire_approval_for_network = true\n",
          "[security]\nrequire_approval_for_network = false\n",
          "security.require_approval_for_network: false is looser than true (from defaults)");
    astrid_err err;
    astrid_config *c = load(NULL, "[security]\nrequire_approval_for_network = false\n",
                            "[security]\nrequire_approval_for_network = true\n", &err);
    assert_non_null(c);
    astrid_config_free(c);
    /* enum: strictest first */
    tight(NULL, "[sandbox]\npolicy = \"required\"\n", "[sandbox]\npolicy = \"off\"\n",
          "sandbox.policy: \"off\" is looser than \"required\"");
    c = load(NULL, "[sandbox]\npolicy = \"off\"\n", "[sandbox]\npolicy = \"required\"\n", &err);
    assert_non_null(c);
    assert_string_equal(astrid_config_enum(c, "sandbox.policy"), "required");
    astrid_config_free(c);
    /* operator settings: a workspace may not set them at all */
    expect_fail(NULL, NULL, "[log]\nkeep_days = 1\n",
                "workspace config may not set log.keep_days (an operator setting");
    expect_fail(NULL, NULL, "[mcp]\nrestart_max_attempts = 0\n",
                "may not set mcp.restart_max_attempts");
    /* the base a workspace is held to includes the system layer */
    expect_fail("[timeouts]\napproval_ms = 1000\n", NULL, "[timeouts]\napproval_ms = 2000\n",
                "2000 > 1000 (from");
    /* ...and a refused workspace leaves nothing half-applied: the whole load fails */
}

static void test_env_layer(void **state)
{
    (void)state;
    astrid_err err;
    setenv("ASTRID_SECURITY_DENIED_HOSTS", " a.example, ,b.example ,", 1);
    setenv("ASTRID_SECURITY_REQUIRE_APPROVAL_FOR_NETWORK", "false", 1);
    setenv("ASTRID_BUDGET_SESSION_MAX_USD", "2.5", 1);
    setenv("ASTRID_SANDBOX_POLICY", " Off ", 1);
    setenv("ASTRID_LOG_KEEP_DAYS", "", 1); /* empty = unset */
    /* the env layer is the operator's: it may loosen what a workspace set */
    astrid_config *c = load(NULL, NULL, "[security]\nrequire_approval_for_network = true\n", &err);
    assert_non_null(c);
    size_t n;
    const char *const *l = astrid_config_list(c, "security.denied_hosts", &n);
    assert_int_equal(n, 2);
    assert_string_equal(l[0], "a.example");
    assert_string_equal(l[1], "b.example");
    assert_false(astrid_config_bool(c, "security.require_approval_for_network"));
    assert_true(astrid_config_float(c, "budget.session_max_usd") == 2.5);
    assert_string_equal(astrid_config_enum(c, "sandbox.policy"), "off");
    assert_int_equal(astrid_config_int(c, "log.keep_days"), 7);
    assert_true(astrid_config_layer_present(c, ASTRID_CFG_ENV));
    astrid_config_free(c);
    for (size_t i = 0; i < astrid_config_nkeys; i++)
        unsetenv(astrid_config_schema[i].env);
    /* bad values name the variable (and the key) */
    static const char *const bad[] = {"0", "-5", "10s", "99999999", " 5", "+5", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("ASTRID_HEADLESS_TIMEOUT_SECS", bad[i], 1);
        expect_fail(NULL, NULL, NULL,
                    "ASTRID_HEADLESS_TIMEOUT_SECS must be a whole number in 1..86400");
    }
    unsetenv("ASTRID_HEADLESS_TIMEOUT_SECS");
    setenv("ASTRID_SANDBOX_POLICY", "disabled", 1);
    expect_fail(NULL, NULL, NULL,
                "ASTRID_SANDBOX_POLICY=\"disabled\": unknown policy (accepted: \"required\" (the "
                "default) or \"off\")");
    unsetenv("ASTRID_SANDBOX_POLICY");
    setenv("ASTRID_SECURITY_REQUIRE_APPROVAL_FOR_NETWORK", "maybe", 1);
    expect_fail(NULL, NULL, NULL,
                "ASTRID_SECURITY_REQUIRE_APPROVAL_FOR_NETWORK must be true or false");
    unsetenv("ASTRID_SECURITY_REQUIRE_APPROVAL_FOR_NETWORK");
    setenv("ASTRID_BUDGET_PER_ACTION_MAX_USD", "inf", 1);
    expect_fail(NULL, NULL, NULL, "ASTRID_BUDGET_PER_ACTION_MAX_USD must be a number");
    unsetenv("ASTRID_BUDGET_PER_ACTION_MAX_USD");
}

static void test_files_refused(void **state)
{
    (void)state;
    astrid_err err = {0};
    astrid_config_paths p = {0};
    p.no_env = true;
    /* a home config others may write could be loosened by them */
    put_file(home_p, "[log]\nkeep_days = 1\n", 0666);
    chmod(home_p, 0666);
    p.path[ASTRID_CFG_HOME] = home_p;
    assert_null(astrid_config_load(&p, &err));
    assert_non_null(strstr(err.msg, "not writable by others"));
    /* a directory, a FIFO (must not block), an oversized file */
    p.path[ASTRID_CFG_HOME] = dir;
    assert_null(astrid_config_load(&p, &err));
    assert_non_null(strstr(err.msg, "not a regular file"));
    char fifo[600];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    p.path[ASTRID_CFG_HOME] = fifo;
    assert_null(astrid_config_load(&p, &err));
    assert_non_null(strstr(err.msg, "not a regular file"));
    unlink(fifo);
    char big[600];
    snprintf(big, sizeof big, "%s/big.toml", dir);
    int fd = open(big, O_WRONLY | O_CREAT, 0600);
    assert_int_equal(ftruncate(fd, ASTRID_CONFIG_MAX_BYTES + 1), 0);
    close(fd);
    p.path[ASTRID_CFG_HOME] = big;
    assert_null(astrid_config_load(&p, &err));
    assert_non_null(strstr(err.msg, "over the 1048576-byte limit"));
    /* missing files are absent layers; a workspace under a file is too */
    char ws[700];
    snprintf(ws, sizeof ws, "%s/config.toml", big);
    p.path[ASTRID_CFG_HOME] = NULL;
    p.path[ASTRID_CFG_WORKSPACE] = ws;
    astrid_config *c = astrid_config_load(&p, &err);
    assert_non_null(c);
    assert_false(astrid_config_layer_present(c, ASTRID_CFG_WORKSPACE));
    astrid_config_free(c);
    unlink(big);
}

static void test_show(void **state)
{
    (void)state;
    astrid_err err;
    setenv("ASTRID_APPROVAL_TIMEOUT_MS", "5000", 1);
    astrid_config *c = load(NULL, "[security]\ndenied_hosts = [\"x\\\"y\"]\n", NULL, &err);
    assert_non_null(c);
    char *t = astrid_config_show_toml(c, NULL, &err);
    assert_non_null(t);
    char want[700];
    snprintf(want, sizeof want, "denied_hosts = [\"x\\\"y\"]  # from %s:2\n", home_p);
    assert_non_null(strstr(t, want));
    assert_non_null(strstr(t, "approval_ms = 5000  # from env ASTRID_APPROVAL_TIMEOUT_MS\n"));
    assert_non_null(strstr(t, "[budget]\nsession_max_usd = 100.0  # from defaults\n"));
    free(t);
    t = astrid_config_show_toml(c, "log", &err);
    assert_non_null(t);
    assert_int_equal(strncmp(t, "[log]\n", 6), 0);
    assert_null(strstr(t, "[security]"));
    free(t);
    assert_null(astrid_config_show_toml(c, "nope", &err));
    assert_int_equal(err.code, ASTRID_E_NOTFOUND);
    json_t *j = astrid_config_show_json(c, "timeouts", &err);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 1);
    json_t *v = json_object_get(json_object_get(j, "timeouts"), "approval_ms");
    assert_int_equal(json_integer_value(json_object_get(v, "value")), 5000);
    assert_string_equal(json_string_value(json_object_get(v, "source")),
                        "env ASTRID_APPROVAL_TIMEOUT_MS");
    json_decref(j);
    assert_null(astrid_config_show_json(c, "nope", &err));
    astrid_config_free(c);
    unsetenv("ASTRID_APPROVAL_TIMEOUT_MS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_order_and_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tighten_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tighten_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tighten_allow_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_layer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_show, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
