// SPDX-License-Identifier: GPL-2.0
/*
 * How a process whose main thread's context moved ends (issue 17;
 * Documentation/leadership-move.md, 3.6.2 and 3.6.3): once its last user
 * thread exits, with spares parked, at once and with the last thread's exit
 * code, as on stock Linux; by SIGSYS when that thread dies alone by a
 * seccomp KILL_THREAD verdict; not when the old leader's task, carrying
 * the chain it blocked in, raises SIGPIPE; and by exec from the main flow
 * while that task still carries its chain (de_thread() kills it).
 * These were the parked leader's cases (parked_leader_test.c) before the
 * leadership moved with the context.
 *
 * Each case runs in the main thread of a process, as root and as nobody,
 * and checks /sys/kernel/debug/syslet/leader_check after its handoffs
 * (leader_test.h).
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "handoff_test.h"
#include "handoff_fixture.h"
#include "leader_test.h"

/* ---- the last user thread's exit -------------------------------------- */

static int last_fd;		/* to the parent: the last user thread exits now */
static int other_tid;

/* The second user thread: exits first, or after the main flow (then last). */
static void *other_user_thread(void *main_first)
{
	word_set(&other_tid, syscall(__NR_gettid));
	if (main_first) {
		if (!wait_zombie(getpid(), 5000))
			say("the main flow is no zombie 5 s after its exit");
		if (write(last_fd, "l", 1) != 1)
			syscall(__NR_exit, 104);
	}
	syscall(__NR_exit, 3);
	return NULL;
}

/*
 * The process under test: its main thread hands off (spares park), a
 * second user thread starts, then both exit with SYS_exit (each thread
 * alone), the main flow with 7 first, or with 9 last (the other thread
 * exits with 3). Stock Linux reports the last thread's code (its exit
 * sets the group's: kernel/exit.c, synchronize_group_exit()): 3, or 9.
 */
static void ends_child(int main_first)
{
	pthread_t th;

	if (moved_and_leads(3))
		_exit(100);
	if (syslet_stat("spares_alive") < 1) {
		say("no spare parked after the handoffs: nothing to test");
		_exit(101);
	}
	if (pthread_create(&th, NULL, other_user_thread, (void *)(long)main_first))
		_exit(102);
	if (main_first)
		syscall(__NR_exit, 7);
	if (!word_wait(&other_tid, 1, 5000) || !wait_task_gone(other_tid, 5000) ||
	    write(last_fd, "l", 1) != 1)
		_exit(103);
	syscall(__NR_exit, 9);
}

static int ends_case(int main_first, int want)
{
	int p[2], status;
	double ms;
	pid_t g;
	char c;

	if (pipe(p))
		return 110;
	g = fork();
	if (!g) {
		close(p[0]);
		last_fd = p[1];
		ends_child(main_first);
	}
	close(p[1]);
	if (g < 0 || !read_within(p[0], &c, 1, 10000)) {
		if (g > 0 && wait_deadline(g, &status, 5000))
			say("the process ended with status %#x before its last thread's exit", status);
		return 111;
	}
	ms = now_ms();
	if (!wait_deadline(g, &status, 10000)) {
		say("the process was still there 10 s after its last user thread's exit");
		kill_reap(g);
		return 112;
	}
	ms = now_ms() - ms;
	say("the process ended %.0f ms after its last user thread's exit, status %#x", ms, status);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != want)
		return 113;
	return ms < 3000 ? 0 : 114;
}

static int main_exits_first(void *unused)
{
	return ends_case(1, 3);
}

static int main_exits_last(void *unused)
{
	return ends_case(0, 9);
}

/*
 * The control, on the stock path: a process that never used the engine,
 * whose main thread pthread_exit()s before its other thread's exit(9),
 * ends with 9: the last thread to exit sets the group's code.
 */
static void *stock_last_thread(void *unused)
{
	if (!wait_zombie(getpid(), 5000))
		syscall(__NR_exit, 104);
	syscall(__NR_exit, 9);
	return NULL;
}

TEST(stock_process_ends_with_its_last_threads_code)
{
	int status;
	pid_t c = fork();

	ASSERT_LE(0, c);
	if (c == 0) {
		pthread_t th;

		if (pthread_create(&th, NULL, stock_last_thread, NULL))
			_exit(100);
		pthread_exit(NULL);
	}
	ASSERT_EQ(c, waitpid(c, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("status %#x", status);
	ASSERT_EQ(9, WEXITSTATUS(status));
}

HTEST(process_ends_when_last_user_thread_exits_with_spares_parked)
{
	as_both_in_leader(_metadata, main_exits_first, 0);
	as_both_in_leader(_metadata, main_exits_last, 0);
}

/* ---- the last user thread killed by seccomp ----------------------------- */

/* getppid() kills the calling thread; everything else runs. */
static int kill_thread_on_getppid(void)
{
	return filter_one_call(__NR_getppid, SECCOMP_RET_KILL_THREAD, 0);
}

/*
 * The main flow is the process's only user thread; its filter kills it
 * on getppid(). Stock Linux then kills the process with SIGSYS (the
 * thread is the last: signal->live is 1). The spares must not count.
 */
static int seccomp_last_case(void *unused)
{
	if (moved_and_leads(2))
		return 50;
	if (kill_thread_on_getppid())
		return 51;
	syscall(__NR_getppid);
	return 52;	/* not reached */
}

HTEST(seccomp_kill_thread_of_last_user_thread_kills_by_sigsys)
{
	as_both_in_leader(_metadata, seccomp_last_case, RUN_SIGNALED(SIGSYS));
}

/* The thread left after the main flow's pthread_exit(): its filter kills it. */
static void *killed_last(void *unused)
{
	/* The main flow has exited: the leader is a zombie (5 s at most). */
	if (!wait_zombie(getpid(), 5000))
		_exit(60);
	if (kill_thread_on_getppid())
		_exit(61);
	syscall(__NR_getppid);
	_exit(62);	/* not reached */
}

/*
 * The main flow ends with pthread_exit() (status 0 so far); the other
 * user thread dies alone by KILL_THREAD, the last: SIGSYS, as stock.
 */
static int seccomp_not_main_case(void *unused)
{
	pthread_t th;

	if (moved_and_leads(2))
		return 63;
	if (pthread_create(&th, NULL, killed_last, NULL))
		return 64;
	pthread_exit(NULL);
}

HTEST(seccomp_kill_thread_of_the_last_thread_after_the_main_flow_exited_is_sigsys)
{
	as_both_in_leader(_metadata, seccomp_not_main_case, RUN_SIGNALED(SIGSYS));
}

/* ---- what the old leader's task raises while it carries a chain --------- */

/*
 * read(empty pipe) -> write(pipe without a reader): the read blocks and
 * the main thread's context moves; the old leader's task carries the
 * write, which raises SIGPIPE against that task. The chain's result says
 * EPIPE; the main flow, with SIGPIPE's default action, must not die of it.
 */
static int sigpipe_case(void *unused)
{
	static struct syslet_uatom atom[2];
	static struct syslet_uatom *ring[8];
	static struct async_head_user ahu = RING_HEAD(ring);
	static unsigned long rfd, rbuf, rlen = 1, wfd, wbuf, wlen = 1;
	static long ret[2] = { NO_ATOM, NO_ATOM };
	static char data[4];
	struct late_writer w;
	int p[2], q[2];
	long r;

	signal(SIGPIPE, SIG_DFL);
	if (pipe(p) || pipe(q))
		return 40;
	close(q[0]);
	rfd = p[0];
	rbuf = wbuf = (unsigned long)data;
	wfd = q[1];
	atom_set(&atom[1], 0, __NR_write, &ret[1], NULL, ATOM_ARGS(&wfd, &wbuf, &wlen));
	atom_set(&atom[0], 0, __NR_read, &ret[0], &atom[1], ATOM_ARGS(&rfd, &rbuf, &rlen));
	if (make_spare() || late_writer_start(&w, p[1], 3000))
		return 41;
	r = sys_async_exec(&atom[0], &ahu);
	atomic_store(&w.gate, 1);
	pthread_join(w.th, NULL);
	if (r != 0) {
		say("async_exec() = %#lx: the main thread's context did not move", r);
		return 42;
	}
	if (main_flow_leads("after the blocking read moved the context"))
		return 43;
	if (reap_deadline(&ahu, ring, 8, 10000) != &atom[1] || ret[0] != 1 || ret[1] != -EPIPE) {
		say("completion: read %ld, write %ld (want 1, -EPIPE)", ret[0], ret[1]);
		return 44;
	}
	/*
	 * Not a wait for anything: the window in which a SIGPIPE that went
	 * to the wrong task would kill the process (the carrier parks and
	 * looks at its signals within it).
	 */
	usleep(300000);
	return main_flow_leads("after the carried write's SIGPIPE") ? 45 : 0;
}

HTEST(sigpipe_of_the_old_leaders_carried_chain_stays_with_it)
{
	as_both_in_leader(_metadata, sigpipe_case, 0);
}

/* ---- exec while the old leader's task carries its chain ---------------- */

/*
 * The main thread's chain blocks in read(empty pipe), so its context
 * moves and the old leader's task carries the read. The main flow then
 * execs: de_thread() kills that task with SIGKILL, which its read returns
 * for; exec must go through. The new image exits 0.
 */
static int exec_case(void *unused)
{
	static struct syslet_uatom atom;
	static struct syslet_uatom *ring[8];
	static struct async_head_user ahu = RING_HEAD(ring);
	static unsigned long rfd, rbuf, rlen = 1;
	static long ret = NO_ATOM;
	static char data[4];
	char *const argv[] = { "/bin/true", NULL };
	int p[2];

	if (pipe(p) || make_spare())
		return 70;
	rfd = p[0];
	rbuf = (unsigned long)data;
	atom_set(&atom, 0, __NR_read, &ret, NULL, ATOM_ARGS(&rfd, &rbuf, &rlen));
	if (sys_async_exec(&atom, &ahu) != 0) {
		say("exec case: the main thread's context did not move");
		return 71;
	}
	if (main_flow_leads("with the old leader's task carrying the read"))
		return 72;
	execv(argv[0], argv);
	return 73;
}

HTEST(exec_while_the_old_leaders_task_carries_its_chain)
{
	as_both_in_leader(_metadata, exec_case, 0);
}

TEST_HARNESS_MAIN
