/* cli.h — the verbs of the gbox program, one file each. */
#ifndef GBOX_CLI_H
#define GBOX_CLI_H

#include "../sandbox/sbx.h"

int cmd_run(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_image(int argc, char **argv);
/* gbox as an OCI runtime (runc command line); argv[0] is ignored. */
int cmd_oci(int argc, char **argv);

/* Start time of a process in clock ticks since boot (/proc/PID/stat field 22), -1 if gone. */
long long proc_start_time(pid_t pid);

/* sbx_spec.on_start for --state-file: arg is the file; pids, start times and cgroups as JSON. */
void run_write_state_file(void *arg, const struct sbx_started *info);

/* Print an error as "gbox: message" and return its exit code. */
int cli_fail(struct sbx_err **err);

#endif
