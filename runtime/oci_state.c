/* oci_state.c — per-container state of the OCI front end (see oci_state.h). */
#include "oci_state.h"

#include "cli.h"
#include "report.h"
#include "../sandbox/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

bool oci_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 128 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return false;
    return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-.") == n;
}

int oci_state_open(const char *root, const char *id, struct oci_state *st, struct sbx_err **err)
{
    memset(st, 0, sizeof(*st));
    st->lock_fd = -1;
    if (!oci_id_valid(id))
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "invalid container id \"%s\": expected 1-128 of letters, digits and _+-.", id);
    snprintf(st->dir, sizeof(st->dir), "%s/%s", root, id);
    st->lock_fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->lock_fd < 0) {
        if (errno == ENOENT)
            return sbx_err_set(err, 1, 0, "container %s does not exist", id);
        return sbx_err_set(err, 1, errno, "open %s", st->dir);
    }
    if (TEMP_RETRY(flock(st->lock_fd, LOCK_EX)) < 0)
        return sbx_err_set(err, 1, errno, "lock %s", st->dir);
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/state.json", st->dir);
    json_error_t je;
    st->doc = json_load_file(p, 0, &je);
    if (!st->doc) {
        /* the directory exists but create has not written the state yet (or crashed) */
        st->doc = json_pack("{s:s,s:b}", "id", id, "incomplete", 1);
    }
    return 0;
}

int oci_state_save(struct oci_state *st, struct sbx_err **err)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/state.json", st->dir);
    return report_write(st->doc, p, err);
}

void oci_state_close(struct oci_state *st)
{
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    json_decref(st->doc);
    st->doc = NULL;
    st->lock_fd = -1;
}

bool oci_pid_alive(pid_t pid, long long start)
{
    if (pid <= 0)
        return false;
    long long now = proc_start_time(pid);
    if (now < 0 || now != start)
        return false;
    /* a zombie is not alive: its state letter is Z */
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

static pid_t jpid(const json_t *doc, const char *key)
{
    return (pid_t)json_integer_value(json_object_get(doc, key));
}

static long long jll(const json_t *doc, const char *key)
{
    return (long long)json_integer_value(json_object_get(doc, key));
}

static bool frozen(const json_t *doc)
{
    const char *v2 = json_string_value(json_object_get(doc, "cgroup_v2"));
    if (!v2)
        return false;
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/cgroup.events", v2);
    size_t len;
    char *ev = read_file(p, &len);
    bool f = ev && strstr(ev, "frozen 1");
    free(ev);
    return f;
}

const char *oci_state_status(const json_t *doc)
{
    if (json_is_true(json_object_get(doc, "incomplete")))
        return "creating";
    if (!oci_pid_alive(jpid(doc, "shim_pid"), jll(doc, "shim_start")))
        return "stopped";
    if (!oci_pid_alive(jpid(doc, "init_pid"), jll(doc, "init_start")))
        return "stopped";
    if (!json_is_true(json_object_get(doc, "started")))
        return "created";
    return frozen(doc) ? "paused" : "running";
}

void oci_state_where(const json_t *doc, struct sbx_started *w)
{
    memset(w, 0, sizeof(*w));
    w->init_pid = jpid(doc, "init_pid");
    w->cgroup_v2 = json_string_value(json_object_get(doc, "cgroup_v2"));
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(doc, "cgroup_v1"), i, e)
    {
        if (w->n_cgroup_v1 < ARRAY_LEN(w->cgroup_v1) && json_is_string(e))
            w->cgroup_v1[w->n_cgroup_v1++] = json_string_value(e);
    }
}

json_t *oci_state_public(const json_t *doc)
{
    const char *status = oci_state_status(doc);
    bool stopped = strcmp(status, "stopped") == 0;
    json_t *o = json_pack("{s:s,s:O,s:s,s:i}", "ociVersion", "1.0.2", "id", json_object_get(doc, "id"),
                          "status", status, "pid", stopped ? 0 : (int)jpid(doc, "shim_pid"));
    const json_t *v;
    if ((v = json_object_get(doc, "bundle")))
        json_object_set(o, "bundle", (json_t *)v);
    if ((v = json_object_get(doc, "created")))
        json_object_set(o, "created", (json_t *)v);
    if ((v = json_object_get(doc, "annotations")) && json_object_size(v))
        json_object_set(o, "annotations", (json_t *)v);
    return o;
}

static void remove_tree(int dirfd)
{
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd, e->d_name, 0) == 0 || errno != EISDIR)
            continue;
        int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
            remove_tree(sub);
        unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
    }
    closedir(d);
}

void oci_state_remove(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
        remove_tree(fd);
    rmdir(dir);
}
