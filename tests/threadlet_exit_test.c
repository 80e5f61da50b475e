// SPDX-License-Identifier: GPL-2.0
/*
 * A thread that ends (SYS_exit) inside a threadlet whose head has moved
 * to a spare thread: the process must go on.
 *
 * Documentation/handoff.md: "a task that exits with a threadlet on frees
 * its record in the do_exit() hook". The task that blocked in the
 * threadlet took over the place of the spare it gave its context to in
 * the process's count of engine threads (syslet/handoff.rs,
 * `Spare::serve`: "until it exits or parks as a spare in its turn"). The
 * process ends once every live thread is one the engine counts (the exit
 * hook after the live decrement, `no_user_threads_left`; before issue 17,
 * the parked group leader). If the exit of a task in a moved threadlet
 * does not give its place back, the count stays one too high for good,
 * and the exit of another thread takes the program's last user thread
 * for an engine thread: the process ends while that thread still runs.
 *
 * Found by make fuzz (tools/fuzz, raw threadlet sequences that end their
 * thread with the threadlet on): "exited 0 in the middle of op N".
 */
#define _GNU_SOURCE
#include <time.h>

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "threadlet.h"

enum { STACK_SIZE = 64 << 10 };

/* What the child process exits with. */
enum {
	LIVED = 42,		/* the main flow reached its end */
	NO_MAIN_HANDOFF = 3,	/* the main thread's threadlet did not go asynchronous */
	NO_COMPLETION = 4,	/* nor completed */
	NO_THREAD = 5,		/* pthread_create failed */
	THREAD_STUCK = 6,	/* the second thread never got to its exit */
	THREAD_ON_FAILED = 7,	/* its threadlet_on() did not return 1 */
	THREAD_NOT_MOVED = 8,	/* its head did not move to a spare */
	NO_UNSHARE = 9,		/* unshare(CLONE_FS) failed */
};

static const struct timespec nap = { 0, 30 * 1000000 };

/* The main thread's threadlet: it blocks, so the leader's context moves. */
static void nap_fn(void *arg)
{
	raw_syscall4(__NR_nanosleep, (long)&nap, 0, 0, 0);
	word_set(arg, 1);
}

/*
 * threadlet_on(0). Its second return (0, in the spare that took the head
 * over) ends that thread at once, without touching the stack, which the
 * task that blocked is still using.
 */
static __attribute__((naked, noinline)) long on_or_leave(void)
{
	__asm__("	mov $" THREADLET_STR(__NR_threadlet_on) ",%eax\n"
		"	xor %edi,%edi\n"
		"	syscall\n"
		"	test %rax,%rax\n"
		"	jnz 1f\n"
		"	mov $" THREADLET_STR(__NR_exit) ",%eax\n"
		"	xor %edi,%edi\n"
		"	syscall\n"
		"	ud2\n"
		"1:	ret\n");
}

struct leaver {
	int state;		/* 1: its threadlet_on failed, 2: about to exit */
	int off;		/* end with threadlet_off() (it parks) instead */
	long on, tid_before, tid_after;
};

/* Turns threadlet mode on, blocks (its head moves to a spare), and ends
 * its task with the threadlet still on (or, l->off, with threadlet_off(),
 * where it parks as a spare for good). Raw calls only: once the head has
 * moved this task runs on the thread's TLS beside the spare. */
static void *leaver_main(void *arg)
{
	struct leaver *l = arg;

	l->tid_before = raw_syscall4(__NR_gettid, 0, 0, 0, 0);
	l->on = on_or_leave();
	if (l->on != THREADLET_INLINE) {
		word_set(&l->state, 1);
		return NULL;
	}
	raw_syscall4(__NR_nanosleep, (long)&nap, 0, 0, 0);
	l->tid_after = raw_syscall4(__NR_gettid, 0, 0, 0, 0);
	word_set(&l->state, 2);
	if (l->off)
		raw_syscall4(__NR_threadlet_off, 0, 0, 0, 0);
	raw_syscall4(__NR_exit, 0, 0, 0, 0);
	return NULL;
}

static int main_flow(int off)
{
	static int done;
	static struct leaver l;
	char *stack = malloc(STACK_SIZE);
	void (*volatile warm)(void *) = nap_fn;
	int warm_word = 0;
	pthread_attr_t at;
	pthread_t t;
	double end;

	alarm(20);
	l.off = off;
	if (!stack)
		return NO_THREAD;
	memset(stack, 0x5a, STACK_SIZE);	/* no first-touch fault in the threadlet */
	warm(&warm_word);			/* nor on its code page */
	/* 1. The main thread's context moves to a spare: the leader task
	 * finishes the threadlet and parks (park_leader). */
	if (threadlet_exec(nap_fn, &done, stack, STACK_SIZE) != THREADLET_WENT_ASYNC)
		return NO_MAIN_HANDOFF;
	if (!word_wait(&done, 1, 5000))
		return NO_COMPLETION;
	/* 2. A second thread ends in a threadlet whose head moved. */
	if (pthread_attr_init(&at) || pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED) ||
	    pthread_create(&t, &at, leaver_main, &l))
		return NO_THREAD;
	if (!word_wait(&l.state, 1, 5000))
		return THREAD_STUCK;
	if (l.state == 1) {
		say("threadlet_on() in the second thread returned %ld", l.on);
		return THREAD_ON_FAILED;
	}
	if (l.tid_after == l.tid_before) {
		say("the second thread's head did not move (TID %ld before and after)", l.tid_before);
		return THREAD_NOT_MOVED;
	}
	/* 3. The main flow goes on for 1 s: the process must not end under it. */
	end = now_ms() + 1000;
	while (now_ms() < end)
		usleep(10000);
	return LIVED;
}

static void check_lives(struct __test_metadata *_metadata, int off)
{
	int status;
	pid_t pid;

	if (geteuid() == 0)
		reset_sysctls();	/* the handoff on */
	fflush(NULL);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(main_flow(off));
	ASSERT_TRUE(wait_deadline(pid, &status, 25000)) {
		kill_reap(pid);
	}
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("the process ended with status %#x", status);
	if (WEXITSTATUS(status) == NO_MAIN_HANDOFF || WEXITSTATUS(status) == THREAD_NOT_MOVED)
		SKIP(return, "no handoff happened (no spare to be had?): nothing to check");
	ASSERT_EQ(LIVED, WEXITSTATUS(status))
		TH_LOG("the process ended with %d while its main flow was still running (0: the parked "
		       "leader's do_group_exit(0) took the main flow's thread for an engine thread)",
		       WEXITSTATUS(status));
}

TEST(process_outlives_a_thread_that_exits_in_a_moved_threadlet)
{
	check_lives(_metadata, 0);
}

/* The same thread ending its threadlet with threadlet_off(): its task
 * parks as a spare (the control: the count stays right). */
TEST(process_outlives_a_thread_that_parks_after_a_moved_threadlet)
{
	check_lives(_metadata, 1);
}

/*
 * The count of engine threads, which tells the exit of a thread when only
 * the engine's are left, against a process that makes them all the time. The count must never run ahead of signal->live: a
 * spare being made was once counted from its reservation, before
 * copy_process() put it in live, so for that moment the leader saw one
 * engine thread more than there were and, with the main flow as the only
 * user thread, ended the process with status 0 (make fuzz, seed 20261202
 * iteration 985: "a process looping in a chain ended by itself").
 *
 * The main flow's context moves (the leader parks), then for 3 s (60 of
 * the leader's polls) it makes spare after spare: unshare(CLONE_FS) gives
 * it a new fs_struct, which the parked spares do not share, so the next
 * threadlet_on() retires them and makes a new one (syslet/spare.rs,
 * `spare_key`, `Process::ensure_spare`).
 */
static void nothing_fn(void *arg)
{
	word_set(arg, 1);
}

static int making_flow(void)
{
	static int done;
	char *stack = malloc(STACK_SIZE);
	void (*volatile warm)(void *) = nap_fn;
	int warm_word = 0, n = 0;
	double end;

	alarm(20);
	if (!stack)
		return NO_THREAD;
	memset(stack, 0x5a, STACK_SIZE);
	warm(&warm_word);
	if (threadlet_exec(nap_fn, &done, stack, STACK_SIZE) != THREADLET_WENT_ASYNC)
		return NO_MAIN_HANDOFF;
	if (!word_wait(&done, 1, 5000))
		return NO_COMPLETION;
	end = now_ms() + 3000;
	while (now_ms() < end) {
		if (raw_syscall4(__NR_unshare, CLONE_FS, 0, 0, 0))
			return NO_UNSHARE;
		done = 0;
		threadlet_exec(nothing_fn, &done, stack, STACK_SIZE);
		if (!word_wait(&done, 1, 5000))
			return NO_COMPLETION;
		n++;
	}
	say("%d spares made", n);
	return LIVED;
}

/* flow() in a child process, as root with the handoff on: its exit code. */
static int flow_code(struct __test_metadata *_metadata, int (*flow)(void), int ms)
{
	int status = 0;
	pid_t pid;

	reset_sysctls();
	fflush(NULL);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(flow());
	ASSERT_TRUE(wait_deadline(pid, &status, ms)) {
		kill_reap(pid);
	}
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("the process ended with status %#x", status);
	return WEXITSTATUS(status);
}

TEST(process_outlives_the_spares_it_makes)
{
	int code = flow_code(_metadata, making_flow, 25000);

	if (code == NO_MAIN_HANDOFF)
		SKIP(return, "no handoff happened (no spare to be had?): nothing to check");
	ASSERT_EQ(LIVED, code)
		TH_LOG("the process ended with %d while its main flow was still running (0: the parked "
		       "leader took a spare being made for one that runs)", code);
}

/*
 * The main thread's threadlet function ends its task (SYS_exit) right
 * after it blocked, while the spare may not have applied the context
 * yet. The leadership must still move with the context: before the
 * exit hook waited for the spare (syslet/handoff.c, syslet_task_exit()),
 * the restore found the task exiting and kept the leadership there, and
 * the process went on with a zombie leader and a main flow whose TID
 * was not its PID (a hostile review: 12 rounds of 300).
 */
static void exit_fn(void *arg)
{
	struct timespec brief = { 0, (long)arg * 1000 };
	unsigned long mask = 0;

	raw_syscall4(__NR_nanosleep, (long)&brief, 0, 0, 0);
	/*
	 * A task whose context was given away blocks every signal (from
	 * the save on, before the spare applies it); the main flow never
	 * blocks SIGUSR2. So: moved, end this task at once; not moved (no
	 * spare was free), this is the main thread: return.
	 */
	raw_syscall4(__NR_rt_sigprocmask, SIG_BLOCK, 0, (long)&mask, sizeof(mask));
	if (mask & (1UL << (SIGUSR2 - 1)))
		raw_syscall4(__NR_exit, 0, 0, 0, 0);
}

enum { EXIT_ROUNDS = 300, NOT_LEADING = 10 };

static int exiting_flow(void)
{
	int async = 0;

	alarm(60);
	for (long i = 0; i < EXIT_ROUNDS; i++) {
		/* a stack per round: the exiting task may still be on the last one */
		char *stack = malloc(STACK_SIZE);
		long r, tid, pid;

		if (!stack)
			return NO_THREAD;
		memset(stack, 0x5a, STACK_SIZE);
		r = threadlet_exec(exit_fn, (void *)(1 + i % 60), stack, STACK_SIZE);
		tid = raw_syscall4(__NR_gettid, 0, 0, 0, 0);
		pid = raw_syscall4(__NR_getpid, 0, 0, 0, 0);
		if (r == THREADLET_WENT_ASYNC)
			async++;
		if (tid != pid) {
			say("round %ld: the main flow runs as TID %ld in process %ld", i, tid, pid);
			return NOT_LEADING;
		}
	}
	say("%d of %d rounds went asynchronous", async, EXIT_ROUNDS);
	return async >= EXIT_ROUNDS / 2 ? LIVED : NO_MAIN_HANDOFF;
}

TEST(main_flow_leads_when_its_threadlet_exits_before_the_restore)
{
	int code = flow_code(_metadata, exiting_flow, 65000);

	ASSERT_EQ(LIVED, code)
		TH_LOG("%d: %s", code, code == NOT_LEADING ? "the leadership stayed with the exiting task" :
		       "fewer than half the rounds went asynchronous");
}

TEST_HARNESS_MAIN
