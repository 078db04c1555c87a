/* project.c — gbox.json beside a program: {"policy": NAME|FILE, "modules": [NAME[@RANGE], ...]}.
 * Strict like every input of gbox: unknown fields and wrong types are refused, naming the file
 * and the field. */
#include "project.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int bad(struct sbx_err **err, const char *file, const char *field, const char *what)
{
    return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: %s: expected %s", file, field, what);
}

int project_config_load(const char *program, struct project_config *pc, struct sbx_err **err)
{
    memset(pc, 0, sizeof(*pc));
    char dir[PATH_MAX];
    if (!realpath(program, dir)) /* plan_build reports a missing program */
        return 0;
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    if (dir[0] == '\0')
        snprintf(dir, sizeof(dir), "/");
    if (strcmp(dir, "/") == 0) /* "//gbox.json" otherwise */
        dir[0] = '\0';
    snprintf(pc->file, sizeof(pc->file), "%s/gbox.json", dir);
    if (access(pc->file, F_OK) < 0) {
        pc->file[0] = '\0';
        return 0;
    }
    json_error_t je;
    json_t *doc = json_load_file(pc->file, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s:%d:%d: %s", pc->file, je.line, je.column, je.text);
    int rc = -1;
    const char *key;
    json_t *v;
    if (!json_is_object(doc)) {
        bad(err, pc->file, "json", "an object with \"policy\" and/or \"modules\"");
        goto out;
    }
    json_object_foreach(doc, key, v)
    {
        char field[300];
        snprintf(field, sizeof(field), "json.%s", key);
        if (strcmp(key, "policy") == 0) {
            const char *s = json_string_value(v);
            if (!s || !*s) {
                bad(err, pc->file, field, "a policy name or a policy file (relative to gbox.json)");
                goto out;
            }
            if (strchr(s, '/') || strstr(s, ".json"))
                snprintf(pc->policy, sizeof(pc->policy), "%s%s%s", s[0] == '/' ? "" : dir,
                         s[0] == '/' ? "" : "/", s);
            else
                snprintf(pc->policy, sizeof(pc->policy), "%s", s);
        } else if (strcmp(key, "modules") == 0) {
            size_t i;
            json_t *m;
            if (!json_is_array(v) || json_array_size(v) > 64) {
                bad(err, pc->file, field, "an array of at most 64 module names (NAME or NAME@RANGE)");
                goto out;
            }
            json_array_foreach(v, i, m)
            {
                if (!json_is_string(m) || json_string_length(m) == 0) {
                    snprintf(field, sizeof(field), "json.modules[%zu]", i);
                    bad(err, pc->file, field, "a module name (NAME or NAME@RANGE)");
                    goto out;
                }
            }
            pc->modules = json_incref(v);
        } else {
            sbx_err_set(err, GBOX_EXIT_USAGE, 0, "%s: %s: unknown field, expected \"policy\" or \"modules\"",
                        pc->file, field);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

void project_config_free(struct project_config *pc)
{
    json_decref(pc->modules);
    pc->modules = NULL;
}
