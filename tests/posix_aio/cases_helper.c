// SPDX-License-Identifier: GPL-2.0
/*
 * Runs of reads: what the library's helper thread takes (helper.c). A
 * caller submits many reads before it looks at any, as fio does at
 * queue depth 64; writes, syncs and cancellations come behind them on
 * the same descriptor. The suite's "helper" run hands every such read to
 * the helper (SYSLET_AIO_HELPER=2); the other runs take their usual
 * paths; all must print what glibc prints.
 */
#include "conformance.h"

#include <sys/wait.h>

#define RB 4096
#define RSIZE (64 * 1024)

/* SA_CACHED_DEV (a block device: the page-cache attempt works there,
 * not on tmpfs) written with pattern SEED, or a file of it. */
static int cached_source(const char *name, unsigned seed)
{
	const char *dev = getenv("SA_CACHED_DEV");
	int fd;

	if (!dev)
		return make_file(name, RSIZE, seed);
	char *w = malloc(RSIZE);

	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0 || !w) {
		perror(dev);
		exit(2);
	}
	fill(w, RSIZE, seed);
	if (pwrite(fd, w, RSIZE, 0) != RSIZE) {
		perror("pwrite");
		exit(2);
	}
	free(w);
	return fd;
}

static void wait_all(struct aiocb *cb, int n)
{
	for (int i = 0; i < n; i++)
		wait_cb(&cb[i]);
}

/*
 * A run of 48 reads of two descriptors, then on the first an
 * overlapping write, an fsync and 16 reads of what the write covers:
 * the first reads see the old data, the last ones the new.
 */
static void read_run_then_write(void)
{
	enum { N = 48, M = 16 };
	int a = make_file("run-a", RSIZE, 21), b = cached_source("run-b", 22);
	char *buf = calloc(N + M, RB), *w = malloc(4 * RB);
	struct aiocb *cb = calloc(N + M, sizeof *cb), wc, sc;
	uint64_t h = 0xcbf29ce484222325ull;
	uint32_t x = 5;
	int ok = 0, bad = 0;

	for (int i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		off_t off = i % 3 ? (off_t)(x >> 8) % (RSIZE / RB) * RB : (off_t)(x >> 8) % RSIZE;

		setcb(&cb[i], i % 2 ? b : a, buf + (size_t)i * RB, RB, off);
		ok += aio_read(&cb[i]) == 0;
	}
	fill(w, 4 * RB, 23);
	setcb(&wc, a, w, 4 * RB, 0);
	ok += aio_write(&wc) == 0;
	setcb(&sc, a, NULL, 0, 0);
	ok += aio_fsync(O_SYNC, &sc) == 0;
	for (int i = N; i < N + M; i++) {
		setcb(&cb[i], a, buf + (size_t)i * RB, RB, (off_t)(i - N) * RB / 4);
		ok += aio_read(&cb[i]) == 0;
	}
	wait_all(cb, N + M);
	wait_cb(&wc);
	wait_cb(&sc);
	for (int i = 0; i < N + M; i++) {
		ssize_t r = aio_return(&cb[i]);

		bad += aio_error(&cb[i]) != 0;
		h = (h ^ digest(buf + (size_t)i * RB, r > 0 ? (size_t)r : 0)) * 0x100000001b3ull;
	}
	out("read_runs: write after a run: %d of %d submitted, bad=%d reads=%016llx write %s "
	    "fsync %s", ok, N + M + 2, bad, (unsigned long long)h, res(&wc), res(&sc));
	close(a);
	close(b);
	free(cb);
	free(buf);
	free(w);
}

/*
 * A run of 32 reads, then aio_cancel() of all of the descriptor's: each
 * read is cancelled (ECANCELED, -1) or done with the right data, and
 * the answer agrees with what happened to them.
 */
static void read_run_cancel(void)
{
	enum { N = 32 };
	int fd = cached_source("run-c", 24), consistent = 1;
	char *buf = calloc(N, RB), *want = malloc(RSIZE);
	struct aiocb *cb = calloc(N, sizeof *cb);

	fill(want, RSIZE, 24);
	for (int round = 0; round < 8; round++) {
		int cancelled = 0, done = 0, rc;

		memset(buf, 0, (size_t)N * RB);
		for (int i = 0; i < N; i++) {
			setcb(&cb[i], fd, buf + (size_t)i * RB, RB, (off_t)((i * 7 + round) % 16) * RB);
			if (aio_read(&cb[i]))
				consistent = 0;
		}
		rc = aio_cancel(fd, NULL);
		wait_all(cb, N);
		for (int i = 0; i < N; i++) {
			int e = aio_error(&cb[i]);
			ssize_t r = aio_return(&cb[i]);

			if (e == ECANCELED && r == -1)
				cancelled++;
			else if (e == 0 && r == RB &&
				 !memcmp(buf + (size_t)i * RB, want + cb[i].aio_offset, RB))
				done++;
		}
		consistent &= cancelled + done == N &&
			      (rc == AIO_CANCELED ? cancelled > 0 :
			       rc == AIO_ALLDONE ? cancelled == 0 : rc == AIO_NOTCANCELED && done > 0);
	}
	out("read_runs: cancel after a run: consistent=%d", consistent);
	close(fd);
	free(cb);
	free(buf);
	free(want);
}

/*
 * Runs of 4 reads while another thread cancels the descriptor's requests
 * without pause: a read that ends ECANCELED never writes its buffer (nor
 * later), the others return their data, nothing crashes or hangs.
 * (Review of the helper's first version: a read cancelled between its
 * admission and its hand-over was freed, then made.)
 */
static int race_fd;
static volatile int race_stop;

static void *canceller(void *arg)
{
	while (!race_stop)
		aio_cancel(race_fd, NULL);
	return arg;
}

static void read_run_cancel_race(void)
{
	enum { N = 4 };
	static char bufs[N][RB];
	/* more in the suite's "helper" run, where the race was */
	const char *env = getenv("SA_RACE_ROUNDS");
	int rounds = env ? atoi(env) : 500;
	char *want = malloc(RSIZE);
	int bad = 0;
	pthread_t t;

	race_fd = cached_source("run-r", 27);
	fill(want, RSIZE, 27);
	race_stop = 0;
	if (pthread_create(&t, NULL, canceller, NULL))
		exit(2);
	for (int round = 0; round < rounds; round++) {
		struct aiocb cb[N];

		for (int i = 0; i < N; i++) {
			memset(bufs[i], 'M', RB);
			setcb(&cb[i], race_fd, bufs[i], RB, (off_t)((round + i) % 16) * RB);
			bad += aio_read(&cb[i]) != 0;
		}
		wait_all(cb, N);
		for (int i = 0; i < N; i++) {
			int e = aio_error(&cb[i]);
			ssize_t r = aio_return(&cb[i]);

			if (e == ECANCELED) {
				usleep(100);	/* a late writer would have written by now */
				bad += r != -1 || bufs[i][0] != 'M' || bufs[i][RB - 1] != 'M';
			} else {
				bad += e != 0 || r != RB || memcmp(bufs[i], want + cb[i].aio_offset, RB);
			}
		}
	}
	race_stop = 1;
	pthread_join(t, NULL);
	out("read_runs: runs of %d reads against a cancelling thread bad=%d", N, bad);
	close(race_fd);
	free(want);
}

/*
 * Runs from four threads at once, each on its own descriptor and on a
 * shared one: every read returns its data.
 */
static int shared_fd;

static void *run_thread(void *arg)
{
	int own = make_file((const char *)arg, RSIZE, 25), bad = 0;
	char *buf = calloc(16, RB), *want = malloc(RSIZE);
	struct aiocb cb[16];

	fill(want, RSIZE, 25);
	for (int round = 0; round < 32; round++) {
		for (int i = 0; i < 16; i++) {
			setcb(&cb[i], i % 2 ? shared_fd : own, buf + (size_t)i * RB, RB,
			      (off_t)((i + round) % 16) * RB);
			bad += aio_read(&cb[i]) != 0;
		}
		wait_all(cb, 16);
		for (int i = 0; i < 16; i++)
			bad += aio_return(&cb[i]) != RB ||
			       memcmp(buf + (size_t)i * RB, want + cb[i].aio_offset, RB);
	}
	close(own);
	free(buf);
	free(want);
	return (void *)(intptr_t)bad;
}

static void read_run_threads(void)
{
	static const char *const names[] = { "run-t0", "run-t1", "run-t2", "run-t3" };
	pthread_t t[4];
	int bad = 0;

	shared_fd = make_file("run-shared", RSIZE, 25);
	for (int i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, run_thread, (void *)names[i]))
			exit(2);
	for (int i = 0; i < 4; i++) {
		void *r;

		pthread_join(t[i], &r);
		bad += (int)(intptr_t)r;
	}
	out("read_runs: 4 threads x 32 runs of 16 reads bad=%d", bad);
	close(shared_fd);
}

void case_read_runs(void)
{
	read_run_then_write();
	read_run_cancel();
	read_run_cancel_race();
	read_run_threads();
}

/*
 * fork() right after a run of reads (library only: glibc's child can
 * wait for ever on its request lock). In the child each read is done,
 * or in progress for ever: cancelled if it had not started, else not
 * cancellable and aio_suspend() times out. The child's own run works.
 */
void case_helper_fork(void)
{
	enum { N = 16 };
	int fd = cached_source("run-f", 26);
	char *buf = calloc(N, RB);
	struct aiocb *cb = calloc(N, sizeof *cb);
	pid_t pid;
	int st;

	for (int i = 0; i < N; i++) {
		setcb(&cb[i], fd, buf + (size_t)i * RB, RB, (off_t)i * RB);
		aio_read(&cb[i]);
	}
	pid = fork();
	if (pid == 0) {
		struct timespec ms50 = { 0, 50000000 };
		int consistent = 1, bad = 0;

		for (int i = 0; i < N; i++) {
			const struct aiocb *l[1] = { &cb[i] };
			int e = aio_error(&cb[i]), rc, rs;

			if (e == 0)
				continue;
			rc = aio_cancel(fd, &cb[i]);
			errno = 0;
			rs = aio_suspend(l, 1, &ms50);
			if (rc == AIO_CANCELED)
				consistent &= aio_error(&cb[i]) == ECANCELED && rs == 0;
			else
				consistent &= e == EINPROGRESS && rc == AIO_NOTCANCELED &&
					      rs == -1 && errno == EAGAIN;
		}
		char *own = calloc(N, RB), *want = malloc(RSIZE);
		struct aiocb *c = calloc(N, sizeof *c);

		fill(want, RSIZE, 26);
		for (int i = 0; i < N; i++) {
			setcb(&c[i], fd, own + (size_t)i * RB, RB, (off_t)(N - 1 - i) * RB);
			bad += aio_read(&c[i]) != 0;
		}
		wait_all(c, N);
		for (int i = 0; i < N; i++)
			bad += aio_return(&c[i]) != RB ||
			       memcmp(own + (size_t)i * RB, want + c[i].aio_offset, RB);
		out("helper_fork: child: consistent=%d own run bad=%d", consistent, bad);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	wait_all(cb, N);
	int bad = 0;

	for (int i = 0; i < N; i++)
		bad += aio_return(&cb[i]) != RB;
	out("helper_fork: parent: child status=%d reads bad=%d", WEXITSTATUS(st), bad);
	close(fd);
	free(cb);
	free(buf);
}
