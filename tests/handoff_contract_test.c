// SPDX-License-Identifier: GPL-2.0
/*
 * The rows of Documentation/handoff.md's "The identity contract" that a
 * program can observe, one test each (tests/handoff_contract_gaps_test.c
 * pins the "known gap" rows):
 *
 * - moves: the value a thread set is the one it reads after its context
 *   moved to a spare made before it set it (nice, PKRU, the robust futex
 *   list, timers and file owners aimed at its TID);
 * - refused: with the state set the chain does not hand off (no handoff
 *   counted in /proc/self/syslet; the atom blocks in place or runs on an
 *   async thread), the state is still set afterwards, and the same chain
 *   hands off once it is cleared (the control): PR_MCE_KILL, speculation
 *   control, a GS selector, CPUID faulting, an io_uring user, a PI futex
 *   owner, a vfork child, a pending uretprobe, a tracer, a traced spare;
 *   and a threadlet that changes its credentials or namespace after its
 *   spare was made keeps its context;
 * - stays: what the rows say a program can check (process ids, Yama's
 *   ptracer exception, the process-wide tables, a child's exit signal,
 *   restart codes).
 *
 * Each case runs in a thread (not the leader) of a child process with a
 * deadline, as root and as nobody where nobody can set the state. The
 * program must run as root (it drops in its children and resets the
 * kernel.syslet_* sysctls).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <asm/prctl.h>
#include <linux/io_uring.h>

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "threadlet.h"

#define HTEST_SECONDS 90
#include "handoff_fixture.h"


/* ---- moves ---------------------------------------------------------- */

/* The nice value: set_user_nice(S, task_nice(T)) at restore. */
static int nice_case(void *arg)
{
	int before, after;

	if (make_spare())
		return 9;
	if (setpriority(PRIO_PROCESS, gettid(), 7))
		return 10;
	before = getpriority(PRIO_PROCESS, gettid());
	if (hand_off("nice 7"))
		return 11;
	after = getpriority(PRIO_PROCESS, gettid());
	say("nice: before the handoff %d, after it %d (want 7)", before, after);
	return before == 7 && after == 7 ? 0 : 12;
}

HTEST(nice_value_moves_with_the_context)
{
	as_both(_metadata, nice_case, NULL);
}

/* PKRU: read_pkru() in the hook, write_pkru() on S. */
static unsigned int rdpkru(void)
{
	unsigned int eax, edx;

	__asm__ volatile(".byte 0x0f,0x01,0xee" : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

static int pkru_case(void *arg)
{
	unsigned int before, after;
	int key;

	if (make_spare())
		return 9;
	key = syscall(__NR_pkey_alloc, 0, 0);
	if (key < 0) {
		say("pkey_alloc: errno %d: no protection keys on this CPU", errno);
		return CASE_SKIP;
	}
	/* Write-disable the key in this thread only. */
	if (pkey_set(key, PKEY_DISABLE_WRITE))
		return 10;
	before = rdpkru();
	if (hand_off("PKRU set"))
		return 11;
	after = rdpkru();
	say("PKRU: before the handoff %#x, after it %#x", before, after);
	return before == after && (before >> (2 * key) & 2) ? 0 : 12;
}

HTEST(pkru_moves_with_the_context)
{
	as_both(_metadata, pkru_case, NULL);
}

/*
 * The robust futex list: T's cleared, S's set. The mutex is left locked
 * when the thread ends after the handoff: its next locker must get
 * EOWNERDEAD, which the kernel marks from the exiting thread's list.
 */
static pthread_mutex_t robust_m;

static int robust_thread(void *arg)
{
	struct robust_list_head *h0 = NULL, *h1 = NULL;
	size_t l0 = 0, l1 = 0;

	if (syscall(__NR_get_robust_list, 0, &h0, &l0) || !h0)
		return 9;
	if (make_spare() || pthread_mutex_lock(&robust_m))
		return 9;
	if (hand_off("holding a robust mutex"))
		return 10;
	if (syscall(__NR_get_robust_list, 0, &h1, &l1))
		return 11;
	say("robust list: before the handoff %p (%zu), after it %p (%zu)", h0, l0, h1, l1);
	return h1 == h0 && l1 == l0 ? 0 : 12;	/* exits holding the mutex */
}

static int robust_case(void *arg)
{
	pthread_mutexattr_t ma;
	struct timespec ts;
	int rc, e;

	if (pthread_mutexattr_init(&ma) || pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST) ||
	    pthread_mutex_init(&robust_m, &ma))
		return 9;
	hs_job.fn = robust_thread;
	rc = hs_job_run(NULL);
	if (rc)
		return rc;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 3;
	e = pthread_mutex_timedlock(&robust_m, &ts);
	say("locking the mutex its owner left at exit: %d (want EOWNERDEAD %d)", e, EOWNERDEAD);
	return e == EOWNERDEAD ? 0 : 20;
}

HTEST(robust_list_moves_with_the_context)
{
	int rc;

	rc = run_child(robust_case, NULL, AS_ROOT, 30000);
	EXPECT_EQ(0, rc) TH_LOG("root: %s", describe(rc));
	rc = run_child(robust_case, NULL, AS_NOBODY, 30000);
	EXPECT_EQ(0, rc) TH_LOG("nobody: %s", describe(rc));
}

/*
 * A SIGEV_THREAD_ID timer and an F_OWNER_TID owner made before the
 * handoff hold the thread's struct pid: after it they reach the context.
 */
static int tid_owner_case(void *arg)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR2 };
	struct itimerspec its = { .it_value = { 0, 50 * 1000 * 1000 } };
	struct timespec wait = { 3, 0 };
	struct f_owner_ex own = { F_OWNER_TID, gettid() };
	siginfo_t si1 = { 0 }, si2 = { 0 };
	sigset_t set;
	timer_t tm;
	int p[2], s1, s2;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) || pipe(p) || make_spare())
		return 9;
	sev._sigev_un._tid = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &tm))
		return 9;
	if (fcntl(p[0], F_SETOWN_EX, &own) || fcntl(p[0], F_SETSIG, SIGUSR1) ||
	    fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK))
		return 9;
	if (hand_off("with a TID timer and owner"))
		return 10;
	if (timer_settime(tm, 0, &its, NULL))
		return 11;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	s2 = sigtimedwait(&set, &si2, &wait);
	if (write(p[1], "x", 1) != 1)
		return 12;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	s1 = sigtimedwait(&set, &si1, &wait);
	say("after the handoff: timer signal %d (code %d), F_OWNER_TID signal %d (fd %d)",
	    s2, si2.si_code, s1, si1.si_fd);
	if (s2 != SIGUSR2 || si2.si_code != SI_TIMER)
		return 13;
	return s1 == SIGUSR1 && si1.si_fd == p[0] ? 0 : 14;
}

HTEST(tid_timer_and_fd_owner_reach_the_moved_context)
{
	as_both(_metadata, tid_owner_case, NULL);
}

/* ---- refused: own protections (own_protections(), syslet/eligible.rs) ------------ */

static int mce_set(void)
{
	return prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0);
}

static int mce_is_set(void)
{
	return prctl(PR_MCE_KILL_GET, 0, 0, 0, 0) == PR_MCE_KILL_EARLY;
}

/* DEFAULT clears both flags (CLEAR only PF_MCE_PROCESS: see below). */
static int mce_clear(void)
{
	return prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_DEFAULT, 0, 0);
}

static const struct refusal mce = { "PR_MCE_KILL early", mce_set, mce_is_set, mce_clear };

HTEST(mce_kill_policy_refuses_the_handoff_and_stays_set)
{
	as_both(_metadata, refusal_case, (void *)&mce);
}

/*
 * PR_MCE_KILL_CLEAR clears PF_MCE_PROCESS and leaves PF_MCE_EARLY, which
 * has no effect without it (PR_MCE_KILL_GET then says DEFAULT): the
 * thread has no policy of its own left, and its chains must hand off
 * again (own_protections() tested PF_MCE_EARLY alone before
 * 03749a7).
 */
static int mce_cleared_case(void *arg)
{
	long v;

	if (make_spare() || mce_set() || prctl(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0, 0, 0))
		return 9;
	v = prctl(PR_MCE_KILL_GET, 0, 0, 0, 0);
	say("PR_MCE_KILL early, then PR_MCE_KILL_CLEAR: PR_MCE_KILL_GET = %ld (want DEFAULT %d)", v,
	    PR_MCE_KILL_DEFAULT);
	if (v != PR_MCE_KILL_DEFAULT)
		return 10;
	return hand_off("policy cleared") ? 11 : 0;
}

HTEST(mce_kill_policy_cleared_hands_off_again)
{
	as_both(_metadata, mce_cleared_case, NULL);
}

static int spec_which;

static int spec_set(void)
{
	long v = prctl(PR_GET_SPECULATION_CTRL, spec_which, 0, 0, 0);

	if (v < 0 || !(v & PR_SPEC_PRCTL)) {
		say("PR_GET_SPECULATION_CTRL(%d) = %#lx (errno %d): not controllable per thread here",
		    spec_which, v, errno);
		return CASE_SKIP;
	}
	return prctl(PR_SET_SPECULATION_CTRL, spec_which, PR_SPEC_DISABLE, 0, 0);
}

static int spec_is_set(void)
{
	return (prctl(PR_GET_SPECULATION_CTRL, spec_which, 0, 0, 0) & PR_SPEC_DISABLE) != 0;
}

static int spec_clear(void)
{
	return prctl(PR_SET_SPECULATION_CTRL, spec_which, PR_SPEC_ENABLE, 0, 0);
}

static int spec_case(void *arg)
{
	static const struct refusal rf = { "speculation disabled", spec_set, spec_is_set, spec_clear };

	spec_which = *(int *)arg;
	return refusal_case((void *)&rf);
}

HTEST(store_bypass_mitigation_refuses_the_handoff_and_stays_set)
{
	int which = PR_SPEC_STORE_BYPASS;

	as_both(_metadata, spec_case, &which);
}

HTEST(indirect_branch_mitigation_refuses_the_handoff_and_stays_set)
{
	int which = PR_SPEC_INDIRECT_BRANCH;

	as_both(_metadata, spec_case, &which);
}

/* ---- refused: can_hand_off() and context_refused() ------------------ */

static unsigned short gs_now(void)
{
	unsigned short gs;

	__asm__ volatile("mov %%gs, %0" : "=r"(gs));
	return gs;
}

/* The user data selector (SS's) in GS: base 0, as it was. */
static int gs_set(void)
{
	__asm__ volatile("mov %%ss, %%ax\n\tmov %%ax, %%gs" ::: "rax");
	return gs_now() ? 0 : -1;
}

static int gs_is_set(void)
{
	return gs_now() != 0;
}

static int gs_clear(void)
{
	__asm__ volatile("mov %0, %%gs" :: "r"(0));
	return gs_now();
}

static const struct refusal gs_sel = { "GS selector set", gs_set, gs_is_set, gs_clear };

HTEST(gs_selector_refuses_the_handoff)
{
	as_both(_metadata, refusal_case, (void *)&gs_sel);
}

static int cpuid_set(void)
{
	/* Lazy bindings resolved before CPUID faults: one handoff first. */
	if (hand_off("warm-up"))
		return -1;
	if (syscall(__NR_arch_prctl, ARCH_SET_CPUID, 0)) {
		say("ARCH_SET_CPUID(0): errno %d: no CPUID faulting on this CPU", errno);
		return errno == ENODEV ? CASE_SKIP : -1;
	}
	return 0;
}

static int cpuid_is_set(void)
{
	return syscall(__NR_arch_prctl, ARCH_GET_CPUID, 0) == 0;
}

static int cpuid_clear(void)
{
	return syscall(__NR_arch_prctl, ARCH_SET_CPUID, 1);
}

static const struct refusal cpuid = { "CPUID faulting on", cpuid_set, cpuid_is_set, cpuid_clear };

HTEST(cpuid_faulting_refuses_the_handoff)
{
	as_both(_metadata, refusal_case, (void *)&cpuid);
}

/*
 * io_uring: a task with an io_uring task context does not hand off. The
 * context cannot be dropped: the controls are this thread's chain before
 * io_uring_setup() and another thread's chain after it.
 */
static int uring_fd = -1;

static int uring_set(void)
{
	struct io_uring_params p = { 0 };

	uring_fd = syscall(__NR_io_uring_setup, 4, &p);
	if (uring_fd < 0) {
		say("io_uring_setup: errno %d", errno);
		return errno == ENOSYS || errno == EPERM ? CASE_SKIP : -1;
	}
	return 0;
}

static int uring_other_thread(void *unused)
{
	return hand_off("another thread, no io_uring (control)");
}

static int uring_case(void *arg)
{
	struct chain_run c;
	pthread_t th;
	int e;

	if (make_spare())
		return 9;
	if (hand_off("before io_uring_setup() (control)"))
		return 10;
	e = uring_set();
	if (e)
		return e == CASE_SKIP ? CASE_SKIP : 11;
	if (blocking_chain(&c, 1000))
		return 12;
	chain_say("io_uring user", &c);
	e = check_no_handoff(&c);
	if (e)
		return 20 + e;
	if (fcntl(uring_fd, F_GETFD) < 0)
		return 30;
	hs_job.fn = uring_other_thread;
	if (pthread_create(&th, NULL, hs_job_thread, NULL) || pthread_join(th, NULL))
		return 9;
	return hs_job.rc ? 40 : 0;
}

HTEST(io_uring_user_does_not_hand_off)
{
	as_both(_metadata, uring_case, NULL);
}

/*
 * A PI futex owner with a waiter (pi_state_list not empty; its rt-mutex
 * has waiters too: from user space the two come together).
 */
static pthread_mutex_t pi_m;

static void *pi_waiter(void *arg)
{
	if (pthread_mutex_lock(&pi_m))
		return (void *)1;
	pthread_mutex_unlock(&pi_m);
	return NULL;
}

/* 1 once `tid` sleeps in the kernel (state S). */
static int sleeping(pid_t tid, int ms)
{
	double end = now_ms() + ms;

	do {
		if (thread_state(tid) == 'S')
			return 1;
		usleep(5000);
	} while (now_ms() < end);
	return 0;
}

static int pi_waiter_tid;	/* a futex word: set once the waiter runs */

static void *pi_waiter_start(void *arg)
{
	word_set(&pi_waiter_tid, gettid());
	return pi_waiter(arg);
}

static int pi_case(void *arg)
{
	pthread_mutexattr_t ma;
	struct chain_run c;
	pthread_t w;
	void *wret;
	int e;

	if (pthread_mutexattr_init(&ma) ||
	    pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT) ||
	    pthread_mutex_init(&pi_m, &ma) || make_spare())
		return 9;
	if (pthread_mutex_lock(&pi_m) || pthread_create(&w, NULL, pi_waiter_start, NULL))
		return 9;
	if (!word_wait(&pi_waiter_tid, 1, 3000) || !sleeping(pi_waiter_tid, 3000)) {
		say("the waiter did not block on the PI mutex");
		return 10;
	}
	if (blocking_chain(&c, 1000))
		return 11;
	chain_say("PI futex owner with a waiter", &c);
	e = check_no_handoff(&c);
	if (pthread_mutex_unlock(&pi_m) || pthread_join(w, &wret) || wret)
		return 12;
	if (e)
		return 20 + e;
	return hand_off("no PI futex held (control)") ? 30 : 0;
}

HTEST(pi_futex_owner_with_a_waiter_does_not_hand_off)
{
	as_both(_metadata, pi_case, NULL);
}

/* ---- refused: a vfork child, a pending uretprobe -------------------- */

/* The "handoffs" counter of /proc/self/syslet without stdio (no malloc). */
static long raw_handoffs(void)
{
	char buf[512], *p;
	int fd = open("/proc/self/syslet", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "handoffs ");
	return p ? strtol(p + 9, NULL, 10) : -1;
}

struct vf {
	struct reader r;
	struct chain_run c;
	int rfd;
};

/*
 * The vfork child (CLONE_VM | CLONE_VFORK, its own stack): a chain that
 * blocks; the pipe is written by the parent's late writer. Only system
 * calls and the stack: the parent's heap and stdio are not to be used.
 */
static int vfork_child(void *arg)
{
	struct vf *v = arg;

	v->c.handoffs_before = raw_handoffs();
	reader_init(&v->r, v->rfd, 0);
	v->c.atom = (long)&v->r.atom;
	v->c.exec_ret = sys_async_exec(&v->r.atom, &v->r.ahu);
	if (v->c.exec_ret == 0)
		v->c.completed = reap_deadline(&v->r.ahu, v->r.ring, 8, 10000) == &v->r.atom &&
				 v->r.ret == 1;
	else
		v->c.completed = v->c.exec_ret == v->c.atom && v->r.ret == 1;
	v->c.atom_ret = v->r.ret;
	v->c.handoffs_after = raw_handoffs();
	_exit(0);
}

static int vfork_case(void *arg)
{
	static char stack[256 << 10] __attribute__((aligned(16)));
	static struct vf v;
	struct late_writer w;
	int q[2], status, e;
	pid_t k;

	if (make_spare() || pipe(q) || late_writer_start(&w, q[1], 1000))
		return 9;
	memset(&v, 0, sizeof(v));
	v.rfd = q[0];
	k = clone(vfork_child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &v);
	pthread_join(w.th, NULL);
	if (k < 0 || waitpid(k, &status, 0) != k || !WIFEXITED(status) || WEXITSTATUS(status))
		return 10;
	chain_say("in a vfork child", &v.c);
	e = check_no_handoff(&v.c);
	if (e)
		return 20 + e;
	return hand_off("the vfork parent (control)") ? 30 : 0;
}

HTEST(vfork_child_does_not_hand_off)
{
	as_both(_metadata, vfork_case, NULL);
}

#define TRACEFS "/sys/kernel/tracing"

/* Appends `v` to a tracefs file; 0 or -1. */
static int tracefs_append(const char *file, const char *v)
{
	char path[128];
	int fd, ok;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0)
		return -1;
	ok = write(fd, v, strlen(v)) == (ssize_t)strlen(v);
	close(fd);
	return ok ? 0 : -1;
}

/* The hits of the contract/probed_chain uprobe, or -1. */
static long uprobe_hits(void)
{
	char line[256], name[128];
	long hits = -1, h;
	FILE *f = fopen(TRACEFS "/uprobe_profile", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %127s %ld", name, &h) == 2 &&
		    strstr(name, "probed_chain"))
			hits = h;
	fclose(f);
	return hits;
}

/* Where `fn` is in its file: "path:0xoffset", for uprobe_events. */
static int file_offset_of(void *fn, char *out, size_t len)
{
	unsigned long a = (unsigned long)fn, start, end, off;
	char line[512], path[400];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %399s", &start, &end, &off, path) == 4 &&
		    a >= start && a < end) {
			snprintf(out, len, "%s:%#lx", path, a - start + off);
			found = 1;
		}
	fclose(f);
	return found ? 0 : -1;
}

static struct chain_run probed_run;

/* Returns through the uretprobe's trampoline, with its instance pending. */
__attribute__((noinline, used)) static int probed_chain(int writer_max_ms)
{
	int r = blocking_chain(&probed_run, writer_max_ms);

	__asm__ volatile("" ::: "memory");
	return r;
}

static int uprobe_case(void *arg)
{
	int probed = *(int *)arg, e;

	if (make_spare())
		return 9;
	if (probed_chain(probed ? 1000 : 3000))
		return 10;
	chain_say(probed ? "inside a function with a uretprobe" : "no uretprobe (control)",
		  &probed_run);
	e = probed ? check_refused(&probed_run) : check_handed_off(&probed_run);
	return e ? 20 + e : 0;
}

HTEST(pending_uretprobe_refuses_the_handoff)
{
	int probed = 1, control = 0, rc1, rc2, rc3;
	char where[600], ev[700];
	long hits;

	ASSERT_EQ(0, geteuid()) TH_LOG("uprobes need root (this is not a skip)");
	if (access(TRACEFS "/uprobe_events", F_OK))
		syscall(__NR_mount, "tracefs", TRACEFS, "tracefs", 0, NULL);
	if (access(TRACEFS "/uprobe_events", F_OK))
		SKIP(return, "no tracefs uprobe_events");
	ASSERT_EQ(0, file_offset_of(probed_chain, where, sizeof(where)));
	snprintf(ev, sizeof(ev), "r:contract/probed_chain %s\n", where);
	ASSERT_EQ(0, tracefs_append("uprobe_events", ev)) TH_LOG("%s: errno %d", ev, errno);
	ASSERT_EQ(0, tracefs_append("events/contract/probed_chain/enable", "1"));
	rc1 = run_in_thread(uprobe_case, &probed, AS_ROOT, 40000);
	rc2 = run_in_thread(uprobe_case, &probed, AS_NOBODY, 40000);
	hits = uprobe_hits();
	tracefs_append("events/contract/probed_chain/enable", "0");
	tracefs_append("uprobe_events", "-:contract/probed_chain\n");
	rc3 = run_in_thread(uprobe_case, &control, AS_ROOT, 40000);
	TH_LOG("uretprobe at %s: %ld hits", where, hits);
	EXPECT_EQ(0, rc1) TH_LOG("root: %s", describe(rc1));
	EXPECT_EQ(0, rc2) TH_LOG("nobody: %s", describe(rc2));
	EXPECT_EQ(0, rc3) TH_LOG("control, no probe: %s", describe(rc3));
	EXPECT_LE(2, hits) TH_LOG("the uretprobe was not hit: nothing tested");
}

/* ---- refused: a tracer, a traced spare ------------------------------ */

/* A child process that pauses; its pid. */
static pid_t pausing_child(void)
{
	pid_t c = fork();

	if (!c) {
		alarm(30);
		for (;;)
			pause();
	}
	return c;
}

static int tracer_case(void *arg)
{
	struct chain_run c;
	int status, e;
	pid_t k;

	if (make_spare())
		return 9;
	k = pausing_child();
	if (k < 0)
		return 9;
	if (ptrace(PTRACE_SEIZE, k, 0, 0)) {
		say("PTRACE_SEIZE of a child: errno %d", errno);
		kill_reap(k);
		return 10;
	}
	if (blocking_chain(&c, 1000)) {
		kill_reap(k);
		return 11;
	}
	chain_say("tracing a child", &c);
	e = check_refused(&c);
	/* This thread is still the tracer: it can stop the tracee. */
	if (!e && (ptrace(PTRACE_INTERRUPT, k, 0, 0) || waitpid(k, &status, __WALL) != k ||
		   !WIFSTOPPED(status))) {
		say("after the chain this thread no longer traces %d: errno %d", k, errno);
		e = 10;
	}
	ptrace(PTRACE_DETACH, k, 0, 0);
	kill_reap(k);
	if (e)
		return 20 + e;
	return hand_off("tracee gone (control)") ? 40 : 0;
}

HTEST(tracer_keeps_its_context_and_its_tracees)
{
	as_both(_metadata, tracer_case, NULL);
}

/* The spares of this process: its tasks but the leader and the caller. */
static int spare_tids(pid_t *tids, int max)
{
	struct dirent *d;
	DIR *dir = opendir("/proc/self/task");
	int n = 0;

	if (!dir)
		return -1;
	while ((d = readdir(dir)) && n < max) {
		pid_t t = atoi(d->d_name);

		if (t > 0 && t != getpid() && t != gettid())
			tids[n++] = t;
	}
	closedir(dir);
	return n;
}

static int traced_spare_case(void *arg)
{
	int rp[2], gp[2], n, seized = -1, status, e;
	struct chain_run c;
	pid_t tids[8], tracer;
	char ch;

	if (make_spare() || pipe(rp) || pipe(gp))
		return 9;
	n = spare_tids(tids, 8);
	if (n < 1)
		return 9;
	/* Yama: a descendant may trace this process only if asked to. */
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	tracer = fork();
	if (tracer < 0)
		return 9;
	if (!tracer) {
		int ok = 0;

		alarm(30);
		for (int i = 0; i < n; i++)
			ok += !ptrace(PTRACE_SEIZE, tids[i], 0, 0);
		if (write(rp[1], &ok, sizeof(ok)) != sizeof(ok) || read(gp[0], &ch, 1) != 1)
			_exit(1);
		_exit(0);	/* detaches */
	}
	if (!read_within(rp[0], &seized, sizeof(seized), 10000) || seized != n) {
		say("the tracer seized %d of %d spares", seized, n);
		kill_reap(tracer);
		return 10;
	}
	e = blocking_chain(&c, 1000);
	if (write(gp[1], "x", 1) != 1 || !wait_deadline(tracer, &status, 10000))
		return 11;
	if (e)
		return 12;
	chain_say("the only spare traced", &c);
	e = check_refused(&c);
	if (e)
		return 20 + e;
	return hand_off("tracer gone (control)") ? 30 : 0;
}

HTEST(traced_spare_is_not_given_a_context)
{
	as_both(_metadata, traced_spare_case, NULL);
}

/*
 * ---- refused: the spare differs from the caller at the hook ---------
 *
 * threadlet_on() makes sure a spare of the caller's credentials and
 * tables is parked; the threadlet then changes the thread's (raw calls,
 * per thread) and blocks. syslet_context_save() must find the spare's
 * pointers differ and refuse: the threadlet runs inline to its end and
 * the caller goes on with what it set. Moved, the caller would run on
 * the spare with the old credentials or namespace.
 */
enum { STACK_SIZE = 64 << 10 };

enum tl_change { TL_SETRESUID, TL_KEEPCAPS, TL_UTS };

struct tl_run {
	enum tl_change change;
	int warm, rfd;
	long change_ret, read_ret;
	char data[2];
};

static void tl_fn(void *arg)
{
	struct tl_run *t = arg;

	if (t->warm) {
		t->warm = 0;
		return;
	}
	switch (t->change) {
	case TL_SETRESUID:
		t->change_ret = raw_syscall4(__NR_setresuid, NOBODY, NOBODY, NOBODY, 0);
		break;
	case TL_KEEPCAPS:
		t->change_ret = raw_syscall4(__NR_prctl, PR_SET_KEEPCAPS, 1, 0, 0);
		break;
	case TL_UTS:
		t->change_ret = raw_syscall4(__NR_unshare, CLONE_NEWUTS, 0, 0, 0);
		if (!t->change_ret)
			t->change_ret = raw_syscall4(__NR_sethostname, (long)"contract-ctx", 12, 0, 0);
		break;
	}
	t->read_ret = raw_syscall4(__NR_read, t->rfd, (long)t->data, 1, 0);
}

static int tl_changed(enum tl_change ch)
{
	struct utsname u;
	uid_t r, e, s;

	switch (ch) {
	case TL_SETRESUID:
		return !getresuid(&r, &e, &s) && r == NOBODY && e == NOBODY && s == NOBODY;
	case TL_KEEPCAPS:
		return prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 1;
	case TL_UTS:
		return !uname(&u) && !strcmp(u.nodename, "contract-ctx");
	}
	return 0;
}

static int tl_case(void *arg)
{
	struct tl_run *t = calloc(1, sizeof(*t));
	char *stack = malloc(STACK_SIZE);
	void (*volatile call)(void *) = tl_fn;
	long h0, h1, r;
	struct late_writer w;
	int q[2];

	if (!t || !stack || pipe(q))
		return 9;
	t->change = *(enum tl_change *)arg;
	if (t->change == TL_SETRESUID && geteuid() != 0)
		t->change = TL_KEEPCAPS;	/* nobody changes its creds so */
	t->rfd = q[0];
	memset(stack, 0x5a, STACK_SIZE);
	t->warm = 1;
	call(t);
	if (make_spare() || late_writer_start(&w, q[1], 500))
		return 9;
	h0 = syslet_stat("handoffs");
	r = threadlet_exec(tl_fn, t, stack, STACK_SIZE);
	h1 = syslet_stat("handoffs");
	atomic_store(&w.gate, 1);
	pthread_join(w.th, NULL);
	say("threadlet changed %s (%ld), then read %ld: threadlet_exec() = %ld, handoffs %ld -> %ld",
	    t->change == TL_SETRESUID ? "its uids" : t->change == TL_KEEPCAPS ? "keepcaps" :
	    "its UTS namespace", t->change_ret, t->read_ret, r, h0, h1);
	if (t->change_ret)
		/* EINVAL: a kernel without UTS namespaces (the RT one) */
		return t->change == TL_UTS && (t->change_ret == -EPERM || t->change_ret == -EINVAL) ?
		       CASE_SKIP : 10;
	/* (A thread that became nobody may no longer read /proc/self/syslet.) */
	if (r != THREADLET_INLINE || (h1 >= 0 && h1 != h0) || (h1 < 0 && t->change != TL_SETRESUID))
		return 11;	/* the context moved */
	if (t->read_ret != 1)
		return 12;
	return tl_changed(t->change) ? 0 : 13;
}

HTEST(threadlet_that_changes_its_credentials_keeps_its_context)
{
	enum tl_change ch = TL_SETRESUID;

	as_both(_metadata, tl_case, &ch);
}

HTEST(threadlet_that_unshares_its_uts_namespace_keeps_its_context)
{
	enum tl_change ch = TL_UTS;

	as_root(_metadata, tl_case, &ch);
}

/*
 * nsproxy through a chain: a thread in its own UTS namespace whose chain
 * blocks goes on in that namespace (spares of the old one are retired,
 * or the handoff refused), and the other threads stay in theirs.
 */
static int uts_case(void *arg)
{
	char ns0[64] = "", ns1[64] = "";
	struct chain_run c;
	struct utsname u;
	int e;

	if (make_spare())
		return 9;
	if (unshare(CLONE_NEWUTS))
		return errno == EINVAL ? CASE_SKIP : 10;	/* no UTS namespaces */
	if (sethostname("contract-ns", 11))
		return 10;
	if (readlink("/proc/thread-self/ns/uts", ns0, sizeof(ns0) - 1) < 0)
		return 9;
	if (blocking_chain(&c, 1000))
		return 11;
	chain_say("own UTS namespace", &c);
	if (readlink("/proc/thread-self/ns/uts", ns1, sizeof(ns1) - 1) < 0 || uname(&u))
		return 12;
	say("UTS namespace %s -> %s, nodename %s", ns0, ns1, u.nodename);
	e = check_handed_off(&c) && check_no_handoff(&c);
	if (e)
		return 13;
	return !strcmp(ns0, ns1) && !strcmp(u.nodename, "contract-ns") ? 0 : 14;
}

static int uts_run(void *arg)
{
	struct utsname u0, u1;
	int rc;

	if (uname(&u0))
		return 9;
	hs_job.fn = uts_case;
	rc = hs_job_run(NULL);
	if (uname(&u1) || strcmp(u0.nodename, u1.nodename))
		return 15;
	return rc;
}

HTEST(thread_in_its_own_uts_namespace_keeps_it_across_a_chain)
{
	expect_case(_metadata, run_child(uts_run, NULL, AS_ROOT, 30000), AS_ROOT);
}

/* ---- stays ---------------------------------------------------------- */

/* tgid, process group, session, parent: per process, unchanged. */
static int ids_case(void *arg)
{
	pid_t before[5] = { getpid(), getppid(), getpgid(0), getsid(0), gettid() };
	pid_t after[5];

	if (make_spare() || hand_off("process ids"))
		return 9;
	after[0] = getpid();
	after[1] = getppid();
	after[2] = getpgid(0);
	after[3] = getsid(0);
	after[4] = gettid();
	say("pid/ppid/pgid/sid/tid before %d %d %d %d %d, after %d %d %d %d %d", before[0],
	    before[1], before[2], before[3], before[4], after[0], after[1], after[2], after[3],
	    after[4]);
	return memcmp(before, after, sizeof(before)) ? 10 : 0;
}

HTEST(process_ids_and_parent_stay)
{
	as_both(_metadata, ids_case, NULL);
}

/*
 * Yama's PR_SET_PTRACER exception is recorded for the group leader: set
 * by a thread before its handoff, it still lets a descendant attach to
 * it afterwards (kernel.yama.ptrace_scope 1, as nobody: root may trace
 * anyway).
 */
static int seize_errno(pid_t tid)
{
	int status;
	pid_t q = fork();

	if (q < 0)
		return -1;
	if (!q)
		_exit(ptrace(PTRACE_SEIZE, tid, 0, 0) ? errno : 0);
	if (!wait_deadline(q, &status, 10000) || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int yama_case(void *arg)
{
	int before, after;

	before = seize_errno(gettid());
	if (make_spare() || prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0))
		return 9;
	if (hand_off("PR_SET_PTRACER_ANY set"))
		return 10;
	after = seize_errno(gettid());
	say("a child's PTRACE_SEIZE of this thread: errno %d before PR_SET_PTRACER, %d after it and a handoff",
	    before, after);
	if (before != EPERM)
		return 11;	/* Yama does not restrict here: nothing tested */
	return after == 0 ? 0 : 12;
}

HTEST(yama_ptracer_exception_stays_with_the_process)
{
	const char *scope = "/proc/sys/kernel/yama/ptrace_scope";
	long old = read_number(scope);
	int rc;

	if (old < 0)
		SKIP(return, "no Yama");
	ASSERT_EQ(0, write_number(scope, 1));
	rc = run_in_thread(yama_case, NULL, AS_NOBODY, 30000);
	write_number(scope, old);
	EXPECT_EQ(0, rc) TH_LOG("nobody: %s", describe(rc));
}

/* signal_struct, sighand: rlimits, handlers, oom_score_adj are shared. */
static atomic_int usr2_seen;

static void on_usr2(int sig)
{
	atomic_fetch_add(&usr2_seen, 1);
}

static int shared_case(void *arg)
{
	struct sigaction sa = { .sa_handler = on_usr2 }, now;
	struct rlimit rl = { 77, 77 }, rl1;
	char path[64];
	long adj;

	if (make_spare() || setrlimit(RLIMIT_NOFILE, &rl) || sigaction(SIGUSR2, &sa, NULL))
		return 9;
	if (write_number("/proc/self/oom_score_adj", 345))
		return 9;
	if (hand_off("shared tables"))
		return 10;
	snprintf(path, sizeof(path), "/proc/self/task/%d/oom_score_adj", gettid());
	adj = read_number(path);
	if (getrlimit(RLIMIT_NOFILE, &rl1) || sigaction(SIGUSR2, NULL, &now))
		return 11;
	raise(SIGUSR2);
	say("after the handoff: RLIMIT_NOFILE %ld/%ld (want 77), oom_score_adj %ld (want 345), SIGUSR2 handler %s, ran %d",
	    (long)rl1.rlim_cur, (long)rl1.rlim_max, adj, now.sa_handler == on_usr2 ? "ours" : "other",
	    atomic_load(&usr2_seen));
	if (rl1.rlim_cur != 77 || rl1.rlim_max != 77 || adj != 345)
		return 12;
	return now.sa_handler == on_usr2 && atomic_load(&usr2_seen) == 1 ? 0 : 13;
}

HTEST(process_wide_limits_handlers_and_oom_score_adj_stay_shared)
{
	as_both(_metadata, shared_case, NULL);
}

/*
 * self_exec_id: a child made with exit signal SIGUSR2 before the handoff
 * sends SIGUSR2, not SIGCHLD, to its new parent thread (do_notify_parent()
 * falls back to SIGCHLD when the exec ids differ).
 */
static int exit_signal_case(void *arg)
{
	struct timespec wait = { 5, 0 };
	siginfo_t si = { 0 };
	sigset_t set;
	int p[2], status, sig;
	pid_t k;
	char ch;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGCHLD);
	if (pipe(p) || make_spare())
		return 9;
	k = syscall(__NR_clone, SIGUSR2, 0, 0, 0, 0);
	if (k < 0)
		return 9;
	if (!k) {
		alarm(20);
		_exit(read(p[0], &ch, 1) == 1 ? 0 : 1);
	}
	if (hand_off("parent of a child with exit signal SIGUSR2")) {
		kill(k, SIGKILL);
		waitpid(k, &status, __WALL);
		return 10;
	}
	if (write(p[1], "x", 1) != 1)
		return 11;
	sig = sigtimedwait(&set, &si, &wait);
	say("the child exited: signal %d from pid %d (want %d from %d)", sig, si.si_pid, SIGUSR2, k);
	if (waitpid(k, &status, __WALL) != k || !WIFEXITED(status) || WEXITSTATUS(status))
		return 12;
	return sig == SIGUSR2 && si.si_pid == k ? 0 : 13;
}

/* Blocked in every thread: the signal is for the process. */
static int exit_signal_run(void *arg)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return 9;
	hs_job.fn = exit_signal_case;
	return hs_job_run(NULL);
}

HTEST(child_exit_signal_is_kept_across_a_handoff_of_its_parent)
{
	int rc;

	rc = run_child(exit_signal_run, NULL, AS_ROOT, 30000);
	EXPECT_EQ(0, rc) TH_LOG("root: %s", describe(rc));
	rc = run_child(exit_signal_run, NULL, AS_NOBODY, 30000);
	EXPECT_EQ(0, rc) TH_LOG("nobody: %s", describe(rc));
}

/*
 * restart_block: restart_syscall is refused in chains, and an atom
 * interrupted with a restart code (nanosleep: -ERESTART_RESTARTBLOCK,
 * under an SA_RESTART handler) reports -EINTR.
 */
static void on_usr1(int sig)
{
}

static void *kick(void *arg)
{
	usleep(200 * 1000);
	syscall(__NR_tgkill, getpid(), *(pid_t *)arg, SIGUSR1);
	return NULL;
}

static int restart_case(void *arg)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	static struct timespec five_s = { 5, 0 };
	unsigned long tsp = (unsigned long)&five_s, null_arg = 0;
	struct syslet_uatom a, *ring[8] = { 0 };
	struct async_head_user ahu = RING_HEAD(ring);
	long ret = NO_ATOM, r;
	pid_t me = gettid();
	pthread_t th;
	double t0;

	atom_set(&a, 0, __NR_restart_syscall, &ret, NULL, NULL);
	r = sys_async_exec(&a, &ahu);
	say("restart_syscall atom: async_exec() = %#lx, result %ld (want %d)", r, ret, -EOPNOTSUPP);
	if (r != (long)&a || ret != -EOPNOTSUPP)
		return 10;
	if (sigaction(SIGUSR1, &sa, NULL) || pthread_create(&th, NULL, kick, &me))
		return 9;
	ret = NO_ATOM;
	atom_set(&a, SYSLET_SYNC, __NR_nanosleep, &ret, NULL, ATOM_ARGS(&tsp, &null_arg));
	t0 = now_ms();
	r = sys_async_exec(&a, &ahu);
	pthread_join(th, NULL);
	say("nanosleep(5 s) atom, SIGUSR1 (SA_RESTART) after 200 ms: async_exec() = %ld (errno %d) after %.0f ms, result %ld (want %d)",
	    r, errno, now_ms() - t0, ret, -EINTR);
	return ret == -EINTR && now_ms() - t0 < 4000 ? 0 : 11;
}

HTEST(restart_codes_never_reach_the_context)
{
	as_both(_metadata, restart_case, NULL);
}

TEST_HARNESS_MAIN
