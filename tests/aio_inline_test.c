// SPDX-License-Identifier: GPL-2.0
/*
 * Buffered aio reads of cached data complete inside io_submit(), as on
 * stock Linux, with kernel.syslet_aio=1: a program that polls right after
 * submitting (io_getevents() with min_nr 0 and a zero timeout) finds the
 * event there, and only a read that must wait for the device continues
 * on an async thread (syslet/aio.rs, read_nowait). Each case runs both ways
 * in one process: syslet_aio=0 (the stock path) and =1, and the answers
 * must be the same. The files are on /tmp, tmpfs, which the engine leaves
 * to the stock path; the device cases read /dev/nullb0, which honours
 * IOCB_NOWAIT and takes the inline try; a cold read of it is not tried
 * inline at all (it would wait for the device inode's lock).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "syslet_test.h"
#include "aio_test.h"

/* One read of len bytes at off; polls once at once (min_nr 0, zero
 * timeout). Returns how many events that poll saw (0 or 1); *res is the
 * read's result (waited for if the poll saw nothing). */
static int read_and_poll(struct __test_metadata *_metadata, int fd, void *buf, long len,
			 long long off, long *res)
{
	struct timespec zero = { 0, 0 };
	struct iocb cb, *cbp = &cb;
	struct io_event ev;
	io_context_t ctx = 0;
	int seen;

	EXPECT_EQ(0, io_setup(4, &ctx));
	io_prep_pread(&cb, fd, buf, len, off);
	EXPECT_EQ(1, io_submit(ctx, 1, &cbp));
	seen = io_getevents(ctx, 0, 1, &ev, &zero);
	EXPECT_GE(seen, 0);
	if (seen == 0)
		EXPECT_EQ(1, io_getevents(ctx, 1, 1, &ev, NULL));
	*res = (long)ev.res;
	io_destroy(ctx);
	return seen;
}

/* A file of `size` bytes of a known pattern, read once (cached). */
static int cached_file(size_t size)
{
	char *b = malloc(size);
	int fd = temp_file();
	size_t i;

	if (!b || fd < 0)
		return -1;
	for (i = 0; i < size; i++)
		b[i] = 'a' + i % 23;
	if (pwrite(fd, b, size, 0) != (ssize_t)size || pread(fd, b, size, 0) != (ssize_t)size)
		fd = -1;
	free(b);
	return fd;
}

static int pattern_ok(const char *b, long long off, long n)
{
	for (long i = 0; i < n; i++)
		if (b[i] != 'a' + (off + i) % 23)
			return 0;
	return 1;
}

/* len cached bytes at off of fd, read both ways: each sees the event at
 * once, with the result `want` and the pattern's data. */
static void both_paths(struct __test_metadata *_metadata, int fd, long len, long long off, long want)
{
	static char buf[2][65536];
	long res[2];
	int path;

	for (path = 0; path < 2; path++) {
		ASSERT_EQ(0, set_syslet_aio(path));
		memset(buf[path], 0, sizeof(buf[path]));
		EXPECT_EQ(1, read_and_poll(_metadata, fd, buf[path], len, off, &res[path]))
			TH_LOG("syslet_aio=%d: the event was not there right after io_submit()", path);
		EXPECT_EQ(want, res[path]) TH_LOG("syslet_aio=%d", path);
		if (res[path] > 0)
			EXPECT_TRUE(pattern_ok(buf[path], off, res[path])) TH_LOG("syslet_aio=%d: data", path);
	}
	ASSERT_EQ(0, set_syslet_aio(1));
}

/* len bytes at off of a cached file of size bytes. */
static void cached_case(struct __test_metadata *_metadata, size_t size, long len, long long off,
			long want)
{
	int fd = cached_file(size);

	ASSERT_GE(fd, 0);
	both_paths(_metadata, fd, len, off, want);
	close(fd);
}

TEST(cached_read_completes_inside_io_submit)
{
	cached_case(_metadata, 65536, 4096, 8192, 4096);
}

TEST(cached_read_up_to_eof_is_short_inside_io_submit)
{
	cached_case(_metadata, 1000, 4096, 0, 1000);
}

TEST(cached_read_past_eof_is_zero_inside_io_submit)
{
	cached_case(_metadata, 1000, 4096, 8192, 0);
}

/*
 * The device's bytes at [base, base + 64 KiB) get the pattern (written
 * past the page cache), then are read once through a buffered fd, which
 * is returned (-1 on failure): they are cached.
 */
static int cached_device_range(long long base)
{
	static char buf[65536];
	char *blk;
	int fd, ok;

	fd = open(NULLB, O_WRONLY | O_DIRECT);
	if (fd < 0 || posix_memalign((void **)&blk, 4096, 65536))
		return -1;
	for (long i = 0; i < 65536; i++)
		blk[i] = 'a' + (base + i) % 23;
	ok = pwrite(fd, blk, 65536, base) == 65536;
	close(fd);
	free(blk);
	fd = ok ? open(NULLB, O_RDONLY) : -1;
	if (fd >= 0 && pread(fd, buf, 65536, base) != 65536) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * The same on the block device (tmpfs, where the files above are, runs
 * the stock way: it has no FMODE_NOWAIT): the device's bytes at
 * [base, base + 64 KiB) get the pattern, are read once (cached), then
 * len bytes at off are read both ways.
 */
static void cached_device_case(struct __test_metadata *_metadata, long long base, long len,
			       long long off, long want)
{
	int fd;

	if (access(NULLB, R_OK | W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	fd = cached_device_range(base);
	ASSERT_GE(fd, 0);
	both_paths(_metadata, fd, len, off, want);
	close(fd);
}

static long long device_size(void)
{
	unsigned long long size = 0;
	int fd = open(NULLB, O_RDONLY);

	if (fd >= 0 && ioctl(fd, BLKGETSIZE64, &size))
		size = 0;
	if (fd >= 0)
		close(fd);
	return size;
}

TEST(cached_device_read_completes_inside_io_submit)
{
	cached_device_case(_metadata, 8 << 20, 4096, (8 << 20) + 8192, 4096);
}

/* The device's last 64 KiB cached; 4 KiB read at its size + from_end. */
static void device_end_case(struct __test_metadata *_metadata, long long from_end, long want)
{
	long long size;

	if (access(NULLB, R_OK | W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	size = device_size();
	ASSERT_GT(size, 65536);
	cached_device_case(_metadata, size - 65536, 4096, size + from_end, want);
}

TEST(cached_device_read_up_to_its_end_is_short_inside_io_submit)
{
	device_end_case(_metadata, -1000, 1000);
}

TEST(device_read_past_its_end_is_zero_inside_io_submit)
{
	device_end_case(_metadata, 8192, 0);
}

/*
 * Cached data into a buffer none of whose pages is resident yet (fresh
 * anonymous memory): the inline try may not fault it in, so the read
 * goes to an async thread, which does; the result and the data are
 * stock's.
 */
TEST(cached_read_into_an_untouched_buffer_returns_the_data)
{
	const long long base = 12 << 20;
	long res[2];
	char *dst;
	int fd, path;

	if (access(NULLB, R_OK | W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	fd = cached_device_range(base);
	ASSERT_GE(fd, 0);
	for (path = 0; path < 2; path++) {
		ASSERT_EQ(0, set_syslet_aio(path));
		dst = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, dst);
		read_and_poll(_metadata, fd, dst, 65536, base, &res[path]);
		EXPECT_EQ(65536, res[path]) TH_LOG("syslet_aio=%d", path);
		EXPECT_TRUE(pattern_ok(dst, base, 65536)) TH_LOG("syslet_aio=%d: data", path);
		munmap(dst, 65536);
	}
	ASSERT_EQ(0, set_syslet_aio(1));
	close(fd);
}

/*
 * A read whose first half is cached and second half is not: the cached
 * part is copied inside io_submit() and the rest read on an async thread;
 * the one event counts every byte, with the device's data (fill below),
 * as the stock path's does.
 */
#define RA_KB "/sys/block/nullb0/queue/read_ahead_kb"

TEST(partly_cached_read_returns_every_byte)
{
	static char buf[2][65536];
	const long long off = 8 << 20;
	char *blk;
	long res[2], ra_kb;
	int path, fd, w;

	if (access(NULLB, R_OK | W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	ra_kb = read_number(RA_KB);
	ASSERT_GE(ra_kb, 0);
	/* the pattern, written past the page cache */
	w = open(NULLB, O_WRONLY | O_DIRECT);
	ASSERT_GE(w, 0);
	ASSERT_EQ(0, posix_memalign((void **)&blk, 4096, 65536));
	for (long i = 0; i < 65536; i++)
		blk[i] = 'a' + (off + i) % 23;
	ASSERT_EQ(65536, pwrite(w, blk, 65536, off));
	close(w);
	free(blk);
	for (path = 0; path < 2; path++) {
		ASSERT_EQ(0, set_syslet_aio(path));
		drop_caches();
		fd = open(NULLB, O_RDONLY);
		ASSERT_GE(fd, 0);
		/* no read-ahead: the first 32 KiB cached, the rest not */
		ASSERT_EQ(0, write_number(RA_KB, 0));
		ASSERT_EQ(32768, pread(fd, buf[path], 32768, off));
		ASSERT_EQ(0, write_number(RA_KB, ra_kb));
		memset(buf[path], 0, sizeof(buf[path]));
		read_and_poll(_metadata, fd, buf[path], 65536, off, &res[path]);
		EXPECT_EQ(65536, res[path]) TH_LOG("syslet_aio=%d", path);
		EXPECT_TRUE(pattern_ok(buf[path], off, 65536)) TH_LOG("syslet_aio=%d: data", path);
		close(fd);
	}
	ASSERT_EQ(0, set_syslet_aio(1));
}

/*
 * A cold read is not tried inline (syslet_page_cached() says no first):
 * the try would answer -EAGAIN, but blkdev_read_iter() takes the device
 * inode's lock on its way, which BLKZEROOUT holds for as long as it
 * writes. Thread zeroes ZERO_MB MiB of the device's second half; the
 * main thread, 20 ms into it, submits one cold read of block 0. Stock
 * waits in io_submit() for the zeroout (it reads there); the syslet path
 * returns at once, and the read's thread waits instead. Without the check
 * (session 21's first version) io_submit() waited as stock does.
 */
struct zeroout {
	int fd;
	unsigned long long range[2];
	volatile int started;
	double ms;
	int ret;
};

static void *zero_range(void *arg)
{
	struct zeroout *z = arg;
	double t0 = now_ms();

	z->started = 1;
	z->ret = ioctl(z->fd, BLKZEROOUT, z->range);
	z->ms = now_ms() - t0;
	return NULL;
}

/* io_submit()'s time for one cold read of block 0 during a zeroout of
 * mb MiB; *zero_ms is the zeroout's. */
static double submit_during_zeroout(struct __test_metadata *_metadata, int syslet, int mb,
				    double *zero_ms)
{
	static char buf[4096];
	struct zeroout z = { .range = { 512ull << 20, (unsigned long long)mb << 20 } };
	struct iocb cb, *cbp = &cb;
	struct io_event ev;
	io_context_t ctx = 0;
	pthread_t t;
	double t0, ms;
	int fd;

	EXPECT_EQ(0, set_syslet_aio(syslet));
	drop_caches();
	fd = open(NULLB, O_RDONLY);
	z.fd = open(NULLB, O_WRONLY);
	EXPECT_GE(fd, 0);
	EXPECT_GE(z.fd, 0);
	EXPECT_EQ(0, io_setup(4, &ctx));
	memset(buf, 0, sizeof(buf));
	io_prep_pread(&cb, fd, buf, sizeof(buf), 0);
	EXPECT_EQ(0, pthread_create(&t, NULL, zero_range, &z));
	while (!z.started)
		usleep(100);
	usleep(20000);
	t0 = now_ms();
	EXPECT_EQ(1, io_submit(ctx, 1, &cbp));
	ms = now_ms() - t0;
	EXPECT_EQ(1, io_getevents(ctx, 1, 1, &ev, NULL));
	EXPECT_EQ(4096, (long)ev.res);
	EXPECT_EQ('a', buf[0]);	/* fill_device()'s block 0 */
	pthread_join(t, NULL);
	EXPECT_EQ(0, z.ret);
	*zero_ms = z.ms;
	io_destroy(ctx);
	close(z.fd);
	close(fd);
	return ms;
}

TEST(cold_device_read_does_not_wait_in_io_submit_for_the_inode_lock)
{
	double stock, syslet, zs, zy;
	int mb;

	if (access(NULLB, W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	ASSERT_EQ(0, fill_device());
	/* The async thread exists before the measured read. */
	submit_during_zeroout(_metadata, 1, 16, &zy);
	/* Zeroouts long enough that 20 ms into one is well inside it. */
	for (mb = 64;; mb *= 2) {
		stock = submit_during_zeroout(_metadata, 0, mb, &zs);
		syslet = submit_during_zeroout(_metadata, 1, mb, &zy);
		if ((zs >= 100 && zy >= 100) || mb >= 512)
			break;
	}
	TH_LOG("BLKZEROOUT of %d MiB: %.1f / %.1f ms; io_submit of a cold read during it: "
	       "stock %.1f ms, syslet %.1f ms", mb, zs, zy, stock, syslet);
	ASSERT_GE(zs, 60.0);
	ASSERT_GE(zy, 60.0);
	/* Stock reads inside io_submit(), after the zeroout releases the lock. */
	ASSERT_GE(stock, (zs - 20) / 2);
	ASSERT_LT(syslet, (zy - 20) / 4);
}

/*
 * A cold read's device I/O starts inside io_submit(), as a stock read's
 * does, not when its async thread first runs (syslet/aio.rs, start_io():
 * a cold read at queue depth 1 ran at 0.89x stock when the thread started
 * it). The test runs SCHED_FIFO on one CPU, so the async thread (made by
 * this process, with its policy and CPU) cannot run before the test
 * thread sleeps: the device's reads in flight right after io_submit()
 * returned (the device takes 5 ms) are the ones io_submit() started.
 * Before start_io() there were none; stock has none either, having
 * waited for its read inside io_submit() (its event is there at once).
 * The block is first read and dropped: a read of its page still in
 * flight from before (an earlier program's, seen after the line tests
 * ran first) would leave the page in the cache, not up to date, and
 * start_io() rightly starts nothing for a page being read.
 */
static int reads_in_flight(void)
{
	int reads = -1, writes;
	FILE *f = fopen("/sys/block/nullb0/inflight", "r");

	if (f && fscanf(f, "%d %d", &reads, &writes) != 2)
		reads = -1;
	if (f)
		fclose(f);
	return reads;
}

TEST(cold_device_read_starts_its_io_inside_io_submit)
{
	static char buf[4096];
	struct sched_param sp = { .sched_priority = 1 };
	struct timespec zero = { 0, 0 };
	struct iocb cb, *cbp = &cb;
	struct io_event ev;
	io_context_t ctx;
	cpu_set_t one;
	long long off;
	long ra_kb;
	int fd, syslet, inflight, polled;

	if (access(NULLB, W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	ASSERT_EQ(0, fill_device());
	/* Read-ahead off: the stock read's window must not reach the syslet
	 * read's block (its pages, read or being read, would be cached or in
	 * flight before the syslet read is submitted). */
	ra_kb = read_number(RA_KB);
	ASSERT_GE(ra_kb, 0);
	ASSERT_EQ(0, write_number(RA_KB, 0));
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	ASSERT_EQ(0, sched_setscheduler(0, SCHED_FIFO, &sp));
	for (syslet = 0; syslet <= 1; syslet++) {
		off = (long long)(2 + 12 * syslet) * STRIDE;	/* blocks 2 and 14 */
		ASSERT_EQ(0, set_syslet_aio(syslet));
		fd = open(NULLB, O_RDONLY);
		ASSERT_GE(fd, 0);
		/* waits for any read of the page in flight; then dropped */
		ASSERT_EQ(sizeof(buf), pread(fd, buf, sizeof(buf), off));
		drop_caches();
		memset(buf, 0, sizeof(buf));
		ctx = 0;
		ASSERT_EQ(0, io_setup(4, &ctx));
		ASSERT_EQ(0, reads_in_flight());
		io_prep_pread(&cb, fd, buf, sizeof(buf), off);
		ASSERT_EQ(1, io_submit(ctx, 1, &cbp));
		inflight = reads_in_flight();
		polled = io_getevents(ctx, 0, 1, &ev, &zero);
		TH_LOG("syslet_aio=%d: reads in flight after io_submit(): %d, event: %d",
		       syslet, inflight, polled);
		if (syslet) {
			EXPECT_EQ(1, inflight);
		} else {
			EXPECT_EQ(0, inflight);
			EXPECT_EQ(1, polled);	/* read inside io_submit() */
		}
		if (polled == 0)
			EXPECT_EQ(1, io_getevents(ctx, 1, 1, &ev, NULL));
		EXPECT_EQ(4096, (long)ev.res);
		EXPECT_EQ('a' + 2 + 12 * syslet, buf[0]);
		io_destroy(ctx);
		close(fd);
	}
	EXPECT_EQ(0, write_number(RA_KB, ra_kb));
	ASSERT_EQ(0, set_syslet_aio(1));
}

TEST_HARNESS_MAIN
