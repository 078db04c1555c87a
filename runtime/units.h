/* units.h — sizes ("256M") and durations ("300s") as policies write them. */
#ifndef GBOX_UNITS_H
#define GBOX_UNITS_H

#include <jansson.h>
#include <stdint.h>

/* "<digits>[K|M|G|T]" (binary) or "<digits>" bytes; 0 or -1 (malformed, overflow). */
int parse_size(const char *s, int64_t *out);
/* a size string or a non-negative JSON integer */
int parse_size_json(const json_t *v, int64_t *out);
/* "<digits>(ms|s|m|h)" into milliseconds; 0 or -1. */
int parse_duration(const char *s, int64_t *out_ms);

#endif
