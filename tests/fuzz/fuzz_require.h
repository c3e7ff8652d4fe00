/* The fuzz targets' one assertion: what must hold for every input, checked in every build mode
 * (assert() vanishes under NDEBUG); a failure aborts, which libFuzzer reports as a crash. */
#ifndef RS_FUZZ_REQUIRE_H
#define RS_FUZZ_REQUIRE_H

#include <stdio.h>
#include <stdlib.h>

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);                    \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
