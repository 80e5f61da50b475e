// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet's waits on the patched kernel: syslet_ring_wait() (the
 * kernel's async_wait()) and syslet_ring_wait_timeout(), whose timeout
 * the library makes with a per-thread timer and a signal (the kernel has
 * none): it times out, returns early on a completion, reports another
 * signal as -EINTR, refuses a signal it does not own, and leaves no
 * stray signal behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <syslet.h>

#include "kselftest_harness.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const struct timespec ms200 = { 0, 200000000L }, five_s = { 5, 0 };

TEST(wait_errors_come_from_the_kernel)
{
	struct syslet_ring r, uninit = { 0 };

	ASSERT_EQ(0, syslet_ring_init(&r, 2));
	ASSERT_EQ(-EINVAL, syslet_ring_wait(&r, 3));		/* more than the ring */
	ASSERT_EQ(-EINVAL, syslet_ring_wait(&uninit, 0));	/* no slots */
	ASSERT_EQ(-EINVAL, syslet_ring_wait(NULL, 0));
	ASSERT_EQ(0, syslet_ring_wait(&r, 0));
	syslet_ring_exit(&r);
}

TEST(a_timed_wait_times_out)
{
	struct syslet_ring r;
	struct syslet_uatom *a;
	double t0, dt;

	ASSERT_EQ(0, syslet_ring_init(&r, 4));
	errno = 1234;
	t0 = now_ms();
	ASSERT_EQ(-ETIME, syslet_ring_wait_timeout(&r, 1, &ms200));
	dt = now_ms() - t0;
	ASSERT_EQ(1234, errno);
	ASSERT_GE(dt, 200);
	ASSERT_LT(dt, 2000) TH_LOG("took %.1f ms", dt);
	t0 = now_ms();
	ASSERT_EQ(-ETIME, syslet_ring_reap(&r, &a, &ms200));
	ASSERT_GE(now_ms() - t0, 200);
	/* No signal of the timer is left to interrupt a later call. */
	ASSERT_EQ(0, usleep(300000));
	syslet_ring_exit(&r);
}

static int write_fd;

static void *write_later(void *arg)
{
	(void)arg;
	usleep(100000);
	if (write(write_fd, "x", 1) != 1)
		return (void *)1;
	return NULL;
}

TEST(a_timed_wait_returns_on_the_completion)
{
	struct syslet_ring r;
	struct syslet_chain c, *got;
	pthread_t th;
	char buf[2];
	double t0;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, syslet_ring_init(&r, 4));
	ASSERT_EQ(0, syslet_chain_init(&c, 1));
	ASSERT_EQ(0, syslet_chain_call(&c, __NR_read, p[0], buf, 1));
	ASSERT_EQ(SYSLET_CHAIN_ASYNC, syslet_chain_submit(&c, &r));
	write_fd = p[1];
	ASSERT_EQ(0, pthread_create(&th, NULL, write_later, NULL));
	t0 = now_ms();
	ASSERT_EQ(1, syslet_ring_wait_timeout(&r, 1, &five_s));
	ASSERT_LT(now_ms() - t0, 4000);
	ASSERT_EQ(0, syslet_chain_reap(&r, &got, NULL));
	ASSERT_EQ(1, syslet_chain_result(&c, 0));
	pthread_join(th, NULL);
	ASSERT_EQ(0, syslet_chain_exit(&c));
	syslet_ring_exit(&r);
	close(p[0]);
	close(p[1]);
}

static void on_alarm(int sig) { (void)sig; }

TEST(another_signal_is_eintr)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct itimerval it = { .it_value = { 0, 100000 } };
	struct syslet_ring r;
	double t0;

	ASSERT_EQ(0, syslet_ring_init(&r, 4));
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	t0 = now_ms();
	ASSERT_EQ(-EINTR, syslet_ring_wait_timeout(&r, 1, &five_s));
	ASSERT_LT(now_ms() - t0, 4000);
	syslet_ring_exit(&r);
}

static void foreign(int sig) { (void)sig; }

TEST(a_timeout_signal_with_a_foreign_handler_is_ebusy)
{
	struct sigaction sa = { .sa_handler = foreign }, dfl = { .sa_handler = SIG_DFL };
	struct syslet_ring r;

	ASSERT_EQ(0, syslet_ring_init(&r, 4));
	ASSERT_EQ(0, sigaction(syslet_timeout_signal(), &sa, NULL));
	ASSERT_EQ(-EBUSY, syslet_ring_wait_timeout(&r, 1, &ms200));
	/* Another signal: the library takes that one. */
	ASSERT_EQ(0, syslet_set_timeout_signal(SIGRTMIN + 3));
	ASSERT_EQ(-ETIME, syslet_ring_wait_timeout(&r, 1, &ms200));
	ASSERT_EQ(0, sigaction(SIGRTMIN + 3, NULL, &sa));
	ASSERT_TRUE(sa.sa_handler != SIG_DFL);
	ASSERT_EQ(0, sa.sa_flags & SA_RESTART);
	ASSERT_EQ(0, sigaction(SIGRTMAX - 2, &dfl, NULL));
	ASSERT_EQ(0, syslet_set_timeout_signal(SIGRTMAX - 2));
	syslet_ring_exit(&r);
}

static struct syslet_ring shared_ring;
static long waited;

static void *wait_one_second(void *arg)
{
	struct timespec one = { 1, 0 };

	(void)arg;
	waited = syslet_ring_wait_timeout(&shared_ring, 1, &one);
	return NULL;
}

TEST(the_signal_cannot_change_while_a_wait_sleeps)
{
	pthread_t th;

	ASSERT_EQ(0, syslet_ring_init(&shared_ring, 4));
	ASSERT_EQ(0, pthread_create(&th, NULL, wait_one_second, NULL));
	usleep(300000);
	ASSERT_EQ(-EBUSY, syslet_set_timeout_signal(SIGRTMIN + 4));
	pthread_join(th, NULL);
	/* The timer went to the waiting thread, not to this one. */
	ASSERT_EQ(-ETIME, waited);
	ASSERT_EQ(0, syslet_set_timeout_signal(SIGRTMIN + 4));
	ASSERT_EQ(0, syslet_set_timeout_signal(SIGRTMAX - 2));
	syslet_ring_exit(&shared_ring);
}

TEST(a_blocked_timeout_signal_is_unblocked_for_the_wait_only)
{
	struct syslet_ring r;
	sigset_t set, now;

	ASSERT_EQ(0, syslet_ring_init(&r, 4));
	sigemptyset(&set);
	sigaddset(&set, syslet_timeout_signal());
	ASSERT_EQ(0, pthread_sigmask(SIG_BLOCK, &set, NULL));
	ASSERT_EQ(-ETIME, syslet_ring_wait_timeout(&r, 1, &ms200));
	ASSERT_EQ(0, pthread_sigmask(SIG_BLOCK, NULL, &now));
	ASSERT_TRUE(sigismember(&now, syslet_timeout_signal()));
	sigpending(&now);
	ASSERT_FALSE(sigismember(&now, syslet_timeout_signal()));
	ASSERT_EQ(0, pthread_sigmask(SIG_UNBLOCK, &set, NULL));
	syslet_ring_exit(&r);
}

TEST(timed_wait_argument_errors)
{
	struct timespec bad = { 0, 1000000000L };
	struct syslet_ring r;

	ASSERT_EQ(0, syslet_ring_init(&r, 2));
	ASSERT_EQ(-EINVAL, syslet_ring_wait_timeout(&r, 1, &bad));
	ASSERT_EQ(-EINVAL, syslet_ring_wait_timeout(&r, 3, &ms200));
	ASSERT_EQ(-EINVAL, syslet_ring_wait_timeout(NULL, 1, &ms200));
	ASSERT_EQ(-EINVAL, syslet_set_timeout_signal(SIGUSR1));
	ASSERT_EQ(-EINVAL, syslet_ring_init(&r, 0));
	ASSERT_EQ(-EINVAL, syslet_ring_init(&r, SYSLET_RING_MAX_ENTRIES + 1));
	syslet_ring_exit(&r);
}

TEST_HARNESS_MAIN
