/* oci_import.h — `gbox image import DIR`: an OCI image layout (as `skopeo copy ... oci:DIR` or
 * `podman save --format oci-dir` write it) into the store, one module image per layer. */
#ifndef GBOX_OCI_IMPORT_H
#define GBOX_OCI_IMPORT_H

#include "store.h"

struct oci_import_opts {
    const char *name;     /* module name of the top layer; lower layers are NAME-layerN */
    const char *version;  /* version of every layer's module */
    const char *ref;      /* which image of the layout (org.opencontainers.image.ref.name); NULL:
                             the only one */
    enum module_set set;
};

/* Verify every blob against its digest, unpack each layer with its whiteouts turned into
 * overlayfs form (".wh.NAME" -> a 0/0 character device NAME, ".wh..wh..opq" -> the directory
 * marked opaque) and store it: layer N depends on layer N-1 at exactly the same version, so
 * resolving NAME stacks the whole image. say() reports each stored layer. */
int oci_import(struct store *s, const char *dir, const struct oci_import_opts *o,
               void (*say)(const char *line), struct sbx_err **err);

#endif
