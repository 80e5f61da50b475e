// SPDX-License-Identifier: GPL-2.0
/*
 * Syslets beside io_uring, in one boot (the anchors of issue 4):
 *
 *   nop        getppid directly; an io_uring NOP submitted and reaped
 *              alone; io_uring NOPs in batches of 10 (per op); a one-atom
 *              getppid chain through async_exec(); a ten-atom getppid
 *              chain (per atom)
 *   statx      statx of a cached file directly; through io_uring one at a
 *              time; 16 in flight (per op); a one-atom statx chain
 *   blocking   a read from an empty pipe that another thread fills 10 ms
 *              later, through async_exec(): the time from the call to its
 *              return, and to the completion
 *
 * The async_exec() variants run twice: with the cachemiss handoff (the
 * default) and, suffixed "_threads", with kernel.syslet_handoff=0 (the
 * async-thread model). They run in a thread of their own that never used
 * io_uring: a task with an io_uring context does not hand off.
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


static int set_handoff(int on)
{
	FILE *f = fopen("/proc/sys/kernel/syslet_handoff", "w");
	int ok;

	if (!f)
		return -1;
	ok = fprintf(f, "%d\n", on) > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* The async_exec() side of one round, in a thread without io_uring. */
struct syslet_side {
	long iters, nop_iters;
	double nop, chain10, statx, ret_us, done_us;
};

static void *syslet_side(void *arg)
{
	struct syslet_side *s = arg;
	struct syslet_uatom *sring[4] = { 0 }, nop_atom, ten[10], statx_atom, rd;
	struct async_head_user ahu = RING_HEAD(sring);
	unsigned long dfd = AT_FDCWD, pathp = (unsigned long)path, flags = 0,
		      mask = STATX_BASIC_STATS, stxp, fd, bufp, len = 1;
	struct statx stx;
	long r, rr, rets[10], ppid;
	pthread_t th;
	double t, t0, t1;
	int i, k, p[2];
	char c;

	stxp = (unsigned long)&stx;
	atom_set(&nop_atom, 0, __NR_getppid, &r, NULL, NULL);
	for (i = 0; i < 10; i++)
		atom_set(&ten[i], 0, __NR_getppid, &rets[i], i < 9 ? &ten[i + 1] : NULL, NULL);
	atom_set(&statx_atom, 0, __NR_statx, &r, NULL,
		 ATOM_ARGS(&dfd, &pathp, &flags, &mask, &stxp));

	/* Results are checked against this, not a getppid() per round,
	 * which would add a system call to every measured one. */
	ppid = getppid();
	t = now_ns();
	for (k = 0; k < s->nop_iters; k++)
		if (sys_async_exec(&nop_atom, &ahu) != (long)&nop_atom || r != ppid)
			die("async_exec(getppid)");
	s->nop = (now_ns() - t) / s->nop_iters;

	t = now_ns();
	for (k = 0; k < s->nop_iters / 10; k++)
		if (sys_async_exec(&ten[0], &ahu) != (long)&ten[9] || rets[9] != ppid)
			die("async_exec(10 x getppid)");
	s->chain10 = (now_ns() - t) / (s->nop_iters / 10 * 10);

	t = now_ns();
	for (k = 0; k < s->iters; k++) {
		stx.stx_size = 0;
		if (sys_async_exec(&statx_atom, &ahu) != (long)&statx_atom || r ||
		    stx.stx_size != 4)
			die("async_exec(statx)");
	}
	s->statx = (now_ns() - t) / s->iters;

	/* A blocking atom: a pipe that another thread fills 10 ms later. */
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
	if (sys_async_wait(1, 0, &ahu) != 1 || sring[0] != &rd || rr != 1)
		die("the blocking chain did not complete once");
	s->ret_us = (t1 - t0) / 1e3;
	s->done_us = (now_ns() - t0) / 1e3;
	pthread_join(th, NULL);
	close(p[0]);
	close(p[1]);
	return NULL;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 2000;
	/* The NOP-sized loops last a few ms at `iters`: ten times as many
	 * calls make their best-of-ROUNDS steadier (the async-thread model,
	 * at tens of us a call, keeps `iters`). */
	long nop_iters = iters * 10;
	struct statx stx, stxs[16];
	/* [model]: 0 handoff, 1 async threads */
	double best[5], best_uring16 = 1e30, nop[2], chain10[2], sx[2], ret_us[2], done_us[2];
	int f, i, k, m, round;

	f = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (f < 0 || write(f, "data", 4) != 4)
		die("create the file");
	close(f);
	if (io_uring_queue_init(64, &ring, 0))
		die("io_uring_queue_init");

	for (i = 0; i < 5; i++)
		best[i] = 1e30;
	for (m = 0; m < 2; m++)
		nop[m] = chain10[m] = sx[m] = ret_us[m] = done_us[m] = 1e30;
	for (round = 0; round < ROUNDS; round++) {
		double t;

		t = now_ns();
		for (k = 0; k < nop_iters; k++)
			if (syscall(SYS_getppid) < 0)
				die("getppid");
		best[0] = fmin((now_ns() - t) / nop_iters, best[0]);

		t = now_ns();
		for (k = 0; k < nop_iters; k++) {
			io_uring_prep_nop(io_uring_get_sqe(&ring));
			uring_round(1, 0);
		}
		best[1] = fmin((now_ns() - t) / nop_iters, best[1]);

		t = now_ns();
		for (k = 0; k < nop_iters / 10; k++) {
			for (i = 0; i < 10; i++)
				io_uring_prep_nop(io_uring_get_sqe(&ring));
			uring_round(10, 0);
		}
		best[2] = fmin((now_ns() - t) / (nop_iters / 10 * 10), best[2]);

		t = now_ns();
		for (k = 0; k < iters; k++)
			if (statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &stx) || stx.stx_size != 4)
				die("statx");
		best[3] = fmin((now_ns() - t) / iters, best[3]);

		t = now_ns();
		for (k = 0; k < iters; k++) {
			io_uring_prep_statx(io_uring_get_sqe(&ring), AT_FDCWD, path, 0,
					    STATX_BASIC_STATS, &stx);
			uring_round(1, 0);
		}
		best[4] = fmin((now_ns() - t) / iters, best[4]);

		t = now_ns();
		for (k = 0; k < iters / 16; k++) {
			for (i = 0; i < 16; i++)
				io_uring_prep_statx(io_uring_get_sqe(&ring), AT_FDCWD, path, 0,
						    STATX_BASIC_STATS, &stxs[i]);
			uring_round(16, 0);
		}
		best_uring16 = fmin((now_ns() - t) / (iters / 16 * 16), best_uring16);

		for (m = 0; m < 2; m++) {
			/* The async-thread model's NOPs cost tens of us. */
			struct syslet_side s = { .iters = iters, .nop_iters = m ? iters : nop_iters };
			pthread_t th;

			if (set_handoff(!m))
				die("kernel.syslet_handoff");
			if (pthread_create(&th, NULL, syslet_side, &s) || pthread_join(th, NULL))
				die("the syslet side");
			nop[m] = fmin(s.nop, nop[m]);
			chain10[m] = fmin(s.chain10, chain10[m]);
			sx[m] = fmin(s.statx, sx[m]);
			ret_us[m] = fmin(s.ret_us, ret_us[m]);
			done_us[m] = fmin(s.done_us, done_us[m]);
		}
		if (set_handoff(1))
			die("kernel.syslet_handoff");
	}
	unlink(path);

	emit("nop", "getppid", best[0], "ns_per_op", "ns");
	emit("nop", "io_uring_1", best[1], "ns_per_op", "ns");
	emit("nop", "io_uring_batch10", best[2], "ns_per_op", "ns");
	emit("nop", "async_exec_getppid", nop[0], "ns_per_op", "ns");
	emit("nop", "async_exec_chain10", chain10[0], "ns_per_op", "ns");
	emit("nop", "async_exec_getppid_threads", nop[1], "ns_per_op", "ns");
	emit("nop", "async_exec_chain10_threads", chain10[1], "ns_per_op", "ns");
	emit("statx", "direct", best[3], "ns_per_op", "ns");
	emit("statx", "io_uring_1", best[4], "ns_per_op", "ns");
	emit("statx", "io_uring_16", best_uring16, "ns_per_op", "ns");
	emit("statx", "async_exec", sx[0], "ns_per_op", "ns");
	emit("statx", "async_exec_threads", sx[1], "ns_per_op", "ns");
	emit("blocking", "async_exec_return", ret_us[0], "us", "us");
	emit("blocking", "async_exec_completion", done_us[0], "us", "us");
	emit("blocking", "threads_return", ret_us[1], "us", "us");
	emit("blocking", "threads_completion", done_us[1], "us", "us");
	return 0;
}
