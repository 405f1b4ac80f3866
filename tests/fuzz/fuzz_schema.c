/* libFuzzer: JSON Schema generation from WIT (src/lib/wit/schema.c): the
 * input is parsed as WIT and every definition of every interface and world
 * is turned into a schema, as astrid-build and the installer do for a
 * [[topic]] wit_type.
 *
 * Invariants: nothing crashes or leaks; a schema is a JSON object with a
 * "title"; a refusal (node budget) carries a message; astrid_wit_find_def
 * finds each definition by its own name; snake-casing stays terminated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "astrid/wit.h"
#include "astrid/wit_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const astrid_wit_package *p, const astrid_wit_typedef *d)
{
    astrid_err err = {0};
    json_t *s = astrid_wit_schema_def(d, &err);
    if (!s) {
        if (!err.msg[0])
            abort();
        return;
    }
    if (!json_is_object(s) || !json_is_string(json_object_get(s, "title")))
        abort();
    char *text = json_dumps(s, JSON_COMPACT);
    if (!text)
        abort();
    free(text);
    json_decref(s);
    if (d->name && !astrid_wit_find_def(p, d->name))
        abort();
    char snake[64];
    if (d->name) {
        astrid_wit_snake(d->name, snake, sizeof snake);
        if (!memchr(snake, '\0', sizeof snake))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    astrid_err err;
    astrid_wit_package *p = astrid_wit_parse((const char *)data, size, &err);
    if (!p)
        return 0;
    for (size_t i = 0; i < p->nifaces; i++)
        for (size_t k = 0; k < p->ifaces[i]->ntypes; k++)
            one(p, p->ifaces[i]->types[k]);
    for (size_t i = 0; i < p->nworlds; i++)
        for (size_t k = 0; k < p->worlds[i]->ntypes; k++)
            one(p, p->worlds[i]->types[k]);
    astrid_wit_free(p);
    return 0;
}
