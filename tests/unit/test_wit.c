/* WIT parser and canonical ABI (include/astrid/wit.h): wit/astrid.wit
 * parses; upstream's 50 functions lower to the engine rows table.c had
 * written by hand; its results lay out as docs/abi.md's "Result layouts" table;
 * every construct parses; every error is reported with its position;
 * limits hold against hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/fs.h"
#include "astrid/wit.h"

static char *wit_text(size_t *len)
{
    const char *src = getenv("ASTRID_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/wit/astrid.wit", src ? src : ".");
    char *s = NULL;
    astrid_err err;
    if (astrid_read_file(path, ASTRID_WIT_MAX_INPUT, &s, len, &err) != 0)
        fail_msg("%s", err.msg);
    return s;
}

static astrid_wit_package *astrid_pkg(void)
{
    size_t len;
    char *s = wit_text(&len);
    astrid_err err;
    astrid_wit_package *p = astrid_wit_parse(s, len, &err);
    free(s);
    if (!p)
        fail_msg("wit/astrid.wit: %s", err.msg);
    return p;
}

static astrid_wit_package *parse_ok(const char *s)
{
    astrid_err err;
    astrid_wit_package *p = astrid_wit_parse(s, strlen(s), &err);
    if (!p)
        fail_msg("parse failed: %s\n%s", err.msg, s);
    return p;
}

/* ------------------------------------------------------------ astrid.wit */
static void astrid_wit_parses(void **state)
{
    (void)state;
    astrid_wit_package *p = astrid_pkg();
    assert_string_equal(p->ns, "astrid");
    assert_string_equal(p->name, "capsule");
    assert_string_equal(p->version, "0.1.0");
    assert_int_equal(p->nifaces, 12);
    size_t nf = 0;
    for (size_t i = 0; i < p->nifaces; i++)
        nf += p->ifaces[i]->nfuncs;
    assert_true(nf >= 50); /* upstream's (pinned below), and additions */
    const astrid_wit_world *w = astrid_wit_find_world(p, "capsule");
    assert_non_null(w);
    size_t imp = 0, exp = 0;
    for (size_t i = 0; i < w->nitems; i++) {
        if (w->items[i].is_export) {
            exp++;
            assert_non_null(w->items[i].func);
        } else {
            imp++;
            assert_non_null(w->items[i].iface);
            assert_string_equal(w->items[i].iface->name, w->items[i].name);
        }
    }
    assert_int_equal(imp, 11);
    assert_int_equal(exp, 4);
    assert_int_equal(w->nuses, 1);
    assert_string_equal(w->uses[0].def->name, "capsule-result");
    /* use resolves to the definition in `types` */
    const astrid_wit_iface *fs = astrid_wit_find_iface(p, "fs");
    const astrid_wit_typedef *st = astrid_wit_find_type(fs, "file-stat");
    assert_non_null(st);
    assert_string_equal(st->owner, "types");
    assert_int_equal(st->kind, ASTRID_WIT_RECORD);
    assert_int_equal(st->nfields, 3);
    /* plain // comments are not docs */
    assert_null(st->doc);
    const astrid_wit_typedef *cc =
        astrid_wit_find_type(astrid_wit_find_iface(p, "types"), "caller-context");
    assert_null(cc->doc);
    astrid_wit_free(p);
}

/* The engine rows table.c had written by hand before the generated glue
 * (docs/abi.md "Host functions"): the safety net of the switch-over. */
static const struct {
    const char *iface, *fn, *params, *results;
} rows[] = {
    {"fs", "fs-exists", "iii", ""},
    {"fs", "fs-mkdir", "iii", ""},
    {"fs", "fs-readdir", "iii", ""},
    {"fs", "fs-stat", "iii", ""},
    {"fs", "fs-unlink", "iii", ""},
    {"fs", "read-file", "iii", ""},
    {"fs", "write-file", "iiiii", ""},
    {"ipc", "ipc-publish", "iiiii", ""},
    {"ipc", "ipc-publish-as", "iiiiiii", ""},
    {"ipc", "ipc-subscribe", "iii", ""},
    {"ipc", "ipc-unsubscribe", "Ii", ""},
    {"ipc", "ipc-poll", "Ii", ""},
    {"ipc", "ipc-recv", "IIi", ""},
    {"ipc", "get-interceptor-handles", "i", ""},
    {"uplink", "uplink-register", "iiiiiii", ""},
    {"uplink", "uplink-send", "iiiiiii", ""},
    {"kv", "kv-get", "iii", ""},
    {"kv", "kv-set", "iiiii", ""},
    {"kv", "kv-delete", "iii", ""},
    {"kv", "kv-list-keys", "iii", ""},
    {"kv", "kv-clear-prefix", "iii", ""},
    {"net", "net-bind-unix", "Ii", ""},
    {"net", "net-accept", "Ii", ""},
    {"net", "net-poll-accept", "Ii", ""},
    {"net", "net-read", "Ii", ""},
    {"net", "net-write", "Iiii", ""},
    {"net", "net-close-stream", "Ii", ""},
    {"http", "http-request", "iiiiiiiiii", ""},
    {"http", "http-stream-start", "iiiiiiiiii", ""},
    {"http", "http-stream-read", "Ii", ""},
    {"http", "http-stream-close", "Ii", ""},
    {"sys", "get-config", "iii", ""},
    {"sys", "get-caller", "i", ""},
    {"sys", "trigger-hook", "iii", ""},
    {"sys", "log", "iii", ""},
    {"sys", "signal-ready", "", ""},
    {"sys", "clock-ms", "", "I"},
    {"sys", "check-capsule-capability", "iiiii", ""},
    {"process", "spawn", "iiiii", ""},
    {"process", "spawn-background", "iiiii", ""},
    {"process", "read-logs", "Ii", ""},
    {"process", "kill", "Ii", ""},
    {"elicit", "elicit", "iiiiiiiiiiiii", ""},
    {"elicit", "has-secret", "iii", ""},
    {"approval", "request-approval", "iiiii", ""},
    {"identity", "identity-resolve", "iiiii", ""},
    {"identity", "identity-link", "iiiiiiiii", ""},
    {"identity", "identity-unlink", "iiiii", ""},
    {"identity", "identity-create-user", "iiii", ""},
    {"identity", "identity-list-links", "iii", ""},
};

static void signatures_match_the_hand_written_rows(void **state)
{
    (void)state;
    astrid_wit_package *p = astrid_pkg();
    size_t n = 0;
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        const astrid_wit_func *f =
            astrid_wit_find_func(astrid_wit_find_iface(p, rows[i].iface), rows[i].fn);
        if (!f)
            fail_msg("%s.%s not in the WIT", rows[i].iface, rows[i].fn);
        char ps[64], rs[8];
        astrid_err err;
        assert_int_equal(astrid_wit_func_core_sig(f, ps, sizeof ps, rs, sizeof rs, &err), 0);
        if (strcmp(ps, rows[i].params) != 0 || strcmp(rs, rows[i].results) != 0)
            fail_msg("%s.%s: (%s)->(%s), table.c had (%s)->(%s)", rows[i].iface, rows[i].fn, ps, rs,
                     rows[i].params, rows[i].results);
        n++;
    }
    assert_int_equal(n, 50);
    char small[2], rs[8];
    astrid_err err;
    assert_int_equal(astrid_wit_func_core_sig(
                         astrid_wit_find_func(astrid_wit_find_iface(p, "ipc"), "ipc-publish"),
                         small, sizeof small, rs, sizeof rs, &err),
                     -1);
    assert_int_equal(err.code, ASTRID_E_LIMIT);
    astrid_wit_free(p);
}

/* Absolute offset, in a function's result, of a path below its ok
 * payload: "field", "opt?" (an option's / variant's payload), "list[]"
 * (restarts at 0 in the list's element). */
static uint32_t offset_of(const astrid_wit_type *res, const char *path, const astrid_wit_type **out)
{
    uint32_t off = astrid_wit_payload_offset(res);
    const astrid_wit_type *t = astrid_wit_unalias(res)->ok;
    char seg[128];
    while (path && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        snprintf(seg, sizeof seg, "%.*s", (int)n, path);
        path = dot ? dot + 1 : NULL;
        size_t sl = strlen(seg);
        int opt = sl && seg[sl - 1] == '?', lst = sl > 1 && strcmp(seg + sl - 2, "[]") == 0;
        if (opt)
            seg[sl - 1] = '\0';
        if (lst)
            seg[sl - 2] = '\0';
        if (*seg) {
            const astrid_wit_type *u = astrid_wit_unalias(t);
            assert_int_equal(u->kind, ASTRID_WIT_NAMED);
            size_t i = 0;
            while (i < u->def->nfields && strcmp(u->def->fields[i].name, seg) != 0)
                i++;
            if (i == u->def->nfields)
                fail_msg("no field %s", seg);
            off += astrid_wit_field_offset(u, i);
            t = u->def->fields[i].type;
        }
        if (opt) {
            const astrid_wit_type *u = astrid_wit_unalias(t);
            off += astrid_wit_payload_offset(u);
            t = u->kind == ASTRID_WIT_OPTION ? u->elem : u->def->fields[0].type;
        }
        if (lst) {
            off = 0;
            t = astrid_wit_unalias(t)->elem;
        }
    }
    if (out)
        *out = t;
    return off;
}

/* docs/abi.md "Result layouts", row by row. */
static const struct {
    const char *iface, *fn;
    uint32_t size, err_at;
    struct {
        const char *path;
        uint32_t off;
    } at[6];
    uint32_t elem_size; /* of the last list[] in the paths, 0 = none */
} layouts[] = {
    {"fs", "fs-mkdir", 12, 4, {{NULL, 0}}, 0},
    {"fs", "fs-exists", 12, 4, {{"", 4}}, 0},
    {"ipc", "ipc-subscribe", 16, 8, {{"", 8}}, 0},
    {"sys", "get-config", 12, 4, {{"", 4}}, 0},
    {"fs", "fs-readdir", 12, 4, {{"", 4}}, 0},
    {"kv", "kv-get", 16, 4, {{"", 4}, {"?", 8}}, 0},
    {"net", "net-poll-accept", 24, 8, {{"", 8}, {"?", 16}}, 0},
    {"fs", "fs-stat", 40, 8, {{"size", 8}, {"is-dir", 16}, {"mtime", 24}, {"mtime?", 32}}, 0},
    {"sys",
     "get-caller",
     32,
     4,
     {{"principal", 4}, {"principal?", 8}, {"source-id", 16}, {"timestamp", 24}},
     0},
    {"ipc",
     "ipc-poll",
     32,
     8,
     {{"messages", 8},
      {"dropped", 16},
      {"lagged", 24},
      {"messages[].topic", 0},
      {"messages[].payload", 8},
      {"messages[].source-id", 16}},
     24},
    {"ipc",
     "get-interceptor-handles",
     12,
     4,
     {{"", 4}, {"[].handle-id", 0}, {"[].action", 8}, {"[].topic", 16}},
     24},
    {"http",
     "http-request",
     24,
     4,
     {{"status", 4}, {"headers", 8}, {"headers[].key", 0}, {"headers[].value", 8}, {"body", 16}},
     16},
    {"http", "http-stream-start", 32, 8, {{"handle", 8}, {"status", 16}, {"headers", 20}}, 0},
    {"net", "net-read", 16, 4, {{"", 4}, {"?", 8}}, 0},
    {"sys", "check-capsule-capability", 12, 4, {{"allowed", 4}}, 0},
    {"identity",
     "identity-resolve",
     44,
     4,
     {{"found", 4},
      {"user-id", 8},
      {"user-id?", 12},
      {"display-name", 20},
      {"display-name?", 24},
      {"error?", 36}},
     0},
    {"identity",
     "identity-link",
     48,
     4,
     {{"ok", 4},
      {"error", 8},
      {"user-id", 20},
      {"removed", 32},
      {"removed?", 33},
      {"links-json", 36}},
     0},
    {"process", "spawn", 24, 4, {{"stdout", 4}, {"stderr", 12}, {"exit-code", 20}}, 0},
    {"approval", "request-approval", 12, 4, {{"approved", 4}}, 0},
};

static void result_layouts_match_docs(void **state)
{
    (void)state;
    astrid_wit_package *p = astrid_pkg();
    for (size_t i = 0; i < sizeof layouts / sizeof *layouts; i++) {
        const astrid_wit_func *f =
            astrid_wit_find_func(astrid_wit_find_iface(p, layouts[i].iface), layouts[i].fn);
        assert_non_null(f);
        uint32_t size, align;
        astrid_wit_size_align(f->result, &size, &align);
        if (size != layouts[i].size || astrid_wit_payload_offset(f->result) != layouts[i].err_at)
            fail_msg("%s: size %u payload %u, docs say %u and %u", layouts[i].fn, size,
                     astrid_wit_payload_offset(f->result), layouts[i].size, layouts[i].err_at);
        assert_int_equal(astrid_wit_disc_size(f->result), 1);
        const astrid_wit_type *last = NULL;
        for (size_t k = 0; k < 6 && layouts[i].at[k].path; k++) {
            uint32_t off = offset_of(f->result, layouts[i].at[k].path, &last);
            if (off != layouts[i].at[k].off)
                fail_msg("%s %s: @%u, docs say @%u", layouts[i].fn, layouts[i].at[k].path, off,
                         layouts[i].at[k].off);
        }
        if (layouts[i].elem_size) {
            const astrid_wit_type *lt = NULL;
            char path[128] = "";
            for (size_t k = 0; k < 6 && layouts[i].at[k].path && !*path; k++) {
                const char *b = strstr(layouts[i].at[k].path, "[]");
                if (b)
                    snprintf(path, sizeof path, "%.*s", (int)(b - layouts[i].at[k].path),
                             layouts[i].at[k].path);
                else if (!*layouts[i].at[k].path)
                    continue;
            }
            offset_of(f->result, path, &lt);
            lt = astrid_wit_unalias(lt);
            assert_int_equal(lt->kind, ASTRID_WIT_LIST);
            astrid_wit_size_align(lt->elem, &size, &align);
            assert_int_equal(size, layouts[i].elem_size);
        }
    }
    /* the hook export's capsule-result: 20 bytes, data option @8, string @12 */
    const astrid_wit_world *w = astrid_wit_find_world(p, "capsule");
    const astrid_wit_func *hook = NULL;
    for (size_t i = 0; i < w->nitems; i++)
        if (w->items[i].func && strcmp(w->items[i].name, "astrid-hook-trigger") == 0)
            hook = w->items[i].func;
    assert_non_null(hook);
    uint32_t size, align;
    astrid_wit_size_align(hook->result, &size, &align);
    assert_int_equal(size, 20);
    assert_int_equal(astrid_wit_field_offset(hook->result, 1), 8);
    char flat[ASTRID_WIT_FLAT_CAP + 1];
    assert_int_equal(astrid_wit_flatten(hook->result, flat, sizeof flat), 5);
    assert_string_equal(flat, "iiiii");
    astrid_wit_free(p);
}

/* ------------------------------------------------------------ constructs */
static const astrid_wit_type *param(const astrid_wit_package *p, const char *iface, const char *fn,
                                    size_t i)
{
    const astrid_wit_func *f = astrid_wit_find_func(astrid_wit_find_iface(p, iface), fn);
    assert_non_null(f);
    assert_true(i < f->nparams);
    return f->params[i].type;
}

static const struct {
    const char *type; /* a parameter type, in interface i of the prelude */
    const char *str;  /* astrid_wit_type_str */
    uint32_t size, align;
    const char *flat;
} types[] = {
    {"bool", "bool", 1, 1, "i"},
    {"u8", "u8", 1, 1, "i"},
    {"s16", "s16", 2, 2, "i"},
    {"u32", "u32", 4, 4, "i"},
    {"s64", "s64", 8, 8, "I"},
    {"f32", "f32", 4, 4, "f"},
    {"f64", "f64", 8, 8, "F"},
    {"char", "char", 4, 4, "i"},
    {"string", "string", 8, 4, "ii"},
    {"list<list<u8>>", "list<list<u8>>", 8, 4, "ii"},
    {"option<f64>", "option<f64>", 16, 8, "iF"},
    {"option<u8>", "option<u8>", 2, 1, "ii"},
    {"result", "result", 1, 1, "i"},
    {"result<u32>", "result<u32>", 8, 4, "ii"},
    {"result<_, f32>", "result<_, f32>", 8, 4, "if"},
    {"result<u32, f32>", "result<u32, f32>", 8, 4, "ii"},
    {"result<f32, u64>", "result<f32, u64>", 16, 8, "iI"},
    {"result<f64, f32>", "result<f64, f32>", 16, 8, "iI"},
    {"tuple<u8, u32, u16>", "tuple<u8, u32, u16>", 12, 4, "iii"},
    {"tuple<u8,>", "tuple<u8>", 1, 1, "i"},
    {"rec", "rec", 24, 8, "iIi"},
    {"alias", "alias", 24, 8, "iIi"},
    {"e", "e", 1, 1, "i"},
    {"fl9", "fl9", 2, 2, "i"},
    {"fl", "fl", 1, 1, "i"},
    {"v", "v", 16, 8, "iIi"},
    {"%type", "type", 8, 4, "ii"},
    {"renamed", "renamed", 1, 1, "i"},
};

static const char prelude[] = "/// the package\n"
                              "package a:b@1.2.3-rc.1+build;\n"
                              "/* block /* nested */ comment */\n"
                              "/** Doc of i,\n * in a block. */\n"
                              "interface i {\n"
                              "  use other.{e as renamed, e};\n"
                              "  /// A record.\n  /// Two lines.\n"
                              "  record rec {\n"
                              "    /// field doc\n"
                              "    a: u8,\n"
                              "    b: u64,\n"
                              "    c: u16,  // a trailing comment\n"
                              "  }\n"
                              "  type alias = rec;\n"
                              "  type %%type = string;\n"
                              "  flags fl { x, y }\n"
                              "  flags fl9 { a, b, c, d, e, f, g, h, i }\n"
                              "  variant v { none, some(u32), big(u64), text(string) }\n"
                              "  %%func: func();\n"
                              "  f: func(x: %s) -> u32;\n"
                              "}\n"
                              "interface other { enum e { one, two, THREE-X4 } }\n"
                              "world w {\n"
                              "  use other.{e};\n"
                              "  record local { x: e }\n"
                              "  import i;\n"
                              "  import helper: func(a: local) -> result;\n"
                              "  export run: func();\n"
                              "  export other;\n"
                              "}\n";

static void every_construct_parses(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        char src[4096];
        snprintf(src, sizeof src, prelude, types[i].type);
        astrid_wit_package *p = parse_ok(src);
        const astrid_wit_type *t = param(p, "i", "f", 0);
        char *s = astrid_wit_type_str(t);
        assert_string_equal(s, types[i].str);
        free(s);
        uint32_t size, align;
        astrid_wit_size_align(t, &size, &align);
        char flat[ASTRID_WIT_FLAT_CAP + 1];
        astrid_wit_flatten(t, flat, sizeof flat);
        if (size != types[i].size || align != types[i].align || strcmp(flat, types[i].flat) != 0)
            fail_msg("%s: size %u align %u flat %s; want %u %u %s", types[i].type, size, align,
                     flat, types[i].size, types[i].align, types[i].flat);
        astrid_wit_free(p);
    }
    char src[4096];
    snprintf(src, sizeof src, prelude, "u8");
    astrid_wit_package *p = parse_ok(src);
    assert_string_equal(p->version, "1.2.3-rc.1+build");
    assert_string_equal(p->doc, "the package");
    const astrid_wit_iface *i = astrid_wit_find_iface(p, "i");
    assert_string_equal(i->doc, "Doc of i,\n * in a block.");
    const astrid_wit_typedef *rec = astrid_wit_find_type(i, "rec");
    assert_string_equal(rec->doc, "A record.\nTwo lines.");
    assert_string_equal(rec->fields[0].doc, "field doc");
    assert_null(rec->fields[1].doc);
    assert_null(rec->fields[2].doc);
    assert_non_null(astrid_wit_find_func(i, "func")); /* %func */
    assert_non_null(astrid_wit_find_type(i, "type"));
    assert_ptr_equal(astrid_wit_find_type(i, "renamed"), astrid_wit_find_type(i, "e"));
    const astrid_wit_typedef *v = astrid_wit_find_type(i, "v");
    assert_int_equal(v->kind, ASTRID_WIT_VARIANT);
    assert_int_equal(v->nfields, 4);
    assert_null(v->fields[0].type);
    assert_non_null(v->fields[1].type);
    assert_string_equal(
        astrid_wit_find_type(astrid_wit_find_iface(p, "other"), "e")->fields[2].name, "THREE-X4");
    const astrid_wit_world *w = astrid_wit_find_world(p, "w");
    assert_int_equal(w->nitems, 4);
    assert_int_equal(w->ntypes, 1);
    assert_string_equal(w->items[1].name, "helper");
    assert_non_null(w->items[1].func);
    assert_int_equal(w->items[1].func->params[0].type->def->kind, ASTRID_WIT_RECORD);
    assert_true(w->items[3].is_export);
    assert_string_equal(w->items[3].iface->name, "other");
    /* offsets of the record and the variant's payload */
    astrid_wit_free(p);
    snprintf(src, sizeof src, prelude, "rec");
    p = parse_ok(src);
    const astrid_wit_type *rt = param(p, "i", "f", 0);
    assert_int_equal(astrid_wit_field_offset(rt, 0), 0);
    assert_int_equal(astrid_wit_field_offset(rt, 1), 8);
    assert_int_equal(astrid_wit_field_offset(rt, 2), 16);
    astrid_wit_free(p);
    snprintf(src, sizeof src, prelude, "v");
    p = parse_ok(src);
    assert_int_equal(astrid_wit_payload_offset(param(p, "i", "f", 0)), 8);
    assert_int_equal(astrid_wit_disc_size(param(p, "i", "f", 0)), 1);
    astrid_wit_free(p);
}

static void abi_edges(void **state)
{
    (void)state;
    /* 257 enum cases need a 2-byte discriminant; 17 flat params become one
     * pointer; a one-value result comes back flat */
    size_t cap = 16384, n = 0;
    char *src = malloc(cap);
    n += (size_t)snprintf(src + n, cap - n, "interface i { enum big {");
    for (int k = 0; k < 257; k++)
        n += (size_t)snprintf(src + n, cap - n, "%sc%d", k ? ", " : "", k);
    n += (size_t)snprintf(src + n, cap - n, "}\n variant vb {");
    for (int k = 0; k < 257; k++)
        n += (size_t)snprintf(src + n, cap - n, "%sc%d(u8)", k ? ", " : "", k);
    snprintf(src + n, cap - n,
             "}\n f: func(a: big, b: vb) -> bool;\n"
             " g: func(a: tuple<u32, u32, u32, u32, u32, u32, u32, u32>,"
             " b: tuple<u32, u32, u32, u32, u32, u32, u32, u32>, c: u8) -> u64;\n"
             " h: func(a: tuple<u32, u32, u32, u32, u32, u32, u32, u32>,"
             " b: tuple<u32, u32, u32, u32, u32, u32, u32, u32>) -> tuple<u8, u8>;\n"
             "}\n");
    astrid_wit_package *p = parse_ok(src);
    free(src);
    const astrid_wit_iface *i = astrid_wit_find_iface(p, "i");
    const astrid_wit_type *big = param(p, "i", "f", 0), *vb = param(p, "i", "f", 1);
    uint32_t size, align;
    astrid_wit_size_align(big, &size, &align);
    assert_int_equal(size, 2);
    assert_int_equal(astrid_wit_disc_size(big), 2);
    astrid_wit_size_align(vb, &size, &align);
    assert_int_equal(size, 4);
    assert_int_equal(astrid_wit_payload_offset(vb), 2);
    char ps[64], rs[8];
    astrid_err err;
    assert_int_equal(
        astrid_wit_func_core_sig(astrid_wit_find_func(i, "f"), ps, sizeof ps, rs, sizeof rs, &err),
        0);
    assert_string_equal(ps, "iii");
    assert_string_equal(rs, "i");
    assert_int_equal(
        astrid_wit_func_core_sig(astrid_wit_find_func(i, "g"), ps, sizeof ps, rs, sizeof rs, &err),
        0);
    assert_string_equal(ps, "i");
    assert_string_equal(rs, "I");
    assert_int_equal(
        astrid_wit_func_core_sig(astrid_wit_find_func(i, "h"), ps, sizeof ps, rs, sizeof rs, &err),
        0);
    assert_string_equal(ps, "iiiiiiiiiiiiiiiii"); /* 16 flat params + retptr */
    assert_string_equal(rs, "");
    astrid_wit_free(p);
}

/* ------------------------------------------------------------ errors */
static const struct {
    const char *src;
    const char *msg; /* expected substring, position included */
    astrid_errcode code;
} errors[] = {
    {"interface i { f: func(x: nope); }", "line 1, column 26: unknown type 'nope' in i",
     ASTRID_E_PARSE},
    {"interface i { record r { a: u8 }\n record r { b: u8 } }",
     "line 2, column 2: 'r' is defined twice in interface i (first at line 1)", ASTRID_E_PARSE},
    {"interface i { record r { a: u8, a: u32 } }",
     "line 1, column 33: 'a' is defined twice in the fields of r", ASTRID_E_PARSE},
    {"interface i { f: func(a: u8, a: u8); }", "'a' is defined twice in the parameters of f",
     ASTRID_E_PARSE},
    {"interface i { record record { a: u8 } }",
     "line 1, column 22: 'record' is a keyword: write %record", ASTRID_E_PARSE},
    {"interface i { foo_bar: func(); }",
     "line 1, column 15: 'foo_bar' is not a valid WIT identifier", ASTRID_E_PARSE},
    {"interface i { Foo-bar: func(); }", "'Foo-bar' is not a valid WIT identifier", ASTRID_E_PARSE},
    {"interface i { fOO: func(); }", "'fOO' is not a valid WIT identifier", ASTRID_E_PARSE},
    {"interface i { a--b: func(); }", "'a--b' is not a valid WIT identifier", ASTRID_E_PARSE},
    {"interface i { 1a: func(); }", "line 1, column 15: unexpected character '1'", ASTRID_E_PARSE},
    {"interface i { a: func() -> u8 }", "line 1, column 31: expected ';' after the function",
     ASTRID_E_PARSE},
    {"interface i { resource r; }", "line 1, column 15: resources are not supported",
     ASTRID_E_PARSE},
    {"interface i { f: func(x: borrow<r>); }", "resources (own, borrow) are not supported",
     ASTRID_E_PARSE},
    {"interface i { f: func(x: future<u8>); }", "'future' (async) is not supported",
     ASTRID_E_PARSE},
    {"interface i { f: async func(); }", "'async' functions are not supported", ASTRID_E_PARSE},
    {"interface i { @since(version = 1.0.0) f: func(); }",
     "annotations (@since, @unstable, ...) are not supported", ASTRID_E_PARSE},
    {"interface i { f: func() -> (a: u8); }", "named or multiple results are not supported",
     ASTRID_E_PARSE},
    {"interface i { f: func(x: list<u8, 4>); }", "fixed-size lists (list<T, N>) are not supported",
     ASTRID_E_PARSE},
    {"interface i { f: func(x: option<u8, u8>); }", "option takes one type argument",
     ASTRID_E_PARSE},
    {"interface i { f: func(x: result<_>); }", "expected ',' after '_' in result<_, E>",
     ASTRID_E_PARSE},
    {"interface i { f: func(x: tuple<>); }", "line 1, column 32: expected a type", ASTRID_E_PARSE},
    {"interface i { f: func(x: float32); }", "'float32' is the old spelling: write f32",
     ASTRID_E_PARSE},
    {"interface i { record r {} }", "line 1, column 25: record 'r' must have at least one field",
     ASTRID_E_PARSE},
    {"interface i { enum e {} }", "enum 'e' must have at least one member", ASTRID_E_PARSE},
    {"interface i { variant v { a(u8) b } }", "expected ',' or '}' in variant 'v', found 'b'",
     ASTRID_E_PARSE},
    {"interface i { use j.{t}; }", "line 1, column 22: use of unknown interface 'j'",
     ASTRID_E_PARSE},
    {"interface i { use j.{t}; } interface j { }", "interface j has no type 't'", ASTRID_E_PARSE},
    {"interface i { use j.{f}; } interface j { f: func(); }", "'f' is a function, not a type",
     ASTRID_E_PARSE},
    {"interface i { use j.{t}; } interface j { use i.{t}; }", "goes round in a cycle",
     ASTRID_E_PARSE},
    {"interface i { use wasi:io/streams.{t}; }", "use of another package's interface",
     ASTRID_E_PARSE},
    {"interface i { use j; }", "without a list of names", ASTRID_E_PARSE},
    {"interface i { record r { a: s } record s { b: r } }",
     "contains itself (recursive types are not allowed)", ASTRID_E_PARSE},
    {"interface i { type a = a; }", "'a' contains itself", ASTRID_E_PARSE},
    {"world w { import nope; }", "line 1, column 18: world w: unknown interface 'nope'",
     ASTRID_E_PARSE},
    {"world w { import x: interface { } }", "inline interfaces in a world are not supported",
     ASTRID_E_PARSE},
    {"world w { import wasi:io/streams; }", "interfaces of other packages are not supported",
     ASTRID_E_PARSE},
    {"world w { include other; }", "include is not supported", ASTRID_E_PARSE},
    {"world w { export f: func(); export f: func(); }",
     "'f' is defined twice in the exports of world w", ASTRID_E_PARSE},
    {"interface i {} world i {}", "'i' is defined twice in the package", ASTRID_E_PARSE},
    {"interface i {} package a:b;", "line 1, column 16: the package declaration must come first",
     ASTRID_E_PARSE},
    {"package a:b@1.x;", "line 1, column 13: '1.x' is not a semantic version", ASTRID_E_PARSE},
    {"package a:b/c;", "nested package names are not supported", ASTRID_E_PARSE},
    {"use a:b/c;", "top-level use is not supported", ASTRID_E_PARSE},
    {"interface i {", "unexpected end of input: missing '}' of i", ASTRID_E_PARSE},
    {"interface i { /* open", "line 1, column 15: unterminated block comment", ASTRID_E_PARSE},
    {"interface i { f: func(); }\n\xff", "line 2, column 1: not valid UTF-8", ASTRID_E_PARSE},
    {"interface i { f: func(); }\n\x01", "line 2, column 1: unexpected byte 0x01", ASTRID_E_PARSE},
    {"record r { a: u8 }", "expected interface or world, found 'record'", ASTRID_E_PARSE},
    {"interface i { flags f { a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, b0, b1, b2, b3, b4, b5, "
     "b6, b7, b8, b9, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, d0, d1, d2 } }",
     "line 1, column 15: flags 'f' has more than 32 flags", ASTRID_E_LIMIT},
};

static void every_error_is_reported_with_its_position(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++) {
        astrid_err err;
        astrid_wit_package *p = astrid_wit_parse(errors[i].src, strlen(errors[i].src), &err);
        if (p) {
            astrid_wit_free(p);
            fail_msg("parsed, but should fail: %s", errors[i].src);
        }
        if (!strstr(err.msg, errors[i].msg) || err.code != errors[i].code)
            fail_msg("%s\n  gave: %s (%s)\n  want: %s", errors[i].src, err.msg,
                     astrid_errcode_name(err.code), errors[i].msg);
    }
}

/* ------------------------------------------------------------ limits */
static void hostile_input_hits_limits(void **state)
{
    (void)state;
    astrid_err err;
    /* nesting beyond 32 inside one type expression */
    char deep[1024] = "interface i { f: func(x: ";
    for (int k = 0; k < 40; k++)
        strcat(deep, "list<");
    strcat(deep, "u8");
    for (int k = 0; k < 40; k++)
        strcat(deep, ">");
    strcat(deep, "); }");
    assert_null(astrid_wit_parse(deep, strlen(deep), &err));
    assert_int_equal(err.code, ASTRID_E_LIMIT);
    assert_non_null(strstr(err.msg, "types nested deeper than 32 levels"));

    /* a chain of 100 named types, each one level deeper */
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    n += (size_t)snprintf(s, cap, "interface i {\n");
    for (int k = 0; k < 100; k++)
        n += (size_t)snprintf(s + n, cap - n, " record r%d { a: %s%d }\n", k, k ? "r" : "u",
                              k ? k - 1 : 8);
    n += (size_t)snprintf(s + n, cap - n, "}\n");
    assert_null(astrid_wit_parse(s, n, &err));
    assert_int_equal(err.code, ASTRID_E_LIMIT);
    assert_non_null(strstr(err.msg, "deeper than 32 levels (named types included)"));

    /* the same chain in reverse declaration order */
    n = (size_t)snprintf(s, cap, "interface i {\n");
    for (int k = 99; k >= 0; k--)
        n += (size_t)snprintf(s + n, cap - n, " record r%d { a: %s%d }\n", k, k ? "r" : "u",
                              k ? k - 1 : 8);
    n += (size_t)snprintf(s + n, cap - n, "}\n");
    assert_null(astrid_wit_parse(s, n, &err));
    assert_int_equal(err.code, ASTRID_E_LIMIT);

    /* 30 levels are fine */
    n = (size_t)snprintf(s, cap, "interface i {\n");
    for (int k = 0; k < 30; k++)
        n += (size_t)snprintf(s + n, cap - n, " record r%d { a: %s%d }\n", k, k ? "r" : "u",
                              k ? k - 1 : 8);
    n += (size_t)snprintf(s + n, cap - n, "}\n");
    astrid_wit_package *p = astrid_wit_parse(s, n, &err);
    if (!p)
        fail_msg("%s", err.msg);
    astrid_wit_free(p);

    /* more than 4096 fields */
    n = (size_t)snprintf(s, cap, "interface i { record r {");
    for (int k = 0; k < 4097; k++)
        n += (size_t)snprintf(s + n, cap - n, "a%d: u8,", k);
    n += (size_t)snprintf(s + n, cap - n, "} }");
    assert_null(astrid_wit_parse(s, n, &err));
    assert_int_equal(err.code, ASTRID_E_LIMIT);
    assert_non_null(strstr(err.msg, "more than 4096 items"));

    /* an identifier over 128 bytes */
    n = (size_t)snprintf(s, cap, "interface ");
    memset(s + n, 'a', 129);
    n += 129;
    n += (size_t)snprintf(s + n, cap - n, " {}");
    assert_null(astrid_wit_parse(s, n, &err));
    assert_non_null(strstr(err.msg, "line 1, column 11: identifier longer than 128 bytes"));
    free(s);

    /* input over 1 MiB */
    char *big = calloc(1, ASTRID_WIT_MAX_INPUT + 1);
    memset(big, ' ', ASTRID_WIT_MAX_INPUT + 1);
    assert_null(astrid_wit_parse(big, ASTRID_WIT_MAX_INPUT + 1, &err));
    assert_int_equal(err.code, ASTRID_E_LIMIT);
    /* deeply nested block comments cost no stack */
    size_t m = 0;
    for (int k = 0; k < 100000; k++) {
        big[m++] = '/';
        big[m++] = '*';
    }
    for (int k = 0; k < 100000; k++) {
        big[m++] = '*';
        big[m++] = '/';
    }
    p = astrid_wit_parse(big, m, &err);
    assert_non_null(p);
    assert_int_equal(p->nifaces, 0);
    astrid_wit_free(p);
    free(big);
    /* empty input: an empty package */
    p = astrid_wit_parse("", 0, &err);
    assert_non_null(p);
    assert_null(p->ns);
    astrid_wit_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(astrid_wit_parses),
        cmocka_unit_test(signatures_match_the_hand_written_rows),
        cmocka_unit_test(result_layouts_match_docs),
        cmocka_unit_test(every_construct_parses),
        cmocka_unit_test(abi_edges),
        cmocka_unit_test(every_error_is_reported_with_its_position),
        cmocka_unit_test(hostile_input_hits_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
