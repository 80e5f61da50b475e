// SPDX-License-Identifier: GPL-2.0
/*
 * Rows of Documentation/handoff.md's "The identity contract" that only a
 * kernel with more options than the first test kernel can show, options
 * a distribution kernel has (tools/kconfig/test.config): CONFIG_RSEQ
 * (glibc registers every thread), CONFIG_X86_IOPL_IOPERM (ioperm(),
 * iopl()), CONFIG_IA32_EMULATION (int $0x80 from a 64-bit program) and
 * CONFIG_NUMA (set_mempolicy()). On a kernel without one, its test skips
 * and says why.
 *
 * Each case runs in a thread (not the leader) of a child process with a
 * deadline (handoff_fixture.h); the spare is made before the thread
 * changes its state, so it has the value the thread had at first.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <sys/io.h>
#include <sys/rseq.h>
#include <linux/mempolicy.h>

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "threadlet.h"

#define HTEST_SECONDS 90
#include "handoff_fixture.h"

/* ---- rseq: moves ---------------------------------------------------- */

/*
 * Whether the current task has exactly (area, len, RSEQ_SIG) registered:
 * registering it again answers EBUSY then and only then (EINVAL for
 * another area or length, EPERM for another signature), and changes
 * nothing. A task with none registered would register it (0).
 */
static long rseq_probe(struct rseq *area, unsigned int len)
{
	return syscall(__NR_rseq, area, len, 0, RSEQ_SIG) ? -errno : 0;
}

static int rseq_case(void *arg)
{
	struct rseq *area = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
	static const unsigned int lens[] = { 32, 0 };
	unsigned int len = 0;
	long before, after;

	if (make_spare())
		return 9;
	if (!__rseq_size) {
		say("glibc registered no rseq area (a kernel without CONFIG_RSEQ)");
		return CASE_SKIP;
	}
	/* glibc registers 32 bytes or more; __rseq_size is its feature size. */
	for (int i = 0; i < 2 && !len; i++) {
		unsigned int l = lens[i] ? lens[i] : __rseq_size;

		if (rseq_probe(area, l) == -EBUSY)
			len = l;
	}
	if (!len) {
		say("could not find the length glibc registered (__rseq_size %u)", __rseq_size);
		return 10;
	}
	before = rseq_probe(area, len);
	if (hand_off("rseq registered"))
		return 11;
	after = rseq_probe(area, len);
	say("rseq area %p, %u bytes: registering it again before the handoff %ld, after it %ld "
	    "(want -EBUSY both: the registration moved)", (void *)area, len, before, after);
	return after == -EBUSY ? 0 : 12;
}

HTEST(rseq_registration_moves_with_the_context)
{
	as_both(_metadata, rseq_case, NULL);
}

/* ---- I/O permissions: refused while set ------------------------------ */

static sigjmp_buf io_jb;

static void io_segv(int sig)
{
	siglongjmp(io_jb, 1);
}

/* Whether this thread may read port 0x80 (the POST port: harmless). */
static int port_readable(void)
{
	struct sigaction sa = { .sa_handler = io_segv }, old;
	volatile int ok = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old);
	if (!sigsetjmp(io_jb, 1)) {
		__asm__ volatile("inb $0x80, %%al" ::: "al");
		ok = 1;
	}
	sigaction(SIGSEGV, &old, NULL);
	return ok;
}

static int ioperm_set(void)
{
	if (ioperm(0x80, 1, 1)) {
		say("ioperm(0x80, 1, 1): errno %d", errno);
		return errno == ENOSYS ? CASE_SKIP : -1;	/* no X86_IOPL_IOPERM */
	}
	return port_readable() ? 0 : -1;
}

static int ioperm_clear(void)
{
	return ioperm(0x80, 1, 0);
}

static const struct refusal ioperm_rf = { "ioperm(0x80) on", ioperm_set, port_readable, ioperm_clear };

/* CAP_SYS_RAWIO: as root only (nobody gets EPERM, tested in
 * handoff_refusal_test.c's chains). */
HTEST(io_port_permission_refuses_the_handoff_and_stays_set)
{
	as_root(_metadata, refusal_case, (void *)&ioperm_rf);
}

static int iopl_set(void)
{
	if (iopl(3)) {
		say("iopl(3): errno %d", errno);
		return errno == ENOSYS ? CASE_SKIP : -1;
	}
	return port_readable() ? 0 : -1;
}

static int iopl_clear(void)
{
	return iopl(0);
}

static const struct refusal iopl_rf = { "iopl(3)", iopl_set, port_readable, iopl_clear };

HTEST(io_privilege_level_refuses_the_handoff_and_stays_set)
{
	as_root(_metadata, refusal_case, (void *)&iopl_rf);
}

/* ---- compat system calls: refused ------------------------------------ */

enum { STACK_SIZE = 64 << 10 };

/* i386 numbers: int $0x80 takes them from a 64-bit program as well. */
enum { NR32_GETPID = 20, NR32_POLL = 168 };

static long int80(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c)
			 : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

/*
 * Whether int $0x80 reaches the i386 system calls: without
 * IA32_EMULATION it raises #GP (SIGSEGV), so ask in a child.
 */
static int int80_works(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(int80(NR32_GETPID, 0, 0, 0) == getpid() ? 0 : 1);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		say("int $0x80 getpid failed (status %#x): a kernel without IA32_EMULATION", status);
		return 0;
	}
	return 1;
}

struct sleeper {
	int compat;
	long ret, tid;
	int done;
};

/* Sleeps 30 ms in poll(NULL, 0, 30): through int $0x80 (TS_COMPAT set
 * while it runs) or the 64-bit entry. */
static void sleeper_fn(void *arg)
{
	struct sleeper *s = arg;

	s->ret = s->compat ? int80(NR32_POLL, 0, 0, 30) : raw_syscall4(__NR_poll, 0, 0, 30, 0);
	s->tid = raw_syscall4(__NR_gettid, 0, 0, 0, 0);
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
}

/* Waits up to 5 s for a threadlet that went asynchronous to end: its
 * stack is its own until then. */
static int sleeper_wait(struct sleeper *s)
{
	for (int i = 0; i < 5000 && !__atomic_load_n(&s->done, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	return __atomic_load_n(&s->done, __ATOMIC_ACQUIRE);
}

static int compat_case(void *arg)
{
	static char stack[STACK_SIZE];
	struct sleeper native = { 0 }, compat = { .compat = 1 };
	long tid = gettid(), r_native, r_compat;

	memset(stack, 0x5a, sizeof(stack));	/* no first-touch fault in it */
	if (!int80_works())
		return CASE_SKIP;
	if (make_spare())
		return 9;
	/* The control: the 64-bit sleep hands the threadlet's head over. */
	r_native = threadlet_exec(sleeper_fn, &native, stack, sizeof(stack));
	say("threadlet sleeping through syscall: returned %ld, poll %ld, TID %ld -> %ld",
	    r_native, native.ret, tid, (long)gettid());
	if (r_native != THREADLET_WENT_ASYNC)
		return 10;
	if (!sleeper_wait(&native))
		return 14;
	tid = gettid();
	if (make_spare())
		return 11;
	r_compat = threadlet_exec(sleeper_fn, &compat, stack, sizeof(stack));
	say("threadlet sleeping through int $0x80: returned %ld, poll %ld, TID %ld -> %ld (want "
	    "inline, the same TID)", r_compat, compat.ret, tid, (long)gettid());
	if (r_compat != THREADLET_INLINE || compat.ret != 0)
		return 12;
	return gettid() == tid && compat.tid == tid ? 0 : 13;
}

HTEST(compat_system_call_refuses_the_handoff)
{
	as_both(_metadata, compat_case, NULL);
}

/* ---- memory policy: known gap ---------------------------------------- */

static int mempolicy_case(void *arg)
{
	unsigned long node0 = 1;
	int before = -1, after = -1;

	if (make_spare())
		return 9;
	if (syscall(__NR_set_mempolicy, MPOL_PREFERRED, &node0, 2)) {
		say("set_mempolicy(MPOL_PREFERRED, node 0): errno %d", errno);
		return errno == ENOSYS ? CASE_SKIP : 10;	/* no NUMA */
	}
	if (syscall(__NR_get_mempolicy, &before, NULL, 0, NULL, 0))
		return 11;
	if (hand_off("MPOL_PREFERRED"))
		return 12;
	if (syscall(__NR_get_mempolicy, &after, NULL, 0, NULL, 0))
		return 13;
	say("memory policy before the handoff %d, after it %d (known gap: the spare's, "
	    "MPOL_DEFAULT %d)", before, after, MPOL_DEFAULT);
	return before == MPOL_PREFERRED && after == MPOL_DEFAULT ? 0 : 14;
}

HTEST(memory_policy_is_the_spares_after_a_handoff)
{
	as_both(_metadata, mempolicy_case, NULL);
}

TEST_HARNESS_MAIN
