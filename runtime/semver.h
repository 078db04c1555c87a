/* semver.h — versions (SemVer 2.0.0) and version ranges as module manifests and policies write
 * them. Range syntax (npm's): "1.2.3", "=1.2.3", ">=1.2 <2", "^1.2", "~1.2.3", "1.x", "1.2.*",
 * "*", "1.2 - 1.4", alternatives joined by "||". A prerelease version (1.0.0-rc.1) satisfies a
 * range only when a comparator of the same alternative names a prerelease of the same
 * major.minor.patch (so "^1.0" never picks 2.0.0-rc.1 nor 1.1.0-beta). */
#ifndef GBOX_SEMVER_H
#define GBOX_SEMVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEMVER_MAX_TEXT 64   /* a version or range string longer than this is refused */
#define SEMVER_MAX_CMPS 16   /* comparators in one range, over all its alternatives */

struct semver {
    uint64_t major, minor, patch;
    char pre[SEMVER_MAX_TEXT]; /* prerelease identifiers without the "-", "" for a release */
};

enum semver_op { SEMVER_EQ, SEMVER_LT, SEMVER_LE, SEMVER_GT, SEMVER_GE };

struct semver_cmp {
    enum semver_op op;
    unsigned set; /* index of the "||" alternative it belongs to */
    struct semver v;
};

struct semver_range {
    unsigned n_sets;            /* alternatives; a set without comparators matches everything */
    unsigned n_cmps;
    struct semver_cmp cmps[SEMVER_MAX_CMPS];
};

/* "MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]" exactly (no leading "v", no leading zeros);
 * build metadata is accepted and ignored. 0 or -1. */
int semver_parse(const char *s, struct semver *out);
/* <0, 0, >0 by SemVer precedence. */
int semver_cmp(const struct semver *a, const struct semver *b);
/* "1.2.3" or "1.2.3-rc.1" into buf. */
void semver_format(const struct semver *v, char *buf, size_t len);

/* A range in the syntax above; "" and "*" match every release. 0 or -1. */
int semver_range_parse(const char *s, struct semver_range *out);
bool semver_satisfies(const struct semver *v, const struct semver_range *r);

/* "name" or "name@RANGE" (a module reference as policies and --module write it). name gets the
 * name (at most len bytes), range the parsed range ("*" when absent). 0 or -1. */
int module_ref_parse(const char *s, char *name, size_t len, struct semver_range *range);
/* Module names: [a-z][a-z0-9_-]*, at most 64 characters. */
bool module_name_valid(const char *s);

#endif
