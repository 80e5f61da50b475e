// SPDX-License-Identifier: GPL-2.0
/*
 * What a spare resumes when it takes the caller's user context in a
 * cachemiss handoff: the registers, MXCSR, TLS and GS bases, the signal
 * mask and alternate stack; a ppoll() atom's temporary mask stays with
 * the atom, and a close() later in the chain takes effect when it ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <poll.h>
#include "kselftest_harness.h"
#include "syslet_test.h"
#include "cachemiss_test.h"

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
	w.waiter = gettid();
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
	w.waiter = gettid();
	pthread_create(&th, NULL, late_write, &w);
	pr->exec_ret = sys_async_exec(&poll_atom, &ahu);
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

TEST_HARNESS_MAIN
