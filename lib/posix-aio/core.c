// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet-aio core: the request table, the per-fd order, the queue,
 * finishing requests, waiting on the generation futex, fork(). (The
 * io_context, who reaps it and the reaper thread: reap.c.)
 */
#include "syslet_aio.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

uint32_t sa_gen;
pthread_mutex_t sa_lock = PTHREAD_MUTEX_INITIALIZER;

#define TAB 1024		/* aiocb table buckets (power of two) */
#define FDB 256			/* per-fd list buckets (power of two) */

static struct sa_req *tab[TAB];
static struct sa_req *fdb[FDB], *fdt[FDB];	/* per-fd lists: heads, tails */
static struct sa_req *qhead, *qtail;
static unsigned nmodify;	/* registered requests other than reads */
static uint64_t seqno;
static int nwaiters;
/*
 * For reap.c, read without the lock: kernel requests admitted and not
 * finished; registered requests whose completion must be seen promptly
 * although maybe nobody waits (a notification, a lio_listio() group);
 * futex waiters that need someone to reap the ring (sa_wait()).
 */
static unsigned inflight, nqueued, nurgent;
static int nneed;

/* --- the table, the per-fd lists, the queue -------------------------- */

static unsigned hash_cb(const struct aiocb *cb)
{
	uintptr_t x = (uintptr_t)cb >> 4;

	return (unsigned)((x * 0x9e3779b97f4a7c15ull) >> 40) & (TAB - 1);
}

struct sa_req *sa_lookup_locked(const struct aiocb *cb)
{
	struct sa_req *r = tab[hash_cb(cb)];

	while (r && r->cb != cb)
		r = r->hnext;
	return r;
}

struct sa_req *sa_fd_first_locked(int fd)
{
	struct sa_req *r = fdb[(unsigned)fd & (FDB - 1)];

	while (r && r->fd != fd)
		r = r->fnext;
	return r;
}

/* Newest first in the table; in submission order in the fd list. */
void sa_register_locked(struct sa_req *r)
{
	unsigned b = (unsigned)r->fd & (FDB - 1), h = hash_cb(r->cb);

	r->seq = ++seqno;
	__atomic_store_n(&nmodify, nmodify + (r->op != SA_READ), __ATOMIC_RELEASE);
	/* (a zeroed sigevent is SIGEV_SIGNAL with signal 0: none) */
	r->urgent = (r->sev.sigev_notify == SIGEV_SIGNAL && r->sev.sigev_signo > 0) ||
		    r->sev.sigev_notify == SIGEV_THREAD || r->lio;
	__atomic_store_n(&nurgent, nurgent + r->urgent, __ATOMIC_SEQ_CST);
	r->hnext = tab[h];
	tab[h] = r;
	r->fprev = fdt[b];
	r->fnext = NULL;
	if (fdt[b])
		fdt[b]->fnext = r;
	else
		fdb[b] = r;
	fdt[b] = r;
}

static void unlink_locked(struct sa_req *r)
{
	struct sa_req **pp = &tab[hash_cb(r->cb)];

	__atomic_store_n(&nmodify, nmodify - (r->op != SA_READ), __ATOMIC_RELEASE);
	__atomic_store_n(&nurgent, nurgent - r->urgent, __ATOMIC_SEQ_CST);
	while (*pp && *pp != r)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = r->hnext;
	unsigned b = (unsigned)r->fd & (FDB - 1);

	if (r->fprev)
		r->fprev->fnext = r->fnext;
	else
		fdb[b] = r->fnext;
	if (r->fnext)
		r->fnext->fprev = r->fprev;
	else
		fdt[b] = r->fprev;
	r->fprev = r->fnext = NULL;
}

/*
 * Requests on one descriptor keep glibc's order where it is observable:
 * glibc runs them one after the other, so a request waits for every
 * earlier unfinished one on the same fd that it conflicts with: any, for
 * an fsync (POSIX: it covers the operations queued before it); an
 * overlapping range where one of the two writes (an O_APPEND write
 * overlaps everything). Reads never wait for reads. Two glibc requests
 * never wait for each other here: glibc queues them per fd itself.
 */
static int overlap(const struct sa_req *a, const struct sa_req *b)
{
	/* an fsync is a barrier both ways, as in glibc's per-fd FIFO */
	if (b->op == SA_FSYNC || b->op == SA_FDSYNC || a->op == SA_FSYNC || a->op == SA_FDSYNC)
		return 1;
	if (a->op == SA_BAD)
		return 0;
	if (a->op != SA_WRITE && b->op != SA_WRITE)
		return 0;
	if (a->append || b->append)
		return 1;
	if (!a->len || !b->len)
		return 0;
	return a->off < b->off + (long long)b->len && b->off < a->off + (long long)a->len;
}

/*
 * No registered request writes or syncs: a read cannot conflict with
 * anything (read without the lock: a request the calling thread made
 * earlier was registered before its call returned).
 */
int sa_only_reads(void)
{
	return !__atomic_load_n(&nmodify, __ATOMIC_ACQUIRE);
}

int sa_conflicts_locked(const struct sa_req *r)
{
	if (r->op == SA_READ && !nmodify)
		return 0;	/* only reads anywhere: nothing to order */
	for (struct sa_req *p = fdb[(unsigned)r->fd & (FDB - 1)]; p && p->seq < r->seq; p = p->fnext)
		if (p->fd == r->fd && !p->orphan &&
		    !(p->kind == SA_GLIBC && r->kind == SA_GLIBC) && overlap(p, r))
			return 1;
	return 0;
}

void sa_enqueue_locked(struct sa_req *r)
{
	r->state = SA_QUEUED;
	r->qnext = NULL;
	if (qtail)
		qtail->qnext = r;
	else
		qhead = r;
	qtail = r;
	__atomic_add_fetch(&nqueued, 1, __ATOMIC_SEQ_CST);
	sa_count(SA_ST_DEFERRED);
}

static void dequeue_locked(struct sa_req *r)
{
	struct sa_req *prev = NULL;

	for (struct sa_req *p = qhead; p; prev = p, p = p->qnext) {
		if (p != r)
			continue;
		if (prev)
			prev->qnext = p->qnext;
		else
			qhead = p->qnext;
		if (qtail == p)
			qtail = prev;
		__atomic_sub_fetch(&nqueued, 1, __ATOMIC_SEQ_CST);
		break;
	}
	r->qnext = NULL;
}

/*
 * Queued requests that may start now, in order, marked in flight: kernel
 * ones while the io_context has room, any once no earlier conflicting
 * request is unfinished. The caller submits them with sa_run_batch().
 */
struct sa_req *sa_pump_locked(void)
{
	struct sa_req *head = NULL, **tail = &head, *prev = NULL, *r, *next;

	for (r = qhead; r; r = next) {
		next = r->qnext;
		if ((r->kind == SA_KERNEL && inflight >= SA_DEPTH) || sa_conflicts_locked(r)) {
			prev = r;
			continue;
		}
		if (prev)
			prev->qnext = next;
		else
			qhead = next;
		if (qtail == r)
			qtail = prev;
		__atomic_sub_fetch(&nqueued, 1, __ATOMIC_SEQ_CST);
		r->state = SA_INFLIGHT;
		r->qnext = NULL;
		if (r->kind == SA_HELPER) {
			sa_helper_queue_locked(r);	/* the helper starts it */
			continue;
		}
		if (r->kind == SA_KERNEL) {
			__atomic_add_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
			r->counted = 1;
		}
		*tail = r;
		tail = &r->qnext;
	}
	return head;
}

/*
 * Whether a new request may start now (1: marked in flight and counted;
 * the caller starts it), or not (0): it waits in the queue, behind a
 * conflicting request or for room in the context, or it is a read now
 * in the helper's queue (helper.c).
 */
int sa_admit_locked(struct sa_req *r)
{
	if (sa_conflicts_locked(r) || (r->kind == SA_KERNEL && inflight >= SA_DEPTH)) {
		sa_enqueue_locked(r);
		return 0;
	}
	r->state = SA_INFLIGHT;
	if (r->kind == SA_HELPER) {
		sa_helper_queue_locked(r);	/* the helper starts it */
		return 0;
	}
	if (r->kind == SA_KERNEL) {
		__atomic_add_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
		r->counted = 1;
	}
	return 1;
}

/* A kernel request io_submit() did not take becomes uncounted. */
void sa_uncount_locked(struct sa_req *r)
{
	if (r->counted) {
		r->counted = 0;
		__atomic_sub_fetch(&inflight, 1, __ATOMIC_SEQ_CST);
	}
}

/* --- finishing ------------------------------------------------------- */

/*
 * Requests dropped inside aio_suspend(), freed later: a signal handler
 * may call aio_suspend() while its thread is inside malloc(), and free()
 * there would wait for the arena's lock for ever. Under the lock.
 */
static struct sa_req *to_free;
__thread int sa_no_free __attribute__((tls_model("initial-exec")));

void sa_drop_locked(struct sa_req *r)
{
	if (--r->refs)
		return;
	if (sa_no_free) {
		r->hnext = to_free;
		__atomic_store_n(&to_free, r, __ATOMIC_RELAXED);
		return;
	}
	free(r);
	__atomic_sub_fetch(&sa_stats[SA_ST_LIVE], 1, __ATOMIC_RELAXED);
}

/* Free what aio_suspend() dropped (not from a signal handler). */
void sa_free_deferred(void)
{
	struct sa_req *r;

	if (!__atomic_load_n(&to_free, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&sa_lock);
	r = to_free;
	to_free = NULL;
	pthread_mutex_unlock(&sa_lock);
	while (r) {
		struct sa_req *next = r->hnext;

		free(r);
		__atomic_sub_fetch(&sa_stats[SA_ST_LIVE], 1, __ATOMIC_RELAXED);
		r = next;
	}
}

/*
 * Finish R with ERR (0 or an errno) and RET: the caller's aiocb gets its
 * result (__return_value first, then __error_code, which aio_error() and
 * aio_suspend() read without a lock), the request leaves the table, and
 * its notifications are added to N. Drops the table's reference.
 * With N NULL the request is only withdrawn (a synchronous failure: the
 * caller sets the aiocb and errno itself).
 */
void sa_finish_locked(struct sa_req *r, int err, ssize_t ret, struct sa_notes *n)
{
	if (r->state == SA_DONE)
		return;
	if (r->state == SA_QUEUED && !r->orphan)
		dequeue_locked(r);
	sa_uncount_locked(r);
	__atomic_store_n(&r->state, SA_DONE, __ATOMIC_RELEASE);
	unlink_locked(r);
	if (n) {
		/* glibc's notification fails for a signal number the kernel
		 * refuses, and the request then reports that error. */
		if (r->sev.sigev_notify == SIGEV_SIGNAL && (unsigned)r->sev.sigev_signo > 64) {
			err = EINVAL;
			ret = -1;
		}
		r->cb->__return_value = ret;
		__atomic_store_n(&r->cb->__error_code, err, __ATOMIC_RELEASE);
		sa_notes_add(n, &r->sev);
	}
	__atomic_add_fetch(&sa_gen, 1, __ATOMIC_SEQ_CST);
	if (r->lio) {
		struct sa_lio *g = r->lio;
		/* read before the decrement: once it is 0, a LIO_WAIT caller
		 * may free the group */
		int waiting = g->waiting;

		if (__atomic_sub_fetch(&g->left, 1, __ATOMIC_ACQ_REL) == 0 && !waiting) {
			if (n)
				sa_notes_add(n, &g->sev);
			free(g);
		}
		r->lio = NULL;
	}
	sa_drop_locked(r);
}

/* --- waiting and waking ---------------------------------------------- */

static int nwant;		/* futex waiters that would reap themselves */

static int *wait_counter(int how)
{
	return how == SA_W_WANT ? &nwant : how == SA_W_NEED ? &nneed : NULL;
}

static void unwait(void *arg)
{
	int *c = wait_counter((int)(intptr_t)arg);

	__atomic_sub_fetch(&nwaiters, 1, __ATOMIC_SEQ_CST);
	/* one that would have reaped is gone: someone else may have to */
	if (c && __atomic_sub_fetch(c, 1, __ATOMIC_SEQ_CST) == 0 && c == &nwant)
		sa_poll_need();
}

/* A cancellation acted in sa_wait() (only aio_suspend()'s is cancelable). */
static void cancelled(void *arg)
{
	unwait(arg);
	sa_suspend_cancelled();
}

/*
 * Sleep while sa_gen is SEEN, until the CLOCK_MONOTONIC deadline ABS
 * (none: NULL). The futex calls are glibc's (FUTEX_WAIT_BITSET, absolute
 * monotonic time), so a signal handler interrupts them the same way: with
 * a timeout always EINTR, without one EINTR unless SA_RESTART restarts it.
 * Returns 0, EINTR or ETIMEDOUT. A cancellation point if CANCELABLE.
 * HOW says what the sleeper needs from the ring (reap.c): SA_W_NEED, a
 * request it waits for finishes only once someone reaps it, so the
 * reaper is woken if nobody does; SA_W_WANT, it would reap itself but
 * another thread holds the ring (which hands it over); SA_W_NONE.
 */
int sa_wait(uint32_t seen, const struct timespec *abs, int cancelable, int how)
{
	int *c = wait_counter(how);
	long rc;
	int type = 0, e;

	__atomic_add_fetch(&nwaiters, 1, __ATOMIC_SEQ_CST);
	if (c)
		__atomic_add_fetch(c, 1, __ATOMIC_SEQ_CST);
	if (how == SA_W_NEED)
		sa_poll_need();
	if (how == SA_W_WANT && !sa_ring_held()) {
		/* let go before this one counted: take it (give() bumps
		 * sa_gen only for those it sees) */
		unwait((void *)(intptr_t)how);
		return 0;
	}
	pthread_cleanup_push(cancelled, (void *)(intptr_t)how);
	if (cancelable)
		pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &type);
	rc = syscall(SYS_futex, &sa_gen, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, seen, abs,
		     NULL, FUTEX_BITSET_MATCH_ANY);
	e = rc ? errno : 0;	/* before anything else can change errno */
	if (cancelable)
		pthread_setcanceltype(type, NULL);
	pthread_cleanup_pop(0);
	unwait((void *)(intptr_t)how);
	return e == EINTR || e == ETIMEDOUT ? e : 0;	/* EAGAIN: sa_gen moved on */
}

/* What reap.c decides on, read without the lock. */
void sa_load(struct sa_load *l)
{
	l->inflight = __atomic_load_n(&inflight, __ATOMIC_SEQ_CST);
	l->queued = __atomic_load_n(&nqueued, __ATOMIC_SEQ_CST);
	l->urgent = __atomic_load_n(&nurgent, __ATOMIC_SEQ_CST);
	l->need = __atomic_load_n(&nneed, __ATOMIC_SEQ_CST);
	l->want = __atomic_load_n(&nwant, __ATOMIC_SEQ_CST);
}

/* Finish the requests of K io_events (with the lock). */
void sa_take_events_locked(const struct io_event *ev, long k, struct sa_notes *notes)
{
	for (long i = 0; i < k; i++) {
		struct sa_req *r = (struct sa_req *)(uintptr_t)ev[i].data;
		long long res = ev[i].res;

		if (res < 0)
			sa_finish_locked(r, (int)-res, -1, notes);
		else
			sa_finish_locked(r, 0, (ssize_t)res, notes);
	}
}

static void wake(void)
{
	if (__atomic_load_n(&nwaiters, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, &sa_gen, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, 0);
}

/* A request finished without the lock (sa_read_now()): waiters look. */
void sa_bump_gen(void)
{
	__atomic_add_fetch(&sa_gen, 1, __ATOMIC_SEQ_CST);
	wake();
}

/* After the lock: wake waiters, start what the pump let go, notify. */
void sa_after(struct sa_notes *n, struct sa_req *batch)
{
	wake();
	sa_helper_wake();
	if (batch)
		sa_run_batch(batch);
	if (n && n->n)
		sa_notes_send(n);
}

/* --- the library's threads -------------------------------------------- */

/*
 * A detached thread FN(ARG) named NAME with a STACK-byte stack, born with
 * every signal blocked (as glibc's AIO threads are: no signal meant for
 * the program runs a handler on it). Returns pthread_create()'s answer.
 */
int sa_spawn(void *(*fn)(void *), void *arg, size_t stack, const char *name)
{
	sigset_t all, old;
	pthread_attr_t a;
	pthread_t t;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, stack);
	rc = pthread_create(&t, &a, fn, arg);
	pthread_attr_destroy(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!rc)
		pthread_setname_np(t, name);
	return rc;
}

/* --- fork() ---------------------------------------------------------- */

void sa_fork_prepare(void)
{
	pthread_mutex_lock(&sa_lock);
}

void sa_fork_parent(void)
{
	pthread_mutex_unlock(&sa_lock);
}

/*
 * The child has no io_context (fs/aio.c does not copy it), no reaper and
 * one thread. The parent's kernel requests never finish here: their
 * aiocbs stay EINPROGRESS, as glibc leaves the requests its threads were
 * running; they stay in the table (aio_cancel() answers AIO_NOTCANCELED
 * for them). Queued ones never start (aio_cancel() cancels them). glibc
 * requests are glibc's business: its copied state answers for them, and
 * they stay unfinished here too (shadow.c).
 */
void sa_fork_child(void)
{
	pthread_mutex_init(&sa_lock, NULL);
	sa_reap_fork_child();
	nwaiters = nneed = nwant = 0;
	nurgent = 0;	/* nothing here finishes a parent's request */
	for (struct sa_req *r = qhead, *next; r; r = next) {
		next = r->qnext;
		r->qnext = NULL;
		r->orphan = 1;
	}
	qhead = qtail = NULL;
	nqueued = 0;
	for (unsigned i = 0; i < TAB; i++)
		for (struct sa_req *r = tab[i]; r; r = r->hnext) {
			r->urgent = 0;
			if (r->kind == SA_KERNEL || r->kind == SA_HELPER) {
				r->orphan = 1;
				r->counted = 0;
			}
		}
	inflight = 0;
	sa_helper_fork_child();
	sa_shadow_fork_child();
}
