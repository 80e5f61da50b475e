// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX AIO conformance suite: aio_suspend() (timeouts, EINTR) and
 * aio_cancel() of queued, running and finished requests.
 */
#include "conformance.h"

#include <sys/uio.h>

/* A pipe read that waits until the test writes to the pipe. */
static void pipe_read(struct aiocb *cb, int p[2], char *buf, size_t n)
{
	if (!p[1] && pipe(p))
		exit(2);
	setcb(cb, p[0], buf, n, 0);
	if (aio_read(cb))
		out("pipe_read: aio_read failed: %s", en(errno));
}

static void *write_later(void *arg)
{
	msleep(200);
	if (write(*(int *)arg, "late", 4) != 4)
		exit(2);
	return NULL;
}

/*
 * A timeout beyond any clock ({LONG_MAX, 0}): glibc fails at once with
 * EAGAIN, the library waits for the request; neither may spin (the
 * library's deadline once overflowed, and it looped on the futex's
 * EINVAL). Only the CPU time is printed, which both keep near 0.
 */
static void suspend_huge_timeout(void)
{
	int p[2] = { 0, 0 };
	char buf[16];
	struct aiocb cb;
	struct timespec huge = { LONG_MAX, 0 }, c0, c1;
	pthread_t t;

	pipe_read(&cb, p, buf, sizeof buf);
	const struct aiocb *l[1] = { &cb };

	if (pthread_create(&t, NULL, write_later, &p[1]))
		exit(2);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	aio_suspend(l, 1, &huge);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	double ms = (c1.tv_sec - c0.tv_sec) * 1e3 + (c1.tv_nsec - c0.tv_nsec) / 1e6;

	out("suspend: timeout {LONG_MAX, 0}: under 50 ms of CPU=%d", ms < 50);
	wait_cb(&cb);
	pthread_join(t, NULL);
	close(p[0]);
	close(p[1]);
}

void case_suspend(void)
{
	int p[2] = { 0, 0 }, fd = make_file("susp", 4096, 7);
	char pb[16], fb[4096];
	struct aiocb pr, fr;
	struct timespec zero = { 0, 0 }, ms50 = { 0, 50000000 };
	int rc;

	pipe_read(&pr, p, pb, sizeof pb);
	const struct aiocb *l1[1] = { &pr };

	errno = 0;
	rc = aio_suspend(l1, 1, &zero);
	out("suspend: pending, timeout 0: rc=%d errno=%s", rc, en(errno));
	errno = 0;
	rc = aio_suspend(l1, 1, &ms50);
	out("suspend: pending, timeout 50ms: rc=%d errno=%s err=%s", rc, en(errno), en(aio_error(&pr)));
	/* Timeouts no clock can have: glibc answers EAGAIN at once. */
	struct timespec bad[3] = { { 0, -1 }, { -1, 0 }, { 0, 1000000000 } };

	for (int i = 0; i < 3; i++) {
		errno = 0;
		rc = aio_suspend(l1, 1, &bad[i]);
		out("suspend: timeout {%lld, %ld}: rc=%d errno=%s", (long long)bad[i].tv_sec,
		    bad[i].tv_nsec, rc, en(errno));
	}
	setcb(&fr, fd, fb, sizeof fb, 0);
	aio_read(&fr);
	wait_cb(&fr);
	const struct aiocb *l2[3] = { &pr, NULL, &fr };

	rc = aio_suspend(l2, 3, NULL);
	out("suspend: pending + done: rc=%d", rc);
	if (write(p[1], "hello", 5) != 5)
		exit(2);
	rc = aio_suspend(l1, 1, NULL);
	wait_cb(&pr);
	out("suspend: after the write: rc=%d %s data=%.5s", rc, res(&pr), pb);
	close(p[0]);
	close(p[1]);
	close(fd);
	suspend_huge_timeout();
}

static volatile int handled;

static void on_usr2(int sig)
{
	(void)sig;
	handled++;
}

struct poke {
	int kill_ms, write_ms, wfd;
};

static void *poker(void *arg)
{
	struct poke *pk = arg;

	msleep(pk->kill_ms);
	pthread_kill(main_thread, SIGUSR2);
	if (pk->write_ms) {
		msleep(pk->write_ms);
		if (write(pk->wfd, "x", 1) != 1)
			exit(2);
	}
	return NULL;
}

/* POSIX: aio_suspend() fails with EINTR when a signal handler ran. */
void case_suspend_eintr(void)
{
	static const struct { const char *name; int restart, timeout; } v[] = {
		{ "timeout, no SA_RESTART", 0, 1 },
		{ "no timeout, no SA_RESTART", 0, 0 },
		{ "timeout, SA_RESTART", 1, 1 },
		{ "no timeout, SA_RESTART", 1, 0 },
	};

	for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = v[i].restart ? SA_RESTART : 0 };
		struct timespec ten = { 10, 0 };
		int p[2] = { 0, 0 };
		char b[4];
		struct aiocb cb;
		pthread_t t;
		int rc;

		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR2, &sa, NULL);
		pipe_read(&cb, p, b, 1);
		/* without a timeout and with SA_RESTART the wait goes on: the
		 * poker then ends it with a write */
		struct poke pk = { 200, v[i].restart && !v[i].timeout ? 200 : 0, p[1] };
		const struct aiocb *l[1] = { &cb };

		handled = 0;
		pthread_create(&t, NULL, poker, &pk);
		errno = 0;
		rc = aio_suspend(l, 1, v[i].timeout ? &ten : NULL);
		int e = errno;

		pthread_join(t, NULL);
		out("suspend_eintr: %s: rc=%d errno=%s handler=%d err=%s", v[i].name, rc,
		    rc ? en(e) : "-", handled, en(aio_error(&cb)));
		if (aio_error(&cb) == EINPROGRESS && write(p[1], "x", 1) != 1)
			exit(2);
		wait_cb(&cb);
		close(p[0]);
		close(p[1]);
	}
	signal(SIGUSR2, SIG_DFL);
}

void case_cancel(void)
{
	int fd = make_file("cancel", 4096, 8), closed = dup(fd), p[2] = { 0, 0 };
	char fb[4096], a[8], b[8], c[8];
	struct aiocb fr, A, B, C;
	int rc;

	close(closed);
	errno = 0;
	rc = aio_cancel(-1, NULL);
	out("cancel: fd=-1 rc=%d errno=%s", rc, en(errno));
	setcb(&fr, closed, fb, 16, 0);
	errno = 0;
	rc = aio_cancel(closed, &fr);
	out("cancel: closed fd rc=%d errno=%s", rc, en(errno));
	setcb(&fr, fd, fb, sizeof fb, 0);
	aio_read(&fr);
	wait_cb(&fr);
	errno = 0;
	rc = aio_cancel(fd + 1000, &fr);
	out("cancel: other fd (bad) rc=%d errno=%s", rc, en(errno));
	rc = aio_cancel(0, &fr);
	out("cancel: aiocb of another fd rc=%d errno=%s", rc, en(errno));
	rc = aio_cancel(fd, &fr);
	out("cancel: finished rc=%d %s", rc, res(&fr));
	rc = aio_cancel(fd, NULL);
	out("cancel: fd with nothing in flight rc=%d", rc);

	/* A runs (blocked on the pipe); B and C wait behind it. glibc's
	 * request is "running" once one of its threads took it: give it
	 * the time to. */
	memset(a, 0, sizeof a);
	pipe_read(&A, p, a, 5);
	msleep(200);
	setcb(&B, p[0], b, 5, 0);
	B.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	B.aio_sigevent.sigev_signo = SIG_B;
	B.aio_sigevent.sigev_value.sival_int = 77;
	aio_read(&B);
	setcb(&C, p[0], c, 5, 0);
	aio_read(&C);
	rc = aio_cancel(p[0], &B);
	out("cancel: queued rc=%d %s notification: %s", rc, res(&B), take_signal());
	rc = aio_cancel(p[0], &A);
	out("cancel: running rc=%d err=%s", rc, en(aio_error(&A)));
	rc = aio_cancel(p[0], NULL);
	out("cancel: all of the fd rc=%d A err=%s C %s", rc, en(aio_error(&A)), res(&C));
	rc = aio_cancel(p[0], &B);
	out("cancel: cancelled again rc=%d", rc);
	if (write(p[1], "abcde", 5) != 5)
		exit(2);
	wait_cb(&A);
	out("cancel: running one completes %s data=%.5s", res(&A), a);
	rc = aio_cancel(p[0], NULL);
	out("cancel: afterwards rc=%d", rc);
	close(p[0]);
	close(p[1]);
	close(fd);
}

/*
 * aio_cancel() of a read the kernel is running (library only, on the
 * patched kernel: glibc cannot cancel a running request). run.sh gives
 * a cold block device whose every 4 KiB read takes 5 ms with read-ahead
 * off (make test's null_blk), so 1 MiB takes over a second. Cancelled
 * 20 ms in, the request must end soon after: AIO_CANCELED with
 * ECANCELED if no byte had moved, else AIO_NOTCANCELED with the short
 * read so far, never the whole MiB.
 */
void case_cancel_kernel(void)
{
	const char *dev = getenv("SA_CANCEL_DEV");
	size_t n = 1 << 20;
	char *buf = malloc(n);
	struct aiocb cb;
	struct timespec t0, t1;
	int fd, rc, err;
	ssize_t ret;

	if (!dev || !buf || (fd = open(dev, O_RDONLY)) < 0) {
		out("cancel_kernel: no device (SA_CANCEL_DEV)");
		return;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	setcb(&cb, fd, buf, n, 64 << 20);
	if (aio_read(&cb)) {
		out("cancel_kernel: aio_read failed: %s", en(errno));
		return;
	}
	msleep(20);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = aio_cancel(fd, &cb);
	wait_cb(&cb);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	err = aio_error(&cb);
	ret = aio_return(&cb);
	double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	int consistent = (rc == AIO_CANCELED && err == ECANCELED && ret == -1) ||
			 (rc == AIO_NOTCANCELED && err == 0 && ret >= 0 && (size_t)ret < n);

	fprintf(stderr, "cancel_kernel: aio_cancel()=%s err=%s ret=%zd, ended %.1f ms after it\n",
		rc == AIO_CANCELED ? "AIO_CANCELED" : rc == AIO_NOTCANCELED ? "AIO_NOTCANCELED" :
		rc == AIO_ALLDONE ? "AIO_ALLDONE" : "-1", en(err), ret, ms);
	out("cancel_kernel: consistent=%d ended_early=%d", consistent, ms < 500);
	close(fd);
	free(buf);
}

/*
 * LIB_ONLY (a slow block device in SA_CANCEL_DEV, read-ahead off: run.sh).
 * A read whose first page is cached and second is not: the library's
 * page-cache attempt copies the first page, then the read goes the usual
 * way and waits in the queue behind 3,000 direct reads. aio_cancel() must
 * not answer AIO_CANCELED for it: its buffer was written (glibc never
 * writes a cancelled request's buffer).
 */
void case_cancel_started(void)
{
	/* 3,000 reads of 256 KiB: ~9,000 device requests, 64 at a time, 5 ms
	 * each: the queue drains in seconds, not while the case runs */
	enum { FILL = 3000, FILLSZ = 256 << 10, PG = 4096 };
	const char *dev = getenv("SA_CANCEL_DEV");
	struct aiocb *fillv = calloc(FILL, sizeof *fillv), **list = calloc(FILL, sizeof *list);
	char *dbuf = aligned_alloc(PG, FILLSZ), *w = aligned_alloc(PG, 2 * PG);
	char *buf = malloc(2 * PG);
	off_t at = 64 << 20;
	struct aiocb cb;
	int fdb, fdd;

	if (!dev || !fillv || !list || !dbuf || !w || !buf || (fdb = open(dev, O_RDWR)) < 0 ||
	    (fdd = open(dev, O_RDWR | O_DIRECT)) < 0) {
		out("cancel_started: no device (SA_CANCEL_DEV)");
		return;
	}
	/* both pages on the device, past the page cache; then the first
	 * one again through it: cached, the second is not */
	fill(w, 2 * PG, 21);
	if (pwrite(fdd, w, 2 * PG, at) != 2 * PG || pwrite(fdb, w, PG, at) != PG) {
		out("cancel_started: setup write failed: %s", en(errno));
		return;
	}
	struct iovec iov = { buf, 2 * PG };
	ssize_t partial = preadv2(fdb, &iov, 1, at, RWF_NOWAIT);

	/*
	 * That attempt started a read of the second page (6.12 reads the
	 * requested page even with read-ahead off): once it is done, a direct
	 * write of the page takes it out of the page cache again.
	 */
	msleep(100);
	if (pwrite(fdd, w + PG, PG, at + PG) != PG) {
		out("cancel_started: setup write failed: %s", en(errno));
		return;
	}
	/* a list: it takes no page-cache attempt (nor its back-off) */
	for (int i = 0; i < FILL; i++) {
		/* (one buffer for all: only their number matters) */
		setcb(&fillv[i], fdd, dbuf, FILLSZ, (128 << 20) + (off_t)i * FILLSZ);
		fillv[i].aio_lio_opcode = LIO_READ;
		list[i] = &fillv[i];
	}
	int rl = lio_listio(LIO_NOWAIT, list, FILL, NULL);

	memset(buf, 0, 2 * PG);
	setcb(&cb, fdb, buf, 2 * PG, at);
	int rc = aio_read(&cb);
	int c = aio_cancel(fdb, &cb);
	/* what the buffer holds when aio_cancel() returns */
	int untouched = 1;

	for (int i = 0; i < 2 * PG; i++)
		untouched &= !buf[i];
	wait_cb(&cb);
	for (int i = 0; i < FILL; i++)
		wait_cb(&fillv[i]);
	int err = aio_error(&cb);
	ssize_t ret = aio_return(&cb);
	/*
	 * glibc's answers, whichever state the read was in: cancelled with
	 * its buffer untouched; not cancelled (it ran: a kernel that cancels
	 * may end it short), its data right; or done, whole.
	 */
	int consistent = (c == AIO_CANCELED && err == ECANCELED && ret == -1 && untouched) ||
			 (c == AIO_NOTCANCELED && err == 0 && ret > 0 && !memcmp(buf, w, (size_t)ret)) ||
			 (c == AIO_ALLDONE && err == 0 && ret == 2 * PG && !memcmp(buf, w, 2 * PG));

	fprintf(stderr, "cancel_started: aio_cancel()=%s err=%s ret=%zd untouched=%d\n",
		c == AIO_CANCELED ? "AIO_CANCELED" : c == AIO_NOTCANCELED ? "AIO_NOTCANCELED" :
		c == AIO_ALLDONE ? "AIO_ALLDONE" : "-1", en(err), ret, untouched);
	out("cancel_started: partial=%zd lio=%d rc=%d consistent=%d", partial, rl, rc, consistent);
	close(fdb);
	close(fdd);
	free(fillv);
	free(list);
	free(dbuf);
	free(w);
	free(buf);
}
