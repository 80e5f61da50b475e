// SPDX-License-Identifier: GPL-2.0
/*
 * fsync-writer in the guest: every mode at queue depth 1 and 16 writes
 * exactly the records asked for (read back here, record by record), and
 * each error path (a full tmpfs, a read-only descriptor, RLIMIT_FSIZE)
 * ends with exit status 1 and one line naming the stream, the record,
 * the call and the error. The program runs as a user would run it
 * (fw_main() with an argument vector, in a child process).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "fsync_writer.h"
#include "record.h"

static const char *const modes[] = { "direct", "syslet", "uring" };

/*
 * Runs fsync-writer with the words of `args` (space-separated) in a
 * child: before it runs, the child calls setup(arg) if given. Returns
 * its exit status (or 128 + signal); what it printed, stdout then
 * stderr, is in out.
 */
static int cli(char *out, size_t outlen, void (*setup)(long), long arg, const char *fmt, ...)
{
	char line[1024], *argv[32], *save = NULL;
	int argc = 0, status, mfd;
	va_list ap;
	ssize_t n;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	argv[argc++] = "fsync-writer";
	for (char *w = strtok_r(line, " ", &save); w && argc < 31; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	mfd = memfd_create("out", 0);
	if (mfd < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(mfd, 1);
		dup2(mfd, 2);
		if (setup)
			setup(arg);
		status = fw_main(argc, argv);
		fflush(stdout);
		fflush(stderr);
		_exit(status);
	}
	waitpid(pid, &status, 0);
	n = pread(mfd, out, outlen - 1, 0);
	out[n > 0 ? n : 0] = 0;
	close(mfd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

FIXTURE(fw)
{
	char dir[64];
	char out[4096];
};

FIXTURE_SETUP(fw)
{
	strcpy(self->dir, "/tmp/fw-test-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
}

FIXTURE_TEARDOWN(fw)
{
	char cmd[128];

	umount2(self->dir, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

/* Reads back every stream of a run in dir: exactly records x size. */
static int check_files(struct __test_metadata *_metadata, const char *dir, unsigned int qd,
		       unsigned int records, unsigned int size)
{
	char path[128], why[256];

	for (unsigned int s = 0; s < qd; s++) {
		int fd;

		snprintf(path, sizeof(path), "%s/journal.%u", dir, s);
		fd = open(path, O_RDONLY);
		EXPECT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
		if (fd < 0)
			return -1;
		EXPECT_EQ(0, fw_verify_fd(fd, size, s, records, why, sizeof(why)))
			TH_LOG("%s: %s", path, why);
		close(fd);
	}
	return 0;
}

static void write_and_check(struct __test_metadata *_metadata, char *out, size_t outlen,
			    const char *dir, unsigned int qd, unsigned int records,
			    unsigned int size, unsigned int every)
{
	unsigned int batches = (records + every - 1) / every;
	char want[160];

	for (int m = 0; m < 3; m++) {
		ASSERT_EQ(0, cli(out, outlen, NULL, 0,
				 "--mode=%s --qd %u --records %u --size %u --every %u --dir %s",
				 modes[m], qd, records, size, every, dir)) TH_LOG("%s", out);
		snprintf(want, sizeof(want), "%u writes, %u fsyncs", qd * records, qd * batches);
		ASSERT_NE(NULL, strstr(out, want)) TH_LOG("%s: %s", modes[m], out);
		ASSERT_NE(NULL, strstr(out, "verified")) TH_LOG("%s", out);
		if (m == 1) {
			/* One chain per stream and batch. */
			snprintf(want, sizeof(want), "of %u chains", qd * batches);
			ASSERT_NE(NULL, strstr(out, want)) TH_LOG("%s", out);
		}
		ASSERT_EQ(0, check_files(_metadata, dir, qd, records, size));
	}
}

TEST_F(fw, every_mode_at_qd1_writes_exactly_the_records)
{
	write_and_check(_metadata, self->out, sizeof(self->out), self->dir, 1, 1000, 512, 8);
}

TEST_F(fw, every_mode_at_qd16_writes_exactly_the_records)
{
	write_and_check(_metadata, self->out, sizeof(self->out), self->dir, 16, 200, 512, 8);
}

TEST_F(fw, a_partial_last_batch_and_odd_sizes)
{
	/* 1001 = 143 x 7: no partial batch; 1000 x 7 leaves 6 at the end. */
	write_and_check(_metadata, self->out, sizeof(self->out), self->dir, 3, 1000, 24, 7);
	write_and_check(_metadata, self->out, sizeof(self->out), self->dir, 16, 13, 5000, 1);
	write_and_check(_metadata, self->out, sizeof(self->out), self->dir, 2, 5, 777, 1024);
}

TEST_F(fw, the_verifier_finds_a_wrong_byte_and_a_wrong_length)
{
	char path[128], why[256];
	int fd;

	ASSERT_EQ(0, cli(self->out, sizeof(self->out), NULL, 0,
			 "--mode=direct --records 10 --dir %s", self->dir));
	snprintf(path, sizeof(path), "%s/journal.0", self->dir);
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fw_verify_fd(fd, 512, 0, 10, why, sizeof(why)));
	ASSERT_EQ(-1, fw_verify_fd(fd, 512, 0, 11, why, sizeof(why)));
	ASSERT_NE(NULL, strstr(why, "size 5120, expected 5632")) TH_LOG("%s", why);
	ASSERT_EQ(1, pwrite(fd, "!", 1, 7 * 512 + 100));
	ASSERT_EQ(-1, fw_verify_fd(fd, 512, 0, 10, why, sizeof(why)));
	ASSERT_NE(NULL, strstr(why, "record 7: wrong bytes")) TH_LOG("%s", why);
	ASSERT_NE(NULL, strstr(why, "checksum wrong")) TH_LOG("%s", why);
	close(fd);
}

TEST_F(fw, a_full_tmpfs_is_enospc)
{
	char want[96];

	ASSERT_EQ(0, mount("tmpfs", self->dir, "tmpfs", 0, "size=64k"))
		TH_LOG("mount: %s", strerror(errno));
	for (int m = 0; m < 3; m++) {
		for (unsigned int qd = 1; qd <= 16; qd += 15) {
			ASSERT_EQ(1, cli(self->out, sizeof(self->out), NULL, 0,
					 "--mode=%s --qd %u --records 1000 --dir %s",
					 modes[m], qd, self->dir)) TH_LOG("%s", self->out);
			snprintf(want, sizeof(want), "fsync-writer: %s: stream ", modes[m]);
			ASSERT_NE(NULL, strstr(self->out, want)) TH_LOG("%s", self->out);
			ASSERT_NE(NULL, strstr(self->out, ": pwrite: No space left on device (ENOSPC)"))
				TH_LOG("%s", self->out);
		}
	}
}

static void read_only_fd3(long fd)
{
	dup2((int)fd, 3);
}

TEST_F(fw, a_read_only_descriptor_is_ebadf)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/ro", self->dir);
	fd = open(path, O_RDONLY | O_CREAT, 0644);
	ASSERT_LE(0, fd);
	for (int m = 0; m < 3; m++) {
		ASSERT_EQ(1, cli(self->out, sizeof(self->out), read_only_fd3, fd,
				 "--mode=%s --fd 3", modes[m])) TH_LOG("%s", self->out);
		ASSERT_NE(NULL, strstr(self->out, "stream 0 (descriptor 3), record 0: pwrite: "
					   "Bad file descriptor (EBADF)")) TH_LOG("%s", self->out);
	}
	close(fd);
}

static void small_fsize(long bytes)
{
	struct rlimit r = { bytes, bytes };

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &r))
		_exit(99);
}

TEST_F(fw, rlimit_fsize_is_efbig_with_sigxfsz_ignored)
{
	char want[160];

	for (int m = 0; m < 3; m++) {
		/* 10000 bytes: record 19 (9728..10239) is cut short. */
		ASSERT_EQ(1, cli(self->out, sizeof(self->out), small_fsize, 10000,
				 "--mode=%s --records 100 --dir %s", modes[m], self->dir))
			TH_LOG("%s", self->out);
		snprintf(want, sizeof(want), "stream 0 (%s/journal.0), record 19: pwrite: "
			 "File too large (EFBIG)", self->dir);
		ASSERT_NE(NULL, strstr(self->out, want)) TH_LOG("%s", self->out);
		/* At qd 16 the first stream to fail is reported, at record 19. */
		ASSERT_EQ(1, cli(self->out, sizeof(self->out), small_fsize, 10000,
				 "--mode=%s --qd 16 --records 100 --dir %s", modes[m], self->dir));
		ASSERT_NE(NULL, strstr(self->out, "record 19: pwrite: File too large (EFBIG)"))
			TH_LOG("%s", self->out);
	}
}

TEST_F(fw, bad_usage_is_exit_2_with_a_message)
{
	static const char *const bad[][2] = {
		{ "--mode=bogus", "unknown mode (syslet, direct or uring): 'bogus'" },
		{ "--qd 0", "queue depth must be 1..256: '0'" },
		{ "--qd 257", "queue depth must be 1..256: '257'" },
		{ "--size 10", "record size must be 24..1048576: '10'" },
		{ "--every 0", "fsync interval must be 1..1024: '0'" },
		{ "--records x", "records must be a number above 0: 'x'" },
		{ "--fd 3 --qd 2", "--fd writes one stream: --qd must be 1" },
		{ "extra", "unexpected argument: 'extra'" },
	};

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(2, cli(self->out, sizeof(self->out), NULL, 0, "%s", bad[i][0]));
		ASSERT_NE(NULL, strstr(self->out, bad[i][1])) TH_LOG("%s", self->out);
	}
	/* A directory that does not exist: the file cannot be created. */
	ASSERT_EQ(1, cli(self->out, sizeof(self->out), NULL, 0, "--dir %s/none", self->dir));
	ASSERT_NE(NULL, strstr(self->out, "cannot create")) TH_LOG("%s", self->out);
	ASSERT_NE(NULL, strstr(self->out, "(ENOENT)")) TH_LOG("%s", self->out);
}

TEST_HARNESS_MAIN
