// SPDX-License-Identifier: GPL-2.0
/*
 * What a handoff must not carry across (tests/handoff_state_test.c has
 * the thread state, job control and thread bounds): a threadlet's head
 * into a new program (execve), a detached chain past the seccomp filter or
 * the privilege drop its submitter made after async_exec() returned NULL
 * (the atoms left must not run: -ECANCELED, on the cachemiss path and on
 * the async-thread path), refused calls (keyctl, add_key, request_key,
 * landlock_restrict_self), a thread's own fd table, cwd and root, and a
 * traced thread's context to an untraced spare. And the control: a
 * detached chain whose submitter changed nothing runs to its end.
 *
 * Each case runs in a child process (some hang or crash the process on
 * a kernel without the fixes), most of them twice: as root and as nobody.
 * The program itself must run as root (it drops in its children and sets
 * kernel.syslet_* sysctls, restoring them).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "threadlet.h"	/* THREADLET_STR */

#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif
#ifndef ECANCELED
#define ECANCELED 125
#endif

#include "handoff_fixture.h"

/* ---- 1. execve() inside a threadlet --------------------------------- */

#define EXEC_MARKER	"--handoff-identity-exec-probe"
#define EXEC_OK		77

/*
 * The new program: glibc passes argc/argv to constructors. It must run
 * normally: no threadlet left over from the old image, and a new one
 * works.
 */
__attribute__((constructor)) static void exec_probe(int argc, char **argv, char **envp)
{
	long off1, on, off2;
	int off1_errno;

	if (argc < 2 || strcmp(argv[1], EXEC_MARKER))
		return;
	errno = 0;
	off1 = sys_threadlet_off();
	off1_errno = errno;
	/* Nothing between on and off may sleep. */
	on = sys_threadlet_on(0);
	off2 = sys_threadlet_off();
	if (off1 != -1 || off1_errno != EINVAL) {
		say("new image: threadlet_off() = %ld errno %d, want -1/EINVAL", off1, off1_errno);
		_exit(31);
	}
	if (on != THREADLET_INLINE || off2 != THREADLET_INLINE) {
		say("new image: threadlet_on(0) = %ld, threadlet_off() = %ld, want 1 and 1", on, off2);
		_exit(32);
	}
	_exit(EXEC_OK);
}

static char *const exec_argv[] = { "/proc/self/exe", EXEC_MARKER, NULL };
static char *const exec_envp[] = { NULL };

/*
 * threadlet_on(0), then execve() without threadlet_off(), in one asm
 * statement that writes nothing to the stack: if execve() sleeps, the
 * head may go to a spare, which resumes right after threadlet_on's
 * `syscall` on this same stack (a call in between would have replaced the
 * return address it comes back through). The spare (0) pauses, by raw
 * system calls, until exec kills it. Returns threadlet_on()'s error, or
 * execve()'s if it failed.
 */
static long threadlet_on_then_execve(void)
{
	register long path __asm__("r8") = (long)exec_argv[0];
	register long argv __asm__("r9") = (long)exec_argv;
	register long envp __asm__("r10") = (long)exec_envp;
	long ret;

	__asm__ volatile(
		"	mov $" THREADLET_STR(__NR_threadlet_on) ", %%eax\n"
		"	xor %%edi, %%edi\n"
		"	syscall\n"
		"	test %%rax, %%rax\n"
		"	jz 2f\n"
		"	cmp $1, %%rax\n"
		"	jne 3f\n"
		"	mov $" THREADLET_STR(__NR_execve) ", %%eax\n"
		"	mov %%r8, %%rdi\n"
		"	mov %%r9, %%rsi\n"
		"	mov %%r10, %%rdx\n"
		"	syscall\n"
		"	jmp 3f\n"
		"2:	mov $" THREADLET_STR(__NR_pause) ", %%eax\n"
		"	syscall\n"
		"	jmp 2b\n"
		"3:\n"
		: "=a"(ret)
		: "r"(path), "r"(argv), "r"(envp)
		: "rcx", "r11", "rdi", "rsi", "rdx", "memory", "cc");
	return ret;
}

static void *exec_in_threadlet(void *arg)
{
	long r = threadlet_on_then_execve();

	say("threadlet_on(0) then execve(): the old image goes on with %ld", r);
	_exit(r > 0 ? 40 : 41);
}

static int exec_case(void *arg)
{
	int in_thread = *(int *)arg;
	pthread_t th;

	alarm(20);	/* kept across execve() */
	if (!in_thread)
		exec_in_threadlet(NULL);
	if (pthread_create(&th, NULL, exec_in_threadlet, NULL))
		return 42;
	pthread_join(th, NULL);
	return 43;
}

HTEST(execve_inside_a_threadlet_runs_the_new_image_normally)
{
	int main_thread = 0;
	int rc;

	rc = run_child(exec_case, &main_thread, AS_ROOT, 30000);
	EXPECT_EQ(EXEC_OK, rc) TH_LOG("root: %s", describe(rc));
	rc = run_child(exec_case, &main_thread, AS_NOBODY, 30000);
	EXPECT_EQ(EXEC_OK, rc) TH_LOG("nobody: %s", describe(rc));
}

HTEST(execve_inside_a_threadlet_of_a_second_thread)
{
	int second_thread = 1;
	int rc;

	rc = run_child(exec_case, &second_thread, AS_ROOT, 30000);
	EXPECT_EQ(EXEC_OK, rc) TH_LOG("root: %s", describe(rc));
}

/* ---- a detached chain: read(empty pipe) -> getpid ------------------- */

struct esc {
	struct syslet_uatom atom[2];
	unsigned long rfd, rbuf, rlen;
	unsigned long dirfd, path, oflags;
	long ret[2];
	char data[8];
	struct syslet_uatom *ring[8];
	struct async_head_user ahu;
	int p[2];
};

static void on_alarm(int sig)
{
}

/*
 * Starts the chain; returns async_exec()'s answer. If it blocks in place
 * instead of going asynchronous, SIGALRM ends the read after 5 s (the
 * chain then returns &atom[1]: the caller sees "no handoff", not a hang).
 */
static long esc_start(struct esc *e)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	long r;

	memset(e, 0, sizeof(*e));
	if (pipe(e->p))
		return -1000;
	e->rfd = e->p[0];
	e->rbuf = (unsigned long)e->data;
	e->rlen = 1;
	e->ret[0] = e->ret[1] = NO_ATOM;
	atom_set(&e->atom[1], 0, __NR_getpid, &e->ret[1], NULL, NULL);
	atom_set(&e->atom[0], 0, __NR_read, &e->ret[0], &e->atom[1],
		 ATOM_ARGS(&e->rfd, &e->rbuf, &e->rlen));
	e->ahu.completion_ring = e->ring;
	e->ahu.ring_size_bytes = sizeof(e->ring);
	sigaction(SIGALRM, &sa, NULL);
	alarm(5);
	r = sys_async_exec(&e->atom[0], &e->ahu);
	alarm(0);
	if (r != 0)
		say("async_exec() = %#lx (errno %d), want 0: the chain did not go asynchronous", r, errno);
	return r;
}

/* Turns atom 1, not yet read by the kernel, into openat(AT_FDCWD, path). */
static void esc_make_openat(struct esc *e, const char *path)
{
	e->dirfd = (unsigned long)AT_FDCWD;
	e->path = (unsigned long)path;
	e->oflags = O_RDONLY;
	e->atom[1].arg_ptr[0] = &e->dirfd;
	e->atom[1].arg_ptr[1] = &e->path;
	e->atom[1].arg_ptr[2] = &e->oflags;
	e->atom[1].arg_ptr[3] = NULL;
	__atomic_store_n(&e->atom[1].nr, __NR_openat, __ATOMIC_RELEASE);
}

/* Releases atom 0, reaps the completion, checks atom 1's result. */
static int esc_finish(struct esc *e, const char *what, long want1)
{
	struct syslet_uatom *a;

	if (write(e->p[1], "x", 1) != 1)
		return 30;
	a = reap_deadline(&e->ahu, e->ring, 8, 10000);
	say("%s: completion %s, atom0 %ld, atom1 %ld (want %ld)", what,
	    a == &e->atom[1] ? "&atom1" : a ? "another atom" : "none within 10 s",
	    e->ret[0], e->ret[1], want1);
	if (e->atom[1].nr == __NR_openat && e->ret[1] >= 0) {
		say("%s: ESCAPE: atom1's openat() ran and opened fd %ld", what, e->ret[1]);
		close(e->ret[1]);
		return 31;
	}
	if (!a)
		return 32;
	if (a != &e->atom[1])
		return 33;
	if (e->ret[0] != 1)
		return 34;
	return e->ret[1] == want1 ? 0 : 35;
}

/* Sets `name` for the test's duration; 0 or -1. */
static int set_handoff(int on)
{
	return write_sysctl("syslet_handoff", on);
}

/* ---- control: nothing changed, nothing cancelled -------------------- */

static int unchanged_case(void *arg)
{
	static struct esc e;

	if (esc_start(&e) != 0)
		return 10;
	return esc_finish(&e, "unchanged", getpid());
}

HTEST(detached_chain_runs_on_when_nothing_changed)
{
	int rc;

	rc = run_child(unchanged_case, NULL, AS_ROOT, 20000);
	EXPECT_EQ(0, rc) TH_LOG("root: %s", describe(rc));
	rc = run_child(unchanged_case, NULL, AS_NOBODY, 20000);
	EXPECT_EQ(0, rc) TH_LOG("nobody: %s", describe(rc));
}

HTEST(detached_chain_runs_on_when_nothing_changed_async_threads)
{
	int rc1, rc2;

	ASSERT_EQ(0, set_handoff(0));
	rc1 = run_child(unchanged_case, NULL, AS_ROOT, 20000);
	rc2 = run_child(unchanged_case, NULL, AS_NOBODY, 20000);
	set_handoff(1);
	EXPECT_EQ(0, rc1) TH_LOG("root: %s", describe(rc1));
	EXPECT_EQ(0, rc2) TH_LOG("nobody: %s", describe(rc2));
}

/* ---- 2. seccomp after async_exec() returned NULL -------------------- */

/* openat() and open() fail with EPERM, everything else runs. No TSYNC:
 * only this thread gets the filters. */
static int install_openat_filter(void)
{
	if (filter_one_call(__NR_openat, SECCOMP_RET_ERRNO | EPERM, 0))
		return -1;
	return filter_one_call(__NR_open, SECCOMP_RET_ERRNO | EPERM, 0);
}

static int seccomp_case(void *arg)
{
	const char *path = arg;
	static struct esc e;

	if (esc_start(&e) != 0)
		return 10;
	if (install_openat_filter()) {
		say("seccomp filter: errno %d", errno);
		return 11;
	}
	errno = 0;
	if (open(path, O_RDONLY) != -1 || errno != EPERM) {
		say("the filter does not apply to a direct open(): errno %d", errno);
		return 12;
	}
	esc_make_openat(&e, path);
	return esc_finish(&e, "seccomp filter after detach", -ECANCELED);
}

/* A file anyone may read; its path in `path` (PATH_MAX). */
static int readable_file(char *path)
{
	int fd;

	strcpy(path, "/tmp/hs-readable-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (fchmod(fd, 0644) || write(fd, "hello\n", 6) != 6) {
		close(fd);
		return -1;
	}
	return close(fd);
}

HTEST(seccomp_filter_after_detach_cancels_the_rest_of_the_chain)
{
	char path[64];
	int rc;

	ASSERT_EQ(0, readable_file(path));
	rc = run_child(seccomp_case, path, AS_ROOT, 20000);
	EXPECT_EQ(0, rc) TH_LOG("root: %s", describe(rc));
	rc = run_child(seccomp_case, path, AS_NOBODY, 20000);
	EXPECT_EQ(0, rc) TH_LOG("nobody: %s", describe(rc));
	unlink(path);
}

HTEST(seccomp_filter_after_detach_cancels_the_rest_of_the_chain_async_threads)
{
	char path[64];
	int rc1, rc2;

	ASSERT_EQ(0, readable_file(path));
	ASSERT_EQ(0, set_handoff(0));
	rc1 = run_child(seccomp_case, path, AS_ROOT, 20000);
	rc2 = run_child(seccomp_case, path, AS_NOBODY, 20000);
	set_handoff(1);
	unlink(path);
	EXPECT_EQ(0, rc1) TH_LOG("root: %s", describe(rc1));
	EXPECT_EQ(0, rc2) TH_LOG("nobody: %s", describe(rc2));
}

/*
 * Strict mode: after prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) the child
 * may only read, write and exit, so it polls the ring in memory and
 * reports through a pipe. The parent kills it afterwards.
 */
struct strict_report {
	long exec_ret, strict_ret, ret0, ret1;
	int completion_is_atom1, completed;
};

static void strict_child(const char *path, int report_fd)
{
	static struct esc e;
	struct strict_report rep = { 0 };
	volatile unsigned long spin;

	rep.exec_ret = esc_start(&e);
	if (rep.exec_ret == 0) {
		rep.strict_ret = prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0);
		if (rep.strict_ret == 0) {
			/* From here: read, write, exit only. */
			esc_make_openat(&e, path);
			if (write(e.p[1], "x", 1) == 1)
				for (spin = 0; spin < 3000000000UL; spin++)
					if (__atomic_load_n(&e.ring[0], __ATOMIC_ACQUIRE))
						break;
		}
	}
	rep.completed = __atomic_load_n(&e.ring[0], __ATOMIC_ACQUIRE) != NULL;
	rep.completion_is_atom1 = e.ring[0] == &e.atom[1];
	rep.ret0 = e.ret[0];
	rep.ret1 = e.ret[1];
	if (write(report_fd, &rep, sizeof(rep)) != sizeof(rep))
		syscall(__NR_exit, 2);
	syscall(__NR_exit, 0);	/* exit_group is not allowed in strict mode */
	for (;;)
		;
}

static int strict_case(void *arg)
{
	const char *path = arg;
	struct strict_report rep;
	int rp[2], rc = 0;
	pid_t c;

	if (pipe(rp))
		return 20;
	c = fork();
	if (c < 0)
		return 21;
	if (!c) {
		close(rp[0]);
		strict_child(path, rp[1]);
	}
	close(rp[1]);
	if (!read_within(rp[0], &rep, sizeof(rep), 20000)) {
		int status;

		if (wait_deadline(c, &status, 100))
			say("strict child ended without a report: status %#x", status);
		else
			say("strict child: no report within 20 s");
		rc = 22;
	} else {
		say("strict mode: async_exec %ld, prctl %ld, completed %d (&atom1: %d), atom0 %ld, atom1 %ld (want %d)",
		    rep.exec_ret, rep.strict_ret, rep.completed, rep.completion_is_atom1,
		    rep.ret0, rep.ret1, -ECANCELED);
		if (rep.exec_ret != 0)
			rc = 23;
		else if (rep.strict_ret != 0)
			rc = 24;
		else if (rep.ret1 >= 0)
			rc = 25;	/* escape: the openat ran */
		else if (!rep.completed || !rep.completion_is_atom1 || rep.ret0 != 1)
			rc = 26;
		else if (rep.ret1 != -ECANCELED)
			rc = 27;
	}
	kill_reap(c);
	return rc;
}

HTEST(seccomp_strict_mode_after_detach_cancels_the_rest_of_the_chain)
{
	char path[64];
	int rc;

	ASSERT_EQ(0, readable_file(path));
	rc = run_child(strict_case, path, AS_ROOT, 40000);
	EXPECT_EQ(0, rc) TH_LOG("root: %s", describe(rc));
	rc = run_child(strict_case, path, AS_NOBODY, 40000);
	EXPECT_EQ(0, rc) TH_LOG("nobody: %s", describe(rc));
	unlink(path);
}

HTEST(seccomp_strict_mode_after_detach_cancels_the_rest_of_the_chain_async_threads)
{
	char path[64];
	int rc;

	ASSERT_EQ(0, readable_file(path));
	ASSERT_EQ(0, set_handoff(0));
	rc = run_child(strict_case, path, AS_ROOT, 40000);
	set_handoff(1);
	unlink(path);
	EXPECT_EQ(0, rc) TH_LOG("root: %s", describe(rc));
}

/* ---- 3. privileges dropped after async_exec() returned NULL --------- */

static int privdrop_case(void *arg)
{
	const char *path = arg;
	static struct esc e;

	if (esc_start(&e) != 0)
		return 10;
	/* The raw call: only this thread (the main flow's) drops. */
	if (syscall(__NR_setresuid, NOBODY, NOBODY, NOBODY)) {
		say("setresuid: errno %d", errno);
		return 11;
	}
	errno = 0;
	if (open(path, O_RDONLY) != -1 || errno != EACCES) {
		say("after the drop a direct open() of the 0600 root file gives errno %d", errno);
		return 12;
	}
	esc_make_openat(&e, path);
	return esc_finish(&e, "privileges dropped after detach", -ECANCELED);
}

/* A 0600 file of root's. */
static int root_only_file(char *path)
{
	int fd;

	strcpy(path, "/tmp/hs-secret-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (fchmod(fd, 0600) || write(fd, "secret\n", 7) != 7) {
		close(fd);
		return -1;
	}
	return close(fd);
}

HTEST(privilege_drop_after_detach_cancels_the_rest_of_the_chain)
{
	char path[64];
	int rc;

	ASSERT_EQ(0, geteuid()) TH_LOG("this test must run as root (it is not a skip)");
	ASSERT_EQ(0, root_only_file(path));
	rc = run_child(privdrop_case, path, AS_ROOT, 20000);
	unlink(path);
	EXPECT_EQ(0, rc) TH_LOG("%s", describe(rc));
}

/* The same on the async-thread path (as in tests/async_threads_test.c's
 * atoms_run_with_the_submitters_credentials). */
HTEST(privilege_drop_after_detach_cancels_the_rest_of_the_chain_async_threads)
{
	char path[64];
	int rc;

	ASSERT_EQ(0, geteuid()) TH_LOG("this test must run as root (it is not a skip)");
	ASSERT_EQ(0, root_only_file(path));
	ASSERT_EQ(0, set_handoff(0));
	rc = run_child(privdrop_case, path, AS_ROOT, 20000);
	set_handoff(1);
	unlink(path);
	EXPECT_EQ(0, rc) TH_LOG("%s", describe(rc));
}

/* ---- 4. refused: keyctl, add_key, request_key, landlock ------------- */

struct refused_chain {
	struct syslet_uatom atom[5];	/* [0] read (blocking variant), [1..4] refused */
	unsigned long rfd, rbuf, rlen;
	unsigned long k_op, k_name;
	unsigned long a_type, a_desc, a_payload, a_plen, a_ring;
	unsigned long q_type, q_desc, q_info, q_ring;
	unsigned long l_fd, l_flags;
	long ret[5];
	char data[8];
	struct syslet_uatom *ring[8];
	struct async_head_user ahu;
};

static const char *const refused_names[5] = {
	"read", "keyctl(JOIN_SESSION_KEYRING, NULL)", "add_key", "request_key",
	"landlock_restrict_self(-1, 0)",
};

static int refused_case(void *arg)
{
	int blocking = *(int *)arg;
	static struct refused_chain c;
	struct sigaction sa = { .sa_handler = on_alarm };
	struct refused_chain *r = &c;
	struct syslet_uatom *first = blocking ? &r->atom[0] : &r->atom[1], *done;
	int p[2], i, rc = 0;
	long ret;

	if (pipe(p))
		return 9;
	r->rfd = p[0];
	r->rbuf = (unsigned long)r->data;
	r->rlen = 1;
	r->k_op = 1;				/* KEYCTL_JOIN_SESSION_KEYRING */
	r->k_name = 0;
	r->a_type = (unsigned long)"user";
	r->a_desc = (unsigned long)"handoff-test";
	r->a_payload = (unsigned long)"p";
	r->a_plen = 1;
	r->a_ring = (unsigned long)-2L;		/* KEY_SPEC_PROCESS_KEYRING */
	r->q_type = (unsigned long)"user";
	r->q_desc = (unsigned long)"handoff-test";
	r->q_info = 0;
	r->q_ring = 0;
	r->l_fd = (unsigned long)-1L;
	r->l_flags = 0;
	for (i = 0; i < 5; i++)
		r->ret[i] = NO_ATOM;
	atom_set(&r->atom[0], 0, __NR_read, &r->ret[0], &r->atom[1],
		 ATOM_ARGS(&r->rfd, &r->rbuf, &r->rlen));
	atom_set(&r->atom[1], 0, __NR_keyctl, &r->ret[1], &r->atom[2],
		 ATOM_ARGS(&r->k_op, &r->k_name));
	atom_set(&r->atom[2], 0, __NR_add_key, &r->ret[2], &r->atom[3],
		 ATOM_ARGS(&r->a_type, &r->a_desc, &r->a_payload, &r->a_plen, &r->a_ring));
	atom_set(&r->atom[3], 0, __NR_request_key, &r->ret[3], &r->atom[4],
		 ATOM_ARGS(&r->q_type, &r->q_desc, &r->q_info, &r->q_ring));
	atom_set(&r->atom[4], 0, __NR_landlock_restrict_self, &r->ret[4], NULL,
		 ATOM_ARGS(&r->l_fd, &r->l_flags));
	r->ahu.completion_ring = r->ring;
	r->ahu.ring_size_bytes = sizeof(r->ring);

	sigaction(SIGALRM, &sa, NULL);
	alarm(5);
	ret = sys_async_exec(first, &r->ahu);
	alarm(0);
	if (blocking) {
		if (ret != 0) {
			say("async_exec() = %#lx, want 0 (the read should detach the chain)", ret);
			return 10;
		}
		if (write(p[1], "x", 1) != 1)
			return 11;
		done = reap_deadline(&r->ahu, r->ring, 8, 10000);
		if (done != &r->atom[4]) {
			say("completion %p, want &atom[4] %p", done, &r->atom[4]);
			rc = 12;
		}
	} else if (ret != (long)&r->atom[4]) {
		say("async_exec() = %#lx (errno %d), want the last atom %p", ret, errno, &r->atom[4]);
		rc = 13;
	}
	for (i = 1; i < 5; i++) {
		say("%s%s: %ld (want %d)", blocking ? "after a detach, " : "", refused_names[i],
		    r->ret[i], -EOPNOTSUPP);
		if (r->ret[i] != -EOPNOTSUPP && !rc)
			rc = 20 + i;
	}
	/* What the calls answer directly: -EOPNOTSUPP there would prove nothing. */
	errno = 0;
	ret = syscall(__NR_landlock_restrict_self, -1, 0);
	say("direct landlock_restrict_self(-1, 0) = %ld errno %d", ret, errno);
	errno = 0;
	ret = syscall(__NR_request_key, "user", "handoff-test", NULL, 0);
	say("direct request_key() = %ld errno %d", ret, errno);
	return rc;
}

static void refused_both_users(struct __test_metadata *_metadata, int blocking)
{
	int rc;

	rc = run_child(refused_case, &blocking, AS_ROOT, 20000);
	EXPECT_EQ(0, rc) TH_LOG("root: %s", describe(rc));
	rc = run_child(refused_case, &blocking, AS_NOBODY, 20000);
	EXPECT_EQ(0, rc) TH_LOG("nobody: %s", describe(rc));
}

HTEST(keyring_and_landlock_calls_refused_in_a_synchronous_chain)
{
	refused_both_users(_metadata, 0);
}

HTEST(keyring_and_landlock_calls_refused_after_a_handoff)
{
	refused_both_users(_metadata, 1);
}

HTEST(keyring_and_landlock_calls_refused_on_async_threads)
{
	ASSERT_EQ(0, set_handoff(0));
	refused_both_users(_metadata, 0);
	refused_both_users(_metadata, 1);
	set_handoff(1);
}

/* ---- 5. a thread's own fd table, cwd and root ----------------------- */

#define FD_N 100

struct fsf_case {
	int chroot;
	char base[64], dir_a[80], dir_b[80];
};

/* The first byte of `path`, or '-'. */
static char first_byte(const char *path)
{
	char c = '-';
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 0;
	if (read(fd, &c, 1) != 1)
		c = '-';
	close(fd);
	return c;
}

/* Thread B: spares of the process's shared tables exist afterwards. */
static void *fsf_thread_b(void *arg)
{
	long *rc = arg;
	struct syslet_uatom a, *ring[4] = { 0 };
	struct async_head_user ahu = RING_HEAD(ring);
	struct late_writer w;
	unsigned long fd, buf, len = 1;
	char data[2];
	long r1 = NO_ATOM, r;
	int q[2];

	atom_set(&a, 0, __NR_getppid, &r1, NULL, NULL);
	if (sys_async_exec(&a, &ahu) != (long)&a || r1 != getppid()) {
		*rc = 1;
		return NULL;
	}
	if (pipe(q) || late_writer_start(&w, q[1], 2000)) {
		*rc = 2;
		return NULL;
	}
	fd = q[0];
	buf = (unsigned long)data;
	atom_set(&a, 0, __NR_read, &r1, NULL, ATOM_ARGS(&fd, &buf, &len));
	r = sys_async_exec(&a, &ahu);
	atomic_store(&w.gate, 1);
	*rc = r == 0 && reap_deadline(&ahu, ring, 4, 10000) == &a && r1 == 1 ? 0 : 3;
	pthread_join(w.th, NULL);
	if (*rc)
		say("thread B: async_exec() = %ld, read %ld: no handoff in B", r, r1);
	return NULL;
}

struct fsf_a {
	struct fsf_case *c;
	int fails;
};

#define FSF_CHECK(cond, ...) do {					\
		if (!(cond)) {						\
			say(__VA_ARGS__);				\
			a->fails++;					\
		}							\
	} while (0)

/* Thread A: its own fd table and fs_struct, then a chain that blocks. */
static void *fsf_thread_a(void *arg)
{
	struct fsf_a *a = arg;
	struct fsf_case *c = a->c;
	struct syslet_uatom at[5], *ring[8] = { 0 };
	struct async_head_user ahu = RING_HEAD(ring);
	unsigned long rfd, rbuf, one = 1, zero = 0, dirfd = (unsigned long)AT_FDCWD;
	unsigned long rel = (unsigned long)"marker", oflags = O_RDONLY, n = FD_N;
	unsigned long b2, b3;
	char data[2], buf2[2] = "-", buf3[2] = "-", cwd[256], want_cwd[80];
	struct stat st, st_a_marker, st_a_dir;
	struct late_writer w;
	long ret[5] = { NO_ATOM, NO_ATOM, NO_ATOM, NO_ATOM, NO_ATOM }, r;
	char path[128];
	int q[2], fd, i;

	snprintf(path, sizeof(path), "%s/marker", c->dir_a);
	if (stat(path, &st_a_marker) || stat(c->dir_a, &st_a_dir) || pipe(q)) {
		a->fails = 100;
		return NULL;
	}
	/* fd N names A's marker in A's table only. */
	if (unshare(CLONE_FILES) || (fd = open(path, O_RDONLY)) < 0 ||
	    dup2(fd, FD_N) != FD_N || close(fd)) {
		say("thread A: unshare(CLONE_FILES)/open/dup2: errno %d", errno);
		a->fails = 101;
		return NULL;
	}
	if (unshare(CLONE_FS) ||
	    (c->chroot ? chroot(c->dir_a) || chdir("/") : chdir(c->dir_a))) {
		say("thread A: unshare(CLONE_FS)/chroot/chdir: errno %d", errno);
		a->fails = 102;
		return NULL;
	}
	strcpy(want_cwd, c->chroot ? "/" : c->dir_a);

	rfd = q[0];
	rbuf = (unsigned long)data;
	b2 = (unsigned long)buf2;
	b3 = (unsigned long)buf3;
	/* read(q) -> fd = openat("marker") -> read(fd) -> pread(N) -> close(fd) */
	atom_set(&at[0], 0, __NR_read, &ret[0], &at[1], ATOM_ARGS(&rfd, &rbuf, &one));
	atom_set(&at[1], 0, __NR_openat, &ret[1], &at[2], ATOM_ARGS(&dirfd, &rel, &oflags));
	atom_set(&at[2], 0, __NR_read, &ret[2], &at[3],
		 ATOM_ARGS((unsigned long *)&ret[1], &b2, &one));
	atom_set(&at[3], 0, __NR_pread64, &ret[3], &at[4], ATOM_ARGS(&n, &b3, &one, &zero));
	atom_set(&at[4], 0, __NR_close, &ret[4], NULL, ATOM_ARGS((unsigned long *)&ret[1]));
	if (late_writer_start(&w, q[1], 2000)) {
		a->fails = 103;
		return NULL;
	}
	r = sys_async_exec(&at[0], &ahu);
	atomic_store(&w.gate, 1);
	say("thread A: async_exec() = %s", r == 0 ? "0 (handed off)" :
	    r == (long)&at[4] ? "&last (blocked in place)" : "something else");
	FSF_CHECK(r == 0 || r == (long)&at[4], "thread A: async_exec() = %#lx errno %d", r, errno);

	/* The context kept A's tables. */
	FSF_CHECK(!fstat(FD_N, &st) && st.st_ino == st_a_marker.st_ino,
		  "thread A: fd %d is no longer A's file (ino %lu, want %lu)", FD_N,
		  (unsigned long)st.st_ino, (unsigned long)st_a_marker.st_ino);
	FSF_CHECK(getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, want_cwd),
		  "thread A: getcwd() = %s, want %s", getcwd(cwd, sizeof(cwd)) ? cwd : "(error)",
		  want_cwd);
	FSF_CHECK(first_byte("marker") == 'A', "thread A: relative open() of marker read '%c', want 'A'",
		  first_byte("marker"));
	if (c->chroot) {
		FSF_CHECK(!stat("/", &st) && st.st_ino == st_a_dir.st_ino,
			  "thread A: / is no longer the chroot (ino %lu, want %lu)",
			  (unsigned long)st.st_ino, (unsigned long)st_a_dir.st_ino);
		FSF_CHECK(first_byte("/marker") == 'A', "thread A: /marker read '%c', want 'A'",
			  first_byte("/marker"));
	}

	/* The chain's own paths resolved in A's cwd, its fd N in A's table. */
	if (r == 0)
		FSF_CHECK(reap_deadline(&ahu, ring, 8, 10000) == &at[4],
			  "thread A: no completion of the chain");
	pthread_join(w.th, NULL);
	for (i = 0; i < 5; i++)
		say("thread A: atom %d = %ld", i, ret[i]);
	FSF_CHECK(ret[0] == 1 && ret[1] >= 0 && ret[2] == 1 && ret[3] == 1 && ret[4] == 0,
		  "thread A: the chain's results are wrong");
	FSF_CHECK(buf2[0] == 'A', "thread A: the chain's openat(\"marker\") read '%c', want 'A'", buf2[0]);
	FSF_CHECK(buf3[0] == 'A', "thread A: the chain's pread(%d) read '%c', want 'A'", FD_N, buf3[0]);
	return NULL;
}

static int fsf_run(void *arg)
{
	struct fsf_case *c = arg;
	struct fsf_a a = { .c = c };
	pthread_t tb, ta;
	long b_rc = -1;
	char path[128];
	int fd;

	/* The process's tables: cwd B, fd N = B's marker. */
	snprintf(path, sizeof(path), "%s/marker", c->dir_b);
	if (chdir(c->dir_b) || (fd = open(path, O_RDONLY)) < 0 || dup2(fd, FD_N) != FD_N)
		return 10;
	close(fd);
	if (pthread_create(&tb, NULL, fsf_thread_b, &b_rc) || pthread_join(tb, NULL))
		return 11;
	if (b_rc) {
		say("thread B failed (%ld): no spares to test with", b_rc);
		return 12;
	}
	if (pthread_create(&ta, NULL, fsf_thread_a, &a) || pthread_join(ta, NULL))
		return 13;
	/* The other threads kept B's tables. */
	if (first_byte("marker") != 'B')
		return 14;
	return a.fails ? (a.fails >= 100 ? a.fails - 80 : 15) : 0;
}

static int fsf_prepare(struct fsf_case *c)
{
	char path[128];
	int i;

	strcpy(c->base, "/tmp/hs-fs-XXXXXX");
	if (!mkdtemp(c->base) || chmod(c->base, 0755))
		return -1;
	snprintf(c->dir_a, sizeof(c->dir_a), "%s/a", c->base);
	snprintf(c->dir_b, sizeof(c->dir_b), "%s/b", c->base);
	for (i = 0; i < 2; i++) {
		const char *d = i ? c->dir_b : c->dir_a;
		int fd;

		snprintf(path, sizeof(path), "%s/marker", d);
		if (mkdir(d, 0755) || (fd = open(path, O_CREAT | O_WRONLY, 0644)) < 0)
			return -1;
		if (write(fd, i ? "B" : "A", 1) != 1 || fchmod(fd, 0644))
			return -1;
		close(fd);
	}
	return 0;
}

static void fsf_cleanup(struct fsf_case *c)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/marker", c->dir_a);
	unlink(path);
	snprintf(path, sizeof(path), "%s/marker", c->dir_b);
	unlink(path);
	rmdir(c->dir_a);
	rmdir(c->dir_b);
	rmdir(c->base);
}

HTEST(unshared_fd_table_and_cwd_stay_with_the_thread)
{
	struct fsf_case c = { .chroot = 0 };
	int rc;

	ASSERT_EQ(0, fsf_prepare(&c));
	rc = run_child(fsf_run, &c, AS_ROOT, 30000);
	EXPECT_EQ(0, rc) TH_LOG("root: %s", describe(rc));
	rc = run_child(fsf_run, &c, AS_NOBODY, 30000);
	EXPECT_EQ(0, rc) TH_LOG("nobody: %s", describe(rc));
	fsf_cleanup(&c);
}

HTEST(unshared_chroot_stays_with_the_thread)
{
	struct fsf_case c = { .chroot = 1 };
	int rc;

	ASSERT_EQ(0, geteuid()) TH_LOG("chroot() needs root (this is not a skip)");
	ASSERT_EQ(0, fsf_prepare(&c));
	rc = run_child(fsf_run, &c, AS_ROOT, 30000);
	EXPECT_EQ(0, rc) TH_LOG("root: %s", describe(rc));
	fsf_cleanup(&c);
}

/* ---- 6. a traced thread keeps its context --------------------------- */

struct ptrace_report {
	long exec_ret, atom1, ret0, ret1;
	int tracer, tid, pid;
};

/* TracerPid of the calling thread, or -1. */
static int tracer_pid(void)
{
	char line[256];
	int pid = -1;
	FILE *f = fopen("/proc/thread-self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %d", &pid) == 1)
			break;
	fclose(f);
	return pid;
}

static void ptrace_child(int p1, int p2, int report_fd, int ready_fd)
{
	static struct syslet_uatom a[2], *ring[8];
	static struct async_head_user ahu;
	static unsigned long fd1, fd2, buf, len = 1;
	static long ret[2] = { NO_ATOM, NO_ATOM };
	static char data[2];
	struct ptrace_report rep;

	fd1 = p1;
	fd2 = p2;
	buf = (unsigned long)data;
	ahu.completion_ring = ring;
	ahu.ring_size_bytes = sizeof(ring);
	/* atom0 blocks in place (SYNC); atom1 would hand off. */
	atom_set(&a[0], SYSLET_SYNC, __NR_read, &ret[0], &a[1], ATOM_ARGS(&fd1, &buf, &len));
	atom_set(&a[1], 0, __NR_read, &ret[1], NULL, ATOM_ARGS(&fd2, &buf, &len));
	if (write(ready_fd, "r", 1) != 1)
		_exit(1);
	rep.exec_ret = sys_async_exec(&a[0], &ahu);
	rep.atom1 = (long)&a[1];
	rep.tracer = tracer_pid();
	rep.tid = gettid();
	rep.pid = getpid();
	rep.ret0 = ret[0];
	rep.ret1 = ret[1];
	if (write(report_fd, &rep, sizeof(rep)) != sizeof(rep))
		_exit(2);
	for (;;)
		pause();
}

/* The first line of /proc/<pid>/<what>, or "". */
static void proc_line(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(buf, len, f))
		buf[0] = 0;
	fclose(f);
}

/*
 * Waits until `pid` sleeps in async_exec(), in pipe_read (atom0). 1 when
 * it does; 0 if it never entered async_exec().
 */
static int blocked_in_atom0(pid_t pid)
{
	char sc[128], wchan[64];
	double end = now_ms() + 8000;
	int in_call = 0;

	do {
		proc_line(pid, "syscall", sc, sizeof(sc));
		proc_line(pid, "wchan", wchan, sizeof(wchan));
		in_call = atoi(sc) == __NR_async_exec;
		if (in_call && strstr(wchan, "pipe_read"))
			return 1;
		usleep(5000);
	} while (now_ms() < end);
	say("tracee: /proc/%d/syscall \"%.20s\", wchan \"%s\"", pid, sc, wchan);
	return in_call;
}

static int ptrace_case(void *arg)
{
	int p1[2], p2[2], rp[2], ready[2], rc = 0;
	struct ptrace_report rep;
	char ch;
	pid_t c;

	if (pipe(p1) || pipe(p2) || pipe(rp) || pipe(ready))
		return 9;
	c = fork();
	if (c < 0)
		return 10;
	if (!c)
		ptrace_child(p1[0], p2[0], rp[1], ready[1]);
	if (!read_within(ready[0], &ch, 1, 10000) || !blocked_in_atom0(c)) {
		rc = 11;
		goto out;
	}
	if (ptrace(PTRACE_SEIZE, c, 0, 0)) {
		say("PTRACE_SEIZE: errno %d", errno);
		rc = 12;
		goto out;
	}
	if (write(p1[1], "1", 1) != 1) {
		rc = 13;
		goto out;
	}
	/* atom1 now blocks: the traced thread must keep its context. */
	if (readable_within(rp[0], 1500)) {
		if (read_within(rp[0], &rep, sizeof(rep), 1000))
			say("async_exec() returned %#lx while atom1 was still blocked (TracerPid %d, tid %d, pid %d)",
			    rep.exec_ret, rep.tracer, rep.tid, rep.pid);
		rc = 14;
		goto out;
	}
	if (write(p2[1], "2", 1) != 1 || !read_within(rp[0], &rep, sizeof(rep), 10000)) {
		rc = 15;
		goto out;
	}
	say("traced: async_exec() %#lx (want &atom1 %#lx), TracerPid %d (want %d), tid %d pid %d, atoms %ld %ld",
	    rep.exec_ret, rep.atom1, rep.tracer, getpid(), rep.tid, rep.pid, rep.ret0, rep.ret1);
	if (rep.exec_ret != rep.atom1)
		rc = 16;
	else if (rep.tracer != getpid())
		rc = 17;
	else if (rep.tid != rep.pid)
		rc = 18;
	else if (rep.ret0 != 1 || rep.ret1 != 1)
		rc = 19;
out:
	kill_reap(c);
	return rc;
}

HTEST(traced_task_keeps_its_context_when_an_atom_blocks)
{
	int rc;

	rc = run_child(ptrace_case, NULL, AS_ROOT, 40000);
	EXPECT_EQ(0, rc) TH_LOG("root: %s", describe(rc));
	rc = run_child(ptrace_case, NULL, AS_NOBODY, 40000);
	EXPECT_EQ(0, rc) TH_LOG("nobody: %s", describe(rc));
}

TEST_HARNESS_MAIN
