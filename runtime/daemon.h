/* daemon.h — `gbox daemon` and the client verbs that talk to it (docs/api.md). */
#ifndef GBOX_DAEMON_H
#define GBOX_DAEMON_H

#include <jansson.h>
#include <stddef.h>

/* The socket path: $GBOX_SOCKET, else <run dir>/gbox.sock. */
const char *daemon_socket_path(void);
/* daemon_state_dir() (the state directory: $GBOX_STATE_DIR, else /var/lib/gbox/daemon) is in
 * paths.h: the image store reads the daemon's records too. */
#include "paths.h"

/* Line-delimited JSON over a stream socket: append one object and a newline to buf. */
char *proto_encode(const json_t *msg, size_t *len);

/* One request to the daemon, its first reply (NULL: unreachable, message printed). Steals rq. */
json_t *client_call(json_t *rq);

/* A shim of the daemon was killed (it could not remove its sandbox's cgroups): sweep leftovers
 * on the ticks of the next few seconds (sbx_cgroup_sweep; its sandbox dies with it). */
void daemon_sweep_cgroups_soon(void);

int cmd_daemon(int argc, char **argv);
int cmd_config(int argc, char **argv); /* config get|set|revert|history|pending|approve|reject|reload */
int cmd_audit(int argc, char **argv);  /* audit verify */
int cmd_client(int argc, char **argv); /* spawn ps inspect stop kill logs events stats
                                           emergency-stop metrics */

#endif
