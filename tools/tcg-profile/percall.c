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
 *   aio_stock, aio_syslet, uring
 *            a 4 KiB read of cached data (16 pages of /dev/vda, read
 *            once first), submitted and reaped alone: io_submit() and
 *            io_getevents() with kernel.syslet_aio 0 and 1, and io_uring
 *            (one io_uring_enter() submitting and waiting) - issue #15's
 *            cached QD 1 job, counted exactly
 *   wr_stock, wr_syslet
 *            a 4 KiB buffered write over one of the same cached pages
 *            (opened for writing), submitted and reaped alone: the stock
 *            write in io_submit(), and the syslet path's (armed for the
 *            cachemiss handoff, which a write to a cached page never
 *            takes) - what arming one write costs
 *   cold_stock, cold_syslet, cold_uring
 *            the same reads with the device's page cache dropped first
 *            (BLKFLSBUF: the bench kernel has no fadvise), pages 1 MiB
 *            apart: a read from the device, through the stock path, an
 *            async thread, and io_uring (the drop is counted in each)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <liburing.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "syslet_test.h"

#define NR_UNKNOWN 999
#define CACHED "/dev/vda"
enum { PAGES = 16 };

static char buf[4096] __attribute__((aligned(4096)));

/* Where read i reads: a cached run of pages, or cold pages far apart. */
static long long offset(long i, int cold)
{
	return (i % PAGES) * (cold ? 1 << 20 : 4096);
}

/* CACHED, open (a block device's cache goes with its last opener), its
 * pages cached unless cold: the descriptor, or -1. */
static int cached_fd(int cold, int flags)
{
	static char warm[PAGES * 4096];
	int fd = open(CACHED, flags);

	if (fd < 0 || (!cold && pread(fd, warm, sizeof(warm), 0) != sizeof(warm))) {
		perror("percall: " CACHED);
		return -1;
	}
	return fd;
}

/* Before read i: a cold one's page leaves the page cache. */
static int prepare(int fd, long i, int cold)
{
	(void)i;
	return cold ? ioctl(fd, BLKFLSBUF, 0) : 0;
}

static int set_aio(int on)
{
	return write_number("/proc/sys/kernel/syslet_aio", on);
}

/* N reads (or writes) through fs/aio.c, each submitted and reaped alone. */
static int aio_calls(long n, int syslet, int cold, int write)
{
	aio_context_t ctx = 0;
	struct iocb cb, *cbs[1] = { &cb };
	struct io_event ev;
	int fd = cached_fd(cold, write ? O_RDWR : O_RDONLY);

	if (fd < 0 || set_aio(syslet) || syscall(__NR_io_setup, 1, &ctx))
		return -1;
	for (long i = 0; i < n; i++) {
		memset(&cb, 0, sizeof(cb));
		cb.aio_lio_opcode = write ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
		cb.aio_fildes = fd;
		cb.aio_buf = (unsigned long)buf;
		cb.aio_nbytes = sizeof(buf);
		cb.aio_offset = offset(i, cold);
		if (prepare(fd, i, cold) || syscall(__NR_io_submit, ctx, 1, cbs) != 1 ||
		    syscall(__NR_io_getevents, ctx, 1, 1, &ev, NULL) != 1 || ev.res != sizeof(buf))
			return -1;
	}
	return syscall(__NR_io_destroy, ctx);
}

/* The same reads through io_uring: one io_uring_enter() per read. */
static int uring_reads(long n, int cold)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	int fd = cached_fd(cold, O_RDONLY);

	if (fd < 0 || io_uring_queue_init(4, &ring, 0))
		return -1;
	for (long i = 0; i < n; i++) {
		if (prepare(fd, i, cold))
			return -1;
		io_uring_prep_read(io_uring_get_sqe(&ring), fd, buf, sizeof(buf), offset(i, cold));
		if (io_uring_submit_and_wait(&ring, 1) != 1 || io_uring_peek_cqe(&ring, &cqe) ||
		    cqe->res != sizeof(buf))
			return -1;
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
	return 0;
}

int main(int argc, char **argv)
{
	static struct syslet_uatom *ring[4], one, unknown, ten[10];
	static struct async_head_user ahu = RING_HEAD(ring);
	static long ret[10];
	const char *mode;
	long n, i;

	if (argc != 3) {
		fprintf(stderr, "usage: percall none|enosys|getppid|unknown|chain1|chain10|"
			"aio_stock|aio_syslet|uring|wr_stock|wr_syslet|cold_stock|cold_syslet|cold_uring N\n");
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
	} else if (!strcmp(mode, "aio_stock") || !strcmp(mode, "aio_syslet") ||
		   !strcmp(mode, "cold_stock") || !strcmp(mode, "cold_syslet")) {
		if (aio_calls(n, !!strstr(mode, "syslet"), mode[0] == 'c', 0)) {
			fprintf(stderr, "percall: %s failed\n", mode);
			return 1;
		}
	} else if (!strcmp(mode, "wr_stock") || !strcmp(mode, "wr_syslet")) {
		if (aio_calls(n, !!strstr(mode, "syslet"), 0, 1)) {
			fprintf(stderr, "percall: %s failed\n", mode);
			return 1;
		}
	} else if (!strcmp(mode, "uring") || !strcmp(mode, "cold_uring")) {
		if (uring_reads(n, mode[0] == 'c')) {
			fprintf(stderr, "percall: %s failed\n", mode);
			return 1;
		}
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
