/* audit.h — the daemon's audit log, hash-chained: each entry carries the sha256 of the previous
 * one, so that an edited, removed or reordered entry is found by audit_verify (gbox audit verify).
 * The format (docs/architecture.md, "Audit log"): one JSON object a line,
 *   {...entry..., "prev": HEX, "seq": N, "hash": HEX}
 * where hash = sha256 of the line's text up to (not including) `,"hash":` followed by `}`, and prev
 * is the hash of the entry before (64 zeros for the first). The last seq and hash are also kept in
 * PATH.head, so that entries cut off the end are found too. */
#ifndef GBOX_AUDIT_H
#define GBOX_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct audit_log;

/* Open (create) PATH for appending and find the chain's last entry. 0 or -errno with err. */
int audit_log_open(struct audit_log **a, const char *path, char *err, size_t errlen);
void audit_log_close(struct audit_log *a);
/* Append one entry (a JSON object; seq, prev and hash are added to a copy). 0 or -errno. */
int audit_log_append(struct audit_log *a, const json_t *entry);

struct audit_report {
    long entries;     /* chained entries checked */
    long legacy;      /* lines before the first chained one (written before chaining) */
    long bad_line;    /* 1-based line of the first problem, 0 when intact */
    char msg[512];    /* what is wrong, or a summary when intact */
};
/* 0: the chain is intact; 1: it is broken (r->bad_line, r->msg); -errno: PATH cannot be read. */
int audit_verify(const char *path, struct audit_report *r);

#endif
