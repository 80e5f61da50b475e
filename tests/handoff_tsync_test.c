// SPDX-License-Identifier: GPL-2.0
/*
 * A seccomp filter that reaches a task carrying someone else's chain.
 *
 * A chain goes to an async thread, or stays on the caller's task after
 * the caller's context moved to a spare, only while its submitter is not
 * under seccomp. Another thread can then install a filter with
 * SECCOMP_FILTER_FLAG_TSYNC, which puts it on every thread of the group,
 * the carrying one included. The identity contract stops such a chain
 * (Documentation/handoff.md): the atom about to run is not run and gets
 * -ECANCELED, and so does the rest of the chain. What must not happen is
 * what happened before: the carrying task ran the filter itself, and a
 * SECCOMP_RET_KILL_THREAD verdict ended the engine's thread in the middle
 * of a job. Its submitter then waited in async_exec() for a chain that
 * would never end, and the thread stayed counted for good.
 *
 * The filter kills the calling thread on getppid() and allows everything
 * else. Each case runs in a thread of a child process, as root and as
 * nobody; the program itself must run as root (it sets the sysctls).
 */
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <time.h>

#include "kselftest_harness.h"
#include "handoff_test.h"

#ifndef ECANCELED
#define ECANCELED 125
#endif

#include "handoff_fixture.h"

/* getppid() kills the calling thread; everything else runs. */
static int install_tsync_kill_getppid(void)
{
	return filter_one_call(__NR_getppid, SECCOMP_RET_KILL_THREAD, SECCOMP_FILTER_FLAG_TSYNC);
}

/* nanosleep(sleep) -> getppid() -> getpid(); atom 0's flags vary. */
struct tsc {
	struct syslet_uatom atom[3];
	struct timespec ts;
	unsigned long tsp, rem;
	long ret[3];
	struct syslet_uatom *ring[8];
	struct async_head_user ahu;
};

static void tsc_init(struct tsc *c, unsigned long flags0, long sleep_ms)
{
	memset(c, 0, sizeof(*c));
	c->ts.tv_sec = sleep_ms / 1000;
	c->ts.tv_nsec = (sleep_ms % 1000) * 1000000L;
	c->tsp = (unsigned long)&c->ts;
	c->ret[0] = c->ret[1] = c->ret[2] = NO_ATOM;
	atom_set(&c->atom[2], 0, __NR_getpid, &c->ret[2], NULL, NULL);
	atom_set(&c->atom[1], 0, __NR_getppid, &c->ret[1], &c->atom[2], NULL);
	atom_set(&c->atom[0], flags0, __NR_nanosleep, &c->ret[0], &c->atom[1],
		 ATOM_ARGS(&c->tsp, &c->rem));
	c->ahu.completion_ring = c->ring;
	c->ahu.ring_size_bytes = sizeof(c->ring);
}

static void on_alarm(int sig)
{
}

static struct {
	long delay_ms;
	int ret, err;
} late;

/* Installs the filter with TSYNC from another thread, after delay_ms. */
static void *late_filter(void *unused)
{
	usleep(late.delay_ms * 1000);
	late.ret = install_tsync_kill_getppid();
	late.err = errno;
	return NULL;
}

static int filter_ok(void)
{
	if (late.ret) {
		say("seccomp(TSYNC) = %d errno %d", late.ret, late.err);
		return 0;
	}
	return 1;
}

/*
 * 1. Attached on an async thread: atom 0 sleeps in SYSLET_SYNC, so the
 * chain stays attached and this thread waits in async_exec() while
 * another thread installs the filter. async_exec() must end by itself
 * with ECANCELED, getppid() unrun (-ECANCELED, the chain's end), and the
 * async thread alive.
 * Before: the async thread died in getppid()'s filter; async_exec()
 * waited until the alarm 5 s later, then returned NULL.
 */
static int attached_case(void *unused)
{
	static struct tsc c;
	struct sigaction sa = { .sa_handler = on_alarm };
	pthread_t th;
	double t0;
	long r;
	int err, before, after;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return 10;
	tsc_init(&c, SYSLET_SYNC, 600);
	late.delay_ms = 200;
	if (pthread_create(&th, NULL, late_filter, NULL))
		return 11;
	sigaction(SIGALRM, &sa, NULL);
	alarm(5);
	before = async_thread_ids(NULL, 0);
	t0 = now_ms();
	r = sys_async_exec(&c.atom[0], &c.ahu);
	err = errno;
	alarm(0);
	pthread_join(th, NULL);
	after = async_thread_ids(NULL, 0);
	say("attached: async_exec() = %ld errno %d after %.0f ms; atoms %ld %ld %ld; async threads %d -> %d",
	    r, err, now_ms() - t0, c.ret[0], c.ret[1], c.ret[2], before, after);
	if (!filter_ok())
		return 12;
	if (r != -1 || err != ECANCELED)
		return 13;
	if (c.ret[0] != 0 || c.ret[1] != -ECANCELED || c.ret[2] != NO_ATOM)
		return 14;
	/* The thread made for the chain is alive and parked. */
	if (before != 0 || after != 1)
		return 15;
	/* Nothing is posted for a chain that ended attached. */
	if (sys_async_wait(0, c.ahu.user_ring_idx, &c.ahu) != 0)
		return 16;
	return 0;
}

HTEST(tsync_filter_on_an_attached_async_thread_cancels_instead_of_killing_it)
{
	ASSERT_EQ(0, write_sysctl("syslet_handoff", 0));
	as_both(_metadata, attached_case, NULL);
}

/*
 * 2. Detached (on an async thread, or on the caller's task after its
 * context moved to a spare): async_exec() returns NULL while atom 0
 * sleeps; the submitter then installs the filter itself. The carrying
 * task must post the chain with getppid() unrun (-ECANCELED) and go on
 * serving: a second chain afterwards still completes.
 */
static int detached_case(void *unused)
{
	static struct tsc c;
	struct syslet_uatom *a;
	long r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return 20;
	tsc_init(&c, 0, 300);
	r = sys_async_exec(&c.atom[0], &c.ahu);
	if (r != 0) {
		say("detached: async_exec() = %#lx errno %d, want 0", r, errno);
		return 21;
	}
	late.ret = install_tsync_kill_getppid();
	late.err = errno;
	if (!filter_ok())
		return 22;
	a = reap_deadline(&c.ahu, c.ring, 8, 10000);
	say("detached: completion %s; atoms %ld %ld %ld",
	    a == &c.atom[1] ? "&atom1" : a ? "another atom" : "none within 10 s",
	    c.ret[0], c.ret[1], c.ret[2]);
	if (a != &c.atom[1])
		return 23;
	if (c.ret[0] != 0 || c.ret[1] != -ECANCELED || c.ret[2] != NO_ATOM)
		return 24;
	/* Under the filter now: the next chain runs in this thread. */
	tsc_init(&c, 0, 10);
	c.atom[1].nr = __NR_gettid;
	r = sys_async_exec(&c.atom[0], &c.ahu);
	if (r != (long)&c.atom[2] || c.ret[1] != gettid() || c.ret[2] != getpid()) {
		say("after: async_exec() = %#lx errno %d; atoms %ld %ld %ld", r, errno,
		    c.ret[0], c.ret[1], c.ret[2]);
		return 25;
	}
	return 0;
}

HTEST(tsync_filter_after_a_handoff_cancels_the_carried_chain)
{
	as_both(_metadata, detached_case, NULL);
}

HTEST(tsync_filter_on_a_detached_async_thread_cancels_the_chain)
{
	ASSERT_EQ(0, write_sysctl("syslet_handoff", 0));
	as_both(_metadata, detached_case, NULL);
}

TEST_HARNESS_MAIN
