// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet-aio: the helper thread, a second CPU for cached reads.
 *
 * glibc runs every request on one of its threads, so a program that
 * submits a run of reads (fio at queue depth 64) has their copies made
 * on the other CPU while it goes on submitting. The page-cache attempt
 * inside aio_read() (cached.c) makes them all on the caller's CPU. So
 * when reads come in a run, the first stays inline and the next ones go
 * to one helper thread, while fewer than SA_HELPER_QUEUE wait for it;
 * with a full queue the caller reads inline itself, so both CPUs copy.
 * A caller's run ends when it looks at its requests (aio_error(),
 * aio_return(), aio_suspend()): a program that waits for each read
 * (queue depth 1) never hands one over.
 *
 * A handed read is an ordinary request (kind SA_HELPER) in the table and
 * in its descriptor's list: a later write or fsync on the descriptor
 * waits for it as for any other (core.c), aio_cancel() cancels it until
 * the helper has taken it (AIO_CANCELED) and answers AIO_NOTCANCELED
 * after, and fork() leaves it to the child as it leaves a kernel
 * request (core.c): queued, cancellable, never started; taken, never
 * finished. The helper makes the same attempt as the inline path
 * (sa_cached_read()); a miss becomes a kernel request (or glibc's, with
 * no io_context) queued the usual way, started if bytes were copied.
 *
 * The helper may sleep in a read (a buffer on a userfaultfd or FUSE
 * mapping faults): the reads queued behind it wait too, at most
 * SA_HELPER_QUEUE of them, and aio_suspend() takes back the queued reads
 * it waits for and makes them itself (sa_helper_takeback()).
 *
 * Only with two CPUs or more in the process's affinity mask, and
 * unless SYSLET_AIO_HELPER=0; SYSLET_AIO_HELPER=2 hands over every read
 * that the inline path could make (the conformance suite's "helper" run).
 * One thread at most, created at the first handed read, with every
 * signal blocked; none in a fork() child until it hands one over.
 *
 * Locking: the queue (hq_*) and helper_up are under sa_lock.
 */
#include "syslet_aio.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SA_HELPER_QUEUE 8	/* reads waiting for the helper, at most */

enum { H_OFF, H_AUTO, H_ALL };

static int helper_mode;		/* H_*, set once by sa_helper_init() */
static struct sa_req *hq_head, *hq_tail;
static unsigned hq_len;		/* written under sa_lock, read without */
static uint32_t hq_seq;		/* the helper's futex: bumped per push */
static int helper_up;		/* the thread runs (or failed: -1) */
static int helper_asleep;

/* Requests the calling thread submitted since it last looked at one. */
static __thread unsigned run_len __attribute__((tls_model("initial-exec")));

void sa_helper_init(int env)
{
	cpu_set_t cpus;

	if (env == '0')
		return;
	if (env == '2') {
		helper_mode = H_ALL;
		return;
	}
	if (!sched_getaffinity(0, sizeof cpus, &cpus) && CPU_COUNT(&cpus) >= 2)
		helper_mode = H_AUTO;
}

void sa_helper_run_ends(void)
{
	run_len = 0;
}

/*
 * Whether aio_read() hands its (eligible) read to the helper. SKIP: the
 * page-cache attempt is backing off after misses (cached.c); the helper
 * would only pass such a read on.
 */
int sa_helper_take(unsigned skip)
{
	if (helper_mode == H_ALL)
		return __atomic_load_n(&helper_up, __ATOMIC_RELAXED) >= 0;
	if (helper_mode == H_OFF || skip)
		return 0;
	if (run_len++ == 0)
		return 0;
	return __atomic_load_n(&hq_len, __ATOMIC_RELAXED) < SA_HELPER_QUEUE &&
	       __atomic_load_n(&helper_up, __ATOMIC_RELAXED) >= 0;
}

static void unlink_locked(struct sa_req *r)
{
	struct sa_req *prev = NULL;

	for (struct sa_req *p = hq_head; p; prev = p, p = p->qnext) {
		if (p != r)
			continue;
		if (prev)
			prev->qnext = p->qnext;
		else
			hq_head = p->qnext;
		if (hq_tail == p)
			hq_tail = prev;
		__atomic_store_n(&hq_len, hq_len - 1, __ATOMIC_RELAXED);
		break;
	}
	r->qnext = NULL;
}

/*
 * Make the read R (taken: out of the queue, with a reference of ours):
 * finish it from the page cache, or pass it on.
 */
static void run(struct sa_req *r)
{
	struct sa_notes notes = { 0 };
	struct sa_req *batch;
	long n;
	int rc = sa_cached_read(r->fd, r->buf, r->len, r->off, 1, &n);

	pthread_mutex_lock(&sa_lock);
	if (rc == SA_CR_DONE) {
		sa_count(SA_ST_HELPER_HIT);
		if (n < 0)
			sa_finish_locked(r, (int)-n, -1, &notes);
		else
			sa_finish_locked(r, 0, n, &notes);
	} else {
		r->started = rc == SA_CR_TOUCHED;
		if (sa_ctx_ready_locked()) {
			r->kind = SA_KERNEL;	/* its iocb was filled at submission */
		} else {
			r->kind = SA_GLIBC;	/* no io_context to be had */
			sa_shadow_init(r);
			r->refs++;		/* the glibc waiter's */
		}
		sa_enqueue_locked(r);
	}
	batch = sa_pump_locked();
	sa_drop_locked(r);
	pthread_mutex_unlock(&sa_lock);
	sa_after(&notes, batch);
}

static void *helper(void *arg)
{
	for (;;) {
		struct sa_req *r;

		pthread_mutex_lock(&sa_lock);
		while (!hq_head) {
			uint32_t seq = hq_seq;

			helper_asleep = 1;
			pthread_mutex_unlock(&sa_lock);
			syscall(SYS_futex, &hq_seq, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, seq, NULL, NULL, 0);
			pthread_mutex_lock(&sa_lock);
			helper_asleep = 0;
		}
		r = hq_head;
		unlink_locked(r);
		r->taken = 1;
		r->refs++;
		pthread_mutex_unlock(&sa_lock);
		run(r);
	}
	return arg;
}

/* Start the helper thread (with the lock); 0 if it cannot be had. */
static int start_locked(void)
{
	sigset_t all, old;
	pthread_attr_t a;
	pthread_t t;
	int rc;

	if (helper_up)
		return helper_up > 0;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 256 * 1024);
	rc = pthread_create(&t, &a, helper, NULL);
	pthread_attr_destroy(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	__atomic_store_n(&helper_up, rc ? -1 : 1, __ATOMIC_RELAXED);
	if (!rc)
		pthread_setname_np(t, "syslet-aio-rd");
	return !rc;
}

/* Hand the admitted read R to the helper (without the lock). */
void sa_helper_push(struct sa_req *r)
{
	int wake;

	sa_count(SA_ST_HELPER);
	pthread_mutex_lock(&sa_lock);
	if (!start_locked()) {
		/* no thread to be had: the caller makes the read itself */
		r->taken = 1;
		r->refs++;
		pthread_mutex_unlock(&sa_lock);
		run(r);
		return;
	}
	r->qnext = NULL;
	if (hq_tail)
		hq_tail->qnext = r;
	else
		hq_head = r;
	hq_tail = r;
	__atomic_store_n(&hq_len, hq_len + 1, __ATOMIC_RELAXED);
	hq_seq++;
	wake = helper_asleep;
	pthread_mutex_unlock(&sa_lock);
	if (wake)
		syscall(SYS_futex, &hq_seq, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);
}

/*
 * aio_cancel() of the handed read R (with the lock): 1 when it was still
 * queued and is now out of the helper's queue (the caller finishes it
 * cancelled), 0 when the helper has it.
 */
int sa_helper_cancel_locked(struct sa_req *r)
{
	if (r->taken)
		return 0;
	unlink_locked(r);
	return 1;
}

/*
 * aio_suspend(), before it sleeps (every signal blocked: a jump out of a
 * handler cannot lose a read taken here): the listed reads still queued
 * for the helper are made by the caller. Returns how many. A trylock:
 * the caller may be a signal handler that interrupted a lock holder.
 */
int sa_helper_takeback(const struct aiocb *const list[], int nent)
{
	struct sa_req *mine = NULL, **tail = &mine, *r;
	int k = 0;

	if (!__atomic_load_n(&hq_len, __ATOMIC_RELAXED) || pthread_mutex_trylock(&sa_lock))
		return 0;
	for (int i = 0; i < nent; i++) {
		if (!list[i] || __atomic_load_n(&list[i]->__error_code, __ATOMIC_ACQUIRE) != EINPROGRESS)
			continue;
		r = sa_lookup_locked(list[i]);
		if (!r || r->kind != SA_HELPER || r->taken || r->orphan || r->state != SA_INFLIGHT)
			continue;
		unlink_locked(r);
		r->taken = 1;
		r->refs++;
		*tail = r;
		tail = &r->qnext;
		k++;
	}
	pthread_mutex_unlock(&sa_lock);
	sa_count_n(SA_ST_TAKEBACK, k);
	while (mine) {
		r = mine;
		mine = r->qnext;
		r->qnext = NULL;
		run(r);
	}
	return k;
}

/*
 * fork() child (the lock reinitialised, one thread): no helper; reads
 * still queued for the parent's stay queued and never start here
 * (aio_cancel() cancels them); taken ones never finish (core.c).
 */
void sa_helper_fork_child(void)
{
	for (struct sa_req *r = hq_head, *next; r; r = next) {
		next = r->qnext;
		r->qnext = NULL;
		r->state = SA_QUEUED;
	}
	hq_head = hq_tail = NULL;
	hq_len = 0;
	hq_seq = 0;
	helper_up = 0;
	helper_asleep = 0;
}
