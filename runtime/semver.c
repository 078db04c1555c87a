/* semver.c — SemVer 2.0.0 versions, precedence and npm-style ranges (see semver.h). Ranges are
 * desugared into plain comparators when parsed: "^1.2" is ">=1.2.0 <2.0.0-0", "1.x" is
 * ">=1.0.0 <2.0.0-0"; the "-0" upper bounds keep 2.0.0's prereleases out. */
#include "semver.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A numeric identifier: digits, no leading zero unless it is "0". */
static bool numeric_id(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return n == 1 || s[0] != '0';
}

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (!numeric_id(s, n) || n > 15) /* 15 digits keeps arithmetic (n + 1) far from overflow */
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    *out = v;
    return true;
}

/* Dot-separated identifiers of [0-9A-Za-z-]; numeric ones without leading zeros when strict. */
static bool idents_valid(const char *s, size_t n, bool strict_numeric)
{
    if (n == 0)
        return false;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            if (!isalnum((unsigned char)s[i]) && s[i] != '-')
                return false;
            continue;
        }
        size_t len = i - start;
        if (len == 0)
            return false;
        bool digits = true;
        for (size_t k = start; k < i; k++)
            digits &= isdigit((unsigned char)s[k]) != 0;
        if (strict_numeric && digits && !numeric_id(s + start, len))
            return false;
        start = i + 1;
    }
    return true;
}

/* A partial version as ranges write it: up to three parts, each a number or x/X/'*'; missing or
 * wildcard parts are reported by *parts (the number of leading numeric parts). */
static int parse_partial(const char *s, size_t n, struct semver *v, int *parts)
{
    memset(v, 0, sizeof(*v));
    *parts = 0;
    const char *end = s + n, *p = s;
    uint64_t nums[3] = {0, 0, 0};
    bool wild = false;
    for (int i = 0; i < 3 && p < end; i++) {
        const char *q = p;
        while (q < end && *q != '.' && *q != '-' && *q != '+')
            q++;
        if (q - p == 1 && (*p == 'x' || *p == 'X' || *p == '*')) {
            wild = true;
        } else {
            if (wild || !parse_u64(p, (size_t)(q - p), &nums[i]))
                return -1;
            *parts = i + 1;
        }
        p = q;
        if (p < end && *p == '.') {
            p++;
            if (p == end)
                return -1;
        } else {
            break;
        }
    }
    if (p < end && *p == '-') {
        const char *q = ++p;
        while (q < end && *q != '+')
            q++;
        if (*parts != 3 || !idents_valid(p, (size_t)(q - p), true) || (size_t)(q - p) >= sizeof(v->pre))
            return -1;
        memcpy(v->pre, p, (size_t)(q - p));
        v->pre[q - p] = '\0';
        p = q;
    }
    if (p < end && *p == '+') {
        p++;
        if (*parts != 3 || !idents_valid(p, (size_t)(end - p), false))
            return -1;
        p = end;
    }
    if (p != end)
        return -1;
    v->major = nums[0], v->minor = nums[1], v->patch = nums[2];
    return 0;
}

int semver_parse(const char *s, struct semver *out)
{
    struct semver v;
    int parts;
    size_t n = strlen(s);
    if (n == 0 || n > SEMVER_MAX_TEXT || parse_partial(s, n, &v, &parts) < 0 || parts != 3)
        return -1;
    *out = v;
    return 0;
}

static int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }

static int cmp_pre(const char *a, const char *b)
{
    if (!*a || !*b)
        return !*a && !*b ? 0 : (!*a ? 1 : -1); /* a release ranks above its prereleases */
    while (*a && *b) {
        size_t la = strcspn(a, "."), lb = strcspn(b, ".");
        bool na = strspn(a, "0123456789") >= la, nb = strspn(b, "0123456789") >= lb;
        int c;
        if (na && nb)
            c = la != lb ? (la < lb ? -1 : 1) : strncmp(a, b, la);
        else if (na || nb)
            c = na ? -1 : 1; /* numeric identifiers rank below alphanumeric ones */
        else {
            c = strncmp(a, b, la < lb ? la : lb);
            if (c == 0 && la != lb)
                c = la < lb ? -1 : 1;
        }
        if (c)
            return c < 0 ? -1 : 1;
        a += la, b += lb;
        if (*a == '.')
            a++;
        if (*b == '.')
            b++;
    }
    return *a ? 1 : *b ? -1 : 0; /* more identifiers rank higher */
}

int semver_cmp(const struct semver *a, const struct semver *b)
{
    int c = cmp_u64(a->major, b->major);
    if (!c)
        c = cmp_u64(a->minor, b->minor);
    if (!c)
        c = cmp_u64(a->patch, b->patch);
    return c ? c : cmp_pre(a->pre, b->pre);
}

void semver_format(const struct semver *v, char *buf, size_t len)
{
    snprintf(buf, len, "%llu.%llu.%llu%s%s", (unsigned long long)v->major,
             (unsigned long long)v->minor, (unsigned long long)v->patch, v->pre[0] ? "-" : "", v->pre);
}

/* ---- ranges --------------------------------------------------------------------------------- */

static int add(struct semver_range *r, enum semver_op op, const struct semver *v)
{
    if (r->n_cmps >= SEMVER_MAX_CMPS)
        return -1;
    r->cmps[r->n_cmps++] = (struct semver_cmp){.op = op, .set = r->n_sets - 1, .v = *v};
    return 0;
}

/* The first version above every version the first `parts` parts match, as an exclusive bound
 * that also excludes its prereleases ("1.2" -> 1.3.0-0). parts == 0 has no bound. */
static struct semver bump(const struct semver *v, int parts)
{
    struct semver b = {0};
    if (parts == 1)
        b.major = v->major + 1;
    else if (parts == 2)
        b.major = v->major, b.minor = v->minor + 1;
    else
        b = *v, b.patch++, b.pre[0] = '\0';
    snprintf(b.pre, sizeof(b.pre), "0");
    return b;
}

static int add_upper_excl(struct semver_range *r, const struct semver *v, int parts)
{
    if (parts == 0)
        return 0;
    struct semver b = bump(v, parts);
    return add(r, SEMVER_LT, &b);
}

/* One comparator token: op? partial, ^partial, ~partial. */
static int parse_token(struct semver_range *r, const char *s, size_t n)
{
    enum { NONE, EQ, LT, LE, GT, GE, CARET, TILDE } op = NONE;
    static const struct {
        const char *text;
        int op;
    } ops[] = {{">=", GE}, {"<=", LE}, {">", GT}, {"<", LT}, {"=", EQ}, {"^", CARET}, {"~", TILDE}};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        size_t l = strlen(ops[i].text);
        if (n > l && strncmp(s, ops[i].text, l) == 0) {
            op = ops[i].op, s += l, n -= l;
            break;
        }
    }
    if (n > 0 && (*s == 'v' || *s == '='))
        return -1;
    struct semver v;
    int parts;
    if (parse_partial(s, n, &v, &parts) < 0)
        return -1;
    switch (op) {
    case NONE:
    case EQ:
        if (parts == 3)
            return add(r, SEMVER_EQ, &v);
        return (parts ? add(r, SEMVER_GE, &v) : 0) < 0 ? -1 : add_upper_excl(r, &v, parts);
    case GE:
        return parts ? add(r, SEMVER_GE, &v) : 0;
    case GT:
        if (parts == 3)
            return add(r, SEMVER_GT, &v);
        if (parts == 0) { /* ">*" matches nothing */
            struct semver none = {.major = UINT64_MAX};
            return add(r, SEMVER_GT, &none);
        }
        struct semver b = bump(&v, parts);
        b.pre[0] = '\0';
        return add(r, SEMVER_GE, &b);
    case LT:
        if (parts == 3)
            return add(r, SEMVER_LT, &v);
        if (parts == 0) { /* "<*" matches nothing */
            struct semver zero = {0};
            snprintf(zero.pre, sizeof(zero.pre), "0");
            return add(r, SEMVER_LT, &zero);
        }
        snprintf(v.pre, sizeof(v.pre), "0");
        return add(r, SEMVER_LT, &v);
    case LE:
        return parts == 3 ? add(r, SEMVER_LE, &v) : add_upper_excl(r, &v, parts);
    case CARET: {
        if (parts == 0)
            return 0;
        if (add(r, SEMVER_GE, &v) < 0)
            return -1;
        /* the first non-zero part may not change: ^1.2.3 <2, ^0.2.3 <0.3, ^0.0.3 <0.0.4 */
        int keep = v.major ? 1 : (parts >= 2 && v.minor) ? 2 : parts >= 2 ? (parts == 3 ? 3 : 2) : 1;
        return add_upper_excl(r, &v, keep);
    }
    case TILDE:
        if (parts == 0)
            return 0;
        if (add(r, SEMVER_GE, &v) < 0)
            return -1;
        return add_upper_excl(r, &v, parts == 1 ? 1 : 2);
    }
    return -1;
}

/* "A - B": A with missing parts as zero, B inclusive up to its missing parts. */
static int parse_hyphen(struct semver_range *r, const char *a, size_t na, const char *b, size_t nb)
{
    struct semver lo, hi;
    int pl, ph;
    if (parse_partial(a, na, &lo, &pl) < 0 || parse_partial(b, nb, &hi, &ph) < 0)
        return -1;
    if (pl && add(r, SEMVER_GE, &lo) < 0)
        return -1;
    return ph == 3 ? add(r, SEMVER_LE, &hi) : add_upper_excl(r, &hi, ph);
}

/* One "||" alternative: space-separated comparators, or a hyphen range. */
static int parse_set(struct semver_range *r, const char *s, size_t n)
{
    const char *tok[SEMVER_MAX_CMPS + 1];
    size_t len[SEMVER_MAX_CMPS + 1], nt = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && s[i] == ' ')
            i++;
        if (i == n)
            break;
        size_t j = i;
        while (j < n && s[j] != ' ')
            j++;
        if (nt == SEMVER_MAX_CMPS + 1)
            return -1;
        tok[nt] = s + i, len[nt++] = j - i;
        i = j;
    }
    if (nt == 3 && len[1] == 1 && tok[1][0] == '-')
        return parse_hyphen(r, tok[0], len[0], tok[2], len[2]);
    for (size_t i = 0; i < nt; i++) {
        if (len[i] == 1 && tok[i][0] == '-')
            return -1;
        /* ">= 1.2": an operator alone takes the next token */
        if (i + 1 < nt && strspn(tok[i], "<>=^~") == len[i]) {
            char joined[2 * SEMVER_MAX_TEXT + 2];
            snprintf(joined, sizeof(joined), "%.*s%.*s", (int)len[i], tok[i], (int)len[i + 1], tok[i + 1]);
            if (parse_token(r, joined, strlen(joined)) < 0)
                return -1;
            i++;
            continue;
        }
        if (parse_token(r, tok[i], len[i]) < 0)
            return -1;
    }
    return 0;
}

int semver_range_parse(const char *s, struct semver_range *out)
{
    struct semver_range r = {.n_sets = 0};
    size_t n = strlen(s);
    if (n > SEMVER_MAX_TEXT)
        return -1;
    const char *p = s, *end = s + n;
    for (;;) {
        const char *bar = strstr(p, "||");
        const char *stop = bar ? bar : end;
        r.n_sets++;
        bool blank = strspn(p, " ") >= (size_t)(stop - p);
        /* an empty alternative is only allowed as the whole range ("") */
        if (blank && (bar || r.n_sets > 1))
            return -1;
        if (parse_set(&r, p, (size_t)(stop - p)) < 0)
            return -1;
        if (!bar)
            break;
        p = bar + 2;
    }
    *out = r;
    return 0;
}

static bool cmp_holds(const struct semver_cmp *c, const struct semver *v)
{
    int d = semver_cmp(v, &c->v);
    switch (c->op) {
    case SEMVER_EQ: return d == 0;
    case SEMVER_LT: return d < 0;
    case SEMVER_LE: return d <= 0;
    case SEMVER_GT: return d > 0;
    case SEMVER_GE: return d >= 0;
    }
    return false;
}

bool semver_satisfies(const struct semver *v, const struct semver_range *r)
{
    for (unsigned s = 0; s < r->n_sets; s++) {
        bool ok = true, pre_allowed = !v->pre[0];
        for (unsigned i = 0; i < r->n_cmps && ok; i++) {
            const struct semver_cmp *c = &r->cmps[i];
            if (c->set != s)
                continue;
            ok = cmp_holds(c, v);
            /* the "-0" of an exclusive upper bound is not an opt-in to prereleases */
            bool bound = c->op == SEMVER_LT && strcmp(c->v.pre, "0") == 0;
            if (v->pre[0] && c->v.pre[0] && !bound && c->v.major == v->major &&
                c->v.minor == v->minor && c->v.patch == v->patch)
                pre_allowed = true;
        }
        if (ok && pre_allowed)
            return true;
    }
    return false;
}

bool module_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || !islower((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

int module_ref_parse(const char *s, char *name, size_t len, struct semver_range *range)
{
    const char *at = strchr(s, '@');
    size_t n = at ? (size_t)(at - s) : strlen(s);
    if (n == 0 || n >= len)
        return -1;
    memcpy(name, s, n);
    name[n] = '\0';
    if (!module_name_valid(name))
        return -1;
    if (at && !at[1])
        return -1;
    return semver_range_parse(at ? at + 1 : "*", range);
}
