/* One connection behind several descriptors (dup, dup2, dup3, F_DUPFD): the connection's state
 * stays in one slot of hooks/conn.c's table, its owner; each duplicate's slot is an alias whose
 * conn names the owner's, so the data path finds one state whichever descriptor it is given. */
#include "conn.h"
#include "http.h"
#include "../preload/sys.h"

#include <sched.h>
#include <string.h>

/* The owner links its aliases (next_alias). Closing an alias unlinks it; closing the owner hands
 * the state to its first alias; closing the last descriptor ends the span. */

/* Taken by changes to these links, never on the data path. A close, or a new socket, from a
 * signal handler that interrupted such a change on the same thread finds it taken here: rather
 * than deadlock or break the links under the interrupted change, the descriptor's slot keeps its
 * place in them (an alias is marked stale, RS_CONN_ALIAS_STALE, and unlinked by the next change;
 * an owner is left as if closed unseen) and a new socket on that number is not followed. */
static atomic_flag alias_lock = ATOMIC_FLAG_INIT;
static RS_TLS bool alias_held;

/* alias_held is true from before this thread may hold the lock until after it has let it go, so
 * that a handler interrupting it anywhere in between stays off the lock rather than spin on it
 * forever (the fences keep the compiler from moving the flag past the lock). */
static bool alias_lock_take(void)
{
	if (alias_held)
		return false;
	alias_held = true;
	atomic_signal_fence(memory_order_seq_cst);
	for (unsigned spins = 0;
	     atomic_flag_test_and_set_explicit(&alias_lock, memory_order_acquire); spins++)
		if (spins >= 64)
			sched_yield(); /* the holder may have been preempted: 2 cores are common */
	return true;
}

static void alias_lock_drop(void)
{
	atomic_flag_clear_explicit(&alias_lock, memory_order_release);
	atomic_signal_fence(memory_order_seq_cst);
	alias_held = false;
}

static bool followed(uint32_t st)
{
	return st == RS_CONN_CLIENT || st == RS_CONN_SERVER;
}

/* The slot in o's list that link (fd + 1) names, or NULL at the list's end: an alias, or a stale
 * one (RS_CONN_ALIAS_STALE) that a walk goes through like any other. */
static struct rs_conn *alias_at(int32_t link, const struct rs_conn *o)
{
	struct rs_conn *a = link > 0 ? rs_conn_slot(link - 1, false) : NULL;
	if (!a || rs_load_relaxed(&a->conn) != o)
		return NULL;
	uint32_t st = rs_load_relaxed(&a->state);
	return st == RS_CONN_ALIAS || st == RS_CONN_ALIAS_STALE ? a : NULL;
}

static bool stale(const struct rs_conn *a)
{
	return rs_load_relaxed(&a->state) == RS_CONN_ALIAS_STALE;
}

/* Unlinks the stale slots of o's list. Under the lock. */
static void purge_stale(struct rs_conn *o)
{
	struct rs_conn *p = o, *a;
	unsigned budget = rs_conn_max_fd() + 1;
	while (budget-- && (a = alias_at(p->next_alias, o))) {
		if (!stale(a)) {
			p = a;
			continue;
		}
		p->next_alias = a->next_alias;
		a->next_alias = 0;
		uint32_t was = RS_CONN_ALIAS_STALE; /* unless a handler made it new meanwhile */
		atomic_compare_exchange_strong(&a->state, &was, RS_CONN_NONE);
	}
}

/* Copies what a connection is from o to n, the alias taking it over. */
static void copy_conn(struct rs_conn *n, const struct rs_conn *o)
{
	n->flags = o->flags;
	n->local_port = rs_conn_field(o, local_port);
	n->err = rs_conn_field(o, err);
	n->family = o->family;
	n->shutdown_how = rs_conn_field(o, shutdown_how);
	n->start_ns = o->start_ns;
	n->shutdown_ns = rs_conn_field(o, shutdown_ns);
	rs_store_relaxed(&n->bytes_in, rs_load_relaxed(&o->bytes_in));
	rs_store_relaxed(&n->bytes_out, rs_load_relaxed(&o->bytes_out));
	n->peer = o->peer;
	/* Data calls on o may be setting these meanwhile (see rs_conn_proto). */
	rs_conn_set_proto(n, rs_conn_proto(o));
	char sniffed[sizeof(o->sniff)];
	rs_conn_put_sniffed(n, 0, sniffed, rs_conn_sniffed(o, sniffed));
	rs_conn_set_first_byte(n, rs_conn_first_byte(o));
	/* Shared until hand_over takes it off o: a data call finds it through either slot. */
	rs_store_relaxed(&n->http, atomic_load_explicit(&o->http, memory_order_acquire));
	memcpy(n->parent_trace, o->parent_trace, sizeof(n->parent_trace));
	memcpy(n->parent_span, o->parent_span, sizeof(n->parent_span));
}

/* The owner o is closed while aliases live: the first takes the connection over, the others
 * name it from now on. Bytes another thread counts on the old slot while this runs are carried
 * over at the end; a write through an alias that found the old slot before this began and
 * counts after it ended (its system call spanning the hand-over) is not: the data path takes no
 * lock to prevent it. The HTTP state is not lost that way: it moves to n before it leaves o, a
 * data call attaching one to the old slot meanwhile follows the old slot's conn to n, and one
 * parsing on the old slot afterwards does too (rs_conn_http). The old slot's memory stays valid
 * (slots are never unmapped). Under the lock. */
static void hand_over(struct rs_conn *o)
{
	purge_stale(o);
	struct rs_conn *n = alias_at(o->next_alias, o);
	unsigned budget = rs_conn_max_fd() + 1;
	while (n && stale(n) && budget--) /* made stale since the purge: passed over */
		n = alias_at(n->next_alias, o);
	if (!n) {
		o->next_alias = 0;
		rs_conn_finish(o, 0);
		return;
	}
	uint32_t st = rs_load_relaxed(&o->state);
	copy_conn(n, o);
	uint64_t in = rs_load_relaxed(&n->bytes_in), out = rs_load_relaxed(&n->bytes_out);
	/* Release: a data call that finds n through n->conn (acquire) reads the fields copied above. */
	atomic_store_explicit(&n->conn, n, memory_order_release);
	atomic_store_explicit(&n->state, st, memory_order_release);
	budget = rs_conn_max_fd() + 1;
	int32_t link = n->next_alias;
	struct rs_conn *a;
	while (budget-- && (a = alias_at(link, o))) {
		link = a->next_alias;
		atomic_store_explicit(&a->conn, n, memory_order_release);
	}
	o->next_alias = 0;
	/* The HTTP state leaves o last, by compare-and-swap: a thread deciding HTTP on o attaches
	 * either before (and its state is put on n here, before o lets go of it, so that a data
	 * call finds it through either slot) or after (it finds GONE, then n through o->conn, set
	 * first). A state on o is only ever replaced here or by rs_conn_finish, both under the lock
	 * or on the last descriptor. */
	atomic_store_explicit(&o->conn, n, memory_order_release); /* as n->conn above */
	struct rs_http *h = NULL;
	if (!atomic_compare_exchange_strong(&o->http, &h, RS_HTTP_GONE) && h != RS_HTTP_GONE) {
		struct rs_http *none = NULL;
		bool moved = h == atomic_load_explicit(&n->http, memory_order_relaxed) ||
			     atomic_compare_exchange_strong(&n->http, &none, h);
		if (moved)
			rs_conn_set_proto(n, RS_PROTO_HTTP); /* o may have decided after copy_conn */
		atomic_store_explicit(&o->http, RS_HTTP_GONE, memory_order_release);
		if (!moved) /* n decided too, meanwhile, through another descriptor: one must go */
			rs_http_close(n, h, RS_HTTP_END_ABORTED);
	}
	atomic_store_explicit(&o->state, RS_CONN_NONE, memory_order_release);
	rs_add_relaxed(&n->bytes_in, rs_load_relaxed(&o->bytes_in) - in);
	rs_add_relaxed(&n->bytes_out, rs_load_relaxed(&o->bytes_out) - out);
}

/* The alias afd is closed: out of its owner's list. Under the lock. */
static void unlink_alias(int afd, struct rs_conn *a)
{
	struct rs_conn *o = rs_load_relaxed(&a->conn), *p = o;
	unsigned budget = rs_conn_max_fd() + 1;
	while (p && budget--) {
		if (p->next_alias == afd + 1) {
			p->next_alias = a->next_alias;
			break;
		}
		p = alias_at(p->next_alias, o);
	}
	a->next_alias = 0;
	atomic_store_explicit(&a->state, RS_CONN_NONE, memory_order_release);
	if (o && followed(rs_load_relaxed(&o->state)))
		purge_stale(o);
}

/* A vfork child runs on its parent's memory (this thread's cached tid is the parent's): the
 * duplicates it makes and the ones it closes are its own descriptor table's business, not the
 * parent's connections. Asked only where duplicates are concerned: a system call. */
static bool in_vfork_child(void)
{
	return rs_t.tid && rs_sys_gettid() != rs_t.tid;
}

/* fd no longer refers to what the shim followed there (closed, or found reused): its
 * connection goes on through another descriptor, or ends with flags. */
bool rs_conn_drop(int fd, struct rs_conn *c, uint16_t flags)
{
	uint32_t st = rs_load_relaxed(&c->state);
	if (st == RS_CONN_NONE)
		return true;
	if (st == RS_CONN_TCP_NEW) {
		atomic_store_explicit(&c->state, RS_CONN_NONE, memory_order_release);
		return true;
	}
	if (!alias_lock_take()) {
		/* A signal handler interrupted a change of the links on this thread, which may be
		 * walking through this very slot: it keeps its place in them. An alias is marked
		 * stale (not followed; unlinked by the next change), an owner with aliases stays as
		 * if closed unseen; neither is made a new socket's, which goes unfollowed. */
		if (st == RS_CONN_ALIAS) {
			uint32_t alias = RS_CONN_ALIAS;
			atomic_compare_exchange_strong(&c->state, &alias, RS_CONN_ALIAS_STALE);
			return false;
		}
		if (st == RS_CONN_ALIAS_STALE || c->next_alias)
			return false;
		rs_conn_finish(c, flags);
		return true;
	}
	st = rs_load_relaxed(&c->state);
	if (st == RS_CONN_ALIAS || st == RS_CONN_ALIAS_STALE) {
		if (!in_vfork_child())
			unlink_alias(fd, c);
	} else if (followed(st) && c->next_alias) {
		if (!in_vfork_child())
			hand_over(c);
	} else {
		rs_conn_finish(c, flags);
	}
	alias_lock_drop();
	return true;
}

void rs_conn_on_dup(int oldfd, int newfd)
{
	if (oldfd == newfd || in_vfork_child())
		return;
	/* Still followed: what newfd was is closed, and by a raw syscall we could not see. */
	struct rs_conn *n = rs_conn_slot(newfd, false);
	if (n && !rs_conn_drop(newfd, n, RS_SPAN_FD_REUSED))
		return;
	/* A copy of a socket not yet connected is not followed (README, Limits). */
	struct rs_conn *s = rs_conn_slot(oldfd, false);
	if (!s || rs_load_relaxed(&s->state) < RS_CONN_CLIENT)
		return;
	n = rs_conn_slot(newfd, true);
	if (!n || !alias_lock_take())
		return;
	struct rs_conn *o = s;
	if (rs_load_relaxed(&s->state) == RS_CONN_ALIAS)
		o = rs_load_relaxed(&s->conn);
	if (o && o != n && followed(rs_load_relaxed(&o->state))) {
		purge_stale(o);
		rs_store_relaxed(&n->conn, o);
		n->next_alias = o->next_alias;
		o->next_alias = newfd + 1;
		atomic_store_explicit(&n->state, RS_CONN_ALIAS, memory_order_release);
	}
	alias_lock_drop();
}

void rs_conn_dup_after_fork(void)
{
	/* Only this thread survives: a lock another thread held stays held by no one. */
	alias_held = false;
	atomic_flag_clear(&alias_lock);
}
