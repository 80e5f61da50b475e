// SPDX-License-Identifier: GPL-2.0
/*
 * Yama's PR_SET_PTRACER exception across exec, as stock Linux keeps it
 * (patches/0022). The exception check matches the tracee's thread group
 * (its signal_struct), which a syslet leadership move does not change;
 * exec must still end or keep the exception exactly as before:
 *
 *   - an exec by the group leader keeps it (the relation names the
 *     leader, which is the task that execs);
 *   - an exec by another thread ends it: de_thread() makes that thread
 *     the leader and releases the old one, whose relation then named no
 *     task of the process (yama_bprm_committed_creds() takes it out of
 *     the group before the new image runs).
 *
 * Under ptrace_scope 1, P allows T (its sibling, not its ancestor; both
 * run as nobody, without CAP_SYS_PTRACE) with PR_SET_PTRACER, then execs
 * this program again from its main thread or from a second one; the new
 * image says it runs and waits. T then tries PTRACE_ATTACH: allowed after
 * the leader's exec, EPERM after the other thread's, at once. Each case
 * runs ROUNDS times. (Without the exec hook, the group match would keep
 * the old leader's relation in force until the old leader is freed.)
 */
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "handoff_test.h"

#define ROUNDS		20
#define EXEC_FLAG	"--yama-exec-child"

static int ready[2];

/* The new image: say so on the inherited pipe, then wait to be killed. */
static int exec_child(const char *fd)
{
	int w = atoi(fd);

	if (write(w, "r", 1) != 1)
		return 1;
	for (;;)
		pause();
}

static void exec_again(void)
{
	char fd[16];

	snprintf(fd, sizeof(fd), "%d", ready[1]);
	execl("/proc/self/exe", "yama_exec_test", EXEC_FLAG, fd, (char *)NULL);
	_exit(120);
}

static void *exec_from_thread(void *unused)
{
	exec_again();
	return NULL;
}

/*
 * One round: 0 if T's attach gave `want` (0 or EPERM) after P's exec from
 * its leader (by_thread 0) or from a second thread (1); else a code.
 */
static int exec_round(int by_thread, int want)
{
	int go[2], verdict[2], status, rc = 0, e = 0;
	pid_t t, p;
	char c;

	if (pipe(ready) || pipe(go) || pipe(verdict))
		return 2;
	t = fork();
	if (!t) {
		/* T: waits for P's new image, then tries to attach */
		long r;

		close(ready[1]);
		if (become_nobody())
			_exit(10);
		if (read(ready[0], &c, 1) != 1 || read(go[0], &p, sizeof(p)) != sizeof(p))
			_exit(3);
		r = ptrace(PTRACE_ATTACH, p, NULL, NULL);
		e = r ? errno : 0;
		if (!r)
			waitpid(p, NULL, __WALL), ptrace(PTRACE_DETACH, p, NULL, NULL);
		_exit(write(verdict[1], &e, sizeof(e)) == sizeof(e) ? 0 : 4);
	}
	p = fork();
	if (!p) {
		pthread_t th;

		close(ready[0]);
		if (become_nobody() || prctl(PR_SET_PTRACER, t, 0, 0, 0))
			_exit(5);
		if (!by_thread)
			exec_again();
		if (pthread_create(&th, NULL, exec_from_thread, NULL))
			_exit(6);
		for (;;)
			pause();
	}
	close(ready[0]);
	close(ready[1]);
	if (p < 0 || t < 0 || write(go[1], &p, sizeof(p)) != sizeof(p))
		rc = 7;
	else if (read(verdict[0], &e, sizeof(e)) != sizeof(e))
		rc = 8;
	else if (e != want) {
		say("after the %s exec, PTRACE_ATTACH by the allowed sibling gave %s, want %s",
		    by_thread ? "second thread's" : "leader's", e ? strerror(e) : "success",
		    want ? strerror(want) : "success");
		rc = 9;
	}
	kill(p, SIGKILL);
	waitpid(p, &status, 0);
	waitpid(t, &status, 0);
	close(go[0]);
	close(go[1]);
	close(verdict[0]);
	close(verdict[1]);
	return rc;
}

static void exec_rounds(struct __test_metadata *_metadata, int by_thread, int want)
{
	const char *knob = "/proc/sys/kernel/yama/ptrace_scope";
	long scope = read_number(knob);
	int rc = 0;

	if (scope < 0)
		SKIP(return, "no Yama in this kernel (%s)", knob);
	ASSERT_EQ(0, write_number(knob, 1));
	for (int i = 0; !rc && i < ROUNDS; i++)
		rc = exec_round(by_thread, want);
	write_number(knob, scope);
	EXPECT_EQ(0, rc);
}

TEST(exec_by_the_leader_keeps_the_ptracer_exception)
{
	exec_rounds(_metadata, 0, 0);
}

TEST(exec_by_another_thread_ends_the_ptracer_exception)
{
	exec_rounds(_metadata, 1, EPERM);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], EXEC_FLAG))
		return exec_child(argv[2]);
	return test_harness_run(argc, argv);
}
