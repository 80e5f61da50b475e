// SPDX-License-Identifier: GPL-2.0
/*
 * io_cancel(), io_destroy() and exit against aio requests that wait on an
 * async thread (Documentation/aio.md, "Cancellation"; syslet/aio/cancel.rs).
 *
 * The slow request: a buffered read of /dev/nullb0 (5 ms per I/O) with the
 * device's read-ahead off, so 1 MiB is 256 reads one after the other,
 * more than a second; an fsync of 128 MiB of dirty pages of the device.
 * Each case is compared with the stock path (kernel.syslet_aio = 0) in
 * the same boot, where the request completes inside io_submit() (or on
 * the system workqueue) and io_cancel() answers -EINVAL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#include "kselftest_harness.h"
#include "syslet_test.h"
#include "aio_test.h"

#define BASE (384LL << 20)	/* away from the other tests' spans */
#define SPAN (1 << 20)		/* one slow read */
#define NSPANS 8
#define RA_KB "/sys/block/nullb0/queue/read_ahead_kb"
#define IDLE_MS "/proc/sys/kernel/syslet_idle_msecs"

/* The byte at device offset `off` of the spans: its 4 KiB block's number. */
static char tag(long long off)
{
	return 'A' + (off >> 12) % 50;
}

FIXTURE(dev)
{
	int fd;
	long ra_kb, idle_ms;
	char *buf;
};

FIXTURE_SETUP(dev)
{
	char *blk;
	long long off;

	self->fd = -1;
	self->buf = NULL;
	self->ra_kb = -1;
	self->idle_ms = -1;
	if (access(NULLB, R_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	ASSERT_EQ(0, set_syslet_aio(1));
	/* The spans' blocks hold their tag, written past the page cache. */
	self->fd = open(NULLB, O_RDWR | O_DIRECT);
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(0, posix_memalign((void **)&blk, 4096, SPAN));
	for (off = 0; off < (long long)NSPANS * SPAN; off += SPAN) {
		for (int i = 0; i < SPAN; i += 4096)
			memset(blk + i, tag(BASE + off + i), 4096);
		ASSERT_EQ(SPAN, pwrite(self->fd, blk, SPAN, BASE + off));
	}
	free(blk);
	close(self->fd);
	/* Read-ahead off, before the open (a file takes the device's
	 * read-ahead when opened): a read waits for one 4 KiB read after
	 * another. */
	self->ra_kb = read_number(RA_KB);
	ASSERT_GE(self->ra_kb, 0);
	ASSERT_EQ(0, write_number(RA_KB, 0));
	self->fd = open(NULLB, O_RDWR);
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(0, ioctl(self->fd, BLKFLSBUF, 0));
	/* Idle async threads stay: one that vanishes was killed. */
	self->idle_ms = read_number(IDLE_MS);
	ASSERT_GT(self->idle_ms, 0);
	ASSERT_EQ(0, write_number(IDLE_MS, 600000));
	self->buf = malloc(SPAN);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(dev)
{
	if (self->ra_kb >= 0)
		write_number(RA_KB, self->ra_kb);
	if (self->idle_ms > 0)
		write_number(IDLE_MS, self->idle_ms);
	if (self->fd >= 0)
		close(self->fd);
	free(self->buf);
	set_syslet_aio(1);
}

/* Whether buf holds the first n bytes of span k. */
static int span_data_ok(const char *buf, long n, int k)
{
	for (long i = 0; i < n; i += 512)
		if (buf[i] != tag(BASE + (long long)k * SPAN + i))
			return 0;
	return 1;
}

/*
 * The async threads now, in ids (at most 64): their count. With idle
 * threads kept (the fixture), one that later vanishes was killed: by a
 * private SIGKILL the engine failed to take back (an async thread exits
 * on a fatal signal).
 */
static int threads_now(pid_t *ids)
{
	return async_thread_ids(ids, 64);
}

/* Whether every thread of ids[n] still exists, 50 ms on. */
static int threads_survive(const pid_t *ids, int n)
{
	char path[64];

	usleep(50 * 1000);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/self/task/%d", ids[i]);
		if (access(path, F_OK))
			return 0;
	}
	return n > 0;
}

/* Waits for one event; returns its res and the wait in *ms. */
static long one_event(io_context_t ctx, double *ms)
{
	struct io_event ev;
	double t0 = now_ms();
	int n = io_getevents(ctx, 1, 1, &ev, NULL);

	*ms = now_ms() - t0;
	return n == 1 ? (long)ev.res : -1000 + n;
}

/*
 * A cold 1 MiB read on an async thread, cancelled 20 ms in: io_cancel()
 * says -EINPROGRESS (a cancellable request, as stock names it) and the
 * event comes at once, -ECANCELED or the bytes read so far, which hold the
 * device's data. The stock path read it all inside io_submit(), where
 * io_cancel() finds nothing to cancel: -EINVAL.
 */
TEST_F_TIMEOUT(dev, cancel_interrupts_a_cold_read, 120)
{
	struct iocb cb, *cbp = &cb;
	struct io_event ev;
	io_context_t ctx = 0;
	double t0, stock_ms, ms;
	pid_t ids[64];
	int nids;
	long res;

	ASSERT_EQ(0, io_setup(4, &ctx));
	ASSERT_EQ(0, set_syslet_aio(0));
	io_prep_pread(&cb, self->fd, self->buf, SPAN, BASE);
	t0 = now_ms();
	ASSERT_EQ(1, io_submit(ctx, 1, &cbp));
	stock_ms = now_ms() - t0;
	ASSERT_EQ(-EINVAL, io_cancel(ctx, &cb, &ev));
	ASSERT_EQ(SPAN, one_event(ctx, &ms));
	ASSERT_TRUE(span_data_ok(self->buf, SPAN, 0));
	/* 256 reads of 5 ms, one after the other. */
	ASSERT_GE(stock_ms, 256 * 5 * 0.9);

	ASSERT_EQ(0, set_syslet_aio(1));
	memset(self->buf, 0, SPAN);
	io_prep_pread(&cb, self->fd, self->buf, SPAN, BASE + SPAN);
	t0 = now_ms();
	ASSERT_EQ(1, io_submit(ctx, 1, &cbp));
	ASSERT_LT(now_ms() - t0, stock_ms / 4);
	usleep(20 * 1000);
	nids = threads_now(ids);
	ASSERT_GE(nids, 1);
	ASSERT_EQ(-EINPROGRESS, io_cancel(ctx, &cb, &ev));
	res = one_event(ctx, &ms);
	TH_LOG("stock read %.0f ms; cancelled read: %ld after %.1f ms", stock_ms, res, ms);
	ASSERT_TRUE(res == -ECANCELED || (res > 0 && res < SPAN));
	if (res > 0)
		ASSERT_TRUE(span_data_ok(self->buf, res, 1));
	ASSERT_LT(ms, stock_ms / 4);
	/* No longer active: a second io_cancel finds nothing. */
	ASSERT_EQ(-EINVAL, io_cancel(ctx, &cb, &ev));
	ASSERT_TRUE(threads_survive(ids, nids));
	io_destroy(ctx);
}

/*
 * io_destroy() with a cold read in flight cancels it instead of waiting
 * for it, and nothing writes into the buffer once it returned.
 */
TEST_F_TIMEOUT(dev, io_destroy_cancels_a_cold_read, 120)
{
	struct iocb cb, *cbp = &cb;
	io_context_t ctx = 0;
	double t0, ms;
	pid_t ids[64];
	int nids;

	ASSERT_EQ(0, io_setup(4, &ctx));
	io_prep_pread(&cb, self->fd, self->buf, SPAN, BASE + 2 * SPAN);
	t0 = now_ms();
	ASSERT_EQ(1, io_submit(ctx, 1, &cbp));
	/* On a thread (stock reads it inside io_submit(): 1.3 s). */
	ASSERT_LT(now_ms() - t0, 256 * 5 / 4);
	usleep(20 * 1000);
	nids = threads_now(ids);
	t0 = now_ms();
	ASSERT_EQ(0, io_destroy(ctx));
	ms = now_ms() - t0;
	TH_LOG("io_destroy with a 1 MiB cold read in flight: %.1f ms", ms);
	/* Without cancellation it waits for the rest of the 1.3 s read. */
	ASSERT_LT(ms, 256 * 5 / 2);
	memset(self->buf, 0x5a, SPAN);
	usleep(50 * 1000);
	for (long i = 0; i < SPAN; i += 4096)
		ASSERT_EQ(0x5a, self->buf[i]);
	ASSERT_TRUE(threads_survive(ids, nids));
}

/*
 * An fsync cannot be interrupted (writeback waits are uninterruptible):
 * io_cancel() completes its request at once with -ECANCELED and the flush
 * goes on without it. The data is on the device afterwards all the same.
 * Stock Linux runs it on the system workqueue, where io_cancel() finds
 * nothing to cancel.
 */
TEST_F_TIMEOUT(dev, cancel_completes_an_fsync_at_once, 120)
{
	struct iocb cb, *cbp = &cb;
	struct io_event ev;
	io_context_t ctx = 0;
	const long dirty = 128 << 20;
	long long at = 512LL << 20;
	double ms;
	char *chunk, *blk;
	int on, r;

	chunk = malloc(SPAN);
	ASSERT_NE(NULL, chunk);
	ASSERT_EQ(0, io_setup(4, &ctx));
	for (on = 0; on <= 1; on++) {
		ASSERT_EQ(0, set_syslet_aio(on));
		memset(chunk, 'f' + on, SPAN);
		for (long off = 0; off < dirty; off += SPAN)
			ASSERT_EQ(SPAN, pwrite(self->fd, chunk, SPAN, at + off));
		io_prep_fsync(&cb, self->fd);
		ASSERT_EQ(1, io_submit(ctx, 1, &cbp));
		r = io_cancel(ctx, &cb, &ev);
		if (!on) {
			ASSERT_EQ(-EINVAL, r);
			ASSERT_EQ(0, one_event(ctx, &ms));
			continue;
		}
		ASSERT_EQ(-EINPROGRESS, r);
		ASSERT_EQ(-ECANCELED, one_event(ctx, &ms));
		TH_LOG("cancelled fsync of %ld MiB: event after %.1f ms", dirty >> 20, ms);
		ASSERT_LT(ms, 100.0);
	}
	/* The flush went on; what it left, fsync() finishes. */
	ASSERT_EQ(0, fsync(self->fd));
	ASSERT_EQ(0, ioctl(self->fd, BLKFLSBUF, 0));
	ASSERT_EQ(0, posix_memalign((void **)&blk, 4096, 4096));
	r = open(NULLB, O_RDONLY | O_DIRECT);
	ASSERT_GE(r, 0);
	for (long off = 0; off < dirty; off += 16 * SPAN) {
		ASSERT_EQ(4096, pread(r, blk, 4096, at + off));
		ASSERT_EQ('g', blk[0]);
	}
	close(r);
	free(blk);
	free(chunk);
	io_destroy(ctx);
}

/*
 * A write of 100 bytes into an uncached block reads the block first
 * (5 ms): it blocks, on an async thread (cancellable) or in the task
 * whose context moved to a spare (the cachemiss handoff, not cancellable).
 * A block device waits for that read uninterruptibly, so the cancel
 * mostly comes too late; either way the write is all or nothing: with
 * -ECANCELED the block is untouched, else it holds the 100 bytes.
 */
TEST_F_TIMEOUT(dev, cancel_of_a_write_is_all_or_nothing, 120)
{
	struct iocb cb, *cbp = &cb;
	struct io_event ev;
	io_context_t ctx = 0;
	char data[100], back[100];
	long long at = BASE + 4 * SPAN + 4096 * 7 + 100;
	double ms;
	long res;
	int r;

	memset(data, '#', sizeof(data));
	ASSERT_EQ(0, io_setup(4, &ctx));
	io_prep_pwrite(&cb, self->fd, data, sizeof(data), at);
	ASSERT_EQ(1, io_submit(ctx, 1, &cbp));
	r = io_cancel(ctx, &cb, &ev);
	/* (-EAGAIN, -EINVAL: it was done already) */
	ASSERT_TRUE(r == -EINPROGRESS || r == -EAGAIN || r == -EINVAL) TH_LOG("io_cancel: %d", r);
	res = one_event(ctx, &ms);
	TH_LOG("cancelled write: io_cancel %d, event %ld after %.1f ms", r, res, ms);
	ASSERT_TRUE(res == (long)sizeof(data) || (res == -ECANCELED && r == -EINPROGRESS));
	ASSERT_EQ(sizeof(back), pread(self->fd, back, sizeof(back), at));
	ASSERT_EQ(res == -ECANCELED ? tag(at) : '#', back[0]);
	io_destroy(ctx);
}

/*
 * Cancels racing the end of short cold reads, 100 rounds: every event is
 * -ECANCELED or the read's own result with the device's data, each
 * io_cancel() -EINPROGRESS, or -EAGAIN/-EINVAL when the read was done; the
 * async threads all live on (none kept a SIGKILL) and serve the next
 * request.
 */
TEST_F_TIMEOUT(dev, cancels_racing_completions, 300)
{
	struct iocb cb, *cbp = &cb;
	struct io_event ev;
	io_context_t ctx = 0;
	int cancelled = 0, done = 0, nids = 0;
	pid_t ids[64];
	double ms;

	ASSERT_EQ(0, io_setup(4, &ctx));
	for (int round = 0; round < 100; round++) {
		int k = round % NSPANS;
		long len = 4096 * (1 + round % 3), res;
		int r;

		if (round % NSPANS == 0)
			ASSERT_EQ(0, ioctl(self->fd, BLKFLSBUF, 0));
		memset(self->buf, 0, len);
		io_prep_pread(&cb, self->fd, self->buf, len, BASE + (long long)k * SPAN + 4096 * (round / NSPANS) * 3);
		ASSERT_EQ(1, io_submit(ctx, 1, &cbp));
		if (!nids)
			nids = threads_now(ids);
		if (round % 4)
			usleep(round % 4 * 2500);
		r = io_cancel(ctx, &cb, &ev);
		ASSERT_TRUE(r == -EINPROGRESS || r == -EAGAIN || r == -EINVAL) TH_LOG("io_cancel: %d", r);
		res = one_event(ctx, &ms);
		if (res == -ECANCELED) {
			ASSERT_EQ(-EINPROGRESS, r);
			cancelled++;
			continue;
		}
		ASSERT_TRUE(res > 0 && res <= len) TH_LOG("round %d: %ld", round, res);
		for (long i = 0; i < res; i += 512)
			ASSERT_EQ(tag(BASE + (long long)k * SPAN + 4096 * (round / NSPANS) * 3 + i), self->buf[i]);
		done++;
	}
	TH_LOG("100 cancels: %d cancelled, %d completed first", cancelled, done);
	ASSERT_GT(cancelled, 0);
	ASSERT_TRUE(threads_survive(ids, nids));
	/* The threads still serve: an uncancelled cold read reads it all. */
	io_prep_pread(&cb, self->fd, self->buf, 8192, BASE + 5 * SPAN + 65536);
	ASSERT_EQ(1, io_submit(ctx, 1, &cbp));
	ASSERT_EQ(8192, one_event(ctx, &ms));
	ASSERT_EQ(tag(BASE + 5 * SPAN + 65536), self->buf[0]);
	io_destroy(ctx);
}

/* Holds a tmpfs file's inode lock for about 1.3 s: a write into it from
 * 256 pages mapped from the device, uncached, each fault a 5 ms read. */
struct holder {
	int fd;
	int tid;	/* a futex word: the holder's TID once it runs */
	const char *src;
};

static void *hold_inode_lock(void *arg)
{
	struct holder *h = arg;

	word_set(&h->tid, gettid());
	if (write(h->fd, h->src, SPAN))
		return NULL;
	return NULL;
}

/*
 * A SIGKILL sent to the one async thread while the engine's private
 * SIGKILL is pending there still kills the process: the real one takes
 * the pending bit over instead of being dropped as already pending, then
 * taken back with the private one. The thread's cancelled write waits
 * for the file's inode lock, uninterruptibly, as long as a second thread
 * holds it (its own write faults its source in from the device), so the
 * private SIGKILL stays pending while the real one comes. The write goes
 * to an async thread because the cachemiss handoff is off for the test
 * (kernel.syslet_handoff=0; with it on, a user thread's blocking write
 * moves its context to a spare instead).
 */
TEST_F_TIMEOUT(dev, a_sigkill_to_the_interrupted_thread_still_kills, 120)
{
	static const char handoff[] = "/proc/sys/kernel/syslet_handoff";
	long was = read_number(handoff);

	ASSERT_LE(0, was);
	ASSERT_EQ(0, write_number(handoff, 0));
	for (int round = 0; round < 3; round++) {
		int status;
		pid_t pid = fork();

		ASSERT_GE(pid, 0);
		if (pid == 0) {
			struct iocb cb, *cbp = &cb;
			struct io_event ev;
			struct holder h;
			io_context_t ctx = 0;
			pthread_t t;
			pid_t ids[64];
			double t0;

			h.fd = temp_file();
			if (h.fd < 0 || io_setup(4, &ctx) || ioctl(self->fd, BLKFLSBUF, 0))
				_exit(2);
			h.src = mmap(NULL, SPAN, PROT_READ, MAP_SHARED, self->fd,
				     BASE + (long long)(7 - round % 2) * SPAN);
			h.tid = 0;
			if (h.src == MAP_FAILED || pthread_create(&t, NULL, hold_inode_lock, &h))
				_exit(3);
			/* The holder sleeps in its write(), the inode locked (2 s at most). */
			if (word_wait(&h.tid, 1, 2000))
				wait_in_syscall(h.tid, __NR_write, 2000);
			/* With the handoff off: on an async thread. */
			io_prep_pwrite(&cb, h.fd, "x", 1, 0);
			if (io_submit(ctx, 1, &cbp) != 1)
				_exit(4);
			/* Which waits for the lock, uninterruptibly (2 s at most). */
			for (t0 = now_ms(); now_ms() - t0 < 2000; usleep(1000))
				if (threads_now(ids) == 1 && thread_state(ids[0]) == 'D')
					break;
			if (threads_now(ids) != 1)
				_exit(5);
			if (io_cancel(ctx, &cb, &ev) != -EINPROGRESS)
				_exit(6);
			syscall(SYS_tgkill, getpid(), ids[0], SIGKILL);
			/* Not a wait for another thread: this process waits to be
			 * killed (3 s at most; the status tells if it was not). */
			sleep(3);
			_exit(0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFSIGNALED(status)) TH_LOG("round %d: status %#x", round, status);
		EXPECT_EQ(SIGKILL, WTERMSIG(status));
	}
	ASSERT_EQ(0, write_number(handoff, was));
}

TEST_HARNESS_MAIN
