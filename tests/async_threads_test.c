// SPDX-License-Identifier: GPL-2.0
/*
 * Chains that go asynchronous: a blocking atom detaches the chain, the
 * caller gets NULL at once, the completion arrives in the ring exactly
 * once. SYSLET_ASYNC, SYSLET_SYNC, SYSLET_NO_COMPLETE, a full ring, the
 * thread cap and idle reaping, and teardown with work in flight.
 *
 * These are the engine's async-thread model, which runs the chains of
 * tasks that cannot hand their context over (syslet/handoff.rs): the
 * program turns the cachemiss handoff off (kernel.syslet_handoff=0) for
 * its run. tests/cachemiss_*_test.c cover the handoff.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "syslet_test.h"

/* Async threads of this process. */
static int async_threads(void)
{
	return async_thread_ids(NULL, 0);
}

static int write_sysctl(const char *name, unsigned int v)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	return write_number(path, v);
}

static long read_sysctl(const char *name)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	return read_number(path);
}

/* The harness runs each test in a child: only the main process restores. */
static pid_t main_pid;

__attribute__((constructor)) static void async_thread_model(void)
{
	main_pid = getpid();
	if (write_sysctl("syslet_handoff", 0))
		perror("syslet_handoff");
}

__attribute__((destructor)) static void handoff_model(void)
{
	if (getpid() == main_pid)
		write_sysctl("syslet_handoff", 1);
}

/* A chain of one read(fd, buf, len) atom. */
struct reader {
	struct syslet_uatom atom;
	unsigned long fd, buf, len;
	long ret;
	char data[64];
};

static void reader_init(struct reader *r, int fd, unsigned long flags)
{
	r->fd = fd;
	r->buf = (unsigned long)r->data;
	r->len = sizeof(r->data);
	r->ret = -12345;
	atom_set(&r->atom, flags, __NR_read, &r->ret, NULL,
		 ATOM_ARGS(&r->fd, &r->buf, &r->len));
}

FIXTURE(ring)
{
	struct syslet_uatom *ring[64];
	struct async_head_user ahu;
	int p[2];
};

FIXTURE_SETUP(ring)
{
	memset(self, 0, sizeof(*self));
	self->ahu.completion_ring = self->ring;
	self->ahu.ring_size_bytes = sizeof(self->ring);
	ASSERT_EQ(0, pipe(self->p));
}

FIXTURE_TEARDOWN(ring)
{
	close(self->p[0]);
	close(self->p[1]);
}

TEST_F(ring, blocking_atom_returns_null_at_once_then_completes_once)
{
	struct reader r;
	double t0, t_ret;

	reader_init(&r, self->p[0], 0);
	t0 = now_ms();
	/* The pipe is empty: read() blocks, the chain goes asynchronous. */
	ASSERT_EQ(0, sys_async_exec(&r.atom, &self->ahu));
	t_ret = now_ms() - t0;
	ASSERT_EQ(-12345, r.ret);
	usleep(100 * 1000);
	ASSERT_EQ(0, self->ahu.kernel_ring_idx);
	ASSERT_EQ(5, write(self->p[1], "hello", 5));
	ASSERT_EQ(&r.atom, reap(&self->ahu, self->ring, 64));
	ASSERT_EQ(5, r.ret);
	ASSERT_EQ(0, memcmp(r.data, "hello", 5));
	/* Exactly one completion. */
	ASSERT_EQ(1, self->ahu.kernel_ring_idx);
	ASSERT_EQ(0, sys_async_wait(0, 1, &self->ahu));
	TH_LOG("async_exec returned after %.2f ms; the data came 100 ms later", t_ret);
	ASSERT_LT(t_ret, 100.0);
}

TEST_F(ring, async_flag_goes_async_even_without_blocking)
{
	struct syslet_uatom a[2];
	long r[2] = { 0, 0 };

	atom_set(&a[0], 0, __NR_getpid, &r[0], &a[1], NULL);
	atom_set(&a[1], SYSLET_ASYNC, __NR_getppid, &r[1], NULL, NULL);
	ASSERT_EQ(0, sys_async_exec(a, &self->ahu));
	ASSERT_EQ(&a[1], reap(&self->ahu, self->ring, 64));
	ASSERT_EQ(getpid(), r[0]);
	ASSERT_EQ(getppid(), r[1]);
}

static void *write_later(void *arg)
{
	int fd = *(int *)arg;

	usleep(200 * 1000);
	if (write(fd, "late", 4) != 4)
		return (void *)1;
	return NULL;
}

TEST_F(ring, sync_flag_keeps_a_blocking_atom_attached)
{
	struct reader r;
	pthread_t t;
	double t0;

	reader_init(&r, self->p[0], SYSLET_SYNC);
	ASSERT_EQ(0, pthread_create(&t, NULL, write_later, &self->p[1]));
	t0 = now_ms();
	/* read() blocks inside a SYNC atom: async_exec waits for the data. */
	ASSERT_EQ((long)&r.atom, sys_async_exec(&r.atom, &self->ahu));
	ASSERT_GE(now_ms() - t0, 150.0);
	ASSERT_EQ(4, r.ret);
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, self->ahu.kernel_ring_idx);
}

TEST_F(ring, no_complete_posts_nothing)
{
	struct reader r;
	int i;

	reader_init(&r, self->p[0], SYSLET_NO_COMPLETE);
	ASSERT_EQ(0, sys_async_exec(&r.atom, &self->ahu));
	ASSERT_EQ(3, write(self->p[1], "abc", 3));
	for (i = 0; i < 200 && __atomic_load_n(&r.ret, __ATOMIC_ACQUIRE) != 3; i++)
		usleep(10 * 1000);
	ASSERT_EQ(3, r.ret);
	usleep(50 * 1000);
	ASSERT_EQ(0, self->ahu.kernel_ring_idx);
	ASSERT_EQ(NULL, self->ring[0]);
}

TEST_F(ring, many_chains_complete_exactly_once)
{
	enum { N = 48 };
	struct syslet_uatom *a = calloc(N, sizeof(*a));
	long *r = calloc(N, sizeof(*r));
	int seen[N] = { 0 };
	int i;

	ASSERT_NE(NULL, a);
	for (i = 0; i < N; i++) {
		atom_set(&a[i], SYSLET_ASYNC, __NR_getppid, &r[i], NULL, NULL);
		ASSERT_EQ(0, sys_async_exec(&a[i], &self->ahu));
	}
	for (i = 0; i < N; i++) {
		struct syslet_uatom *done = reap(&self->ahu, self->ring, 64);

		ASSERT_NE(NULL, done);
		ASSERT_TRUE(done >= a && done < a + N);
		seen[done - a]++;
	}
	for (i = 0; i < N; i++) {
		EXPECT_EQ(1, seen[i]) TH_LOG("chain %d", i);
		EXPECT_EQ(getppid(), r[i]);
	}
	usleep(50 * 1000);
	ASSERT_EQ(N, self->ahu.kernel_ring_idx);
	free(a);
	free(r);
}

TEST(full_ring_is_never_overwritten)
{
	struct syslet_uatom *ring[1] = { NULL }, a[3];
	struct async_head_user ahu = RING_HEAD(ring);
	long r[3];
	int i;

	for (i = 0; i < 3; i++) {
		atom_set(&a[i], SYSLET_ASYNC, __NR_getpid, &r[i], NULL, NULL);
		ASSERT_EQ(0, sys_async_exec(&a[i], &ahu));
	}
	/* One slot: the first completion fills it, the others wait. */
	for (i = 0; i < 3; i++) {
		struct syslet_uatom *done;

		ASSERT_EQ(1, sys_async_wait(1, i, &ahu));
		done = ring[0];
		ASSERT_NE(NULL, done);
		usleep(30 * 1000);
		/* Still the same entry: nobody overwrote it. */
		ASSERT_EQ(done, ring[0]);
		ASSERT_EQ(i + 1, ahu.kernel_ring_idx);
		ring[0] = NULL;
		ahu.user_ring_idx = i + 1;
	}
	usleep(30 * 1000);
	ASSERT_EQ(3, ahu.kernel_ring_idx);
}

TEST_F(ring, thread_cap_makes_async_flag_eagain)
{
	long old = read_sysctl("syslet_max_threads");
	struct reader r[2];
	struct syslet_uatom a;
	long ra;

	ASSERT_GE(old, 1);
	ASSERT_EQ(0, write_sysctl("syslet_max_threads", 2));
	/* Two blocked chains hold both threads. */
	reader_init(&r[0], self->p[0], 0);
	reader_init(&r[1], self->p[0], 0);
	ASSERT_EQ(0, sys_async_exec(&r[0].atom, &self->ahu));
	ASSERT_EQ(0, sys_async_exec(&r[1].atom, &self->ahu));
	/* A third chain runs inline: SYSLET_ASYNC cannot be honoured. */
	atom_set(&a, SYSLET_ASYNC, __NR_getpid, &ra, NULL, NULL);
	errno = 0;
	ASSERT_EQ(-1, sys_async_exec(&a, &self->ahu));
	ASSERT_EQ(EAGAIN, errno);
	/* Non-blocking work still runs, inline. */
	atom_set(&a, 0, __NR_getpid, &ra, NULL, NULL);
	ASSERT_EQ((long)&a, sys_async_exec(&a, &self->ahu));
	ASSERT_EQ(getpid(), ra);
	ASSERT_EQ(2, async_threads());
	/* One write per blocked reader (a read takes all there is). */
	ASSERT_EQ(2, write(self->p[1], "12", 2));
	ASSERT_NE(NULL, reap(&self->ahu, self->ring, 64));
	ASSERT_EQ(2, write(self->p[1], "34", 2));
	ASSERT_NE(NULL, reap(&self->ahu, self->ring, 64));
	ASSERT_EQ(4, r[0].ret + r[1].ret);
	ASSERT_EQ(0, write_sysctl("syslet_max_threads", old));
}

TEST(sysctls_refuse_out_of_range_values)
{
	ASSERT_EQ(-1, write_sysctl("syslet_max_threads", 0));
	ASSERT_EQ(-1, write_sysctl("syslet_max_threads", 100000));
	ASSERT_EQ(-1, write_sysctl("syslet_idle_msecs", 1));
	ASSERT_EQ(-1, write_sysctl("syslet_handoff", 2));
	ASSERT_EQ(0, read_sysctl("syslet_handoff"));
	ASSERT_GE(read_sysctl("syslet_max_threads"), 1);
	ASSERT_GE(read_sysctl("syslet_idle_msecs"), 10);
}

TEST(idle_threads_are_reaped)
{
	long old = read_sysctl("syslet_idle_msecs");
	struct syslet_uatom *ring[4] = { 0 }, a;
	struct async_head_user ahu = RING_HEAD(ring);
	long r;
	int i;

	ASSERT_EQ(0, write_sysctl("syslet_idle_msecs", 200));
	atom_set(&a, SYSLET_ASYNC, __NR_getpid, &r, NULL, NULL);
	ASSERT_EQ(0, sys_async_exec(&a, &ahu));
	ASSERT_EQ(1, sys_async_wait(1, 0, &ahu));
	ASSERT_EQ(1, async_threads());
	for (i = 0; i < 100 && async_threads() > 0; i++)
		usleep(20 * 1000);
	ASSERT_EQ(0, async_threads());
	ASSERT_EQ(0, write_sysctl("syslet_idle_msecs", old));
}

/* A child with `n` chains blocked on a pipe nobody writes; `how` ends it. */
static int child_with_blocked_chains(int n, int how)
{
	struct syslet_uatom *ring[64] = { 0 };
	struct async_head_user ahu = RING_HEAD(ring);
	struct reader *r = calloc(n, sizeof(*r));
	int p[2], i;

	if (!r || pipe(p))
		return 2;
	for (i = 0; i < n; i++) {
		reader_init(&r[i], p[0], 0);
		if (sys_async_exec(&r[i].atom, &ahu) != 0)
			return 3;
	}
	if (async_threads() != n)
		return 4;
	switch (how) {
	case 0:
		exit(0);		/* exit_group with work in flight */
	case 1:
		pause();		/* killed by the parent */
		return 5;
	default:
		execl("/bin/true", "true", NULL);	/* exec with work in flight */
		return 6;
	}
}

TEST(teardown_with_work_in_flight_leaves_nothing)
{
	long processes = live("processes"), workers = live("workers"), jobs = live("jobs");
	int round, how, i;

	ASSERT_GE(processes, 0);
	ASSERT_GE(workers, 0);
	ASSERT_GE(jobs, 0);

	for (round = 0; round < 5; round++) {
		for (how = 0; how < 3; how++) {
			pid_t pid = fork();
			int status;

			ASSERT_GE(pid, 0);
			if (pid == 0)
				_exit(child_with_blocked_chains(8, how));
			if (how == 1) {
				usleep(200 * 1000);
				/* The counters see the child's chains in flight. (A
				 * process of an earlier test may still be going
				 * away: compare with the child's own numbers.) */
				ASSERT_GE(live("workers"), 8);
				ASSERT_GE(live("jobs"), 8);
				ASSERT_GE(live("processes"), 1);
				ASSERT_EQ(0, kill(pid, SIGKILL));
			}
			ASSERT_EQ(pid, waitpid(pid, &status, 0));
			if (how == 1) {
				ASSERT_TRUE(WIFSIGNALED(status));
				ASSERT_EQ(SIGKILL, WTERMSIG(status));
			} else {
				ASSERT_TRUE(WIFEXITED(status)) TH_LOG("how %d", how);
				ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("how %d", how);
			}
		}
	}
	/* 15 processes with 8 chains each are gone: so are their states,
	 * threads and jobs (the last references drop in RCU callbacks).
	 * Objects alive at the start may have gone too, never more. */
	for (i = 0; i < 100 && (live("processes") > processes ||
				live("workers") > workers || live("jobs") > jobs); i++)
		usleep(20 * 1000);
	ASSERT_LE(live("processes"), processes);
	ASSERT_LE(live("workers"), workers);
	ASSERT_LE(live("jobs"), jobs);
}

TEST(proc_counters_start_at_zero)
{
	ASSERT_EQ(0, syslet_stat("chains"));
	ASSERT_EQ(0, syslet_stat("atoms_inline"));
	ASSERT_EQ(0, syslet_stat("atoms_async_thread"));
	ASSERT_EQ(0, syslet_stat("threads_alive"));
	ASSERT_EQ(0, syslet_stat("threads_peak"));
}

TEST_F(ring, proc_counters_count_chains_atoms_and_threads)
{
	struct syslet_uatom a[3];
	struct reader r;
	long ret[3];

	/* A three-atom chain that goes asynchronous at its last atom. */
	atom_set(&a[0], 0, __NR_getpid, &ret[0], &a[1], NULL);
	atom_set(&a[1], 0, __NR_getpid, &ret[1], &a[2], NULL);
	atom_set(&a[2], SYSLET_ASYNC, __NR_getpid, &ret[2], NULL, NULL);
	ASSERT_EQ(0, sys_async_exec(a, &self->ahu));
	ASSERT_EQ(&a[2], reap(&self->ahu, self->ring, 64));
	/* The thread parks right after posting; let it, so it is reused. */
	usleep(100 * 1000);
	/* And one blocked chain, still in flight, on the same thread. */
	reader_init(&r, self->p[0], 0);
	ASSERT_EQ(0, sys_async_exec(&r.atom, &self->ahu));
	usleep(50 * 1000);
	EXPECT_EQ(1, syslet_stat("chains"));	/* the blocked one is not done */
	EXPECT_EQ(3, syslet_stat("atoms_async_thread"));
	EXPECT_EQ(1, syslet_stat("chains_async"));
	EXPECT_EQ(1, syslet_stat("completions"));
	EXPECT_EQ(1, syslet_stat("threads_alive"));
	EXPECT_EQ(1, syslet_stat("threads_peak"));
	ASSERT_EQ(1, write(self->p[1], "x", 1));
	ASSERT_EQ(&r.atom, reap(&self->ahu, self->ring, 64));
	usleep(50 * 1000);
	EXPECT_EQ(2, syslet_stat("chains"));
	EXPECT_EQ(4, syslet_stat("atoms_async_thread"));
	EXPECT_EQ(2, syslet_stat("completions"));
}

TEST(atoms_run_with_the_submitters_credentials)
{
	pid_t pid;
	int status;

	if (geteuid() != 0)
		SKIP(return, "needs root to change credentials");
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct syslet_uatom *ring[4] = { 0 }, a[2];
		struct async_head_user ahu = RING_HEAD(ring);
		struct reader r;
		unsigned long path, flags = O_RDONLY;
		long ret[2] = { 0, 0 };
		int p[2], fd;

		/* A file only root may read. */
		fd = open("/tmp/syslet-root-only", O_CREAT | O_WRONLY | O_TRUNC, 0600);
		if (fd < 0 || pipe(p))
			_exit(10);
		close(fd);
		/* As root: a chain that blocks, then asks for the euid. The async
		 * thread is created now, by root. */
		reader_init(&r, p[0], 0);
		r.atom.next = &a[0];
		atom_set(&a[0], 0, __NR_geteuid, &ret[0], NULL, NULL);
		if (sys_async_exec(&r.atom, &ahu) != 0)
			_exit(11);
		/* This thread drops privileges: the detached chain, which
		 * runs with root's, stops before its next atom. */
		ret[0] = 12345;
		if (syscall(__NR_setresuid, 1000, 1000, 1000))
			_exit(12);
		if (write(p[1], "x", 1) != 1 || sys_async_wait(1, 0, &ahu) != 1)
			_exit(13);
		if (ret[0] != -ECANCELED || ring[0] != &a[0])
			_exit(14);
		/* Now as uid 1000, on the same (root-made) thread: the atom
		 * must not read root's file. */
		path = (unsigned long)"/tmp/syslet-root-only";
		atom_set(&a[1], SYSLET_ASYNC, __NR_open, &ret[1], NULL,
			 ATOM_ARGS(&path, &flags));
		if (sys_async_exec(&a[1], &ahu) != 0 || sys_async_wait(1, 1, &ahu) != 1)
			_exit(15);
		_exit(ret[1] == -EACCES ? 0 : 16);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	unlink("/tmp/syslet-root-only");
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
