// SPDX-License-Identifier: GPL-2.0
/*
 * Random buffered writes with an fsync every 64, the fsyncs asynchronous
 * (issue #15's write target, without fio's engine in the way): fio 3.39's
 * libaio engine makes each fsync with fsync(2), synchronously in its job
 * thread, where its io_uring engine queues IORING_OP_FSYNC beside the
 * writes, so `make bench`'s fio job compares the fsync(2) system call
 * with io_uring's fsync, not the two aio paths. Here both ways queue
 * their fsyncs beside the writes:
 *
 *   stock_libaio   io_submit() with kernel.syslet_aio=0: IOCB_CMD_PWRITE,
 *                  and IOCB_CMD_FSYNC after every 64 writes submitted
 *                  (fs/aio.c runs it on the system workqueue)
 *   syslet_libaio  the same with kernel.syslet_aio=1 (writes inline,
 *                  armed for the cachemiss handoff; the fsync on an async
 *                  thread of the process)
 *   io_uring       IORING_OP_WRITE and IORING_OP_FSYNC, the same pattern
 *
 * 4 KiB writes at random 4 KiB offsets of the first GiB of DEV (default
 * /dev/nullb0), QD 64 counting the fsyncs in flight, SECONDS per run,
 * ROUNDS rounds with the order rotated per round. Each run is a child
 * process of its own (a task that used io_uring does not hand off).
 * Every completion is checked (a write 4096, an fsync 0), and that the
 * syslet variant's fsyncs ran on an async thread (the stock one's not).
 * The three meet at the device's bound here (null_blk, 1 ms): the
 * stock/io_uring ratio, printed too, is the control. JSON lines on
 * stdout: aio_fsync_round per run (writes per second), then aio_fsync
 * the medians, and iops_round_vs_<other>: the median of the per-round
 * ratios.
 *
 *   aio-fsync-bench [SECONDS [ROUNDS [DEV]]]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <liburing.h>
#include <linux/aio_abi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "syslet_test.h"

#define QD 64
#define EVERY 64
#define SPAN (1ULL << 30)
#define MAX_ROUNDS 9

enum { STOCK, SYSLET, URING, NVAR };
static const char *const names[NVAR] = { "stock_libaio", "syslet_libaio", "io_uring" };

static char bufs[QD][4096] __attribute__((aligned(4096)));
static unsigned long long rng = 88172645463325252ULL;

static unsigned long long offset(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng % (SPAN / 4096)) * 4096;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int set_syslet_aio(int on)
{
	return write_number("/proc/sys/kernel/syslet_aio", on);
}

/*
 * Slots: a write uses its slot's buffer until it completes; an fsync
 * takes a slot too (QD counts it). user_data / aio_data: slot + 1, and
 * bit 32 for an fsync.
 */
static int free_slots[QD], nfree;

/* One run through fs/aio.c: writes per second, or -1. */
static double run_libaio(const char *dev, double secs)
{
	static struct iocb cbs[QD];
	struct iocb *batch[QD];
	struct io_event ev[QD];
	aio_context_t ctx = 0;
	long long writes = 0, since = 0;
	int fd = open(dev, O_RDWR), inflight = 0, n = 0, k;
	double t0, end;

	if (fd < 0 || syscall(__NR_io_setup, QD, &ctx))
		return -1;
	t0 = now_s();
	end = t0 + secs;
	while (now_s() < end || inflight) {
		/* batch[0..n) were not taken by the last io_submit() */
		while (now_s() < end && inflight + n < QD && nfree) {
			int s = free_slots[--nfree];
			struct iocb *cb = &cbs[s];

			memset(cb, 0, sizeof(*cb));
			cb->aio_fildes = fd;
			cb->aio_data = s + 1;
			if (since == EVERY) {
				cb->aio_lio_opcode = IOCB_CMD_FSYNC;
				cb->aio_data |= 1ULL << 32;
				since = 0;
			} else {
				cb->aio_lio_opcode = IOCB_CMD_PWRITE;
				cb->aio_buf = (unsigned long)bufs[s];
				cb->aio_nbytes = 4096;
				cb->aio_offset = offset();
				since++;
			}
			batch[n++] = cb;
		}
		if (n) {
			k = syscall(__NR_io_submit, ctx, n, batch);
			if (k < 0)
				return -1;
			/* a write that blocked hands the context off: the rest
			 * is submitted again (fio does the same) */
			memmove(batch, batch + k, (n - k) * sizeof(batch[0]));
			n -= k;
			inflight += k;
		}
		if (!inflight)
			continue;
		k = syscall(__NR_io_getevents, ctx, 1, QD, ev, NULL);
		if (k < 0)
			return -1;
		for (int i = 0; i < k; i++) {
			int fsync = ev[i].data >> 32 & 1;

			if (ev[i].res != (fsync ? 0 : 4096)) {
				fprintf(stderr, "aio-fsync-bench: %s returned %lld\n",
					fsync ? "fsync" : "write", (long long)ev[i].res);
				return -1;
			}
			writes += !fsync;
			free_slots[nfree++] = (int)(ev[i].data & 0xffffffff) - 1;
		}
		inflight -= k;
	}
	/* before the teardown: the last close writes the device's dirty
	 * pages back and drops its cache */
	end = now_s();
	syscall(__NR_io_destroy, ctx);
	close(fd);
	return writes / (end - t0);
}

/* The same through io_uring. */
static double run_uring(const char *dev, double secs)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	long long writes = 0, since = 0;
	int fd = open(dev, O_RDWR), inflight = 0;
	double t0, end;

	if (fd < 0 || io_uring_queue_init(QD * 2, &ring, 0))
		return -1;
	t0 = now_s();
	end = t0 + secs;
	while (now_s() < end || inflight) {
		int queued = 0;

		while (now_s() < end && inflight + queued < QD && nfree) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			int s = free_slots[--nfree];

			if (since == EVERY) {
				io_uring_prep_fsync(sqe, fd, 0);
				io_uring_sqe_set_data64(sqe, (s + 1) | 1ULL << 32);
				since = 0;
			} else {
				io_uring_prep_write(sqe, fd, bufs[s], 4096, offset());
				io_uring_sqe_set_data64(sqe, s + 1);
				since++;
			}
			queued++;
		}
		if (io_uring_submit_and_wait(&ring, inflight + queued ? 1 : 0) < 0)
			return -1;
		inflight += queued;
		while (inflight && !io_uring_peek_cqe(&ring, &cqe)) {
			unsigned long long d = io_uring_cqe_get_data64(cqe);
			int fsync = d >> 32 & 1;

			if (cqe->res != (fsync ? 0 : 4096)) {
				fprintf(stderr, "aio-fsync-bench: io_uring %s returned %d\n",
					fsync ? "fsync" : "write", cqe->res);
				return -1;
			}
			writes += !fsync;
			free_slots[nfree++] = (int)(d & 0xffffffff) - 1;
			io_uring_cqe_seen(&ring, cqe);
			inflight--;
		}
	}
	end = now_s();
	io_uring_queue_exit(&ring);
	close(fd);
	return writes / (end - t0);
}

/* Variant V in a child process of its own: writes per second, or -1. */
static double run(int v, const char *dev, double secs, unsigned long long seed)
{
	int p[2];
	double r = -1;
	pid_t pid;

	if (pipe(p) || (v != URING && set_syslet_aio(v == SYSLET)))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		rng ^= seed;
		for (nfree = 0; nfree < QD; nfree++)
			free_slots[nfree] = nfree;
		r = v == URING ? run_uring(dev, secs) : run_libaio(dev, secs);
		/* the path measured is the one named: the syslet engine ran
		 * the fsyncs on an async thread of this process, stock none */
		if (r > 0 && v != URING && (syslet_stat("threads_peak") > 0) != (v == SYSLET)) {
			fprintf(stderr, "aio-fsync-bench: %s: %ld async threads\n", names[v],
				syslet_stat("threads_peak"));
			r = -1;
		}
		_exit(write(p[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	if (read(p[0], &r, sizeof(r)) != sizeof(r))
		r = -1;
	close(p[0]);
	waitpid(pid, NULL, 0);
	return r;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 5;
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	const char *dev = argc > 3 ? argv[3] : "/dev/nullb0";
	double iops[MAX_ROUNDS][NVAR], m[MAX_ROUNDS];

	if (secs <= 0 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: aio-fsync-bench [SECONDS [ROUNDS(1-%d) [DEV]]]\n", MAX_ROUNDS);
		return 2;
	}
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < NVAR; i++) {
			int v = (i + r) % NVAR;

			iops[r][v] = run(v, dev, secs, (unsigned long long)r * NVAR + v + 1);
			if (iops[r][v] <= 0) {
				fprintf(stderr, "aio-fsync-bench: %s failed\n", names[v]);
				set_syslet_aio(1);
				return 1;
			}
			printf("{\"benchmark\": \"aio_fsync_round\", \"variant\": \"%s\", \"metric\": \"iops\", "
			       "\"value\": %.1f, \"unit\": \"1/s\", \"round\": %d}\n", names[v], iops[r][v], r + 1);
		}
	set_syslet_aio(1);
	for (int v = 0; v < NVAR; v++) {
		for (int r = 0; r < rounds; r++)
			m[r] = iops[r][v];
		printf("{\"benchmark\": \"aio_fsync\", \"variant\": \"%s\", \"metric\": \"iops\", "
		       "\"value\": %.1f, \"unit\": \"1/s\", \"rounds\": %d}\n", names[v], median(m, rounds), rounds);
		for (int o = 0; o < NVAR; o++) {
			if (o == v)
				continue;
			for (int r = 0; r < rounds; r++)
				m[r] = iops[r][v] / iops[r][o];
			/* sorted by median(): m[0] the least, m[rounds - 1] the most */
			double med = median(m, rounds);
			const char *sfx[3] = { "", "_min", "_max" };
			double val[3] = { med, m[0], m[rounds - 1] };

			for (int j = 0; j < 3; j++)
				printf("{\"benchmark\": \"aio_fsync\", \"variant\": \"%s\", \"metric\": "
				       "\"iops_round_vs_%s%s\", \"value\": %.4f, \"unit\": \"ratio\", "
				       "\"rounds\": %d}\n", names[v], names[o], sfx[j], val[j], rounds);
		}
	}
	return 0;
}
