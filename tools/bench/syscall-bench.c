// SPDX-License-Identifier: GPL-2.0
/*
 * Side-by-side cost of one system call, in one boot: getppid (the
 * cheapest real syscall, the baseline), umem_add reading (inc 0) and
 * umem_add adding (inc 1). Each variant runs ROUNDS rounds of ITERS calls,
 * interleaved so that drift hits all variants alike; the best round is
 * reported (ns per call). One JSON record per measurement on stdout:
 *   {"benchmark":"syscall","variant":"...","metric":"ns_per_call","value":N,"unit":"ns"}
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "syslet_test.h"

#define ROUNDS 7

static unsigned long word;

static long call_getppid(void) { return syscall(SYS_getppid); }
static long call_umem_read(void) { return sys_umem_add(&word, 0); }
static long call_umem_add(void) { return sys_umem_add(&word, 1); }

static const struct variant {
	const char *name;
	long (*fn)(void);
} variants[] = {
	{ "getppid", call_getppid },
	{ "umem_add_read", call_umem_read },
	{ "umem_add_add", call_umem_add },
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 20000;
	double best[NVARIANTS];
	unsigned long expect = 0;
	size_t v;
	int r;

	for (v = 0; v < NVARIANTS; v++)
		best[v] = 1e30;
	for (r = 0; r < ROUNDS; r++) {
		for (v = 0; v < NVARIANTS; v++) {
			double t0 = now_ns(), dt;
			long i;

			for (i = 0; i < iters; i++)
				if (variants[v].fn() < 0) {
					fprintf(stderr, "%s failed\n", variants[v].name);
					return 1;
				}
			dt = (now_ns() - t0) / iters;
			if (dt < best[v])
				best[v] = dt;
			if (variants[v].fn == call_umem_add)
				expect += iters;
		}
	}
	/* Each umem_add_add call added one: the calls really happened. */
	if (word != expect) {
		fprintf(stderr, "umem_add counted %lu, expected %lu\n", word, expect);
		return 1;
	}
	for (v = 0; v < NVARIANTS; v++)
		printf("{\"benchmark\":\"syscall\",\"variant\":\"%s\",\"metric\":\"ns_per_call\","
		       "\"value\":%.1f,\"unit\":\"ns\"}\n", variants[v].name, best[v]);
	return 0;
}
