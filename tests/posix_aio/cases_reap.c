// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX AIO conformance suite, library only: who reaps the io_context's
 * ring (lib/posix-aio/reap.c). A caller in aio_suspend() sleeps in
 * io_getevents() itself; the reaper thread must still see completions
 * nobody waits for (notifications, aio_error() polling), and a signal
 * handler must interrupt a caller's wait as it interrupts glibc's.
 *
 * The reads must complete after io_submit() returns: O_DIRECT reads of
 * SA_CANCEL_DEV (make test's null_blk) or of a file in the suite's
 * directory (a disk on the build host).
 */
#include "conformance.h"

#include <dlfcn.h>
#include <semaphore.h>
#include <time.h>

#define BLK 4096
#define SPAN (4 << 20)
#define QD 32
#define NREADS 2048
#define LISTMAX 8	/* fio's posixaio engine suspends on 8 at most */

/* the library's counters (syslet_aio_stats(), SA_ST_*) */
enum { ST_REAPER = 4, ST_POLLED = 9, ST_N = 11 };

static unsigned long long lib_stat(int i)
{
	int (*f)(unsigned long long *, int) = (int (*)(unsigned long long *, int))
		dlsym(RTLD_DEFAULT, "syslet_aio_stats");
	unsigned long long v[ST_N] = { 0 };

	if (!f || f(v, ST_N) != 2)
		return 0;
	return v[i];
}

int reap_open_direct(char **what)
{
	const char *dev = getenv("SA_CANCEL_DEV");
	int fd;

	if (dev) {
		*what = "device";
		return open(dev, O_RDONLY | O_DIRECT);
	}
	*what = "file";
	close(make_file("reap", SPAN, 21));
	fd = tmpfile_open("reap", O_RDONLY | O_DIRECT);
	if (fd >= 0)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return fd;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static off_t block_at(int i)
{
	return (off_t)((i * 7919u) % (SPAN / BLK)) * BLK;
}

/* fio's loop: QD reads in flight, aio_suspend() on the first 8 pending,
 * aio_error()/aio_return() on all; each block checked against what
 * pread() read before (not after each: the loop must keep up with the
 * completions to wait for them). */
static void fio_loop(int fd, int qd, int nreads)
{
	struct aiocb cb[QD];
	char *buf = aligned_alloc(BLK, (size_t)QD * BLK), *ref = aligned_alloc(BLK, SPAN);
	int next = 0, done = 0, bad = 0, slot_io[QD];
	unsigned long long polled = lib_stat(ST_POLLED);

	if (pread(fd, ref, SPAN, 0) != SPAN)
		bad++;

	for (int s = 0; s < qd; s++) {
		setcb(&cb[s], fd, buf + (size_t)s * BLK, BLK, block_at(next));
		slot_io[s] = next++;
		bad += aio_read(&cb[s]) != 0;
	}
	while (done < nreads) {
		const struct aiocb *l[LISTMAX];
		int n = 0;

		for (int s = 0; s < qd; s++) {
			if (slot_io[s] < 0)
				continue;
			int e = aio_error(&cb[s]);

			if (e == EINPROGRESS) {
				if (n < LISTMAX)
					l[n++] = &cb[s];
				continue;
			}
			if (e || aio_return(&cb[s]) != BLK ||
			    memcmp(ref + cb[s].aio_offset, (void *)cb[s].aio_buf, BLK))
				bad++;
			done++;
			slot_io[s] = -1;
			if (next < nreads) {
				setcb(&cb[s], fd, buf + (size_t)s * BLK, BLK, block_at(next));
				slot_io[s] = next++;
				bad += aio_read(&cb[s]) != 0;
			}
		}
		if (n)
			aio_suspend(l, n, NULL);
	}
	/* at queue depth 1 the caller always gets there before its read is
	 * done: it must have slept in io_getevents() */
	if (qd == 1)
		out("reap_paths: %d reads at QD 1 bad=%d a caller waited in io_getevents()=%d", nreads,
		    bad, lib_stat(ST_POLLED) > polled);
	else
		out("reap_paths: %d reads at QD %d bad=%d", nreads, qd, bad);
	free(buf);
	free(ref);
}

static sem_t thread_sem;

static void on_done(union sigval v)
{
	(void)v;
	sem_post(&thread_sem);
}

void case_reap_paths(void)
{
	char *what, *buf = aligned_alloc(BLK, BLK);
	int fd = reap_open_direct(&what);
	struct aiocb cb;
	struct timespec t0, lim;
	int rc;

	if (fd < 0) {
		out("reap_paths: cannot open the %s with O_DIRECT: %s", what, en(errno));
		return;
	}
	fio_loop(fd, QD, NREADS);
	fio_loop(fd, 1, 64);

	/* A signal for a read nobody waits for (callers took the ring just
	 * before): the reaper must see the completion. */
	unsigned long long reaper = lib_stat(ST_REAPER);

	setcb(&cb, fd, buf, BLK, block_at(1));
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = SIG_A;
	cb.aio_sigevent.sigev_value.sival_int = 77;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = aio_read(&cb);
	const char *s = take_signal();

	out("reap_paths: SIGEV_SIGNAL, nobody waiting: rc=%d {%s} within 1 s=%d then %s by the reaper=%d",
	    rc, s, ms_since(&t0) < 1000, res(&cb), lib_stat(ST_REAPER) > reaper);

	/* The same with SIGEV_THREAD. */
	sem_init(&thread_sem, 0, 0);
	setcb(&cb, fd, buf, BLK, block_at(2));
	cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb.aio_sigevent.sigev_notify_function = on_done;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = aio_read(&cb);
	clock_gettime(CLOCK_REALTIME, &lim);
	lim.tv_sec += 5;
	int got = !sem_timedwait(&thread_sem, &lim);

	out("reap_paths: SIGEV_THREAD, nobody waiting: rc=%d ran=%d within 1 s=%d then %s", rc, got,
	    ms_since(&t0) < 1000, res(&cb));

	/* aio_error() polling, after callers held the ring: sees the end
	 * without any aio_suspend() (the reaper takes the ring over). */
	fio_loop(fd, 1, 64);
	setcb(&cb, fd, buf, BLK, block_at(3));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = aio_read(&cb);
	while (aio_error(&cb) == EINPROGRESS && ms_since(&t0) < 5000)
		msleep(1);
	out("reap_paths: aio_error() polling: rc=%d within 1 s=%d then %s", rc, ms_since(&t0) < 1000,
	    res(&cb));
	close(fd);
	free(buf);
}

static volatile int handled;

static void on_usr2(int sig)
{
	(void)sig;
	handled++;
}

static void *poke(void *arg)
{
	msleep(200);
	pthread_kill(*(pthread_t *)arg, SIGUSR2);
	return NULL;
}

/*
 * LIB_ONLY, a slow device (SA_CANCEL_DEV, read-ahead off: a 1 MiB read
 * takes over a second). A caller asleep in io_getevents() for a kernel
 * request, interrupted by a handler: EINTR as glibc's futex wait gives
 * it (with a timeout always; without one unless SA_RESTART, and then
 * the wait goes on until the read is done).
 */
void case_reap_eintr(void)
{
	static const struct { const char *name; int restart, timeout; } v[] = {
		{ "timeout, no SA_RESTART", 0, 1 },
		{ "no timeout, no SA_RESTART", 0, 0 },
		{ "timeout, SA_RESTART", 1, 1 },
		{ "no timeout, SA_RESTART", 1, 0 },
	};
	const char *dev = getenv("SA_CANCEL_DEV");
	size_t n = 1 << 20;
	char *buf = malloc(n);
	int fd;

	if (!dev || !buf || (fd = open(dev, O_RDONLY)) < 0) {
		out("reap_eintr: no device (SA_CANCEL_DEV)");
		return;
	}
	for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = v[i].restart ? SA_RESTART : 0 };
		struct timespec ten = { 10, 0 };
		struct aiocb cb;
		pthread_t t, self = pthread_self();
		int rc;

		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR2, &sa, NULL);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		setcb(&cb, fd, buf, n, (off_t)(80 + 2 * i) << 20);
		rc = aio_read(&cb);
		const struct aiocb *l[1] = { &cb };

		handled = 0;
		pthread_create(&t, NULL, poke, &self);
		errno = 0;
		rc = aio_suspend(l, 1, v[i].timeout ? &ten : NULL);
		int e = errno, err = aio_error(&cb);

		pthread_join(t, NULL);
		out("reap_eintr: %s: rc=%d errno=%s handler=%d err=%s", v[i].name, rc,
		    rc ? en(e) : "-", handled, en(err));
		wait_cb(&cb);
	}
	signal(SIGUSR2, SIG_DFL);
	close(fd);
	free(buf);
}
