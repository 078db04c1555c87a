/* oci_policy.h — domain policies meet OCI: the org.graphoid.policy annotation and `spec --policy`. */
#ifndef GBOX_OCI_POLICY_H
#define GBOX_OCI_POLICY_H

#include "oci_config.h"

/* When c->policy names a policy, put it over the parsed config: for each limit the stricter
 * value wins, the policy's seccomp filters are added to the config's (the kernel applies the
 * strictest answer of all), capabilities are intersected, a read-only root or a network
 * namespace the policy asks for is imposed. A policy that cannot be loaded fails the create. */
int oci_policy_apply(struct oci_config *c, struct sbx_err **err);

/* `spec [--bundle DIR] [--policy NAME]`: write DIR/config.json (runc's default, or the policy's
 * equivalent) and, with a policy, DIR/seccomp.json (the same profile, for other runtimes). */
int oci_cmd_spec(int argc, char **argv);

#endif
