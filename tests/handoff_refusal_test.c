// SPDX-License-Identifier: GPL-2.0
/*
 * Handoffs that must not happen, and state a handoff must not lose or
 * miscount (Documentation/handoff.md, "The identity contract"; the rest
 * is in tests/handoff_state_test.c and tests/handoff_identity_test.c):
 *
 * - a thread's own protections refuse the handoff
 *   (own_protections() in syslet/eligible.rs): syscall user
 *   dispatch and PR_SET_IO_FLUSHER. The atom blocks in place,
 *   async_exec() returns the atom, no handoff is counted, and the
 *   protection is still on in the thread afterwards. Before, the context
 *   moved to a spare that lacked it. Each case ends with a control: the
 *   same chain after the protection is turned off does hand off, so the
 *   refusal was the protection's.
 * - a threadlet that blocks in sigtimedwait(): the context keeps its own
 *   mask, not the temporary one the wait set (real_blocked).
 * - the async-thread path: a worker made by one thread is not given to a
 *   thread that unshared its fd table (Process::get_worker(), Tables in
 *   syslet/pool.rs); the atoms see the submitter's table.
 * - the process CPU clock across a handoff (patches/0012): the runtime
 *   exchange neither double counts nor loses the thread's time.
 *
 * Every case runs in a child process with a deadline; the program must
 * run as root (it sets kernel.syslet_* sysctls and restores them, and
 * PR_SET_IO_FLUSHER needs CAP_SYS_RESOURCE).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "threadlet.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER		57
#define PR_GET_IO_FLUSHER		58
#endif
#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH	59
#define PR_SYS_DISPATCH_OFF		0
#define PR_SYS_DISPATCH_ON		1
#endif
#ifndef SYSCALL_DISPATCH_FILTER_ALLOW
#define SYSCALL_DISPATCH_FILTER_ALLOW	0
#define SYSCALL_DISPATCH_FILTER_BLOCK	1
#endif
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH		2	/* si_code of a dispatched call */
#endif

#include "handoff_fixture.h"

/* ---- 1. syscall user dispatch refuses the handoff ------------------- */

static volatile char sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
static atomic_int sigsys_count;
static volatile int sigsys_code, sigsys_nr;

static void on_sigsys(int sig, siginfo_t *info, void *uc)
{
	/* First: rt_sigreturn is a system call too. */
	sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	sigsys_code = info->si_code;
	sigsys_nr = info->si_syscall;
	atomic_fetch_add(&sigsys_count, 1);
}

/*
 * With the selector on BLOCK, one raw getppid(): 1 if this thread's
 * dispatch trapped it (SIGSYS, SYS_USER_DISPATCH, for getppid), 0 if the
 * call simply ran. The handler sets the selector back to ALLOW.
 */
static int dispatch_traps(void)
{
	int before = atomic_load(&sigsys_count);

	sigsys_code = sigsys_nr = -1;
	sud_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	raw_syscall4(__NR_getppid, 0, 0, 0, 0);
	/* The call ran (no dispatch): put the selector back ourselves. */
	sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	return atomic_load(&sigsys_count) == before + 1 && sigsys_code == SYS_USER_DISPATCH &&
	       sigsys_nr == __NR_getppid;
}

static void *sud_thread(void *arg)
{
	int *rc = arg;
	struct chain_run c;
	long e;

	if (make_spare()) {
		say("no spare could be made: nothing to refuse");
		*rc = 10;
		return NULL;
	}
	/*
	 * On, no exempt region (offset 0, length 0), the selector on ALLOW:
	 * every system call of this thread still runs, until the selector
	 * says BLOCK.
	 */
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, 0, 0, &sud_selector)) {
		say("PR_SET_SYSCALL_USER_DISPATCH: errno %d", errno);
		*rc = 11;
		return NULL;
	}
	if (!dispatch_traps()) {
		say("before the chain, dispatch did not trap getppid (SIGSYS %d, code %d, nr %d)",
		    atomic_load(&sigsys_count), sigsys_code, sigsys_nr);
		*rc = 12;
		return NULL;
	}
	if (blocking_chain(&c, 1000)) {
		*rc = 13;
		return NULL;
	}
	chain_say("dispatch on", &c);
	e = check_refused(&c);
	if (e) {
		*rc = 20 + e;
		return NULL;
	}
	if (!dispatch_traps()) {
		say("after the chain, dispatch is off in this thread: getppid ran (SIGSYS %d, code %d, nr %d)",
		    atomic_load(&sigsys_count), sigsys_code, sigsys_nr);
		*rc = 30;
		return NULL;
	}
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0)) {
		*rc = 31;
		return NULL;
	}
	/* The control: without dispatch the same chain hands off. */
	if (blocking_chain(&c, 3000)) {
		*rc = 32;
		return NULL;
	}
	chain_say("dispatch off (control)", &c);
	e = check_handed_off(&c);
	*rc = e ? 40 + e : 0;
	return NULL;
}

static int sud_case(void *arg)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	int rc = -1;
	pthread_t th;

	if (sigaction(SIGSYS, &sa, NULL))
		return 9;
	/* Not the leader: its TID would stay behind, a thread's moves. */
	if (pthread_create(&th, NULL, sud_thread, &rc) || pthread_join(th, NULL))
		return 9;
	return rc;
}

HTEST(syscall_user_dispatch_refuses_the_handoff_and_stays_on)
{
	int rc;

	rc = run_child(sud_case, NULL, AS_ROOT, 30000);
	EXPECT_EQ(0, rc) TH_LOG("%s", describe(rc));
}

/* ---- 2. PR_SET_IO_FLUSHER refuses the handoff ----------------------- */

static void *flusher_thread(void *arg)
{
	int *rc = arg;
	struct chain_run c;
	long e, v;

	/* Made first: PF_LOCAL_THROTTLE and PF_MEMALLOC_NOIO pass to clones. */
	if (make_spare()) {
		say("no spare could be made: nothing to refuse");
		*rc = 10;
		return NULL;
	}
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) || prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0) != 1) {
		say("PR_SET_IO_FLUSHER: errno %d (needs CAP_SYS_RESOURCE: run as root)", errno);
		*rc = 11;
		return NULL;
	}
	if (blocking_chain(&c, 1000)) {
		*rc = 13;
		return NULL;
	}
	chain_say("IO_FLUSHER set", &c);
	v = prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0);
	say("PR_GET_IO_FLUSHER after the chain: %ld (want 1)", v);
	e = check_refused(&c);
	if (e) {
		*rc = 20 + e;
		return NULL;
	}
	if (v != 1) {
		*rc = 30;
		return NULL;
	}
	if (prctl(PR_SET_IO_FLUSHER, 0, 0, 0, 0) || prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0) != 0) {
		*rc = 31;
		return NULL;
	}
	/* The control: without the flag the same chain hands off. */
	if (blocking_chain(&c, 3000)) {
		*rc = 32;
		return NULL;
	}
	chain_say("IO_FLUSHER cleared (control)", &c);
	e = check_handed_off(&c);
	*rc = e ? 40 + e : 0;
	return NULL;
}

static int flusher_case(void *arg)
{
	int rc = -1;
	pthread_t th;

	if (pthread_create(&th, NULL, flusher_thread, &rc) || pthread_join(th, NULL))
		return 9;
	return rc;
}

HTEST(io_flusher_refuses_the_handoff_and_stays_set)
{
	int rc;

	ASSERT_EQ(0, geteuid()) TH_LOG("PR_SET_IO_FLUSHER needs root (this is not a skip)");
	rc = run_child(flusher_case, NULL, AS_ROOT, 30000);
	EXPECT_EQ(0, rc) TH_LOG("%s", describe(rc));
}

/* ---- 3. a threadlet blocked in sigtimedwait() ----------------------- */

enum { STACK_SIZE = 64 << 10 };

struct sigwait_tl {
	int warm;			/* the warm-up call: return at once */
	long tid_at_wait;		/* gettid() right before the wait */
	long ret;			/* rt_sigtimedwait()'s */
	struct timespec t0, t1;		/* around the wait (CLOCK_MONOTONIC) */
	int done;			/* futex word, set at the end */
};

/* Raw calls only: once it may have blocked, the TLS is the caller's. */
static void sigwait_fn(void *arg)
{
	struct sigwait_tl *s = arg;
	unsigned long set = 1UL << (SIGUSR2 - 1);
	struct timespec ts = { 0, 300 * 1000 * 1000 };

	if (s->warm) {
		s->warm = 0;
		return;
	}
	s->tid_at_wait = raw_syscall4(__NR_gettid, 0, 0, 0, 0);
	raw_syscall4(__NR_clock_gettime, CLOCK_MONOTONIC, (long)&s->t0, 0, 0);
	s->ret = raw_syscall4(__NR_rt_sigtimedwait, (long)&set, 0, (long)&ts, 8);
	raw_syscall4(__NR_clock_gettime, CLOCK_MONOTONIC, (long)&s->t1, 0, 0);
	word_set(&s->done, 1);
}

static double ts_ms(const struct timespec *t)
{
	return t->tv_sec * 1e3 + t->tv_nsec / 1e6;
}

static void *sigwait_thread(void *arg)
{
	int *rc = arg;
	/* Never freed: the threadlet's thread leaves its stack after `done`. */
	struct sigwait_tl *s = calloc(1, sizeof(*s));
	char *stack = malloc(STACK_SIZE);
	void (*volatile call)(void *) = sigwait_fn;
	long tid = syscall(__NR_gettid), r;
	sigset_t usr, cur;
	int done_at_return, usr1, usr2;

	if (!s || !stack) {
		*rc = 9;
		return NULL;
	}
	/* Every page touched: a first-touch fault must not be what blocks. */
	memset(stack, 0x5a, STACK_SIZE);
	sigemptyset(&usr);
	sigaddset(&usr, SIGUSR1);
	sigaddset(&usr, SIGUSR2);
	if (pthread_sigmask(SIG_BLOCK, &usr, NULL)) {
		*rc = 9;
		return NULL;
	}
	s->warm = 1;
	call(s);	/* maps the function's code before it runs as a threadlet */
	r = threadlet_exec(sigwait_fn, s, stack, STACK_SIZE);
	done_at_return = __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	usr1 = sigismember(&cur, SIGUSR1);
	usr2 = sigismember(&cur, SIGUSR2);
	say("threadlet in sigtimedwait(SIGUSR2): threadlet_exec() = %ld, done at return %d; in the caller SIGUSR1 %s, SIGUSR2 %s",
	    r, done_at_return, usr1 ? "blocked" : "UNBLOCKED", usr2 ? "blocked" : "UNBLOCKED");
	if (!word_wait(&s->done, 1, 5000)) {
		say("the threadlet did not finish within 5 s");
		*rc = 10;
		return NULL;
	}
	say("the threadlet: tid at the wait %ld (caller %ld), rt_sigtimedwait() = %ld after %.0f ms",
	    s->tid_at_wait, tid, s->ret, ts_ms(&s->t1) - ts_ms(&s->t0));
	if (r != THREADLET_WENT_ASYNC)
		*rc = 11;	/* it never went asynchronous: nothing tested */
	else if (done_at_return || s->tid_at_wait != tid)
		*rc = 12;	/* it went asynchronous elsewhere than in the wait */
	else if (!usr1 || !usr2)
		*rc = 13;	/* the context took the wait's temporary mask */
	else if (s->ret != -EAGAIN)
		*rc = 14;	/* the wait did not time out */
	else
		*rc = 0;
	return NULL;
}

static int sigwait_case(void *arg)
{
	int rc = -1;
	pthread_t th;

	if (pthread_create(&th, NULL, sigwait_thread, &rc) || pthread_join(th, NULL))
		return 9;
	return rc;
}

HTEST(threadlet_in_sigtimedwait_leaves_the_callers_mask_alone)
{
	int rc;

	rc = run_child(sigwait_case, NULL, AS_ROOT, 20000);
	EXPECT_EQ(0, rc) TH_LOG("%s", describe(rc));
}

/* ---- 4. async threads only for the tables they share ---------------- */

#define TBL_N 100	/* the fd number both tables use, for other files */

struct tbl_case {
	int blocking;			/* A's chain blocks before the fstat */
	char path_a[64], path_b[64];
	struct stat st_a, st_b;
	long b_rc;
	int a_rc;
};

/* Thread B: makes an async thread (of the process's shared tables). */
static void *tbl_thread_b(void *arg)
{
	struct tbl_case *tc = arg;
	struct chain_run c;

	if (blocking_chain(&c, 3000)) {
		tc->b_rc = 1;
		return NULL;
	}
	chain_say("thread B (async threads)", &c);
	/* Detached on an async thread (the handoff is off: none counted). */
	tc->b_rc = c.exec_ret == 0 && c.completed && c.handoffs_after == c.handoffs_before ? 0 : 2;
	/* The thread posted the completion; it parks right after. */
	usleep(200 * 1000);
	return NULL;
}

/* Thread A: its own fd table, fd N on A's file; a chain fstat()s N. */
static void *tbl_thread_a(void *arg)
{
	struct tbl_case *tc = arg;
	struct syslet_uatom at[2], *ring[8] = { 0 }, *done = NULL;
	struct async_head_user ahu = RING_HEAD(ring);
	unsigned long rfd, rbuf, one = 1, n = TBL_N, stp;
	long ret[2] = { NO_ATOM, NO_ATOM }, r, workers0, workers1;
	struct late_writer w;
	struct stat st, direct;
	char data[2];
	int q[2], fd;

	/* The pipe is in both tables: its read blocks whichever one is used. */
	if (pipe(q)) {
		tc->a_rc = 9;
		return NULL;
	}
	if (unshare(CLONE_FILES) || (fd = open(tc->path_a, O_RDONLY)) < 0 ||
	    dup2(fd, TBL_N) != TBL_N || close(fd)) {
		say("thread A: unshare(CLONE_FILES)/open/dup2: errno %d", errno);
		tc->a_rc = 9;
		return NULL;
	}
	if (fstat(TBL_N, &direct) || direct.st_ino != tc->st_a.st_ino ||
	    direct.st_dev != tc->st_a.st_dev) {
		tc->a_rc = 10;
		return NULL;
	}
	memset(&st, 0, sizeof(st));
	rfd = q[0];
	rbuf = (unsigned long)data;
	stp = (unsigned long)&st;
	atom_set(&at[1], 0, __NR_fstat, &ret[1], NULL, ATOM_ARGS(&n, &stp));
	atom_set(&at[0], 0, __NR_read, &ret[0], &at[1], ATOM_ARGS(&rfd, &rbuf, &one));
	if (late_writer_start(&w, q[1], 3000)) {
		tc->a_rc = 9;
		return NULL;
	}
	workers0 = syslet_stat("threads_alive");
	r = sys_async_exec(tc->blocking ? &at[0] : &at[1], &ahu);
	atomic_store(&w.gate, 1);
	if (r == 0)
		done = reap_deadline(&ahu, ring, 8, 10000);
	workers1 = syslet_stat("threads_alive");
	pthread_join(w.th, NULL);
	say("thread A (%s chain): async_exec() = %s, completion %s, read %ld, fstat(%d) %ld: ino %lu (A's %lu, B's %lu); async threads %ld -> %ld",
	    tc->blocking ? "read -> fstat" : "fstat",
	    r == 0 ? "0 (detached)" : r == (long)&at[1] ? "&fstat (finished)" : "something else",
	    done == &at[1] ? "&fstat" : done ? "another atom" : "none", ret[0], TBL_N, ret[1],
	    (unsigned long)st.st_ino, (unsigned long)tc->st_a.st_ino,
	    (unsigned long)tc->st_b.st_ino, workers0, workers1);
	if (tc->blocking) {
		if (r != 0)
			tc->a_rc = 11;	/* the read did not detach the chain */
		else if (done != &at[1] || ret[0] != 1)
			tc->a_rc = 12;
	} else if (r != (long)&at[1]) {
		tc->a_rc = 13;		/* a synchronous chain must finish */
	}
	if (tc->a_rc)
		return NULL;
	if (ret[1] != 0)
		tc->a_rc = 14;
	else if (st.st_ino == tc->st_b.st_ino && st.st_dev == tc->st_b.st_dev)
		tc->a_rc = 15;		/* the atom ran against B's table */
	else if (st.st_ino != tc->st_a.st_ino || st.st_dev != tc->st_a.st_dev)
		tc->a_rc = 16;
	return NULL;
}

static int tbl_run(void *arg)
{
	struct tbl_case *tc = arg;
	struct stat st;
	pthread_t th;
	int fd;

	/* The process's table: fd N is B's file. */
	if ((fd = open(tc->path_b, O_RDONLY)) < 0 || dup2(fd, TBL_N) != TBL_N || close(fd))
		return 9;
	if (pthread_create(&th, NULL, tbl_thread_b, tc) || pthread_join(th, NULL))
		return 9;
	if (tc->b_rc) {
		say("thread B failed (%ld): no async thread to test with", tc->b_rc);
		return 20 + tc->b_rc;
	}
	if (pthread_create(&th, NULL, tbl_thread_a, tc) || pthread_join(th, NULL))
		return 9;
	if (tc->a_rc)
		return tc->a_rc;
	/* The process's table is untouched. */
	if (fstat(TBL_N, &st) || st.st_ino != tc->st_b.st_ino)
		return 17;
	return 0;
}

static int tbl_file(char *path, struct stat *st)
{
	int fd;

	strcpy(path, "/tmp/hs-tbl-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (fstat(fd, st)) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static void tbl_test(struct __test_metadata *_metadata, int blocking)
{
	struct tbl_case tc = { .blocking = blocking };
	int rc;

	ASSERT_EQ(0, tbl_file(tc.path_a, &tc.st_a));
	ASSERT_EQ(0, tbl_file(tc.path_b, &tc.st_b));
	ASSERT_EQ(0, write_sysctl("syslet_handoff", 0));
	rc = run_child(tbl_run, &tc, AS_ROOT, 30000);
	write_sysctl("syslet_handoff", 1);
	unlink(tc.path_a);
	unlink(tc.path_b);
	EXPECT_EQ(0, rc) TH_LOG("%s", describe(rc));
}

HTEST(async_thread_runs_a_sync_chain_against_the_submitters_unshared_fd_table)
{
	tbl_test(_metadata, 0);
}

HTEST(async_thread_runs_a_detached_chain_against_the_submitters_unshared_fd_table)
{
	tbl_test(_metadata, 1);
}

/* ---- 5. the process CPU clock across a handoff ---------------------- */

static long clock_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts))
		return -1;
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

struct cpu_run {
	long thread0, thread1, proc0, proc1, exec_ret;
	double wall_ms;
	int setup_failed, reaped;
};

#define SPIN_NS	(500 * 1000000L)	/* the thread's own CPU time first */

static void *cpu_thread(void *arg)
{
	struct cpu_run *cr = arg;
	volatile unsigned long spin = 0;
	struct late_writer w;
	struct reader r;
	double t0;
	int q[2];

	if (make_spare() || pipe(q) || late_writer_start(&w, q[1], 3000)) {
		cr->setup_failed = 1;
		return NULL;
	}
	/*
	 * Much more CPU time in this thread than in the spare: an exchange
	 * that copied it instead of swapping it would add it to the total
	 * once more; no exchange at all would set this thread's clock back.
	 */
	for (t0 = now_ms(); clock_ns(CLOCK_THREAD_CPUTIME_ID) < SPIN_NS && now_ms() - t0 < 20000;)
		for (int i = 0; i < 100000; i++)
			spin++;
	reader_init(&r, q[0], 0);
	cr->thread0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	cr->proc0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	t0 = now_ms();
	cr->exec_ret = sys_async_exec(&r.atom, &r.ahu);
	cr->proc1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	cr->wall_ms = now_ms() - t0;
	cr->thread1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	atomic_store(&w.gate, 1);
	if (cr->exec_ret == 0)
		cr->reaped = reap_deadline(&r.ahu, r.ring, 8, 10000) == &r.atom && r.ret == 1;
	pthread_join(w.th, NULL);
	return NULL;
}

static int cpu_case(void *arg)
{
	struct cpu_run cr = { 0 };
	pthread_t th;
	double jump_ms, bound_ms;

	if (pthread_create(&th, NULL, cpu_thread, &cr) || pthread_join(th, NULL) || cr.setup_failed)
		return 9;
	jump_ms = (cr.proc1 - cr.proc0) / 1e6;
	bound_ms = 2 * cr.wall_ms + 100;
	say("across the handoff (async_exec() = %ld, %.1f ms wall): process CPU %+.1f ms (bound %.1f), thread CPU %.1f -> %.1f ms",
	    cr.exec_ret, cr.wall_ms, jump_ms, bound_ms, cr.thread0 / 1e6, cr.thread1 / 1e6);
	if (cr.exec_ret != 0)
		return 10;	/* no handoff: nothing tested */
	if (!cr.reaped)
		return 11;
	if (cr.thread0 < SPIN_NS / 2)
		return 12;	/* the spin did not give the thread its CPU time */
	if (cr.proc1 < cr.proc0)
		return 13;	/* the process total went back */
	if (jump_ms > bound_ms)
		return 14;	/* the total jumped: counted twice */
	return cr.thread1 >= cr.thread0 ? 0 : 15;
}

/* The exchange of patches/0012 moves the time, it does not copy it. */
HTEST(process_cputime_does_not_jump_across_a_handoff)
{
	int rc;

	rc = run_child(cpu_case, NULL, AS_ROOT, 50000);
	EXPECT_EQ(0, rc) TH_LOG("%s", describe(rc));
}

TEST_HARNESS_MAIN
