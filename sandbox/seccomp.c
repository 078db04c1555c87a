/* seccomp.c — compile the plan's syscall rules into BPF in the parent (libseccomp), load them in
 * the child with the raw seccomp(2) call, right before exec.
 *
 * "kill" actions are compiled to SECCOMP_RET_USER_NOTIF: the blocked call never runs, the parent
 * receives the syscall number and arguments on the listener, kills the whole sandbox and can
 * report exactly which call it was. A plain SECCOMP_RET_KILL_PROCESS would leave only "SIGSYS".
 * The arch check stays a real kill: a syscall from a non-native ABI (i386 int 0x80, x32) dies
 * at once. */
#include "internal.h"
#include "util.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static uint32_t to_scmp_action(struct sbx_action a, bool *notify)
{
    switch (a.kind) {
    case SBX_ACT_ALLOW:
        return SCMP_ACT_ALLOW;
    case SBX_ACT_ERRNO:
        return SCMP_ACT_ERRNO((uint32_t)a.errnum);
    case SBX_ACT_KILL:
        *notify = true;
        return SCMP_ACT_NOTIFY;
    case SBX_ACT_LOG:
        return SCMP_ACT_LOG;
    case SBX_ACT_TRAP:
        return SCMP_ACT_TRAP;
    case SBX_ACT_KILL_PROCESS:
        return SCMP_ACT_KILL_PROCESS;
    }
    return SCMP_ACT_KILL_PROCESS;
}

static const enum scmp_compare cmp_ops[] = {
    [SBX_CMP_EQ] = SCMP_CMP_EQ, [SBX_CMP_NE] = SCMP_CMP_NE,   [SBX_CMP_LT] = SCMP_CMP_LT,
    [SBX_CMP_LE] = SCMP_CMP_LE, [SBX_CMP_GT] = SCMP_CMP_GT,   [SBX_CMP_GE] = SCMP_CMP_GE,
    [SBX_CMP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

static int add_rule(scmp_filter_ctx ctx, const struct sbx_syscall_rule *r, bool *notify,
                    struct sbx_err **err)
{
    struct scmp_arg_cmp cmp[6];
    for (unsigned i = 0; i < r->n_args; i++) {
        const struct sbx_arg_cond *c = &r->args[i];
        cmp[i].arg = c->index;
        cmp[i].op = cmp_ops[c->op];
        if (c->op == SBX_CMP_MASKED_EQ) {
            cmp[i].datum_a = c->mask;
            cmp[i].datum_b = c->value;
        } else {
            cmp[i].datum_a = c->value;
            cmp[i].datum_b = 0;
        }
    }
    int rc = seccomp_rule_add_array(ctx, to_scmp_action(r->action, notify), r->nr, r->n_args, cmp);
    if (rc < 0) {
        char name[64];
        sbx_syscall_name(r->nr, name, sizeof(name));
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, -rc, "seccomp rule for %s", name);
    }
    return 0;
}

/* A canonical byte form of a filter: the cache key, compared in full (no hash to collide). */
struct blob {
    uint64_t *v;
    size_t n, cap;
};

static void blob_put(struct blob *b, uint64_t x)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->v = realloc(b->v, b->cap * sizeof(uint64_t));
        if (!b->v)
            abort();
    }
    b->v[b->n++] = x;
}

static void filter_blob(const struct sbx_filter *f, struct blob *b)
{
    const struct scmp_version *ver = seccomp_version();
    blob_put(b, 0x67626f782d627066ULL); /* "gbox-bpf" */
    blob_put(b, ((uint64_t)ver->major << 32) | ((uint64_t)ver->minor << 16) | ver->micro);
    blob_put(b, (uint64_t)f->default_action.kind << 32 | (uint32_t)f->default_action.errnum);
    blob_put(b, f->n_rules);
    for (size_t i = 0; i < f->n_rules; i++) {
        const struct sbx_syscall_rule *r = &f->rules[i];
        blob_put(b, (uint64_t)(uint32_t)r->nr << 32 | r->n_args);
        blob_put(b, (uint64_t)r->action.kind << 32 | (uint32_t)r->action.errnum);
        for (unsigned a = 0; a < r->n_args; a++) {
            blob_put(b, (uint64_t)r->args[a].index << 32 | (uint32_t)r->args[a].op);
            blob_put(b, r->args[a].value);
            blob_put(b, r->args[a].mask);
        }
    }
}

/* Cache file: [u64 blob words][blob][u16 notify][u16 len][bpf]. Only root writes the directory. */
/* The cache is trusted only if nobody but us can write it: a planted program would be loaded. */
static bool cache_dir_safe(const char *dir)
{
    struct stat st;
    return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
           !(st.st_mode & (S_IWGRP | S_IWOTH));
}

static bool cache_load(const char *dir, const struct blob *key, struct sbx_bpf *out)
{
    if (!cache_dir_safe(dir))
        return false;
    char path[PATH_MAX];
    uint64_t h = 1469598103934665603ULL; /* FNV-1a only picks the file name; the blob decides */
    for (size_t i = 0; i < key->n; i++)
        h = (h ^ key->v[i]) * 1099511628211ULL;
    snprintf(path, sizeof(path), "%s/%016llx.bpf", dir, (unsigned long long)h);
    size_t len = 0;
    char *data = read_file(path, &len);
    size_t kb = key->n * sizeof(uint64_t);
    bool ok = false;
    if (data && len >= 8 + kb + 4) {
        uint64_t words;
        memcpy(&words, data, 8);
        uint16_t notify, n;
        memcpy(&notify, data + 8 + kb, 2);
        memcpy(&n, data + 8 + kb + 2, 2);
        if (words == key->n && memcmp(data + 8, key->v, kb) == 0 &&
            len == 8 + kb + 4 + n * sizeof(struct sock_filter) && n > 0 && n <= BPF_MAXINSNS) {
            out->insns = malloc(n * sizeof(struct sock_filter));
            if (out->insns) {
                memcpy(out->insns, data + 8 + kb + 4, n * sizeof(struct sock_filter));
                out->len = n;
                out->notify = notify;
                ok = true;
            }
        }
    }
    free(data);
    return ok;
}

static void cache_store(const char *dir, const struct blob *key, const struct sbx_bpf *bpf)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < key->n; i++)
        h = (h ^ key->v[i]) * 1099511628211ULL;
    snprintf(path, sizeof(path), "%s/%016llx.bpf", dir, (unsigned long long)h);
    snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
    if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || !cache_dir_safe(dir))
        return;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    uint64_t words = key->n;
    uint16_t notify = bpf->notify, n = bpf->len;
    bool ok = write_all(fd, &words, 8) == 0 && write_all(fd, key->v, key->n * 8) == 0 &&
              write_all(fd, &notify, 2) == 0 && write_all(fd, &n, 2) == 0 &&
              write_all(fd, bpf->insns, n * sizeof(struct sock_filter)) == 0;
    close(fd);
    if (!ok || rename(tmp, path) < 0)
        unlink(tmp);
}

static int compile_filter(const struct sbx_filter *sc, struct sbx_bpf *out, struct sbx_err **err)
{
    memset(out, 0, sizeof(*out));
    bool notify = false;
    uint32_t def = to_scmp_action(sc->default_action, &notify);
    scmp_filter_ctx ctx = seccomp_init(def);
    if (!ctx)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, ENOMEM, "seccomp init");
    int rc = 0;
    /* The native arch only: anything else (i386 via int 0x80, x32) kills the process. */
    if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0 ||
        (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0 ||
        (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) < 0) {
        seccomp_release(ctx);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, -rc, "seccomp attributes");
    }
    for (size_t i = 0; i < sc->n_rules; i++) {
        if (add_rule(ctx, &sc->rules[i], &notify, err) < 0) {
            seccomp_release(ctx);
            return -1;
        }
    }
    /* libseccomp 2.5 exports only to an fd: go through a memfd. */
    int fd = (int)syscall(SYS_memfd_create, "gbox-bpf", MFD_CLOEXEC);
    if (fd < 0) {
        seccomp_release(ctx);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "memfd for seccomp program");
    }
    rc = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    if (rc < 0) {
        close(fd);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, -rc, "seccomp export");
    }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
        size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
        close(fd);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0,
                           "seccomp program has %lld bytes: too large or malformed", (long long)size);
    }
    out->insns = malloc((size_t)size);
    if (!out->insns || pread(fd, out->insns, (size_t)size, 0) != size) {
        int e = errno ? errno : EIO;
        close(fd);
        sbx_seccomp_release(out);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, e, "read seccomp program");
    }
    close(fd);
    out->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
    out->notify = notify;
    return 0;
}

int sbx_seccomp_prepare(const struct sbx_seccomp *sc, const char *cache_dir, struct sbx_bpf out[SBX_MAX_FILTERS],
                        struct sbx_err **err)
{
    memset(out, 0, SBX_MAX_FILTERS * sizeof(*out));
    unsigned notify = 0;
    for (size_t i = 0; i < sc->n_filters && i < SBX_MAX_FILTERS; i++) {
        struct blob key = {0};
        if (cache_dir)
            filter_blob(&sc->filters[i], &key);
        if (!cache_dir || !cache_load(cache_dir, &key, &out[i])) {
            if (compile_filter(&sc->filters[i], &out[i], err) < 0) {
                free(key.v);
                sbx_seccomp_release(out);
                return sbx_err_wrap(err, "seccomp filter %zu", i);
            }
            if (cache_dir)
                cache_store(cache_dir, &key, &out[i]);
        }
        free(key.v);
        notify += out[i].notify;
    }
    if (notify > 1) {
        sbx_seccomp_release(out);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "kill actions in more than one seccomp filter");
    }
    return 0;
}

void sbx_seccomp_release(struct sbx_bpf bpf[SBX_MAX_FILTERS])
{
    for (int i = 0; i < SBX_MAX_FILTERS; i++) {
        free(bpf[i].insns);
        bpf[i].insns = NULL;
        bpf[i].len = 0;
    }
}

int sbx_seccomp_in_child(const struct sbx_bpf bpf[SBX_MAX_FILTERS], int *listener, struct child_err *ce)
{
    *listener = -1;
    for (int i = 0; i < SBX_MAX_FILTERS; i++) {
        if (!bpf[i].len)
            continue;
        struct sock_fprog prog = {.len = bpf[i].len, .filter = bpf[i].insns};
        unsigned flags = bpf[i].notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
        long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
        if (rc < 0)
            return child_fail(ce, "seccomp", errno, "load seccomp filter %d (%u instructions)", i,
                              bpf[i].len);
        if (bpf[i].notify)
            *listener = (int)rc;
    }
    /* Fail closed: the filter must be in force now. */
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2)
        return child_fail(ce, "seccomp", 0, "seccomp filter not in force after loading");
    return 0;
}

void sbx_syscall_name(int nr, char *buf, size_t len)
{
    char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (name) {
        snprintf(buf, len, "%s", name);
        free(name);
    } else {
        snprintf(buf, len, "syscall-%d", nr);
    }
}
