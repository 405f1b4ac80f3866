/* YAML through libyaml's emitter, so quoting is libyaml's, not ours. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "cli/output/output.h"

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static int buf_write(void *data, unsigned char *bytes, size_t size)
{
    buf *b = data;
    if (b->len + size + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 256) + size;
        char *p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, bytes, size);
    b->len += size;
    b->p[b->len] = '\0';
    return 1;
}

static int scalar(yaml_emitter_t *em, const char *s, const char *tag)
{
    yaml_event_t ev;
    yaml_scalar_event_initialize(&ev, NULL, (yaml_char_t *)tag, (yaml_char_t *)s, (int)strlen(s), 1,
                                 0, YAML_PLAIN_SCALAR_STYLE);
    return yaml_emitter_emit(em, &ev);
}

/* Would a YAML 1.1/1.2 reader resolve this plain scalar to a non-string? */
static bool looks_special(const char *s)
{
    static const char *const words[] = {"true", "false", "yes", "no",   "on",    "off", "y",
                                        "n",    "null",  "~",   ".inf", "-.inf", ".nan"};
    char *end;
    if (!*s)
        return true;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcasecmp(s, words[i]) == 0)
            return true;
    (void)strtod(s, &end);
    if (*end == '\0')
        return true;
    return strchr("0123456789+-.", *s) != NULL && strspn(s, "0123456789+-._:eExXoObB") == strlen(s);
}

static int str_scalar(yaml_emitter_t *em, const char *s)
{
    yaml_event_t ev;
    bool plain = !looks_special(s);
    yaml_scalar_event_initialize(&ev, NULL, (yaml_char_t *)YAML_STR_TAG, (yaml_char_t *)s,
                                 (int)strlen(s), plain, 1,
                                 plain ? YAML_ANY_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
    return yaml_emitter_emit(em, &ev);
}

static int emit_node(yaml_emitter_t *em, const json_t *v, int depth)
{
    yaml_event_t ev;
    char num[64];
    if (depth > 64)
        return 0;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *val;
        yaml_mapping_start_event_initialize(&ev, NULL, (yaml_char_t *)YAML_MAP_TAG, 1,
                                            YAML_BLOCK_MAPPING_STYLE);
        if (!yaml_emitter_emit(em, &ev))
            return 0;
        json_object_foreach((json_t *)v, k, val)
        {
            if (!str_scalar(em, k) || !emit_node(em, val, depth + 1))
                return 0;
        }
        yaml_mapping_end_event_initialize(&ev);
        return yaml_emitter_emit(em, &ev);
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *val;
        yaml_sequence_start_event_initialize(&ev, NULL, (yaml_char_t *)YAML_SEQ_TAG, 1,
                                             YAML_BLOCK_SEQUENCE_STYLE);
        if (!yaml_emitter_emit(em, &ev))
            return 0;
        json_array_foreach(v, i, val)
        {
            if (!emit_node(em, val, depth + 1))
                return 0;
        }
        yaml_sequence_end_event_initialize(&ev);
        return yaml_emitter_emit(em, &ev);
    }
    /* Strings that a YAML reader would resolve to something else, so "true", "1" or "null" stay
     * strings. */
    case JSON_STRING:
        return str_scalar(em, json_string_value(v));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return scalar(em, num, YAML_INT_TAG);
    case JSON_REAL:
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        return scalar(em, num, YAML_FLOAT_TAG);
    case JSON_TRUE:
        return scalar(em, "true", YAML_BOOL_TAG);
    case JSON_FALSE:
        return scalar(em, "false", YAML_BOOL_TAG);
    case JSON_NULL:
        return scalar(em, "null", YAML_NULL_TAG);
    }
    return 0;
}

char *cli_render_yaml(const json_t *data, astrid_err *err)
{
    yaml_emitter_t em;
    yaml_event_t ev;
    buf b = {0};
    if (!yaml_emitter_initialize(&em)) {
        astrid_err_set(err, ASTRID_E_NOMEM, "cannot start the YAML emitter");
        return NULL;
    }
    yaml_emitter_set_output(&em, buf_write, &b);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    int ok = yaml_emitter_emit(&em, &ev);
    if (ok) {
        yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
        ok = yaml_emitter_emit(&em, &ev);
    }
    ok = ok && emit_node(&em, data, 0);
    if (ok) {
        yaml_document_end_event_initialize(&ev, 1);
        ok = yaml_emitter_emit(&em, &ev);
    }
    if (ok) {
        yaml_stream_end_event_initialize(&ev);
        ok = yaml_emitter_emit(&em, &ev);
    }
    if (!ok) {
        astrid_err_set(err, ASTRID_E_INTERNAL, "YAML emitter: %s",
                       em.problem ? em.problem : "nesting too deep");
        free(b.p);
        b.p = NULL;
    }
    yaml_emitter_delete(&em);
    return b.p;
}
