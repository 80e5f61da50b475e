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
 * each) faults on its destination.
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

#define BASE (640LL << 20)	/* away from the other tests' blocks */
#define SLOW_OFF (BASE + (32LL << 20))	/* the first read's destination */
#define SLOW (128 << 10)
#define N 16
#define RA_KB "/sys/block/nullb0/queue/read_ahead_kb"
#define MAX_THREADS "/proc/sys/kernel/syslet_max_threads"

/* The destinations: anonymous memory of their own (a static array's first
 * page can share the file mapping of .data, which keeps a read out of the
 * line). */
static char (*bufs)[4096];

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

	/* The destinations resident, as a program's reused buffers are: a
	 * read in line copies without faults, and one that must fault (even
	 * a first touch) passes the line on. */
	if (!bufs) {
		bufs = mmap(NULL, N * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (bufs == MAP_FAILED) {
			bufs = NULL;
			return -1;
		}
	}
	memset(bufs, 0, N * 4096);
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

/*
 * Submits reads 0 .. n-1 of the blocks in one io_submit() (4 KiB into
 * bufs[i]); read 0 is 128 KiB into the slow destination if `slow`. The
 * call's block plug holds the device's requests until it returns: no read
 * can complete before the last is submitted.
 */
static int submit_batch(struct line_case *c, io_context_t ctx, struct iocb *cbs, int n, int slow)
{
	struct iocb *cbp[N + 1];
	int i;

	for (i = 0; i < n; i++) {
		io_prep_pread(&cbs[i], c->fd, bufs[i], 4096, BASE + (long long)i * STRIDE);
		cbp[i] = &cbs[i];
	}
	if (slow)
		io_prep_pread(&cbs[0], c->fd, c->slow, SLOW, BASE);
	return io_submit(ctx, n, cbp);
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

/* As reap_events(), giving up after `secs` seconds in all. */
static int reap_events_within(io_context_t ctx, struct io_event *evs, int n, int secs)
{
	double end = now_ms() + secs * 1000.0;
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	int got = 0, r;

	while (got < n && now_ms() < end) {
		r = io_getevents(ctx, 1, n - got, evs + got, &ts);
		if (r < 0)
			return got;
		got += r;
	}
	return got;
}

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
 * A userfaultfd pager that reads through aio. The first read of the batch
 * lands in a page the program registers with its userfaultfd right after
 * io_submit() (a hostile program's move: io_submit() let the read into the
 * line because its destination was plain anonymous memory then), and the
 * pager, to fill the page, needs block N - 1 of the same device, read with
 * an aio read of its own: submitted when the fault comes, or before, right
 * after the batch (a prefetch, queued in line behind the read that will
 * fault). The read in line must never wait for the fault while the
 * pager's read waits behind it. It leaves the line before it faults; with
 * no thread to take the line (at the thread limit) it stops there
 * instead, the thread drains the line, the pager's read among them, and
 * the stopped read faults after.
 */
struct pager {
	int uffd, fd;
	char *page;
	io_context_t ctx;	/* the pager's own */
	struct iocb cb;
	int queued;		/* its read was submitted before the fault */
	long res;		/* of the pager's read; -2: no fault came */
	char got;		/* its first byte */
};

static char *pager_data;	/* anonymous, as bufs */

static void *serve_one_fault(void *arg)
{
	struct pager *p = arg;
	struct pollfd pfd = { .fd = p->uffd, .events = POLLIN };
	struct timespec ts = { .tv_sec = 5 };
	struct uffdio_copy copy;
	struct uffd_msg msg;
	struct iocb *cbp = &p->cb;
	struct io_event ev;

	p->res = -2;
	if (poll(&pfd, 1, 3000) != 1)
		return NULL;
	p->res = -1;
	if (read(p->uffd, &msg, sizeof(msg)) != sizeof(msg) || msg.event != UFFD_EVENT_PAGEFAULT)
		return NULL;
	if (!p->queued) {
		io_prep_pread(&p->cb, p->fd, pager_data, 4096, BASE + (long long)(N - 1) * STRIDE);
		if (io_submit(p->ctx, 1, &cbp) != 1)
			return NULL;
	}
	if (io_getevents(p->ctx, 1, 1, &ev, &ts) == 1)
		p->res = ev.res;
	p->got = pager_data[0];
	/* Filled whatever happened: the test fails rather than hangs. */
	copy.dst = (unsigned long)p->page;
	copy.src = (unsigned long)pager_data;
	copy.len = 4096;
	copy.mode = 0;
	ioctl(p->uffd, UFFDIO_COPY, &copy);
	return NULL;
}

/*
 * One round: 1 when the fault came (and was checked), 0 when the read had
 * copied before the page was registered (the round proves nothing), -1 on
 * a failed setup.
 */
static int pager_round(struct __test_metadata *_metadata, struct line_case *c, int queued)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	struct pager p = { .uffd = -1, .queued = queued, .fd = c->fd };
	struct sched_param fifo = { .sched_priority = 1 }, other = { 0 };
	cpu_set_t one, all;
	struct iocb cbs[N - 1], *cbp[N - 1], *pcb = &p.cb;
	struct io_event evs[N - 1];
	io_context_t ctx = 0;
	pthread_t t;
	int i, ok = 1;

	p.uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	p.page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p.uffd < 0 || p.page == MAP_FAILED || ioctl(p.uffd, UFFDIO_API, &api) ||
	    io_setup(1, &p.ctx) || io_setup(N, &ctx))
		return -1;
	if (!pager_data) {
		pager_data = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (pager_data == MAP_FAILED) {
			pager_data = NULL;
			return -1;
		}
	}
	memset(pager_data, 0, 4096);
	for (i = 0; i < N - 1; i++) {
		io_prep_pread(&cbs[i], c->fd, i ? bufs[i] : p.page, 4096, BASE + (long long)i * STRIDE);
		cbp[i] = &cbs[i];
	}
	reg.range.start = (unsigned long)p.page;
	reg.range.len = 4096;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	/* SCHED_FIFO on one CPU, where the async threads it makes run too:
	 * none runs between the submission and the registration (the device
	 * takes 5 ms anyway). */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_getaffinity(0, sizeof(all), &all) || sched_setaffinity(0, sizeof(one), &one) ||
	    sched_setscheduler(0, SCHED_FIFO, &fifo))
		return -1;
	ok &= io_submit(ctx, N - 1, cbp) == N - 1;
	ok &= ioctl(p.uffd, UFFDIO_REGISTER, &reg) == 0;
	if (queued) {
		/* Microseconds after the batch, whose first read waits 5 ms for
		 * the device before it faults: queued behind it. */
		io_prep_pread(&p.cb, c->fd, pager_data, 4096, BASE + (long long)(N - 1) * STRIDE);
		ok &= io_submit(p.ctx, 1, &pcb) == 1;
	}
	sched_setscheduler(0, SCHED_OTHER, &other);
	sched_setaffinity(0, sizeof(all), &all);
	ok &= pthread_create(&t, NULL, serve_one_fault, &p) == 0 && pthread_join(t, NULL) == 0;
	/* A fault the pager did not fill (none came in 3 s, or it failed) is
	 * released by the close (it then faults in a zero page), so that
	 * the reap ends; one it filled is over. */
	close(p.uffd);
	p.uffd = -1;
	ok &= reap_events_within(ctx, evs, N - 1, 5) == N - 1;
	if (ok && p.res == -2) {
		TH_LOG("the read copied before its page was registered: again");
		ok = 0;
	} else if (ok) {
		EXPECT_EQ(4096, p.res);
		EXPECT_EQ('a' + N - 1, p.got);
		for (i = 0; i < N - 1; i++)
			EXPECT_EQ(4096, (long)evs[i].res);
		for (i = 1; i < N - 1; i++)
			EXPECT_EQ('a' + i, bufs[i][0]);
		/* The page the read waited for, as the pager filled it, then
		 * read. */
		EXPECT_EQ('a', p.page[0]);
	} else {
		ok = -1;
	}
	io_destroy(ctx);
	io_destroy(p.ctx);
	if (p.uffd >= 0)
		close(p.uffd);
	munmap(p.page, 4096);
	return ok;
}

static void pager_case(struct __test_metadata *_metadata, long old_max, int max_threads, int queued)
{
	struct line_case c = { .fd = -1, .wfd = -1, .ra_kb = -1 };
	int round, r;

	r = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (r < 0)
		SKIP(return, "no userfaultfd (CONFIG_USERFAULTFD)");
	close(r);
	for (round = 0, r = 0; round < 3 && r == 0; round++) {
		r = setup(&c) ? -1 : 0;
		if (!r && max_threads)
			r = write_number(MAX_THREADS, max_threads) ? -1 : 0;
		if (!r)
			r = pager_round(_metadata, &c, queued);
		write_number(MAX_THREADS, old_max);
		teardown(&c);
	}
	EXPECT_EQ(1, r);
}

/* The bound of threads and the read-ahead a case changes, restored by the
 * parent: even a case the harness killed at its timeout leaves them. */
FIXTURE(pager) {
	long old_max, ra_kb;
};

FIXTURE_SETUP(pager)
{
	if (access(NULLB, W_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	self->old_max = read_number(MAX_THREADS);
	self->ra_kb = read_number(RA_KB);
	ASSERT_GT(self->old_max, 0);
	ASSERT_GE(self->ra_kb, 0);
}

FIXTURE_TEARDOWN_PARENT(pager)
{
	if (self->old_max > 0)
		write_number(MAX_THREADS, self->old_max);
	if (self->ra_kb >= 0)
		write_number(RA_KB, self->ra_kb);
}

TEST_F_TIMEOUT(pager, a_userfaultfd_pager_reading_through_aio_is_not_queued_behind_its_fault, 60)
{
	pager_case(_metadata, self->old_max, 0, 0);
}

TEST_F_TIMEOUT(pager, at_the_thread_limit_the_line_stalls_for_a_pager, 60)
{
	pager_case(_metadata, self->old_max, 1, 0);
}

TEST_F_TIMEOUT(pager, at_the_thread_limit_a_pager_read_queued_behind_the_fault_is_read_first, 60)
{
	pager_case(_metadata, self->old_max, 1, 1);
}

TEST_F_TIMEOUT(pager, a_pager_read_queued_behind_the_fault_is_read_by_the_next_thread, 60)
{
	pager_case(_metadata, self->old_max, 0, 1);
}

TEST_HARNESS_MAIN
