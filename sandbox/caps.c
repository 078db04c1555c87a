/* caps.c — reduce all five capability sets to what the plan keeps, and check that they are. */
#include "internal.h"
#include "util.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static int last_cap(void)
{
    static int last = -1;
    if (last < 0) {
        char *s = read_file("/proc/sys/kernel/cap_last_cap", NULL);
        last = s ? (int)strtol(s, NULL, 10) : CAP_LAST_CAP;
        free(s);
        if (last <= 0 || last > 63)
            last = CAP_LAST_CAP;
    }
    return last;
}

/* Run before the uid change: dropping from the bounding set needs CAP_SETPCAP. */
int sbx_caps_bounding_in_child(uint64_t keep, struct child_err *ce)
{
    for (int c = 0; c <= last_cap(); c++) {
        if (keep & (1ULL << c))
            continue;
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            return child_fail(ce, "capabilities", errno, "drop capability %d from bounding set", c);
    }
    return 0;
}

int sbx_caps_in_child(uint64_t keep, struct child_err *ce)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {0};
    for (int i = 0; i < 2; i++) {
        uint32_t v = (uint32_t)(keep >> (32 * i));
        data[i].effective = data[i].permitted = data[i].inheritable = v;
    }
    if (syscall(SYS_capset, &hdr, data) < 0)
        return child_fail(ce, "capabilities", errno, "capset");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        return child_fail(ce, "capabilities", errno, "clear ambient capabilities");
    /* Ambient: granted capabilities survive exec of a non-setuid program running as non-root. */
    for (int c = 0; c <= last_cap(); c++)
        if ((keep & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
            return child_fail(ce, "capabilities", errno, "raise ambient capability %d", c);
    return sbx_caps_verify(keep, ce);
}

int sbx_caps_verify(uint64_t keep, struct child_err *ce)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {0};
    if (syscall(SYS_capget, &hdr, data) < 0)
        return child_fail(ce, "capabilities", errno, "capget");
    for (int i = 0; i < 2; i++) {
        uint32_t v = (uint32_t)(keep >> (32 * i));
        if (data[i].effective != v || data[i].permitted != v || data[i].inheritable != v)
            return child_fail(ce, "capabilities", 0,
                              "capability sets not reduced (eff %08x prm %08x inh %08x, want %08x)",
                              data[i].effective, data[i].permitted, data[i].inheritable, v);
    }
    for (int c = 0; c <= last_cap(); c++) {
        bool want = keep & (1ULL << c);
        int b = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
        int a = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0);
        if (b < 0 || a < 0 || (b == 1) != want || (a == 1) != want)
            return child_fail(ce, "capabilities", 0, "capability %d: bounding %d ambient %d, want %d",
                              c, b, a, want);
    }
    return 0;
}
