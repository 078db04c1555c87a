/* oci_state.h — the OCI front end's per-container state under --root (default /run/gbox-oci):
 * ROOT/ID/state.json (written atomically), ROOT/ID/start.fifo (create waits on it until start),
 * ROOT/ID/stage (where the root is assembled). Every verb holds an flock on ROOT/ID while it
 * reads or changes the container. */
#ifndef GBOX_OCI_STATE_H
#define GBOX_OCI_STATE_H

#include "../sandbox/sbx.h"
#include <jansson.h>

#define OCI_DEFAULT_ROOT "/run/gbox-oci"

/* A container id: letters, digits and "_+-.", 1..128 characters, not "." or "..". */
bool oci_id_valid(const char *id);

struct oci_state {
    char dir[4096];     /* ROOT/ID */
    int lock_fd;        /* the flock on dir, -1 when not held */
    json_t *doc;        /* state.json (NULL before create wrote it) */
};

/* Open ROOT/ID and lock it (exclusive, waiting). A missing container -> exit code 1 with
 * "container ID does not exist". */
int oci_state_open(const char *root, const char *id, struct oci_state *st, struct sbx_err **err);
/* Write st->doc to state.json (temp file + rename). */
int oci_state_save(struct oci_state *st, struct sbx_err **err);
void oci_state_close(struct oci_state *st);

/* "creating", "created", "running", "paused" or "stopped", from the shim's and init's liveness
 * (pid + start time) and the cgroup freezer. */
const char *oci_state_status(const json_t *doc);
/* Where the container runs, for sbx_cgroup_*_at and sbx_exec_in (strings borrowed from doc). */
void oci_state_where(const json_t *doc, struct sbx_started *w);
/* Is pid (with its recorded start time) still the same live process? */
bool oci_pid_alive(pid_t pid, long long start);
/* The OCI state document (what `state` prints and hooks read on stdin). */
json_t *oci_state_public(const json_t *doc);
/* rm -r of ROOT/ID (it holds only what gbox put there). */
void oci_state_remove(const char *dir);

#endif
