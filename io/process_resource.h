/* The OpenTelemetry resource of this process (see process_resource.c). */
#ifndef RS_IO_PROCESS_RESOURCE_H
#define RS_IO_PROCESS_RESOURCE_H

#include "../proto/resource.h"

/* Fills r; reporter thread (reads /proc/self). */
void rs_process_resource(struct rs_resource *r);

#endif
