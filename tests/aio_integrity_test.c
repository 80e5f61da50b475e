// SPDX-License-Identifier: GPL-2.0
/*
 * What is written through syslet aio (kernel.syslet_aio=1) reads back:
 * a round trip through a file, blocks fsync'ed for the next boot
 * (tools/reboot-check.c), and fio's crc32c verification on the scratch
 * disk (/dev/vda).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libaio.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kselftest_harness.h"
#include "syslet_test.h"
#include "aio_test.h"

/* Submits `n` iocbs and waits for their `n` events, each with result
 * `res`. */
static void submit_all(struct __test_metadata *_metadata, io_context_t ctx, int n,
		       struct iocb **cbp, long res)
{
	struct io_event ev[64];
	int got = 0;

	/* A write that blocks ends its io_submit() early: resubmit the rest. */
	while (got < n) {
		int k = io_submit(ctx, n - got, cbp + got);

		ASSERT_GT(k, 0);
		got += k;
	}
	got = 0;
	while (got < n) {
		int k, m = io_getevents(ctx, 1, n - got > 64 ? 64 : n - got, ev, NULL);

		ASSERT_GT(m, 0);
		for (k = 0; k < m; k++)
			ASSERT_EQ(res, (long)ev[k].res);
		got += m;
	}
}

TEST(buffered_file_io_round_trip)
{
	enum { N = 64, SZ = 16384 };
	struct iocb cbs[N], *cbp[N];
	io_context_t ctx = 0;
	char *buf = malloc(N * SZ), *back = malloc(N * SZ);
	int fd, i;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, set_syslet_aio(1));
	fd = temp_file();
	ASSERT_GE(fd, 0);
	for (i = 0; i < N * SZ; i++)
		buf[i] = (char)(i * 7 + i / SZ);
	ASSERT_EQ(0, io_setup(N, &ctx));
	for (i = 0; i < N; i++) {
		io_prep_pwrite(&cbs[i], fd, buf + i * SZ, SZ, (long long)i * SZ);
		cbp[i] = &cbs[i];
	}
	submit_all(_metadata, ctx, N, cbp, SZ);
	for (i = 0; i < N; i++)
		io_prep_pread(&cbs[i], fd, back + i * SZ, SZ, (long long)i * SZ);
	submit_all(_metadata, ctx, N, cbp, SZ);
	ASSERT_EQ(0, memcmp(buf, back, N * SZ));
	io_destroy(ctx);
	close(fd);
	free(buf);
	free(back);
}

/*
 * Data written through syslet aio and fsync'ed must survive a reboot:
 * 256 blocks of 4 KiB at 3 GiB into the scratch disk, each holding a tag
 * fresh for this run, then IOCB_CMD_FSYNC. The tag goes to the run
 * directory; make test boots the guest a second time and tools/reboot-
 * check.c reads the blocks back (its result is counted like a test).
 */
#define REBOOT_OFFSET (3ULL << 30)
#define REBOOT_BLOCKS 256

TEST(fsynced_writes_for_the_next_boot)
{
	static char blocks[REBOOT_BLOCKS][4096] __attribute__((aligned(4096)));
	struct iocb cbs[REBOOT_BLOCKS], *cbp[REBOOT_BLOCKS], fs, *fsp = &fs;
	struct io_event ev;
	io_context_t ctx = 0;
	unsigned long tag;
	char tagline[64];
	int fd, i;

	if (access("/dev/vda", W_OK) || access("/mnt/run/results", W_OK))
		SKIP(return, "no scratch disk or no run directory");
	ASSERT_EQ(0, set_syslet_aio(1));
	tag = (unsigned long)time(NULL) * 2654435761UL ^ (unsigned long)getpid();
	fd = open("/dev/vda", O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, io_setup(REBOOT_BLOCKS + 1, &ctx));
	for (i = 0; i < REBOOT_BLOCKS; i++) {
		snprintf(blocks[i], sizeof(blocks[i]), "syslet-reboot %lu %d", tag, i);
		io_prep_pwrite(&cbs[i], fd, blocks[i], 4096, REBOOT_OFFSET + (long long)i * 4096);
		cbp[i] = &cbs[i];
	}
	submit_all(_metadata, ctx, REBOOT_BLOCKS, cbp, 4096);
	io_prep_fsync(&fs, fd);
	ASSERT_EQ(1, io_submit(ctx, 1, &fsp));
	ASSERT_EQ(1, io_getevents(ctx, 1, 1, &ev, NULL));
	ASSERT_EQ(0, (long)ev.res);
	snprintf(tagline, sizeof(tagline), "%lu\n", tag);
	i = open("/mnt/run/results/reboot.tag", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	ASSERT_GE(i, 0);
	ASSERT_EQ((ssize_t)strlen(tagline), write(i, tagline, strlen(tagline)));
	close(i);
	io_destroy(ctx);
	close(fd);
}

/*
 * fio writes with crc32c headers and reads everything back: buffered
 * (through the syslet path), and two concurrent O_DIRECT writers. 256 MiB
 * each here (the debug kernel under TCG); make bench does 1 GiB.
 */
static int fio_verify(const char *args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "cd /tmp && fio --filename=/dev/vda --ioengine=libaio --iodepth=16"
		 " --rw=write --bs=64k --verify=crc32c --verify_fatal=1 --do_verify=1"
		 " --output=/tmp/fio-verify.log %s", args);
	/* verify_fatal: fio exits non-zero on the first bad block. */
	return system(cmd);
}

FIXTURE(verify) {};
FIXTURE_SETUP(verify)
{
	if (access("/dev/vda", W_OK) || access("/usr/bin/fio", X_OK))
		SKIP(return, "no scratch disk or no fio");
	ASSERT_EQ(0, set_syslet_aio(1));
}
FIXTURE_TEARDOWN(verify) {}

TEST_F_TIMEOUT(verify, buffered_writes_read_back, 300)
{
	ASSERT_EQ(0, fio_verify("--name=buffered --direct=0 --size=256m"));
}

TEST_F_TIMEOUT(verify, concurrent_direct_writes_read_back, 300)
{
	ASSERT_EQ(0, fio_verify("--name=direct --direct=1 --size=128m --numjobs=2"
				" --offset_increment=128m --group_reporting"));
}

TEST_HARNESS_MAIN
