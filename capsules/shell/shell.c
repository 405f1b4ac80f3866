/* astrid-capsule-shell: run_shell_command. Every command goes through
 * request-approval first (the host's allowances may answer without asking);
 * an approval that cannot be asked is a denial. Then `bash -c COMMAND`
 * through the process host function, which runs it in the sandbox; where
 * that function is not built yet its error comes back as the result. */
#include <astrid.h>
#include <astrid_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/guest.c"
#include "../common/tool.c"

#define OUT_MAX (64u << 10)

static void put(char **b, size_t *n, const char *s)
{
    size_t k = strlen(s);
    char *nb = realloc(*b, *n + k + 1);
    if (!nb)
        __builtin_trap();
    memcpy(nb + *n, s, k + 1);
    *b = nb;
    *n += k;
}

/* stream text, cut at OUT_MAX, as valid UTF-8 */
static void put_stream(char **b, size_t *n, const char *label, const char *s)
{
    size_t k = strlen(s);
    char *t = astrid_utf8_lossy(s, k > OUT_MAX ? OUT_MAX : k);
    put(b, n, label);
    put(b, n, t);
    if (k > OUT_MAX)
        put(b, n, "\n[... output cut]");
    put(b, n, "\n");
    free(t);
}

static astrid_action on_run(const astrid_event *ev, astrid_reply *out)
{
    tool_call tc;
    if (tool_begin(ev, &tc, out) != 0)
        return ASTRID_DENY;
    const char *cmd = astrid_json_get_str(tc.args, "command");
    if (!cmd || !*cmd)
        return tool_finish(&tc, "run_shell_command",
                           "run_shell_command needs {\"command\": \"...\"}", true, out);
    char *why = NULL;
    if (!tool_approve("run_shell_command", cmd, &why)) {
        astrid_action a = tool_finish(&tc, "run_shell_command", why ? why : "denied", true, out);
        free(why);
        return a;
    }
    const char *args[] = {"-c", cmd};
    char *so = NULL, *se = NULL, *err = NULL;
    int32_t code = 0;
    astrid_action a;
    if (g_spawn("bash", args, 2, &so, &se, &code, &err) != 0) {
        size_t n = strlen(err) + 64;
        char *m = malloc(n);
        if (!m)
            __builtin_trap();
        snprintf(m, n, "the command could not run: %s", err);
        a = tool_finish(&tc, "run_shell_command", m, true, out);
        free(m);
        free(err);
        return a;
    }
    char *b = NULL, head[48];
    size_t n = 0;
    snprintf(head, sizeof head, "exit code %d\n", (int)code);
    put(&b, &n, head);
    if (*so)
        put_stream(&b, &n, "stdout:\n", so);
    if (*se)
        put_stream(&b, &n, "stderr:\n", se);
    a = tool_finish(&tc, "run_shell_command", b, code != 0, out);
    free(b);
    free(so);
    free(se);
    return a;
}

static astrid_action on_describe(const astrid_event *ev, astrid_reply *out)
{
    (void)ev;
    astrid_reply_set(
        out, "{\"tools\":[{\"name\":\"run_shell_command\",\"description\":\"Run a shell command "
             "with bash -c in the workspace sandbox (asks the user for approval). Answers the "
             "exit code, stdout and stderr.\",\"input_schema\":{\"type\":\"object\","
             "\"properties\":{\"command\":{\"type\":\"string\",\"description\":\"The command "
             "line\"}},\"required\":[\"command\"]}}]}");
    return ASTRID_FINAL;
}

ASTRID_INTERCEPTOR("describe", on_describe)
ASTRID_INTERCEPTOR("run_shell_command", on_run)
