/* request.h — one request line of the daemon's socket (docs/api.md), parsed and validated before
 * the daemon acts on it. Pure: no daemon state, no I/O, so tests/fuzz/fuzz_request.c can call it. */
#ifndef GBOX_REQUEST_H
#define GBOX_REQUEST_H

#include <jansson.h>
#include <stddef.h>

#define REQUEST_MAX_ERROR 1024

/* Parse LINE (LEN bytes, without its newline) as one request: a JSON object with "op" and, for
 * the operations of docs/api.md, only their fields, each of the type and form the daemon expects
 * (argv a non-empty array of strings, names, restart modes, signal names, non-negative integers,
 * NAME=VALUE, NAME[@RANGE], ...). An op this file does not list is passed on with only "op"
 * checked (the daemon answers "unknown operation" or handles an op added elsewhere).
 * Returns the request (a new reference) or NULL with "request: ..." or "OP: \"field\": expected
 * ..., got ..." in err (at most REQUEST_MAX_ERROR bytes, valid UTF-8). What a check needs beyond the
 * request (the caller's uid, existing names, the policy) is the daemon's. */
json_t *request_parse(const char *line, size_t len, char *err, size_t errlen);

/* {"ok": false, "error": MSG}, MSG cut at a UTF-8 character boundary if it is not valid UTF-8
 * (a message truncated by snprintf in the middle of a character); never NULL. */
json_t *request_error_reply(const char *msg);

#endif
