/* policy_cache.h — a resolved policy (its extends chain merged, validated, defaulted), cached by
 * the content of every file of the chain and the identity of the gbox binary. */
#pragma once

#include <jansson.h>
#include <stddef.h>

/* sha256 of len bytes at buf, as 64 hex digits. */
void policy_cache_digest(const void *buf, size_t len, char hex[65]);
/* The cached root for the policy file real (its realpath) whose content is top/len, or NULL
 * (no entry, an untrusted cache, or a file of the chain that changed since). A new reference. */
json_t *policy_cache_get(const char *real, const char *top, size_t len);
/* Remember root for that file; deps lists [realpath, sha256, path as named, fingerprint] of every
 * file the chain parsed (an entry is used only while each named path still resolves to that
 * realpath with that content). */
void policy_cache_put(const char *real, const char *top, size_t len, const json_t *deps, const json_t *root);
/* The fingerprint of a file read whole through one descriptor (st before and after the read), on
 * a local file system that keeps honest times (ext4, xfs, btrfs, tmpfs, f2fs):
 * "dev:ino:size:mtime:ctime|dev:ino" (the last its directory), or "" when it changed during the
 * read or less than POLICY_CACHE_SETTLE_S before (a change in the same clock tick could keep every
 * field). A later stat of the same real path with the same fingerprint is the same file with the
 * same bytes in the same directory: its ctime cannot be set back. */
#define POLICY_CACHE_SETTLE_S 2
struct stat;
void policy_cache_fingerprint(const struct stat *before, const struct stat *after, const char *path, char *out,
                              size_t len);
/* The whole regular file at path (at most 16 MiB, NUL-terminated) and its fingerprint, or NULL. */
char *policy_cache_read(const char *path, size_t *len, char *fp, size_t fplen);
