/* For the wait profiler: thread "holder" takes a mutex and keeps it 40 ms at a time; thread
 * "waiter" keeps taking the same mutex in take_contended(), and an uncontended one in
 * take_free(). Prints the truth it measured around its own pthread_mutex_lock calls:
 * "wait_ns take_contended=N". */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t contended = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t uncontended = PTHREAD_MUTEX_INITIALIZER;
static volatile int done;
static uint64_t waited;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000};
	nanosleep(&ts, NULL);
}

__attribute__((noinline)) void take_contended(void)
{
	uint64_t t0 = now_ns();
	pthread_mutex_lock(&contended);
	waited += now_ns() - t0;
	pthread_mutex_unlock(&contended);
}

__attribute__((noinline)) void take_free(void)
{
	pthread_mutex_lock(&uncontended);
	pthread_mutex_unlock(&uncontended);
}

__attribute__((noinline)) void *holder_main(void *arg)
{
	int rounds = *(int *)arg;
	for (int i = 0; i < rounds; i++) {
		pthread_mutex_lock(&contended);
		sleep_ms(40);
		pthread_mutex_unlock(&contended);
		sleep_ms(10);
	}
	done = 1;
	return NULL;
}

__attribute__((noinline)) void *waiter_main(void *arg)
{
	(void)arg;
	while (!done) {
		take_contended();
		take_free();
		sleep_ms(2);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 15;
	pthread_t h, w;
	if (pthread_create(&h, NULL, holder_main, &rounds)) {
		perror("pthread_create");
		return 1;
	}
	sleep_ms(5); /* the holder has it first */
	if (pthread_create(&w, NULL, waiter_main, NULL)) {
		perror("pthread_create");
		return 1;
	}
	pthread_join(h, NULL);
	pthread_join(w, NULL);
	printf("wait_ns take_contended=%llu\n", (unsigned long long)waited);
	return 0;
}
