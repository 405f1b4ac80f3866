/* astrid-capsule-fs: file tools for the agent, through the invoking
 * agent's VFS only (cwd:// = the workspace, home:// = its home). The VFS
 * is the boundary: kernel state, other agents' homes and traversal are
 * refused there, and its message comes back as an is_error result. Writes
 * and edits ask request-approval first; no answer is a denial. */
#include <astrid.h>
#include <astrid_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/guest.c"
#include "../common/tool.c"

#define READ_MAX (256u << 10)
#define LIST_MAX 1000
#define SEARCH_FILES_MAX 2000
#define SEARCH_HITS_MAX 100
#define SEARCH_DEPTH 8
#define SEARCH_FILE_MAX (1u << 20)

/* A tool path as a VFS path: a scheme or absolute path as given, a
 * relative one under cwd://. Caller frees. */
static char *vpath(const char *p)
{
    if (!p || !*p || strcmp(p, ".") == 0)
        p = "cwd://";
    bool as_is = strstr(p, "://") || p[0] == '/';
    size_t n = strlen(p) + 8;
    char *o = malloc(n);
    if (!o)
        __builtin_trap();
    snprintf(o, n, "%s%s", as_is ? "" : "cwd://", p);
    return o;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2, dl = strlen(dir);
    char *o = malloc(n);
    if (!o)
        __builtin_trap();
    snprintf(o, n, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name);
    return o;
}

/* A growable text buffer for results. */
typedef struct buf {
    char *s;
    size_t n, cap;
} buf;
static void bput(buf *b, const char *s, size_t n)
{
    if (!b->s || b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s)
            __builtin_trap();
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}
static void bputs(buf *b, const char *s)
{
    bput(b, s, strlen(s));
}

static const char *arg_str(const tool_call *tc, const char *k)
{
    return astrid_json_get_str(tc->args, k);
}

static astrid_action finish_err(tool_call *tc, const char *tool, const char *what,
                                const char *detail, astrid_reply *out)
{
    size_t n = strlen(what) + strlen(detail) + 4;
    char *m = malloc(n);
    if (!m)
        __builtin_trap();
    snprintf(m, n, "%s: %s", what, detail);
    astrid_action a = tool_finish(tc, tool, m, true, out);
    free(m);
    return a;
}

static astrid_action on_read(const astrid_event *ev, astrid_reply *out)
{
    tool_call tc;
    if (tool_begin(ev, &tc, out) != 0)
        return ASTRID_DENY;
    const char *p = arg_str(&tc, "path");
    if (!p)
        return tool_finish(&tc, "read_file", "read_file needs {\"path\": \"...\"}", true, out);
    char *vp = vpath(p), *err = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    astrid_action a;
    if (g_read_file(vp, &data, &len, &err) != 0) {
        a = finish_err(&tc, "read_file", p, err, out);
        free(err);
    } else {
        bool cut = len > READ_MAX;
        char *text = astrid_utf8_lossy((const char *)data, cut ? READ_MAX : len);
        if (cut) {
            buf b = {0};
            char note[96];
            bputs(&b, text);
            snprintf(note, sizeof note, "\n[... cut: the file has %zu bytes, shown %u]", len,
                     READ_MAX);
            bputs(&b, note);
            a = tool_finish(&tc, "read_file", b.s, false, out);
            free(b.s);
        } else
            a = tool_finish(&tc, "read_file", text, false, out);
        free(text);
        free(data);
    }
    free(vp);
    return a;
}

/* Asks approval for ACTION on path p; on a denial finishes tc with the
 * reason and returns false. */
static bool approved(tool_call *tc, const char *tool, const char *p, astrid_reply *out,
                     astrid_action *a)
{
    char *why = NULL;
    if (tool_approve(tool, p, &why))
        return true;
    *a = finish_err(tc, tool, p, why ? why : "denied", out);
    free(why);
    return false;
}

static astrid_action on_write(const astrid_event *ev, astrid_reply *out)
{
    tool_call tc;
    if (tool_begin(ev, &tc, out) != 0)
        return ASTRID_DENY;
    const char *p = arg_str(&tc, "path");
    const astrid_json *c = astrid_json_get(tc.args, "content");
    if (!p || !astrid_json_is(c, ASTRID_JSON_STRING))
        return tool_finish(&tc, "write_file",
                           "write_file needs {\"path\": \"...\", \"content\": \"...\"}", true, out);
    astrid_action a;
    if (!approved(&tc, "write_file", p, out, &a))
        return a;
    char *vp = vpath(p), *err = NULL;
    if (g_write_file(vp, astrid_json_str(c), astrid_json_len(c), &err) != 0) {
        a = finish_err(&tc, "write_file", p, err, out);
        free(err);
    } else {
        char m[160];
        snprintf(m, sizeof m, "wrote %zu bytes to %.100s", astrid_json_len(c), p);
        a = tool_finish(&tc, "write_file", m, false, out);
    }
    free(vp);
    return a;
}

static astrid_action on_edit(const astrid_event *ev, astrid_reply *out)
{
    tool_call tc;
    if (tool_begin(ev, &tc, out) != 0)
        return ASTRID_DENY;
    const char *p = arg_str(&tc, "path");
    const astrid_json *o = astrid_json_get(tc.args, "old_string");
    const astrid_json *nw = astrid_json_get(tc.args, "new_string");
    bool all = astrid_json_get_bool(tc.args, "replace_all", false);
    if (!p || !astrid_json_is(o, ASTRID_JSON_STRING) || !astrid_json_is(nw, ASTRID_JSON_STRING) ||
        astrid_json_len(o) == 0)
        return tool_finish(&tc, "edit_file",
                           "edit_file needs {\"path\", \"old_string\" (non-empty), \"new_string\", "
                           "\"replace_all\"?}",
                           true, out);
    char *vp = vpath(p), *err = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    astrid_action a;
    if (g_read_file(vp, &data, &len, &err) != 0) {
        a = finish_err(&tc, "edit_file", p, err, out);
        free(err);
        free(vp);
        return a;
    }
    const char *os = astrid_json_str(o), *ns = astrid_json_str(nw);
    size_t ol = astrid_json_len(o), count = 0;
    for (const char *h = (const char *)data; (h = strstr(h, os)); h += ol)
        count++;
    if (count == 0 || (count > 1 && !all)) {
        a = finish_err(&tc, "edit_file", p,
                       count ? "old_string occurs more than once (give more context or "
                               "replace_all)"
                             : "old_string not found",
                       out);
    } else if (approved(&tc, "edit_file", p, out, &a)) {
        buf b = {0};
        const char *s = (const char *)data;
        for (const char *h; (h = strstr(s, os));) {
            bput(&b, s, (size_t)(h - s));
            bput(&b, ns, astrid_json_len(nw));
            s = h + ol;
        }
        bput(&b, s, len - (size_t)(s - (const char *)data));
        if (g_write_file(vp, b.s, b.n, &err) != 0) {
            a = finish_err(&tc, "edit_file", p, err, out);
            free(err);
        } else {
            char m[160];
            snprintf(m, sizeof m, "replaced %zu occurrence%s in %.100s", count,
                     count == 1 ? "" : "s", p);
            a = tool_finish(&tc, "edit_file", m, false, out);
        }
        free(b.s);
    }
    free(data);
    free(vp);
    return a;
}

static astrid_action on_list(const astrid_event *ev, astrid_reply *out)
{
    tool_call tc;
    if (tool_begin(ev, &tc, out) != 0)
        return ASTRID_DENY;
    const char *p = arg_str(&tc, "path");
    char *vp = vpath(p), *err = NULL, **names = NULL;
    size_t n = 0;
    astrid_action a;
    if (g_readdir(vp, &names, &n, &err) != 0) {
        a = finish_err(&tc, "list_directory", p ? p : ".", err, out);
        free(err);
    } else {
        buf b = {0};
        for (size_t i = 0; i < n && i < LIST_MAX; i++) {
            char *full = join(vp, names[i]);
            uint64_t size = 0;
            bool dir = false;
            /* an entry the VFS refuses to stat is listed by name only */
            bool known = g_stat(full, &size, &dir, NULL) == 0;
            char line[64];
            bputs(&b, names[i]);
            if (known && dir)
                bputs(&b, "/");
            else if (known) {
                snprintf(line, sizeof line, " (%llu bytes)", (unsigned long long)size);
                bputs(&b, line);
            }
            bputs(&b, "\n");
            free(full);
        }
        if (n > LIST_MAX)
            bputs(&b, "[... more entries]\n");
        a = tool_finish(&tc, "list_directory", b.s ? b.s : "(empty)", false, out);
        free(b.s);
        astrid_strv_free(names, n);
    }
    free(vp);
    return a;
}

typedef struct search {
    const char *pattern;
    buf out;
    size_t files, hits;
} search;

static void search_file(search *s, const char *path, const char *shown)
{
    uint64_t size = 0;
    bool dir = false;
    if (g_stat(path, &size, &dir, NULL) != 0 || size > SEARCH_FILE_MAX)
        return;
    uint8_t *data = NULL;
    size_t len = 0;
    if (g_read_file(path, &data, &len, NULL) != 0 || !data)
        return;
    if (memchr(data, 0, len)) { /* binary */
        free(data);
        return;
    }
    size_t line = 1;
    for (char *l = (char *)data; l && *l && s->hits < SEARCH_HITS_MAX; line++) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = '\0';
        if (strstr(l, s->pattern)) {
            char head[64];
            size_t ll = strlen(l);
            char *t = astrid_utf8_lossy(l, ll > 200 ? 200 : ll);
            snprintf(head, sizeof head, ":%zu: ", line);
            bputs(&s->out, shown);
            bputs(&s->out, head);
            bputs(&s->out, t);
            bputs(&s->out, "\n");
            free(t);
            s->hits++;
        }
        l = nl ? nl + 1 : NULL;
    }
    free(data);
}

static void walk(search *s, const char *dir, const char *shown, int depth)
{
    char **names = NULL;
    size_t n = 0;
    if (depth > SEARCH_DEPTH || g_readdir(dir, &names, &n, NULL) != 0)
        return;
    for (size_t i = 0; i < n && s->files < SEARCH_FILES_MAX && s->hits < SEARCH_HITS_MAX; i++) {
        if (names[i][0] == '.' &&
            (strcmp(names[i], ".git") == 0 || strcmp(names[i], ".astrid") == 0))
            continue;
        char *full = join(dir, names[i]);
        char *sh = *shown ? join(shown, names[i]) : strdup(names[i]);
        uint64_t size = 0;
        bool isdir = false;
        if (g_stat(full, &size, &isdir, NULL) == 0) {
            if (isdir)
                walk(s, full, sh, depth + 1);
            else {
                s->files++;
                search_file(s, full, sh);
            }
        }
        free(full);
        free(sh);
    }
    astrid_strv_free(names, n);
}

static astrid_action on_search(const astrid_event *ev, astrid_reply *out)
{
    tool_call tc;
    if (tool_begin(ev, &tc, out) != 0)
        return ASTRID_DENY;
    const char *pat = arg_str(&tc, "pattern");
    if (!pat || !*pat)
        return tool_finish(&tc, "search_files",
                           "search_files needs {\"pattern\": \"text\", \"path\"?}", true, out);
    const char *p = arg_str(&tc, "path");
    char *vp = vpath(p), *err = NULL;
    uint64_t size = 0;
    bool dir = false;
    astrid_action a;
    if (g_stat(vp, &size, &dir, &err) != 0) {
        a = finish_err(&tc, "search_files", p ? p : ".", err, out);
        free(err);
    } else {
        search s = {.pattern = pat};
        if (dir)
            walk(&s, vp, "", 0);
        else
            search_file(&s, vp, p);
        if (s.hits >= SEARCH_HITS_MAX)
            bputs(&s.out, "[... more matches]\n");
        a = tool_finish(&tc, "search_files", s.out.s ? s.out.s : "no matches", false, out);
        free(s.out.s);
    }
    free(vp);
    return a;
}

static const char *DESCRIBE =
    "{\"tools\":["
    "{\"name\":\"read_file\",\"description\":\"Read a text file in the workspace (relative path or "
    "cwd://...) or the agent's home (home://...).\",\"input_schema\":{\"type\":\"object\","
    "\"properties\":{\"path\":{\"type\":\"string\",\"description\":\"File path\"}},\"required\":["
    "\"path\"]}},"
    "{\"name\":\"write_file\",\"description\":\"Create or replace a file (asks the user for "
    "approval).\",\"input_schema\":{\"type\":\"object\",\"properties\":{\"path\":{\"type\":"
    "\"string\"},\"content\":{\"type\":\"string\"}},\"required\":[\"path\",\"content\"]}},"
    "{\"name\":\"edit_file\",\"description\":\"Replace old_string with new_string in a file (asks "
    "the user for approval); old_string must occur once unless replace_all.\",\"input_schema\":{"
    "\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},\"old_string\":{\"type\":"
    "\"string\"},\"new_string\":{\"type\":\"string\"},\"replace_all\":{\"type\":\"boolean\"}},"
    "\"required\":[\"path\",\"old_string\",\"new_string\"]}},"
    "{\"name\":\"list_directory\",\"description\":\"List a directory (default: the workspace "
    "root).\",\"input_schema\":{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\""
    "}}}},"
    "{\"name\":\"search_files\",\"description\":\"Find lines containing a text in the files under "
    "a "
    "directory (default: the workspace).\",\"input_schema\":{\"type\":\"object\",\"properties\":{"
    "\"pattern\":{\"type\":\"string\"},\"path\":{\"type\":\"string\"}},\"required\":[\"pattern\"]}}"
    "]}";

static astrid_action on_describe(const astrid_event *ev, astrid_reply *out)
{
    (void)ev;
    astrid_reply_set(out, DESCRIBE);
    return ASTRID_FINAL;
}

ASTRID_INTERCEPTOR("describe", on_describe)
ASTRID_INTERCEPTOR("read_file", on_read)
ASTRID_INTERCEPTOR("write_file", on_write)
ASTRID_INTERCEPTOR("edit_file", on_edit)
ASTRID_INTERCEPTOR("list_directory", on_list)
ASTRID_INTERCEPTOR("search_files", on_search)
