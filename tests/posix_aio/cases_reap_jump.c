// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX AIO conformance suite, library only: no completion is lost when
 * a caller leaves aio_suspend() abnormally while it reaps the ring
 * (lib/posix-aio/reap.c, suspend.c):
 *
 * - reap_longjmp: a SIGALRM handler siglongjmp()s out of aio_suspend()
 *   (allowed: it is async-signal-safe) a few microseconds into it, 2,000
 *   times, while O_DIRECT reads complete; every read must then end
 *   within 5 s with its data. (A caller that took events with
 *   io_pgetevents() and had the handler run before it recorded them
 *   lost them: their aiocbs stayed EINPROGRESS for ever.)
 * - reap_cancel: pthread_cancel() of a thread looping in aio_suspend()
 *   over O_DIRECT reads, 200 times at varying moments: it must end
 *   within 1 s, and every read it started must still end (events its
 *   io_getevents() took when the cancellation acted are finished by
 *   its cleanup), while another thread's reads go on.
 * - reap_cancel_slow (a slow device): the cancelled thread sleeps in
 *   io_getevents() for a read that takes seconds: the cancellation must
 *   act within 200 ms (it acted only when the sleep ended, up to 1 s),
 *   and the read must still end.
 */
#include "conformance.h"

#include <setjmp.h>
#include <sys/time.h>
#include <time.h>

#define BLK 4096
#define SPAN (4 << 20)
#define JQD 8

static off_t blk(unsigned i)
{
	return (off_t)((i * 7919u) % (SPAN / BLK)) * BLK;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Wait up to MS for every aiocb of V to end: how many did not. */
static int unfinished_after(struct aiocb *v, int n, int ms)
{
	struct timespec t0, slice = { 0, 50 * 1000000L };
	int left = n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ms_since(&t0) < ms) {
		const struct aiocb *l[JQD * 2];
		int k = 0;

		for (int i = 0; i < n; i++)
			if (aio_error(&v[i]) == EINPROGRESS && k < JQD * 2)
				l[k++] = &v[i];
		left = k;
		if (!k)
			break;
		aio_suspend(l, k, &slice);
	}
	return left;
}

/* Reads of V[I] checked against REF: a finished read with wrong data. */
static int check(struct aiocb *cb, const char *ref)
{
	return aio_error(cb) || aio_return(cb) != BLK ||
	       memcmp(ref + cb->aio_offset, (void *)cb->aio_buf, BLK);
}

static sigjmp_buf jump_env;
static volatile sig_atomic_t in_suspend, jumps;

static void on_alarm(int sig)
{
	(void)sig;
	if (in_suspend) {
		in_suspend = 0;
		jumps++;
		siglongjmp(jump_env, 1);
	}
}

/* A process stuck in the library (a lost event, a lock left held): say
 * so instead of hanging until the suite's timeout. */
static void *watchdog(void *arg)
{
	msleep(*(int *)arg);
	out("reap_longjmp: stuck after %d s (jumps=%d)", *(int *)arg / 1000, (int)jumps);
	_exit(1);
}

void case_reap_longjmp(void)
{
	enum { ROUNDS = 2000 };
	char *what, *buf = aligned_alloc(BLK, JQD * BLK), *ref = aligned_alloc(BLK, SPAN);
	int fd = reap_open_direct(&what), bad = 0, reads = 0, timeouts = 0;
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct aiocb cb[JQD];
	unsigned next = 0;
	int busy[JQD] = { 0 }, limit = 120000;
	sigset_t alrm;
	pthread_t wd;

	if (fd < 0) {
		out("reap_longjmp: cannot open the %s with O_DIRECT: %s", what, en(errno));
		return;
	}
	if (pread(fd, ref, SPAN, 0) != SPAN)
		bad++;
	/* SIGALRM is taken by this thread alone */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, NULL);
	pthread_create(&wd, NULL, watchdog, &limit);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	for (int round = 0; round < ROUNDS; round++) {
		const struct aiocb *l[JQD];
		int n = 0;

		for (int s = 0; s < JQD; s++) {
			if (busy[s] && aio_error(&cb[s]) != EINPROGRESS) {
				bad += check(&cb[s], ref);
				busy[s] = 0;
				reads++;
			}
			if (!busy[s]) {
				setcb(&cb[s], fd, buf + (size_t)s * BLK, BLK, blk(next++));
				bad += aio_read(&cb[s]) != 0;
				busy[s] = 1;
			}
			l[n++] = &cb[s];
		}
		/* 1 to 40 us into aio_suspend() */
		struct itimerval it = { { 0, 0 }, { 0, 1 + (round * 7) % 40 } }, off = { { 0, 0 } };
		struct timespec sec = { 1, 0 };

		if (!sigsetjmp(jump_env, 1)) {
			in_suspend = 1;
			setitimer(ITIMER_REAL, &it, NULL);
			if (aio_suspend(l, n, &sec) && errno == EAGAIN)
				timeouts++;	/* 1 s without one of 8 reads ending */
			in_suspend = 0;
		}
		setitimer(ITIMER_REAL, &off, NULL);
	}
	in_suspend = 0;
	sigaction(SIGALRM, &old, NULL);
	int stuck = unfinished_after(cb, JQD, 5000);

	for (int s = 0; s < JQD; s++)
		if (busy[s] && aio_error(&cb[s]) != EINPROGRESS) {
			bad += check(&cb[s], ref);
			reads++;
		}
	pthread_cancel(wd);
	pthread_join(wd, NULL);
	fprintf(stderr, "reap_longjmp: %d jumps, %u reads, %d never ended\n", (int)jumps, next, stuck);
	out("reap_longjmp: %d rounds, jumped out of aio_suspend()>=%d=%d all reads ended=%d "
	    "1 s waits that timed out=%d bad=%d", ROUNDS, ROUNDS / 20, jumps >= ROUNDS / 20,
	    reads == (int)next && !stuck, timeouts, bad);
	close(fd);
	free(buf);
	free(ref);
}

/* --- pthread_cancel() in aio_suspend() -------------------------------- */

struct loop {
	int fd, stop;
	int phase;	/* 1: submitting, 2: in aio_suspend() (what a slow cancellation met) */
	unsigned base, started;
	struct aiocb cb[JQD];
	char *buf;
};

/* fio's loop until cancelled (or STOP): JQD reads, aio_suspend() on all */
static void *reader(void *arg)
{
	struct loop *lp = arg;
	int busy[JQD] = { 0 };

	while (!__atomic_load_n(&lp->stop, __ATOMIC_RELAXED)) {
		const struct aiocb *l[JQD];

		__atomic_store_n(&lp->phase, 1, __ATOMIC_RELAXED);
		for (int s = 0; s < JQD; s++) {
			if (busy[s] && aio_error(&lp->cb[s]) == EINPROGRESS) {
				l[s] = &lp->cb[s];
				continue;
			}
			setcb(&lp->cb[s], lp->fd, lp->buf + (size_t)s * BLK, BLK,
			      blk(lp->base + lp->started));
			if (aio_read(&lp->cb[s]))
				abort();
			busy[s] = 1;
			__atomic_add_fetch(&lp->started, 1, __ATOMIC_RELEASE);
			l[s] = &lp->cb[s];
		}
		__atomic_store_n(&lp->phase, 2, __ATOMIC_RELAXED);
		aio_suspend(l, JQD, NULL);	/* the cancellation point */
	}
	return NULL;
}

/*
 * glibc loads its unwinder (libgcc_s) at a process's first
 * pthread_cancel(), before it sends the signal: file I/O that a cold page
 * cache can make take seconds under TCG. Done once, untimed, so that the
 * rounds time the library's cancellation alone.
 */
static void *pause_forever(void *unused)
{
	(void)unused;
	for (;;)
		pause();
	return NULL;
}

static void warm_cancel(void)
{
	pthread_t t;

	if (!pthread_create(&t, NULL, pause_forever, NULL)) {
		pthread_cancel(t);
		pthread_join(t, NULL);
	}
}

static struct loop *new_loop(int fd, unsigned base)
{
	struct loop *lp = calloc(1, sizeof(*lp));

	lp->fd = fd;
	lp->base = base;
	lp->buf = aligned_alloc(BLK, JQD * BLK);
	return lp;
}

void case_reap_cancel(void)
{
	enum { TIMES = 200 };
	char *what, *ref = aligned_alloc(BLK, SPAN);
	int fd = reap_open_direct(&what), bad = 0, late = 0, lost = 0, noio = 0;
	double worst = 0;
	int worst_at = -1, worst_phase = 0;
	struct loop *other;
	pthread_t ot;

	if (fd < 0) {
		out("reap_cancel: cannot open the %s with O_DIRECT: %s", what, en(errno));
		return;
	}
	if (pread(fd, ref, SPAN, 0) != SPAN)
		bad++;
	warm_cancel();
	other = new_loop(fd, 100000);
	pthread_create(&ot, NULL, reader, other);
	for (int i = 0; i < TIMES; i++) {
		struct loop *lp = new_loop(fd, (unsigned)i * 1000);
		struct timespec t0;
		pthread_t t;

		pthread_create(&t, NULL, reader, lp);
		/* 0 to 3 ms into its loop */
		struct timespec d = { 0, (i % 31) * 100000L };

		nanosleep(&d, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int phase = __atomic_load_n(&lp->phase, __ATOMIC_RELAXED);

		pthread_cancel(t);
		pthread_join(t, NULL);
		double ms = ms_since(&t0);

		if (ms > worst) {
			worst = ms;
			worst_at = i;
			worst_phase = phase;
		}
		late += ms >= 1000;
		unsigned started = __atomic_load_n(&lp->started, __ATOMIC_ACQUIRE);
		int n = started < JQD ? (int)started : JQD;

		lost += unfinished_after(lp->cb, n, 5000);
		for (int s = 0; s < n; s++)
			if (aio_error(&lp->cb[s]) != EINPROGRESS)
				bad += check(&lp->cb[s], ref);
		free(lp->buf);
		free(lp);
	}
	unsigned before = __atomic_load_n(&other->started, __ATOMIC_ACQUIRE);

	msleep(100);
	noio = __atomic_load_n(&other->started, __ATOMIC_ACQUIRE) == before;
	__atomic_store_n(&other->stop, 1, __ATOMIC_RELAXED);
	pthread_join(ot, NULL);
	lost += unfinished_after(other->cb, JQD, 5000);
	for (int s = 0; s < JQD; s++)
		bad += check(&other->cb[s], ref);
	fprintf(stderr, "reap_cancel: slowest cancellation %.1f ms (round %d, %s)\n", worst, worst_at,
		worst_phase == 2 ? "in aio_suspend()" : worst_phase == 1 ? "submitting" : "starting");
	out("reap_cancel: %d cancellations, each within 1 s=%d reads never ended=%d "
	    "the other thread went on=%d bad=%d", TIMES, !late, lost, !noio, bad);
	free(other->buf);
	free(other);
	close(fd);
	free(ref);
}

/*
 * LIB_ONLY, a slow device (SA_CANCEL_DEV, read-ahead off, as reap_eintr:
 * a buffered 1 MiB read takes seconds): the cancelled thread sleeps in
 * io_getevents() with nothing else in flight.
 */
static void *slow_reader(void *arg)
{
	const struct aiocb *l[1] = { arg };

	for (;;)
		aio_suspend(l, 1, NULL);
	return NULL;
}

void case_reap_cancel_slow(void)
{
	const char *dev = getenv("SA_CANCEL_DEV");
	size_t n = 1 << 20;
	char *buf = malloc(n);
	struct timespec t0;
	struct aiocb cb;
	pthread_t t;
	int fd;

	if (!dev || !buf || (fd = open(dev, O_RDONLY)) < 0) {
		out("reap_cancel_slow: no device (SA_CANCEL_DEV)");
		return;
	}
	warm_cancel();
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	setcb(&cb, fd, buf, n, (off_t)96 << 20);
	int rc = aio_read(&cb);

	pthread_create(&t, NULL, slow_reader, &cb);
	msleep(300);
	int err = aio_error(&cb);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_cancel(t);
	pthread_join(t, NULL);
	double ms = ms_since(&t0);

	fprintf(stderr, "reap_cancel_slow: cancellation acted after %.1f ms\n", ms);
	/* the read goes on and ends (the ring was given back) */
	int left = unfinished_after(&cb, 1, 20000);

	out("reap_cancel_slow: rc=%d in flight when cancelled=%d cancelled within 200 ms=%d "
	    "then ended=%d %s", rc, err == EINPROGRESS, ms < 200, !left, left ? "" : res(&cb));
	close(fd);
	free(buf);
}
