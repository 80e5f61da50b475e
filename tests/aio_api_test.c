// SPDX-License-Identifier: GPL-2.0
/*
 * The libaio calls answer as on stock Linux with kernel.syslet_aio=1:
 * eventfd notification, RWF_NOWAIT, io_getevents()'s min_nr and timeout,
 * io_cancel() of a completed read, aio-max-nr; and the sysctl switch
 * itself takes only 0 and 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libaio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <linux/fs.h>

#include "kselftest_harness.h"
#include "syslet_test.h"
#include "aio_test.h"

TEST(eventfd_is_signalled)
{
	char b[64];
	struct iocb cb, *cbp = &cb;
	struct io_event ev;
	io_context_t ctx = 0;
	uint64_t count = 0;
	int fd, efd;

	ASSERT_EQ(0, set_syslet_aio(1));
	fd = temp_file();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(5, write(fd, "hello", 5));
	efd = eventfd(0, 0);
	ASSERT_GE(efd, 0);
	ASSERT_EQ(0, io_setup(4, &ctx));
	io_prep_pread(&cb, fd, b, sizeof(b), 0);
	io_set_eventfd(&cb, efd);
	ASSERT_EQ(1, io_submit(ctx, 1, &cbp));
	/* Blocks until the completion signals the eventfd. */
	ASSERT_EQ(8, read(efd, &count, 8));
	ASSERT_EQ(1, count);
	ASSERT_EQ(1, io_getevents(ctx, 1, 1, &ev, NULL));
	ASSERT_EQ(5, (long)ev.res);
	ASSERT_EQ(0, memcmp(b, "hello", 5));
	io_destroy(ctx);
	close(efd);
	close(fd);
}

TEST(rwf_nowait_is_answered_at_once)
{
	struct iocb cb, *cbp = &cb;
	struct io_event ev;
	io_context_t ctx = 0;
	char b[16];
	int p[2];

	ASSERT_EQ(0, set_syslet_aio(1));
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, io_setup(4, &ctx));
	/* An empty pipe with RWF_NOWAIT: -EAGAIN, not a blocked request. */
	io_prep_pread(&cb, p[0], b, sizeof(b), 0);
	cb.aio_rw_flags = RWF_NOWAIT;
	ASSERT_EQ(1, io_submit(ctx, 1, &cbp));
	ASSERT_EQ(1, io_getevents(ctx, 1, 1, &ev, NULL));
	ASSERT_EQ(-EAGAIN, (long)ev.res);
	io_destroy(ctx);
	close(p[0]);
	close(p[1]);
}

TEST(sysctl_switches_paths_and_refuses_bad_values)
{
	FILE *f = fopen("/proc/sys/kernel/syslet_aio", "w");

	ASSERT_NE(NULL, f);
	/* Only 0 and 1. */
	fprintf(f, "2\n");
	ASSERT_NE(0, fclose(f));
	ASSERT_EQ(0, set_syslet_aio(0));
	ASSERT_EQ(0, set_syslet_aio(1));
}

TEST(getevents_min_nr_and_timeout)
{
	char b[2][64];
	struct iocb cbs[2], *cbp[2] = { &cbs[0], &cbs[1] };
	struct io_event ev[4];
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	io_context_t ctx = 0;
	double t0;
	int fd, got;

	ASSERT_EQ(0, set_syslet_aio(1));
	fd = temp_file();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(4, write(fd, "abcd", 4));
	ASSERT_EQ(0, io_setup(4, &ctx));
	io_prep_pread(&cbs[0], fd, b[0], 64, 0);
	io_prep_pread(&cbs[1], fd, b[1], 64, 2);
	ASSERT_EQ(2, io_submit(ctx, 2, cbp));
	/* min_nr 2: both events. */
	got = io_getevents(ctx, 2, 4, ev, NULL);
	ASSERT_EQ(2, got);
	/* Nothing in flight: a 50 ms timeout expires with 0 events. */
	t0 = now_ms();
	ASSERT_EQ(0, io_getevents(ctx, 1, 4, ev, &ts));
	ASSERT_GE(now_ms() - t0, 40.0);
	io_destroy(ctx);
	close(fd);
}

TEST(io_cancel_of_a_read_is_einval_as_stock)
{
	char b[64];
	struct iocb cb, *cbp = &cb;
	struct io_event ev;
	io_context_t ctx = 0;
	int fd, r;

	ASSERT_EQ(0, set_syslet_aio(1));
	fd = temp_file();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, io_setup(4, &ctx));
	io_prep_pread(&cb, fd, b, sizeof(b), 0);
	ASSERT_EQ(1, io_submit(ctx, 1, &cbp));
	/* Reads and writes have no cancel method: -EINVAL, or -EINVAL too if
	 * the request already completed (it is no longer active). */
	r = io_cancel(ctx, &cb, &ev);
	ASSERT_EQ(-EINVAL, r);
	ASSERT_EQ(1, io_getevents(ctx, 1, 1, &ev, NULL));
	ASSERT_EQ(0, (long)ev.res);
	io_destroy(ctx);
	close(fd);
}

TEST(aio_max_nr_still_limits_io_setup)
{
	io_context_t ctx = 0;
	long max = 0;
	FILE *f = fopen("/proc/sys/fs/aio-max-nr", "r");

	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%ld", &max));
	fclose(f);
	/* More events than the system allows: -EAGAIN, as stock. */
	ASSERT_EQ(-EAGAIN, io_setup(max + 1, &ctx));
}

TEST_HARNESS_MAIN
