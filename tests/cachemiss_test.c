// SPDX-License-Identifier: GPL-2.0
/*
 * The cachemiss handoff (syslet/handoff.rs): a chain runs in the caller;
 * only an atom that blocks moves the caller's user context to a spare
 * thread, with its TID, and async_exec() returns NULL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <poll.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "syslet_test.h"

/*
 * Polls, for 5 s, until the live_* counters are back to `procs` and at
 * most `spares` (this process's own idle spares may exit meanwhile).
 */
static int live_back_to(long procs, long spares)
{
	for (int i = 0; i < 500; i++) {
		if (live("processes") == procs && live("spares") <= spares)
			return 1;
		usleep(10000);
	}
	printf("# live: processes %ld (want %ld), spares %ld (want <= %ld)\n",
	       live("processes"), procs, live("spares"), spares);
	return 0;
}

struct reader {
	struct syslet_uatom atom;
	unsigned long fd, buf, len;
	long ret;
	char data[16];
};

static void reader_init(struct reader *r, int fd)
{
	r->fd = fd;
	r->buf = (unsigned long)r->data;
	r->len = sizeof(r->data);
	r->ret = -12345;
	atom_set(&r->atom, 0, __NR_read, &r->ret, NULL, ATOM_ARGS(&r->fd, &r->buf, &r->len));
}

/* Writes to a pipe once the submitter says it got control back. */
struct late_writer {
	int fd;
	atomic_int returned;
	double wrote_at;
	pid_t signal_tid;	/* tgkill this TID with SIGUSR1 first, if set */
};

static void *late_write(void *arg)
{
	struct late_writer *w = arg;
	double t0 = now_ms();

	while (!atomic_load(&w->returned) && now_ms() - t0 < 2000)
		usleep(1000);
	usleep(10000);
	if (w->signal_tid) {
		syscall(SYS_tgkill, getpid(), w->signal_tid, SIGUSR1);
		kill(getpid(), SIGUSR2);
		usleep(10000);
	}
	w->wrote_at = now_ms();
	if (write(w->fd, "cachemiss", 9) != 9)
		w->wrote_at = -1;
	return NULL;
}

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
	if (h->signals) {
		sigset_t usr;

		w.signal_tid = h->tid_before;
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
	atomic_store(&w.returned, 1);
	h->tid_after = gettid();
	h->pid_after = getpid();
	h->handoffs = syslet_stat("handoffs") - handoffs0;
	h->reaped_ok = reap(&ahu, ring, 8) == &r.atom;
	pthread_join(th, NULL);
	h->wrote_at = w.wrote_at;
	h->ret = r.ret;
	memcpy(h->data, r.data, sizeof(h->data));
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

static atomic_int usr1_count, usr2_count;
static atomic_int usr1_tid;

static void on_usr1(int sig)
{
	atomic_fetch_add(&usr1_count, 1);
	atomic_store(&usr1_tid, gettid());
}

static void on_usr2(int sig)
{
	atomic_fetch_add(&usr2_count, 1);
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

/*
 * The user context a spare takes over is the caller's: vector registers
 * (xmm8-xmm15, which no C code here touches between the loads and the
 * stores, all inside one asm statement around the system call), MXCSR,
 * the FS base (TLS), a GS base set by arch_prctl(), the signal mask and
 * the alternate signal stack.
 */
struct context_run {
	unsigned char xmm_in[128], xmm_out[128];
	unsigned int mxcsr_in, mxcsr_out;
	unsigned long fs_before, fs_after, gs_set, gs_after;
	long exec_ret, handoffs, reaped_ok;
	int sigwinch_blocked, altstack_same;
};

static __thread int tls_probe = 1234;

static void *context_thread(void *arg)
{
	struct context_run *c = arg;
	struct syslet_uatom *ring[8] = { 0 };
	struct async_head_user ahu = RING_HEAD(ring);
	struct late_writer w = { 0 };
	struct reader r;
	static char altstack[65536];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) }, ss_after;
	static unsigned long gs_target;
	sigset_t set, now;
	pthread_t th;
	long handoffs0 = syslet_stat("handoffs"), ret;
	int p[2], i;

	if (pipe(p))
		return NULL;
	reader_init(&r, p[0]);
	w.fd = p[1];
	for (i = 0; i < 128; i++)
		c->xmm_in[i] = (unsigned char)(i * 7 + 3);
	c->mxcsr_in = 0x1f80 | (3 << 13);	/* round toward zero */
	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigaltstack(&ss, NULL);
	c->gs_set = (unsigned long)&gs_target;
	syscall(SYS_arch_prctl, 0x1001 /* ARCH_SET_GS */, c->gs_set);
	syscall(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, &c->fs_before);
	pthread_create(&th, NULL, late_write, &w);
	__asm__ volatile(
		"ldmxcsr %[mxin]\n\t"
		"movdqu 0(%[in]), %%xmm8\n\t"
		"movdqu 16(%[in]), %%xmm9\n\t"
		"movdqu 32(%[in]), %%xmm10\n\t"
		"movdqu 48(%[in]), %%xmm11\n\t"
		"movdqu 64(%[in]), %%xmm12\n\t"
		"movdqu 80(%[in]), %%xmm13\n\t"
		"movdqu 96(%[in]), %%xmm14\n\t"
		"movdqu 112(%[in]), %%xmm15\n\t"
		"syscall\n\t"
		"movdqu %%xmm8, 0(%[out])\n\t"
		"movdqu %%xmm9, 16(%[out])\n\t"
		"movdqu %%xmm10, 32(%[out])\n\t"
		"movdqu %%xmm11, 48(%[out])\n\t"
		"movdqu %%xmm12, 64(%[out])\n\t"
		"movdqu %%xmm13, 80(%[out])\n\t"
		"movdqu %%xmm14, 96(%[out])\n\t"
		"movdqu %%xmm15, 112(%[out])\n\t"
		"stmxcsr %[mxout]\n\t"
		"ldmxcsr %[mxdef]"
		: "=a"(ret), [mxout] "=m"(c->mxcsr_out)
		: "a"((long)__NR_async_exec), "D"(&r.atom), "S"(&ahu),
		  [in] "r"(c->xmm_in), [out] "r"(c->xmm_out),
		  [mxin] "m"(c->mxcsr_in), [mxdef] "m"((unsigned int){ 0x1f80 })
		: "rcx", "r11", "memory", "xmm8", "xmm9", "xmm10", "xmm11",
		  "xmm12", "xmm13", "xmm14", "xmm15");
	c->exec_ret = ret;
	atomic_store(&w.returned, 1);
	c->handoffs = syslet_stat("handoffs") - handoffs0;
	syscall(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, &c->fs_after);
	syscall(SYS_arch_prctl, 0x1004 /* ARCH_GET_GS */, &c->gs_after);
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	c->sigwinch_blocked = sigismember(&now, SIGWINCH);
	sigaltstack(NULL, &ss_after);
	c->altstack_same = ss_after.ss_sp == altstack && ss_after.ss_size == sizeof(altstack);
	/* TLS through the FS base still reaches this thread's variable. */
	if (tls_probe != 1234)
		c->altstack_same = 0;
	c->reaped_ok = reap(&ahu, ring, 8) == &r.atom && r.ret == 9;
	pthread_join(th, NULL);
	syscall(SYS_arch_prctl, 0x1001 /* ARCH_SET_GS */, 0UL);
	close(p[0]);
	close(p[1]);
	return NULL;
}

TEST(the_spare_resumes_the_callers_registers_tls_and_masks)
{
	struct context_run c = { 0 };
	pthread_t th;

	ASSERT_EQ(0, pthread_create(&th, NULL, context_thread, &c));
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(0, c.exec_ret);
	EXPECT_EQ(1, c.handoffs);
	EXPECT_EQ(0, memcmp(c.xmm_in, c.xmm_out, sizeof(c.xmm_in)));
	EXPECT_EQ(c.mxcsr_in, c.mxcsr_out & ~0x3fU);
	EXPECT_NE(0, c.fs_before);
	EXPECT_EQ(c.fs_before, c.fs_after);
	EXPECT_EQ(c.gs_set, c.gs_after);
	EXPECT_TRUE(c.sigwinch_blocked);
	EXPECT_TRUE(c.altstack_same);
	EXPECT_TRUE(c.reaped_ok);
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

/* Runs fn in a child process: its exit code, or -1 if it did not exit. */
static int exit_code_of(int (*fn)(void))
{
	int status;
	pid_t child = fork();

	if (child < 0)
		return -1;
	if (!child)
		exit(fn());
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
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

/* A child whose main thread handed its context over several times. */
static int child_with_handoffs(int rounds, int block_forever)
{
	struct syslet_uatom *ring[16] = { 0 };
	struct async_head_user ahu = RING_HEAD(ring);
	static struct reader r[8];
	int p[2], i;

	if (pipe(p))
		return 1;
	for (i = 0; i < rounds; i++) {
		reader_init(&r[i], p[0]);
		r[i].len = 1;
		if (sys_async_exec(&r[i].atom, &ahu) != 0)
			return 2;
		if (!block_forever) {
			if (write(p[1], "x", 1) != 1)
				return 3;
			if (reap(&ahu, ring, 16) != &r[i].atom)
				return 4;
		}
	}
	return 0;
}

/*
 * The group leader keeps its TID (wait() finds a process by it): the main
 * flow continues under a spare's TID, with the same PID.
 */
static int main_flow_after_five_handoffs(void)
{
	int rc = child_with_handoffs(5, 0);

	return rc ? rc : (gettid() != getpid() ? 42 : 43);
}

TEST(exit_status_and_pid_survive_handoffs_of_the_main_thread)
{
	long procs = live("processes"), spares = live("spares");

	EXPECT_EQ(42, exit_code_of(main_flow_after_five_handoffs));
	EXPECT_TRUE(live_back_to(procs, spares));
}

TEST(kill_with_handed_off_chains_leaves_nothing)
{
	long procs = live("processes"), spares = live("spares");
	int status, round;

	for (round = 0; round < 3; round++) {
		pid_t child = fork();

		ASSERT_LE(0, child);
		if (!child) {
			int rc = child_with_handoffs(8, 1);

			pause();
			_exit(rc);
		}
		usleep(200000);
		kill(child, SIGKILL);
		ASSERT_EQ(child, waitpid(child, &status, 0)) TH_LOG("errno %d", errno);
		ASSERT_TRUE(WIFSIGNALED(status));
		EXPECT_EQ(SIGKILL, WTERMSIG(status));
	}
	EXPECT_TRUE(live_back_to(procs, spares));
}

TEST(stop_then_kill_with_parked_spares_leaves_nothing)
{
	long procs = live("processes"), spares = live("spares");
	int status;
	pid_t child = fork();

	ASSERT_LE(0, child);
	if (!child) {
		/* Spares parked, T's parked as spares, one chain blocked. */
		int rc = child_with_handoffs(4, 0) || child_with_handoffs(1, 1);

		pause();
		_exit(rc);
	}
	usleep(200000);
	kill(child, SIGSTOP);
	ASSERT_EQ(child, waitpid(child, &status, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(status));
	kill(child, SIGKILL);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_TRUE(live_back_to(procs, spares));
}

/*
 * A chain that blocks in ppoll() with a temporary mask, then closes the
 * write end of a second pipe: the caller's context keeps its own mask,
 * and the close takes effect when the chain ends (the final fput() runs
 * then), so a reader of that pipe sees EOF.
 */
struct ppoll_run {
	long exec_ret, reaped_ok, eof;
	int usr1_blocked_after;
};

static void *ppoll_thread(void *arg)
{
	struct ppoll_run *pr = arg;
	struct syslet_uatom *ring[8] = { 0 }, poll_atom, close_atom;
	struct async_head_user ahu = RING_HEAD(ring);
	struct late_writer w = { 0 };
	struct pollfd pfd;
	sigset_t tmp, now;
	unsigned long pfdp = (unsigned long)&pfd, one = 1, tsp = 0, maskp, masksz = 8, wfd;
	long poll_ret = -1, close_ret = -1;
	pthread_t th;
	char c;
	int p[2], q[2];

	if (pipe(p) || pipe(q))
		return NULL;
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	sigemptyset(&tmp);
	sigaddset(&tmp, SIGUSR1);
	maskp = (unsigned long)&tmp;
	wfd = q[1];
	atom_set(&close_atom, 0, __NR_close, &close_ret, NULL, ATOM_ARGS(&wfd));
	atom_set(&poll_atom, 0, __NR_ppoll, &poll_ret, &close_atom,
		 ATOM_ARGS(&pfdp, &one, &tsp, &maskp, &masksz));
	w.fd = p[1];
	pthread_create(&th, NULL, late_write, &w);
	pr->exec_ret = sys_async_exec(&poll_atom, &ahu);
	atomic_store(&w.returned, 1);
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	pr->usr1_blocked_after = sigismember(&now, SIGUSR1);
	pr->reaped_ok = reap(&ahu, ring, 8) == &close_atom && poll_ret == 1 && close_ret == 0;
	pr->eof = read(q[0], &c, 1) == 0;
	pthread_join(th, NULL);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	return NULL;
}

TEST(ppoll_mask_stays_with_the_atom_and_close_takes_effect)
{
	struct ppoll_run pr = { 0 };
	pthread_t th;

	ASSERT_EQ(0, pthread_create(&th, NULL, ppoll_thread, &pr));
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(0, pr.exec_ret);
	EXPECT_FALSE(pr.usr1_blocked_after);
	EXPECT_TRUE(pr.reaped_ok);
	EXPECT_TRUE(pr.eof);
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

/*
 * 10,000 async_exec calls from 4 threads, each a random choice of a
 * cached atom (getppid) or a read from one of the thread's pipes, which a
 * feeder fills later. Every call either returns its atom at once or
 * NULL and then exactly one completion.
 */
#define STRESS_THREADS	4
#define STRESS_CALLS	2500
#define STRESS_PIPES	4

struct stresser {
	int rd[STRESS_PIPES], wr[STRESS_PIPES];
	atomic_int want[STRESS_PIPES];
	atomic_int done;
	long sync, async, completed, errors;
	unsigned int seed;
};

static void *feeder(void *arg)
{
	struct stresser *s = arg;
	int t, j;

	for (;;) {
		int all_done = 1;

		for (t = 0; t < STRESS_THREADS; t++) {
			all_done &= atomic_load(&s[t].done);
			for (j = 0; j < STRESS_PIPES; j++)
				if (atomic_load(&s[t].want[j]) > 0 &&
				    write(s[t].wr[j], "y", 1) == 1)
					atomic_fetch_sub(&s[t].want[j], 1);
		}
		if (all_done)
			return NULL;
		usleep(500);
	}
}

static void *stress_thread(void *arg)
{
	struct stresser *s = arg;
	struct syslet_uatom *ring[32] = { 0 };
	struct async_head_user ahu = RING_HEAD(ring);
	static __thread struct reader r[STRESS_PIPES];
	static __thread struct syslet_uatom cheap;
	static __thread long cheap_ret;
	int busy[STRESS_PIPES] = { 0 }, i, j, outstanding = 0;
	struct syslet_uatom *a;

	atom_set(&cheap, 0, __NR_getppid, &cheap_ret, NULL, NULL);
	for (i = 0; i < STRESS_CALLS; i++) {
		j = rand_r(&s->seed) % STRESS_PIPES;
		if (rand_r(&s->seed) % 2 || busy[j]) {
			if (sys_async_exec(&cheap, &ahu) == (long)&cheap && cheap_ret == getppid())
				s->sync++;
			else
				s->errors++;
		} else {
			long ret;

			reader_init(&r[j], s->rd[j]);
			r[j].len = 1;
			atomic_fetch_add(&s->want[j], 1);
			ret = sys_async_exec(&r[j].atom, &ahu);
			if (ret == 0) {
				s->async++;
				busy[j] = 1;
				outstanding++;
			} else if (ret == (long)&r[j].atom && r[j].ret == 1) {
				s->sync++;
			} else {
				s->errors++;
			}
		}
		while (outstanding && (outstanding == STRESS_PIPES || i == STRESS_CALLS - 1)) {
			a = reap(&ahu, ring, 32);
			for (j = 0; j < STRESS_PIPES; j++)
				if (a == &r[j].atom && busy[j] && r[j].ret == 1)
					break;
			if (j == STRESS_PIPES) {
				s->errors++;
				break;
			}
			busy[j] = 0;
			outstanding--;
			s->completed++;
		}
	}
	/* Nothing more may arrive. */
	usleep(20000);
	if (ring[ahu.user_ring_idx % 32])
		s->errors++;
	atomic_store(&s->done, 1);
	return NULL;
}

static int stress(void)
{
	static struct stresser s[STRESS_THREADS];
	pthread_t th[STRESS_THREADS], feed;
	long sync = 0, async = 0, completed = 0, errors = 0;
	int t, j;

	for (t = 0; t < STRESS_THREADS; t++) {
		s[t].seed = 1234 + t;
		for (j = 0; j < STRESS_PIPES; j++) {
			int p[2];

			if (pipe(p))
				return 1;
			s[t].rd[j] = p[0];
			s[t].wr[j] = p[1];
		}
	}
	pthread_create(&feed, NULL, feeder, s);
	for (t = 0; t < STRESS_THREADS; t++)
		pthread_create(&th[t], NULL, stress_thread, &s[t]);
	for (t = 0; t < STRESS_THREADS; t++)
		pthread_join(th[t], NULL);
	pthread_join(feed, NULL);
	for (t = 0; t < STRESS_THREADS; t++) {
		sync += s[t].sync;
		async += s[t].async;
		completed += s[t].completed;
		errors += s[t].errors;
	}
	printf("# stress: %ld returned at once, %ld went async, %ld completions, %ld errors\n",
	       sync, async, completed, errors);
	if (errors || sync + async != STRESS_THREADS * STRESS_CALLS || completed != async || async < 100)
		return 2;
	return 0;
}

TEST(ten_thousand_mixed_calls_complete_exactly_once)
{
	long procs = live("processes"), spares = live("spares");

	EXPECT_EQ(0, exit_code_of(stress));
	EXPECT_TRUE(live_back_to(procs, spares));
}

TEST_HARNESS_MAIN
