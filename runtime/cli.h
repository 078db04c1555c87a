/* cli.h — the verbs of the gbox program, one file each. */
#ifndef GBOX_CLI_H
#define GBOX_CLI_H

#include "../sandbox/sbx.h"

#include <jansson.h>

int cmd_run(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_reload(int argc, char **argv); /* reload, rollback, generations */
int cmd_image_watch(int argc, char **argv); /* gbox image watch */
/* One request to gbox daemon, its first reply (NULL, said on stderr: unreachable). Takes rq. */
json_t *daemon_ask(json_t *rq);
int cmd_explain(int argc, char **argv);
int cmd_policy_learn(int argc, char **argv); /* gbox policy learn (learn.c) */

/* The daemon's `inspect` of one sandbox (with its last_report), or NULL after printing why not. */
#include <jansson.h>
json_t *client_inspect(const char *id);
int cmd_stats(int argc, char **argv); /* gbox stats (cmd_stats.c) */
/* gbox as an OCI runtime (runc command line); argv[0] is ignored. */
int cmd_oci(int argc, char **argv);

/* Start time of a process in clock ticks since boot (/proc/PID/stat field 22), -1 if gone. */
long long proc_start_time(pid_t pid);

/* sbx_spec.on_start for --state-file: arg is the file; pids, start times and cgroups as JSON. */
void run_write_state_file(void *arg, const struct sbx_started *info);

/* Print an error as "gbox: message" and return its exit code. */
int cli_fail(struct sbx_err **err);

#endif
