/* The "idle-thread" variant of scripts/bench: preloaded instead of the shim, it starts one thread
 * that does nothing, at load and again in every forked child (nginx's worker), so the benchmark
 * shows what a second thread alone costs a process (glibc leaves its single-thread fast paths). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause(); /* every signal is blocked here (see start): it never returns */
	return NULL;
}

static void start(void)
{
	/* All signals blocked in the thread, so the process's signals still go to its own threads
	 * (nginx's master waits for them in sigsuspend). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	int err = pthread_create(&t, NULL, idle, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		fprintf(stderr,
			"idle_thread: pthread_create failed (%d): the variant measures nothing\n",
			err);
	else
		pthread_detach(t);
}

__attribute__((constructor)) static void idle_thread_init(void)
{
	start();
	pthread_atfork(NULL, NULL, start); /* fork keeps only the calling thread */
}
