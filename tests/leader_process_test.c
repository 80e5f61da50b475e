// SPDX-License-Identifier: GPL-2.0
/*
 * The process around a main thread whose context moved (issue 17;
 * Documentation/leadership-move.md, 3.6.2): the main flow leads its group,
 * so what names the main thread by its TID, or the process by its PID,
 * behaves as if nothing moved: pthread_kill() of the main thread,
 * tgkill(pid, pid) from another process, a set*id() call from another
 * thread (glibc's SIGSETXID); PI and robust mutexes locked before or
 * after a handoff; wait and job control by the parent; the
 * PR_SET_PDEATHSIG of a child made before the handoff. How such a
 * process ends is in leader_exit_test.c.
 *
 * Each case runs in the main thread of a process, as root and as nobody,
 * and checks /sys/kernel/debug/syslet/leader_check after its handoffs
 * (leader_test.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "handoff_fixture.h"
#include "leader_test.h"

/* ---- signals ----------------------------------------------------------- */

static struct {
	volatile sig_atomic_t count;
	volatile long tid;
	volatile int code, pid;
} got;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	got.tid = syscall(__NR_gettid);
	got.code = si->si_code;
	got.pid = si->si_pid;
	got.count++;
}

static int catch_usr1(void)
{
	struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO };

	memset((void *)&got, 0, sizeof(got));
	return sigaction(SIGUSR1, &sa, NULL);
}

/* Waits up to `ms` for the handler to have run `n` times. */
static int handled_within(int n, int ms)
{
	double end = now_ms() + ms;

	while (got.count < n && now_ms() < end)
		usleep(2000);
	return got.count >= n;
}

/* 0 if SIGUSR1 was handled once, in the main flow, sent by `sender` with tgkill. */
static int handled_in_main_flow(pid_t sender)
{
	if (!handled_within(1, 2000) || got.count != 1 || got.tid != getpid() ||
	    got.code != SI_TKILL || got.pid != sender) {
		say("SIGUSR1 handled %d times, last in %ld (main flow %d), si_code %d, si_pid %d (want %d)",
		    (int)got.count, got.tid, getpid(), got.code, got.pid, sender);
		return 1;
	}
	return 0;
}

static pthread_t main_thread;

static void *kill_main(void *unused)
{
	return (void *)(long)pthread_kill(main_thread, SIGUSR1);
}

static int pthread_kill_case(void *unused)
{
	pthread_t th;
	void *ret;

	main_thread = pthread_self();
	if (catch_usr1() || moved_and_leads(2))
		return 10;
	if (pthread_create(&th, NULL, kill_main, NULL) || pthread_join(th, &ret) || ret)
		return 11;
	return handled_in_main_flow(getpid()) ? 12 : 0;
}

HTEST(pthread_kill_of_main_after_handoff)
{
	as_both_in_leader(_metadata, pthread_kill_case, 0);
}

/* Blocked, so it must wait, pending, in the main flow; then handled there. */
static int tgkill_case(void *unused)
{
	sigset_t set, pending;
	int status;
	pid_t k;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (catch_usr1() || moved_and_leads(2) || sigprocmask(SIG_BLOCK, &set, NULL))
		return 20;
	k = fork();
	if (!k)
		_exit(syscall(__NR_tgkill, getppid(), getppid(), SIGUSR1) ? errno : 0);
	if (k < 0 || !wait_deadline(k, &status, 10000) || status)
		return 21;
	if (sigpending(&pending) || !sigismember(&pending, SIGUSR1) || got.count) {
		say("tgkill(pid, pid) of a blocked signal: not pending in the main flow");
		return 22;
	}
	if (sigprocmask(SIG_UNBLOCK, &set, NULL) || handled_in_main_flow(k))
		return 23;
	return main_flow_leads("after the handler") ? 24 : 0;
}

HTEST(tgkill_pid_pid_from_another_process)
{
	as_both_in_leader(_metadata, tgkill_case, 0);
}

/*
 * A set*id() call from another thread: glibc signals every thread
 * (SIGSETXID, to the TIDs it knows) to make the change in each; before
 * the main flow led its group, the call waited forever for its answer
 * (fuzzer seed 20261203, iteration 5632).
 */
static struct {
	int ret, err;
	gid_t egid;
} setxid;

static void *setxid_thread(void *unused)
{
	setxid.ret = setresgid(-1, setxid.egid, -1);
	setxid.err = errno;
	return NULL;
}

static int setxid_case(void *unused)
{
	gid_t r, e, s;
	pthread_t th;

	/* Root changes its egid (to daemon's), nobody keeps its own. */
	setxid.egid = geteuid() == 0 ? 1 : getegid();
	if (moved_and_leads(2) || pthread_create(&th, NULL, setxid_thread, NULL) ||
	    pthread_join(th, NULL))
		return 25;
	if (setxid.ret || getresgid(&r, &e, &s) || e != setxid.egid) {
		say("setresgid() from a second thread: %d (errno %d); the main flow's egid %d, want %d",
		    setxid.ret, setxid.err, (int)e, (int)setxid.egid);
		return 26;
	}
	return main_flow_leads("after setresgid()") ? 27 : 0;
}

HTEST(setxid_from_a_second_thread_after_handoffs)
{
	as_both_in_leader(_metadata, setxid_case, 0);
}

/* ---- PI and robust mutexes -------------------------------------------- */

static int contender_tid;

static void *contend(void *m)
{
	long e;

	word_set(&contender_tid, syscall(__NR_gettid));
	e = pthread_mutex_lock(m);
	if (!e)
		e = pthread_mutex_unlock(m);
	return (void *)e;
}

static int mutex_init(pthread_mutex_t *m, int protocol, int robust, int pshared)
{
	pthread_mutexattr_t at;

	return pthread_mutexattr_init(&at) || pthread_mutexattr_setprotocol(&at, protocol) ||
	       pthread_mutexattr_setrobust(&at, robust) || pthread_mutexattr_setpshared(&at, pshared) ||
	       pthread_mutex_init(m, &at);
}

/* One PI mutex locked before the handoffs, one after; each unlocked contended. */
static int pi_case(void *unused)
{
	static pthread_mutex_t m[2];
	pthread_t th;
	void *ret;
	int i, e;

	for (i = 0; i < 2; i++)
		if (mutex_init(&m[i], PTHREAD_PRIO_INHERIT, PTHREAD_MUTEX_STALLED, 0))
			return 30;
	if (pthread_mutex_lock(&m[0]) || moved_and_leads(2) || pthread_mutex_lock(&m[1]))
		return 31;
	for (i = 0; i < 2; i++) {
		contender_tid = 0;
		if (pthread_create(&th, NULL, contend, &m[i]) || !word_wait(&contender_tid, 1, 5000))
			return 32;
		if (!wait_in_syscall(contender_tid, __NR_futex, 5000)) {
			say("mutex %d: the contender does not wait in futex()", i);
			return 33;
		}
		e = pthread_mutex_unlock(&m[i]);
		if (e) {
			say("mutex %d (locked %s the handoffs): contended unlock: %s", i,
			    i ? "after" : "before", strerror(e));
			return 34;
		}
		if (pthread_join(th, &ret) || ret) {
			say("mutex %d: the contender's lock: %s", i, strerror((long)ret));
			return 35;
		}
	}
	return main_flow_leads("after the unlocks") ? 36 : 0;
}

HTEST(pi_mutex_contended_unlock_after_handoff)
{
	as_both_in_leader(_metadata, pi_case, 0);
}

/*
 * A process locks two shared robust mutexes, one before and one after its
 * main thread's handoffs, and ends holding both: the next locker must get
 * EOWNERDEAD (the exit marks a word only if it holds the exiting TID).
 */
static int robust_case(void *unused)
{
	pthread_mutex_t *m = mmap(NULL, 2 * sizeof(*m), PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct timespec deadline;
	int i, e, status;
	pid_t g;

	if (m == MAP_FAILED || mutex_init(&m[0], PTHREAD_PRIO_NONE, PTHREAD_MUTEX_ROBUST, 1) ||
	    mutex_init(&m[1], PTHREAD_PRIO_NONE, PTHREAD_MUTEX_ROBUST, 1))
		return 40;
	g = fork();
	if (!g)
		_exit(pthread_mutex_lock(&m[0]) || moved_and_leads(2) || pthread_mutex_lock(&m[1]) ||
		      moved_and_leads(1) ? 1 : 0);
	if (g < 0 || !wait_deadline(g, &status, 10000) || status)
		return 41;
	for (i = 0; i < 2; i++) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 3;
		e = pthread_mutex_timedlock(&m[i], &deadline);
		if (e != EOWNERDEAD) {
			say("mutex %d (locked %s the handoffs) after its owner died: %s", i,
			    i ? "after" : "before", strerror(e));
			return 42;
		}
		if (pthread_mutex_consistent(&m[i]) || pthread_mutex_unlock(&m[i]))
			return 43;
	}
	return 0;
}

HTEST(robust_mutex_owner_death_after_handoff)
{
	as_both_in_leader(_metadata, robust_case, 0);
}

/* ---- the parent: wait, job control ------------------------------------ */

/*
 * A child whose main thread hands off `n` times, says 'r' (or 'f' if it
 * no longer leads), and exits with `code` when told.
 */
struct kid {
	pid_t pid;
	int ready, go;	/* the parent's ends */
};

static int kid_start(struct kid *k, int n, int code)
{
	int r[2], g[2];
	char c;

	if (pipe(r) || pipe(g))
		return -1;
	k->pid = fork();
	if (!k->pid) {
		c = moved_and_leads(n) ? 'f' : 'r';
		if (write(r[1], &c, 1) != 1 || !read_within(g[0], &c, 1, 15000))
			_exit(99);
		_exit(moved_and_leads(1) ? 98 : code);
	}
	close(r[1]);
	close(g[0]);
	k->ready = r[0];
	k->go = g[1];
	if (k->pid < 0 || !read_within(k->ready, &c, 1, 10000) || c != 'r')
		return -1;
	return 0;
}

/* Tells the kid to exit; 0 if it then ends with `code` (reaped). */
static int kid_end(struct kid *k, int code)
{
	int status;

	if (write(k->go, "g", 1) != 1 || !wait_deadline(k->pid, &status, 10000)) {
		kill_reap(k->pid);
		return 1;
	}
	close(k->ready);
	close(k->go);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != code) {
		say("the child ended with status %#x, want exit %d", status, code);
		return 1;
	}
	return 0;
}

static int wait_case(void *unused)
{
	siginfo_t si = { 0 };
	struct kid k;
	double end;
	int status;

	if (kid_start(&k, 5, 42))
		return 50;
	/* Alive and found, by waitpid() and by waitid(). */
	if (waitpid(k.pid, &status, WNOHANG) != 0 ||
	    waitid(P_PID, k.pid, &si, WEXITED | WNOHANG) || si.si_pid) {
		say("a live child after its handoffs: waitpid/waitid answer errno %d, si_pid %d",
		    errno, si.si_pid);
		return 51;
	}
	if (write(k.go, "g", 1) != 1)
		return 52;
	end = now_ms() + 10000;
	while (!waitid(P_PID, k.pid, &si, WEXITED | WNOHANG | WNOWAIT) && !si.si_pid &&
	       now_ms() < end)
		usleep(2000);
	if (si.si_pid != k.pid || si.si_code != CLD_EXITED || si.si_status != 42) {
		say("waitid(): si_pid %d (want %d), si_code %d, si_status %d", si.si_pid, k.pid,
		    si.si_code, si.si_status);
		return 53;
	}
	return waitpid(k.pid, &status, 0) == k.pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 42 ? 0 : 54;
}

HTEST(waitpid_and_waitid_by_the_parent)
{
	as_both_in_leader(_metadata, wait_case, 0);
}

static struct {
	volatile sig_atomic_t n;
	volatile int code[4], pid[4];
} chld;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	if (chld.n < 4) {
		chld.code[chld.n] = si->si_code;
		chld.pid[chld.n] = si->si_pid;
	}
	chld.n++;
}

/* Waits up to 5 s for a report of `pid` that `is` (WIFSTOPPED, ...) accepts. */
static int report_within(pid_t pid, int flags, int (*is)(int))
{
	double end = now_ms() + 5000;
	int status;

	do {
		pid_t r = waitpid(pid, &status, flags | WNOHANG);

		if (r == pid)
			return is(status);
		usleep(2000);
	} while (now_ms() < end);
	return 0;
}

static int stopped_by_sigstop(int s) { return WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP; }
static int continued(int s) { return WIFCONTINUED(s); }

static int jobs_case(void *unused)
{
	struct sigaction sa = { .sa_sigaction = on_chld, .sa_flags = SA_SIGINFO | SA_RESTART };
	char state[8] = "?";
	struct kid k;

	memset((void *)&chld, 0, sizeof(chld));
	if (sigaction(SIGCHLD, &sa, NULL) || kid_start(&k, 3, 7))
		return 60;
	if (kill(k.pid, SIGSTOP) || !report_within(k.pid, WUNTRACED, stopped_by_sigstop))
		return 61;
	if (stat_field(k.pid, 3, state, sizeof(state)) || strcmp(state, "T")) {
		say("the stopped child's main flow is in state %s", state);
		return 62;
	}
	if (kill(k.pid, SIGCONT) || !report_within(k.pid, WCONTINUED, continued))
		return 63;
	/* The continued child sends its SIGCHLD when it runs again, which may
	 * be after waitpid() reported it (2 s at most). */
	for (double end = now_ms() + 2000; chld.n < 2 && now_ms() < end;)
		usleep(1000);
	if (chld.n != 2 || chld.code[0] != CLD_STOPPED || chld.code[1] != CLD_CONTINUED ||
	    chld.pid[0] != k.pid || chld.pid[1] != k.pid) {
		say("SIGCHLD: %d of them, codes %d %d, si_pid %d %d (want %d)", (int)chld.n,
		    chld.code[0], chld.code[1], chld.pid[0], chld.pid[1], k.pid);
		return 64;
	}
	return kid_end(&k, 7) ? 65 : 0;
}

HTEST(sigstop_sigcont_job_control)
{
	as_both_in_leader(_metadata, jobs_case, 0);
}

/* ---- PR_SET_PDEATHSIG of a child made before the handoff -------------- */

static volatile sig_atomic_t pdeath_got;

static void on_pdeath(int sig)
{
	pdeath_got = 1;
}

/* The child: 'r' once set up; then 'S' at SIGUSR2 with getppid() the PID
 * throughout, 'P' if getppid() changed first, 'T' if none came in 20 s. */
static int pdeath_child(pid_t parent, int fd)
{
	double end = now_ms() + 20000;
	char c = 'T';

	signal(SIGUSR2, on_pdeath);
	if (prctl(PR_SET_PDEATHSIG, SIGUSR2) || getppid() != parent || write(fd, "r", 1) != 1)
		return 1;
	while (now_ms() < end && c == 'T') {
		if (getppid() != parent)
			c = 'P';
		else if (pdeath_got)
			c = 'S';
		usleep(1000);
	}
	return write(fd, &c, 1) == 1 ? 0 : 1;
}

static int pdeath_fd;

/* The TIDs of this process's tasks other than the PID's, at most max. */
static int other_tasks(pid_t *tids, int max)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)) && n < max)
		if (atoi(e->d_name) > 0 && atoi(e->d_name) != getpid())
			tids[n++] = atoi(e->d_name);
	if (d)
		closedir(d);
	return n;
}

/* Left alone after the main flow's pthread_exit(): the child's answer. */
static void *pdeath_waiter(void *unused)
{
	char c = 0;

	if (!read_within(pdeath_fd, &c, 1, 5000) || c != 'S') {
		say("the child's answer after the main flow exited: '%c' (want 'S')", c ? c : '-');
		exit(72);
	}
	exit(0);
}

static int pdeath_case(void *unused)
{
	pid_t tids[64], pid = getpid();
	int p[2], i, n;
	pthread_t th;
	char c;

	if (pipe(p))
		return 70;
	if (!fork())
		_exit(pdeath_child(pid, p[1]));
	if (!read_within(p[0], &c, 1, 5000) || moved_and_leads(3))
		return 71;
	/* Every other task, the old leader among them, idles out (100 ms). */
	n = other_tasks(tids, 64);
	for (i = 0; i < n; i++)
		if (!wait_task_gone(tids[i], 5000)) {
			say("task %d did not idle out within 5 s", tids[i]);
			return 73;
		}
	if (readable_within(p[0], 300)) {
		say("the child heard something when the old leader's task exited");
		return 74;
	}
	pdeath_fd = p[0];
	if (pthread_create(&th, NULL, pdeath_waiter, NULL))
		return 75;
	pthread_exit(NULL);
}

HTEST(pdeathsig_of_children_follows_the_main_flow)
{
	ASSERT_EQ(0, write_sysctl("syslet_idle_msecs", 100));
	as_both_in_leader(_metadata, pdeath_case, 0);
	write_sysctl("syslet_idle_msecs", hs_orig_idle);
}

TEST_HARNESS_MAIN
