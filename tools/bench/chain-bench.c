// SPDX-License-Identifier: GPL-2.0
/*
 * The cost of running system calls as a chain through async_exec()
 * against making the same calls directly, side by side in one boot:
 *
 *   getppid1  one getppid                 (direct vs a one-atom chain)
 *   pread1    one pread of a cached page  (direct vs a one-atom chain)
 *   pread10   10 x pread of a cached page (direct vs a ten-atom chain)
 *   atoms     getppid calls per second    (direct vs a 100-atom chain)
 *   fixed     a chain's fixed cost, taken apart: a system call that does
 *             nothing (an unknown number, -ENOSYS), umem_add() (the shim
 *             into Rust and one user-access window), async_exec() of an
 *             atom with an unknown number (the engine's whole path around
 *             a call that does nothing)
 *
 * Each variant runs ROUNDS rounds, interleaved with its rival so drift
 * hits both alike; the best round is reported. Every chain's return value
 * and results are checked, so the calls really ran. JSON lines on stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "syslet_test.h"

#define ROUNDS 7
#define CHAIN 100
#define NBEST 11
/* A number no system call has (the syslet block ends at 615). */
#define NR_UNKNOWN 999

/* Times `n` runs of `body`, divides by `per`, keeps the best in `best`. */
#define BEST_OF(best, n, per, body) do {				\
	double t_ = now_ns();						\
	for (long k_ = 0; k_ < (n); k_++) {				\
		body;							\
	}								\
	t_ = (now_ns() - t_) / (per);					\
	if (t_ < (best))						\
		(best) = t_;						\
} while (0)

static struct syslet_uatom *ring[4];
static struct async_head_user ahu = RING_HEAD(ring);

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void emit(const char *bench, const char *variant, const char *metric,
		 double value, const char *unit)
{
	printf("{\"benchmark\":\"%s\",\"variant\":\"%s\",\"metric\":\"%s\","
	       "\"value\":%.1f,\"unit\":\"%s\"}\n", bench, variant, metric, value, unit);
}

static void die(const char *what)
{
	fprintf(stderr, "chain-bench: %s\n", what);
	exit(1);
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 5000;
	static struct syslet_uatom one, one_pread, ten[10], hundred[CHAIN];
	static long ret[CHAIN];
	static char page[4096], buf[10][4096];
	unsigned long fd, len = 4096, off = 0, bufp[10];
	static struct syslet_uatom unknown;
	static unsigned long counter;
	double best[NBEST];
	char path[] = "/tmp/chain-bench-XXXXXX";
	int f, r, i;

	f = mkstemp(path);
	if (f < 0)
		die("mkstemp");
	memset(page, 'x', sizeof(page));
	if (write(f, page, sizeof(page)) != sizeof(page))
		die("write");
	unlink(path);
	fd = f;

	atom_set(&one, 0, __NR_getppid, &ret[0], NULL, NULL);
	atom_set(&unknown, 0, NR_UNKNOWN, &ret[0], NULL, NULL);
	bufp[0] = (unsigned long)buf[0];
	atom_set(&one_pread, 0, __NR_pread64, &ret[0], NULL,
		 ATOM_ARGS(&fd, &bufp[0], &len, &off));
	for (i = 0; i < 10; i++) {
		bufp[i] = (unsigned long)buf[i];
		atom_set(&ten[i], 0, __NR_pread64, &ret[i], i < 9 ? &ten[i + 1] : NULL,
			 ATOM_ARGS(&fd, &bufp[i], &len, &off));
	}
	for (i = 0; i < CHAIN; i++)
		atom_set(&hundred[i], 0, __NR_getppid, &ret[i],
			 i < CHAIN - 1 ? &hundred[i + 1] : NULL, NULL);

	for (i = 0; i < NBEST; i++)
		best[i] = 1e30;
	for (r = 0; r < ROUNDS; r++) {
		BEST_OF(best[0], iters, iters,
			if (syscall(SYS_getppid) < 0)
				die("getppid"));
		BEST_OF(best[1], iters, iters,
			if (sys_async_exec(&one, &ahu) != (long)&one)
				die("async_exec(getppid)"));

		BEST_OF(best[6], iters, iters,
			if (pread(f, buf[0], 4096, 0) != 4096)
				die("pread"));
		ret[0] = 0;
		buf[0][4095] = 0;
		BEST_OF(best[7], iters, iters,
			if (sys_async_exec(&one_pread, &ahu) != (long)&one_pread)
				die("async_exec(pread)"));
		if (ret[0] != 4096 || buf[0][4095] != 'x')
			die("the chained pread did not read the page");

		BEST_OF(best[2], iters, iters,
			for (i = 0; i < 10; i++)
				if (pread(f, buf[i], 4096, 0) != 4096)
					die("pread"));
		BEST_OF(best[3], iters, iters,
			if (sys_async_exec(&ten[0], &ahu) != (long)&ten[9])
				die("async_exec(10 x pread)"));
		for (i = 0; i < 10; i++)
			if (ret[i] != 4096 || buf[i][4095] != 'x')
				die("a chained pread did not read the page");

		BEST_OF(best[4], iters / 10, iters / 10 * CHAIN,
			for (i = 0; i < CHAIN; i++)
				if (syscall(SYS_getppid) < 0)
					die("getppid"));
		BEST_OF(best[5], iters / 10, iters / 10 * CHAIN,
			if (sys_async_exec(&hundred[0], &ahu) != (long)&hundred[CHAIN - 1])
				die("async_exec(100 x getppid)"));
		if (ret[CHAIN - 1] != getppid())
			die("a chained getppid returned the wrong value");

		/* The fixed cost of a chain, taken apart. */
		BEST_OF(best[8], iters, iters,
			if (syscall(NR_UNKNOWN) != -1 || errno != ENOSYS)
				die("an unknown system call did not fail with ENOSYS"));
		counter = 0;
		BEST_OF(best[9], iters, iters,
			if (sys_umem_add(&counter, 1) <= 0)
				die("umem_add"));
		if (counter < (unsigned long)iters)
			die("umem_add did not add");
		ret[0] = 0;
		BEST_OF(best[10], iters, iters,
			if (sys_async_exec(&unknown, &ahu) != (long)&unknown)
				die("async_exec(unknown number)"));
		if (ret[0] != -ENOSYS)
			die("an atom with an unknown number did not return -ENOSYS");
	}
	emit("getppid1", "direct", "ns_per_op", best[0], "ns");
	emit("getppid1", "async_exec", "ns_per_op", best[1], "ns");
	emit("pread1", "direct", "ns_per_op", best[6], "ns");
	emit("pread1", "async_exec", "ns_per_op", best[7], "ns");
	emit("pread10", "direct", "ns_per_op", best[2], "ns");
	emit("pread10", "async_exec", "ns_per_op", best[3], "ns");
	emit("atoms", "direct", "calls_per_s", 1e9 / best[4], "1/s");
	emit("atoms", "async_exec", "calls_per_s", 1e9 / best[5], "1/s");
	emit("fixed", "enosys_direct", "ns_per_op", best[8], "ns");
	emit("fixed", "umem_add", "ns_per_op", best[9], "ns");
	emit("fixed", "async_exec_unknown_atom", "ns_per_op", best[10], "ns");
	return 0;
}
