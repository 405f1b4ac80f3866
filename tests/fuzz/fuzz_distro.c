/* libFuzzer: Distro.toml and Distro.lock (src/lib/distro/distro.c).
 * Byte 0 picks the file (even: Distro.toml, odd: Distro.lock); the rest is
 * its text.
 *
 * Invariants: a refusal carries a message; a parsed distro has at least
 * one capsule, each with name/source/version, and every env template in it
 * renders (the parser promised every {{ var }} is defined and well formed). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/distro/distro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(const char *name, void *user)
{
    const astrid_distro *d = user;
    const astrid_distro_var *v = astrid_distro_var_find(d, name);
    if (!v)
        abort(); /* the parser checked every reference is defined */
    return v->def;
}

static void count(const char *name, void *user)
{
    (void)name;
    ++*(size_t *)user;
}

static void check_distro(const astrid_distro *d)
{
    if (!d->id || !d->name || !d->version || d->n_caps == 0)
        abort();
    for (size_t i = 0; i < d->n_vars; i++)
        if (!d->vars[i].name || astrid_distro_var_find(d, d->vars[i].name) == NULL)
            abort();
    for (size_t i = 0; i < d->n_caps; i++) {
        const astrid_distro_capsule *c = &d->caps[i];
        if (!c->name || !c->source || !c->version)
            abort();
        for (size_t j = 0; j < c->n_env; j++) {
            astrid_err err;
            size_t refs = 0;
            if (astrid_distro_template_each(c->env[j].value, count, &refs, &err) != 0)
                abort();
            char *out = astrid_distro_render(c->env[j].value, lookup, (void *)d, &err);
            if (!out)
                abort();
            free(out);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    astrid_err err = {0};
    if ((data[0] & 1) == 0) {
        astrid_distro *d = NULL;
        if (astrid_distro_parse(text, len, &d, &err) != 0) {
            if (!err.msg[0] || d)
                abort();
            return 0;
        }
        check_distro(d);
        astrid_distro_free(d);
    } else {
        astrid_distro_lock *l = NULL;
        if (astrid_distro_lock_parse(text, len, &l, &err) != 0) {
            if (!err.msg[0] || l)
                abort();
            return 0;
        }
        if (!l->id || !l->version)
            abort();
        for (size_t i = 0; i < l->n_caps; i++)
            if (!l->caps[i].name || !l->caps[i].version || !l->caps[i].source || !l->caps[i].hash)
                abort();
        astrid_distro_lock_free(l);
    }
    return 0;
}
