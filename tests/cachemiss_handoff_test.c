// SPDX-License-Identifier: GPL-2.0
/*
 * The cachemiss handoff (syslet/handoff.rs): a chain runs in the caller;
 * only an atom that blocks (or one flagged SYSLET_ASYNC) moves the
 * caller's user context to a spare thread, with its TID, and
 * async_exec() returns NULL. Signals sent meanwhile arrive once; a spare
 * never drops no_new_privs; an RT task goes to async threads instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "syslet_test.h"
#include "cachemiss_test.h"

TEST(non_blocking_chains_stay_in_the_caller)
{
	struct syslet_uatom atoms[10], *ring[8] = { 0 };
	struct async_head_user ahu = RING_HEAD(ring);
	long rets[10], inline0, handoffs0;
	int i, round;

	for (i = 0; i < 10; i++)
		atom_set(&atoms[i], 0, __NR_getppid, &rets[i], i < 9 ? &atoms[i + 1] : NULL, NULL);
	/* The first call makes the process's spare thread. */
	ASSERT_EQ((long)&atoms[9], sys_async_exec(&atoms[0], &ahu));
	inline0 = syslet_stat("atoms_inline");
	handoffs0 = syslet_stat("handoffs");
	for (round = 0; round < 100; round++) {
		memset(rets, 0, sizeof(rets));
		ASSERT_EQ((long)&atoms[9], sys_async_exec(&atoms[0], &ahu));
		for (i = 0; i < 10; i++)
			ASSERT_EQ(getppid(), rets[i]);
	}
	EXPECT_EQ(inline0 + 1000, syslet_stat("atoms_inline"));
	EXPECT_EQ(handoffs0, syslet_stat("handoffs"));
	EXPECT_EQ(NULL, ring[0]);
	EXPECT_EQ(1, syslet_stat("spares_alive"));
}

/* What the signal handlers of signals_around_a_handoff_arrive_exactly_once saw. */
static atomic_int usr1_count, usr2_count;
static atomic_int usr1_tid;
static int signals_handled;	/* both handlers' count, for the late writer */

/* What a handoff in a thread that is not the group leader looked like. */
struct handoff_run {
	int signals;		/* tgkill SIGUSR1 and kill SIGUSR2 meanwhile */
	long exec_ret, reaped_ok, ret, handoffs;
	pid_t tid_before, tid_after, pid_before, pid_after;
	double t0, returned_at, wrote_at;
	unsigned long ring_idx;
	void *second_slot;
	char data[16];
};

static void *handoff_thread(void *arg)
{
	struct handoff_run *h = arg;
	struct syslet_uatom *ring[8] = { 0 };
	struct async_head_user ahu = RING_HEAD(ring);
	struct late_writer w = { 0 };
	struct reader r;
	pthread_t th;
	long handoffs0 = syslet_stat("handoffs");
	int p[2];

	if (pipe(p))
		return NULL;
	reader_init(&r, p[0]);
	w.fd = p[1];
	h->tid_before = gettid();
	h->pid_before = getpid();
	w.waiter = h->tid_before;
	if (h->signals) {
		sigset_t usr;

		w.signal_tid = h->tid_before;
		w.handled = &signals_handled;
		pthread_create(&th, NULL, late_write, &w);
		sigemptyset(&usr);
		sigaddset(&usr, SIGUSR1);
		sigaddset(&usr, SIGUSR2);
		pthread_sigmask(SIG_UNBLOCK, &usr, NULL);
	} else {
		pthread_create(&th, NULL, late_write, &w);
	}
	h->t0 = now_ms();
	h->exec_ret = sys_async_exec(&r.atom, &ahu);
	h->returned_at = now_ms();
	h->tid_after = gettid();
	h->pid_after = getpid();
	h->handoffs = syslet_stat("handoffs") - handoffs0;
	h->reaped_ok = reap(&ahu, ring, 8) == &r.atom;
	pthread_join(th, NULL);
	h->wrote_at = w.wrote_at;
	h->ret = r.ret;
	memcpy(h->data, r.data, sizeof(h->data));
	/*
	 * Not a wait for anything: a window in which a second, wrong
	 * completion would land in the ring (there is no event to wait for
	 * when the check is that none comes).
	 */
	usleep(20000);
	h->ring_idx = ahu.kernel_ring_idx;
	h->second_slot = ring[1];
	close(p[0]);
	close(p[1]);
	return NULL;
}

TEST(blocking_atom_moves_the_context_and_keeps_the_tid)
{
	struct handoff_run h = { 0 };
	pthread_t th;

	ASSERT_EQ(0, pthread_create(&th, NULL, handoff_thread, &h));
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(0, h.exec_ret);
	EXPECT_EQ(1, h.handoffs);
	EXPECT_EQ(h.tid_before, h.tid_after);
	EXPECT_EQ(h.pid_before, h.pid_after);
	EXPECT_TRUE(h.reaped_ok);
	EXPECT_LT(h.returned_at, h.wrote_at);
	EXPECT_EQ(9, h.ret);
	EXPECT_EQ(0, memcmp(h.data, "cachemiss", 9));
	/* Exactly one completion. */
	EXPECT_EQ(1, h.ring_idx);
	EXPECT_EQ(NULL, h.second_slot);
	TH_LOG("async_exec returned after %.3f ms; the data came %.3f ms later",
	       h.returned_at - h.t0, h.wrote_at - h.returned_at);
}

static void on_usr1(int sig)
{
	atomic_fetch_add(&usr1_count, 1);
	atomic_store(&usr1_tid, gettid());
	word_add(&signals_handled, 1);
}

static void on_usr2(int sig)
{
	atomic_fetch_add(&usr2_count, 1);
	word_add(&signals_handled, 1);
}

TEST(signals_around_a_handoff_arrive_exactly_once)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	struct handoff_run h = { .signals = 1 };
	pthread_t th;
	sigset_t usr;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	sa.sa_handler = on_usr2;
	ASSERT_EQ(0, sigaction(SIGUSR2, &sa, NULL));
	/* Only the thread under test takes them (it unblocks them). */
	sigemptyset(&usr);
	sigaddset(&usr, SIGUSR1);
	sigaddset(&usr, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr, NULL);
	ASSERT_EQ(0, pthread_create(&th, NULL, handoff_thread, &h));
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(0, h.exec_ret);
	EXPECT_TRUE(h.reaped_ok);
	EXPECT_EQ(9, h.ret);
	/* The thread-directed one followed the TID to the context. */
	EXPECT_EQ(1, atomic_load(&usr1_count));
	EXPECT_EQ(h.tid_before, atomic_load(&usr1_tid));
	EXPECT_EQ(1, atomic_load(&usr2_count));
}

TEST(async_flag_hands_off_without_blocking)
{
	struct syslet_uatom *ring[8] = { 0 }, a;
	struct async_head_user ahu = RING_HEAD(ring);
	long handoffs0 = syslet_stat("handoffs"), r = 0;

	atom_set(&a, SYSLET_ASYNC, __NR_getppid, &r, NULL, NULL);
	ASSERT_EQ(0, sys_async_exec(&a, &ahu));
	EXPECT_EQ(handoffs0 + 1, syslet_stat("handoffs"));
	EXPECT_EQ(&a, reap(&ahu, ring, 8));
	EXPECT_EQ(getppid(), r);
}

/*
 * A spare made before the caller set no_new_privs must not get its
 * context (which would run on without it): the spares are retired and
 * remade, and the handoff keeps the flag. In a child, so that the flag
 * stays there.
 */
static int nnp_after_spares(void)
{
	struct syslet_uatom *ring[8] = { 0 }, a;
	struct async_head_user ahu = RING_HEAD(ring);
	long handoffs0, r = 0;

	atom_set(&a, 0, __NR_getppid, &r, NULL, NULL);
	if (sys_async_exec(&a, &ahu) != (long)&a)	/* makes a spare */
		return 1;
	if (syslet_stat("spares_alive") < 1)
		return 2;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return 3;
	handoffs0 = syslet_stat("handoffs");
	atom_set(&a, SYSLET_ASYNC, __NR_getppid, &r, NULL, NULL);
	if (sys_async_exec(&a, &ahu) != 0)
		return 4;
	if (syslet_stat("handoffs") != handoffs0 + 1 || reap(&ahu, ring, 8) != &a)
		return 5;
	/* This flow now runs on a spare made after the flag was set. */
	return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 6;
}

TEST(no_new_privs_never_lost_in_a_handoff)
{
	EXPECT_EQ(0, exit_code_of(nnp_after_spares));
}

TEST(rt_task_falls_back_to_async_threads)
{
	int status;
	pid_t child = fork();

	ASSERT_LE(0, child);
	if (!child) {
		struct sched_param sp = { .sched_priority = 1 };
		long handoffs0;
		int rc;

		if (sched_setscheduler(0, SCHED_FIFO, &sp))
			_exit(10);
		handoffs0 = syslet_stat("handoffs");
		rc = child_with_handoffs(3, 0);
		if (rc)
			_exit(rc);
		/* Went async on async threads, not by handoffs. */
		_exit(syslet_stat("handoffs") == handoffs0 && syslet_stat("threads_peak") >= 1 ? 0 : 11);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
