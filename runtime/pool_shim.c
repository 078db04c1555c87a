/* pool_shim.c — the shim side of a warm sandbox: `gbox run --hold-fd FD` (the daemon's pool).
 *
 * sbx_run sets the sandbox up and calls pool_shim_held once its init waits: we say "held" on FD.
 * When FD becomes readable, pool_shim_release reads the daemon's one message
 *   {"argv": [...], "env": ["NAME=VALUE", ...], "report": PATH, "state": PATH, "id": ID}
 * and plans the program as `gbox run --in-image` would (plan_program); end of file means the
 * daemon went away or gave the member up: the sandbox is torn down unused. Once the program runs,
 * the state file is written and we say "started". */
#include "cli.h"
#include "plan.h"
#include "pool.h"
#include "../sandbox/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void pool_shim_held(void *arg)
{
    struct pool_shim *ps = arg;
    TEMP_RETRY(send(ps->fd, "held", 4, MSG_NOSIGNAL));
}

static void started(void *arg, const struct sbx_started *info)
{
    struct pool_shim *ps = arg;
    run_write_state_file((void *)ps->state, info);
    TEMP_RETRY(send(ps->fd, "started", 7, MSG_NOSIGNAL));
}

/* A JSON array of strings as a NULL-terminated vector (pointing into the message). */
static const char **strings(const json_t *a, const char *field, size_t *n, struct sbx_err **err)
{
    if (!json_is_array(a))
        return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "warm sandbox: \"%s\": expected an array of strings", field), NULL;
    const char **v = xcalloc(json_array_size(a) + 1, sizeof(char *));
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        if (!json_is_string(e)) {
            free(v);
            return sbx_err_set(err, GBOX_EXIT_USAGE, 0, "warm sandbox: \"%s[%zu]\": expected a string", field, i), NULL;
        }
        v[i] = json_string_value(e);
    }
    *n = json_array_size(a);
    return v;
}

int pool_shim_release(void *arg)
{
    struct pool_shim *ps = arg;
    static char buf[64 * 1024];
    ssize_t n = TEMP_RETRY(recv(ps->fd, buf, sizeof(buf) - 1, 0));
    if (n <= 0)
        return -1; /* given up: no report, the daemon removes the member */
    buf[n] = '\0';
    json_error_t je;
    ps->msg = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    ps->report = json_string_value(json_object_get(ps->msg, "report"));
    ps->state = json_string_value(json_object_get(ps->msg, "state"));
    ps->id = json_string_value(json_object_get(ps->msg, "id"));
    if (!ps->msg || !ps->report || !ps->state || !ps->id)
        return sbx_err_set(&ps->err, GBOX_EXIT_USAGE, 0, "warm sandbox: bad release message (%s)",
                           ps->msg ? "expected report, state and id strings" : je.text);
    size_t argc = 0, n_env = 0;
    ps->argv = strings(json_object_get(ps->msg, "argv"), "argv", &argc, &ps->err);
    ps->env = ps->argv ? strings(json_object_get(ps->msg, "env"), "env", &n_env, &ps->err) : NULL;
    if (!ps->env)
        return -1;
    struct run_request rq = {.in_image = true, .argv = (char **)ps->argv, .argc = (int)argc,
                             .env = ps->env, .n_env = n_env};
    if (plan_program(ps->p, &rq, ps->spec, &ps->err) < 0)
        return -1;
    ps->spec->on_start = started;
    ps->spec->on_start_arg = ps;
    return 0;
}

void pool_shim_free(struct pool_shim *ps)
{
    free(ps->argv);
    free(ps->env);
    json_decref(ps->msg);
    sbx_err_free(&ps->err);
}
