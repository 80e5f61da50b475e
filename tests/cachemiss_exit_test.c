// SPDX-License-Identifier: GPL-2.0
/*
 * Ends of threads and processes whose contexts were handed off: the
 * exit status and PID of a main thread that handed off, pthread_join()
 * of a thread that did, SIGKILL (and SIGSTOP then SIGKILL) with chains
 * handed off and spares parked, each leaving no process or spare behind
 * (the live_* counters).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "syslet_test.h"
#include "cachemiss_test.h"

/*
 * The group's leadership moves with the main thread's context: the main
 * flow continues under the PID as its TID, and wait() finds the process.
 */
static int main_flow_after_five_handoffs(void)
{
	int rc = child_with_handoffs(5, 0);

	return rc ? rc : (gettid() == getpid() ? 42 : 43);
}

TEST(exit_status_and_pid_survive_handoffs_of_the_main_thread)
{
	long procs = live("processes"), spares = live("spares");

	EXPECT_EQ(42, exit_code_of(main_flow_after_five_handoffs));
	EXPECT_TRUE(live_back_to(procs, spares));
}

/* Eight chains handed off and blocked for good. */
static int eight_blocked_chains(void)
{
	return child_with_handoffs(8, 1);
}

TEST(kill_with_handed_off_chains_leaves_nothing)
{
	long procs = live("processes"), spares = live("spares");
	int status, round;

	for (round = 0; round < 3; round++) {
		pid_t child = fork_settled(eight_blocked_chains, 5000);

		ASSERT_LE(0, child);
		kill(child, SIGKILL);
		ASSERT_EQ(child, waitpid(child, &status, 0)) TH_LOG("errno %d", errno);
		ASSERT_TRUE(WIFSIGNALED(status));
		EXPECT_EQ(SIGKILL, WTERMSIG(status));
	}
	EXPECT_TRUE(live_back_to(procs, spares));
}

/* Spares parked, T's parked as spares, one chain blocked. */
static int parked_spares_and_a_blocked_chain(void)
{
	return child_with_handoffs(4, 0) || child_with_handoffs(1, 1);
}

TEST(stop_then_kill_with_parked_spares_leaves_nothing)
{
	long procs = live("processes"), spares = live("spares");
	int status;
	pid_t child = fork_settled(parked_spares_and_a_blocked_chain, 5000);

	ASSERT_LE(0, child);
	kill(child, SIGSTOP);
	ASSERT_EQ(child, waitpid(child, &status, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(status));
	kill(child, SIGKILL);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_TRUE(live_back_to(procs, spares));
}

static void *thread_with_handoff(void *arg)
{
	long ok = child_with_handoffs(3, 0) == 0;

	return (void *)ok;
}

TEST(pthread_join_sees_a_thread_that_handed_off)
{
	pthread_t th;
	void *ok = NULL;

	ASSERT_EQ(0, pthread_create(&th, NULL, thread_with_handoff, NULL));
	ASSERT_EQ(0, pthread_join(th, &ok));
	EXPECT_EQ((void *)1, ok);
}

TEST_HARNESS_MAIN
