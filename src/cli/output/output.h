/* One data model (a jansson json_t), four renderings: pretty, json, yaml,
 * toml. Every list/show verb builds the json_t and calls cli_render.
 *
 * Ownership: `data` is borrowed. Returned strings are malloc'd; caller frees.
 */
#ifndef ASTRID_CLI_OUTPUT_H
#define ASTRID_CLI_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "astrid/err.h"

typedef enum cli_format { CLI_FMT_PRETTY, CLI_FMT_JSON, CLI_FMT_YAML, CLI_FMT_TOML } cli_format;

/* "pretty" (or NULL), "json", "yaml"/"yml", "toml"; -1 for anything else. */
int cli_format_parse(const char *name, cli_format *out);

/* Colour when `f` is a tty and NO_COLOR is unset or empty. */
bool cli_colour_wanted(FILE *f);

/* Render to a malloc'd string. `colour` only affects pretty. TOML needs a
 * root table: an array root is wrapped as { items = [...] }; JSON null has no
 * TOML form, so null members are left out. */
char *cli_render_pretty(const json_t *data, bool colour, astrid_err *err);
char *cli_render_json(const json_t *data, astrid_err *err);
char *cli_render_yaml(const json_t *data, astrid_err *err);
char *cli_render_toml(const json_t *data, astrid_err *err);

/* Render `data` in `fmt` to `out`. */
int cli_render(FILE *out, const json_t *data, cli_format fmt, astrid_err *err);

/* Display width of UTF-8 text (code points; escape sequences not counted). */
size_t cli_text_width(const char *s);

#endif
