// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet's threadlet and private-fd helpers on the patched kernel:
 * a threadlet that runs inline, one that blocks and finishes in its own
 * thread (its stack unmapped once done), the waits and their errors; the
 * fd-space calls and their errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <syslet.h>

#include "kselftest_harness.h"

static long answer(void *arg)
{
	return 40 + (long)arg;
}

TEST(an_inline_threadlet_is_done_when_start_returns)
{
	struct syslet_threadlet t;

	ASSERT_EQ(THREADLET_INLINE, syslet_threadlet_start(&t, answer, (void *)2, NULL, 0));
	ASSERT_EQ(1, syslet_threadlet_done(&t));
	ASSERT_EQ(42, syslet_threadlet_result(&t));
	ASSERT_EQ(0, syslet_threadlet_wait(&t, NULL));
	ASSERT_EQ(SYSLET_THREADLET_STACK, t.stack_size);
	ASSERT_EQ(0, syslet_threadlet_release(&t));
	ASSERT_TRUE(t.stack == NULL);
}

/* Blocks reading a pipe: only raw system calls once it may have blocked. */
static long read_pipe(void *arg)
{
	char c;

	return syslet_raw_syscall6(__NR_read, (long)arg, (long)&c, 1, 0, 0, 0);
}

TEST(a_blocking_threadlet_finishes_in_its_own_thread)
{
	struct timespec short_wait = { 0, 100000000L }, five_s = { 5, 0 };
	struct syslet_threadlet t;
	unsigned char vec;
	void *stack;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(THREADLET_WENT_ASYNC,
		  syslet_threadlet_start(&t, read_pipe, (void *)(long)p[0], NULL, 16384));
	ASSERT_EQ(0, syslet_threadlet_done(&t));
	ASSERT_EQ(SYSLET_RESULT_UNSET, syslet_threadlet_result(&t));
	ASSERT_EQ(-EBUSY, syslet_threadlet_release(&t));
	ASSERT_EQ(-ETIMEDOUT, syslet_threadlet_wait(&t, &short_wait));
	ASSERT_EQ(1, write(p[1], "x", 1));
	ASSERT_EQ(0, syslet_threadlet_wait(&t, &five_s));
	ASSERT_EQ(1, syslet_threadlet_result(&t));
	stack = t.stack;
	ASSERT_EQ(0, syslet_threadlet_release(&t));
	/* The stack is gone (mincore() fails on unmapped memory). */
	ASSERT_EQ(-1, mincore(stack, 4096, &vec));
	ASSERT_EQ(ENOMEM, errno);
	close(p[0]);
	close(p[1]);
}

TEST(a_caller_stack_is_used_and_not_unmapped)
{
	static char stack[16384] __attribute__((aligned(16)));
	struct syslet_threadlet t;

	ASSERT_EQ(THREADLET_INLINE, syslet_threadlet_start(&t, answer, NULL, stack, sizeof(stack)));
	ASSERT_EQ(40, syslet_threadlet_result(&t));
	ASSERT_EQ(0, syslet_threadlet_release(&t));
	stack[0] = 1;	/* still mapped */
}

static long nested(void *arg)
{
	/* The caller's stack: mapping one could block and make the outer
	 * threadlet asynchronous. */
	static char stack[8192] __attribute__((aligned(16)));
	struct syslet_threadlet inner;

	(void)arg;
	return syslet_threadlet_start(&inner, answer, NULL, stack, sizeof(stack));
}

TEST(a_threadlet_inside_a_threadlet_is_ebusy)
{
	struct syslet_threadlet t;

	ASSERT_EQ(THREADLET_INLINE, syslet_threadlet_start(&t, nested, NULL, NULL, 0));
	ASSERT_EQ(-EBUSY, syslet_threadlet_result(&t));
	ASSERT_EQ(0, syslet_threadlet_release(&t));
}

TEST(a_stack_that_cannot_be_mapped_is_enomem)
{
	struct syslet_threadlet t;

	ASSERT_EQ(-ENOMEM, syslet_threadlet_start(&t, answer, NULL, NULL, 1UL << 50));
	ASSERT_EQ(1, syslet_threadlet_done(&t));	/* nothing to wait for */
	ASSERT_EQ(0, syslet_threadlet_wait(&t, NULL));
}

static void on_alarm(int sig) { (void)sig; }

TEST(a_threadlet_wait_is_interrupted_by_a_signal)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { 0, 100000 } };
	struct syslet_threadlet t;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(THREADLET_WENT_ASYNC,
		  syslet_threadlet_start(&t, read_pipe, (void *)(long)p[0], NULL, 0));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	ASSERT_EQ(-EINTR, syslet_threadlet_wait(&t, NULL));
	ASSERT_EQ(1, write(p[1], "x", 1));
	ASSERT_EQ(0, syslet_threadlet_wait(&t, NULL));
	ASSERT_EQ(0, syslet_threadlet_release(&t));
}

/* ---- the private fd space ----------------------------------------------- */

static int is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

TEST(fdup_gives_a_private_descriptor_and_moves_one)
{
	int p[2], fd, moved;
	char c = 0;

	ASSERT_EQ(0, pipe(p));
	errno = 1234;
	fd = syslet_fdup(p[1], 0);
	ASSERT_EQ(1, syslet_fd_is_private(fd)) TH_LOG("fdup gave %d", fd);
	ASSERT_EQ(1, write(fd, "y", 1));
	ASSERT_EQ(1, read(p[0], &c, 1));
	ASSERT_EQ('y', c);
	moved = syslet_fdup(p[0], FDUP_MOVE);
	ASSERT_EQ(1, syslet_fd_is_private(moved));
	ASSERT_EQ(-EBADF, syslet_fdup(-1, 0));
	ASSERT_EQ(-EBADF, syslet_fdup(NONLINEAR_FD | 77, 0));
	ASSERT_EQ(-EINVAL, syslet_fdup(p[1], 0x80));
	ASSERT_EQ(1234, errno);		/* the library's errors never set it */
	ASSERT_FALSE(is_open(p[0]));	/* moved */
	close(fd);
	close(moved);
	close(p[1]);
}

TEST(dup_and_open_into_the_private_space)
{
	int fd, d, p[2];

	ASSERT_EQ(0, pipe(p));
	fd = syslet_openat_private(AT_FDCWD, "/proc/self/status", O_RDONLY, 0);
	ASSERT_EQ(1, syslet_fd_is_private(fd)) TH_LOG("openat gave %d", fd);
	ASSERT_TRUE(fcntl(fd, F_GETFL) & O_NONLINEAR);
	d = syslet_dup_private(p[0]);
	ASSERT_EQ(1, syslet_fd_is_private(d)) TH_LOG("dup2 gave %d", d);
	ASSERT_EQ(-ENOENT, syslet_openat_private(AT_FDCWD, "/nonexistent", O_RDONLY, 0));
	ASSERT_EQ(-EBADF, syslet_openat_private(12345, "x", O_RDONLY, 0));
	ASSERT_EQ(-EBADF, syslet_dup_private(12345));
	close(fd);
	close(d);
	close(p[0]);
	close(p[1]);
}

TEST(close_private_fds_closes_only_private_ones)
{
	int p[2], lin, a, b;

	ASSERT_EQ(0, pipe(p));
	lin = p[0];
	a = syslet_dup_private(p[0]);
	b = syslet_fdup(p[1], FDUP_MOVE);
	ASSERT_FALSE(is_open(p[1]));
	ASSERT_TRUE(is_open(a) && is_open(b));
	ASSERT_EQ(0, syslet_close_private_fds());
	ASSERT_FALSE(is_open(a));
	ASSERT_FALSE(is_open(b));
	ASSERT_TRUE(is_open(lin));
	ASSERT_EQ(0, syslet_close_private_fds());	/* none left: fine */
	close(lin);
}

TEST(the_fd_limit_is_emfile)
{
	struct rlimit lim = { 16, 16 };
	int status, i, fd = 0, p[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setrlimit(RLIMIT_NOFILE, &lim))
			_exit(10);
		for (i = 0; i < 32 && fd >= 0; i++)
			fd = syslet_fdup(p[0], 0);
		if (fd != -EMFILE)
			_exit(11);
		_exit(syslet_dup_private(p[0]) == -EMFILE ? 0 : 12);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
