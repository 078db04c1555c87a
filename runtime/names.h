/* names.h — symbolic names used in policies: errnos, signals, capabilities, actions. */
#ifndef GBOX_NAMES_H
#define GBOX_NAMES_H

#include "../sandbox/sbx.h"

/* "EPERM" or a decimal number (1..4095) -> errno; -1 if unknown. */
int errno_from_name(const char *name);
const char *errno_name(int e);
/* "TERM", "SIGTERM" or a number -> signal; -1 if unknown. */
int signal_from_name(const char *name);
/* "CAP_SYS_ADMIN" -> 21; -1 if unknown. */
int cap_from_name(const char *name);
const char *cap_name(int cap);
/* "allow" | "kill" | "log" | "trap" | "errno:NAME"; 0 or -1. out may be NULL. */
int parse_action(const char *s, struct sbx_action *out);
enum failure_kind { FAIL_IGNORE, FAIL_KILL, FAIL_RESTART, FAIL_ROLLBACK, FAIL_SIGNAL, FAIL_FALLBACK };
/* "ignore" | "kill" | "restart" | "rollback" | "signal:NAME" | "fallback:POLICY" -> kind, -1 */
int parse_failure_action(const char *s);

#endif
