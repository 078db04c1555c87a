/* policy_cache.c — a policy resolved once, loaded many times (issue #10).
 *
 * Parsing the chain, validating each file against the schema (which is parsed too), merging and
 * filling the defaults were most of `gbox run`'s own work (callgrind: 4.5 of 6.2 million
 * instructions). What comes out depends only on the bytes of the chain's files and on the gbox
 * binary, so it is kept under the run directory, keyed by sha256 of the binary's identity, the top
 * file's real path and its content. An entry lists every file of the chain with the sha256 of the
 * bytes that were parsed; it is used only if each file still has that content: the same file with
 * the same fingerprint (one stat, dep_unchanged), or else the same bytes. The checks that
 * look at the host (fallback targets) and the seccomp plan are still done on every load
 * (policy.c). Like the seccomp cache it is trusted only if nobody but us can write it.
 */
#include "policy_cache.h"

#include "paths.h"
#include "../sandbox/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define CACHE_FORMAT "gbox-policy-cache-3"

/* SHA-256 (FIPS 180-4), here rather than from libcrypto: OpenSSL 3's first EVP_Digest in a
 * process initialises its providers, which costs more than the parse this cache avoids. */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

void policy_cache_digest(const void *buf, size_t len, char hex[65])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const unsigned char *p = buf;
    size_t left = len;
    for (; left >= 64; p += 64, left -= 64)
        sha256_block(h, p);
    unsigned char tail[128] = {0};
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tl = left < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
    sha256_block(h, tail);
    if (tl == 128)
        sha256_block(h, tail + 64);
    static const char x[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        unsigned char byte = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
        hex[2 * i] = x[byte >> 4];
        hex[2 * i + 1] = x[byte & 15];
    }
    hex[64] = '\0';
}

static const char *cache_dir(char *buf, size_t len)
{
    snprintf(buf, len, "%s/policy-cache", gbox_run_dir());
    return buf;
}

static bool owned_by_us(const struct stat *st)
{
    return st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* The entry's path for this binary, file and content. false: no identity for the binary. */
static bool entry_path(const char *real, const char *top, size_t len, char *out, size_t outlen)
{
    struct stat exe;
    if (stat("/proc/self/exe", &exe) < 0)
        return false;
    /* a rebuilt or replaced binary (another schema, other defaults or merge rules) misses */
    char head[512];
    int hn = snprintf(head, sizeof(head), "%s\n%llu:%llu:%lld:%lld.%09ld\n%s\n", CACHE_FORMAT,
                      (unsigned long long)exe.st_dev, (unsigned long long)exe.st_ino,
                      (long long)exe.st_size, (long long)exe.st_mtim.tv_sec, exe.st_mtim.tv_nsec, real);
    if (hn < 0 || (size_t)hn >= sizeof(head))
        return false;
    char *key = malloc((size_t)hn + len);
    if (!key)
        return false;
    memcpy(key, head, (size_t)hn);
    memcpy(key + hn, top, len);
    char hex[65], dir[PATH_MAX];
    policy_cache_digest(key, (size_t)hn + len, hex);
    free(key);
    snprintf(out, outlen, "%s/%s.json", cache_dir(dir, sizeof(dir)), hex);
    return true;
}

/* File systems whose ctime nobody can set back and whose stat is the truth: a fingerprint on
 * anything else (NFS or FUSE answering from an attribute cache, squashfs/erofs images whose times
 * and inode numbers a rebuild reproduces, overlays over them) is never taken. */
static bool fs_fingerprintable(int fd)
{
    static const long ok[] = {0xEF53 /* ext2/3/4 */, 0x58465342 /* xfs */, 0x9123683E /* btrfs */,
                              0x01021994 /* tmpfs */, (long)0xF2F52010 /* f2fs */};
    struct statfs sf;
    if (fstatfs(fd, &sf) < 0)
        return false;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if ((long)sf.f_type == ok[i])
            return true;
    return false;
}

/* "dev:ino:size:mtime:ctime|dev:ino" of a file and of its directory (which pins what a relative
 * `extends` in it resolves to: directories have no hard links). */
static bool fp_text(const struct stat *st, const char *path, char *out, size_t len)
{
    char dir[PATH_MAX];
    struct stat ds;
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return false;
    *slash = '\0';
    if (stat(dir, &ds) < 0)
        return false;
    snprintf(out, len, "%llu:%llu:%lld:%lld.%09ld:%lld.%09ld|%llu:%llu", (unsigned long long)st->st_dev,
             (unsigned long long)st->st_ino, (long long)st->st_size, (long long)st->st_mtim.tv_sec,
             st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec,
             (unsigned long long)ds.st_dev, (unsigned long long)ds.st_ino);
    return true;
}

static int64_t ns_of(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

void policy_cache_fingerprint(const struct stat *before, const struct stat *after, const char *path, char *out,
                              size_t len)
{
    char a[200];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t changed = ns_of(after->st_ctim) > ns_of(after->st_mtim) ? ns_of(after->st_ctim) : ns_of(after->st_mtim);
    if (!fp_text(before, path, out, len) || !fp_text(after, path, a, sizeof(a)) || strcmp(a, out) != 0 ||
        !S_ISREG(after->st_mode) || ns_of(now) - changed < (int64_t)POLICY_CACHE_SETTLE_S * 1000000000)
        out[0] = '\0';
}

/* The whole file and its fingerprint for the cache (policy_cache_fingerprint), or NULL. */
char *policy_cache_read(const char *path, size_t *len, char *fp, size_t fplen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat before, after;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &before) < 0 || !S_ISREG(before.st_mode) || before.st_size > (16 << 20)) {
        close(fd);
        return NULL;
    }
    char *buf = malloc((size_t)before.st_size + 1);
    size_t n = 0;
    ssize_t r = 0;
    while (buf && n < (size_t)before.st_size && (r = read(fd, buf + n, (size_t)before.st_size - n)) > 0)
        n += (size_t)r;
    if (!buf || r < 0 || fstat(fd, &after) < 0) {
        free(buf);
        close(fd);
        return NULL;
    }
    bool local = fs_fingerprintable(fd);
    close(fd);
    buf[n] = '\0';
    *len = n;
    if (local)
        policy_cache_fingerprint(&before, &after, path, fp, fplen);
    else if (fplen)
        fp[0] = '\0';
    return buf;
}

/* One file of the chain as it was: the named path is the same file, unchanged since (its
 * fingerprint: one stat), or else it resolves to the same realpath with the same bytes (read and
 * hashed; fresh gets the file's fingerprint then, "" if it is not settled). Issue #10: realpath's
 * readlink per component, the read and the hash of three files were a third of a cached load. */
static bool dep_unchanged(const char *real, const char *hex, const char *named, const char *fp, char *fresh,
                          size_t flen)
{
    struct stat st;
    char now[PATH_MAX];
    fresh[0] = '\0';
    /* only a file named by its real path: through a symlink, the realpath check below */
    if (fp && *fp && strcmp(named, real) == 0 && stat(named, &st) == 0 && fp_text(&st, named, now, sizeof(now)) &&
        strcmp(now, fp) == 0)
        return true;
    if (!realpath(named, now) || strcmp(now, real) != 0)
        return false;
    size_t n = 0;
    char *s = policy_cache_read(real, &n, fresh, flen);
    if (!s)
        return false;
    char got[65];
    policy_cache_digest(s, n, got);
    free(s);
    return strcmp(got, hex) == 0;
}

static void write_entry(const char *path, const json_t *e);

json_t *policy_cache_get(const char *real, const char *top, size_t len)
{
    char path[PATH_MAX], dir[PATH_MAX];
    struct stat st;
    if (lstat(cache_dir(dir, sizeof(dir)), &st) < 0 || !S_ISDIR(st.st_mode) || !owned_by_us(&st) ||
        !entry_path(real, top, len, path, sizeof(path)))
        return NULL;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    json_t *e = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && owned_by_us(&st) && st.st_size > 0 &&
        st.st_size < (16 << 20)) {
        char *text = malloc((size_t)st.st_size);
        if (text && read(fd, text, (size_t)st.st_size) == st.st_size) /* json_loadf: getc a byte at a time */
            e = json_loadb(text, (size_t)st.st_size, 0, NULL);
        free(text);
    }
    close(fd);
    const json_t *deps = json_object_get(e, "deps");
    json_t *root = json_object_get(e, "root");
    bool ok = json_is_array(deps) && json_array_size(deps) > 0 && json_is_object(root), refresh = false;
    size_t i;
    const json_t *d;
    json_array_foreach(deps, i, d)
    {
        const char *p = json_string_value(json_array_get(d, 0)), *h = json_string_value(json_array_get(d, 1));
        const char *named = json_string_value(json_array_get(d, 2));
        char fresh[160];
        if (!ok || !p || !h || !named ||
            !dep_unchanged(p, h, named, json_string_value(json_array_get(d, 3)), fresh, sizeof(fresh))) {
            ok = false;
            break;
        }
        if (fresh[0]) { /* settled since the entry was written: the next load only stats it */
            json_array_set_new((json_t *)d, 3, json_string(fresh));
            refresh = true;
        }
    }
    if (ok && refresh)
        write_entry(path, e);
    if (ok)
        json_incref(root);
    json_decref(e);
    return ok ? root : NULL;
}

/* A bound on the directory (policies written by tests, edited ones, rebuilt binaries): past
 * MAX_ENTRIES, it starts again empty. */
#define MAX_ENTRIES 256

static void bound(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    size_t n = 0;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    if (n >= MAX_ENTRIES) {
        rewinddir(d);
        while ((de = readdir(d)))
            if (de->d_name[0] != '.')
                unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}

void policy_cache_put(const char *real, const char *top, size_t len, const json_t *deps, const json_t *root)
{
    char path[PATH_MAX], dir[PATH_MAX];
    struct stat st;
    cache_dir(dir, sizeof(dir));
    if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
        !owned_by_us(&st) || !entry_path(real, top, len, path, sizeof(path)))
        return;
    bound(dir);
    json_t *e = json_pack("{s:O,s:O}", "deps", (json_t *)deps, "root", (json_t *)root);
    write_entry(path, e);
    json_decref(e);
}

/* Atomically: a reader sees the old entry or the new one, never a part. */
static void write_entry(const char *path, const json_t *e)
{
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
    char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
    int fd = text ? open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
    bool ok = fd >= 0 && write_all(fd, text, strlen(text)) == 0;
    if (fd >= 0)
        close(fd);
    if (fd >= 0 && (!ok || rename(tmp, path) < 0))
        unlink(tmp);
    free(text);
}
