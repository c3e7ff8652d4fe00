/* The output directory (RINGSIDE_OUTPUT_DIR) and the files every exporter creates in it: opened
 * safely, created when missing, and named after the executable and the process. Reporter thread. */
#ifndef RS_IO_OUTDIR_H
#define RS_IO_OUTDIR_H

#include "../proto/resource.h"
#include "loop.h"

/* Creates a new file <executable>.<pid>[-<n>].<suffix> in RINGSIDE_OUTPUT_DIR through the loop:
 * 0600, O_EXCL|O_NOFOLLOW, in a directory nobody else could swap files in. Fills path (for
 * messages) and returns the loop handle, or -errno after one line on stderr saying that `what`
 * is dropped. */
int rs_outdir_create(struct rs_loop *loop, const struct rs_resource *res, const char *suffix,
		     const char *what, char *path, size_t size);

#endif
