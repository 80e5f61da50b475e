// SPDX-License-Identifier: GPL-2.0
/*
 * The parked group leader (syslet/leader.rs).
 *
 * The group leader keeps its TID when its context moves to a spare (wait()
 * and job control find the process by it), and parks; the main thread's
 * context runs on under the spare's TID, while glibc still has the
 * leader's TID for it. What is addressed to that TID (tgkill(),
 * pthread_kill() of the main thread, glibc's SIGSETXID) must reach the
 * context, as it would on stock Linux. Before, a setuid() family call
 * from any other thread waited forever for the main thread's answer to
 * SIGSETXID (fuzzer seed 20261203, iteration 5632), and the other
 * signals were never handled. What the leader's own chain raises while
 * it carries it after the move (SIGPIPE) is not the context's, but a
 * SIGKILL for it (exec from the main flow) is. And when the last user
 * thread dies alone by a seccomp KILL_THREAD verdict, the process ends by
 * SIGSYS, as on stock Linux, not with status 0.
 *
 * Each case runs in the leader of a child process, as root and as nobody.
 */
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>

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

static gid_t new_egid;

static void *setxid_thread(void *unused)
{
	double t0 = now_ms();

	/* glibc signals every thread to make the change (POSIX: per
	 * process), even one to the same ids, which anyone may make. */
	setxid.ret = setresgid(-1, new_egid, -1);
	setxid.err = errno;
	setxid.ms = now_ms() - t0;
	return NULL;
}

static int setxid_case(void *unused)
{
	pthread_t th;
	gid_t r, e, s;

	/* Root changes its egid (to daemon's), nobody keeps its own. */
	new_egid = geteuid() == 0 ? 1 : getegid();
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
	/* The main flow made the change too, in its SIGSETXID handler. */
	if (getresgid(&r, &e, &s) || e != new_egid) {
		say("the main flow's egid is %d, want %d", (int)e, (int)new_egid);
		return 13;
	}
	return 0;
}

HTEST(setxid_from_a_second_thread_after_the_main_thread_moved)
{
	as_both_in_leader(_metadata, setxid_case, 0);
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
	as_both_in_leader(_metadata, pthread_kill_case, 0);
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
	sigemptyset(&pending);
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
	as_both_in_leader(_metadata, tgkill_case, 0);
}

/* ---- 4. what the leader's carried chain raises ------------------------ */

/*
 * read(empty pipe) -> write(pipe without a reader): the read blocks and
 * the main thread's context moves; the leader carries the write, which
 * raises SIGPIPE against the leader. The chain's result says EPIPE; the
 * context, with SIGPIPE's default action, must not die of it.
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
	if (r != 0 || syscall(__NR_gettid) == getpid()) {
		say("async_exec() = %#lx: the main thread's context did not move", r);
		return 42;
	}
	if (reap_deadline(&ahu, ring, 8, 10000) != &atom[1] || ret[0] != 1 || ret[1] != -EPIPE) {
		say("completion: read %ld, write %ld (want 1, -EPIPE)", ret[0], ret[1]);
		return 43;
	}
	/* The leader parks and looks at its signals within 50 ms. */
	usleep(300000);
	return 0;
}

HTEST(sigpipe_of_the_leaders_carried_chain_stays_with_it)
{
	as_both_in_leader(_metadata, sigpipe_case, 0);
}

/* ---- 5. the last user thread killed by seccomp ------------------------ */

/* getppid() kills the calling thread; everything else runs. */
static int kill_thread_on_getppid(void)
{
	return filter_one_call(__NR_getppid, SECCOMP_RET_KILL_THREAD, 0);
}

/*
 * The main flow is the process's only user thread; its filter kills it
 * on getppid(). Stock Linux then kills the process with SIGSYS (the
 * thread is the last: signal->live is 1). Before, the spares and the
 * parked leader kept live above one, only the thread died, and the
 * leader ended the process with status 0.
 */
static int seccomp_last_case(void *unused)
{
	if (move_main())
		return 50;
	if (kill_thread_on_getppid())
		return 51;
	syscall(__NR_getppid);
	return 52;	/* not reached */
}

HTEST(last_user_thread_killed_by_seccomp_ends_the_process_by_sigsys)
{
	as_both_in_leader(_metadata, seccomp_last_case, RUN_SIGNALED(SIGSYS));
}

/* The thread left after the main flow's pthread_exit(): its filter kills it. */
static void *killed_last(void *main_flow_tid)
{
	/* The main flow has exited (5 s at most: the status tells if not). */
	wait_task_gone((pid_t)(long)main_flow_tid, 5000);
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

	if (move_main())
		return 60;
	if (pthread_create(&th, NULL, killed_last, (void *)(long)gettid()))
		return 63;
	pthread_exit(NULL);
}

HTEST(last_thread_killed_by_seccomp_after_the_main_flow_exited_is_sigsys)
{
	as_both_in_leader(_metadata, seccomp_not_main_case, RUN_SIGNALED(SIGSYS));
}

/* ---- 6. exec while the leader still carries its chain ------------------ */

/*
 * The main thread's chain blocks in read(empty pipe), so its context
 * moves and the leader carries the read. The main flow then execs:
 * de_thread() kills the leader with SIGKILL, which its read returns for;
 * exec must go through (the leader must not drop that SIGKILL when it
 * parks). The new image exits 0.
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
	if (sys_async_exec(&atom, &ahu) != 0 || syscall(__NR_gettid) == getpid()) {
		say("exec case: the main thread's context did not move");
		return 71;
	}
	execv(argv[0], argv);
	return 72;
}

HTEST(exec_while_the_leader_carries_its_chain)
{
	as_both_in_leader(_metadata, exec_case, 0);
}

TEST_HARNESS_MAIN
