/* Minimal assertions for the unit tests: CHECK records a failure and goes on; the test's main
 * returns check_result() (0 pass, 1 fail), as ctest expects. */
#ifndef RS_TEST_CHECK_H
#define RS_TEST_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_EQ_U(a, b)                                                                           \
	do {                                                                                       \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);     \
		if (a_ != b_) {                                                                    \
			fprintf(stderr, "%s:%d: %s == %llu, expected %s == %llu\n", __FILE__,      \
				__LINE__, #a, a_, #b, b_);                                         \
			check_failures++;                                                          \
		}                                                                                  \
	} while (0)

static inline int check_result(void)
{
	if (check_failures)
		fprintf(stderr, "%d checks failed\n", check_failures);
	return check_failures ? 1 : 0;
}

#endif
