/* The program takes the profiler's signal (SIGRTMAX-3) for itself while it is being profiled:
 * from then on its handler must see only the signals it sends itself, never a timer's. Burns CPU
 * before and after, then raises the signal once; prints "ok" when its handler ran exactly once
 * and only for its own raise. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t mine, timers;
static volatile uint64_t sink;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	if (si->si_code == SI_TIMER)
		timers++;
	else
		mine++;
}

static void burn(long ms)
{
	struct timespec a, b;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	do {
		for (int i = 0; i < 10000; i++)
			sink += (uint64_t)i;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

int main(void)
{
	burn(200);
	struct sigaction act, old;
	memset(&act, 0, sizeof(act));
	act.sa_sigaction = on_sig;
	act.sa_flags = SA_SIGINFO;
	if (sigaction(SIGRTMAX - 3, &act, &old) != 0) {
		perror("sigaction");
		return 1;
	}
	if (old.sa_handler != SIG_DFL) {
		fprintf(stderr, "the previous disposition was not SIG_DFL\n");
		return 1;
	}
	burn(300);
	raise(SIGRTMAX - 3);
	if (mine != 1 || timers != 0) {
		fprintf(stderr, "handler ran %d times for raise, %d for a timer\n", (int)mine,
			(int)timers);
		return 1;
	}
	puts("ok");
	return 0;
}
