// SPDX-License-Identifier: GPL-2.0
/*
 * The guest side of `make profile`: makes one kind of call N times in a
 * loop, so that a TB counter (tbcount.c) running over the whole boot
 * shows, after the boot's own count ("none") is subtracted, what one
 * call runs. Modes:
 *   none     nothing (the baseline)
 *   enosys   syscall(999): the system call entry and exit alone
 *   getppid  a direct getppid
 *   unknown  async_exec() of one atom with an unknown number
 *   chain1   async_exec() of one getppid atom
 *   chain10  async_exec() of ten chained getppid atoms
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syslet_test.h"

#define NR_UNKNOWN 999

int main(int argc, char **argv)
{
	static struct syslet_uatom *ring[4], one, unknown, ten[10];
	static struct async_head_user ahu = RING_HEAD(ring);
	static long ret[10];
	const char *mode;
	long n, i;

	if (argc != 3) {
		fprintf(stderr, "usage: percall none|enosys|getppid|unknown|chain1|chain10 N\n");
		return 2;
	}
	mode = argv[1];
	n = atol(argv[2]);
	atom_set(&one, 0, __NR_getppid, &ret[0], NULL, NULL);
	atom_set(&unknown, 0, NR_UNKNOWN, &ret[0], NULL, NULL);
	for (i = 0; i < 10; i++)
		atom_set(&ten[i], 0, __NR_getppid, &ret[i], i < 9 ? &ten[i + 1] : NULL, NULL);

	if (!strcmp(mode, "none"))
		return 0;
	if (!strcmp(mode, "enosys")) {
		for (i = 0; i < n; i++)
			syscall(NR_UNKNOWN);
	} else if (!strcmp(mode, "getppid")) {
		for (i = 0; i < n; i++)
			syscall(__NR_getppid);
	} else if (!strcmp(mode, "unknown")) {
		for (i = 0; i < n; i++)
			sys_async_exec(&unknown, &ahu);
	} else if (!strcmp(mode, "chain1")) {
		for (i = 0; i < n; i++)
			sys_async_exec(&one, &ahu);
	} else if (!strcmp(mode, "chain10")) {
		for (i = 0; i < n; i++)
			sys_async_exec(&ten[0], &ahu);
	} else {
		fprintf(stderr, "percall: unknown mode %s\n", mode);
		return 2;
	}
	/* The chains never block: every result is stored, nothing posted. */
	if (!strncmp(mode, "chain", 5) && (ret[0] != getppid() || ahu.kernel_ring_idx)) {
		fprintf(stderr, "percall: chain results wrong\n");
		return 1;
	}
	return 0;
}
