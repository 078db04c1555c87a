/* paths.c — locating policies, images and the run directory. A build tree works without
 * installing: the binary in build/ finds ../policies and build/images next to it. */
#include "paths.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef GBOX_DATADIR
#define GBOX_DATADIR "/usr/local/share/gbox"
#endif

static const char *exe_dir(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
        ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
        if (n <= 0)
            return ".";
        dir[n] = '\0';
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
    }
    return dir;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

bool path_real_subdir(const char *real_dir, const char *name, char *out, size_t len)
{
    struct stat st;
    if (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
        (size_t)snprintf(out, len, "%s/%s", real_dir, name) >= len)
        return false;
    return lstat(out, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *pick(char *buf, size_t len, const char *env, const char *rel, const char *sub)
{
    if (!buf[0]) {
        const char *e = getenv(env);
        if (e && *e) {
            snprintf(buf, len, "%s", e);
            return buf;
        }
        char tree[PATH_MAX], real[PATH_MAX];
        snprintf(tree, sizeof(tree), "%s/%s", exe_dir(), rel);
        if (path_real_subdir(exe_dir(), rel, real, sizeof(real)) || (is_dir(tree) && realpath(tree, real)))
            snprintf(buf, len, "%s", real);
        else {
            /* canonical like the build tree's (stack.c relies on it), when it exists */
            snprintf(tree, sizeof(tree), "%s/%s", GBOX_DATADIR, sub);
            snprintf(buf, len, "%s", realpath(tree, real) ? real : tree);
        }
    }
    return buf;
}

const char *gbox_policy_dir(void)
{
    static char buf[PATH_MAX];
    return pick(buf, sizeof(buf), "GBOX_POLICY_DIR", "../policies", "policies");
}

const char *gbox_image_dir(void)
{
    static char buf[PATH_MAX];
    return pick(buf, sizeof(buf), "GBOX_IMAGE_DIR", "images", "images");
}

const char *gbox_run_dir(void)
{
    const char *e = getenv("GBOX_RUN_DIR");
    return e && *e ? e : "/run/gbox";
}

const char *daemon_state_dir(void)
{
    const char *e = getenv("GBOX_STATE_DIR");
    return e && *e ? e : "/var/lib/gbox/daemon";
}
