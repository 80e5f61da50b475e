// SPDX-License-Identifier: GPL-2.0
/*
 * The main thread keeps its identity across a handoff (issue 17;
 * Documentation/leadership-move.md, 3.6.2): the group's leadership moves
 * with the main thread's user context, so after any number of handoffs
 * the main flow's TID is the PID, /proc shows the same process (name,
 * ids, blocked signals, start time, exit signal, task/ entry), a tracer
 * attaches to it by PID and stops it where it runs, Yama's
 * PR_SET_PTRACER exception follows it, and so does its revocation;
 * setsid() names the session by the PID, and a child that exec'd and
 * then handed off is still one whose parent may not move it (setpgid()'s
 * EACCES: PF_FORKNOEXEC moved with the leadership).
 *
 * Each case runs in the main thread of a process, as root and as nobody,
 * and checks /sys/kernel/debug/syslet/leader_check after its handoffs
 * (leader_test.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "handoff_fixture.h"
#include "leader_test.h"
#include "threadlet.h"
#include "threadlet_test.h"

/* ---- the image a child execs (parent_setpgid_after_child_exec_is_eacces) */

/*
 * LEADER_EXEC=<ready fd>,<go fd>,<oracle fd>: hand off three times, say
 * whether the main flow still leads ('r' or 'f'), wait for "go", exit.
 */
__attribute__((constructor)) static void exec_mode(void)
{
	const char *e = getenv("LEADER_EXEC");
	int ready, go, rc;
	char c;

	if (!e)
		return;
	if (sscanf(e, "%d,%d,%d", &ready, &go, &lc_fd) != 3)
		_exit(90);
	rc = moved_and_leads(3) ? 91 : 0;
	if (write(ready, rc ? "f" : "r", 1) != 1 || !read_within(go, &c, 1, 10000))
		_exit(92);
	_exit(rc);
}

/* ---- gettid() == getpid() ------------------------------------------- */

static int rounds_case(void *unused)
{
	static const int rounds[] = { 1, 2, 100 };
	unsigned int i;

	if (main_flow_leads("before any handoff"))
		return 10;
	for (i = 0; i < sizeof(rounds) / sizeof(rounds[0]); i++)
		if (moved_and_leads(rounds[i]))
			return 11 + i;
	return 0;
}

HTEST(gettid_equals_getpid_after_1_2_and_100_handoffs)
{
	as_both_in_leader(_metadata, rounds_case, 0);
}

static const struct timespec nap = { 0, 20 * 1000000 };

/* The threadlet: it blocks (nanosleep), so the main thread's context moves. */
static void nap_fn(void *done)
{
	raw_syscall4(__NR_nanosleep, (long)&nap, 0, 0, 0);
	word_add(done, 1);
}

static int threadlet_case(void *unused)
{
	static int done;
	void *stack = new_stack();
	int i, warm = 0;
	long r;

	if (!stack)
		return 20;
	warm_up(nap_fn, &warm);
	for (i = 1; i <= 3; i++) {
		r = threadlet_exec(nap_fn, &done, stack, STACK_SIZE);
		if (r != THREADLET_WENT_ASYNC) {
			say("threadlet %d: threadlet_exec() = %ld, not asynchronous", i, r);
			return 21;
		}
		if (main_flow_leads("right after the threadlet went asynchronous"))
			return 22;
		if (!word_wait(&done, i, 5000)) {
			say("threadlet %d did not end within 5 s", i);
			return 23;
		}
		if (main_flow_leads("after the threadlet ended"))
			return 24;
	}
	return 0;
}

HTEST(gettid_equals_getpid_after_threadlet_handoffs)
{
	as_both_in_leader(_metadata, threadlet_case, 0);
}

/* ---- /proc ------------------------------------------------------------ */

/* What the process shows of its leader in /proc, as one line. */
static int proc_view(pid_t pid, char *out, size_t len)
{
	static const char *keys[] = { "Name", "Pid", "Tgid", "PPid", "SigBlk" };
	char v[9][64], path[64], thread_self[64];
	unsigned int i;
	FILE *f;

	for (i = 0; i < 5; i++)
		if (status_field(pid, keys[i], v[i], sizeof(v[i])))
			return -1;
	if (stat_field(pid, 2, v[5], 64) || stat_field(pid, 22, v[6], 64) ||
	    stat_field(pid, 38, v[7], 64))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, pid);
	f = fopen(path, "r");
	if (!f || !fgets(v[8], sizeof(v[8]), f))
		snprintf(v[8], sizeof(v[8]), "(none)");
	if (f)
		fclose(f);
	v[8][strcspn(v[8], "\n")] = 0;
	i = readlink("/proc/thread-self", thread_self, sizeof(thread_self) - 1);
	thread_self[i < sizeof(thread_self) ? i : 0] = 0;
	snprintf(out, len, "Name %s Pid %s Tgid %s PPid %s SigBlk %s comm %s start %s exit_signal %s "
		 "task comm %s thread-self %s", v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8],
		 thread_self);
	return 0;
}

/* 1 if /proc/<pid>/task lists the TID `tid`. */
static int task_dir_has(pid_t pid, pid_t tid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while (!found && (d = readdir(dir)))
		found = atoi(d->d_name) == tid;
	closedir(dir);
	return found;
}

static int proc_case(void *unused)
{
	char before[1024], after[1024], want[256], name[16] = "";
	pid_t pid = getpid();
	sigset_t set;
	int round;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if (prctl(PR_SET_NAME, "mainflow") || sigprocmask(SIG_SETMASK, &set, NULL) ||
	    proc_view(pid, before, sizeof(before)))
		return 30;
	/* The control: what a leader shows (SIGUSR1 and 2 blocked; SIGCHLD is 17). */
	snprintf(want, sizeof(want), "Name mainflow Pid %d Tgid %d PPid %d SigBlk %016lx "
		 "comm mainflow ", pid, pid, getppid(),
		 (1UL << (SIGUSR1 - 1)) | (1UL << (SIGUSR2 - 1)));
	if (strncmp(before, want, strlen(want)) || !strstr(before, "exit_signal 17 ")) {
		say("before the handoffs: %s", before);
		return 31;
	}
	for (round = 0; round < 3; round++) {
		if (moved_and_leads(round ? 20 : 1))
			return 32;
		if (proc_view(pid, after, sizeof(after)) || strcmp(before, after)) {
			say("before the handoffs: %s", before);
			say("after them:          %s", after);
			return 33;
		}
		if (prctl(PR_GET_NAME, name) || strcmp(name, "mainflow")) {
			say("PR_GET_NAME in the main flow: \"%s\"", name);
			return 34;
		}
		if (!task_dir_has(pid, pid)) {
			say("/proc/%d/task does not list %d", pid, pid);
			return 35;
		}
	}
	return 0;
}

HTEST(comm_status_stat_and_task_dir_unchanged_by_handoffs)
{
	as_both_in_leader(_metadata, proc_case, 0);
}

/* ---- ptrace by PID ---------------------------------------------------- */

/*
 * The loop the main flow runs once it has moved, in a section of its own:
 * a tracer that stops the process's PID must find its user RIP in it.
 */
static volatile int spin_stop;
static volatile unsigned long spins;

__attribute__((noinline, section("leader_spin"))) static void spin_until_stopped(void)
{
	while (!spin_stop)
		spins++;
}

extern char __start_leader_spin[], __stop_leader_spin[];

static int spin_case(int ready_fd)
{
	if (moved_and_leads(3))
		return 40;
	if (write(ready_fd, "r", 1) != 1)
		return 41;
	spin_until_stopped();
	return main_flow_leads("after the tracer detached") ? 42 : 0;
}

/* Waits up to `ms` for a ptrace stop of `pid`; its status, or -1. */
static int ptrace_stop_within(pid_t pid, int ms)
{
	double end = now_ms() + ms;
	int status;

	do {
		pid_t r = waitpid(pid, &status, WNOHANG | __WALL);

		if (r == pid)
			return WIFSTOPPED(status) ? status : -1;
		if (r < 0)
			return -1;
		usleep(1000);
	} while (now_ms() < end);
	return -1;
}

/* A tracer (this process, root) stops the main flow by PID. */
static void attach_by_pid(struct __test_metadata *_metadata, enum who who)
{
	struct user_regs_struct regs;
	char tracer[32], ready;
	int p[2], status;
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(p[0]);
		_exit(who == AS_NOBODY && become_nobody() ? CHILD_DROP_FAILED : spin_case(p[1]));
	}
	close(p[1]);
	if (!read_within(p[0], &ready, 1, 10000)) {
		kill_reap(pid);
		ASSERT_TRUE(0) TH_LOG("%s: the child did not hand off (see above)", who_name(who));
	}
	ASSERT_EQ(0, ptrace(PTRACE_SEIZE, pid, 0, 0)) TH_LOG("%s: errno %d", who_name(who), errno);
	/*
	 * The flow may still be on its way into the loop (in write()): let
	 * it go on and stop it again, a few times at most.
	 */
	for (int tries = 0;; tries++) {
		ASSERT_EQ(0, ptrace(PTRACE_INTERRUPT, pid, 0, 0));
		status = ptrace_stop_within(pid, 5000);
		ASSERT_EQ(PTRACE_EVENT_STOP, status >> 16) TH_LOG("%s: status %#x", who_name(who), status);
		ASSERT_EQ(0, ptrace(PTRACE_GETREGS, pid, 0, &regs));
		if ((regs.rip >= (unsigned long)__start_leader_spin &&
		     regs.rip < (unsigned long)__stop_leader_spin) || tries == 20)
			break;
		ASSERT_EQ(0, ptrace(PTRACE_CONT, pid, 0, 0));
		usleep(10000);
	}
	TH_LOG("%s: stopped at %#llx; the loop is [%p, %p)", who_name(who), regs.rip,
	       __start_leader_spin, __stop_leader_spin);
	EXPECT_TRUE(regs.rip >= (unsigned long)__start_leader_spin &&
		    regs.rip < (unsigned long)__stop_leader_spin);
	EXPECT_EQ(0, status_field(pid, "TracerPid", tracer, sizeof(tracer)));
	EXPECT_EQ(getpid(), atoi(tracer));
	/* Let it go: the loop ends, and the flow checks itself and exits. */
	EXPECT_EQ(0, ptrace(PTRACE_POKEDATA, pid, (void *)&spin_stop, (void *)1L));
	EXPECT_EQ(0, ptrace(PTRACE_DETACH, pid, 0, 0));
	if (!wait_deadline(pid, &status, 10000)) {
		kill_reap(pid);
		status = -1;
	}
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("%s: the tracee ended with status %#x", who_name(who), status);
	close(p[0]);
}

HTEST(ptrace_attach_by_pid_stops_the_main_flow)
{
	attach_by_pid(_metadata, AS_ROOT);
	attach_by_pid(_metadata, AS_NOBODY);
}

/* ---- Yama: PR_SET_PTRACER --------------------------------------------- */

/*
 * Two processes as nobody, children of the test: a tracee P whose main
 * thread obeys commands (set its ptracer, hand off), and its sibling Q,
 * which tries to attach to a PID when told. Neither is the other's
 * ancestor: with kernel.yama.ptrace_scope 1, only P's PR_SET_PTRACER
 * exception lets Q attach.
 */
struct agent {
	pid_t pid;
	int cmd, rep;	/* the test's ends of the two pipes */
};

struct order {
	char op;	/* 'p' PR_SET_PTRACER, 'h' hand off, 's' seize */
	int arg;
};

/* P's command: PR_SET_PTRACER(arg), or arg handoffs and the oracle. */
static int tracee_do(struct order o)
{
	if (o.op == 'p')
		return prctl(PR_SET_PTRACER, o.arg, 0, 0, 0) ? errno : 0;
	return moved_and_leads(o.arg);
}

/* Q's command: attach to arg; its errno, or 0 once attached, stopped and detached. */
static int tracer_do(struct order o)
{
	pid_t pid = o.arg;
	int status;

	if (ptrace(PTRACE_SEIZE, pid, 0, 0))
		return errno;
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0))
		return 1000 + errno;
	status = ptrace_stop_within(pid, 5000);
	if (status < 0) {
		say("attached to %d but saw no stop within 5 s", pid);
		return 2000;
	}
	return ptrace(PTRACE_DETACH, pid, 0, 0) ? 3000 + errno : 0;
}

static int agent_start(struct agent *a, int (*act)(struct order))
{
	int c[2], r[2];
	struct order o;
	int rep;

	if (pipe(c) || pipe(r))
		return -1;
	fflush(NULL);
	a->pid = fork();
	if (a->pid < 0)
		return -1;
	if (!a->pid) {
		close(c[1]);
		close(r[0]);
		if (become_nobody())
			_exit(CHILD_DROP_FAILED);
		while (read(c[0], &o, sizeof(o)) == sizeof(o)) {
			rep = act(o);
			if (write(r[1], &rep, sizeof(rep)) != sizeof(rep))
				_exit(1);
		}
		_exit(0);
	}
	close(c[0]);
	close(r[1]);
	a->cmd = c[1];
	a->rep = r[0];
	return 0;
}

/* What the agent answered to `op arg`, or -1 if it did not within 20 s. */
static int agent_do(struct agent *a, char op, int arg)
{
	struct order o = { op, arg };
	int rep;

	if (write(a->cmd, &o, sizeof(o)) != sizeof(o) || !read_within(a->rep, &rep, sizeof(rep), 20000))
		return -1;
	return rep;
}

static void agent_stop(struct agent *a)
{
	close(a->cmd);
	close(a->rep);
	kill_reap(a->pid);
}

/*
 * Runs steps[] against P and Q with ptrace_scope 1: each step is a
 * command to P (p, h) or Q (s, with P's PID) and the answer it must give.
 * A ptracer argument of -1 means Q's PID.
 */
struct step {
	char op;
	int arg, want;
};

static void yama_steps(struct __test_metadata *_metadata, const struct step *steps, int n)
{
	const char *scope = "/proc/sys/kernel/yama/ptrace_scope";
	long old = read_number(scope);
	struct agent p, q;
	int i, got;

	if (old < 0)
		SKIP(return, "no Yama (%s): nothing to test", scope);
	ASSERT_EQ(0, write_number(scope, 1));
	ASSERT_EQ(0, agent_start(&p, tracee_do));
	ASSERT_EQ(0, agent_start(&q, tracer_do));
	for (i = 0; i < n; i++) {
		if (steps[i].op == 's')
			got = agent_do(&q, 's', p.pid);
		else
			got = agent_do(&p, steps[i].op, steps[i].arg < 0 ? q.pid : steps[i].arg);
		EXPECT_EQ(steps[i].want, got)
			TH_LOG("step %d ('%c' %d): answered %d, want %d", i, steps[i].op,
			       steps[i].arg, got, steps[i].want);
		if (got != steps[i].want)
			break;
	}
	agent_stop(&q);
	agent_stop(&p);
	write_number(scope, old);
}

HTEST(pr_set_ptracer_allows_a_sibling_after_handoffs)
{
	static const struct step steps[] = {
		{ 's', 0, EPERM },	/* the control: Yama keeps Q out */
		{ 'h', 1, 0 },
		{ 'p', -1, 0 },		/* set after a handoff ... */
		{ 'h', 1, 0 },
		{ 's', 0, 0 },		/* ... it holds after the next */
		{ 'h', 50, 0 },
		{ 's', 0, 0 },		/* and after many */
		{ 'h', 1, 0 },
		{ 's', 0, 0 },
	};

	yama_steps(_metadata, steps, sizeof(steps) / sizeof(steps[0]));
}

HTEST(pr_set_ptracer_zero_revokes_after_handoffs)
{
	static const struct step steps[] = {
		{ 'p', -1, 0 },		/* set before any handoff */
		{ 'h', 2, 0 },
		{ 's', 0, 0 },
		{ 'p', 0, 0 },		/* revoked after them: gone */
		{ 's', 0, EPERM },
		{ 'h', 20, 0 },
		{ 's', 0, EPERM },
	};

	yama_steps(_metadata, steps, sizeof(steps) / sizeof(steps[0]));
}

/* ---- process groups and sessions ---------------------------------------- */

#define PF_FORKNOEXEC	0x00000040

static int setpgid_case(void *unused)
{
	int r[2], g[2], s[2], status;
	char c, env[64], flags[32];
	pid_t k;

	if (pipe(r) || pipe(g) || pipe(s))
		return 80;
	k = fork();
	if (!k) {
		snprintf(env, sizeof(env), "%d,%d,%d", r[1], g[0], lc_fd);
		if (!read_within(s[0], &c, 1, 10000) || setenv("LEADER_EXEC", env, 1))
			_exit(81);
		execl("/proc/self/exe", "leader_identity_test", (char *)NULL);
		_exit(82);
	}
	/* The control: before its exec, the parent may move the child. */
	if (k < 0 || setpgid(k, k))
		return 83;
	if (write(s[1], "s", 1) != 1 || !read_within(r[0], &c, 1, 10000) || c != 'r')
		return 84;
	if (stat_field(k, 9, flags, sizeof(flags)) || strtoul(flags, NULL, 10) & PF_FORKNOEXEC) {
		say("the exec'd child's flags after its handoffs: %s (PF_FORKNOEXEC is %#x)", flags,
		    PF_FORKNOEXEC);
		return 85;
	}
	if (setpgid(k, k) != -1 || errno != EACCES) {
		say("setpgid() of a child that exec'd and handed off: errno %d, want EACCES", errno);
		return 86;
	}
	if (write(g[1], "g", 1) != 1 || !wait_deadline(k, &status, 10000) || status)
		return 87;
	return 0;
}

HTEST(parent_setpgid_after_child_exec_is_eacces)
{
	as_both_in_leader(_metadata, setpgid_case, 0);
}

static int setsid_case(void *unused)
{
	pid_t pid = getpid(), sid;

	if (moved_and_leads(2))
		return 90;
	sid = setsid();
	if (sid != pid || getsid(0) != pid || getpgid(0) != pid) {
		say("setsid() = %d, getsid() %d, getpgid() %d; the PID is %d", sid, getsid(0),
		    getpgid(0), pid);
		return 91;
	}
	if (moved_and_leads(20))
		return 92;
	if (getsid(0) != pid || getpgid(0) != pid || setsid() != -1 || errno != EPERM)
		return 93;
	return 0;
}

HTEST(setsid_after_handoff_returns_pid)
{
	as_both_in_leader(_metadata, setsid_case, 0);
}

TEST_HARNESS_MAIN
