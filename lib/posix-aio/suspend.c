// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet-aio: aio_suspend()'s wait, with the caller's signals blocked.
 *
 * aio_suspend() is async-signal-safe, so a handler may run in the middle
 * of it and siglongjmp() out. While the caller holds the io_context's
 * ring it may have io_events in hand that no request records yet (taken
 * by io_getevents(), not yet finished), the library's lock, or its name
 * in the waiters' counts; a jump out of a handler run at that moment
 * would lose the events (their requests EINPROGRESS for ever), leave the
 * lock held, or skew the counts. So the whole wait runs with every
 * signal blocked (glibc's own SIGCANCEL aside: see reap.c), and sleeps,
 * in io_getevents() or on the futex, at most SLICE_MS at a time. Between
 * two sleeps, holding nothing, the caller looks at the signals pending
 * for its thread or process (sigpending()) that its own mask lets
 * through; if there are any it unblocks them, so their handlers run
 * there, where a jump out loses nothing, and then:
 *
 * - a handler ran: -1/EINTR, as glibc's futex wait gives it: always with
 *   a timeout; without one unless every handler that ran has SA_RESTART
 *   (the wait goes on);
 * - none had a handler (a default action: stop, ignore or end the
 *   process): the wait goes on.
 *
 * A handler therefore runs up to SLICE_MS late while the caller sleeps,
 * or as soon as a completion ends the sleep. The cost: two
 * rt_sigprocmask() calls per aio_suspend() that has to sleep.
 */
#include "syslet_aio.h"

#include <errno.h>
#include <time.h>

#define SLICE_MS 10	/* the longest sleep with signals blocked */

/* The caller's mask while it waits blocked, for a cancellation. */
static __thread const sigset_t *caller_mask;

/*
 * How aio_suspend() waits for the pending requests of LIST: SA_W_WANT
 * when all are in the io_context (it can sleep in io_getevents()
 * itself), SA_W_NEED when some finish only once the ring is reaped
 * (queued, or in the context among glibc's), SA_W_NONE for glibc's
 * alone; -1 for an aiocb marked EINPROGRESS that the library has no
 * request for: glibc stops waiting at once then, so do we. Without the
 * lock (held by the thread a signal handler interrupted), assume they
 * are known and need the ring.
 */
static int how_to_wait(const struct aiocb *const list[], int nent)
{
	int ring = 0, other = 0;

	if (pthread_mutex_trylock(&sa_lock))
		return SA_W_NEED;
	for (int i = 0; i < nent; i++) {
		struct sa_req *r;

		if (!list[i] || __atomic_load_n(&list[i]->__error_code, __ATOMIC_ACQUIRE) != EINPROGRESS)
			continue;
		r = sa_lookup_locked(list[i]);
		if (!r) {
			pthread_mutex_unlock(&sa_lock);
			return -1;
		}
		if (r->kind == SA_KERNEL && r->state == SA_INFLIGHT && !r->orphan)
			ring = 1;
		else if (r->kind == SA_KERNEL || r->state == SA_QUEUED)
			ring = other = 1;	/* queued, or an orphan of fork() */
		else
			other = 1;
	}
	pthread_mutex_unlock(&sa_lock);
	return ring && !other && sa_ctx() ? SA_W_WANT : ring ? SA_W_NEED : SA_W_NONE;
}

/* 1 once a listed request is finished, or none is listed. */
int sa_suspend_done(const struct aiocb *const list[], int nent)
{
	int pending = 0;

	for (int i = 0; i < nent; i++) {
		if (!list[i])
			continue;
		if (__atomic_load_n(&list[i]->__error_code, __ATOMIC_ACQUIRE) != EINPROGRESS)
			return 1;
		pending++;
	}
	return !pending;
}

static int before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void add_ms(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += ms % 1000 * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

/*
 * Signals pending for this thread (or its process) that the caller's
 * mask ORIG lets through: unblock them, so the kernel acts on them now.
 * Returns 0 if there were none; else 1, and 2 if a handler without
 * SA_RESTART ran, 3 if handlers ran and all have SA_RESTART.
 */
static int deliver(const sigset_t *orig, const sigset_t *all)
{
	int any = 0, handled = 0, restart = 1;
	sigset_t p;

	if (sigpending(&p))
		return 0;
	for (int s = 1; s < NSIG; s++) {
		struct sigaction sa;

		if (sigismember(&p, s) != 1 || sigismember(orig, s) == 1)
			continue;
		any = 1;
		if (!sigaction(s, NULL, &sa) && sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN) {
			handled = 1;
			if (!(sa.sa_flags & SA_RESTART))
				restart = 0;
		}
	}
	if (!any)
		return 0;
	pthread_sigmask(SIG_SETMASK, orig, NULL);	/* the handlers run here */
	caller_mask = orig;	/* a jump out of one, then a nested wait, cleared it */
	pthread_sigmask(SIG_SETMASK, all, NULL);
	return !handled ? 1 : restart ? 3 : 2;
}

/* Returns 0, EINTR or ETIMEDOUT; ABS: the deadline, CLOCK_MONOTONIC. */
static int wait_loop(const struct aiocb *const list[], int nent, const struct timespec *abs,
		     const sigset_t *orig, const sigset_t *all)
{
	struct timespec now, look;

	clock_gettime(CLOCK_MONOTONIC, &look);
	add_ms(&look, SLICE_MS);
	for (;;) {
		uint32_t g = __atomic_load_n(&sa_gen, __ATOMIC_SEQ_CST);

		if (sa_suspend_done(list, nent))
			return 0;
		if (sa_ring_has_events() && sa_reap() > 0)
			continue;
		int how = how_to_wait(list, nent);

		if (how < 0)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!before(&now, &look)) {
			int d = deliver(orig, all);

			if (d == 2 || (d == 3 && abs))
				return EINTR;
			look = now;
			add_ms(&look, SLICE_MS);
			if (d)
				continue;	/* a handler may have finished one */
		}
		if (abs && !before(&now, abs))
			return ETIMEDOUT;
		const struct timespec *until = abs && before(abs, &look) ? abs : &look;

		/* 0, ETIMEDOUT (the slice or the deadline: looked at above), or
		 * EINTR (a stop, SIGCONT: the kernel acted, no handler ran) */
		if (how == SA_W_WANT)
			sa_wait_ring(g, until);
		else
			sa_wait(g, until, 1, how);
	}
}

/*
 * A cancellation acted in the wait (the cleanup handlers of sa_wait()
 * and sa_wait_ring(); nowhere else in it): the caller's cleanup handlers
 * run with its own mask, as they would with glibc.
 */
void sa_suspend_cancelled(void)
{
	if (caller_mask)
		pthread_sigmask(SIG_SETMASK, caller_mask, NULL);
}

/*
 * aio_suspend() once no listed request is finished: wait until one is
 * (0), the deadline ABS passes (ETIMEDOUT) or a handler runs (EINTR).
 * Cancellation (pthread_cancel()) acts at once. No handler runs inside
 * a pthread_cleanup_push() region (a jump out of one is undefined).
 */
int sa_suspend(const struct aiocb *const list[], int nent, const struct timespec *abs)
{
	sigset_t all, orig;
	int rc;

	int no_free = sa_no_free;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &orig);
	caller_mask = &orig;
	sa_no_free = 1;		/* maybe a handler's: free() later (core.c) */
	rc = wait_loop(list, nent, abs, &orig, &all);
	sa_no_free = no_free;
	caller_mask = NULL;
	pthread_sigmask(SIG_SETMASK, &orig, NULL);	/* signals pending now: handled here */
	return rc;
}
