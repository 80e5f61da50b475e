// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet-aio core: the request table, the per-fd order, the queue,
 * finishing requests, waiting, the io_context and its reaper, fork().
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
static unsigned inflight, nqueued;
static unsigned nmodify;	/* registered requests other than reads */
static uint64_t seqno;
static int nwaiters;

static aio_context_t ctx;

/*
 * The aio ring fs/aio.c maps at the context's address. Only its head and
 * tail are read, to know without a system call whether events are there.
 */
struct sa_ring {
	unsigned id, nr, head, tail, magic, compat, incompat, header_length;
};
#define SA_RING_MAGIC 0xa10a10a1
static struct sa_ring *ring;


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
	nqueued++;
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
		nqueued--;
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
		nqueued--;
		r->state = SA_INFLIGHT;
		if (r->kind == SA_KERNEL) {
			inflight++;
			r->counted = 1;
		}
		r->qnext = NULL;
		*tail = r;
		tail = &r->qnext;
	}
	return head;
}

/*
 * Whether a new request may start now (marked in flight and counted), or
 * waits in the queue: behind a conflicting request,
 * or for room in the context.
 */
int sa_admit_locked(struct sa_req *r)
{
	if (sa_conflicts_locked(r) || (r->kind == SA_KERNEL && inflight >= SA_DEPTH)) {
		sa_enqueue_locked(r);
		return 0;
	}
	r->state = SA_INFLIGHT;
	if (r->kind == SA_KERNEL) {
		inflight++;
		r->counted = 1;
	}
	return 1;
}

/* A kernel request io_submit() did not take becomes uncounted. */
void sa_uncount_locked(struct sa_req *r)
{
	if (r->counted) {
		r->counted = 0;
		inflight--;
	}
}

/* --- finishing ------------------------------------------------------- */

void sa_drop_locked(struct sa_req *r)
{
	if (--r->refs == 0) {
		free(r);
		__atomic_sub_fetch(&sa_stats[SA_ST_LIVE], 1, __ATOMIC_RELAXED);
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

static void unwait(void *arg)
{
	(void)arg;
	__atomic_sub_fetch(&nwaiters, 1, __ATOMIC_SEQ_CST);
}

/*
 * Sleep while sa_gen is SEEN, until the CLOCK_MONOTONIC deadline ABS
 * (none: NULL). The futex calls are glibc's (FUTEX_WAIT_BITSET, absolute
 * monotonic time), so a signal handler interrupts them the same way: with
 * a timeout always EINTR, without one EINTR unless SA_RESTART restarts it.
 * Returns 0, EINTR or ETIMEDOUT. A cancellation point if CANCELABLE.
 */
int sa_wait(uint32_t seen, const struct timespec *abs, int cancelable)
{
	long rc;
	int type = 0, e;

	__atomic_add_fetch(&nwaiters, 1, __ATOMIC_SEQ_CST);
	pthread_cleanup_push(unwait, NULL);
	if (cancelable)
		pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &type);
	rc = syscall(SYS_futex, &sa_gen, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, seen, abs,
		     NULL, FUTEX_BITSET_MATCH_ANY);
	e = rc ? errno : 0;	/* before anything else can change errno */
	if (cancelable)
		pthread_setcanceltype(type, NULL);
	pthread_cleanup_pop(1);
	return e == EINTR || e == ETIMEDOUT ? e : 0;	/* EAGAIN: sa_gen moved on */
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
	if (batch)
		sa_run_batch(batch);
	if (n && n->n)
		sa_notes_send(n);
}

/* --- the io_context and the reaper ----------------------------------- */

aio_context_t sa_ctx(void)
{
	return __atomic_load_n(&ctx, __ATOMIC_ACQUIRE);
}

long sa_io_submit(struct iocb **v, long n)
{
	long rc;

	do
		rc = syscall(SYS_io_submit, sa_ctx(), n, v);
	while (rc < 0 && errno == EINTR);
	return rc;
}

int sa_ring_has_events(void)
{
	struct sa_ring *rg = __atomic_load_n(&ring, __ATOMIC_ACQUIRE);

	return rg && __atomic_load_n(&rg->head, __ATOMIC_RELAXED) !=
		     __atomic_load_n(&rg->tail, __ATOMIC_ACQUIRE);
}

/* Finish the requests of K events (with the lock). */
static void finish_events(struct io_event *ev, long k, struct sa_notes *notes)
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

/*
 * A caller takes the io_events already in the ring and finishes their
 * requests: a read the syslet engine completed inside io_submit() is done
 * when aio_read() returns. Gives up if the lock is taken (the reaper has
 * it, or a signal handler interrupted its holder). Returns how many.
 */
int sa_reap(void)
{
	struct io_event ev[SA_BATCH];
	struct sa_notes notes;
	struct sa_req *batch;
	int got = 0;
	long k;

	do {
		notes.n = 0;
		if (pthread_mutex_trylock(&sa_lock))
			return got;
		if (!ctx) {
			pthread_mutex_unlock(&sa_lock);
			return got;
		}
		struct timespec zero = { 0, 0 };

		k = syscall(SYS_io_getevents, ctx, 0L, (long)SA_BATCH, ev, &zero);
		if (k > 0) {
			finish_events(ev, k, &notes);
			got += (int)k;
			sa_count_n(SA_ST_INLINE, k);
		}
		batch = sa_pump_locked();
		pthread_mutex_unlock(&sa_lock);
		sa_after(&notes, batch);
	} while (k == SA_BATCH);
	return got;
}

/*
 * The reaper sleeps in io_getevents() itself. (An eventfd signalled with
 * IOCB_FLAG_RESFD would do as well, but a library must own no file
 * descriptor: a program may close it, daemons close them all, or reuse
 * its number.) It takes the lock only to finish what it got.
 */
static void *reaper(void *arg)
{
	aio_context_t c = (aio_context_t)(uintptr_t)arg;
	struct io_event ev[SA_BATCH];

	for (;;) {
		struct sa_notes notes = { 0 };
		struct sa_req *batch;
		long k = syscall(SYS_io_getevents, c, 1L, (long)SA_BATCH, ev, NULL);

		if (k <= 0)
			continue;	/* EINTR: a debugger, a stop */
		pthread_mutex_lock(&sa_lock);
		finish_events(ev, k, &notes);
		sa_count_n(SA_ST_REAPER, k);
		batch = sa_pump_locked();
		pthread_mutex_unlock(&sa_lock);
		sa_after(&notes, batch);
	}
	return NULL;
}

/*
 * The process's io_context and its reaper thread, made at the first
 * kernel request (and again in a fork() child). The reaper blocks every
 * signal, as glibc's AIO threads do, so no signal meant for the program
 * runs a handler on it. Returns 0 when either fails: the request then
 * goes to glibc.
 */
int sa_ctx_ready_locked(void)
{
	aio_context_t c = 0;
	sigset_t all, old;
	pthread_attr_t a;
	pthread_t t;
	int rc;

	if (ctx)
		return 1;
	if (syscall(SYS_io_setup, (unsigned)SA_DEPTH, &c) < 0)
		return 0;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 256 * 1024);
	rc = pthread_create(&t, &a, reaper, (void *)(uintptr_t)c);
	pthread_attr_destroy(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		syscall(SYS_io_destroy, c);
		return 0;
	}
	pthread_setname_np(t, "syslet-aio");
	struct sa_ring *rg = (struct sa_ring *)(uintptr_t)c;

	__atomic_store_n(&ring, rg->magic == SA_RING_MAGIC ? rg : NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&ctx, c, __ATOMIC_RELEASE);
	return 1;
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
	ctx = 0;
	ring = NULL;
	nwaiters = 0;
	for (struct sa_req *r = qhead, *next; r; r = next) {
		next = r->qnext;
		r->qnext = NULL;
		r->orphan = 1;
	}
	qhead = qtail = NULL;
	nqueued = 0;
	for (unsigned i = 0; i < TAB; i++)
		for (struct sa_req *r = tab[i]; r; r = r->hnext)
			if (r->kind == SA_KERNEL) {
				r->orphan = 1;
				r->counted = 0;
			}
	inflight = 0;
	sa_shadow_fork_child();
}
