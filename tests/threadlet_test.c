// SPDX-License-Identifier: GPL-2.0
/*
 * Threadlets through tools/threadlet/threadlet.h: a function that does not
 * block runs inline; one that blocks lets the caller go on at once, under
 * its own TID, and completes in another thread; many at a time, as in
 * Ingo Molnar's 2007 threadlet-test; the errors of threadlet_on() and
 * threadlet_off(); and a process that exits with a threadlet blocked.
 *
 * The threadlet functions issue their system calls with raw_syscall3():
 * once they may have blocked they run on the caller's TLS concurrently
 * with the caller, so they must leave errno (and everything else reached
 * through %fs) alone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "syslet_test.h"
#include "threadlet.h"
#include "threadlet_test.h"


struct probe {
	int ran;
	long tid;
	uintptr_t sp;
};

static void probe_fn(void *arg)
{
	struct probe *p = arg;
	char here;

	p->tid = raw_gettid();
	p->sp = (uintptr_t)&here;
	p->ran++;
}

TEST(nonblocking_function_runs_inline)
{
	struct probe p = { 0 }, warm = { 0 };
	long tid = syscall(__NR_gettid);
	char *stack = new_stack();

	ASSERT_NE(NULL, stack);
	warm_up(probe_fn, &warm);
	ASSERT_EQ(THREADLET_INLINE, threadlet_exec(probe_fn, &p, stack, STACK_SIZE));
	ASSERT_EQ(1, p.ran);
	/* It ran in the caller's thread, on the given stack. */
	ASSERT_EQ(tid, p.tid);
	ASSERT_TRUE(p.sp > (uintptr_t)stack && p.sp < (uintptr_t)stack + STACK_SIZE);
	ASSERT_EQ(tid, syscall(__NR_gettid));
	/* threadlet_exec() turned threadlet mode off again. */
	errno = 0;
	ASSERT_EQ(-1, sys_threadlet_off());
	ASSERT_EQ(EINVAL, errno);
	/* The stack is free once the call returned inline: reuse it. */
	ASSERT_EQ(THREADLET_INLINE, threadlet_exec(probe_fn, &p, stack, STACK_SIZE));
	ASSERT_EQ(2, p.ran);
	free(stack);
}

/* A threadlet that reads a pipe, and what it saw. */
struct blocker {
	int fd;
	long tid_before, tid_after;
	long ret;
	char buf[16];
	unsigned long sigmask;
	int done;
};

static void blocking_fn(void *arg)
{
	struct blocker *b = arg;

	b->tid_before = raw_gettid();
	b->ret = raw_syscall3(__NR_read, b->fd, (long)b->buf, sizeof(b->buf));
	b->tid_after = raw_gettid();
	/* The signal mask of the thread that runs it now (8 bytes: 64 signals). */
	raw_syscall4(__NR_rt_sigprocmask, SIG_BLOCK, 0, (long)&b->sigmask, 8);
	word_add(&b->done, 1);
}

/* Writes `msg` to `fd` `delay_ms` after it starts, and not before `*gate`. */
struct writer {
	int fd;
	int delay_ms;
	int *gate;
	const char *msg;
	double wrote_at;
};

static void *write_later(void *arg)
{
	struct writer *w = arg;

	usleep(w->delay_ms * 1000);
	/*
	 * Under emulation the thread switch behind WENT_ASYNC can take longer
	 * than the delay. Waiting for the caller's return keeps the order
	 * "return, then data" that the test checks, without making it
	 * tautological: a threadlet_exec() that waits for the data is still
	 * caught, when the gate times out and the data comes first.
	 */
	wait_for(w->gate, 1, 2000);
	w->wrote_at = now_ms();
	if (write(w->fd, w->msg, strlen(w->msg)) != (ssize_t)strlen(w->msg))
		return (void *)1;
	return NULL;
}

TEST(blocking_function_goes_async_and_completes)
{
	struct blocker *b = calloc(1, sizeof(*b));	/* outlives a failed test */
	int *returned = calloc(1, sizeof(int));
	long tid = syscall(__NR_gettid);
	pid_t pid = getpid();
	char *stack = new_stack();
	struct writer *w = calloc(1, sizeof(*w));
	double t0, t_ret;
	pthread_t t;
	int p[2], done_at_return;
	long r;

	ASSERT_NE(NULL, b);
	ASSERT_NE(NULL, returned);
	ASSERT_NE(NULL, stack);
	ASSERT_NE(NULL, w);
	ASSERT_EQ(0, pipe(p));
	b->fd = p[0];
	*w = (struct writer){ .fd = p[1], .delay_ms = 10, .gate = returned, .msg = "threadlet" };
	ASSERT_EQ(0, pthread_create(&t, NULL, write_later, w));

	t0 = now_ms();
	r = threadlet_exec(blocking_fn, b, stack, STACK_SIZE);
	t_ret = now_ms();
	done_at_return = __atomic_load_n(&b->done, __ATOMIC_ACQUIRE);
	word_add(returned, 1);

	ASSERT_EQ(THREADLET_WENT_ASYNC, r);
	ASSERT_EQ(0, done_at_return);
	/*
	 * The caller's identity went with its context, its TID too; the main
	 * thread's takes the group's leadership with it (Documentation/
	 * handoff.md, "The group leader"), so here gettid() is still the PID.
	 */
	ASSERT_EQ(tid, syscall(__NR_gettid));
	ASSERT_EQ(pid, getpid());

	ASSERT_EQ(1, wait_for(&b->done, 1, 5000));
	ASSERT_EQ(0, pthread_join(t, NULL));
	TH_LOG("threadlet_exec returned after %.2f ms, the data came at %.2f ms",
	       t_ret - t0, w->wrote_at - t0);
	ASSERT_LT(t_ret, w->wrote_at);
	ASSERT_EQ(9, b->ret);
	ASSERT_EQ(0, memcmp(b->buf, "threadlet", 9));
	/*
	 * Inline until it blocked; then in another thread (the giver, under
	 * the spare's old TID: the context took the caller's), all signals
	 * blocked.
	 */
	ASSERT_EQ(tid, b->tid_before);
	ASSERT_GT(b->tid_after, 0);
	ASSERT_NE(tid, b->tid_after);
	EXPECT_TRUE(b->sigmask & (1UL << (SIGINT - 1)));
	EXPECT_TRUE(b->sigmask & (1UL << (SIGTERM - 1)));
	EXPECT_TRUE(b->sigmask & (1UL << (SIGUSR1 - 1)));
	EXPECT_TRUE(b->sigmask & (1UL << (SIGRTMIN - 1)));
	/* The caller is not in threadlet mode. */
	errno = 0;
	ASSERT_EQ(-1, sys_threadlet_off());
	ASSERT_EQ(EINVAL, errno);
	close(p[0]);
	close(p[1]);
}

/* Ingo's threadlet-test: many threadlets, half of them blocking. */
struct job {
	int fd;
	int blocks;
	long ret;
	char buf[8];
	int runs;
};

static int completed;

static void job_fn(void *arg)
{
	struct job *j = arg;

	j->ret = raw_syscall3(__NR_read, j->fd, (long)j->buf, sizeof(j->buf));
	__atomic_add_fetch(&j->runs, 1, __ATOMIC_RELAXED);
	word_add(&completed, 1);
}

struct filler {
	struct job *jobs;
	int *wfd;
	int n;
	int launched;
};

/*
 * Fills the pipes of the blocking jobs once all jobs are launched: each
 * blocking one went asynchronous in its read(), so it waits there.
 */
static void *fill_later(void *arg)
{
	struct filler *f = arg;
	int i;

	wait_for(&f->launched, 1, 5000);
	for (i = 0; i < f->n; i++)
		if (f->jobs[i].blocks && write(f->wfd[i], "B", 1) != 1)
			return (void *)1;
	return NULL;
}

TEST(many_threadlets_complete_exactly_once)
{
	enum { N = 50 };
	struct job *jobs = calloc(N, sizeof(*jobs));
	int *wfd = calloc(N, sizeof(int));
	void **stacks = calloc(N, sizeof(void *));
	struct filler *f = calloc(1, sizeof(*f));
	long ret[N], tid = syscall(__NR_gettid);
	int i, p[2], inline_n = 0, async_n = 0, blocking_n = 0;
	struct job warm = { 0 };
	pthread_t t;

	ASSERT_NE(NULL, jobs);
	ASSERT_NE(NULL, wfd);
	ASSERT_NE(NULL, stacks);
	ASSERT_NE(NULL, f);
	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, pipe(p));
		jobs[i].fd = p[0];
		jobs[i].blocks = i % 2 == 0;
		wfd[i] = p[1];
		blocking_n += jobs[i].blocks;
		/* The others find their byte already there. */
		if (!jobs[i].blocks)
			ASSERT_EQ(1, write(p[1], "n", 1));
		stacks[i] = new_stack();
		ASSERT_NE(NULL, stacks[i]);
	}
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(1, write(p[1], "w", 1));
	warm.fd = p[0];
	warm_up(job_fn, &warm);
	ASSERT_EQ(1, warm.ret);
	completed = 0;

	*f = (struct filler){ .jobs = jobs, .wfd = wfd, .n = N };
	ASSERT_EQ(0, pthread_create(&t, NULL, fill_later, f));
	for (i = 0; i < N; i++)
		ret[i] = threadlet_exec(job_fn, &jobs[i], stacks[i], STACK_SIZE);
	word_add(&f->launched, 1);

	for (i = 0; i < N; i++) {
		inline_n += ret[i] == THREADLET_INLINE;
		async_n += ret[i] == THREADLET_WENT_ASYNC;
		EXPECT_EQ(jobs[i].blocks ? THREADLET_WENT_ASYNC : THREADLET_INLINE, ret[i])
			TH_LOG("threadlet %d", i);
	}
	ASSERT_EQ(blocking_n, async_n);
	ASSERT_EQ(N - blocking_n, inline_n);
	/* The TID follows the context, the main thread's too (see above). */
	ASSERT_EQ(tid, syscall(__NR_gettid));

	ASSERT_EQ(N, wait_for(&completed, N, 5000));
	ASSERT_EQ(0, pthread_join(t, NULL));
	for (i = 0; i < N; i++) {
		EXPECT_EQ(1, __atomic_load_n(&jobs[i].runs, __ATOMIC_ACQUIRE)) TH_LOG("threadlet %d", i);
		EXPECT_EQ(1, jobs[i].ret) TH_LOG("threadlet %d", i);
		EXPECT_EQ(jobs[i].blocks ? 'B' : 'n', jobs[i].buf[0]) TH_LOG("threadlet %d", i);
	}
	/* Exactly once: nothing completes a second time later. */
	usleep(50 * 1000);
	ASSERT_EQ(N, __atomic_load_n(&completed, __ATOMIC_ACQUIRE));
}

TEST(threadlet_calls_refuse_bad_use)
{
	long on1, on2, off;
	int on2_errno;

	errno = 0;
	ASSERT_EQ(-1, sys_threadlet_on(1));
	ASSERT_EQ(EINVAL, errno);
	errno = 0;
	ASSERT_EQ(-1, sys_threadlet_off());
	ASSERT_EQ(EINVAL, errno);

	/*
	 * Nothing between on and off may sleep (a failed assertion prints):
	 * keep the results, check them after threadlet_off().
	 */
	errno = 0;
	on1 = sys_threadlet_on(0);
	on2 = sys_threadlet_on(0);
	on2_errno = errno;
	off = sys_threadlet_off();
	ASSERT_EQ(THREADLET_INLINE, on1);
	ASSERT_EQ(-1, on2);
	ASSERT_EQ(EBUSY, on2_errno);
	ASSERT_EQ(THREADLET_INLINE, off);
	errno = 0;
	ASSERT_EQ(-1, sys_threadlet_off());
	ASSERT_EQ(EINVAL, errno);
}

struct nest {
	char *stack;
	long inner;
	struct probe probe;
};

static void nest_fn(void *arg)
{
	struct nest *n = arg;

	n->inner = threadlet_exec(probe_fn, &n->probe, n->stack, STACK_SIZE);
}

TEST(threadlet_exec_reports_errors)
{
	struct nest n = { 0 };
	struct probe warm = { 0 };
	char *stack = new_stack();

	ASSERT_NE(NULL, stack);
	n.stack = new_stack();
	ASSERT_NE(NULL, n.stack);
	/* No stack: refused before any system call. */
	ASSERT_EQ(-EINVAL, threadlet_exec(probe_fn, &n.probe, NULL, STACK_SIZE));
	ASSERT_EQ(-EINVAL, threadlet_exec(probe_fn, &n.probe, stack, 16));
	ASSERT_EQ(0, n.probe.ran);
	/* A threadlet inside a threadlet: -EBUSY, the inner one never runs. */
	warm_up(probe_fn, &warm);
	ASSERT_EQ(THREADLET_INLINE, threadlet_exec(nest_fn, &n, stack, STACK_SIZE));
	ASSERT_EQ(-EBUSY, n.inner);
	ASSERT_EQ(0, n.probe.ran);
	free(n.stack);
	free(stack);
}

TEST(process_exits_with_a_threadlet_blocked)
{
	pid_t pid;
	int status;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		static struct blocker b;
		char *stack = new_stack();
		int p[2];

		/* If the threadlet stayed inline it would wait forever. */
		alarm(10);
		if (!stack || pipe(p))
			_exit(2);
		b.fd = p[0];
		/* Nobody writes: the threadlet stays blocked until the exit. */
		if (threadlet_exec(blocking_fn, &b, stack, STACK_SIZE) != THREADLET_WENT_ASYNC)
			_exit(3);
		_exit(7);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("status %#x", status);
	ASSERT_EQ(7, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
