/* fuzz_request.c — libFuzzer target for the daemon's socket requests: one input is one request
 * line as a client sends it (without the newline), parsed and validated by request_parse
 * (runtime/request.c), the function the daemon calls on every line before it acts. What it
 * asserts beyond "no crash, no leak, no undefined behaviour":
 *   - a refusal has a message that names the request or the op ("request: ...", "OP: ...") and
 *     makes a valid reply ({"ok": false, "error": ...} that jansson can encode);
 *   - an accepted request is an object with a string "op", and for the ops docs/api.md lists, the
 *     fields the daemon reads have the types it assumes (argv a non-empty array of strings, ...);
 *   - an accepted request, encoded again, is accepted again (what the client library sends);
 *   - request_error_reply turns any bytes into an encodable reply (a message cut in the middle
 *     of a UTF-8 character used to make no reply at all: the client waited forever).
 * Build and run: make fuzz. tests/unit/test_fuzz_replay.c includes this file (FUZZ_REPLAY). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/request.h"

int fuzz_request_one(const uint8_t *data, size_t size);

static void reply_encodes(const char *msg)
{
    json_t *r = request_error_reply(msg);
    char *s = json_dumps(r, JSON_COMPACT);
    if (!s)
        abort();
    free(s);
    json_decref(r);
}

static void check_types(const json_t *rq, const char *op)
{
    if (strcmp(op, "spawn") == 0) {
        const json_t *argv = json_object_get(rq, "argv"), *e;
        size_t i;
        if (!json_is_array(argv) || json_array_size(argv) == 0)
            abort();
        json_array_foreach(argv, i, e) if (!json_is_string(e)) abort();
        const char *p0 = json_string_value(json_array_get(argv, 0));
        if (!json_is_true(json_object_get(rq, "in_image")) && p0[0] != '/')
            abort();
        static const char *const strs[] = {"policy", "name", "restart"};
        for (size_t k = 0; k < 3; k++) {
            const json_t *v = json_object_get(rq, strs[k]);
            if (v && (!json_is_string(v) || !json_string_value(v)[0]))
                abort();
        }
    }
    static const char *const id_ops[] = {"inspect", "stats", "stop", "kill", "rm", "logs"};
    for (size_t k = 0; k < sizeof(id_ops) / sizeof(id_ops[0]); k++)
        if (strcmp(op, id_ops[k]) == 0 && !json_is_string(json_object_get(rq, "id")))
            abort();
    const json_t *g = json_object_get(rq, "grace_ms");
    if (strcmp(op, "stop") == 0 && g && (!json_is_integer(g) || json_integer_value(g) < 0))
        abort();
}

int fuzz_request_one(const uint8_t *data, size_t size)
{
    char err[REQUEST_MAX_ERROR];
    err[0] = '\0';
    json_t *rq = request_parse((const char *)data, size, err, sizeof(err));
    if (!rq) {
        if (!err[0] || !strstr(err, ": "))
            abort();
        reply_encodes(err);
    } else {
        const char *op = json_string_value(json_object_get(rq, "op"));
        if (!json_is_object(rq) || !op)
            abort();
        check_types(rq, op);
        char *line = json_dumps(rq, JSON_COMPACT);
        if (!line)
            abort();
        json_t *again = request_parse(line, strlen(line), err, sizeof(err));
        if (!again)
            abort();
        json_decref(again);
        free(line);
        json_decref(rq);
    }
    /* the input itself as an error message: any bytes, cut anywhere */
    if (size % 4 == 0 && size < 4096) {
        char *msg = malloc(size + 1);
        if (!msg)
            abort();
        memcpy(msg, data, size);
        msg[size] = '\0';
        reply_encodes(msg);
        free(msg);
    }
    return 0;
}

#ifndef FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_request_one(data, size); }
#endif
