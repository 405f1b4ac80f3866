/* The schema catalog (upstream's SchemaCatalog, reference §6.7, §10.1):
 * what each loaded capsule's meta.json `topics` says, read once at load
 * and immutable until the capsule is unloaded, so readers on the loop
 * thread need no lock. GetCapsuleMetadata carries it per capsule;
 * kcapsule_topic_schema answers "what does a message on this topic look
 * like" for the prompt builder's tool schemas. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "astrid/jsonsafe.h"
#include "astrid/topic.h"
#include "kernel/capsule_rt.h"
#include "kernel/capsules.h"
#include "kernel/kernel.h"

/* meta.json is ours (written by the installer), but a hand-edited or
 * damaged one only loses its catalog entry: the capsule still loads. */
json_t *kcapsule_topics_load(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    json_t *meta = astrid_json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
    json_t *in = json_object_get(meta, "topics"), *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(in, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        const char *dirn = json_string_value(json_object_get(t, "direction"));
        if (!name || !dirn || (strcmp(dirn, "publish") != 0 && strcmp(dirn, "subscribe") != 0))
            continue;
        json_t *row = json_pack("{s:s,s:s}", "name", name, "direction", dirn);
        json_t *d = json_object_get(t, "description"), *s = json_object_get(t, "schema");
        if (json_is_string(d))
            json_object_set(row, "description", d);
        if (json_is_object(s) || json_is_boolean(s))
            json_object_set(row, "schema", s);
        json_array_append_new(out, row);
    }
    json_decref(meta);
    return out;
}

json_t *astrid_capsules_topic_schema(astrid_kernel *k, const char *topic, const char *direction)
{
    for (size_t i = 0; i < k->ncapsules; i++) {
        size_t j;
        json_t *t;
        json_array_foreach(k->capsules[i]->topics, j, t)
        {
            const char *name = json_string_value(json_object_get(t, "name"));
            json_t *s = json_object_get(t, "schema");
            if (s && strcmp(json_string_value(json_object_get(t, "direction")), direction) == 0 &&
                (strcmp(name, topic) == 0 || astrid_topic_matches(topic, name)))
                return json_incref(s);
        }
    }
    return NULL;
}
