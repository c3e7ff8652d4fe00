/* A CPU-bound program for the profiler's overhead: one thread does a fixed amount of arithmetic in
 * a few nested functions (so samples have a stack to unwind), then prints the process's CPU time
 * (every thread, the shim's reporter included) as one JSON line. Usage: cpu_burn ITERATIONS. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static volatile uint64_t sink;

__attribute__((noinline)) static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ull;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dull;
	return x ^ (x >> 33);
}

__attribute__((noinline)) static uint64_t inner(uint64_t seed, long n)
{
	uint64_t x = seed;
	for (long i = 0; i < n; i++)
		x = mix(x + (uint64_t)i);
	return x;
}

__attribute__((noinline)) static uint64_t outer(long iters)
{
	uint64_t acc = 0;
	for (long i = 0; i < iters / 1000; i++)
		acc += inner(acc + (uint64_t)i, 1000);
	return acc;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 100000000;
	sink = outer(iters);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("{\"iterations\": %ld, \"cpu_s\": %.6f}\n", iters, cpu);
	return 0;
}
