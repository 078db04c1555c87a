/* audit.c — the hash-chained audit log (audit.h). Appends are one write(2) on an O_APPEND
 * descriptor, like the event journal: lines stay whole. The chain only shows that the log was
 * changed after the fact; someone who can rewrite the whole file and its head can forge a new
 * chain, which is why the head file can be copied elsewhere (docs/architecture.md). */
#include "audit.h"
#include "../sandbox/util.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_HEX 64
static const char genesis[HASH_HEX + 1] = "0000000000000000000000000000000000000000000000000000000000000000";
static const char hash_key[] = ",\"hash\":\"";

struct audit_log {
    int fd;
    char *path, *head;
    long long seq;
    char prev[HASH_HEX + 1];
};

static void sha256_hex(const char *data, size_t len, char out[HASH_HEX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
        abort(); /* sha256 is always there: no chain is better than a wrong one */
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Split a chained line into its entry text (without the hash, closing brace restored in body)
 * and its hash. false: the line carries no hash. */
static bool split_line(const char *line, size_t len, char **body, char hash[HASH_HEX + 1])
{
    const char *k = NULL;
    for (const char *p = line; (p = strstr(p, hash_key)) && (size_t)(p - line) < len; p++)
        k = p; /* the last one: the hash is written last */
    size_t kl = sizeof(hash_key) - 1;
    if (!k || (size_t)(line + len - k) != kl + HASH_HEX + 2 || !is_hex(k + kl, HASH_HEX) ||
        k[kl + HASH_HEX] != '"' || k[kl + HASH_HEX + 1] != '}')
        return false;
    memcpy(hash, k + kl, HASH_HEX);
    hash[HASH_HEX] = '\0';
    size_t bl = (size_t)(k - line);
    *body = xcalloc(1, bl + 2);
    memcpy(*body, line, bl);
    (*body)[bl] = '}';
    return true;
}

/* seq and prev of a chained entry's body; false if they are missing. */
static bool body_fields(const char *body, long long *seq, char prev[HASH_HEX + 1])
{
    json_t *e = json_loads(body, 0, NULL);
    const char *p = json_string_value(json_object_get(e, "prev"));
    bool ok = json_is_object(e) && json_is_integer(json_object_get(e, "seq")) && p && strlen(p) == HASH_HEX;
    if (ok) {
        *seq = json_integer_value(json_object_get(e, "seq"));
        snprintf(prev, HASH_HEX + 1, "%s", p);
    }
    json_decref(e);
    return ok;
}

/* The last whole line of the file: where the chain goes on. */
static int find_tail(struct audit_log *a)
{
    struct stat st;
    if (fstat(a->fd, &st) < 0)
        return -errno;
    off_t want = st.st_size > 65536 ? 65536 : st.st_size;
    char *buf = xcalloc(1, (size_t)want + 1);
    ssize_t n = pread(a->fd, buf, (size_t)want, st.st_size - want);
    if (n < 0) {
        free(buf);
        return -errno;
    }
    bool unterminated = n > 0 && buf[n - 1] != '\n';
    /* a line cut short by a crash has no newline: ignore it, the next entry starts a new line */
    char *end = buf + n;
    while (end > buf && end[-1] != '\n')
        end--;
    if (end > buf)
        end--; /* the newline of the last whole line */
    *end = '\0';
    char *start = strrchr(buf, '\n');
    start = start ? start + 1 : buf;
    char *body = NULL, hash[HASH_HEX + 1], prev[HASH_HEX + 1];
    long long seq;
    if (*start && split_line(start, strlen(start), &body, hash) && body_fields(body, &seq, prev)) {
        a->seq = seq;
        snprintf(a->prev, sizeof(a->prev), "%s", hash);
    }
    free(body);
    /* an unterminated tail: end it so the next entry is a line of its own */
    if (unterminated && write_all(a->fd, "\n", 1) < 0) {
        free(buf);
        return -errno;
    }
    free(buf);
    return 0;
}

int audit_log_open(struct audit_log **ap, const char *path, char *err, size_t errlen)
{
    *ap = NULL;
    struct audit_log *a = xcalloc(1, sizeof(*a));
    a->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    snprintf(a->prev, sizeof(a->prev), "%s", genesis);
    int rc = a->fd < 0 ? -errno : find_tail(a);
    if (rc < 0) {
        snprintf(err, errlen, "open audit log %s: %s", path, strerror(-rc));
        audit_log_close(a);
        return rc;
    }
    a->path = xstrdup(path);
    size_t hl = strlen(path) + 6;
    a->head = xcalloc(1, hl);
    snprintf(a->head, hl, "%s.head", path);
    *ap = a;
    return 0;
}

void audit_log_close(struct audit_log *a)
{
    if (!a)
        return;
    if (a->fd >= 0)
        close(a->fd);
    free(a->path);
    free(a->head);
    free(a);
}

static void write_head(struct audit_log *a)
{
    char tmp[PATH_MAX], text[160];
    snprintf(tmp, sizeof(tmp), "%s.tmp", a->head);
    snprintf(text, sizeof(text), "{\"hash\":\"%s\",\"seq\":%lld}\n", a->prev, a->seq);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;
    int rc = write_all(fd, text, strlen(text));
    close(fd);
    if (rc == 0)
        rename(tmp, a->head);
}

int audit_log_append(struct audit_log *a, const json_t *entry)
{
    json_t *e = json_deep_copy(entry);
    if (!json_is_object(e)) {
        json_decref(e);
        return -EINVAL;
    }
    json_object_del(e, "hash");
    json_object_set_new(e, "seq", json_integer(a->seq + 1));
    json_object_set_new(e, "prev", json_string(a->prev));
    char *text = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(e);
    if (!text)
        return -ENOMEM;
    size_t tl = strlen(text);
    char hash[HASH_HEX + 1];
    sha256_hex(text, tl, hash);
    char *line = xcalloc(1, tl + sizeof(hash_key) + HASH_HEX + 4);
    memcpy(line, text, tl - 1); /* without its closing brace */
    int n = snprintf(line + tl - 1, sizeof(hash_key) + HASH_HEX + 4, "%s%s\"}\n", hash_key, hash);
    free(text);
    int rc = write_all(a->fd, line, tl - 1 + (size_t)n) < 0 ? -errno : 0;
    free(line);
    if (rc < 0)
        return rc;
    a->seq++;
    snprintf(a->prev, sizeof(a->prev), "%s", hash);
    write_head(a);
    return 0;
}

static int broken(struct audit_report *r, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int broken(struct audit_report *r, long line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    r->bad_line = line;
    return 1;
}

/* Check one line against the chain so far; 0 or 1 (broken). */
static int verify_line(const char *path, char *line, long ln, long long *seq, char prev[HASH_HEX + 1],
                       struct audit_report *r)
{
    char *body = NULL, hash[HASH_HEX + 1], eprev[HASH_HEX + 1], calc[HASH_HEX + 1];
    long long eseq;
    if (!split_line(line, strlen(line), &body, hash)) {
        if (r->entries == 0) {
            json_t *legacy = json_loads(line, 0, NULL);
            bool ok = json_is_object(legacy) && !json_object_get(legacy, "seq");
            json_decref(legacy);
            if (ok) {
                r->legacy++;
                return 0;
            }
        }
        return broken(r, ln, "%s:%ld: entry has no hash (edited, or inserted)", path, ln);
    }
    int rc = 0;
    sha256_hex(body, strlen(body), calc);
    if (strcmp(calc, hash) != 0)
        rc = broken(r, ln, "%s:%ld: entry was changed (its hash is %.12s…, its content hashes to %.12s…)",
                    path, ln, hash, calc);
    else if (!body_fields(body, &eseq, eprev))
        rc = broken(r, ln, "%s:%ld: entry has no seq or prev", path, ln);
    else if (eseq != *seq + 1)
        rc = broken(r, ln, "%s:%ld: entry seq %lld follows seq %lld (entries removed or reordered)", path, ln,
                    eseq, *seq);
    else if (strcmp(eprev, prev) != 0)
        rc = broken(r, ln, "%s:%ld: entry's prev does not match the hash of the entry before (entries "
                    "removed or reordered)", path, ln);
    free(body);
    if (rc == 0) {
        *seq = eseq;
        snprintf(prev, HASH_HEX + 1, "%s", hash);
        r->entries++;
    }
    return rc;
}

int audit_verify(const char *path, struct audit_report *r)
{
    memset(r, 0, sizeof(*r));
    size_t len = 0;
    char *data = read_file(path, &len);
    if (!data)
        return -errno;
    long long seq = 0;
    char prev[HASH_HEX + 1];
    snprintf(prev, sizeof(prev), "%s", genesis);
    long ln = 0;
    int rc = 0;
    char *p = data;
    /* strtok_r would skip empty lines: an emptied entry must count as a broken one */
    for (char *nl; rc == 0 && p < data + len; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(data + len - p));
        if (!nl)
            nl = data + len;
        *nl = '\0';
        ln++;
        rc = verify_line(path, p, ln, &seq, prev, r);
    }
    free(data);
    if (rc)
        return rc;
    /* the head names the last entry: entries cut off the end are missing from the chain */
    char head[PATH_MAX];
    snprintf(head, sizeof(head), "%s.head", path);
    json_t *h = json_load_file(head, 0, NULL);
    if (h) {
        long long hseq = json_integer_value(json_object_get(h, "seq"));
        const char *hh = json_string_value(json_object_get(h, "hash"));
        if (hseq != seq || !hh || strcmp(hh, seq ? prev : genesis) != 0)
            rc = broken(r, ln + 1, "%s: the log ends at seq %lld but %s names seq %lld (entries removed from "
                        "the end)", path, seq, head, hseq);
        json_decref(h);
    } else if (seq > 0) {
        rc = broken(r, ln + 1, "%s: missing (it names the last entry; without it, entries removed from the "
                    "end cannot be told)", head);
    }
    if (rc == 0)
        snprintf(r->msg, sizeof(r->msg), "%s: %ld entries intact%s", path, r->entries,
                 r->legacy ? " (after lines written before chaining, not covered)" : "");
    return rc;
}
