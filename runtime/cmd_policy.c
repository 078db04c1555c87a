/* cmd_policy.c — `gbox policy validate|show|list|diff|groups`. */
#include "cli.h"
#include "paths.h"
#include "policy.h"
#include "schema.h"
#include "syscall_groups.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char policy_usage[] =
    "usage: gbox policy validate NAME|FILE...\n"
    "       gbox policy show NAME|FILE\n"
    "       gbox policy list [--json]\n"
    "       gbox policy diff A B\n"
    "       gbox policy groups [--json]\n"
    "       gbox policy learn [--policy BASE] [--name NAME] [--report FILE] [--in-image] [--] PROGRAM [ARGS...]\n";

static int validate(int argc, char **argv)
{
    if (argc < 1) {
        fputs(policy_usage, stderr);
        return GBOX_EXIT_USAGE;
    }
    for (int i = 0; i < argc; i++) {
        struct sbx_err *err = NULL;
        struct gbox_policy *p = NULL;
        if (policy_load(argv[i], &p, &err) < 0)
            return cli_fail(&err);
        printf("%s: ok (%s)\n", p->name, p->file);
        policy_free(p);
    }
    return 0;
}

static int show(int argc, char **argv)
{
    if (argc != 1) {
        fputs(policy_usage, stderr);
        return GBOX_EXIT_USAGE;
    }
    struct sbx_err *err = NULL;
    struct gbox_policy *p = NULL;
    if (policy_load(argv[0], &p, &err) < 0)
        return cli_fail(&err);
    char *s = json_dumps(p->root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(s);
    free(s);
    policy_free(p);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list(int argc, char **argv)
{
    bool as_json = argc > 0 && strcmp(argv[0], "--json") == 0;
    const char *dir = gbox_policy_dir();
    DIR *d = opendir(dir);
    if (!d) {
        struct sbx_err *err = NULL;
        sbx_err_set(&err, 1, errno, "policy directory %s", dir);
        return cli_fail(&err);
    }
    char *names[512];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 512) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0 && strcmp(de->d_name, "schema.json") != 0)
            names[n++] = strndup(de->d_name, l - 5);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_str);
    json_t *arr = json_array();
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct sbx_err *err = NULL;
        struct gbox_policy *p = NULL;
        if (policy_load(names[i], &p, &err) < 0) {
            if (!as_json)
                printf("%-22s INVALID: %s\n", names[i], err->msg);
            json_array_append_new(arr, json_pack("{s:s,s:b,s:s}", "name", names[i], "valid", 0, "error", err->msg));
            sbx_err_free(&err);
            rc = GBOX_EXIT_USAGE;
        } else {
            const char *desc = json_string_value(pol_get(p, "description"));
            if (!as_json)
                printf("%-22s %s\n", names[i], desc ? desc : "");
            json_array_append_new(arr, json_pack("{s:s,s:b,s:s}", "name", names[i], "valid", 1, "description", desc ? desc : ""));
            policy_free(p);
        }
        free(names[i]);
    }
    if (as_json) {
        char *s = json_dumps(arr, JSON_INDENT(2));
        puts(s);
        free(s);
    }
    json_decref(arr);
    return rc;
}

static void flatten(const json_t *v, const char *path, json_t *out)
{
    if (json_is_object(v) && json_object_size(v) > 0) {
        const char *k;
        const json_t *c;
        json_object_foreach((json_t *)v, k, c)
        {
            char p[512];
            snprintf(p, sizeof(p), "%s%s%s", path, *path ? "." : "", k);
            flatten(c, p, out);
        }
        return;
    }
    json_object_set(out, path, (json_t *)v);
}

static int diff(int argc, char **argv)
{
    if (argc != 2) {
        fputs(policy_usage, stderr);
        return GBOX_EXIT_USAGE;
    }
    struct sbx_err *err = NULL;
    struct gbox_policy *a = NULL, *b = NULL;
    if (policy_load(argv[0], &a, &err) < 0 || policy_load(argv[1], &b, &err) < 0) {
        policy_free(a);
        return cli_fail(&err);
    }
    json_t *fa = json_object(), *fb = json_object();
    flatten(a->root, "", fa);
    flatten(b->root, "", fb);
    int differ = 0;
    const char *k;
    json_t *v;
    char sa[2048], sb[2048];
    json_object_foreach(fa, k, v)
    {
        json_t *w = json_object_get(fb, k);
        if (w && json_equal(v, w))
            continue;
        char *x = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT), *y = w ? json_dumps(w, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        snprintf(sa, sizeof(sa), "%s", x ? x : "?");
        snprintf(sb, sizeof(sb), "%s", y ? y : "(absent)");
        printf("%s:\n  - %s: %s\n  + %s: %s\n", k, a->name, sa, b->name, sb);
        free(x);
        free(y);
        differ = 1;
    }
    json_object_foreach(fb, k, v)
    {
        if (json_object_get(fa, k))
            continue;
        char *y = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        printf("%s:\n  - %s: (absent)\n  + %s: %s\n", k, a->name, b->name, y ? y : "?");
        free(y);
        differ = 1;
    }
    json_decref(fa);
    json_decref(fb);
    policy_free(a);
    policy_free(b);
    return differ;
}

static int groups(int argc, char **argv)
{
    bool as_json = argc == 1 && strcmp(argv[0], "--json") == 0;
    if (argc > 0 && !as_json) {
        fputs(policy_usage, stderr);
        return GBOX_EXIT_USAGE;
    }
    json_t *all = json_array();
    for (const struct syscall_group *const *g = syscall_groups(); *g; g++) {
        json_t *members = json_array();
        for (const char *const *s = (*g)->syscalls; *s; s++)
            json_array_append_new(members, json_string(*s));
        json_array_append_new(all, json_pack("{s:s,s:s,s:o}", "name", (*g)->name, "doc", (*g)->doc, "syscalls", members));
        if (as_json)
            continue;
        printf("%-16s %s\n  ", (*g)->name, (*g)->doc);
        for (const char *const *s = (*g)->syscalls; *s; s++)
            printf(" %s", *s);
        putchar('\n');
    }
    if (as_json) {
        char *out = json_dumps(all, JSON_INDENT(2));
        if (out)
            puts(out);
        free(out);
    }
    json_decref(all);
    return 0;
}

int cmd_policy(int argc, char **argv)
{
    if (argc < 2) {
        fputs(policy_usage, stderr);
        return GBOX_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "validate") == 0)
        return validate(argc - 2, argv + 2);
    if (strcmp(sub, "show") == 0)
        return show(argc - 2, argv + 2);
    if (strcmp(sub, "list") == 0)
        return list(argc - 2, argv + 2);
    if (strcmp(sub, "diff") == 0)
        return diff(argc - 2, argv + 2);
    if (strcmp(sub, "groups") == 0)
        return groups(argc - 2, argv + 2);
    if (strcmp(sub, "learn") == 0)
        return cmd_policy_learn(argc - 1, argv + 1);
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(policy_usage, stdout);
        return 0;
    }
    fprintf(stderr, "gbox policy: unknown subcommand \"%s\"\n%s", sub, policy_usage);
    return GBOX_EXIT_USAGE;
}
