/* seccomp_plan.h — a policy's seccomp section into the sandbox's filters. */
#ifndef GBOX_SECCOMP_PLAN_H
#define GBOX_SECCOMP_PLAN_H

#include "../sandbox/sbx.h"
#include <jansson.h>

/* sc is a validated, defaulted seccomp object; errors name file. out owns its rule arrays. */
int seccomp_plan(const json_t *sc, const char *file, struct sbx_seccomp *out, struct sbx_err **err);
/* Which part of the policy decides syscall `name`: "seccomp.kill (@debug)". */
void seccomp_explain(const json_t *sc, const char *name, char *buf, size_t len);

#endif
