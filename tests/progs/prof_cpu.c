/* For the CPU profiler: thread "burner" splits its CPU time 3:1 between burn_a and burn_b, thread
 * "sleeper" sleeps meanwhile, and main waits for both. Prints the truth it measured itself (each
 * function's CPU time and each thread's, per the threads' CPU clocks) as
 * "cpu_ns burn_a=N burn_b=N burner=N sleeper=N main=N". */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile uint64_t sink;
static volatile int done;

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Each function spins in its own body, so a sample's leaf is the function itself. */
#define SPIN(ns)                                                                                   \
	do {                                                                                       \
		uint64_t end_ = cpu_ns() + (ns);                                                   \
		while (cpu_ns() < end_)                                                            \
			for (int i_ = 0; i_ < 20000; i_++)                                         \
				sink += (uint64_t)i_ * 7;                                          \
	} while (0)

__attribute__((noinline)) void burn_a(uint64_t ns)
{
	SPIN(ns);
}

__attribute__((noinline)) void burn_b(uint64_t ns)
{
	SPIN(ns);
}

static uint64_t spent_a, spent_b, cpu_burner, cpu_sleeper;

__attribute__((noinline)) void *burner_main(void *arg)
{
	int rounds = *(int *)arg;
	pthread_setname_np(pthread_self(), "burner");
	for (int r = 0; r < rounds; r++) {
		uint64_t t0 = cpu_ns();
		burn_a(75000000);
		uint64_t t1 = cpu_ns();
		burn_b(25000000);
		uint64_t t2 = cpu_ns();
		spent_a += t1 - t0;
		spent_b += t2 - t1;
	}
	cpu_burner = cpu_ns();
	done = 1;
	return NULL;
}

__attribute__((noinline)) void *sleeper_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "sleeper");
	struct timespec ts = {0, 20000000};
	while (!done)
		nanosleep(&ts, NULL);
	cpu_sleeper = cpu_ns();
	return NULL;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 20;
	pthread_t b, s;
	if (pthread_create(&s, NULL, sleeper_main, NULL) ||
	    pthread_create(&b, NULL, burner_main, &rounds)) {
		perror("pthread_create");
		return 1;
	}
	pthread_join(b, NULL);
	pthread_join(s, NULL);
	printf("cpu_ns burn_a=%llu burn_b=%llu burner=%llu sleeper=%llu main=%llu\n",
	       (unsigned long long)spent_a, (unsigned long long)spent_b,
	       (unsigned long long)cpu_burner, (unsigned long long)cpu_sleeper,
	       (unsigned long long)cpu_ns());
	return 0;
}
