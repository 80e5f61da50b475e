// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Host unit tests of libsyslet's pure parts: chain building and the
 * checks made before any system call. No test here reaches the kernel
 * (the build machine's kernel has no syslets): the calls themselves are
 * tested in the guest (libsyslet_test.c). Ring tests: host_ring.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslet.h>
#include "host_unit.h"

static struct { const char *name; void (*fn)(void); } cases[256];
static int ncases;

void ht_register(const char *name, void (*fn)(void))
{
	if (ncases < 256) {
		cases[ncases].name = name;
		cases[ncases++].fn = fn;
	}
}

void ht_fail(const char *file, int line, const char *what, long a, long b)
{
	fprintf(stderr, "%s:%d: expected %s: %ld (%#lx) != %ld (%#lx)\n",
		file, line, what, a, a, b, b);
	fflush(stderr);
	_exit(1);
}

int main(int argc, char **argv)
{
	int i, failed = 0;

	printf("running %d tests\n", ncases);
	fflush(stdout);
	for (i = 0; i < ncases; i++) {
		int status;
		pid_t pid;

		if (argc > 1 && !strstr(cases[i].name, argv[1]))
			continue;
		pid = fork();
		if (pid == 0) {
			cases[i].fn();
			_exit(0);
		}
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("test %s ... ok\n", cases[i].name);
		} else {
			printf("test %s ... FAILED\n", cases[i].name);
			failed++;
		}
		fflush(stdout);
	}
	printf("test result: %s. %d failed\n", failed ? "FAILED" : "ok", failed);
	return failed ? 1 : 0;
}

/* ---- chains -------------------------------------------------------------- */

HOST_TEST(chain_init_rejects_bad_capacity)
{
	struct syslet_chain c;

	EXPECT_EQ(-EINVAL, syslet_chain_init(NULL, 4));
	EXPECT_EQ(-EINVAL, syslet_chain_init(&c, 0));
	EXPECT_EQ(-EINVAL, syslet_chain_init(&c, SYSLET_CHAIN_MAX_ATOMS + 1));
	EXPECT_EQ(0, syslet_chain_init(&c, SYSLET_CHAIN_MAX_ATOMS));
	EXPECT_EQ(SYSLET_CHAIN_MAX_ATOMS, c.capacity);
	EXPECT_EQ(0, syslet_chain_exit(&c));
	/* An exited (or never initialised) chain is refused. */
	EXPECT_EQ(-EINVAL, syslet_chain_exit(&c));
	EXPECT_EQ(-EINVAL, syslet_chain_call(&c, __NR_getpid));
}

HOST_TEST(chain_call_fills_the_atom)
{
	struct syslet_chain c;
	char buf[8];
	int i;

	EXPECT_EQ(0, syslet_chain_init(&c, 4));
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_read, 3, buf, sizeof(buf)));
	struct syslet_uatom *a = syslet_chain_atom(&c, 0);
	EXPECT_TRUE(a == &c.atoms[0]);
	EXPECT_EQ(__NR_read, a->nr);
	EXPECT_EQ(0, a->flags);
	EXPECT_TRUE(a->next == NULL);
	EXPECT_TRUE(a->private == &c);
	EXPECT_TRUE(a->ret_ptr == &c.results[0]);
	EXPECT_EQ(3, *a->arg_ptr[0]);
	EXPECT_EQ((unsigned long)buf, *a->arg_ptr[1]);
	EXPECT_EQ(sizeof(buf), *a->arg_ptr[2]);
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(a->arg_ptr[i] == &c.args[i]);
	/* The kernel reads arguments up to the first NULL pointer. */
	for (i = 3; i < 6; i++)
		EXPECT_TRUE(a->arg_ptr[i] == NULL);
	EXPECT_EQ(SYSLET_RESULT_UNSET, syslet_chain_result(&c, 0));
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

HOST_TEST(chain_call_casts_every_argument)
{
	struct syslet_chain c;
	const char *path = "/etc/passwd";
	struct syslet_uatom *a;

	EXPECT_EQ(0, syslet_chain_init(&c, 2));
	/* A negative int (AT_FDCWD) is sign-extended as a direct call's
	 * register would be; a pointer keeps its value. */
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_openat, AT_FDCWD, path, O_RDONLY, 0));
	a = syslet_chain_atom(&c, 0);
	EXPECT_EQ((unsigned long)-100L, *a->arg_ptr[0]);
	EXPECT_EQ((unsigned long)path, *a->arg_ptr[1]);
	EXPECT_EQ(O_RDONLY, *a->arg_ptr[2]);
	EXPECT_TRUE(a->arg_ptr[3] != NULL);
	EXPECT_TRUE(a->arg_ptr[4] == NULL);
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

HOST_TEST(chain_call_counts_zero_to_six_arguments_and_refuses_seven)
{
	struct syslet_chain c;
	struct syslet_uatom *a;

	EXPECT_EQ(0, syslet_chain_init(&c, 4));
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_getpid));
	EXPECT_TRUE(syslet_chain_atom(&c, 0)->arg_ptr[0] == NULL);
	EXPECT_EQ(1, syslet_chain_call(&c, __NR_mmap, 1, 2, 3, 4, 5, 6));
	a = syslet_chain_atom(&c, 1);
	EXPECT_EQ(1, *a->arg_ptr[0]);
	EXPECT_EQ(6, *a->arg_ptr[5]);
	EXPECT_EQ(-EINVAL, syslet_chain_call(&c, __NR_mmap, 1, 2, 3, 4, 5, 6, 7));
	EXPECT_EQ(2, c.count);
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

HOST_TEST(chain_add_errors)
{
	struct syslet_chain c;
	unsigned long v[7] = { 0 };

	EXPECT_EQ(0, syslet_chain_init(&c, 2));
	EXPECT_EQ(-EINVAL, syslet_chain_add(&c, __NR_getpid, 7, v));
	EXPECT_EQ(-EINVAL, syslet_chain_add(&c, __NR_getpid, 1, NULL));
	EXPECT_EQ(-EINVAL, syslet_chain_add(NULL, __NR_getpid, 0, NULL));
	EXPECT_EQ(0, syslet_chain_add(&c, __NR_getpid, 0, NULL));
	EXPECT_EQ(1, syslet_chain_add(&c, __NR_getpid, 6, v));
	EXPECT_EQ(-ENOSPC, syslet_chain_add(&c, __NR_getpid, 0, NULL));
	EXPECT_EQ(2, c.count);
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

HOST_TEST(atoms_are_linked_in_the_order_they_are_added)
{
	struct syslet_chain c;
	int i;

	EXPECT_EQ(0, syslet_chain_init(&c, 4));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(i, syslet_chain_call(&c, __NR_getpid));
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(c.atoms[i].next == &c.atoms[i + 1]);
	EXPECT_TRUE(c.atoms[3].next == NULL);
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

HOST_TEST(an_explicit_link_is_not_overwritten)
{
	struct syslet_chain c;

	EXPECT_EQ(0, syslet_chain_init(&c, 4));
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_getpid));
	/* A forward link to an atom not added yet, then the end. */
	EXPECT_EQ(0, syslet_atom_link(&c, 0, 2));
	EXPECT_EQ(1, syslet_chain_call(&c, __NR_getppid));
	EXPECT_EQ(0, syslet_atom_link(&c, 1, SYSLET_END));
	EXPECT_EQ(2, syslet_chain_call(&c, __NR_gettid));
	EXPECT_EQ(3, syslet_chain_call(&c, __NR_getuid));
	EXPECT_TRUE(c.atoms[0].next == &c.atoms[2]);
	EXPECT_TRUE(c.atoms[1].next == NULL);
	EXPECT_TRUE(c.atoms[2].next == &c.atoms[3]);
	/* Back-links make loops. */
	EXPECT_EQ(0, syslet_atom_link(&c, 3, 0));
	EXPECT_TRUE(c.atoms[3].next == &c.atoms[0]);
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

HOST_TEST(link_errors)
{
	struct syslet_chain c;

	EXPECT_EQ(0, syslet_chain_init(&c, 2));
	EXPECT_EQ(-EINVAL, syslet_atom_link(&c, 0, 1));		/* no atom 0 yet */
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_getpid));
	EXPECT_EQ(-EINVAL, syslet_atom_link(&c, 0, 2));		/* >= capacity */
	EXPECT_EQ(-EINVAL, syslet_atom_link(&c, 0, -2));
	EXPECT_EQ(-EINVAL, syslet_atom_link(&c, -1, 0));
	EXPECT_EQ(-EINVAL, syslet_atom_link(NULL, 0, 0));
	EXPECT_TRUE(c.atoms[0].next == NULL);
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

HOST_TEST(branch_sets_the_stop_and_skip_flags_and_the_link)
{
	struct syslet_chain c;

	EXPECT_EQ(0, syslet_chain_init(&c, 4));
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_getpid));
	EXPECT_EQ(0, syslet_atom_branch(&c, 0, SYSLET_STOP_ON_NEGATIVE, 2));
	EXPECT_EQ(SYSLET_STOP_ON_NEGATIVE | SYSLET_SKIP_TO_NEXT_ON_STOP, c.atoms[0].flags);
	EXPECT_EQ(1, syslet_chain_call(&c, __NR_getppid));
	EXPECT_TRUE(c.atoms[0].next == &c.atoms[2]);
	EXPECT_EQ(-EINVAL, syslet_atom_branch(&c, 0, 0, 1));
	EXPECT_EQ(-EINVAL, syslet_atom_branch(&c, 0, SYSLET_ASYNC, 1));
	EXPECT_EQ(-EINVAL, syslet_atom_branch(&c, 0, SYSLET_STOP_ON_ZERO, 4));
	EXPECT_EQ(-EINVAL, syslet_atom_branch(&c, 2, SYSLET_STOP_ON_ZERO, 0));
	/* The refused calls changed nothing. */
	EXPECT_EQ(SYSLET_STOP_ON_NEGATIVE | SYSLET_SKIP_TO_NEXT_ON_STOP, c.atoms[0].flags);
	EXPECT_TRUE(c.atoms[0].next == &c.atoms[2]);
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

HOST_TEST(stop_on_replaces_stop_bits_and_ends_a_branch)
{
	struct syslet_chain c;

	EXPECT_EQ(0, syslet_chain_init(&c, 2));
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_getpid));
	EXPECT_EQ(0, syslet_atom_set_flags(&c, 0, SYSLET_SYNC));
	EXPECT_EQ(0, syslet_atom_branch(&c, 0, SYSLET_STOP_ON_ZERO, SYSLET_END));
	EXPECT_EQ(0, syslet_atom_stop_on(&c, 0, SYSLET_STOP_ON_NONZERO | SYSLET_STOP_ON_NEGATIVE));
	EXPECT_EQ(SYSLET_SYNC | SYSLET_STOP_ON_NONZERO | SYSLET_STOP_ON_NEGATIVE, c.atoms[0].flags);
	EXPECT_EQ(-EINVAL, syslet_atom_stop_on(&c, 0, SYSLET_SKIP_TO_NEXT_ON_STOP));
	EXPECT_EQ(-EINVAL, syslet_atom_stop_on(&c, 0, 0x100));
	EXPECT_EQ(-EINVAL, syslet_atom_stop_on(&c, 1, SYSLET_STOP_ON_ZERO));
	EXPECT_EQ(0, syslet_atom_stop_on(&c, 0, 0));
	EXPECT_EQ(SYSLET_SYNC, c.atoms[0].flags);
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

HOST_TEST(set_flags_takes_run_flags_only)
{
	struct syslet_chain c;

	EXPECT_EQ(0, syslet_chain_init(&c, 2));
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_getpid));
	EXPECT_EQ(0, syslet_atom_stop_on(&c, 0, SYSLET_STOP_ON_ZERO));
	EXPECT_EQ(0, syslet_atom_set_flags(&c, 0, SYSLET_ASYNC | SYSLET_NO_COMPLETE));
	EXPECT_EQ(SYSLET_ASYNC | SYSLET_NO_COMPLETE | SYSLET_STOP_ON_ZERO, c.atoms[0].flags);
	EXPECT_EQ(-EINVAL, syslet_atom_set_flags(&c, 0, SYSLET_ASYNC | SYSLET_SYNC));
	EXPECT_EQ(-EINVAL, syslet_atom_set_flags(&c, 0, SYSLET_STOP_ON_ZERO));
	EXPECT_EQ(-EINVAL, syslet_atom_set_flags(&c, 0, 0x1000));
	EXPECT_EQ(-EINVAL, syslet_atom_set_flags(&c, 3, 0));
	EXPECT_EQ(0, syslet_atom_set_flags(&c, 0, SYSLET_SYNC));
	EXPECT_EQ(SYSLET_SYNC | SYSLET_STOP_ON_ZERO, c.atoms[0].flags);
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

HOST_TEST(arguments_by_value_by_reference_and_their_limits)
{
	struct syslet_chain c;
	unsigned long shared = 7;
	struct syslet_uatom *a;

	EXPECT_EQ(0, syslet_chain_init(&c, 2));
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_write, 1));
	a = syslet_chain_atom(&c, 0);
	EXPECT_EQ(0, syslet_atom_set_arg(&c, 0, 0, 2));		/* replace */
	EXPECT_EQ(2, *a->arg_ptr[0]);
	EXPECT_EQ(-EINVAL, syslet_atom_set_arg(&c, 0, 2, 5));	/* a gap */
	EXPECT_EQ(0, syslet_atom_arg_ref(&c, 0, 1, &shared));	/* extend */
	EXPECT_TRUE(a->arg_ptr[1] == &shared);
	EXPECT_EQ(0, syslet_atom_set_arg(&c, 0, 2, 5));
	EXPECT_EQ(5, *a->arg_ptr[2]);
	EXPECT_TRUE(a->arg_ptr[3] == NULL);
	EXPECT_EQ(-EINVAL, syslet_atom_arg_ref(&c, 0, 3, NULL));
	EXPECT_EQ(-EINVAL, syslet_atom_set_arg(&c, 0, 6, 1));
	EXPECT_EQ(-EINVAL, syslet_atom_set_arg(&c, 1, 0, 1));
	EXPECT_TRUE(a->arg_ptr[3] == NULL);
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

HOST_TEST(an_argument_can_be_an_earlier_result)
{
	struct syslet_chain c;
	long cell;

	EXPECT_EQ(0, syslet_chain_init(&c, 4));
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_openat, AT_FDCWD, "/", O_RDONLY));
	EXPECT_EQ(1, syslet_chain_call(&c, __NR_close));
	EXPECT_EQ(0, syslet_atom_arg_result(&c, 1, 0, 0));
	EXPECT_TRUE(c.atoms[1].arg_ptr[0] == (unsigned long *)&c.results[0]);
	/* A redirected result is followed to its new cell. */
	EXPECT_EQ(0, syslet_atom_ret_ref(&c, 0, &cell));
	EXPECT_EQ(0, syslet_atom_arg_result(&c, 1, 0, 0));
	EXPECT_TRUE(c.atoms[1].arg_ptr[0] == (unsigned long *)&cell);
	/* No result stored, no atom, a gap: refused. */
	EXPECT_EQ(0, syslet_atom_ret_ref(&c, 0, NULL));
	EXPECT_EQ(-EINVAL, syslet_atom_arg_result(&c, 1, 0, 0));
	EXPECT_EQ(-EINVAL, syslet_atom_arg_result(&c, 1, 0, 2));
	EXPECT_EQ(-EINVAL, syslet_atom_arg_result(&c, 1, 2, 1));
	EXPECT_TRUE(c.atoms[1].arg_ptr[0] == (unsigned long *)&cell);
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

HOST_TEST(results_can_be_redirected_or_dropped)
{
	struct syslet_chain c;
	long cell = 42;

	EXPECT_EQ(0, syslet_chain_init(&c, 2));
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_getpid));
	EXPECT_EQ(1, syslet_chain_call(&c, __NR_getpid));
	EXPECT_EQ(0, syslet_atom_ret_ref(&c, 0, &cell));
	EXPECT_EQ(0, syslet_atom_ret_ref(&c, 1, NULL));
	EXPECT_TRUE(c.atoms[0].ret_ptr == &cell);
	EXPECT_TRUE(c.atoms[1].ret_ptr == NULL);
	EXPECT_EQ(42, cell);
	EXPECT_EQ(-EINVAL, syslet_atom_ret_ref(&c, 2, &cell));
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

HOST_TEST(submit_refuses_chains_that_cannot_run_before_any_call)
{
	struct syslet_uatom *slots[4];
	struct syslet_ring r, uninit = { 0 };
	struct syslet_chain c;

	EXPECT_EQ(0, syslet_ring_init_mem(&r, slots, sizeof(slots)));
	EXPECT_EQ(0, syslet_chain_init(&c, 4));
	EXPECT_EQ(-EINVAL, syslet_chain_submit(&c, &r));		/* empty */
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_getpid));
	EXPECT_EQ(-EINVAL, syslet_chain_submit(&c, NULL));
	EXPECT_EQ(-EINVAL, syslet_chain_submit(&c, &uninit));
	EXPECT_EQ(-EINVAL, syslet_chain_submit(NULL, &r));
	/* A link to an atom that was never added. */
	EXPECT_EQ(0, syslet_atom_link(&c, 0, 3));
	EXPECT_EQ(-EINVAL, syslet_chain_submit(&c, &r));
	/* A branch from the last atom would continue past the array. */
	EXPECT_EQ(0, syslet_atom_branch(&c, 0, SYSLET_STOP_ON_ZERO, SYSLET_END));
	EXPECT_EQ(-EINVAL, syslet_chain_submit(&c, &r));
	EXPECT_EQ(0, c.busy);
	EXPECT_EQ(-ENODATA, syslet_chain_last(&c));
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

HOST_TEST(a_chain_in_flight_refuses_every_change)
{
	struct syslet_uatom *slots[4];
	struct syslet_ring r;
	struct syslet_chain c;
	unsigned long v = 0;

	EXPECT_EQ(0, syslet_ring_init_mem(&r, slots, sizeof(slots)));
	EXPECT_EQ(0, syslet_chain_init(&c, 4));
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_getpid));
	c.busy = 1;	/* as syslet_chain_submit() leaves it when it went async */
	EXPECT_EQ(-EBUSY, syslet_chain_call(&c, __NR_getpid));
	EXPECT_EQ(-EBUSY, syslet_atom_set_arg(&c, 0, 0, 1));
	EXPECT_EQ(-EBUSY, syslet_atom_arg_ref(&c, 0, 0, &v));
	EXPECT_EQ(-EBUSY, syslet_atom_ret_ref(&c, 0, NULL));
	EXPECT_EQ(-EBUSY, syslet_atom_set_flags(&c, 0, 0));
	EXPECT_EQ(-EBUSY, syslet_atom_stop_on(&c, 0, 0));
	EXPECT_EQ(-EBUSY, syslet_atom_link(&c, 0, 0));
	EXPECT_EQ(-EBUSY, syslet_atom_branch(&c, 0, SYSLET_STOP_ON_ZERO, 0));
	EXPECT_EQ(-EBUSY, syslet_chain_submit(&c, &r));
	EXPECT_EQ(-EBUSY, syslet_chain_reset(&c));
	EXPECT_EQ(-EBUSY, syslet_chain_exit(&c));
	EXPECT_EQ(-EBUSY, syslet_chain_last(&c));
	EXPECT_EQ(1, c.count);
	c.busy = 0;
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

HOST_TEST(atoms_and_indices_map_both_ways)
{
	struct syslet_chain c, d;

	EXPECT_EQ(0, syslet_chain_init(&c, 4));
	EXPECT_EQ(0, syslet_chain_init(&d, 4));
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_getpid));
	EXPECT_EQ(1, syslet_chain_call(&c, __NR_getpid));
	EXPECT_EQ(0, syslet_chain_call(&d, __NR_getpid));
	EXPECT_EQ(1, syslet_chain_index(&c, syslet_chain_atom(&c, 1)));
	EXPECT_EQ(-EINVAL, syslet_chain_index(&c, syslet_chain_atom(&d, 0)));
	EXPECT_EQ(-EINVAL, syslet_chain_index(&c, &c.atoms[2]));	/* not added */
	EXPECT_EQ(-EINVAL, syslet_chain_index(&c, (void *)((char *)&c.atoms[1] + 8)));
	EXPECT_EQ(-EINVAL, syslet_chain_index(&c, NULL));
	EXPECT_TRUE(syslet_chain_atom(&c, 2) == NULL);
	EXPECT_TRUE(syslet_chain_atom(&c, -1) == NULL);
	EXPECT_EQ(SYSLET_RESULT_UNSET, syslet_chain_result(&c, 5));
	EXPECT_EQ(0, syslet_chain_exit(&c));
	EXPECT_EQ(0, syslet_chain_exit(&d));
}

HOST_TEST(reset_empties_the_chain_for_reuse)
{
	struct syslet_chain c;

	EXPECT_EQ(0, syslet_chain_init(&c, 2));
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_getpid));
	EXPECT_EQ(0, syslet_atom_link(&c, 0, SYSLET_END));
	EXPECT_EQ(0, syslet_chain_reset(&c));
	EXPECT_EQ(0, c.count);
	EXPECT_EQ(0, syslet_chain_call(&c, __NR_getpid));
	EXPECT_EQ(1, syslet_chain_call(&c, __NR_getpid));
	/* The old explicit link is gone: automatic linking again. */
	EXPECT_TRUE(c.atoms[0].next == &c.atoms[1]);
	EXPECT_EQ(0, syslet_chain_exit(&c));
}

/* ---- threadlets and fds: argument checks before any call ---------------- */

static long nothing(void *arg) { return (long)arg; }

HOST_TEST(threadlet_argument_errors)
{
	struct syslet_threadlet t;
	struct timespec bad = { 0, 1000000000L };
	char stack[256];

	EXPECT_EQ(-EINVAL, syslet_threadlet_start(NULL, nothing, NULL, NULL, 0));
	EXPECT_EQ(-EINVAL, syslet_threadlet_start(&t, NULL, NULL, NULL, 0));
	EXPECT_EQ(-EINVAL, syslet_threadlet_start(&t, nothing, NULL, stack, sizeof(stack)));
	EXPECT_EQ(-EINVAL, syslet_threadlet_start(&t, nothing, NULL, stack, 0));
	EXPECT_EQ(-EINVAL, syslet_threadlet_start(&t, nothing, NULL, NULL, 100));
	/* No stack: nothing runs, and the threadlet counts as done. */
	EXPECT_EQ(-ENOMEM, syslet_threadlet_start(&t, nothing, NULL, NULL, 1UL << 50));
	EXPECT_EQ(1, syslet_threadlet_done(&t));
	EXPECT_EQ(SYSLET_RESULT_UNSET, syslet_threadlet_result(&t));
	EXPECT_EQ(0, syslet_threadlet_release(&t));
	memset(&t, 0, sizeof(t));
	EXPECT_EQ(0, syslet_threadlet_done(&t));
	EXPECT_EQ(0, syslet_threadlet_done(NULL));
	EXPECT_EQ(SYSLET_RESULT_UNSET, syslet_threadlet_result(&t));
	EXPECT_EQ(-EBUSY, syslet_threadlet_release(&t));
	EXPECT_EQ(-EINVAL, syslet_threadlet_release(NULL));
	EXPECT_EQ(-EINVAL, syslet_threadlet_wait(NULL, NULL));
	EXPECT_EQ(-EINVAL, syslet_threadlet_wait(&t, &bad));
	bad.tv_sec = -1;
	bad.tv_nsec = 0;
	EXPECT_EQ(-EINVAL, syslet_threadlet_wait(&t, &bad));
}

HOST_TEST(fd_is_private_reads_the_number_only)
{
	EXPECT_EQ(0, syslet_fd_is_private(0));
	EXPECT_EQ(0, syslet_fd_is_private(NONLINEAR_FD - 1));
	EXPECT_EQ(1, syslet_fd_is_private(NONLINEAR_FD | 12345));
	EXPECT_EQ(0, syslet_fd_is_private(-1));
	EXPECT_EQ(0, syslet_fd_is_private(-EBADF));
}
