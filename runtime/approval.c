/* approval.c — the approval queue: changes that wait for a second, explicit decision.
 *
 * Each pending entry is DIR/a-NNNNNN.json, written atomically (temp file, fsync, rename, fsync of
 * the directory) before submit returns, and unlinked (with a directory fsync) before take or
 * reject returns: a daemon killed at any point finds either the whole entry or none. Ids are never
 * reused: the last one handed out is kept in DIR/seq (also written atomically), so an approval
 * given for "a-000004" cannot apply a later, different change that happens to get the same id. */
#include "approval.h"
#include "../sandbox/util.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct approval_queue {
    char *dir;
    unsigned long seq; /* the last id handed out */
    json_t *pending;   /* id -> entry */
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vformat_msg(err, errlen, 0, fmt, ap);
    va_end(ap);
    return rc;
}

/* "a-" followed by 6 to 12 digits: nothing else may name a file in the queue directory. */
static bool parse_id(const char *id, unsigned long *n)
{
    if (!id || strncmp(id, "a-", 2) != 0)
        return false;
    size_t len = strlen(id + 2);
    if (len < 6 || len > 12 || strspn(id + 2, "0123456789") != len)
        return false;
    if (n)
        *n = strtoul(id + 2, NULL, 10);
    return true;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int write_atomic(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, text, strlen(text)) == 0 && fsync(fd) == 0 ? 0 : -1;
    int saved = errno;
    close(fd);
    if (rc == 0)
        rc = rename(tmp, path);
    if (rc < 0) {
        saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    return fsync_dir(dir);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool entry_valid(const json_t *e, const char *id)
{
    const char *eid = json_string_value(json_object_get(e, "id"));
    return json_is_object(e) && eid && strcmp(eid, id) == 0 && json_is_string(json_object_get(e, "kind")) &&
           json_is_string(json_object_get(e, "domain")) && json_is_string(json_object_get(e, "target")) &&
           json_object_get(e, "payload") && json_is_integer(json_object_get(e, "requester")) &&
           json_is_integer(json_object_get(e, "time"));
}

static int load_entries(struct approval_queue *q, char *err, size_t errlen)
{
    DIR *d = opendir(q->dir);
    if (!d)
        return fail(err, errlen, -errno, "open approval queue %s: %s", q->dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        char id[64];
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' && len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0) {
            unlinkat(dirfd(d), de->d_name, 0); /* a write cut short by a crash: never acknowledged */
            continue;
        }
        if (len < 6 || len - 5 >= sizeof(id) || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        snprintf(id, sizeof(id), "%.*s", (int)(len - 5), de->d_name);
        unsigned long n;
        if (!parse_id(id, &n))
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", q->dir, de->d_name);
        json_error_t je;
        json_t *e = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
        if (!entry_valid(e, id)) {
            rc = fail(err, errlen, -EINVAL, "approval entry %s: %s", path,
                      e ? "expected {id, kind, domain, target, payload, requester, time}" : je.text);
            json_decref(e);
            break;
        }
        json_object_set_new(q->pending, id, e);
        if (n > q->seq)
            q->seq = n;
    }
    closedir(d);
    return rc;
}

int approval_open(struct approval_queue **qp, const char *dir, char *err, size_t errlen)
{
    *qp = NULL;
    if (!dir || !*dir)
        return fail(err, errlen, -EINVAL, "approval queue: no directory given");
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return fail(err, errlen, -errno, "create approval queue %s: %s", dir, strerror(errno));
    struct approval_queue *q = xcalloc(1, sizeof(*q));
    q->dir = xstrdup(dir);
    q->pending = json_object();
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/seq", dir);
    char *s = read_file(path, NULL);
    if (s) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        bool ok = errno == 0 && end != s && (*end == '\0' || *end == '\n');
        free(s);
        if (!ok) {
            approval_close(q);
            return fail(err, errlen, -EINVAL, "approval queue %s: expected a number", path);
        }
        q->seq = v;
    } else if (errno != ENOENT) {
        int e = errno;
        approval_close(q);
        return fail(err, errlen, -e, "read %s: %s", path, strerror(e));
    }
    int rc = load_entries(q, err, errlen);
    if (rc < 0) {
        approval_close(q);
        return rc;
    }
    *qp = q;
    return 0;
}

void approval_close(struct approval_queue *q)
{
    if (!q)
        return;
    json_decref(q->pending);
    free(q->dir);
    free(q);
}

int approval_submit(struct approval_queue *q, const char *kind, const char *domain, const char *target,
                    json_t *payload, uid_t requester, char *id, size_t idlen, char *err, size_t errlen)
{
    if (!kind || !*kind || !domain || !payload)
        return fail(err, errlen, -EINVAL, "approval: kind, domain and payload are required");
    if (idlen < 32)
        return fail(err, errlen, -EINVAL, "approval: id buffer too small");
    unsigned long n = q->seq + 1;
    char newid[32], seqtext[32], name[64];
    snprintf(newid, sizeof(newid), "a-%06lu", n);
    snprintf(seqtext, sizeof(seqtext), "%lu\n", n);
    /* the sequence first: a crash after it wastes an id, never reuses one */
    if (write_atomic(q->dir, "seq", seqtext) < 0)
        return fail(err, errlen, -errno, "approval queue %s/seq: %s", q->dir, strerror(errno));
    q->seq = n;
    json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:O,s:I,s:I}", "id", newid, "kind", kind, "domain", domain,
                          "target", target ? target : "", "payload", payload, "requester",
                          (json_int_t)requester, "time", (json_int_t)wall_ms());
    if (!e)
        return fail(err, errlen, -ENOMEM, "approval: out of memory");
    /* the payload is copied: the caller may change or free its own */
    json_object_set_new(e, "payload", json_deep_copy(payload));
    char *text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(name, sizeof(name), "%s.json", newid);
    int rc = 0;
    if (!text) {
        rc = fail(err, errlen, -ENOMEM, "approval: out of memory");
    } else {
        size_t tl = strlen(text);
        char *line = realloc(text, tl + 2);
        if (line) {
            text = line;
            memcpy(text + tl, "\n", 2);
        }
        if (write_atomic(q->dir, name, text) < 0)
            rc = fail(err, errlen, -errno, "write approval entry %s/%s: %s", q->dir, name, strerror(errno));
    }
    free(text);
    if (rc < 0) {
        json_decref(e);
        return rc;
    }
    json_object_set_new(q->pending, newid, e);
    snprintf(id, idlen, "%s", newid);
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "id"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "id"));
    unsigned long nx = 0, ny = 0;
    parse_id(x, &nx);
    parse_id(y, &ny);
    return nx < ny ? -1 : nx > ny;
}

json_t *approval_list(struct approval_queue *q)
{
    size_t n = json_object_size(q->pending), i = 0;
    json_t **v = xcalloc(n ? n : 1, sizeof(*v));
    const char *k;
    json_t *e;
    json_object_foreach(q->pending, k, e) v[i++] = e;
    qsort(v, n, sizeof(*v), cmp_id);
    json_t *arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, json_deep_copy(v[i]));
    free(v);
    return arr;
}

static int remove_entry(struct approval_queue *q, const char *id, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s.json", q->dir, id);
    if (unlink(path) < 0 && errno != ENOENT)
        return fail(err, errlen, -errno, "remove approval entry %s: %s", path, strerror(errno));
    fsync_dir(q->dir);
    json_object_del(q->pending, id);
    return 0;
}

static json_t *find(struct approval_queue *q, const char *id, char *err, size_t errlen)
{
    json_t *e = parse_id(id, NULL) ? json_object_get(q->pending, id) : NULL;
    if (!e)
        fail(err, errlen, -ENOENT, "%s: no such pending change (gbox config pending lists them)", id ? id : "(no id)");
    return e;
}

int approval_take(struct approval_queue *q, const char *id, uid_t approver, int distinct_approver,
                  json_t **entry, char *err, size_t errlen)
{
    *entry = NULL;
    json_t *e = find(q, id, err, errlen);
    if (!e)
        return -ENOENT;
    uid_t requester = (uid_t)json_integer_value(json_object_get(e, "requester"));
    if (distinct_approver && approver == requester)
        return fail(err, errlen, -EPERM,
                    "approve %s: uid %d requested this change and may not approve it too "
                    "(safety.distinct_approver: another uid must approve)",
                    id, (int)approver);
    json_t *copy = json_incref(e);
    int rc = remove_entry(q, id, err, errlen);
    if (rc < 0) {
        json_decref(copy);
        return rc;
    }
    *entry = copy;
    return 0;
}

int approval_reject(struct approval_queue *q, const char *id, uid_t approver, char *err, size_t errlen)
{
    (void)approver; /* who rejected is the caller's audit entry */
    if (!find(q, id, err, errlen))
        return -ENOENT;
    return remove_entry(q, id, err, errlen);
}
