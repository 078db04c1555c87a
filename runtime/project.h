/* project.h — gbox.json, the per-program settings file beside a program (docs/gbox.1.md
 * "Running Graphoid programs"): which domain policy runs it and which modules it needs. */
#ifndef GBOX_PROJECT_H
#define GBOX_PROJECT_H

#include "../sandbox/sbx.h"
#include <jansson.h>

struct project_config {
    char file[4096];    /* the gbox.json read, "" when there is none */
    char policy[4096];  /* a policy name, or a file resolved against gbox.json's directory; "" */
    json_t *modules;    /* array of NAME[@RANGE] strings, or NULL */
};

/* Read DIR(program)/gbox.json when it exists. 0 with pc->file "" when there is none; -1 and
 * GBOX_EXIT_USAGE ("FILE: json.FIELD: expected ...") when it is not valid. */
int project_config_load(const char *program, struct project_config *pc, struct sbx_err **err);
void project_config_free(struct project_config *pc);

#endif
