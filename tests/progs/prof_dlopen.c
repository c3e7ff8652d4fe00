/* The loader under the profiler: one thread keeps loading and unloading libm (dlopen, a call,
 * dlclose) while another burns CPU and the timers fire at their fastest. Nothing may crash or
 * hang: the handlers must never read an object while dlclose unmaps it. Prints "ok N" with the
 * number of load/unload rounds. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile int done;
static volatile uint64_t sink;

__attribute__((noinline)) void *loader_main(void *arg)
{
	int rounds = *(int *)arg;
	for (int i = 0; i < rounds; i++) {
		void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			fprintf(stderr, "dlopen: %s\n", dlerror());
			exit(1);
		}
		double (*cosine)(double) = (double (*)(double))dlsym(h, "cos");
		for (int k = 0; cosine && k < 20000; k++)
			sink += (uint64_t)(cosine((double)k) * 10);
		if (dlclose(h) != 0) {
			fprintf(stderr, "dlclose: %s\n", dlerror());
			exit(1);
		}
	}
	done = 1;
	return NULL;
}

__attribute__((noinline)) void burn_until_done(void)
{
	while (!done)
		for (int i = 0; i < 100000; i++)
			sink += (uint64_t)i;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 300;
	pthread_t t;
	if (pthread_create(&t, NULL, loader_main, &rounds)) {
		perror("pthread_create");
		return 1;
	}
	burn_until_done();
	pthread_join(t, NULL);
	printf("ok %d\n", rounds);
	return 0;
}
