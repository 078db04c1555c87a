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
#include <stdio.h>
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

int sbx_seccomp_prepare(const struct sbx_seccomp *sc, struct sbx_bpf out[2], struct sbx_err **err)
{
    memset(out, 0, 2 * sizeof(*out));
    unsigned notify = 0;
    for (size_t i = 0; i < sc->n_filters && i < 2; i++) {
        if (compile_filter(&sc->filters[i], &out[i], err) < 0) {
            sbx_seccomp_release(out);
            return sbx_err_wrap(err, "seccomp filter %zu", i);
        }
        notify += out[i].notify;
    }
    if (notify > 1) {
        sbx_seccomp_release(out);
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, 0, "kill actions in more than one seccomp filter");
    }
    return 0;
}

void sbx_seccomp_release(struct sbx_bpf bpf[2])
{
    for (int i = 0; i < 2; i++) {
        free(bpf[i].insns);
        bpf[i].insns = NULL;
        bpf[i].len = 0;
    }
}

int sbx_seccomp_in_child(const struct sbx_bpf bpf[2], int *listener, struct child_err *ce)
{
    *listener = -1;
    for (int i = 0; i < 2; i++) {
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
