/* The pthread_create hook: the new thread starts in a trampoline that hands it the creating
 * thread's trace context, runs the start functions other parts of the shim registered (the
 * profiler arms the thread's timer there), then calls the program's start routine. Threads that
 * the shim's own threads create (librdkafka's, say) are marked internal and never traced. */
#include "real.h"
#include "../preload/thread.h"

#include <errno.h>
#include <stdlib.h>

struct start {
	void *(*fn)(void *);
	void *arg;
	struct rs_ctx ctx;
	bool internal;
};

static void *trampoline(void *p)
{
	struct start s = *(struct start *)p;
	free(p);
	if (s.internal) {
		rs_thread_set_internal();
	} else {
		rs_t.inherited = s.ctx;
		rs_thread_started();
	}
	return s.fn(s.arg);
}

HOOK(int, pthread_create, pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
     void *arg)
{
	if (!rs_load_relaxed(&rs_active) || (rs_t.guard && !rs_t.internal))
		return REAL(pthread_create)(t, attr, fn, arg);
	int saved = errno;
	struct start *s = malloc(sizeof(*s));
	errno = saved;
	if (!s)
		return REAL(pthread_create)(t, attr, fn, arg);
	s->fn = fn;
	s->arg = arg;
	s->internal = rs_t.internal;
	/* A thread started while this one serves a request works for that request. */
	s->ctx = rs_t.active.valid ? rs_t.active : rs_t.inherited;
	int r = REAL(pthread_create)(t, attr, trampoline, s);
	if (r != 0)
		free(s);
	return r;
}
