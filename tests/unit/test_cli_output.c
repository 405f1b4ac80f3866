/* CLI renderers: every format carries the same data. YAML is re-read with
 * libyaml, TOML with our parser, JSON with jansson, and compared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "astrid/toml.h"
#include "cli/output/output.h"

static json_t *sample(void)
{
    return json_loads("{\"pid\": 4242, \"version\": \"0.6.0\", \"ephemeral\": false,"
                      " \"load\": 0.25, \"note\": \"true\", \"empty\": \"\","
                      " \"uni\": \"caf\\u00e9 \\u2713\", \"multi\": \"a\\nb: c\","
                      " \"capsules\": [\"cli\", \"llm\"],"
                      " \"connections_by_principal\": [{\"principal\": \"default\", \"count\": 2},"
                      "  {\"principal\": \"bob\", \"count\": 1}],"
                      " \"nested\": {\"x\": 1, \"y\": [1, 2]}}",
                      0, NULL);
}

/* ---- YAML -> json_t via libyaml's document loader ---- */
static json_t *yaml_node(yaml_document_t *doc, yaml_node_t *n)
{
    if (n->type == YAML_SCALAR_NODE) {
        const char *s = (const char *)n->data.scalar.value;
        if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
            return json_string(s);
        if (strcmp(s, "true") == 0)
            return json_true();
        if (strcmp(s, "false") == 0)
            return json_false();
        if (strcmp(s, "null") == 0)
            return json_null();
        char *end;
        long long v = strtoll(s, &end, 10);
        if (*s && !*end)
            return json_integer(v);
        double d = strtod(s, &end);
        if (*s && !*end)
            return json_real(d);
        return json_string(s);
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        json_t *a = json_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
             i++)
            json_array_append_new(a, yaml_node(doc, yaml_document_get_node(doc, *i)));
        return a;
    }
    json_t *o = json_object();
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        json_object_set_new(o, (const char *)k->data.scalar.value,
                            yaml_node(doc, yaml_document_get_node(doc, p->value)));
    }
    return o;
}

static json_t *yaml_to_json(const char *text)
{
    yaml_parser_t p;
    yaml_document_t doc;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    assert_true(yaml_parser_load(&p, &doc));
    json_t *j = yaml_node(&doc, yaml_document_get_root_node(&doc));
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    return j;
}

/* ---- TOML -> json_t ---- */
static json_t *toml_to_json(const astrid_toml *t)
{
    switch (astrid_toml_type_of(t)) {
    case ASTRID_TOML_TABLE: {
        json_t *o = json_object();
        for (size_t i = 0; i < astrid_toml_len(t); i++)
            json_object_set_new(o, astrid_toml_key_at(t, i),
                                toml_to_json(astrid_toml_value_at(t, i)));
        return o;
    }
    case ASTRID_TOML_ARRAY: {
        json_t *a = json_array();
        for (size_t i = 0; i < astrid_toml_len(t); i++)
            json_array_append_new(a, toml_to_json(astrid_toml_at(t, i)));
        return a;
    }
    case ASTRID_TOML_STRING:
        return json_string(astrid_toml_str(t, NULL));
    case ASTRID_TOML_INTEGER:
        return json_integer(astrid_toml_int(t));
    case ASTRID_TOML_FLOAT:
        return json_real(astrid_toml_float(t));
    case ASTRID_TOML_BOOL:
        return json_boolean(astrid_toml_bool(t));
    default:
        return json_null();
    }
}

static void test_json_roundtrip(void **state)
{
    (void)state;
    json_t *d = sample();
    char *s = cli_render_json(d, NULL);
    json_t *back = json_loads(s, 0, NULL);
    assert_true(json_equal(d, back));
    free(s);
    json_decref(back);
    json_decref(d);
}

static void test_yaml_roundtrip(void **state)
{
    (void)state;
    json_t *d = sample();
    char *s = cli_render_yaml(d, NULL);
    assert_non_null(s);
    json_t *back = yaml_to_json(s);
    if (!json_equal(d, back))
        fail_msg("yaml differs:\n%s", s);
    /* "true" the string must not come back as a boolean */
    assert_true(json_is_string(json_object_get(back, "note")));
    free(s);
    json_decref(back);
    json_decref(d);
}

static void test_toml_roundtrip(void **state)
{
    (void)state;
    json_t *d = sample();
    char *s = cli_render_toml(d, NULL);
    assert_non_null(s);
    astrid_err err;
    astrid_toml *t = astrid_toml_parse(s, strlen(s), &err, NULL);
    assert_non_null(t);
    json_t *back = toml_to_json(t);
    if (!json_equal(d, back))
        fail_msg("toml differs:\n%s", s);
    astrid_toml_free(t);
    free(s);
    json_decref(back);
    json_decref(d);

    /* Array roots are wrapped; nulls are dropped (TOML has none). */
    json_t *arr = json_loads("[{\"a\": 1, \"b\": null}]", 0, NULL);
    s = cli_render_toml(arr, NULL);
    t = astrid_toml_parse(s, strlen(s), &err, NULL);
    assert_non_null(t);
    back = toml_to_json(t);
    json_t *want = json_loads("{\"items\": [{\"a\": 1}]}", 0, NULL);
    assert_true(json_equal(back, want));
    json_decref(want);
    json_decref(back);
    astrid_toml_free(t);
    free(s);
    json_decref(arr);
}

static char *strip_ansi(const char *s)
{
    char *o = malloc(strlen(s) + 1), *w = o;
    for (const char *p = s; *p; p++) {
        if (*p == '\033') {
            while (*p && *p != 'm')
                p++;
            continue;
        }
        *w++ = *p;
    }
    *w = '\0';
    return o;
}

static void test_pretty(void **state)
{
    (void)state;
    json_t *d = sample();
    char *plain = cli_render_pretty(d, false, NULL);
    char *col = cli_render_pretty(d, true, NULL);
    assert_null(strchr(plain, '\033'));
    assert_non_null(strchr(col, '\033'));
    /* Colour changes bytes, never layout. */
    char *stripped = strip_ansi(col);
    assert_string_equal(stripped, plain);
    /* Aligned key/values: the value column starts at the same place. */
    assert_non_null(strstr(plain, "pid:       4242\n"));
    assert_non_null(strstr(plain, "ephemeral: false\n"));
    assert_non_null(strstr(plain, "capsules:  cli, llm\n"));
    /* Table: header, then rows aligned under it. */
    assert_non_null(strstr(plain, "  PRINCIPAL  COUNT\n  default    2\n  bob        1\n"));
    free(stripped);
    free(plain);
    free(col);
    json_decref(d);

    /* Widths count code points, not bytes: é and ✓ are one column each. */
    json_t *rows = json_loads("[{\"name\": \"caf\\u00e9\", \"ok\": \"\\u2713\"},"
                              " {\"name\": \"tea\", \"ok\": \"x\"}]",
                              0, NULL);
    plain = cli_render_pretty(rows, false, NULL);
    assert_string_equal(plain, "NAME  OK\ncaf\xc3\xa9  \xe2\x9c\x93\ntea   x\n");
    free(plain);
    json_decref(rows);

    json_t *empty = json_array();
    plain = cli_render_pretty(empty, false, NULL);
    assert_string_equal(plain, "(none)\n");
    free(plain);
    json_decref(empty);
}

static void test_formats(void **state)
{
    (void)state;
    cli_format f;
    assert_int_equal(cli_format_parse(NULL, &f), 0);
    assert_int_equal(f, CLI_FMT_PRETTY);
    assert_int_equal(cli_format_parse("yml", &f), 0);
    assert_int_equal(f, CLI_FMT_YAML);
    assert_int_equal(cli_format_parse("toml", &f), 0);
    assert_int_equal(f, CLI_FMT_TOML);
    assert_int_equal(cli_format_parse("xml", &f), -1);
    assert_int_equal(cli_text_width("\033[1mab\033[0m\xe2\x9c\x93"), 3);
    setenv("NO_COLOR", "1", 1);
    assert_false(cli_colour_wanted(stdout));
    unsetenv("NO_COLOR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_roundtrip), cmocka_unit_test(test_yaml_roundtrip),
        cmocka_unit_test(test_toml_roundtrip), cmocka_unit_test(test_pretty),
        cmocka_unit_test(test_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
