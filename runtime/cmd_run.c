/* cmd_run.c — `gbox run`: one program, one fresh sandbox, the program's exit code. */
#include "cli.h"
#include "paths.h"
#include "plan.h"
#include "pool.h"
#include "project.h"
#include "pty.h"
#include "report.h"
#include "schema.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char run_usage[] =
    "usage: gbox run [OPTIONS] [--] PROGRAM [ARGS...]\n"
    "       gbox run [OPTIONS] --in-image CMD [ARGS...]\n"
    "\n"
    "  -p, --policy NAME|FILE  domain policy (default: \"default\" policy, else base)\n"
    "  -r, --report FILE       write a JSON report of the run (end, reason, times, usage)\n"
    "  -i, --in-image          run CMD from inside the image instead of a host file\n"
    "  -q, --quiet             no summary line on stderr when the program does not exit normally\n"
    "  -t, --tty               give the program a pseudo-terminal of its own (an interactive REPL:\n"
    "                          raw mode, window size, ^C to the program); the host terminal is\n"
    "                          restored when it ends\n"
    "  -e, --env NAME=VALUE    set (or override) a variable of the policy's interpreter.env\n"
    "      --state-file FILE   once the program runs, write where it is (pids, start time,\n"
    "                          cgroups) to FILE as JSON: how gbox daemon finds a sandbox again\n"
    "  -m, --module NAME[@RANGE]  stack a module image above the root image (repeatable; later\n"
    "                          ones on top); versions are resolved with the policy's modules rules\n"
    "      --image NAME[@RANGE]|DIR  the root image instead of the policy's interpreter.image\n"
    "  -n, --name NAME         a named sandbox: its upper layer (what the program writes to the\n"
    "                          root) persists across runs in STORE/state/NAME; one run at a time\n"
    "      --store DIR         the image store (default $GBOX_STORE_DIR, else /var/lib/gbox)\n"
    "      --hold-fd FD        (gbox daemon's warm pool) set the sandbox up, then wait for the\n"
    "                          program, report and state-file paths on the socket FD; no CMD\n"
    "      --state-dir DIR     the upper layer in DIR/upper (+ DIR/work), as gbox daemon runs a\n"
    "                          sandbox with generations (docs/reload.md)\n"
    "      --state-layer DIR   a sealed state layer, read-only, above the \"/\" modules (repeatable,\n"
    "                          top first)\n"
    "      --pin NAME=sha256:HEX  (used by gbox daemon) module NAME is exactly the store image\n"
    "                          HEX, tagged or not: the image a generation recorded (repeatable)\n"
    "\n"
    "Without --policy, a gbox.json beside PROGRAM ({\"policy\": NAME|FILE, \"modules\": [...]})\n"
    "chooses the domain, else the \"default\" policy. A .gr program runs with /usr/bin/gr from\n"
    "the graphoid module image, its directory mounted at /app (see gbox(1)).\n";


/* /proc/PID/stat field 22: the start time in clock ticks since boot (with the pid, it names one
 * process for ever: a reused pid has a later start time). */
long long proc_start_time(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    char buf[1024];
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    long long v = -1;
    if (rp && sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                              "%*d %*d %lld", &v) != 1)
        v = -1;
    return v;
}

void run_write_state_file(void *arg, const struct sbx_started *info)
{
    const char *file = arg;
    json_t *v1 = json_array();
    for (size_t i = 0; i < info->n_cgroup_v1; i++)
        json_array_append_new(v1, json_string(info->cgroup_v1[i]));
    json_t *st = json_pack("{s:i,s:I,s:i,s:I,s:o,s:o}", "shim_pid", (int)getpid(), "shim_start",
                           (json_int_t)proc_start_time(getpid()), "init_pid", (int)info->init_pid,
                           "init_start", (json_int_t)proc_start_time(info->init_pid), "cgroup_v2",
                           info->cgroup_v2 ? json_string(info->cgroup_v2) : json_null(), "cgroup_v1", v1);
    struct sbx_err *err = NULL;
    if (report_write(st, file, &err) < 0) /* temp file + rename, like the report */
        cli_fail(&err);
    json_decref(st);
}

/* Before the sandbox starts, give back what planning used: gbox run lives as long as its sandbox,
 * and the sandbox's init is a copy of it (tests/bench/supervisor.sh: memory per sandbox). The
 * parsed schemas go, glibc returns the freed heap, and the stack pages below this frame (policy
 * loading's path buffers) are dropped: nothing lives below the stack pointer, and a page touched
 * again comes back zeroed. */
static void __attribute__((noinline)) trim_memory(struct gbox_policy *p)
{
    /* the resolved policy keeps only what is read after this point: the seccomp section (the
     * report explains a kill by its rule), network (the veth lease) and interpreter (a warm
     * sandbox's program is planned later) */
    static const char *const kept[] = {"seccomp", "network", "interpreter", "name"};
    json_t *root = json_object();
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        if (json_object_get(p->root, kept[i]))
            json_object_set(root, kept[i], json_object_get(p->root, kept[i]));
    json_decref(p->root);
    p->root = root;
    schema_release();
    malloc_trim(0);
    FILE *f = fopen("/proc/self/maps", "re");
    char line[256];
    unsigned long lo = 0, hi = 0;
    while (f && fgets(line, sizeof(line), f))
        if (strstr(line, "[stack]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2)
            break;
    if (f)
        fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    unsigned long sp = (unsigned long)__builtin_frame_address(0);
    unsigned long keep = 8 * 1024; /* madvise itself; a page touched again later is just refaulted */
    if (lo && sp > lo + keep && sp < hi) {
        unsigned long end = (sp - keep) & ~(unsigned long)(page - 1);
        madvise((void *)lo, end - lo, MADV_DONTNEED);
    }
}

static int ensure_run_dir(struct sbx_err **err)
{
    char stage[4096];
    snprintf(stage, sizeof(stage), "%s/stage", gbox_run_dir());
    /* 0755: the sandbox's setup runs as an unprivileged mapped uid and must traverse it */
    if ((mkdir(gbox_run_dir(), 0755) < 0 && errno != EEXIST) || (mkdir(stage, 0755) < 0 && errno != EEXIST))
        return sbx_err_set(err, GBOX_EXIT_LAUNCH, errno, "create %s", stage);
    return 0;
}

static const char *default_policy(void)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/default.json", gbox_policy_dir());
    struct stat st;
    return stat(p, &st) == 0 ? "default" : "base";
}

int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"policy", required_argument, NULL, 'p'}, {"report", required_argument, NULL, 'r'},
        {"in-image", no_argument, NULL, 'i'},     {"quiet", no_argument, NULL, 'q'},
        {"module", required_argument, NULL, 'm'}, {"image", required_argument, NULL, 'I'},
        {"name", required_argument, NULL, 'n'},   {"store", required_argument, NULL, 'S'},
        {"state-file", required_argument, NULL, 'F'}, {"env", required_argument, NULL, 'e'},
        {"hold-fd", required_argument, NULL, 'H'},
        {"state-dir", required_argument, NULL, 'D'}, {"state-layer", required_argument, NULL, 'L'},
        {"tty", no_argument, NULL, 't'},          {"pin", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *policy = NULL, *report_file = NULL, *state_file = NULL;
    bool in_image = false, quiet = false, tty = false;
    struct pool_shim held = {.fd = -1};
    struct run_hold hold = {.run.fd = -1};
    struct run_request rq = {.hold = &hold};
    const char **modules = calloc((size_t)argc + 1, sizeof(char *));
    const char **envs = calloc((size_t)argc + 1, sizeof(char *));
    const char **layers = calloc((size_t)argc + 1, sizeof(char *));
    const char **pins = calloc((size_t)argc + 1, sizeof(char *));
    rq.state_layers = layers;
    rq.pins = pins;
    if (!modules || !envs || !layers || !pins)
        abort();
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+p:r:iqtm:n:e:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': policy = optarg; break;
        case 'r': report_file = optarg; break;
        case 'i': in_image = true; break;
        case 'q': quiet = true; break;
        case 't': tty = true; break;
        case 'm': modules[rq.n_modules++] = optarg; break;
        case 'I': rq.image = optarg; break;
        case 'n': rq.name = optarg; break;
        case 'S': rq.store_dir = optarg; break;
        case 'F': state_file = optarg; break;
        case 'H': {
            char *end = NULL;
            long fd = strtol(optarg, &end, 10);
            if (!*optarg || *end || fd < 3 || fd > 1023) {
                fprintf(stderr, "gbox run: --hold-fd: expected a file descriptor number from 3 to 1023, got \"%s\"\n", optarg);
                free(modules);
                free(layers);
                free(pins);
                free(envs);
                return GBOX_EXIT_USAGE;
            }
            held.fd = (int)fd;
            break;
        }
        case 'D': rq.state_dir = optarg; break;
        case 'L': layers[rq.n_state_layers++] = optarg; break;
        case 'P': pins[rq.n_pins++] = optarg; break;
        case 'e': {
            const char *eq = strchr(optarg, '=');
            size_t kl = eq ? (size_t)(eq - optarg) : 0;
            if (!eq || kl == 0 || strspn(optarg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != kl ||
                (optarg[0] >= '0' && optarg[0] <= '9')) {
                fprintf(stderr, "gbox run: --env: expected NAME=VALUE with NAME of letters, digits and _, got \"%s\"\n", optarg);
                free(modules);
                free(layers);
                free(pins);
                free(envs);
                return GBOX_EXIT_USAGE;
            }
            envs[rq.n_env++] = optarg;
            break;
        }
        case 'h': fputs(run_usage, stdout); free(modules); free(layers); free(pins); free(envs); return 0;
        default: fputs(run_usage, stderr); free(modules); free(layers); free(pins); free(envs); return GBOX_EXIT_USAGE;
        }
    }
    if (held.fd >= 0 && (optind < argc || in_image || rq.n_modules || rq.name || rq.n_env || report_file || state_file ||
                         rq.state_dir || rq.n_state_layers || tty)) {
        fprintf(stderr, "gbox run: --hold-fd: the program, --in-image, --module, --name, --env, --report, "
                        "--state-file, --state-dir, --state-layer and --tty are not for a warm sandbox\n");
        free(modules);
        free(layers);
        free(pins);
        free(envs);
        return GBOX_EXIT_USAGE;
    }
    if (optind >= argc && held.fd < 0) {
        fprintf(stderr, "gbox run: expected a PROGRAM%s to run\n%s", in_image ? " (CMD)" : "", run_usage);
        free(modules);
        free(layers);
        free(pins);
        free(envs);
        return GBOX_EXIT_USAGE;
    }
    rq.modules = modules;
    rq.env = envs;
    struct sbx_err *err = NULL;
    struct gbox_policy *p = NULL;
    struct project_config pc = {0};
    if (!in_image && held.fd < 0 && project_config_load(argv[optind], &pc, &err) < 0) {
        free(modules);
        free(layers);
        free(pins);
        free(envs);
        return cli_fail(&err);
    }
    if (pc.modules) { /* gbox.json's modules go below --module's */
        size_t nm = json_array_size(pc.modules), i;
        const char **grown = realloc(modules, ((size_t)argc + nm + 1) * sizeof(char *));
        if (!grown)
            abort();
        rq.modules = modules = grown;
        memmove(modules + nm, modules, rq.n_modules * sizeof(char *));
        for (i = 0; i < nm; i++)
            modules[i] = json_string_value(json_array_get(pc.modules, i));
        rq.n_modules += nm;
    }
    const char *chosen = policy ? policy : pc.policy[0] ? pc.policy : default_policy();
    if (policy_load(chosen, &p, &err) < 0) {
        if (!policy && pc.policy[0])
            sbx_err_wrap(&err, "%s: json.policy", pc.file);
        project_config_free(&pc);
        free(modules);
        free(layers);
        free(pins);
        free(envs);
        return cli_fail(&err);
    }
    rq.held = held.fd >= 0;
    if (rq.held)
        in_image = true;
    rq.program = in_image ? NULL : argv[optind];
    rq.in_image = in_image;
    rq.argv = in_image ? argv + optind : argv + optind + 1;
    rq.argc = in_image ? argc - optind : argc - optind - 1;
    struct sbx_spec spec;
    if (plan_build(p, &rq, &spec, &err) < 0) {
        run_hold_release(&hold);
        project_config_free(&pc);
        policy_free(p);
        free(modules);
        free(layers);
        free(pins);
        free(envs);
        return cli_fail(&err);
    }
    if (state_file) {
        spec.on_start = run_write_state_file;
        spec.on_start_arg = (void *)state_file;
    }
    if (rq.held) {
        held.p = p;
        held.spec = &spec;
        spec.hold_fd = held.fd;
        spec.on_held = pool_shim_held;
        spec.on_release = pool_shim_release;
        spec.hold_arg = &held;
    }
    if (state_file || rq.held) /* a daemon's shim: one of many, living as long as its sandbox */
        trim_memory(p);
    spec.controlling_tty = tty;
    spec.lean = state_file || rq.held;
    spec.no_stats = !report_file && !state_file && !rq.held; /* nothing reads them after an exit */
    struct sbx_result res;
    struct net_lease lease = {""};
    struct pty_relay pty = {.master = -1, .slave = -1, .saved = {-1, -1, -1}, .stop = {-1, -1}};
    int code, run_rc = -1;
    if (ensure_run_dir(&err) == 0 && plan_net_lease(p, &spec, &lease, &err) == 0 &&
        (!tty || pty_start(&pty, &err) == 0))
        run_rc = sbx_run(&spec, &res, &err);
    if (tty)
        pty_finish(&pty); /* before any message: the host terminal is back as it was */
    if (run_rc < 0) {
        if (held.err) { /* the release failed: say why, not "released without a program" */
            sbx_err_free(&err);
            err = held.err;
            held.err = NULL;
        }
        code = cli_fail(&err);
    } else {
        if (held.report)
            report_file = held.report;
        /* a normal exit with no report asked for: nothing would read it (no summary line) */
        json_t *rep = res.end == SBX_END_EXITED && !report_file ? json_object() : report_build(p, &spec, &res, err);
        /* the module stack and the sandbox's name, when there are */
        if (hold.images)
            json_object_set(rep, "images", hold.images);
        if (rq.name)
            json_object_set_new(rep, "name", json_string(rq.name));
        char line[600];
        if (res.end == SBX_END_SETUP)
            fprintf(stderr, "gbox: %s\n", err ? err->msg : "sandbox setup failed");
        else if (!quiet && report_summary(rep, line, sizeof(line)))
            fprintf(stderr, "gbox: %s\n", line);
        sbx_err_free(&err);
        if (report_file && report_write(rep, report_file, &err) < 0)
            cli_fail(&err);
        json_decref(rep);
        code = res.exit_code;
    }
    netpool_release(&lease); /* sbx_run has removed the host end */
    pool_shim_free(&held);
    run_hold_release(&hold);
    project_config_free(&pc);
    sbx_spec_free(&spec);
    policy_free(p);
    free(modules);
    free(layers);
    free(pins);
    free(envs);
    return code;
}
