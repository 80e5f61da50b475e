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
 * While the helper thread (helper.c) has reads the reaper also looks,
 * every SA_HELPER_WATCH_MS at least, whether it is stuck in one with
 * others queued (sa_helper_watch()): no caller's call may be needed.
 *
 * So fio's loop (aio_read() up to the queue depth, aio_suspend(),
 * aio_error()/aio_return() per request) costs io_submit() and a share of
 * one io_getevents() per request, and one wakeup. The reaper sleeps on a
 * futex of its own meanwhile, and looks every LAZY_MS while requests are
 * in flight (less often while a caller holds the ring long).
 *
 * No event the kernel gave a caller may be lost, whatever a signal
 * handler does: aio_suspend() holds the ring only with the caller's
 * signals blocked (suspend.c), and a cancellation that acts while it
 * sleeps in io_getevents() finishes what the call took (cancelled()).
 * A thread that comes back holding the ring (a handler interrupted one
 * of the library's calls that are not async-signal-safe, and called
 * aio_suspend()) takes it over.
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
static int rp_untimed;	/* asleep without a timeout, blind to the helper */

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

/* Time left until UNTIL (CLOCK_MONOTONIC) in *REL: 0 once it is past. */
static int left(const struct timespec *until, struct timespec *rel)
{
	struct timespec now;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long)(until->tv_sec - now.tv_sec) * 1000000000LL + (until->tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	rel->tv_sec = ns / 1000000000LL;
	rel->tv_nsec = ns % 1000000000LL;
	return 1;
}

/* Finish the K events of EV a caller took, and let the ring go. */
static void let_go(uint64_t me, struct io_event *ev, long k)
{
	struct sa_notes notes = { 0 };
	struct sa_req *batch = NULL;

	if (k > 0)
		finish(ev, k, SA_ST_POLLED, &notes, &batch);
	give(me);
	sa_after(&notes, batch);
}

/* What a caller cancelled in io_getevents() has in hand. */
struct in_hand {
	uint64_t me;
	struct io_event *ev;	/* SA_BATCH, data 0 where nothing came */
};

/*
 * pthread_cancel() of a caller asleep in io_getevents(): the call may
 * have returned events before the cancellation acted (glibc acts on it
 * in a signal handler, on the way back to user space). The kernel fills
 * the array from its start, and no request's data is 0: finish the
 * entries it filled, then let the ring go.
 */
static void cancelled(void *arg)
{
	struct in_hand *h = arg;
	long k = 0;

	while (k < SA_BATCH && h->ev[k].data)
		k++;
	let_go(h->me, h->ev, k);
	sa_suspend_cancelled();
}

/*
 * aio_suspend()'s wait when every request it waits for is in the
 * io_context (suspend.c; the caller's signals are blocked): hold the
 * ring and sleep in io_getevents() until one event comes or UNTIL
 * (CLOCK_MONOTONIC), finish what came, let the ring go. If another
 * thread holds it, sleep on the generation futex instead (it hands the
 * ring over). SEEN: sa_gen when the caller last looked at its list.
 * Returns 0 (look again), EINTR (a stop or SIGCONT ended the sleep: no
 * handler ran) or ETIMEDOUT.
 *
 * A cancellation point, acting at once (also when the cancellation came
 * earlier: pthread_setcanceltype() acts on it): the sleep is
 * asynchronously cancellable (glibc's SIGCANCEL is the one signal pthread_sigmask()
 * cannot block), and the cleanup handler finishes the events the call
 * took before the cancellation acted. Nothing else runs in that window
 * but pthread_setcanceltype() and the system call.
 */
int sa_wait_ring(uint32_t seen, const struct timespec *until)
{
	struct io_event ev[SA_BATCH];
	struct in_hand h = { 0, ev };
	struct timespec rel;
	int type = 0, e;
	long k;

	h.me = take(0);
	if (!h.me)
		return sa_wait(seen, until, 1, SA_W_WANT);
	if (__atomic_load_n(&sa_gen, __ATOMIC_SEQ_CST) != seen) {
		give(h.me);	/* something finished since the caller looked */
		return 0;
	}
	if (!left(until, &rel)) {
		give(h.me);
		return ETIMEDOUT;
	}
	for (int i = 0; i < SA_BATCH; i++)
		ev[i].data = 0;
	pthread_cleanup_push(cancelled, &h);
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &type);
	k = syscall(SYS_io_getevents, ctx, 1L, (long)SA_BATCH, ev, &rel);
	e = k < 0 ? errno : 0;
	pthread_setcanceltype(type, NULL);
	pthread_cleanup_pop(0);
	let_go(h.me, ev, k);
	return k > 0 ? 0 : k == 0 ? ETIMEDOUT : e == EINTR ? EINTR : 0;
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
	long park_ms = LAZY_MS;
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
		/* (with nothing in flight it would sleep in io_getevents()
		 * until the next request, blind to the helper) */
		if (!h && !l.want && l.inflight && (active || l.need || l.urgent || l.queued))
			me = take(1);
		if (me) {
			struct sa_notes notes = { 0 };
			struct sa_req *batch = NULL;
			struct timespec watch = { 0, SA_HELPER_WATCH_MS * 1000000L };

			__atomic_store_n(&rp_parked, 0, __ATOMIC_SEQ_CST);
			/* reads wait for the helper: look at it between events */
			long k = syscall(SYS_io_getevents, c, 1L, (long)SA_BATCH, ev,
					 sa_helper_pending() ? &watch : NULL);

			if (k > 0)
				finish(ev, k, SA_ST_REAPER, &notes, &batch);
			give(me);
			sa_after(&notes, batch);
			park_ms = LAZY_MS;
			if (k <= 0)
				sa_helper_watch();
			continue;
		}

		struct timespec ts, *tp = &ts;
		int deep = 0, lng = 0;

		sa_free_deferred();
		/* a helper stuck in a read lets go: its reads are now in the
		 * context (look again) */
		if (sa_helper_watch() == 2)
			continue;
		if (!l.inflight && !h) {
			/* the next request wakes it (rp_deep); while the helper
			 * has reads it also looks every SA_HELPER_WATCH_MS. Marked
			 * untimed before the look at the helper: a read queued
			 * after the look finds the mark and kicks. */
			deep = 1;
			__atomic_store_n(&rp_untimed, 1, __ATOMIC_SEQ_CST);
			if (sa_helper_active()) {
				__atomic_store_n(&rp_untimed, 0, __ATOMIC_SEQ_CST);
				park_ms = SA_HELPER_WATCH_MS;
			} else {
				tp = NULL;
			}
		} else if (h >> 32 && h >> 32 == seen_holder >> 32) {
			/* one caller holds it since the last look (it takes
			 * the ring again for each slice of its wait) */
			lng = 1;
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
		long rc = syscall(SYS_futex, &rp_word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, w, tp, NULL, 0);
		int timedout = rc && errno == ETIMEDOUT;

		__atomic_store_n(&rp_parked, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&rp_deep, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&rp_untimed, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&rp_long, 0, __ATOMIC_SEQ_CST);
		/* no caller took the ring for a whole look: nobody waits in
		 * aio_suspend(); keep it until one wants it */
		if (timedout && __atomic_load_n(&acquired, __ATOMIC_SEQ_CST) == seen_acq)
			active = 1;
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

	if (ctx)
		return 1;
	if (syscall(SYS_io_setup, (unsigned)SA_DEPTH, &c) < 0)
		return 0;
	if (sa_spawn(reaper, (void *)(uintptr_t)c, 256 * 1024, "syslet-aio")) {
		syscall(SYS_io_destroy, c);
		return 0;
	}
	struct sa_ring *rg = (struct sa_ring *)(uintptr_t)c;

	__atomic_store_n(&ring, rg->magic == SA_RING_MAGIC ? rg : NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&ctx, c, __ATOMIC_RELEASE);
	return 1;
}

/* The helper has reads: a reaper asleep without a timeout starts
 * watching it. */
void sa_reaper_watch_helper(void)
{
	if (__atomic_load_n(&rp_untimed, __ATOMIC_SEQ_CST))
		kick();
}

/* fork() child: no context, no reaper, one thread (whose id changed). */
void sa_reap_fork_child(void)
{
	ctx = 0;
	ring = NULL;
	holder = 0;
	my_tid = 0;
	rp_parked = rp_deep = rp_long = rp_untimed = 0;
}
