/* main.c — dispatch to the verb. Each verb parses its own options (cmd_*.c). */
#include "cli.h"
#include "daemon.h"

#include <stdio.h>
#include <string.h>

#ifndef GBOX_VERSION
#define GBOX_VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
    fputs("usage: gbox VERB [OPTIONS] ...\n"
          "\n"
          "  run [--policy NAME|FILE] [--report FILE] [--module NAME[@RANGE]]... [--image REF]\n"
          "      [--name NAME] [--store DIR] [--] PROGRAM [ARGS...]   (or --in-image CMD [ARGS...])\n"
          "        run a program under a domain policy, in a fresh sandbox on a module stack\n"
          "  policy validate NAME|FILE...   check policies (exit 2 on the first invalid one)\n"
          "  policy show NAME|FILE          print the fully resolved policy as JSON\n"
          "  policy list                    list the policies in the policy directory\n"
          "  policy diff A B                show the fields that differ after resolution\n"
          "  policy groups                  list the syscall groups\n"
          "  image build|import|ls|inspect|rm|gc|digest|validate   the module image store\n"
          "  explain REPORT|ID              why a sandbox ended: the syscall, rule and policy field,\n"
          "                                 or the limit hit with its numbers\n"
          "\n"
          "  daemon [--socket PATH] [--state-dir DIR] ...   supervise sandboxes (foreground)\n"
          "  spawn [--policy P] [--name N] [--restart MODE] [--in-image] PROGRAM [ARGS...]\n"
          "  ps | inspect ID | stop ID | kill ID | rm ID | logs ID [--follow]\n"
          "  stats [--no-stream] [--json] [ID]   live usage table (refreshes on a terminal)\n"
          "  events [--follow] | emergency-stop DOMAIN | metrics\n"
          "  config get|set|revert|history|pending|approve|reject|reload   live domain configuration\n"
          "  audit verify [FILE]   check the daemon's hash-chained audit log\n"
          "  reload ID --module NAME@VERSION | rollback ID [--to GEN] | generations ID\n"
          "        talk to gbox daemon (docs/api.md)\n"
          "  oci [--root DIR] create|start|state|kill|delete|exec|ps|pause|resume|update|list|\n"
          "      features|spec ...   the OCI runtime (runc command line; also as gbox-runc or\n"
          "        `gbox --root DIR VERB`): podman --runtime, containerd (docs/oci.md)\n"
          "\n"
          "Exit codes: the program's own; 128+N when killed by signal N; 124 timeout; 125 sandbox\n"
          "setup failed; 126 cannot execute; 127 not found; 137 out of memory; 159 killed for a\n"
          "forbidden syscall; 2 usage or invalid policy. See gbox(1).\n",
          f);
}

/* Invoked as gbox-runc (a symlink), or with a runc global option first: the OCI runtime. */
static bool oci_mode(int argc, char **argv)
{
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    if (strcmp(base, "gbox-runc") == 0)
        return true;
    static const char *const globals[] = {"--root", "--log", "--log-format", "--systemd-cgroup", "--debug"};
    for (size_t i = 0; argc > 1 && i < sizeof(globals) / sizeof(globals[0]); i++) {
        size_t n = strlen(globals[i]);
        if (strncmp(argv[1], globals[i], n) == 0 && (argv[1][n] == '\0' || argv[1][n] == '='))
            return true;
    }
    return false;
}

int main(int argc, char **argv)
{
    if (oci_mode(argc, argv))
        return cmd_oci(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "oci") == 0)
        return cmd_oci(argc - 1, argv + 1);
    if (argc < 2) {
        usage(stderr);
        return GBOX_EXIT_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(verb, "policy") == 0)
        return cmd_policy(argc - 1, argv + 1);
    if (strcmp(verb, "image") == 0)
        return cmd_image(argc - 1, argv + 1);
    if (strcmp(verb, "stats") == 0)
        return cmd_stats(argc - 1, argv + 1);
    if (strcmp(verb, "explain") == 0)
        return cmd_explain(argc - 1, argv + 1);
    if (strcmp(verb, "daemon") == 0)
        return cmd_daemon(argc - 1, argv + 1);
    if (strcmp(verb, "config") == 0)
        return cmd_config(argc - 1, argv + 1);
    if (strcmp(verb, "audit") == 0)
        return cmd_audit(argc - 1, argv + 1);
    if (strcmp(verb, "reload") == 0 || strcmp(verb, "rollback") == 0 || strcmp(verb, "generations") == 0)
        return cmd_reload(argc - 1, argv + 1);
    static const char *const client_verbs[] = {"spawn", "ps", "inspect", "stop", "kill", "rm", "logs",
                                               "events", "stats", "emergency-stop", "metrics"};
    for (size_t i = 0; i < sizeof(client_verbs) / sizeof(client_verbs[0]); i++)
        if (strcmp(verb, client_verbs[i]) == 0)
            return cmd_client(argc - 1, argv + 1);
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "version") == 0) {
#ifdef GBOX_TEST_HOOKS
        printf("gbox version %s (test build: honours GBOX_TEST_* hooks)\n", GBOX_VERSION);
#else
        printf("gbox version %s\n", GBOX_VERSION);
#endif
        return 0;
    }
    fprintf(stderr, "gbox: unknown verb \"%s\"\n", verb);
    usage(stderr);
    return GBOX_EXIT_USAGE;
}

int cli_fail(struct sbx_err **err)
{
    int code = *err && (*err)->code ? (*err)->code : 1;
    fprintf(stderr, "gbox: %s\n", *err ? (*err)->msg : "unknown error");
    sbx_err_free(err);
    return code;
}
