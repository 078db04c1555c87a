/* syscall_groups.h — systemd-style syscall groups ("@file-system") that policies name. */
#ifndef GBOX_SYSCALL_GROUPS_H
#define GBOX_SYSCALL_GROUPS_H

#include <stddef.h>

struct syscall_group {
    const char *name;
    const char *doc;
    const char *const *syscalls; /* NULL-terminated */
};

const struct syscall_group *syscall_group_find(const char *name);
/* all groups, NULL-terminated list */
const struct syscall_group *const *syscall_groups(void);
void syscall_group_names(char *buf, size_t len);

#endif
