// SPDX-License-Identifier: GPL-2.0
/*
 * async_wait(min_wait_events, user_ring_idx, ahu): waiting on the ring.
 * At this stage nothing is posted by the kernel, so these tests cover the
 * validation, the arithmetic of the indices and interruption.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "syslet_test.h"

FIXTURE(ring)
{
	struct syslet_uatom *ring[4];
	struct async_head_user ahu;
};

FIXTURE_SETUP(ring)
{
	memset(self, 0, sizeof(*self));
	self->ahu.completion_ring = self->ring;
	self->ahu.ring_size_bytes = sizeof(self->ring);
}

FIXTURE_TEARDOWN(ring)
{
}

TEST_F(ring, returns_at_once_when_enough_completions_are_there)
{
	self->ahu.kernel_ring_idx = 3;
	ASSERT_EQ(2, sys_async_wait(2, 1, &self->ahu));
	ASSERT_EQ(3, sys_async_wait(3, 0, &self->ahu));
}

TEST_F(ring, zero_min_returns_the_count)
{
	ASSERT_EQ(0, sys_async_wait(0, 0, &self->ahu));
	self->ahu.kernel_ring_idx = 2;
	ASSERT_EQ(2, sys_async_wait(0, 0, &self->ahu));
}

TEST_F(ring, indices_wrap)
{
	/* kernel_ring_idx wrapped past zero, user_ring_idx not yet. */
	self->ahu.kernel_ring_idx = 1;
	ASSERT_EQ(3, sys_async_wait(1, -2UL, &self->ahu));
}

TEST_F(ring, min_above_ring_size_is_einval)
{
	errno = 0;
	ASSERT_EQ(-1, sys_async_wait(5, 0, &self->ahu));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(ring, bad_ring_size_is_einval)
{
	self->ahu.ring_size_bytes = 0;
	errno = 0;
	ASSERT_EQ(-1, sys_async_wait(0, 0, &self->ahu));
	ASSERT_EQ(EINVAL, errno);
	self->ahu.ring_size_bytes = 7;
	errno = 0;
	ASSERT_EQ(-1, sys_async_wait(0, 0, &self->ahu));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(ring, bad_head_is_efault)
{
	errno = 0;
	ASSERT_EQ(-1, sys_async_wait(1, 0, NULL));
	ASSERT_EQ(EFAULT, errno);
}

static void on_alarm(int sig) { (void)sig; }

TEST_F(ring, waiting_is_interrupted_by_a_signal)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct timespec t0, t1;

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	alarm(1);
	errno = 0;
	ASSERT_EQ(-1, sys_async_wait(1, 0, &self->ahu));
	ASSERT_EQ(EINTR, errno);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* It slept until the signal, about a second. */
	ASSERT_GE(t1.tv_sec - t0.tv_sec, 0);
	ASSERT_GE((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 500);
}

static struct async_head_user *advanced_head;

static void advance(int sig)
{
	(void)sig;
	advanced_head->kernel_ring_idx = 1;
}

TEST_F(ring, sees_an_index_advanced_while_it_sleeps)
{
	/* Another thread of the process (here: a signal handler standing in
	 * for it) advances kernel_ring_idx; the waiter notices. */
	struct sigaction sa = { 0 };

	advanced_head = &self->ahu;
	sa.sa_handler = advance;
	sa.sa_flags = SA_RESTART;
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	alarm(1);
	ASSERT_EQ(1, sys_async_wait(1, 0, &self->ahu));
}

/*
 * A completion whose slot was written but whose index could not be (the
 * head became read-only) leaves the ring as it was: the slot is cleared,
 * and the next post to the ring does not wait on it.
 */
TEST(unpublished_completion_leaves_the_ring_as_it_was)
{
	pid_t pid = fork();
	int status;

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		static struct syslet_uatom *ring[4], a, b;
		static unsigned long fd, ubuf, len = 1;
		static volatile long ra, rb;
		static char buf[8];
		long pg = sysconf(_SC_PAGESIZE);
		struct async_head_user *ahu = mmap(NULL, pg, PROT_READ | PROT_WRITE,
						   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int p[2], i;

		alarm(30);
		if (ahu == MAP_FAILED || pipe(p))
			_exit(10);
		ahu->completion_ring = ring;
		ahu->ring_size_bytes = sizeof(ring);
		fd = p[0];
		ubuf = (unsigned long)buf;
		ra = rb = -12345;
		atom_set(&a, 0, __NR_read, (long *)&ra, NULL, ATOM_ARGS(&fd, &ubuf, &len));
		if (sys_async_exec(&a, ahu) != 0)
			_exit(11);
		if (mprotect(ahu, pg, PROT_READ))
			_exit(12);
		if (write(p[1], "x", 1) != 1)
			_exit(13);
		for (i = 0; i < 500 && ra != 1; i++)
			usleep(10000);
		if (ra != 1)
			_exit(14);
		usleep(300000);
		if (ahu->kernel_ring_idx != 0)
			_exit(15);
		if (__atomic_load_n(&ring[0], __ATOMIC_ACQUIRE) != NULL)
			_exit(16);
		/* With the head writable again the ring works. */
		if (mprotect(ahu, pg, PROT_READ | PROT_WRITE))
			_exit(17);
		atom_set(&b, 0, __NR_read, (long *)&rb, NULL, ATOM_ARGS(&fd, &ubuf, &len));
		if (sys_async_exec(&b, ahu) != 0)
			_exit(18);
		if (write(p[1], "y", 1) != 1)
			_exit(19);
		if (sys_async_wait(1, 0, ahu) != 1 || ring[0] != &b || rb != 1)
			_exit(20);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("status %#x", status);
	ASSERT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
