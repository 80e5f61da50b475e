// SPDX-License-Identifier: GPL-2.0
/*
 * Syslets beside io_uring, in one boot (the anchors of issue 4):
 *
 *   nop        getppid directly; an io_uring NOP submitted and reaped
 *              alone; io_uring NOPs in batches of 10 (per op); a one-atom
 *              getppid chain through async_exec()
 *   statx      statx of a cached file directly; through io_uring one at a
 *              time; 16 in flight (per op); a one-atom statx chain
 *   blocking   a read from an empty pipe that another thread fills 10 ms
 *              later, through async_exec(): the time from the call to its
 *              return, and to the completion
 *
 * Best of ROUNDS rounds, variants interleaved; every result is checked.
 * JSON lines on stdout.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <liburing.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "syslet_test.h"

#define ROUNDS 5

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void emit(const char *bench, const char *variant, double value, const char *metric,
		 const char *unit)
{
	printf("{\"benchmark\":\"%s\",\"variant\":\"%s\",\"metric\":\"%s\","
	       "\"value\":%.1f,\"unit\":\"%s\"}\n", bench, variant, metric, value, unit);
}

static void die(const char *what)
{
	fprintf(stderr, "uring-bench: %s\n", what);
	exit(1);
}

static struct io_uring ring;

/* Submits `n` prepared SQEs and reaps `n` CQEs, checking each result. */
static void uring_round(int n, long expect)
{
	struct io_uring_cqe *cqe;
	int i;

	if (io_uring_submit(&ring) != n)
		die("io_uring_submit");
	for (i = 0; i < n; i++) {
		if (io_uring_wait_cqe(&ring, &cqe))
			die("io_uring_wait_cqe");
		if (cqe->res != expect)
			die("an io_uring request failed");
		io_uring_cqe_seen(&ring, cqe);
	}
}

static const char *path = "/tmp/uring-bench-file";

static void *fill_later(void *arg)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int fd = *(int *)arg;

	nanosleep(&ts, NULL);
	if (write(fd, "x", 1) != 1)
		die("write");
	return NULL;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 2000;
	struct syslet_uatom *sring[4] = { 0 }, nop_atom, statx_atom, rd;
	struct async_head_user ahu = RING_HEAD(sring);
	unsigned long dfd = AT_FDCWD, pathp = (unsigned long)path, flags = 0,
		      mask = STATX_BASIC_STATS, stxp, fd, bufp, len = 1;
	struct statx stx, stxs[16];
	double best[8], ret_us = 1e30, done_us = 1e30;
	long r, rr;
	char c;
	int f, i, k, round;

	f = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (f < 0 || write(f, "data", 4) != 4)
		die("create the file");
	close(f);
	if (io_uring_queue_init(64, &ring, 0))
		die("io_uring_queue_init");
	stxp = (unsigned long)&stx;
	atom_set(&nop_atom, 0, __NR_getppid, &r, NULL, NULL);
	atom_set(&statx_atom, 0, __NR_statx, &r, NULL,
		 ATOM_ARGS(&dfd, &pathp, &flags, &mask, &stxp));

	for (i = 0; i < 8; i++)
		best[i] = 1e30;
	for (round = 0; round < ROUNDS; round++) {
		double t;

		t = now_ns();
		for (k = 0; k < iters; k++)
			if (syscall(SYS_getppid) < 0)
				die("getppid");
		best[0] = fmin((now_ns() - t) / iters, best[0]);

		t = now_ns();
		for (k = 0; k < iters; k++) {
			io_uring_prep_nop(io_uring_get_sqe(&ring));
			uring_round(1, 0);
		}
		best[1] = fmin((now_ns() - t) / iters, best[1]);

		t = now_ns();
		for (k = 0; k < iters / 10; k++) {
			for (i = 0; i < 10; i++)
				io_uring_prep_nop(io_uring_get_sqe(&ring));
			uring_round(10, 0);
		}
		best[2] = fmin((now_ns() - t) / (iters / 10 * 10), best[2]);

		t = now_ns();
		for (k = 0; k < iters; k++)
			if (sys_async_exec(&nop_atom, &ahu) != (long)&nop_atom || r != getppid())
				die("async_exec(getppid)");
		best[3] = fmin((now_ns() - t) / iters, best[3]);

		t = now_ns();
		for (k = 0; k < iters; k++)
			if (statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &stx) || stx.stx_size != 4)
				die("statx");
		best[4] = fmin((now_ns() - t) / iters, best[4]);

		t = now_ns();
		for (k = 0; k < iters; k++) {
			io_uring_prep_statx(io_uring_get_sqe(&ring), AT_FDCWD, path, 0,
					    STATX_BASIC_STATS, &stx);
			uring_round(1, 0);
		}
		best[5] = fmin((now_ns() - t) / iters, best[5]);

		t = now_ns();
		for (k = 0; k < iters / 16; k++) {
			for (i = 0; i < 16; i++)
				io_uring_prep_statx(io_uring_get_sqe(&ring), AT_FDCWD, path, 0,
						    STATX_BASIC_STATS, &stxs[i]);
			uring_round(16, 0);
		}
		best[6] = fmin((now_ns() - t) / (iters / 16 * 16), best[6]);

		t = now_ns();
		for (k = 0; k < iters; k++) {
			stx.stx_size = 0;
			if (sys_async_exec(&statx_atom, &ahu) != (long)&statx_atom || r ||
			    stx.stx_size != 4)
				die("async_exec(statx)");
		}
		best[7] = fmin((now_ns() - t) / iters, best[7]);
	}

	/* A blocking atom: a pipe that another thread fills 10 ms later. */
	for (round = 0; round < ROUNDS; round++) {
		unsigned long idx = ahu.user_ring_idx;
		pthread_t th;
		int p[2];
		double t0, t1;

		if (pipe(p))
			die("pipe");
		fd = p[0];
		bufp = (unsigned long)&c;
		atom_set(&rd, 0, __NR_read, &rr, NULL, ATOM_ARGS(&fd, &bufp, &len));
		if (pthread_create(&th, NULL, fill_later, &p[1]))
			die("pthread_create");
		t0 = now_ns();
		if (sys_async_exec(&rd, &ahu) != 0)
			die("the blocking chain did not go asynchronous");
		t1 = now_ns();
		if (sys_async_wait(1, idx, &ahu) != 1 || sring[idx % 4] != &rd || rr != 1)
			die("the blocking chain did not complete once");
		sring[idx % 4] = NULL;
		ahu.user_ring_idx = idx + 1;
		ret_us = fmin((t1 - t0) / 1e3, ret_us);
		done_us = fmin((now_ns() - t0) / 1e3, done_us);
		pthread_join(th, NULL);
		close(p[0]);
		close(p[1]);
	}
	unlink(path);

	emit("nop", "getppid", best[0], "ns_per_op", "ns");
	emit("nop", "io_uring_1", best[1], "ns_per_op", "ns");
	emit("nop", "io_uring_batch10", best[2], "ns_per_op", "ns");
	emit("nop", "async_exec_getppid", best[3], "ns_per_op", "ns");
	emit("statx", "direct", best[4], "ns_per_op", "ns");
	emit("statx", "io_uring_1", best[5], "ns_per_op", "ns");
	emit("statx", "io_uring_16", best[6], "ns_per_op", "ns");
	emit("statx", "async_exec", best[7], "ns_per_op", "ns");
	emit("blocking", "async_exec_return", ret_us, "us", "us");
	emit("blocking", "async_exec_completion", done_us, "us", "us");
	return 0;
}
