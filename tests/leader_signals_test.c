// SPDX-License-Identifier: GPL-2.0
/*
 * Signals for the main thread after its context moved.
 *
 * The group leader keeps its TID when its context moves to a spare (wait()
 * and job control find the process by it), and parks; the main thread's
 * context runs on under the spare's TID, while glibc still has the
 * leader's TID for it. What is addressed to that TID (tgkill(),
 * pthread_kill() of the main thread, glibc's SIGSETXID) must reach the
 * context, as it would on stock Linux. Before the parked leader forwarded
 * its signals, a setuid() family call from any other thread waited
 * forever for the main thread's answer to SIGSETXID (fuzzer seed
 * 20261203, iteration 5632), and the other signals were never handled.
 *
 * Each case runs in the leader of a child process, as root and as nobody.
 */
#define _GNU_SOURCE
#include <sched.h>

#include "kselftest_harness.h"
#include "handoff_test.h"

#include "handoff_fixture.h"

static struct {
	volatile sig_atomic_t count;
	volatile long tid;
	volatile int code, pid;
} got;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	got.tid = syscall(__NR_gettid);
	got.code = si->si_code;
	got.pid = si->si_pid;
	got.count++;
}

static int catch_usr1(void)
{
	struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO };

	memset((void *)&got, 0, sizeof(got));
	return sigaction(SIGUSR1, &sa, NULL);
}

/* Waits up to `ms` for the handler to have run `n` times. */
static int handled_within(int n, int ms)
{
	double end = now_ms() + ms;

	while (got.count < n && now_ms() < end)
		usleep(2000);
	return got.count >= n;
}

/* The leader's context moves to a spare; 0 if it did. */
static int move_main(void)
{
	if (hand_off("main thread"))
		return -1;
	if (syscall(__NR_gettid) == getpid()) {
		say("the main thread's context did not move (gettid() == getpid())");
		return -1;
	}
	return 0;
}

/* ---- 1. setuid() and friends from another thread --------------------- */

static struct {
	int ret, err;
	double ms;
} setxid;

static void *setxid_thread(void *unused)
{
	double t0 = now_ms();

	/* A change to the same ids: allowed to anyone, and glibc still
	 * signals every thread to make it (POSIX: per process). */
	setxid.ret = setresgid(-1, getegid(), -1);
	setxid.err = errno;
	setxid.ms = now_ms() - t0;
	return NULL;
}

static int setxid_case(void *unused)
{
	pthread_t th;
	gid_t r, e, s;

	if (move_main())
		return 10;
	if (pthread_create(&th, NULL, setxid_thread, NULL))
		return 11;
	/* Before: the thread never came back; the deadline killed us. */
	pthread_join(th, NULL);
	say("setresgid() from a second thread: %d (errno %d) after %.0f ms",
	    setxid.ret, setxid.err, setxid.ms);
	if (setxid.ret)
		return 12;
	/* The main flow made the call too (glibc checks each answer). */
	if (getresgid(&r, &e, &s) || e != getegid())
		return 13;
	return 0;
}

HTEST(setxid_from_a_second_thread_after_the_main_thread_moved)
{
	int rc1 = run_child(setxid_case, NULL, AS_ROOT, 20000);
	int rc2 = run_child(setxid_case, NULL, AS_NOBODY, 20000);

	EXPECT_EQ(0, rc1) TH_LOG("root: %s", describe(rc1));
	EXPECT_EQ(0, rc2) TH_LOG("nobody: %s", describe(rc2));
}

/* ---- 2. pthread_kill() of the main thread ---------------------------- */

static pthread_t main_thread;

static void *kill_main(void *unused)
{
	return (void *)(long)pthread_kill(main_thread, SIGUSR1);
}

static int pthread_kill_case(void *unused)
{
	pthread_t th;
	void *ret;

	main_thread = pthread_self();
	if (catch_usr1() || move_main())
		return 20;
	if (pthread_create(&th, NULL, kill_main, NULL) || pthread_join(th, &ret))
		return 21;
	if (ret) {
		say("pthread_kill(main) = %ld", (long)ret);
		return 22;
	}
	if (!handled_within(1, 2000)) {
		say("the main thread's handler did not run within 2 s");
		return 23;
	}
	say("pthread_kill(main): handled in %ld (main flow %ld), si_code %d, si_pid %d",
	    got.tid, (long)syscall(__NR_gettid), got.code, got.pid);
	if (got.tid != syscall(__NR_gettid))
		return 24;
	if (got.code != SI_TKILL || got.pid != getpid())
		return 25;
	return 0;
}

HTEST(pthread_kill_of_the_main_thread_reaches_its_context)
{
	int rc1 = run_child(pthread_kill_case, NULL, AS_ROOT, 20000);
	int rc2 = run_child(pthread_kill_case, NULL, AS_NOBODY, 20000);

	EXPECT_EQ(0, rc1) TH_LOG("root: %s", describe(rc1));
	EXPECT_EQ(0, rc2) TH_LOG("nobody: %s", describe(rc2));
}

/* ---- 3. tgkill(pid, pid) and a blocked signal ------------------------ */

static int tgkill_case(void *unused)
{
	sigset_t set, pending;
	int i;

	if (catch_usr1() || move_main())
		return 30;
	/* Blocked: it must wait, pending, in the main flow. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return 31;
	if (syscall(__NR_tgkill, getpid(), getpid(), SIGUSR1))
		return 32;
	for (i = 0; i < 100; i++) {
		if (sigpending(&pending) || sigismember(&pending, SIGUSR1))
			break;
		usleep(10000);
	}
	if (!sigismember(&pending, SIGUSR1)) {
		say("tgkill(pid, pid) of a blocked signal: not pending in the main flow after 1 s");
		return 33;
	}
	if (got.count)
		return 34;
	if (sigprocmask(SIG_UNBLOCK, &set, NULL))
		return 35;
	if (got.count != 1 || got.tid != syscall(__NR_gettid)) {
		say("after unblocking: handled %d times, in %ld (main flow %ld)",
		    (int)got.count, got.tid, (long)syscall(__NR_gettid));
		return 36;
	}
	return got.code == SI_TKILL && got.pid == getpid() ? 0 : 37;
}

HTEST(tgkill_of_the_leader_tid_reaches_the_main_flow)
{
	int rc1 = run_child(tgkill_case, NULL, AS_ROOT, 20000);
	int rc2 = run_child(tgkill_case, NULL, AS_NOBODY, 20000);

	EXPECT_EQ(0, rc1) TH_LOG("root: %s", describe(rc1));
	EXPECT_EQ(0, rc2) TH_LOG("nobody: %s", describe(rc2));
}

TEST_HARNESS_MAIN
