// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsyslet on the patched kernel: chains built with the library, run
 * with async_exec(), reaped from the ring; the raw wrappers; every error
 * a chain's submission can return. Built against the INSTALLED headers
 * and library (tools/build-guest: make install into a DESTDIR, then
 * cc $(pkg-config --cflags --libs syslet)), which is what it also tests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslet.h>

#include "kselftest_harness.h"

static const struct timespec five_s = { 5, 0 };

FIXTURE(lib)
{
	struct syslet_ring ring;
	struct syslet_chain c;
};

FIXTURE_SETUP(lib)
{
	ASSERT_EQ(0, syslet_ring_init(&self->ring, 8));
	ASSERT_EQ(0, syslet_chain_init(&self->c, 8));
}

FIXTURE_TEARDOWN(lib)
{
	syslet_chain_exit(&self->c);
	syslet_ring_exit(&self->ring);
}

TEST_F(lib, a_chain_that_never_blocks_finishes_with_its_results)
{
	struct syslet_chain *c = &self->c;

	ASSERT_EQ(0, syslet_chain_call(c, __NR_getpid));
	ASSERT_EQ(1, syslet_chain_call(c, __NR_getppid));
	ASSERT_EQ(2, syslet_chain_call(c, __NR_gettid));
	ASSERT_EQ(SYSLET_CHAIN_DONE, syslet_chain_submit(c, &self->ring));
	ASSERT_EQ(2, syslet_chain_last(c));
	ASSERT_EQ(getpid(), syslet_chain_result(c, 0));
	ASSERT_EQ(getppid(), syslet_chain_result(c, 1));
	ASSERT_EQ(gettid(), syslet_chain_result(c, 2));
	ASSERT_EQ(0, syslet_ring_ready(&self->ring));
	/* Again: the same chain runs twice. */
	ASSERT_EQ(SYSLET_CHAIN_DONE, syslet_chain_submit(c, &self->ring));
	ASSERT_EQ(getpid(), syslet_chain_result(c, 0));
}

TEST_F(lib, a_stop_condition_ends_the_chain_and_later_cells_stay_unset)
{
	struct syslet_chain *c = &self->c;

	ASSERT_EQ(0, syslet_chain_call(c, __NR_close, -1));
	ASSERT_EQ(0, syslet_atom_stop_on(c, 0, SYSLET_STOP_ON_NEGATIVE));
	ASSERT_EQ(1, syslet_chain_call(c, __NR_getpid));
	ASSERT_EQ(SYSLET_CHAIN_DONE, syslet_chain_submit(c, &self->ring));
	ASSERT_EQ(0, syslet_chain_last(c));
	ASSERT_EQ(-EBADF, syslet_chain_result(c, 0));
	ASSERT_EQ(SYSLET_RESULT_UNSET, syslet_chain_result(c, 1));
}

/*
 * Runs a chain to its end: an atom may block (a file's open or read can
 * sleep on a lock), then the chain completes into the ring. 0 or -errno.
 */
static int run(struct syslet_chain *c, struct syslet_ring *ring)
{
	struct syslet_chain *got = NULL;
	int rc = syslet_chain_submit(c, ring);

	if (rc != SYSLET_CHAIN_ASYNC)
		return rc;
	rc = syslet_chain_reap(ring, &got, &five_s);
	return rc ? rc : got == c ? 0 : -EPROTO;
}

/* open(path); on failure -> getppid (the handler), else -> read; close. */
static void build_open_read_close(struct syslet_chain *c, const char *path, char *buf)
{
	syslet_chain_reset(c);
	syslet_chain_call(c, __NR_openat, AT_FDCWD, path, O_RDONLY);	/* 0 */
	syslet_atom_branch(c, 0, SYSLET_STOP_ON_NEGATIVE, 2);
	syslet_chain_call(c, __NR_getppid);				/* 1 */
	syslet_atom_link(c, 1, SYSLET_END);
	syslet_chain_call(c, __NR_read, 0, buf, 4);			/* 2 */
	syslet_atom_arg_result(c, 2, 0, 0);
	syslet_chain_call(c, __NR_close);				/* 3 */
	syslet_atom_arg_result(c, 3, 0, 0);
}

TEST_F(lib, a_branch_takes_the_error_path_or_skips_it)
{
	struct syslet_chain *c = &self->c;
	char buf[8] = "";

	build_open_read_close(c, "/proc/self/comm", buf);
	ASSERT_EQ(4, c->count);
	ASSERT_EQ(0, run(c, &self->ring));
	ASSERT_EQ(3, syslet_chain_last(c));
	ASSERT_LE(0, syslet_chain_result(c, 0));
	ASSERT_EQ(SYSLET_RESULT_UNSET, syslet_chain_result(c, 1));
	ASSERT_EQ(4, syslet_chain_result(c, 2));
	ASSERT_EQ(0, syslet_chain_result(c, 3));
	ASSERT_EQ(0, memcmp(buf, "libs", 4));	/* the test's own name */

	build_open_read_close(c, "/nonexistent", buf);
	ASSERT_EQ(0, run(c, &self->ring));
	ASSERT_EQ(1, syslet_chain_last(c));
	ASSERT_EQ(-ENOENT, syslet_chain_result(c, 0));
	ASSERT_EQ(getppid(), syslet_chain_result(c, 1));
	ASSERT_EQ(SYSLET_RESULT_UNSET, syslet_chain_result(c, 2));
}

TEST_F(lib, a_loop_counts_down_with_umem_add)
{
	struct syslet_chain *c = &self->c;
	unsigned long counter = 5, addr = (unsigned long)&counter;

	/* umem_add(&counter, -1) repeats until the counter is 0, then the
	 * chain goes on (skip to the next atom) to getpid. */
	ASSERT_EQ(0, syslet_chain_call(c, __NR_umem_add, addr, -1L));
	ASSERT_EQ(0, syslet_atom_branch(c, 0, SYSLET_STOP_ON_ZERO, 0));
	ASSERT_EQ(1, syslet_chain_call(c, __NR_getpid));
	ASSERT_EQ(SYSLET_CHAIN_DONE, syslet_chain_submit(c, &self->ring));
	ASSERT_EQ(0, counter);
	ASSERT_EQ(0, syslet_chain_result(c, 0));
	ASSERT_EQ(getpid(), syslet_chain_result(c, 1));
}

TEST_F(lib, a_blocking_chain_goes_async_and_is_reaped)
{
	struct syslet_chain *c = &self->c, *got = NULL;
	char buf[4];
	int p[2];

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, syslet_chain_call(c, __NR_read, p[0], buf, sizeof(buf)));
	ASSERT_EQ(SYSLET_CHAIN_ASYNC, syslet_chain_submit(c, &self->ring));
	/* In flight: neither changed, resubmitted nor freed. */
	ASSERT_EQ(-EBUSY, syslet_chain_submit(c, &self->ring));
	ASSERT_EQ(-EBUSY, syslet_chain_exit(c));
	ASSERT_EQ(-EBUSY, syslet_chain_last(c));
	ASSERT_EQ(-EBUSY, syslet_chain_call(c, __NR_getpid));
	ASSERT_EQ(3, write(p[1], "abc", 3));
	ASSERT_EQ(0, syslet_chain_reap(&self->ring, &got, &five_s));
	ASSERT_TRUE(got == c);
	ASSERT_EQ(0, syslet_chain_last(c));
	ASSERT_EQ(3, syslet_chain_result(c, 0));
	ASSERT_EQ(0, syslet_ring_ready(&self->ring));
	close(p[0]);
	close(p[1]);
}

TEST_F(lib, flags_reach_the_kernel)
{
	struct syslet_chain *c = &self->c, *got = NULL;
	struct syslet_uatom *a;

	/* SYSLET_ASYNC: asynchronous at once, even for getpid. */
	ASSERT_EQ(0, syslet_chain_call(c, __NR_getpid));
	ASSERT_EQ(0, syslet_atom_set_flags(c, 0, SYSLET_ASYNC));
	ASSERT_EQ(SYSLET_CHAIN_ASYNC, syslet_chain_submit(c, &self->ring));
	ASSERT_EQ(0, syslet_chain_reap(&self->ring, &got, &five_s));
	ASSERT_EQ(getpid(), syslet_chain_result(c, 0));
	/* SYSLET_NO_COMPLETE: it runs, nothing is posted; the caller
	 * knows when it is done (its result is set) and resets it. */
	ASSERT_EQ(0, syslet_atom_set_flags(c, 0, SYSLET_ASYNC | SYSLET_NO_COMPLETE));
	ASSERT_EQ(SYSLET_CHAIN_ASYNC, syslet_chain_submit(c, &self->ring));
	for (int i = 0; i < 500 && syslet_chain_result(c, 0) == SYSLET_RESULT_UNSET; i++)
		usleep(10000);
	ASSERT_EQ(getpid(), syslet_chain_result(c, 0));
	usleep(100000);
	ASSERT_EQ(-ETIME, syslet_ring_reap(&self->ring, &a, &(struct timespec){ 0, 0 }));
	ASSERT_EQ(-EBUSY, syslet_chain_reset(c));
	ASSERT_EQ(0, syslet_chain_release(c));
	ASSERT_EQ(0, syslet_chain_reset(c));
	ASSERT_EQ(-EINVAL, syslet_chain_release(NULL));
}

TEST_F(lib, refused_and_unknown_calls_give_their_result_not_an_error)
{
	struct syslet_chain *c = &self->c;

	ASSERT_EQ(0, syslet_chain_call(c, __NR_fork));
	ASSERT_EQ(1, syslet_chain_call(c, 1000));
	ASSERT_EQ(SYSLET_CHAIN_DONE, syslet_chain_submit(c, &self->ring));
	ASSERT_EQ(-EOPNOTSUPP, syslet_chain_result(c, 0));
	ASSERT_EQ(-ENOSYS, syslet_chain_result(c, 1));
}

TEST_F(lib, submit_passes_the_kernels_efault_on)
{
	struct syslet_chain *c = &self->c;
	long pg = sysconf(_SC_PAGESIZE);
	long *ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	/* An argument that cannot be read. */
	ASSERT_EQ(0, syslet_chain_call(c, __NR_getpid));
	ASSERT_EQ(1, syslet_chain_call(c, __NR_close));
	ASSERT_EQ(0, syslet_atom_arg_ref(c, 1, 0, (unsigned long *)16));
	errno = 1234;
	ASSERT_EQ(-EFAULT, syslet_chain_submit(c, &self->ring));
	ASSERT_EQ(1234, errno);		/* the library never sets errno */
	ASSERT_EQ(getpid(), syslet_chain_result(c, 0));	/* atom 0 ran */
	ASSERT_EQ(-ENODATA, syslet_chain_last(c));
	/* A result cell that cannot be written. */
	ASSERT_EQ(0, syslet_atom_set_arg(c, 1, 0, -1));
	ASSERT_EQ(0, syslet_atom_ret_ref(c, 1, ro));
	ASSERT_EQ(-EFAULT, syslet_chain_submit(c, &self->ring));
	munmap(ro, pg);
}

TEST_F(lib, async_is_eopnotsupp_under_seccomp)
{
	struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { .len = 1, .filter = allow };
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct syslet_chain *c = &self->c;

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
			_exit(10);
		if (syslet_chain_call(c, __NR_getpid) != 0 ||
		    syslet_atom_set_flags(c, 0, SYSLET_ASYNC))
			_exit(11);
		_exit(syslet_chain_submit(c, &self->ring) == -EOPNOTSUPP ? 0 : 12);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

TEST(raw_wrappers_return_negative_errno_and_leave_errno_alone)
{
	struct syslet_uatom *slots[2];
	struct syslet_ring r;
	struct syslet_uatom atom = { .nr = __NR_getpid };
	unsigned long word = 40;

	ASSERT_EQ(0, syslet_ring_init_mem(&r, slots, sizeof(slots)));
	errno = 1234;
	ASSERT_EQ(-EFAULT, syslet_async_exec(NULL, &r.head));
	ASSERT_EQ(-EFAULT, syslet_async_exec(&atom, NULL));
	atom.flags = 0x100000;	/* unknown flag bit */
	ASSERT_EQ(-EINVAL, syslet_async_exec(&atom, &r.head));
	atom.flags = SYSLET_ASYNC | SYSLET_SYNC;
	ASSERT_EQ(-EINVAL, syslet_async_exec(&atom, &r.head));
	atom.flags = 0;
	ASSERT_EQ((long)&atom, syslet_async_exec(&atom, &r.head));
	ASSERT_EQ(-EFAULT, syslet_async_wait(1, 0, NULL));
	ASSERT_EQ(-EFAULT, syslet_umem_add(NULL, 1));
	ASSERT_EQ(42, syslet_umem_add(&word, 2));
	ASSERT_EQ(42, word);
	r.head.ring_size_bytes = 12;	/* not whole slots */
	ASSERT_EQ(-EINVAL, syslet_async_exec(&atom, &r.head));
	ASSERT_EQ(1234, errno);
}

TEST_HARNESS_MAIN
