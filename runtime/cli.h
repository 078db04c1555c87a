/* cli.h — the verbs of the gbox program, one file each. */
#ifndef GBOX_CLI_H
#define GBOX_CLI_H

#include "../sandbox/sbx.h"

int cmd_run(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_policy_learn(int argc, char **argv); /* gbox policy learn (learn.c) */

/* The daemon's `inspect` of one sandbox (with its last_report), or NULL after printing why not. */
#include <jansson.h>
json_t *client_inspect(const char *id);
int cmd_stats(int argc, char **argv); /* gbox stats (cmd_stats.c) */

/* Start time of a process in clock ticks since boot (/proc/PID/stat field 22), -1 if gone. */
long long proc_start_time(pid_t pid);

/* Print an error as "gbox: message" and return its exit code. */
int cli_fail(struct sbx_err **err);

#endif
