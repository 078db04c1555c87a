/* userns.c — uid/gid maps (written by the parent) and the program's credentials (set by the child).
 *
 * Inside a user namespace the child starts as uid 0 of that namespace, mapped to an unprivileged
 * host id range, which is what lets it mount and pivot. It ends as the policy's uid/gid (default
 * 1000), never 0 unless the policy explicitly allows it. */
#include "internal.h"
#include "util.h"

#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

/* The whole map in one write, as the kernel requires: the first range, then the others. */
static int write_map(pid_t pid, const char *file, const struct sbx_idmap *m, const struct sbx_idmap *more,
                     size_t n_more, struct sbx_err **err)
{
    char path[64], text[SBX_MAX_IDMAP * 36];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    size_t n = 0;
    for (size_t i = 0; i <= n_more && i < SBX_MAX_IDMAP; i++) {
        const struct sbx_idmap *r = i == 0 ? m : &more[i - 1];
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%u %u %u\n", r->inside, r->outside, r->count);
    }
    if (write_file(path, text) < 0) {
        text[strcspn(text, "\n")] = '\0';
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "write %s (\"%s\"%s)", path, text,
                           n_more ? " and more ranges" : "");
    }
    return 0;
}

int sbx_userns_from_parent(pid_t pid, const struct sbx_spec *spec, struct sbx_err **err)
{
    if (!(spec->ns_flags & CLONE_NEWUSER))
        return 0;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
    /* deny: the sandbox may never add itself to groups it was not given (CVE-2014-8989). */
    if (write_file(path, "deny") < 0)
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "write %s", path);
    if (write_map(pid, "uid_map", &spec->uid_map, spec->uid_more, spec->n_uid_more, err) < 0 ||
        write_map(pid, "gid_map", &spec->gid_map, spec->gid_more, spec->n_gid_more, err) < 0)
        return -1;
    return 0;
}

int sbx_creds_in_child(const struct sbx_spec *spec, struct child_err *ce)
{
    /* Keep the permitted set across setresuid so granted capabilities can be re-raised; caps.c
     * then trims every set to exactly what the policy grants. */
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return child_fail(ce, "credentials", errno, "PR_SET_KEEPCAPS");
    /* in a user namespace (new or joined) setgroups may be denied: sbx_run dropped them before
     * clone; the spec's own groups are set (a joined namespace may allow it) */
    if (spec->n_groups ? setgroups(spec->n_groups, spec->groups) < 0
                       : !(spec->ns_flags & CLONE_NEWUSER) && !sbx_ns_joined(spec, CLONE_NEWUSER) && setgroups(0, NULL) < 0)
        return child_fail(ce, "credentials", errno, "set %zu supplementary groups", spec->n_groups);
    if (setresgid(spec->gid, spec->gid, spec->gid) < 0)
        return child_fail(ce, "credentials", errno, "setresgid %u", (unsigned)spec->gid);
    if (setresuid(spec->uid, spec->uid, spec->uid) < 0)
        return child_fail(ce, "credentials", errno, "setresuid %u", (unsigned)spec->uid);
    /* No host group may reach the sandbox: the parent dropped its own before clone, and a user
     * namespace with setgroups "deny" could not drop them here. */
    gid_t have[64];
    int n = getgroups(64, have);
    bool same = n == (int)spec->n_groups;
    for (int i = 0; same && i < n; i++) {
        same = false;
        for (size_t k = 0; k < spec->n_groups && !same; k++)
            same = have[i] == spec->groups[k];
    }
    if (!same)
        return child_fail(ce, "credentials", 0, "%d supplementary groups, not the %zu asked for", n, spec->n_groups);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return child_fail(ce, "credentials", errno, "clear PR_SET_KEEPCAPS");
    uid_t r = (uid_t)-1, e = r, s = r; /* reported as -1 when getresuid itself fails */
    gid_t gr = (gid_t)-1, ge = gr, gs = gr;
    if (getresuid(&r, &e, &s) < 0 || getresgid(&gr, &ge, &gs) < 0 || r != spec->uid ||
        e != spec->uid || s != spec->uid || gr != spec->gid || ge != spec->gid || gs != spec->gid)
        return child_fail(ce, "credentials", 0, "credentials did not take: uid %u/%u/%u gid %u/%u/%u",
                          (unsigned)r, (unsigned)e, (unsigned)s, (unsigned)gr, (unsigned)ge,
                          (unsigned)gs);
    return 0;
}
