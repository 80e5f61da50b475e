// SPDX-License-Identifier: GPL-2.0
/*
 * Cold aio reads in line (Documentation/aio.md, "Cold reads wait in
 * line") and a userfaultfd pager that reads through aio: a read in line
 * never waits for the pager while the pager's own read waits behind it,
 * with threads to spare and at the thread bound (syslet_max_threads 1).
 * Reads of /dev/nullb0 (5 ms per I/O); the shared helpers are aio_line.h.
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
