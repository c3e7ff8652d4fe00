/* The pthread_create and thrd_create hooks: the new thread starts in a trampoline that hands it
 * the creating thread's trace context, runs the start functions other parts of the shim
 * registered (the profiler arms the thread's timer there), then calls the program's start
 * routine. Threads that the shim's own threads create are marked internal and never traced.
 * glibc's thrd_create calls its pthread_create internally, past the pthread_create hook, so
 * C11 threads need their own. */
#include "real.h"
#include "../preload/thread.h"

#include <errno.h>
#include <stdlib.h>
#include <threads.h>

struct start {
	union {
		void *(*fn)(void *);
		thrd_start_t thrd_fn;
	};
	void *arg;
	struct rs_ctx ctx;
	bool internal;
};

/* On the new thread: takes its start (and frees it) and sets the thread up. */
static struct start begin(void *p)
{
	struct start s = *(struct start *)p;
	free(p);
	if (s.internal) {
		rs_thread_set_internal();
	} else {
		rs_t.inherited = s.ctx;
		rs_thread_started();
	}
	return s;
}

static void *trampoline(void *p)
{
	struct start s = begin(p);
	return s.fn(s.arg);
}

static int thrd_trampoline(void *p)
{
	struct start s = begin(p);
	return s.thrd_fn(s.arg);
}

/* A start for a thread the calling thread creates now, or NULL (then it is created untouched). */
static struct start *start_of_new_thread(void)
{
	if (!rs_load_relaxed(&rs_active) || (rs_t.guard && !rs_t.internal))
		return NULL;
	int saved = errno;
	struct start *s = malloc(sizeof(*s));
	errno = saved;
	if (!s)
		return NULL;
	s->internal = rs_t.internal;
	/* A thread started while this one serves a request works for that request. */
	s->ctx = rs_t.active.valid ? rs_t.active : rs_t.inherited;
	return s;
}

HOOK(int, pthread_create, pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
     void *arg)
{
	struct start *s = start_of_new_thread();
	if (!s)
		return REAL(pthread_create)(t, attr, fn, arg);
	s->fn = fn;
	s->arg = arg;
	int r = REAL(pthread_create)(t, attr, trampoline, s);
	if (r != 0)
		free(s);
	return r;
}

HOOK(int, thrd_create, thrd_t *t, thrd_start_t fn, void *arg)
{
	struct start *s = start_of_new_thread();
	if (!s)
		return REAL(thrd_create)(t, fn, arg);
	s->thrd_fn = fn;
	s->arg = arg;
	int r = REAL(thrd_create)(t, thrd_trampoline, s);
	if (r != thrd_success)
		free(s);
	return r;
}
