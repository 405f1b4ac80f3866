/* WIT -> JSON Schema (include/astrid/wit_schema.h): every WIT type kind
 * maps to the schema docs/capsules.md "Topic schemas" states; field names
 * are snake_case; `///` docs become descriptions; aliases and nested
 * records expand; a definition that explodes when expanded is refused;
 * the directory lookup finds a type, refuses an ambiguous one and names a
 * missing one. (Payload validation against these schemas by an
 * independent validator is tests/integration/capsule_schema.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "astrid/fs.h"
#include "astrid/wit_schema.h"

static const char DOC[] = "package test:kinds@1.0.0;\n"
                          "interface types {\n"
                          "  /// A colour.\n"
                          "  enum color { dark-red, green }\n"
                          "  flags perms { read, write-all }\n"
                          "  variant shape { none, circle(f64), %list(list<u8>) }\n"
                          "  type ident = string;\n"
                          "  type ids = list<ident>;\n"
                          "  record inner {\n"
                          "    /// How deep.\n"
                          "    depth-level: u32,\n"
                          "  }\n"
                          "  /// Every kind at once.\n"
                          "  record all-kinds {\n"
                          "    /// Yes or no.\n"
                          "    is-on: bool,\n"
                          "    a: u8, b: u16, c: u32, d: u64, e: s8, f: s16, g: s32, h: s64,\n"
                          "    x: f32, y: f64, ch: char, name: string,\n"
                          "    tags: list<string>,\n"
                          "    maybe: option<u32>,\n"
                          "    res: result<string, u32>,\n"
                          "    unit-res: result,\n"
                          "    pair: tuple<string, s32>,\n"
                          "    col: color,\n"
                          "    perm: perms,\n"
                          "    shp: shape,\n"
                          "    who: ident,\n"
                          "    many: ids,\n"
                          "    nested: inner,\n"
                          "  }\n"
                          "}\n";

static astrid_wit_package *pkg_of(const char *text)
{
    astrid_err err;
    astrid_wit_package *p = astrid_wit_parse(text, strlen(text), &err);
    if (!p)
        fail_msg("parse: %s", err.msg);
    return p;
}

static json_t *all_kinds(void)
{
    astrid_wit_package *p = pkg_of(DOC);
    const astrid_wit_typedef *d = astrid_wit_find_def(p, "all-kinds");
    assert_non_null(d);
    astrid_err err;
    json_t *s = astrid_wit_schema_def(d, &err);
    if (!s)
        fail_msg("%s", err.msg);
    astrid_wit_free(p);
    return s;
}

/* the property `key` of the all-kinds schema equals `want` (JSON text) */
static void prop_is(json_t *s, const char *key, const char *want)
{
    json_t *got = json_object_get(json_object_get(s, "properties"), key);
    json_error_t je;
    json_t *w = json_loads(want, 0, &je);
    if (!w)
        fail_msg("bad expectation for %s: %s", key, je.text);
    if (!got || !json_equal(got, w)) {
        char *g = got ? json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
        fail_msg("%s: got %s, want %s", key, g ? g : "(missing)", want);
    }
    json_decref(w);
}

static void test_primitives(void **st)
{
    (void)st;
    json_t *s = all_kinds();
    prop_is(s, "is_on", "{\"type\":\"boolean\",\"description\":\"Yes or no.\"}");
    prop_is(s, "a", "{\"type\":\"integer\",\"minimum\":0,\"maximum\":255}");
    prop_is(s, "b", "{\"type\":\"integer\",\"minimum\":0,\"maximum\":65535}");
    prop_is(s, "c", "{\"type\":\"integer\",\"minimum\":0,\"maximum\":4294967295}");
    prop_is(s, "d", "{\"type\":\"integer\",\"minimum\":0}");
    prop_is(s, "e", "{\"type\":\"integer\",\"minimum\":-128,\"maximum\":127}");
    prop_is(s, "f", "{\"type\":\"integer\",\"minimum\":-32768,\"maximum\":32767}");
    prop_is(s, "g", "{\"type\":\"integer\",\"minimum\":-2147483648,\"maximum\":2147483647}");
    prop_is(s, "h", "{\"type\":\"integer\"}");
    prop_is(s, "x", "{\"type\":\"number\"}");
    prop_is(s, "y", "{\"type\":\"number\"}");
    prop_is(s, "ch", "{\"type\":\"string\",\"minLength\":1,\"maxLength\":1}");
    prop_is(s, "name", "{\"type\":\"string\"}");
    json_decref(s);
}

static void test_containers(void **st)
{
    (void)st;
    json_t *s = all_kinds();
    prop_is(s, "tags", "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}");
    prop_is(s, "maybe",
            "{\"anyOf\":[{\"type\":\"integer\",\"minimum\":0,\"maximum\":4294967295},"
            "{\"type\":\"null\"}]}");
    prop_is(s, "res",
            "{\"oneOf\":[{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"string\"}},"
            "\"required\":[\"ok\"],\"additionalProperties\":false},"
            "{\"type\":\"object\",\"properties\":{\"err\":{\"type\":\"integer\",\"minimum\":0,"
            "\"maximum\":4294967295}},\"required\":[\"err\"],\"additionalProperties\":false}]}");
    prop_is(s, "unit_res",
            "{\"oneOf\":[{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"null\"}},"
            "\"required\":[\"ok\"],\"additionalProperties\":false},"
            "{\"type\":\"object\",\"properties\":{\"err\":{\"type\":\"null\"}},"
            "\"required\":[\"err\"],\"additionalProperties\":false}]}");
    prop_is(s, "pair",
            "{\"type\":\"array\",\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\","
            "\"minimum\":-2147483648,\"maximum\":2147483647}],\"items\":false,\"minItems\":2,"
            "\"maxItems\":2}");
    json_decref(s);
}

static void test_named(void **st)
{
    (void)st;
    json_t *s = all_kinds();
    prop_is(
        s, "col",
        "{\"type\":\"string\",\"enum\":[\"dark_red\",\"green\"],\"description\":\"A colour.\"}");
    prop_is(s, "perm",
            "{\"type\":\"array\",\"items\":{\"enum\":[\"read\",\"write_all\"]},"
            "\"uniqueItems\":true}");
    prop_is(s, "shp",
            "{\"oneOf\":[{\"const\":\"none\"},"
            "{\"type\":\"object\",\"properties\":{\"circle\":{\"type\":\"number\"}},"
            "\"required\":[\"circle\"],\"additionalProperties\":false},"
            "{\"type\":\"object\",\"properties\":{\"list\":{\"type\":\"array\",\"items\":"
            "{\"type\":\"integer\",\"minimum\":0,\"maximum\":255}}},\"required\":[\"list\"],"
            "\"additionalProperties\":false}]}");
    /* aliases resolve to their target, through a chain */
    prop_is(s, "who", "{\"type\":\"string\"}");
    prop_is(s, "many", "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}");
    prop_is(s, "nested",
            "{\"type\":\"object\",\"properties\":{\"depth_level\":{\"type\":\"integer\","
            "\"minimum\":0,\"maximum\":4294967295,\"description\":\"How deep.\"}},"
            "\"required\":[\"depth_level\"]}");
    json_decref(s);
}

static void test_record_shape(void **st)
{
    (void)st;
    json_t *s = all_kinds();
    assert_string_equal(json_string_value(json_object_get(s, "type")), "object");
    assert_string_equal(json_string_value(json_object_get(s, "title")), "all-kinds");
    assert_string_equal(json_string_value(json_object_get(s, "description")),
                        "Every kind at once.");
    /* every field but the option is required; names are snake_case */
    json_t *req = json_object_get(s, "required");
    assert_int_equal(json_array_size(req), 23);
    size_t i;
    json_t *v;
    json_array_foreach(req, i, v)
    {
        assert_string_not_equal(json_string_value(v), "maybe");
        assert_null(strchr(json_string_value(v), '-'));
    }
    assert_int_equal(json_object_size(json_object_get(s, "properties")), 24);
    json_decref(s);
}

static void test_snake(void **st)
{
    (void)st;
    char out[64];
    astrid_wit_snake("http-URL-path", out, sizeof out);
    assert_string_equal(out, "http_url_path");
    astrid_wit_snake("%type", out, sizeof out);
    assert_string_equal(out, "type");
    astrid_wit_snake("abcdef", out, 4);
    assert_string_equal(out, "abc");
}

/* A record whose every level uses the level below 8 times expands to
 * 8^depth nodes: refused by the budget, not built. */
static void test_blowup_refused(void **st)
{
    (void)st;
    char doc[8192] = "package t:b;\ninterface i {\n  record l0 { v: u8 }\n";
    for (int lv = 1; lv <= 8; lv++) {
        char line[512];
        snprintf(
            line, sizeof line,
            "  record l%d { a: l%d, b: l%d, c: l%d, d: l%d, e: l%d, f: l%d, g: l%d, h: l%d }\n", lv,
            lv - 1, lv - 1, lv - 1, lv - 1, lv - 1, lv - 1, lv - 1, lv - 1);
        strcat(doc, line);
    }
    strcat(doc, "}\n");
    astrid_wit_package *p = pkg_of(doc);
    astrid_err err;
    assert_null(astrid_wit_schema_def(astrid_wit_find_def(p, "l8"), &err));
    assert_int_equal(err.code, ASTRID_E_LIMIT);
    json_t *ok = astrid_wit_schema_def(astrid_wit_find_def(p, "l2"), &err);
    assert_non_null(ok); /* a small one still expands */
    json_decref(ok);
    astrid_wit_free(p);
}

static void write_file(const char *path, const char *text)
{
    astrid_err err;
    if (astrid_atomic_write(path, text, strlen(text), 0600, &err) != 0)
        fail_msg("%s", err.msg);
}

static void test_from_dir(void **st)
{
    (void)st;
    char dir[] = "/tmp/astrid-witschema-XXXXXX", path[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/sub", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/sub/a.wit", dir);
    write_file(path, DOC);
    snprintf(path, sizeof path, "%s/broken.wit", dir);
    write_file(path, "package x:y;\ninterface i { resource r; }\n");
    astrid_err err;
    json_t *s = astrid_wit_schema_from_dir(dir, "inner", &err);
    if (!s)
        fail_msg("%s", err.msg);
    assert_string_equal(json_string_value(json_object_get(s, "title")), "inner");
    json_decref(s);
    /* missing: named, with the file our parser could not read */
    assert_null(astrid_wit_schema_from_dir(dir, "nope", &err));
    assert_int_equal(err.code, ASTRID_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "'nope'"));
    assert_non_null(strstr(err.msg, "broken.wit"));
    /* the same name in two files: ambiguous */
    snprintf(path, sizeof path, "%s/b.wit", dir);
    write_file(path, "package x:z;\ninterface j { record inner { q: bool } }\n");
    assert_null(astrid_wit_schema_from_dir(dir, "inner", &err));
    assert_int_equal(err.code, ASTRID_E_INVALID);
    assert_non_null(strstr(err.msg, "ambiguous"));
    /* a dependency defining the same name does not shadow the capsule's */
    unlink(path);
    snprintf(path, sizeof path, "%s/deps", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/deps/dep.wit", dir);
    write_file(path, "package x:d;\ninterface j { record inner { q: bool } record only-dep { z: "
                     "bool } }\n");
    s = astrid_wit_schema_from_dir(dir, "inner", &err);
    assert_non_null(s);
    assert_non_null(json_object_get(json_object_get(s, "properties"), "depth_level"));
    json_decref(s);
    s = astrid_wit_schema_from_dir(dir, "only-dep", &err); /* but is searched */
    assert_non_null(s);
    json_decref(s);
    snprintf(path, sizeof path, "%s/b.wit", dir);
    /* a symlinked .wit is not followed */
    unlink(path);
    snprintf(path, sizeof path, "%s/c.wit", dir);
    char target[512];
    snprintf(target, sizeof target, "%s/sub/a.wit", dir);
    assert_int_equal(symlink(target, path), 0);
    s = astrid_wit_schema_from_dir(dir, "inner", &err);
    assert_non_null(s); /* found once (sub/a.wit), not twice through the link */
    json_decref(s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_primitives), cmocka_unit_test(test_containers),
        cmocka_unit_test(test_named),      cmocka_unit_test(test_record_shape),
        cmocka_unit_test(test_snake),      cmocka_unit_test(test_blowup_refused),
        cmocka_unit_test(test_from_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
