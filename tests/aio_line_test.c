// SPDX-License-Identifier: GPL-2.0
/*
 * Cold aio reads in line (syslet/line.rs, Documentation/aio.md "Cold
 * reads in line"): a read of at most 128 KiB whose device I/O io_submit()
 * started waits on one async thread with the process's other cold reads
 * of the same device, submitted while that thread drains them, instead of
 * on a thread each; a read of another device, or from a thread with other
 * credentials, does not join. Reads of /dev/nullb0 (5 ms per I/O).
 *
 * Each case holds the line's thread in its first read: 128 KiB read into
 * a shared mapping of the device itself whose pages are not cached, with
 * the device's read-ahead off, so that the thread's copy takes 32 page
 * faults of 5 ms each, one after the other. Once that thread sleeps, the
 * case submits the other reads: they find the line drained.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "syslet_test.h"
#include "aio_test.h"

#define BASE (640LL << 20)	/* away from the other tests' blocks */
#define SLOW_OFF (BASE + (32LL << 20))	/* the first read's destination */
#define SLOW (128 << 10)
#define N 16
#define RA_KB "/sys/block/nullb0/queue/read_ahead_kb"

static char bufs[N][4096];

struct line_case {
	int fd, wfd;
	long ra_kb;
	char *slow;	/* the first read's destination */
};

/* Block i of the test: 'a' + i, at BASE + i * STRIDE; the device's
 * read-ahead off; then nothing of it cached. */
static int setup(struct line_case *c)
{
	char *blk;
	int fd, i, ok = 1;

	c->ra_kb = read_number(RA_KB);
	if (c->ra_kb < 0 || write_number(RA_KB, 0) || set_syslet_aio(1))
		return -1;
	fd = open(NULLB, O_WRONLY | O_DIRECT);
	if (fd < 0 || posix_memalign((void **)&blk, 4096, 4096))
		return -1;
	for (i = 0; i < N; i++) {
		memset(blk, 'a' + i, 4096);
		ok &= pwrite(fd, blk, 4096, BASE + (long long)i * STRIDE) == 4096;
	}
	free(blk);
	close(fd);
	drop_caches();
	/* Opened after the read-ahead went off: their files read none. */
	c->fd = open(NULLB, O_RDONLY);
	c->wfd = open(NULLB, O_RDWR);
	c->slow = mmap(NULL, SLOW, PROT_READ | PROT_WRITE, MAP_SHARED, c->wfd, SLOW_OFF);
	return ok && c->fd >= 0 && c->wfd >= 0 && c->slow != MAP_FAILED ? 0 : -1;
}

static void teardown(struct line_case *c)
{
	/* Written back, so that the next case's drop_caches() drops them. */
	if (c->slow && c->slow != MAP_FAILED) {
		msync(c->slow, SLOW, MS_SYNC);
		munmap(c->slow, SLOW);
	}
	close(c->wfd);
	close(c->fd);
	if (c->ra_kb >= 0)
		write_number(RA_KB, c->ra_kb);
}

/* Whether an async thread of this process sleeps uninterruptibly. */
static int a_thread_waits(void)
{
	pid_t ids[64];
	int n = async_thread_ids(ids, 64), i;

	for (i = 0; i < n; i++)
		if (thread_state(ids[i]) == 'D')
			return 1;
	return 0;
}

/* Submits read i of the blocks (4 KiB into bufs[i]). */
static int submit_read(io_context_t ctx, int fd, struct iocb *cb, int i)
{
	struct iocb *cbp = cb;

	io_prep_pread(cb, fd, bufs[i], 4096, BASE + (long long)i * STRIDE);
	return io_submit(ctx, 1, &cbp);
}

/* Submits read 0 (128 KiB into the slow destination), waits (2 s at
 * most) until its thread sleeps, then submits reads 1 .. n-1 in one
 * io_submit(). Returns how many were submitted; -1 if the thread was
 * not seen sleeping. */
static int submit_line(struct line_case *c, io_context_t ctx, struct iocb *cbs, int n)
{
	struct iocb *cbp[N], *first = &cbs[0];
	int i, got, waits;

	io_prep_pread(&cbs[0], c->fd, c->slow, SLOW, BASE);
	if (io_submit(ctx, 1, &first) != 1)
		return 0;
	for (i = 0, waits = a_thread_waits(); i < 2000 && !waits; i++, waits = a_thread_waits())
		usleep(1000);
	if (!waits)
		return -1;
	for (i = 1; i < n; i++) {
		io_prep_pread(&cbs[i], c->fd, bufs[i], 4096, BASE + (long long)i * STRIDE);
		cbp[i - 1] = &cbs[i];
	}
	got = n > 1 ? io_submit(ctx, n - 1, cbp) : 0;
	if (got < 0)
		fprintf(stderr, "# io_submit() of reads 1 .. %d: %d\n", n - 1, got);
	return got < 0 ? 1 : got + 1;
}

/* Reaps n events into evs, in the order the ring has them. */
static int reap_events(io_context_t ctx, struct io_event *evs, int n)
{
	int got = 0, r;

	while (got < n) {
		r = io_getevents(ctx, 1, n - got, evs + got, NULL);
		if (r <= 0)
			return got;
		got += r;
	}
	return got;
}

TEST(cold_reads_of_a_device_wait_in_one_line)
{
	struct line_case c = { .fd = -1, .wfd = -1, .ra_kb = -1 };
	struct io_event evs[N];
	struct iocb cbs[N];
	io_context_t ctx = 0;
	int i;

	if (access(NULLB, W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	ASSERT_EQ(0, setup(&c));
	ASSERT_EQ(0, io_setup(N, &ctx));
	EXPECT_EQ(N, submit_line(&c, ctx, cbs, N));
	EXPECT_EQ(N, reap_events(ctx, evs, N));
	for (i = 0; i < N; i++) {
		/* One thread drained them: in submission order. */
		EXPECT_EQ(&cbs[i], evs[i].obj);
		EXPECT_EQ(i ? 4096 : SLOW, (long)evs[i].res);
		EXPECT_EQ('a' + i, i ? bufs[i][0] : c.slow[0]);
		EXPECT_EQ('a' + i, i ? bufs[i][4095] : c.slow[4095]);
	}
	TH_LOG("%d cold reads: %ld async threads at most (one each before the line)",
	       N, syslet_stat("threads_peak"));
	EXPECT_EQ(1, syslet_stat("threads_peak"));
	io_destroy(ctx);
	teardown(&c);
}

/* A read of another device does not wait behind this device's line (a
 * device that stopped answering would hold it up): its own thread. */
TEST(a_read_of_another_device_does_not_join_the_line)
{
	struct line_case c = { .fd = -1, .wfd = -1, .ra_kb = -1 };
	static char other[4096];
	struct io_event evs[2];
	struct iocb cbs[2], *cbp = &cbs[1];
	io_context_t ctx = 0;
	int vda;

	if (access(NULLB, W_OK) || access("/dev/vda", R_OK))
		SKIP(return, "no " NULLB " and /dev/vda (tools/vm --nullblk)");
	ASSERT_EQ(0, setup(&c));
	vda = open("/dev/vda", O_RDONLY);
	ASSERT_GE(vda, 0);
	ASSERT_EQ(0, io_setup(4, &ctx));
	ASSERT_EQ(1, submit_line(&c, ctx, cbs, 1));
	io_prep_pread(&cbs[1], vda, other, 4096, 3LL << 30);
	ASSERT_EQ(1, io_submit(ctx, 1, &cbp));
	ASSERT_EQ(2, reap_events(ctx, evs, 2));
	/* The other device's read did not wait for the line's first. */
	EXPECT_EQ(&cbs[1], evs[0].obj);
	EXPECT_EQ(4096, (long)evs[0].res);
	EXPECT_EQ(SLOW, (long)evs[1].res);
	EXPECT_EQ('a', c.slow[0]);
	EXPECT_EQ(2, syslet_stat("threads_peak"));
	io_destroy(ctx);
	close(vda);
	teardown(&c);
}

struct other_creds {
	io_context_t ctx;
	int fd;
	struct iocb cb;
	int submitted;
};

/* This thread alone takes another effective uid (the raw system call
 * changes the calling thread's credentials only), then submits a read. */
static void *submit_as_other_uid(void *arg)
{
	struct other_creds *o = arg;

	if (syscall(SYS_setresuid, -1, 1000, -1))
		return NULL;
	o->submitted = submit_read(o->ctx, o->fd, &o->cb, 1);
	return NULL;
}

TEST(a_submitter_with_other_credentials_does_not_join_the_line)
{
	struct line_case c = { .fd = -1, .wfd = -1, .ra_kb = -1 };
	struct other_creds o = { 0 };
	struct io_event evs[2];
	struct iocb cbs[1];
	pthread_t t;

	if (access(NULLB, W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	ASSERT_EQ(0, setup(&c));
	o.fd = c.fd;
	ASSERT_EQ(0, io_setup(4, &o.ctx));
	ASSERT_EQ(1, submit_line(&c, o.ctx, cbs, 1));
	ASSERT_EQ(0, pthread_create(&t, NULL, submit_as_other_uid, &o));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(1, o.submitted);
	ASSERT_EQ(2, reap_events(o.ctx, evs, 2));
	/* Its read ran on a thread of its own, as that uid, not after the
	 * line's first. */
	EXPECT_EQ(&o.cb, evs[0].obj);
	EXPECT_EQ(4096, (long)evs[0].res);
	EXPECT_EQ(SLOW, (long)evs[1].res);
	EXPECT_EQ('b', bufs[1][0]);
	EXPECT_EQ(2, syslet_stat("threads_peak"));
	io_destroy(o.ctx);
	teardown(&c);
}

/*
 * io_cancel() of a read waiting in line: not started, so never started,
 * and completed -ECANCELED (io_cancel() answers -EINPROGRESS, as for any
 * request a cancel method will complete); the reads around it are read.
 */
TEST(cancel_of_a_read_waiting_in_line)
{
	struct line_case c = { .fd = -1, .wfd = -1, .ra_kb = -1 };
	struct io_event evs[8], ev;
	struct iocb cbs[8];
	io_context_t ctx = 0;
	int i;

	if (access(NULLB, W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	ASSERT_EQ(0, setup(&c));
	ASSERT_EQ(0, io_setup(8, &ctx));
	ASSERT_EQ(8, submit_line(&c, ctx, cbs, 8));
	EXPECT_EQ(-EINPROGRESS, io_cancel(ctx, &cbs[4], &ev));
	ASSERT_EQ(8, reap_events(ctx, evs, 8));
	for (i = 0; i < 8; i++) {
		long want = evs[i].obj == &cbs[4] ? -ECANCELED : evs[i].obj == &cbs[0] ? SLOW : 4096;

		EXPECT_EQ(want, (long)evs[i].res);
	}
	for (i = 1; i < 8; i++)
		if (i != 4)
			EXPECT_EQ('a' + i, bufs[i][0]);
	EXPECT_EQ(0, bufs[4][0]);
	EXPECT_EQ(1, syslet_stat("threads_peak"));
	io_destroy(ctx);
	teardown(&c);
}

/* A process that exits, or destroys its context, with a line in flight
 * ends at once: the line's thread is interrupted in its first read, and
 * ends the rest (io_destroy() returns once every read completed). */
TEST(exit_and_io_destroy_with_a_line_in_flight)
{
	int round;

	if (access(NULLB, W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	for (round = 0; round < 4; round++) {
		struct line_case c = { .fd = -1, .wfd = -1, .ra_kb = -1 };
		double t0;
		int status;
		pid_t pid;

		ASSERT_EQ(0, setup(&c));
		t0 = now_ms();
		pid = fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			struct iocb cbs[N];
			io_context_t ctx = 0;
			int i;

			if (io_setup(N, &ctx))
				_exit(2);
			i = submit_line(&c, ctx, cbs, N);
			if (i != N) {
				fprintf(stderr, "# round %d: %d of %d submitted\n", round, i, N);
				_exit(3);
			}
			/* Odd rounds tear the context down, even ones just exit. */
			if ((round & 1) && io_destroy(ctx))
				_exit(4);
			_exit(0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
		TH_LOG("round %d: the child ended %.0f ms after it started", round, now_ms() - t0);
		EXPECT_LT(now_ms() - t0, 5000.0);
		teardown(&c);
	}
}

TEST_HARNESS_MAIN
