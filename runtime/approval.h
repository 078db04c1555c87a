/* approval.h — changes waiting for explicit approval (config set, reload), persisted so that they
 * survive daemon restarts. One JSON file per entry in DIR, written atomically. */
#ifndef GBOX_APPROVAL_H
#define GBOX_APPROVAL_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

struct approval_queue;

/* Opens (creating it 0700 if missing) the queue directory and reads the pending entries back.
 * 0 or -errno with a message in err. */
int approval_open(struct approval_queue **q, const char *dir, char *err, size_t errlen);
void approval_close(struct approval_queue *q);

/* kind: "config" | "reload"; domain: policy name; target: sandbox id or "" ; payload: what to apply
 * (copied). On success writes the new id (e.g. "a-000017") into id (idlen ≥ 32). 0 or -errno. */
int approval_submit(struct approval_queue *q, const char *kind, const char *domain, const char *target,
                    json_t *payload, uid_t requester, char *id, size_t idlen, char *err, size_t errlen);

/* pending entries as a JSON array of {id, kind, domain, target, payload, requester, time} (new ref),
 * oldest first; time is wall-clock milliseconds. */
json_t *approval_list(struct approval_queue *q);

/* Removes a pending entry and returns it (new ref) for the caller to apply. If distinct_approver
 * and approver == the requester: -EPERM with a message. Unknown id: -ENOENT. */
int approval_take(struct approval_queue *q, const char *id, uid_t approver, int distinct_approver,
                  json_t **entry, char *err, size_t errlen);

/* Removes a pending entry without applying it. Unknown id: -ENOENT. */
int approval_reject(struct approval_queue *q, const char *id, uid_t approver, char *err, size_t errlen);

#endif
