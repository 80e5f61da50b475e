// SPDX-License-Identifier: GPL-2.0
/*
 * Cold aio reads in line (syslet/line.rs, Documentation/aio.md "Cold
 * reads in line"): a read of at most 128 KiB whose device I/O io_submit()
 * started waits on one async thread with the process's other cold reads
 * of the same device, submitted while that thread drains them, instead of
 * on a thread each; a read of another device, or from a thread with other
 * credentials, does not join. Reads of /dev/nullb0 (5 ms per I/O).
 *
 * Each case submits its reads of the device in one io_submit() call,
 * whose block plug holds their requests until it returns: the first read
 * opens the line, the others join it, none can complete meanwhile. A
 * slow first read (128 KiB into a shared mapping of the device itself
 * whose pages are not cached, read-ahead off: 32 page faults of 5 ms
 * each) faults on its destination. The userfaultfd pager's cases are
 * tests/aio_line_pager_test.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "syslet_test.h"
#include "aio_test.h"
#include "aio_line.h"

/*
 * N cold reads of the device in one batch. One thread drains them, in
 * submission order. With `slow`, the first read's destination is a
 * mapping of the device whose 32 pages must be faulted in, 5 ms each (a
 * fault of a file mapping can wait for anything, a FUSE daemon among
 * them): that read never joins the line (its own thread), and the reads
 * behind it are read meanwhile, in line; it completes last.
 */
static void batch_case(struct __test_metadata *_metadata, int slow)
{
	struct line_case c = { .fd = -1, .wfd = -1, .ra_kb = -1 };
	struct io_event evs[N];
	struct iocb cbs[N];
	io_context_t ctx = 0;
	int i, k;

	if (access(NULLB, W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	ASSERT_EQ(0, setup(&c));
	ASSERT_EQ(0, io_setup(N, &ctx));
	ASSERT_EQ(N, submit_batch(&c, ctx, cbs, N, slow));
	ASSERT_EQ(N, reap_events(ctx, evs, N));
	for (i = 0; i < N; i++) {
		k = slow ? (i + 1) % N : i;
		EXPECT_EQ(&cbs[k], evs[i].obj);
		if (slow && k == 0) {
			EXPECT_EQ(SLOW, (long)evs[i].res);
			EXPECT_EQ('a', c.slow[0]);
			continue;
		}
		EXPECT_EQ(4096, (long)evs[i].res);
		EXPECT_EQ('a' + k, bufs[k][0]);
		EXPECT_EQ('a' + k, bufs[k][4095]);
	}
	TH_LOG("%d cold reads: %ld async threads at most (one each without the line)",
	       N, syslet_stat("threads_peak"));
	EXPECT_EQ(slow ? 2 : 1, syslet_stat("threads_peak"));
	io_destroy(ctx);
	teardown(&c);
}

TEST(cold_reads_of_a_device_wait_in_one_line)
{
	batch_case(_metadata, 0);
}

TEST(a_read_that_faults_on_its_destination_does_not_hold_up_the_line)
{
	batch_case(_metadata, 1);
}

/* A read of another device does not wait in this device's line (a device
 * that stopped answering would hold it up): a thread of its own. */
TEST(a_read_of_another_device_does_not_join_the_line)
{
	struct line_case c = { .fd = -1, .wfd = -1, .ra_kb = -1 };
	static char other[4096];
	struct io_event evs[4];
	struct iocb cbs[4], *cbp[4];
	io_context_t ctx = 0;
	int vda, i;

	if (access(NULLB, W_OK) || access("/dev/vda", R_OK))
		SKIP(return, "no " NULLB " and /dev/vda (tools/vm --nullblk)");
	ASSERT_EQ(0, setup(&c));
	vda = open("/dev/vda", O_RDONLY);
	ASSERT_GE(vda, 0);
	ASSERT_EQ(0, io_setup(4, &ctx));
	for (i = 0; i < 3; i++) {
		io_prep_pread(&cbs[i], c.fd, bufs[i], 4096, BASE + (long long)i * STRIDE);
		cbp[i] = &cbs[i];
	}
	io_prep_pread(&cbs[3], vda, other, 4096, 3LL << 30);
	cbp[3] = &cbs[3];
	ASSERT_EQ(4, io_submit(ctx, 4, cbp));
	ASSERT_EQ(4, reap_events(ctx, evs, 4));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(4096, (long)evs[i].res);
	for (i = 0; i < 3; i++)
		EXPECT_EQ('a' + i, bufs[i][0]);
	EXPECT_EQ(2, syslet_stat("threads_peak"));
	io_destroy(ctx);
	close(vda);
	teardown(&c);
}

struct other_creds {
	io_context_t ctx;
	int fd;
	struct iocb cb;
	volatile int go;
	int submitted;
};

/* This thread alone takes another effective uid (the raw system call
 * changes the calling thread's credentials only), then, told to, submits
 * read 5. */
static void *submit_as_other_uid(void *arg)
{
	struct other_creds *o = arg;
	struct iocb *cbp = &o->cb;

	if (syscall(SYS_setresuid, -1, 1000, -1))
		return NULL;
	io_prep_pread(&o->cb, o->fd, bufs[5], 4096, BASE + 5LL * STRIDE);
	while (!o->go)
		;
	o->submitted = io_submit(o->ctx, 1, &cbp);
	return NULL;
}

TEST(a_submitter_with_other_credentials_does_not_join_the_line)
{
	struct line_case c = { .fd = -1, .wfd = -1, .ra_kb = -1 };
	struct other_creds o = { 0 };
	struct io_event evs[5];
	struct iocb cbs[4];
	pthread_t t;
	int i;

	if (access(NULLB, W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	ASSERT_EQ(0, setup(&c));
	o.fd = c.fd;
	ASSERT_EQ(0, io_setup(8, &o.ctx));
	ASSERT_EQ(0, pthread_create(&t, NULL, submit_as_other_uid, &o));
	/* The line's 4 reads take 5 ms at least; the other uid's read comes
	 * microseconds after them. */
	ASSERT_EQ(4, submit_batch(&c, o.ctx, cbs, 4, 0));
	o.go = 1;
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(1, o.submitted);
	ASSERT_EQ(5, reap_events(o.ctx, evs, 5));
	for (i = 0; i < 5; i++)
		EXPECT_EQ(4096, (long)evs[i].res);
	EXPECT_EQ('f', bufs[5][0]);
	/* Its read ran on a thread of its own, as that uid. */
	EXPECT_EQ(2, syslet_stat("threads_peak"));
	io_destroy(o.ctx);
	teardown(&c);
}

/*
 * io_cancel() of a read waiting in line, right after the batch was
 * submitted: not started (the first read takes 5 ms), so never started,
 * and completed -ECANCELED (io_cancel() answers -EINPROGRESS, as for any
 * request a cancel method will complete); the others are read.
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
	ASSERT_EQ(8, submit_batch(&c, ctx, cbs, 8, 0));
	EXPECT_EQ(-EINPROGRESS, io_cancel(ctx, &cbs[4], &ev));
	ASSERT_EQ(8, reap_events(ctx, evs, 8));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(evs[i].obj == &cbs[4] ? -ECANCELED : 4096, (long)evs[i].res);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(i == 4 ? 0 : 'a' + i, bufs[i][0]);
	EXPECT_EQ(1, syslet_stat("threads_peak"));
	io_destroy(ctx);
	teardown(&c);
}

/* A process that exits, or destroys its context, with a line in flight
 * (its first read faulting on its destination, off the line) ends at
 * once: its threads are interrupted, the reads left are ended, and
 * io_destroy() returns once every read completed. */
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

			if (io_setup(N, &ctx))
				_exit(2);
			if (submit_batch(&c, ctx, cbs, N, 1) != N)
				_exit(3);
			usleep(10000);
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

/*
 * Destinations never touched (fresh anonymous memory, as a program's
 * first buffers are): their faults wait for nothing but memory, and the
 * reads fault them in without leaving the line.
 */
TEST(first_touch_of_anonymous_destinations_stays_in_line)
{
	struct line_case c = { .fd = -1, .wfd = -1, .ra_kb = -1 };
	struct iocb cbs[N], *cbp[N];
	struct io_event evs[N];
	io_context_t ctx = 0;
	char *fresh;
	int i;

	if (access(NULLB, W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	ASSERT_EQ(0, setup(&c));
	fresh = mmap(NULL, N * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, fresh);
	ASSERT_EQ(0, io_setup(N, &ctx));
	for (i = 0; i < N; i++) {
		io_prep_pread(&cbs[i], c.fd, fresh + i * 4096, 4096, BASE + (long long)i * STRIDE);
		cbp[i] = &cbs[i];
	}
	ASSERT_EQ(N, io_submit(ctx, N, cbp));
	ASSERT_EQ(N, reap_events(ctx, evs, N));
	for (i = 0; i < N; i++) {
		EXPECT_EQ(&cbs[i], evs[i].obj);
		EXPECT_EQ(4096, (long)evs[i].res);
		EXPECT_EQ('a' + i, fresh[i * 4096]);
		EXPECT_EQ('a' + i, fresh[i * 4096 + 4095]);
	}
	EXPECT_EQ(1, syslet_stat("threads_peak"));
	io_destroy(ctx);
	munmap(fresh, N * 4096);
	teardown(&c);
}

/*
 * A read that reaches the end of the device returns what is there, short,
 * in line: the end is not a reason to leave it.
 */
TEST(a_read_across_the_end_of_the_device_stays_in_line)
{
	struct line_case c = { .fd = -1, .wfd = -1, .ra_kb = -1 };
	struct iocb cbs[4], *cbp[4];
	struct io_event evs[4];
	unsigned long long size;
	char *tail;
	io_context_t ctx = 0;
	char *blk;
	int fd, i;

	if (access(NULLB, W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	fd = open(NULLB, O_WRONLY | O_DIRECT);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ioctl(fd, BLKGETSIZE64, &size));
	ASSERT_EQ(0, posix_memalign((void **)&blk, 4096, 4096));
	memset(blk, 'z', 4096);
	ASSERT_EQ(4096, pwrite(fd, blk, 4096, size - 4096));
	free(blk);
	close(fd);
	ASSERT_EQ(0, setup(&c));
	/* Anonymous memory of its own, as bufs. */
	tail = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, tail);
	ASSERT_EQ(0, io_setup(4, &ctx));
	for (i = 0; i < 3; i++) {
		io_prep_pread(&cbs[i], c.fd, bufs[i], 4096, BASE + (long long)i * STRIDE);
		cbp[i] = &cbs[i];
	}
	io_prep_pread(&cbs[3], c.fd, tail, 8192, size - 4096);
	cbp[3] = &cbs[3];
	ASSERT_EQ(4, io_submit(ctx, 4, cbp));
	ASSERT_EQ(4, reap_events(ctx, evs, 4));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(&cbs[i], evs[i].obj);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(4096, (long)evs[i].res);
	EXPECT_EQ(4096, (long)evs[3].res);
	EXPECT_EQ('z', tail[0]);
	EXPECT_EQ('z', tail[4095]);
	EXPECT_EQ(0, tail[4096]);
	EXPECT_EQ(1, syslet_stat("threads_peak"));
	io_destroy(ctx);
	teardown(&c);
}


/*
 * A vectored read (read 0 of a batch, 4 KiB of block 0 in `nsegs`
 * segments of bufs[0]) joins the line when every segment is anonymous
 * memory and there are at most 8 (syslet/aio/dest.rs); with more, or with
 * its last segment in a shared mapping of the device (whose fault can wait
 * for anything: kept out even when that page is resident), it takes a
 * thread of its own, and the line another.
 */
static void vec_case(struct __test_metadata *_metadata, int nsegs, int file_seg, long peak)
{
	struct line_case c = { .fd = -1, .wfd = -1, .ra_kb = -1 };
	struct iocb cbs[N], *cbp[N];
	struct io_event evs[N];
	struct iovec iov[16];
	io_context_t ctx = 0;
	size_t each = 4096 / nsegs, at = 0;
	char *last;
	int i;

	if (access(NULLB, W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	ASSERT_EQ(0, setup(&c));
	for (i = 0; i < nsegs; i++) {
		iov[i].iov_base = bufs[0] + at;
		iov[i].iov_len = i == nsegs - 1 ? 4096 - at : each;
		at += iov[i].iov_len;
	}
	last = file_seg ? c.slow : bufs[0] + 4096 - iov[nsegs - 1].iov_len;
	iov[nsegs - 1].iov_base = last;
	/* The file page resident and writable, as the anonymous ones are: a
	 * read wrongly let into the line would then copy without a fault and
	 * stay there (one thread), instead of leaving it at the fault. */
	if (file_seg)
		*(volatile char *)last = 0;
	ASSERT_EQ(0, io_setup(N, &ctx));
	io_prep_preadv(&cbs[0], c.fd, iov, nsegs, BASE);
	cbp[0] = &cbs[0];
	for (i = 1; i < N; i++) {
		io_prep_pread(&cbs[i], c.fd, bufs[i], 4096, BASE + (long long)i * STRIDE);
		cbp[i] = &cbs[i];
	}
	ASSERT_EQ(N, io_submit(ctx, N, cbp));
	ASSERT_EQ(N, reap_events(ctx, evs, N));
	for (i = 0; i < N; i++) {
		int k = (struct iocb *)evs[i].obj - cbs;

		ASSERT_TRUE(k >= 0 && k < N);
		EXPECT_EQ(4096, (long)evs[i].res);
		if (k)
			EXPECT_EQ('a' + k, bufs[k][4095]);
	}
	EXPECT_EQ('a', bufs[0][0]);
	EXPECT_EQ('a', last[iov[nsegs - 1].iov_len - 1]);
	TH_LOG("a read in %d segments%s: %ld async threads at most", nsegs,
	       file_seg ? ", the last in a file mapping" : "", syslet_stat("threads_peak"));
	EXPECT_EQ(peak, syslet_stat("threads_peak"));
	io_destroy(ctx);
	teardown(&c);
}

TEST(a_vectored_read_into_anonymous_memory_joins_the_line)
{
	vec_case(_metadata, 8, 0, 1);
}

TEST(a_read_in_more_than_eight_segments_does_not_join_the_line)
{
	vec_case(_metadata, 9, 0, 2);
}

TEST(a_read_with_a_segment_in_a_file_mapping_does_not_join_the_line)
{
	vec_case(_metadata, 4, 1, 2);
}

TEST_HARNESS_MAIN
