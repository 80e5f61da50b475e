// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet-aio: the io_context, and who reaps it.
 *
 * A completion is an io_event in the context's ring; only a thread in
 * io_getevents() is woken by it. The first version kept the reaper
 * thread there for ever: every completion woke it, it finished the
 * request and woke the caller asleep in aio_suspend() (two wakeups, and
 * the caller raced it for the events). Now the ring has one holder at a
 * time, and only the holder calls io_getevents() (two sleepers would
 * race: the one that loses an event sleeps on, blind to the other's
 * futex):
 *
 * - a caller in aio_suspend() whose pending requests are all in the
 *   context holds it while it sleeps in io_getevents() itself, with its
 *   own timeout: the completion wakes the thread that waits for it;
 * - a caller that finds events in the ring (after io_submit(), before
 *   sleeping) takes them without waiting;
 * - the reaper thread holds it when nobody else does and someone must
 *   see completions promptly: a notification to send, a lio_listio()
 *   group, a request queued behind another, a thread asleep on the
 *   generation futex (lio_listio(LIO_WAIT), aio_cancel(), aio_suspend()
 *   on a pipe), or nobody calling aio_suspend() at all (aio_error()
 *   polling): the reaper takes the ring once no caller took it for
 *   LAZY_MS, and keeps it until a caller wants it back.
 *
 * So fio's loop (aio_read() up to the queue depth, aio_suspend(),
 * aio_error()/aio_return() per request) costs io_submit() and a share of
 * one io_getevents() per request, and one wakeup. The reaper sleeps on a
 * futex of its own meanwhile, and looks every LAZY_MS while requests are
 * in flight (less often while a caller holds the ring long).
 *
 * A caller that leaves the ring held (a signal handler that longjmp()s
 * out of aio_suspend()) must not stop the process's I/O: the same thread
 * takes it over when it comes back; the reaper takes it when events
 * wait in the ring untouched for STEAL_MS; and callers never sleep more
 * than POLL_CAP_S in io_getevents() before looking again.
 */
#include "syslet_aio.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LAZY_MS 2	/* the reaper's look while requests are in flight */
#define LONG_MS 128	/* its longest, while a caller holds the ring */
#define STEAL_MS 100	/* events left that long in a held ring: take it */
#define POLL_CAP_S 1	/* a caller's longest sleep in io_getevents() */

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

/*
 * The ring's holder: 0, or its thread id (0 for the reaper) in the high
 * half and a ticket in the low half, in one word so that a take-over is
 * one compare-and-swap.
 */
static uint64_t holder;
static uint32_t tickets;
static uint32_t acquired;	/* times a caller took the ring */
static __thread pid_t my_tid;

/* The reaper's futex, and what it sleeps like (read by kick()). */
static uint32_t rp_word;
static int rp_parked, rp_deep, rp_long;

static pid_t tid(void)
{
	if (!my_tid)
		my_tid = (pid_t)syscall(SYS_gettid);
	return my_tid;
}

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

/* --- the holder ------------------------------------------------------ */

/*
 * Take the ring: its holder word, or 0 if another thread holds it. A
 * caller's thread that holds it already (a signal handler interrupted
 * its wait, or jumped out of one) takes it over: the interrupted wait
 * finishes what its io_getevents() returned and finds it lost the ring.
 */
static uint64_t take(int reaper)
{
	uint32_t t = __atomic_add_fetch(&tickets, 1, __ATOMIC_RELAXED);
	uint64_t me = ((uint64_t)(uint32_t)(reaper ? 0 : tid()) << 32) | t | !t;
	uint64_t cur = 0;

	if (!__atomic_compare_exchange_n(&holder, &cur, me, 0, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST) &&
	    (reaper || (cur >> 32) != (uint64_t)(uint32_t)tid() ||
	     !__atomic_compare_exchange_n(&holder, &cur, me, 0, __ATOMIC_SEQ_CST,
					  __ATOMIC_SEQ_CST)))
		return 0;
	if (!reaper)
		__atomic_add_fetch(&acquired, 1, __ATOMIC_SEQ_CST);
	return me;
}

static void kick(void)
{
	__atomic_add_fetch(&rp_word, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&rp_parked, __ATOMIC_SEQ_CST)) {
		syscall(SYS_futex, &rp_word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL, 0);
		sa_count(SA_ST_KICK);
	}
}

/*
 * The ring is free (or about to be) and something may need it: wake the
 * reaper when nobody will take it otherwise. Called by whoever lets the
 * ring go, starts a request, or goes to sleep needing completions.
 */
void sa_poll_need(void)
{
	struct sa_load l;

	if (__atomic_load_n(&holder, __ATOMIC_SEQ_CST))
		return;		/* its holder calls this when it lets go */
	sa_load(&l);
	if (!l.inflight || l.want)
		return;		/* nothing to reap, or a waiter takes it */
	if (l.need || l.urgent || l.queued || __atomic_load_n(&rp_deep, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&rp_long, __ATOMIC_SEQ_CST))
		kick();
}

/* Let the ring go, unless it was taken over meanwhile. */
static void give(uint64_t me)
{
	struct sa_load l;

	if (!__atomic_compare_exchange_n(&holder, &me, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return;
	sa_load(&l);
	if (l.want)
		sa_bump_gen();	/* the threads that wanted it: take it */
	sa_poll_need();
}

int sa_ring_held(void)
{
	return __atomic_load_n(&holder, __ATOMIC_SEQ_CST) != 0;
}

/* Finish K events taken into EV, counted as STAT. */
static void finish(struct io_event *ev, long k, int stat, struct sa_notes *notes,
		   struct sa_req **batch)
{
	pthread_mutex_lock(&sa_lock);
	sa_take_events_locked(ev, k, notes);
	sa_count_n(stat, k);
	*batch = sa_pump_locked();
	pthread_mutex_unlock(&sa_lock);
}

/*
 * A caller takes the io_events already in the ring and finishes their
 * requests: a read the syslet engine completed inside io_submit() is
 * done when aio_read() returns. Gives up if the ring or the lock is held
 * (their holder reaps; or a signal handler interrupted it). Returns how
 * many.
 */
int sa_reap(void)
{
	struct io_event ev[SA_BATCH];
	struct timespec zero = { 0, 0 };
	int got = 0;
	long k;

	do {
		struct sa_notes notes = { 0 };
		struct sa_req *batch;
		uint64_t me;

		if (!sa_ctx() || !(me = take(0)))
			return got;
		if (pthread_mutex_trylock(&sa_lock)) {
			give(me);
			return got;
		}
		k = syscall(SYS_io_getevents, ctx, 0L, (long)SA_BATCH, ev, &zero);
		if (k > 0) {
			sa_take_events_locked(ev, k, &notes);
			got += (int)k;
			sa_count_n(SA_ST_INLINE, k);
		}
		batch = sa_pump_locked();
		pthread_mutex_unlock(&sa_lock);
		give(me);
		sa_after(&notes, batch);
	} while (k == SA_BATCH);
	return got;
}

/* --- a caller waits in io_getevents() ---------------------------------- */

/* Time left until ABS, at most POLL_CAP_S, in *REL: 0 once it is past. */
static int until(const struct timespec *abs, struct timespec *rel)
{
	struct timespec now;
	long long ns;

	rel->tv_sec = POLL_CAP_S;
	rel->tv_nsec = 0;
	if (!abs)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long)(abs->tv_sec - now.tv_sec) * 1000000000LL + (abs->tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	if (ns < POLL_CAP_S * 1000000000LL) {
		rel->tv_sec = ns / 1000000000LL;
		rel->tv_nsec = ns % 1000000000LL;
	}
	return 1;
}

/*
 * io_pgetevents() without a mask fails with EINTR only if a handler ran
 * (it restarts after a stop), like glibc's futex wait with a timeout;
 * without a timeout glibc's wait also restarts after an SA_RESTART
 * handler. Which signal ran is not known: restart if every handler that
 * could have run on this thread (an unblocked signal with a handler) has
 * SA_RESTART. (glibc's own signals are refused by sigaction(): skipped.)
 */
static int restarts(void)
{
	struct sigaction sa;
	sigset_t cur;

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	for (int s = 1; s < NSIG; s++) {
		if (s == SIGKILL || s == SIGSTOP || sigismember(&cur, s) == 1 || sigaction(s, NULL, &sa))
			continue;
		if (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN && !(sa.sa_flags & SA_RESTART))
			return 0;
	}
	return 1;
}

static int no_pgetevents;

/*
 * aio_suspend()'s wait when every request it waits for is in the
 * io_context: hold the ring and sleep in io_getevents() until one event
 * comes (or the deadline ABS, CLOCK_MONOTONIC), finish what came, let
 * the ring go. If another thread holds it, sleep on the generation futex
 * instead (it hands the ring over). SEEN: sa_gen when the caller last
 * looked at its list. Returns 0 (look again), EINTR or ETIMEDOUT, as
 * sa_wait(). A cancellation point, but only outside io_getevents(): a
 * cancellation there would lose the events it took.
 */
int sa_wait_ring(uint32_t seen, const struct timespec *abs)
{
	struct io_event ev[SA_BATCH];
	struct sa_notes notes = { 0 };
	struct sa_req *batch = NULL;
	struct timespec rel;
	uint64_t me;
	long k = -1;
	int e = 0;

	pthread_testcancel();
	me = take(0);
	if (!me)
		return sa_wait(seen, abs, 1, SA_W_WANT);
	if (__atomic_load_n(&sa_gen, __ATOMIC_SEQ_CST) != seen) {
		give(me);	/* something finished since the caller looked */
		return 0;
	}
	if (!until(abs, &rel)) {
		give(me);
		return ETIMEDOUT;
	}
	if (!__atomic_load_n(&no_pgetevents, __ATOMIC_RELAXED)) {
		k = syscall(SYS_io_pgetevents, ctx, 1L, (long)SA_BATCH, ev, &rel, NULL);
		if (k < 0 && errno == ENOSYS)
			__atomic_store_n(&no_pgetevents, 1, __ATOMIC_RELAXED);
	}
	if (__atomic_load_n(&no_pgetevents, __ATOMIC_RELAXED) && k < 0)
		k = syscall(SYS_io_getevents, ctx, 1L, (long)SA_BATCH, ev, &rel);
	e = k < 0 ? errno : 0;
	if (k > 0)
		finish(ev, k, SA_ST_POLLED, &notes, &batch);
	give(me);
	sa_after(&notes, batch);
	pthread_testcancel();
	if (e == EINTR)
		return abs || !restarts() ? EINTR : 0;
	if (k == 0 && abs && !until(abs, &rel))
		return ETIMEDOUT;
	return 0;
}

/* --- the reaper ------------------------------------------------------ */

/*
 * The reaper holds the ring while someone needs completions seen and no
 * caller wants it ("active": it found the ring untouched by callers for
 * a whole look, so nobody waits in aio_suspend()). Otherwise it sleeps
 * on rp_word: without a timeout when nothing is in flight (rp_deep: the
 * next request wakes it), LAZY_MS while callers come and go, longer
 * while one caller holds the ring (rp_long: letting it go wakes it).
 */
static void *reaper(void *arg)
{
	aio_context_t c = (aio_context_t)(uintptr_t)arg;
	struct io_event ev[SA_BATCH];
	uint32_t seen_acq = 0;
	uint64_t seen_holder = 0;
	unsigned seen_head = 0;
	long park_ms = LAZY_MS, stale_ms = 0;
	int active = 0;

	for (;;) {
		struct sa_load l;
		uint64_t h, me = 0;
		uint32_t w;

		__atomic_store_n(&rp_parked, 1, __ATOMIC_SEQ_CST);
		w = __atomic_load_n(&rp_word, __ATOMIC_SEQ_CST);
		sa_load(&l);
		h = __atomic_load_n(&holder, __ATOMIC_SEQ_CST);
		if (l.want)
			active = 0;	/* a caller waits to take the ring */
		if (!h && !l.want && (active || (l.inflight && (l.need || l.urgent || l.queued))))
			me = take(1);
		else if (h >> 32 && stale_ms >= STEAL_MS &&
			 __atomic_compare_exchange_n(&holder, &h, (uint64_t)1, 0, __ATOMIC_SEQ_CST,
						     __ATOMIC_SEQ_CST))
			me = 1;	/* a caller left it held: events wait untouched */
		if (me) {
			struct sa_notes notes = { 0 };
			struct sa_req *batch = NULL;

			__atomic_store_n(&rp_parked, 0, __ATOMIC_SEQ_CST);
			stale_ms = 0;
			long k = syscall(SYS_io_getevents, c, 1L, (long)SA_BATCH, ev, NULL);

			if (k > 0)
				finish(ev, k, SA_ST_REAPER, &notes, &batch);
			give(me);
			sa_after(&notes, batch);
			park_ms = LAZY_MS;
			continue;
		}

		struct timespec ts, *tp = &ts;
		int deep = 0, lng = 0;

		if (!l.inflight && !h) {
			deep = 1;
			tp = NULL;
		} else if (h >> 32 && h == seen_holder) {
			lng = 1;	/* one caller holds it since the last look */
			park_ms = park_ms * 2 < LONG_MS ? park_ms * 2 : LONG_MS;
		} else {
			park_ms = LAZY_MS;
		}
		ts.tv_sec = park_ms / 1000;
		ts.tv_nsec = park_ms % 1000 * 1000000L;
		__atomic_store_n(&rp_deep, deep, __ATOMIC_SEQ_CST);
		__atomic_store_n(&rp_long, lng, __ATOMIC_SEQ_CST);
		seen_acq = __atomic_load_n(&acquired, __ATOMIC_SEQ_CST);
		seen_holder = h;
		seen_head = ring ? __atomic_load_n(&ring->head, __ATOMIC_RELAXED) : 0;
		long rc = syscall(SYS_futex, &rp_word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, w, tp, NULL, 0);
		int timedout = rc && errno == ETIMEDOUT;

		__atomic_store_n(&rp_parked, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&rp_deep, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&rp_long, 0, __ATOMIC_SEQ_CST);
		/* no caller took the ring for a whole look: nobody waits in
		 * aio_suspend(); keep it until one wants it */
		if (timedout && __atomic_load_n(&acquired, __ATOMIC_SEQ_CST) == seen_acq)
			active = 1;
		h = __atomic_load_n(&holder, __ATOMIC_SEQ_CST);
		if (timedout && h >> 32 && h == seen_holder && sa_ring_has_events() &&
		    __atomic_load_n(&ring->head, __ATOMIC_RELAXED) == seen_head)
			stale_ms += park_ms;
		else
			stale_ms = 0;
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

/* fork() child: no context, no reaper, one thread (whose id changed). */
void sa_reap_fork_child(void)
{
	ctx = 0;
	ring = NULL;
	holder = 0;
	my_tid = 0;
	rp_parked = rp_deep = rp_long = 0;
}
