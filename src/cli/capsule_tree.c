/* `astrid capsule tree` (hidden alias `deps`): who imports what from whom,
 * across the active agent's capsules and the workspace's. An import is
 * satisfied when an installed capsule exports the same namespace:interface
 * at a version its semver requirement accepts (lib/manifest/semver.h). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/manifest/semver.h"
#include "astrid/home.h"
#include "cli/admin.h"
#include "cli/capsule_util.h"
#include "cli/cli_stub.h"
#include "cli/output/output.h"

typedef struct entry {
    char location[16];
    astrid_manifest *m;
} entry;

typedef struct graph {
    entry *e;
    size_t n;
} graph;

static int by_name(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = strcmp(x->m->name, y->m->name);
    return c ? c : strcmp(x->location, y->location);
}

static void scan(graph *g, const char *dir, const char *location)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char path[PATH_MAX + 600];
        snprintf(path, sizeof path, "%s/%s/meta.json", dir, de->d_name);
        if (de->d_name[0] == '.' || access(path, F_OK) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s/Capsule.toml", dir, de->d_name);
        astrid_manifest *m = astrid_manifest_load(path, NULL);
        entry *ne = m ? realloc(g->e, (g->n + 1) * sizeof *ne) : NULL;
        if (!ne) {
            astrid_manifest_free(m);
            continue;
        }
        g->e = ne;
        ne[g->n] = (entry){.m = m};
        snprintf(ne[g->n].location, sizeof ne[g->n].location, "%s", location);
        g->n++;
    }
    if (d)
        closedir(d);
}

/* One import resolved against every export in the graph. */
static json_t *resolve(const graph *g, const astrid_manifest_dep *imp)
{
    json_t *by = json_array(), *near = json_array();
    for (size_t i = 0; i < g->n; i++)
        for (size_t j = 0; j < g->e[i].m->nexports; j++) {
            const astrid_manifest_dep *x = &g->e[i].m->exports[j];
            if (strcmp(x->ns, imp->ns) != 0 || strcmp(x->iface, imp->iface) != 0)
                continue;
            json_t *row = json_pack("{s:s,s:s,s:s}", "capsule", g->e[i].m->name, "location",
                                    g->e[i].location, "version", x->version);
            json_array_append_new(astrid_semver_matches(imp->version, x->version) ? by : near, row);
        }
    char ifc[300];
    snprintf(ifc, sizeof ifc, "%s:%s", imp->ns, imp->iface);
    return json_pack("{s:s,s:s,s:b,s:b,s:o,s:o}", "interface", ifc, "version", imp->version,
                     "optional", imp->optional, "satisfied", json_array_size(by) > 0, "provided_by",
                     by, "mismatched", near);
}

static void print_tree(cli_ctx *ctx, const json_t *rows)
{
    bool colour = cli_colour_wanted(ctx->out);
    const char *red = colour ? "\033[31m" : "", *reset = colour ? "\033[0m" : "";
    size_t i, j;
    json_t *c, *x;
    if (json_array_size(rows) == 0)
        fprintf(ctx->out, "No capsules installed.\n");
    json_array_foreach(rows, i, c)
    {
        fprintf(ctx->out, "%s %s [%s]\n", json_string_value(json_object_get(c, "name")),
                json_string_value(json_object_get(c, "version")),
                json_string_value(json_object_get(c, "location")));
        json_array_foreach(json_object_get(c, "exports"), j, x)
        {
            fprintf(ctx->out, "  exports %s %s\n",
                    json_string_value(json_object_get(x, "interface")),
                    json_string_value(json_object_get(x, "version")));
        }
        json_array_foreach(json_object_get(c, "imports"), j, x)
        {
            fprintf(ctx->out, "  imports %s %s", json_string_value(json_object_get(x, "interface")),
                    json_string_value(json_object_get(x, "version")));
            json_t *by = json_object_get(x, "provided_by"), *p;
            size_t k;
            if (json_array_size(by)) {
                fprintf(ctx->out, " <-");
                json_array_foreach(by, k, p)
                {
                    fprintf(ctx->out, "%s %s %s", k ? "," : "",
                            json_string_value(json_object_get(p, "capsule")),
                            json_string_value(json_object_get(p, "version")));
                }
                fputc('\n', ctx->out);
                continue;
            }
            bool opt = json_is_true(json_object_get(x, "optional"));
            fprintf(ctx->out, " %s%s%s", opt ? "" : red,
                    opt ? "(optional, not provided)" : "UNSATISFIED", opt ? "" : reset);
            json_t *near = json_object_get(x, "mismatched");
            json_array_foreach(near, k, p)
            {
                fprintf(ctx->out, "%s%s exports %s", k ? ", " : " (",
                        json_string_value(json_object_get(p, "capsule")),
                        json_string_value(json_object_get(p, "version")));
            }
            fprintf(ctx->out, "%s\n", json_array_size(near) ? ")" : "");
        }
    }
}

static int capsule_tree(cli_ctx *ctx)
{
    char home[PATH_MAX], who[CLI_PRINCIPAL_MAX], dir[PATH_MAX + 100], cwd[PATH_MAX];
    astrid_err err;
    cli_format fmt;
    if (cli_format_parse(ctx->format, &fmt) < 0) {
        fprintf(ctx->err, "astrid: unknown format '%s' (pretty|json|yaml|yml|toml)\n", ctx->format);
        return CLI_ERROR;
    }
    if (cli_home(home, sizeof home, &err) < 0 ||
        cli_context_active(home, who, sizeof who, &err) < 0)
        return cli_fail(ctx, &err);
    graph g = {0};
    astrid_home_capsules_dir(dir, sizeof dir, home, who, NULL); /* "" scans nothing */
    scan(&g, dir, "user");
    if (getcwd(cwd, sizeof cwd)) {
        snprintf(dir, sizeof dir, "%.3000s/.astrid/capsules", cwd);
        scan(&g, dir, "workspace");
    }
    if (g.n)
        qsort(g.e, g.n, sizeof *g.e, by_name);
    json_t *rows = json_array();
    for (size_t i = 0; i < g.n; i++) {
        const astrid_manifest *m = g.e[i].m;
        json_t *imps = json_array();
        for (size_t j = 0; j < m->nimports; j++)
            json_array_append_new(imps, resolve(&g, &m->imports[j]));
        json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:o,s:o}", "name", m->name, "version",
                                              m->version, "location", g.e[i].location, "exports",
                                              cli_capsule_deps_json(m->exports, m->nexports, false),
                                              "imports", imps));
    }
    for (size_t i = 0; i < g.n; i++)
        astrid_manifest_free(g.e[i].m);
    free(g.e);
    if (fmt == CLI_FMT_PRETTY) {
        print_tree(ctx, rows);
        json_decref(rows);
        return CLI_OK;
    }
    return cli_output(ctx, rows);
}

const cli_cmd cli_capsule_tree = {
    .name = "tree",
    .aliases = CLI_ALIASES("deps"),
    .max_args = 0,
    .help = "Show the imports/exports graph",
    .long_help = "Lists the active agent's and the workspace's capsules with what they export "
                 "and import; each import names the capsules whose export satisfies its semver "
                 "requirement, or is marked UNSATISFIED (red on a terminal).",
    .flags = CLI_FLAGS(CLI_F_FORMAT),
    .fn = capsule_tree};
