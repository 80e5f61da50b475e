// SPDX-License-Identifier: GPL-2.0
/*
 * fd-scale-bench: Ingo Molnar's 2007 measurement from the seed thread,
 * for the linear fd space and the private one (fdspace/), side by side
 * in one boot. JSON lines on stdout.
 *
 * With N descriptors open and one hole in the middle of the table (and
 * free room at its end), how much does opening two more cost, as N goes
 * from 1 to 1,000,000? Each measured round takes two descriptors (the
 * linear allocator fills the hole, then the end) and gives them back.
 *
 *   fdscale_dup    two dup(0) vs two fdup(0): the allocator alone
 *   fdscale_open   two open("/dev/null"), without and with O_NONLINEAR
 *   "hot"          rounds back to back; "cold": a 16 MiB buffer is
 *                  walked between rounds to push the tables out of cache
 *   fdscale_threads  fdup()+close() pairs per second, 1 and 2 threads
 *                  (and dup()+close() for the linear space)
 *
 * Best of ROUNDS batches; every call's result is checked.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/fdspace.h>

#define ROUNDS 5
#define REPS 200

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "fd-scale-bench: %s\n", what);
	exit(1);
}

static long fdup(int fd, unsigned int flags)
{
	return syscall(__NR_fdup, fd, flags);
}

static void emit(const char *bench, const char *variant, const char *metric, double v,
		 const char *unit)
{
	printf("{\"benchmark\":\"%s\",\"variant\":\"%s\",\"metric\":\"%s\","
	       "\"value\":%.1f,\"unit\":\"%s\"}\n", bench, variant, metric, v, unit);
	fflush(stdout);
}

static char *cold_buf;

static void chill(void)
{
	for (size_t i = 0; i < (16u << 20); i += 64)
		cold_buf[i]++;
}

/* Two descriptors in the given way; -1 on failure. */
static int take_two(int private, int via_open, long out[2])
{
	for (int i = 0; i < 2; i++) {
		long fd;

		if (via_open) {
			fd = open("/dev/null", O_RDONLY | (private ? O_NONLINEAR : 0));
		} else {
			fd = private ? fdup(0, 0) : dup(0);
		}
		if (fd < 0 || !!(fd & NONLINEAR_FD) != private)
			return -1;
		out[i] = fd;
	}
	return 0;
}

/* Cost of two descriptors with n open and a hole in the middle. */
static void measure(long n, int private, int via_open, int cold, double *best)
{
	long *fds = malloc(sizeof(long) * (n + 1)), two[2];
	long i, hole = n / 2;
	int r, k;

	if (!fds)
		die("malloc");
	for (i = 0; i < n; i++) {
		fds[i] = private ? fdup(0, 0) : dup(0);
		if (fds[i] < 0)
			die("filling the table");
	}
	if (n > 1) {
		close(fds[hole]);
		fds[hole] = -1;
	}
	*best = 1e30;
	for (r = 0; r < ROUNDS; r++) {
		double t = 0;

		for (k = 0; k < REPS; k++) {
			double t0;

			if (cold)
				chill();
			t0 = now_ns();
			if (take_two(private, via_open, two))
				die("taking two descriptors");
			t += now_ns() - t0;
			close(two[0]);
			close(two[1]);
		}
		if (t / REPS < *best)
			*best = t / REPS;
	}
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
}

static atomic_int stop;

static void *churn(void *arg)
{
	long private = (long)arg, n = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		long fd = private ? fdup(0, 0) : dup(0);

		if (fd < 0 || close(fd))
			die("churn");
		n++;
	}
	return (void *)n;
}

/* fdup()+close() (or dup()+close()) pairs per second with `threads`. */
static double throughput(int private, int threads)
{
	pthread_t th[2];
	long total = 0;
	double t0 = now_ns(), t;

	atomic_store(&stop, 0);
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, churn, (void *)(long)private);
	usleep(1000000);
	atomic_store(&stop, 1);
	for (int i = 0; i < threads; i++) {
		void *n;

		pthread_join(th[i], &n);
		total += (long)n;
	}
	t = (now_ns() - t0) / 1e9;
	return total / t;
}

int main(int argc, char **argv)
{
	static const long ns[] = { 1, 10, 100, 1000, 10000, 100000, 1000000 };
	long max_n = argc > 1 ? atol(argv[1]) : 1000000;
	struct rlimit lim = { 1048576, 1048576 };
	char variant[64];
	double best;

	if (setrlimit(RLIMIT_NOFILE, &lim))
		die("RLIMIT_NOFILE");
	cold_buf = malloc(16u << 20);
	if (!cold_buf)
		die("malloc");
	memset(cold_buf, 1, 16u << 20);
	for (unsigned int i = 0; i < sizeof(ns) / sizeof(ns[0]) && ns[i] <= max_n; i++) {
		for (int via_open = 0; via_open < 2; via_open++) {
			for (int cold = 0; cold < 2; cold++) {
				for (int private = 0; private < 2; private++) {
					/* Keep the 1M-fd cold runs short: TCG. */
					measure(ns[i], private, via_open, cold, &best);
					snprintf(variant, sizeof(variant), "%s_%s_N%ld",
						 private ? "private" : "linear",
						 cold ? "cold" : "hot", ns[i]);
					emit(via_open ? "fdscale_open" : "fdscale_dup", variant,
					     "ns_per_two", best, "ns");
				}
			}
		}
	}
	emit("fdscale_threads", "private_1thread", "pairs_per_s", throughput(1, 1), "1/s");
	emit("fdscale_threads", "private_2threads", "pairs_per_s", throughput(1, 2), "1/s");
	emit("fdscale_threads", "linear_1thread", "pairs_per_s", throughput(0, 1), "1/s");
	emit("fdscale_threads", "linear_2threads", "pairs_per_s", throughput(0, 2), "1/s");
	return 0;
}
