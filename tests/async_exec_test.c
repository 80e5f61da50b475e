// SPDX-License-Identifier: GPL-2.0
/*
 * async_exec(): chains, flags, stop conditions, the refusal list, seccomp
 * and every error path. One TEST per behaviour; semantics in
 * Documentation/syslets.md. The chains here never block, so async_exec()
 * returns the address of the atom the chain ended at and the ring stays
 * empty; going asynchronous is tested in async_threads_test.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "kselftest_harness.h"
#include "syslet_test.h"

FIXTURE(chain)
{
	struct syslet_uatom a[4];
	long ret[4];
	struct syslet_uatom *ring[8];
	struct async_head_user ahu;
};

FIXTURE_SETUP(chain)
{
	memset(self, 0, sizeof(*self));
	self->ahu.completion_ring = self->ring;
	self->ahu.ring_size_bytes = sizeof(self->ring);
	memset(self->ret, 0x55, sizeof(self->ret));
}

FIXTURE_TEARDOWN(chain)
{
	/* Nothing ran asynchronously: the ring stays empty. */
	for (int i = 0; i < 8; i++)
		EXPECT_EQ(NULL, self->ring[i]);
	EXPECT_EQ(0, self->ahu.kernel_ring_idx);
}

TEST_F(chain, single_atom_returns_itself)
{
	atom_set(&self->a[0], 0, __NR_getppid, &self->ret[0], NULL, NULL);
	ASSERT_EQ((long)&self->a[0], sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(getppid(), self->ret[0]);
}

TEST_F(chain, follows_next_and_stores_every_result)
{
	unsigned long counter = 10, one = 1, *cp = &counter;

	atom_set(&self->a[0], 0, __NR_getpid, &self->ret[0], &self->a[1], NULL);
	atom_set(&self->a[1], 0, __NR_getppid, &self->ret[1], &self->a[2], NULL);
	atom_set(&self->a[2], 0, __NR_umem_add, &self->ret[2], NULL,
		 ATOM_ARGS((unsigned long *)&cp, &one));
	ASSERT_EQ((long)&self->a[2], sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(getpid(), self->ret[0]);
	ASSERT_EQ(getppid(), self->ret[1]);
	ASSERT_EQ(11, self->ret[2]);
	ASSERT_EQ(11, counter);
}

TEST_F(chain, null_ret_ptr_discards_the_result)
{
	atom_set(&self->a[0], 0, __NR_getppid, NULL, &self->a[1], NULL);
	atom_set(&self->a[1], 0, __NR_getpid, &self->ret[1], NULL, NULL);
	ASSERT_EQ((long)&self->a[1], sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(getpid(), self->ret[1]);
}

TEST_F(chain, arguments_are_read_up_to_the_first_null)
{
	unsigned long counter = 1, inc = 2, *cp = &counter;

	/* arg_ptr[3] is a bad pointer the kernel must never read. */
	atom_set(&self->a[0], 0, __NR_umem_add, &self->ret[0], NULL,
		 ATOM_ARGS((unsigned long *)&cp, &inc, NULL, (unsigned long *)8));
	ASSERT_EQ((long)&self->a[0], sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(3, self->ret[0]);
	ASSERT_EQ(3, counter);
}

TEST_F(chain, arguments_after_the_first_null_are_zero_in_every_atom)
{
	unsigned long four = 4, fd, bufp, count = 4, counter = 7, *cp = &counter;
	char buf[8] = "";
	int f = memfd_create("syslet-args", 0);

	/*
	 * The kernel reads every atom of a chain into the same buffer: a[0]
	 * fills all six arguments with 4, then a[1] (pread64, three) must see
	 * pos 0 and a[2] (umem_add, one) inc 0.
	 */
	ASSERT_LE(0, f);
	ASSERT_EQ(8, write(f, "abcdefgh", 8));
	fd = f;
	bufp = (unsigned long)buf;
	atom_set(&self->a[0], 0, 999, &self->ret[0], &self->a[1],
		 ATOM_ARGS(&four, &four, &four, &four, &four, &four));
	atom_set(&self->a[1], 0, __NR_pread64, &self->ret[1], &self->a[2],
		 ATOM_ARGS(&fd, &bufp, &count));
	atom_set(&self->a[2], 0, __NR_umem_add, &self->ret[2], NULL,
		 ATOM_ARGS((unsigned long *)&cp));
	ASSERT_EQ((long)&self->a[2], sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(-ENOSYS, self->ret[0]);
	ASSERT_EQ(4, self->ret[1]);
	ASSERT_EQ(0, memcmp(buf, "abcd", 4));
	ASSERT_EQ(7, self->ret[2]);
	ASSERT_EQ(7, counter);
	close(f);
}

/* a[0] returns `value` (umem_add reading a variable), with `flags`; a[1]
 * follows. Returns whether a[1] ran. */
static int second_runs(FIXTURE_DATA(chain) *self, unsigned long flags,
		       long value, long *end)
{
	static unsigned long v, zero, *vp = &v;

	v = value;
	atom_set(&self->a[0], flags, __NR_umem_add, &self->ret[0], &self->a[1],
		 ATOM_ARGS((unsigned long *)&vp, &zero));
	atom_set(&self->a[1], 0, __NR_getpid, &self->ret[1], NULL, NULL);
	self->ret[1] = 0;
	*end = sys_async_exec(&self->a[0], &self->ahu);
	return self->ret[1] == getpid();
}

TEST_F(chain, stop_on_nonzero)
{
	long end;

	ASSERT_FALSE(second_runs(self, SYSLET_STOP_ON_NONZERO, 7, &end));
	ASSERT_EQ((long)&self->a[0], end);
	ASSERT_TRUE(second_runs(self, SYSLET_STOP_ON_NONZERO, 0, &end));
	ASSERT_EQ((long)&self->a[1], end);
}

TEST_F(chain, stop_on_zero)
{
	long end;

	ASSERT_FALSE(second_runs(self, SYSLET_STOP_ON_ZERO, 0, &end));
	ASSERT_EQ((long)&self->a[0], end);
	ASSERT_TRUE(second_runs(self, SYSLET_STOP_ON_ZERO, 7, &end));
}

TEST_F(chain, stop_on_negative)
{
	long end;

	/* umem_add returns the value as a long: -5 reads as negative. */
	ASSERT_FALSE(second_runs(self, SYSLET_STOP_ON_NEGATIVE, -5, &end));
	ASSERT_TRUE(second_runs(self, SYSLET_STOP_ON_NEGATIVE, 0, &end));
	ASSERT_TRUE(second_runs(self, SYSLET_STOP_ON_NEGATIVE, 5, &end));
}

TEST_F(chain, stop_on_non_positive)
{
	long end;

	ASSERT_FALSE(second_runs(self, SYSLET_STOP_ON_NON_POSITIVE, -5, &end));
	ASSERT_FALSE(second_runs(self, SYSLET_STOP_ON_NON_POSITIVE, 0, &end));
	ASSERT_TRUE(second_runs(self, SYSLET_STOP_ON_NON_POSITIVE, 5, &end));
}

TEST_F(chain, stop_on_error_result)
{
	/* The usual guard: stop when a call fails. */
	atom_set(&self->a[0], SYSLET_STOP_ON_NEGATIVE, __NR_close, &self->ret[0],
		 &self->a[1], ATOM_ARGS((unsigned long *)&(unsigned long){ -1UL }));
	atom_set(&self->a[1], 0, __NR_getpid, &self->ret[1], NULL, NULL);
	self->ret[1] = 0;
	ASSERT_EQ((long)&self->a[0], sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(-EBADF, self->ret[0]);
	ASSERT_EQ(0, self->ret[1]);
}

TEST_F(chain, skip_to_next_on_stop_branches)
{
	static unsigned long v, zero, *vp = &v;

	/* a[0]: if v == 0 continue at a[1] (next in memory), else at a[2]. */
	atom_set(&self->a[0], SYSLET_STOP_ON_ZERO | SYSLET_SKIP_TO_NEXT_ON_STOP,
		 __NR_umem_add, &self->ret[0], &self->a[2],
		 ATOM_ARGS((unsigned long *)&vp, &zero));
	atom_set(&self->a[1], 0, __NR_getpid, &self->ret[1], NULL, NULL);
	atom_set(&self->a[2], 0, __NR_getppid, &self->ret[2], NULL, NULL);

	v = 0;
	self->ret[1] = self->ret[2] = 0;
	ASSERT_EQ((long)&self->a[1], sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(getpid(), self->ret[1]);
	ASSERT_EQ(0, self->ret[2]);

	v = 1;
	self->ret[1] = self->ret[2] = 0;
	ASSERT_EQ((long)&self->a[2], sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(0, self->ret[1]);
	ASSERT_EQ(getppid(), self->ret[2]);
}

TEST_F(chain, umem_add_loop_counts_down)
{
	/* The 2007 loop idiom: an atom that points at itself and stops when
	 * its counter reaches zero. */
	unsigned long counter = 100, minus_one = -1UL, *cp = &counter;

	atom_set(&self->a[0], SYSLET_STOP_ON_ZERO, __NR_umem_add, &self->ret[0],
		 &self->a[0], ATOM_ARGS((unsigned long *)&cp, &minus_one));
	ASSERT_EQ((long)&self->a[0], sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(0, counter);
	ASSERT_EQ(0, self->ret[0]);
}

TEST_F(chain, unknown_numbers_give_enosys)
{
	static const unsigned long nrs[] = { 463, 599, 606, 1023, 1024, 1UL << 32,
					     0x40000000 | 1, -1UL };

	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		atom_set(&self->a[0], 0, nrs[i], &self->ret[0], NULL, NULL);
		ASSERT_EQ((long)&self->a[0], sys_async_exec(&self->a[0], &self->ahu));
		EXPECT_EQ(-ENOSYS, self->ret[0]) TH_LOG("nr %#lx", nrs[i]);
	}
}

TEST_F(chain, refused_calls_give_eopnotsupp_and_do_not_run)
{
	static const unsigned long nrs[] = {
		__NR_fork, __NR_vfork, __NR_clone, __NR_clone3, __NR_execve,
		__NR_execveat, __NR_exit, __NR_exit_group, __NR_rt_sigreturn,
		__NR_setuid, __NR_setgid, __NR_setreuid, __NR_setregid,
		__NR_setresuid, __NR_setresgid, __NR_setfsuid, __NR_setfsgid,
		__NR_setgroups, __NR_capset, __NR_arch_prctl, __NR_prctl,
		__NR_seccomp, __NR_unshare, __NR_rt_sigprocmask,
		__NR_set_tid_address, __NR_async_exec, __NR_async_wait,
		__NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
	};
	unsigned long zero = 0;

	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		atom_set(&self->a[0], 0, nrs[i], &self->ret[0], NULL,
			 ATOM_ARGS(&zero, &zero, &zero, &zero, &zero, &zero));
		ASSERT_EQ((long)&self->a[0], sys_async_exec(&self->a[0], &self->ahu));
		EXPECT_EQ(-EOPNOTSUPP, self->ret[0]) TH_LOG("nr %lu", nrs[i]);
	}
	/* fork, vfork and clone did not create a child. */
	errno = 0;
	ASSERT_EQ(-1, waitpid(-1, NULL, WNOHANG));
	ASSERT_EQ(ECHILD, errno);
}

TEST_F(chain, pi_futex_operations_are_refused)
{
	/* FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG on a free futex word: refused
	 * before it could run; a plain FUTEX_WAKE runs. */
	unsigned long word = 0, uaddr = (unsigned long)&word, op, zero = 0, one = 1;

	op = 6 | 128;
	atom_set(&self->a[0], 0, __NR_futex, &self->ret[0], NULL,
		 ATOM_ARGS(&uaddr, &op, &zero, &zero));
	ASSERT_EQ((long)&self->a[0], sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(-EOPNOTSUPP, self->ret[0]);
	ASSERT_EQ(0, word);
	op = 1 | 128;	/* FUTEX_WAKE_PRIVATE */
	atom_set(&self->a[0], 0, __NR_futex, &self->ret[0], NULL,
		 ATOM_ARGS(&uaddr, &op, &one));
	ASSERT_EQ((long)&self->a[0], sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(0, self->ret[0]);
}

TEST_F(chain, bad_atom_pointer_is_efault)
{
	errno = 0;
	ASSERT_EQ(-1, sys_async_exec(NULL, &self->ahu));
	ASSERT_EQ(EFAULT, errno);
	errno = 0;
	ASSERT_EQ(-1, sys_async_exec((void *)0xffffffff81000000UL, &self->ahu));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(chain, bad_head_pointer_is_efault)
{
	atom_set(&self->a[0], 0, __NR_getpid, &self->ret[0], NULL, NULL);
	errno = 0;
	ASSERT_EQ(-1, sys_async_exec(&self->a[0], NULL));
	ASSERT_EQ(EFAULT, errno);
	/* The chain did not start. */
	ASSERT_NE(getpid(), self->ret[0]);
}

TEST_F(chain, bad_ring_pointer_is_efault)
{
	atom_set(&self->a[0], 0, __NR_getpid, &self->ret[0], NULL, NULL);
	self->ahu.completion_ring = NULL;
	errno = 0;
	ASSERT_EQ(-1, sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(EFAULT, errno);
	self->ahu.completion_ring = (void *)0xffffffff81000000UL;
	errno = 0;
	ASSERT_EQ(-1, sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(EFAULT, errno);
	/* A ring that would wrap the address space. */
	self->ahu.completion_ring = (void *)(-16UL);
	self->ahu.ring_size_bytes = 64;
	errno = 0;
	ASSERT_EQ(-1, sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(EFAULT, errno);
	/* The chain did not start. */
	ASSERT_NE(getpid(), self->ret[0]);
	self->ahu.completion_ring = self->ring;
	self->ahu.ring_size_bytes = sizeof(self->ring);
}

TEST_F(chain, bad_ret_ptr_is_efault)
{
	atom_set(&self->a[0], 0, __NR_getpid, (long *)8, &self->a[1], NULL);
	atom_set(&self->a[1], 0, __NR_getpid, &self->ret[1], NULL, NULL);
	errno = 0;
	ASSERT_EQ(-1, sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(EFAULT, errno);
	/* The chain stopped there. */
	ASSERT_NE(getpid(), self->ret[1]);
}

TEST_F(chain, bad_arg_ptr_is_efault)
{
	atom_set(&self->a[0], 0, __NR_close, &self->ret[0], NULL,
		 ATOM_ARGS((unsigned long *)8));
	errno = 0;
	ASSERT_EQ(-1, sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(EFAULT, errno);
}

TEST_F(chain, bad_next_pointer_is_efault_after_the_atom_ran)
{
	atom_set(&self->a[0], 0, __NR_getpid, &self->ret[0],
		 (struct syslet_uatom *)8, NULL);
	errno = 0;
	ASSERT_EQ(-1, sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(getpid(), self->ret[0]);
}

TEST_F(chain, unknown_flags_are_einval)
{
	atom_set(&self->a[0], 0x100, __NR_getpid, &self->ret[0], NULL, NULL);
	errno = 0;
	ASSERT_EQ(-1, sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(EINVAL, errno);
	atom_set(&self->a[0], 1UL << 63, __NR_getpid, &self->ret[0], NULL, NULL);
	errno = 0;
	ASSERT_EQ(-1, sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(chain, async_with_sync_is_einval)
{
	atom_set(&self->a[0], SYSLET_ASYNC | SYSLET_SYNC, __NR_getpid, &self->ret[0],
		 NULL, NULL);
	errno = 0;
	ASSERT_EQ(-1, sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_NE(getpid(), self->ret[0]);
}

TEST_F(chain, ring_size_zero_or_partial_slot_is_einval)
{
	atom_set(&self->a[0], 0, __NR_getpid, &self->ret[0], NULL, NULL);
	self->ahu.ring_size_bytes = 0;
	errno = 0;
	ASSERT_EQ(-1, sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(EINVAL, errno);
	self->ahu.ring_size_bytes = 12;
	errno = 0;
	ASSERT_EQ(-1, sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_NE(getpid(), self->ret[0]);
}

TEST_F(chain, sync_flag_runs_inline)
{
	atom_set(&self->a[0], SYSLET_SYNC | SYSLET_NO_COMPLETE, __NR_getppid,
		 &self->ret[0], NULL, NULL);
	ASSERT_EQ((long)&self->a[0], sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(getppid(), self->ret[0]);
}

static void on_alarm(int sig) { (void)sig; }

/* Installs a seccomp filter that allows everything: the caller's chains
 * then run inline, in the caller itself. */
static int allow_all_filter(void)
{
	struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { .len = 1, .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

TEST_F(chain, interrupted_call_stores_eintr_not_a_restart_code)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	unsigned long fd, buf, len = 8;
	char b[8];
	int p[2];

	/* Inline (under seccomp), read() blocks in the caller until SIGALRM;
	 * the kernel's -ERESTARTSYS must reach ret_ptr as -EINTR, and the
	 * chain is not restarted. */
	ASSERT_EQ(0, allow_all_filter());
	ASSERT_EQ(0, pipe(p));
	fd = p[0];
	buf = (unsigned long)b;
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	alarm(1);
	atom_set(&self->a[0], 0, __NR_read, &self->ret[0], NULL,
		 ATOM_ARGS(&fd, &buf, &len));
	ASSERT_EQ((long)&self->a[0], sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(-EINTR, self->ret[0]);
	close(p[0]);
	close(p[1]);
}

TEST_F(chain, async_flag_under_seccomp_is_eopnotsupp)
{
	/* Under seccomp chains run inline and cannot go asynchronous. */
	ASSERT_EQ(0, allow_all_filter());
	atom_set(&self->a[0], 0, __NR_getpid, &self->ret[0], &self->a[1], NULL);
	atom_set(&self->a[1], SYSLET_ASYNC, __NR_getppid, &self->ret[1], NULL, NULL);
	self->ret[1] = 0;
	errno = 0;
	ASSERT_EQ(-1, sys_async_exec(&self->a[0], &self->ahu));
	ASSERT_EQ(EOPNOTSUPP, errno);
	/* Atoms before it ran; it did not. */
	ASSERT_EQ(getpid(), self->ret[0]);
	ASSERT_EQ(0, self->ret[1]);
}

TEST(endless_chain_ends_with_sigkill)
{
	pid_t pid = fork();
	int status;

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct syslet_uatom a;
		struct syslet_uatom *ring[1];
		struct async_head_user ahu = RING_HEAD(ring);

		atom_set(&a, 0, __NR_getppid, NULL, &a, NULL);
		sys_async_exec(&a, &ahu);
		_exit(1);	/* never reached */
	}
	usleep(300 * 1000);
	/* Still looping (it yields the CPU, so this test runs at all). */
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGKILL, WTERMSIG(status));
}

/* Installs a filter: getppid gets `action`, everything else is allowed. */
static int deny_getppid(unsigned int action)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

TEST(seccomp_errno_applies_inside_a_chain)
{
	pid_t pid = fork();
	int status;

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct syslet_uatom a[2];
		struct syslet_uatom *ring[1];
		struct async_head_user ahu = RING_HEAD(ring);
		long r[2] = { 0, 0 };

		if (deny_getppid(SECCOMP_RET_ERRNO | 77))
			_exit(10);
		atom_set(&a[0], 0, __NR_getppid, &r[0], &a[1], NULL);
		atom_set(&a[1], 0, __NR_getpid, &r[1], NULL, NULL);
		if (sys_async_exec(a, &ahu) != (long)&a[1])
			_exit(11);
		/* Denied as a direct call would be; the chain went on. */
		_exit(r[0] == -77 && r[1] == getpid() ? 0 : 12);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

TEST(seccomp_kill_applies_inside_a_chain)
{
	pid_t pid = fork();
	int status;

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct syslet_uatom a, b;
		struct syslet_uatom *ring[1];
		struct async_head_user ahu = RING_HEAD(ring);

		if (deny_getppid(SECCOMP_RET_KILL_PROCESS))
			_exit(10);
		/* The chain must end at the killed atom: running the next one
		 * would meet a dead seccomp state (a kernel WARNING). */
		atom_set(&a, 0, __NR_getppid, NULL, &b, NULL);
		atom_set(&b, 0, __NR_getpid, NULL, NULL, NULL);
		sys_async_exec(&a, &ahu);
		_exit(11);	/* must not get here */
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGSYS, WTERMSIG(status));
}

TEST_HARNESS_MAIN
