/* units.c — parsing of sizes and durations; strict: no spaces, no fractions, no overflow. */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int parse_digits(const char **p, uint64_t *out)
{
    const char *s = *p;
    if (!isdigit((unsigned char)*s))
        return -1;
    uint64_t v = 0;
    while (isdigit((unsigned char)*s)) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
        s++;
    }
    *p = s;
    *out = v;
    return 0;
}

static int scale(uint64_t v, uint64_t mul, int64_t *out)
{
    if (mul && v > (uint64_t)INT64_MAX / mul)
        return -1;
    *out = (int64_t)(v * mul);
    return 0;
}

int parse_size(const char *s, int64_t *out)
{
    uint64_t v;
    if (!s || parse_digits(&s, &v) < 0)
        return -1;
    uint64_t mul = 1;
    switch (*s) {
    case '\0':
        return scale(v, 1, out);
    case 'K': mul = 1ULL << 10; break;
    case 'M': mul = 1ULL << 20; break;
    case 'G': mul = 1ULL << 30; break;
    case 'T': mul = 1ULL << 40; break;
    default: return -1;
    }
    if (s[1] != '\0')
        return -1;
    return scale(v, mul, out);
}

int parse_size_json(const json_t *v, int64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    return json_is_string(v) ? parse_size(json_string_value(v), out) : -1;
}

int parse_duration(const char *s, int64_t *out_ms)
{
    uint64_t v;
    if (!s || parse_digits(&s, &v) < 0)
        return -1;
    uint64_t mul;
    if (strcmp(s, "ms") == 0)
        mul = 1;
    else if (strcmp(s, "s") == 0)
        mul = 1000;
    else if (strcmp(s, "m") == 0)
        mul = 60 * 1000;
    else if (strcmp(s, "h") == 0)
        mul = 3600 * 1000;
    else
        return -1;
    return scale(v, mul, out_ms);
}
