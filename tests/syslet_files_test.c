// SPDX-License-Identifier: GPL-2.0
/*
 * In the spirit of 2007's syslet-test: many chains of open -> read ->
 * close, each chain passing the fd from open's result to read and close
 * through a shared variable (arg_ptr points at open's ret_ptr). Files are
 * on tmpfs (cached: the chain usually finishes without blocking) and on
 * the 9p share of the run directory mounted with cache=none (every read
 * goes to the host: the chain blocks and goes asynchronous); every third
 * chain is forced asynchronous with SYSLET_ASYNC. All results are checked,
 * and every asynchronous chain must complete exactly once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "syslet_test.h"

#define FILES_PER_DIR 48
#define NDIRS 2
#define N (FILES_PER_DIR * NDIRS)

struct file_chain {
	struct syslet_uatom open, read, close;
	char path[96];
	unsigned long path_arg, flags_arg, buf_arg, len_arg;
	long fd;			/* open's result, read's and close's argument */
	long read_ret, close_ret;
	char buf[128];
	char expect[64];
};

static void chain_init(struct file_chain *c, unsigned long flags)
{
	c->path_arg = (unsigned long)c->path;
	c->flags_arg = O_RDONLY;
	c->buf_arg = (unsigned long)c->buf;
	c->len_arg = sizeof(c->buf);
	c->fd = c->read_ret = c->close_ret = -12345;
	memset(c->buf, 0, sizeof(c->buf));
	atom_set(&c->open, SYSLET_STOP_ON_NEGATIVE | flags, __NR_open, &c->fd, &c->read,
		 ATOM_ARGS(&c->path_arg, &c->flags_arg));
	atom_set(&c->read, 0, __NR_read, &c->read_ret, &c->close,
		 ATOM_ARGS((unsigned long *)&c->fd, &c->buf_arg, &c->len_arg));
	atom_set(&c->close, 0, __NR_close, &c->close_ret, NULL,
		 ATOM_ARGS((unsigned long *)&c->fd));
}

static const char *dirs[NDIRS] = { "/tmp/syslet-files", "/mnt/run/syslet-files" };

TEST(open_read_close_chains_cached_and_not)
{
	struct syslet_uatom *ring[256] = { 0 };
	struct async_head_user ahu = RING_HEAD(ring);
	struct file_chain *c = calloc(N, sizeof(*c));
	int completed[N] = { 0 };
	int i, d, pending = 0, went_async = 0, sync_done = 0;
	const char *dir1 = dirs[1];

	ASSERT_NE(NULL, c);
	if (mkdir(dirs[1], 0755) && errno != EEXIST)
		dir1 = "/tmp/syslet-files-2";	/* no run share: both on tmpfs */
	for (d = 0; d < NDIRS; d++) {
		const char *dir = d ? dir1 : dirs[0];

		mkdir(dir, 0755);
		for (i = 0; i < FILES_PER_DIR; i++) {
			struct file_chain *f = &c[d * FILES_PER_DIR + i];
			int fd, len;

			snprintf(f->path, sizeof(f->path), "%s/f%d", dir, i);
			len = snprintf(f->expect, sizeof(f->expect), "file %d of %s\n", i, dir);
			fd = open(f->path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
			ASSERT_GE(fd, 0);
			ASSERT_EQ(len, write(fd, f->expect, len));
			close(fd);
		}
	}
	/* Uncached files really are: 9p with cache=none reads from the host. */
	for (i = 0; i < N; i++) {
		long r;

		chain_init(&c[i], i % 3 == 0 ? SYSLET_ASYNC : 0);
		r = sys_async_exec(&c[i].open, &ahu);
		if (r == 0) {
			went_async++;
			pending++;
		} else {
			ASSERT_EQ((long)&c[i].close, r);
			completed[i]++;
			sync_done++;
		}
	}
	while (pending > 0) {
		struct syslet_uatom *done;
		unsigned long idx = ahu.user_ring_idx % 256;

		ASSERT_GE(sys_async_wait(1, ahu.user_ring_idx, &ahu), 1);
		done = __atomic_load_n(&ring[idx], __ATOMIC_ACQUIRE);
		ASSERT_NE(NULL, done);
		ring[idx] = NULL;
		ahu.user_ring_idx++;
		for (i = 0; i < N; i++)
			if (done == &c[i].close)
				break;
		ASSERT_LT(i, N) TH_LOG("completion %p is no chain's last atom", done);
		completed[i]++;
		pending--;
	}
	for (i = 0; i < N; i++) {
		int len = strlen(c[i].expect);

		EXPECT_EQ(1, completed[i]) TH_LOG("chain %d", i);
		EXPECT_GE(c[i].fd, 0) TH_LOG("%s", c[i].path);
		EXPECT_EQ(len, c[i].read_ret) TH_LOG("%s", c[i].path);
		EXPECT_EQ(0, memcmp(c[i].buf, c[i].expect, len)) TH_LOG("%s", c[i].path);
		EXPECT_EQ(0, c[i].close_ret) TH_LOG("%s", c[i].path);
		unlink(c[i].path);
	}
	/* Every forced chain went asynchronous; the fds were all closed. */
	EXPECT_GE(went_async, (N + 2) / 3);
	EXPECT_EQ(-1, fcntl(c[N - 1].fd, F_GETFD));
	TH_LOG("%d chains finished synchronously, %d went asynchronous", sync_done, went_async);
	free(c);
}

TEST(missing_file_stops_the_chain_at_open)
{
	struct syslet_uatom *ring[4] = { 0 };
	struct async_head_user ahu = RING_HEAD(ring);
	struct file_chain c;

	strcpy(c.path, "/tmp/syslet-no-such-file");
	chain_init(&c, 0);
	/* open fails: STOP_ON_NEGATIVE ends the chain there. */
	ASSERT_EQ((long)&c.open, sys_async_exec(&c.open, &ahu));
	ASSERT_EQ(-ENOENT, c.fd);
	ASSERT_EQ(-12345, c.read_ret);
	ASSERT_EQ(-12345, c.close_ret);
}

TEST_HARNESS_MAIN
