/* report.h — the JSON report of one run (`gbox run --report FILE`) and its one-line summary. */
#ifndef GBOX_REPORT_H
#define GBOX_REPORT_H

#include "policy.h"
#include <jansson.h>

json_t *report_build(const struct gbox_policy *p, const struct sbx_spec *s,
                     const struct sbx_result *r, const struct sbx_err *setup_err);
/* Human summary for stderr when the run did not end by a plain exit; NULL otherwise. */
const char *report_summary(const json_t *report, char *buf, size_t len);
int report_write(const json_t *report, const char *file, struct sbx_err **err);

#endif
