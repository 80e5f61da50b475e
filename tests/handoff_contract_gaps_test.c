// SPDX-License-Identifier: GPL-2.0
/*
 * The "known gap" rows of Documentation/handoff.md's "The identity
 * contract", pinned: per-thread state that neither moves with a context
 * nor refuses the handoff, so that after a handoff the context sees the
 * spare's value (or its setting stays with the task it left). Each test
 * checks the documented behaviour, so that a change (a row turned into
 * "moves" or "refused") is noticed here and the row updated with it.
 * The AppArmor onexec row is a **bug** row: its test pins the bug. The
 * watchpoint a tracer leaves behind ("refused while traced, then stays")
 * is here too: what stays is what the context loses. The name and the
 * start time were gaps until they followed the TID (issue 17): their
 * tests stay here, turned around.
 * tests/handoff_contract_test.c has the rows that move or refuse.
 *
 * Each case runs in a thread (not the leader) of a child process with a
 * deadline, as root and as nobody where nobody can set the state. The
 * spare is made before the thread changes its state, so it has the value
 * the thread had at first.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <stddef.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <asm/ldt.h>
#include <linux/ioprio.h>
#include <linux/perf_event.h>

#include "kselftest_harness.h"
#include "handoff_test.h"

#define HTEST_SECONDS 90
#include "handoff_fixture.h"


/*
 * A value the thread sets on itself only: read (the spare, made now, has
 * it), set to another, hand off, read again: the first value is back.
 */
struct gap {
	const char *what;
	long (*get)(void);
	int (*set)(void);	/* 0, -1, CASE_SKIP */
	bool follows;		/* moves with the context (the TID's) */
};

static int gap_case(void *arg)
{
	const struct gap *g = arg;
	long spare, mine, after;
	int e;

	if (make_spare())
		return 9;
	spare = g->get();
	e = g->set();
	if (e == CASE_SKIP)
		return CASE_SKIP;
	if (e) {
		say("%s: could not set it: errno %d", g->what, errno);
		return 10;
	}
	mine = g->get();
	if (hand_off(g->what))
		return 11;
	after = g->get();
	say("%s: the spare's %#lx, set %#lx; after the handoff %#lx (%s)", g->what, spare, mine,
	    after, g->follows ? "it follows the context" : "the spare's: a known gap");
	if (mine == spare)
		return 12;
	return after == (g->follows ? mine : spare) ? 0 : 13;
}

/* comm: PR_GET_NAME */
static long comm_get(void)
{
	char name[17] = "";
	long h = 5381;

	prctl(PR_GET_NAME, name, 0, 0, 0);
	for (char *p = name; *p; p++)
		h = h * 33 + *p;
	return h;
}

static int comm_set(void)
{
	return prctl(PR_SET_NAME, "contract-ctx", 0, 0, 0);
}

HTEST(comm_follows_the_tid)
{
	static const struct gap g = { "comm", comm_get, comm_set, true };

	as_both(_metadata, gap_case, (void *)&g);
}

/* personality(2) */
static long pers_get(void)
{
	return personality(0xffffffff);
}

static int pers_set(void)
{
	return personality(pers_get() | ADDR_NO_RANDOMIZE) < 0 ? -1 : 0;
}

HTEST(personality_is_the_spares_after_a_handoff)
{
	static const struct gap g = { "personality", pers_get, pers_set };

	as_both(_metadata, gap_case, (void *)&g);
}

/* SCHED_BATCH and SCHED_RESET_ON_FORK */
static long sched_get(void)
{
	return sched_getscheduler(0);
}

static int sched_set(void)
{
	struct sched_param sp = { 0 };

	return sched_setscheduler(0, SCHED_BATCH | SCHED_RESET_ON_FORK, &sp);
}

HTEST(scheduling_policy_is_the_spares_after_a_handoff)
{
	static const struct gap g = { "SCHED_BATCH|SCHED_RESET_ON_FORK", sched_get, sched_set };

	as_both(_metadata, gap_case, (void *)&g);
}

/* sched_setaffinity(0) */
static long aff_get(void)
{
	cpu_set_t s;
	long bits = 0;

	if (sched_getaffinity(0, sizeof(s), &s))
		return -1;
	for (int i = 0; i < 64; i++)
		if (CPU_ISSET(i, &s))
			bits |= 1L << i;
	return bits;
}

static int aff_set(void)
{
	cpu_set_t s;
	long bits = aff_get();

	if (bits <= 0 || !(bits & (bits - 1))) {
		say("affinity: one CPU (%#lx): nothing to narrow", bits);
		return CASE_SKIP;
	}
	CPU_ZERO(&s);
	CPU_SET(__builtin_ctzl(bits), &s);
	return sched_setaffinity(0, sizeof(s), &s);
}

HTEST(affinity_is_the_spares_after_a_handoff)
{
	static const struct gap g = { "affinity", aff_get, aff_set };

	as_both(_metadata, gap_case, (void *)&g);
}

/* /proc/thread-self/loginuid (CAP_AUDIT_CONTROL) */
static long loginuid_get(void)
{
	return read_number("/proc/thread-self/loginuid");
}

static int loginuid_set(void)
{
	long v = loginuid_get();

	if (v < 0)
		return CASE_SKIP;
	return write_number("/proc/thread-self/loginuid", v == 4294967295L ? 1234 : v + 1);
}

HTEST(loginuid_is_the_spares_after_a_handoff)
{
	static const struct gap g = { "loginuid", loginuid_get, loginuid_set };

	as_root(_metadata, gap_case, (void *)&g);
}

/*
 * /proc/thread-self/fail-nth: armed far ahead (nothing fails), it stays
 * with the task the context left.
 */
static long failnth_get(void)
{
	return read_number("/proc/thread-self/fail-nth");
}

static int failnth_set(void)
{
	if (access("/proc/thread-self/fail-nth", W_OK)) {
		say("no /proc/thread-self/fail-nth: errno %d", errno);
		return CASE_SKIP;
	}
	return write_number("/proc/thread-self/fail-nth", 1000000000);
}

static int failnth_case(void *arg)
{
	static const struct gap g = { "fail-nth", failnth_get, failnth_set };
	int rc = gap_case((void *)&g);

	write_number("/proc/thread-self/fail-nth", 0);
	return rc;
}

HTEST(fail_nth_stays_with_the_task)
{
	as_both(_metadata, failnth_case, NULL);
}

/*
 * AppArmor's onexec (a task blob, not the cred): "exec unconfined" is
 * allowed to an unconfined task and reads back as "unconfined"; after a
 * handoff the context reads the spare's: none (EINVAL). A **bug** row:
 * this test changes when the row does.
 */
#define ONEXEC "/proc/thread-self/attr/apparmor/exec"

static long onexec_get(void)
{
	char buf[64];
	long h = 5381;
	ssize_t n;
	int fd = open(ONEXEC, O_RDONLY);

	if (fd < 0)
		return -1000 - errno;
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	for (ssize_t i = 0; i < n; i++)
		h = h * 33 + buf[i];
	return h;
}

static int onexec_set(void)
{
	int fd = open(ONEXEC, O_WRONLY), ok;

	if (fd < 0) {
		say("%s: errno %d: no AppArmor", ONEXEC, errno);
		return CASE_SKIP;
	}
	ok = write(fd, "exec unconfined", 15) == 15;
	close(fd);
	return ok ? 0 : -1;
}

HTEST(apparmor_onexec_is_the_spares_after_a_handoff)
{
	static const struct gap g = { "AppArmor onexec", onexec_get, onexec_set };

	as_both(_metadata, gap_case, (void *)&g);
}

/* ---- start time ------------------------------------------------------ */

/* Field `n` (1-based, as in proc(5)) of /proc/<path>/stat, or -1. */
static long stat_field(const char *path, int n)
{
	char line[1024], *p;
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	fclose(f);
	if (!p)
		return -1;
	p += 2;
	for (int i = 3; i < n && p; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		sscanf(p, "%ld", &v);
	return v;
}

static int start_case(void *arg)
{
	long mine, spare = -1, after;
	char path[64];
	struct dirent *d;
	DIR *dir;

	mine = stat_field("/proc/thread-self/stat", 22);
	usleep(300 * 1000);	/* the spare starts 30 ticks (USER_HZ) later */
	if (make_spare())
		return 9;
	dir = opendir("/proc/self/task");
	while (dir && (d = readdir(dir))) {
		pid_t t = atoi(d->d_name);

		if (t > 0 && t != getpid() && t != gettid()) {
			snprintf(path, sizeof(path), "/proc/self/task/%d/stat", t);
			spare = stat_field(path, 22);
		}
	}
	if (dir)
		closedir(dir);
	if (hand_off("start time"))
		return 10;
	after = stat_field("/proc/thread-self/stat", 22);
	say("start time (ticks): the thread's %ld, the spare's %ld; after the handoff %ld", mine,
	    spare, after);
	if (mine < 0 || spare <= mine)
		return 11;
	return after == mine ? 0 : 12;
}

HTEST(start_time_follows_the_tid)
{
	as_both(_metadata, start_case, NULL);
}

/* ---- GDT TLS entries and the ES selector ---------------------------- */

static unsigned short es_now(void)
{
	unsigned short es;

	__asm__ volatile("mov %%es, %0" : "=r"(es));
	return es;
}

/*
 * ES holds a GDT TLS selector (set_thread_area(), where the kernel has it:
 * x86-64 kernels without IA32_EMULATION answer ENOSYS) or, without one,
 * the user data selector. After the handoff both are the spare's: no TLS
 * entry, ES 0.
 */
static int tls_case(void *arg)
{
	struct user_desc d = {
		.entry_number = -1, .base_addr = 0x1234000, .limit = 0xfffff,
		.seg_32bit = 1, .limit_in_pages = 1, .useable = 1,
	};
	struct user_desc g0 = { 0 }, g1 = { 0 };
	unsigned short es0, es1;
	int tls;

	if (make_spare())
		return 9;
	tls = !syscall(__NR_set_thread_area, &d);
	if (!tls && errno != ENOSYS) {
		say("set_thread_area: errno %d", errno);
		return 10;
	}
	if (tls) {
		__asm__ volatile("mov %0, %%es" :: "r"((unsigned int)(d.entry_number << 3 | 3)));
		g0.entry_number = g1.entry_number = d.entry_number;
		if (syscall(__NR_get_thread_area, &g0))
			return 11;
	} else {
		__asm__ volatile("mov %%ss, %%ax\n\tmov %%ax, %%es" ::: "rax");
	}
	es0 = es_now();
	if (hand_off("ES set"))
		return 12;
	es1 = es_now();
	if (tls && syscall(__NR_get_thread_area, &g1))
		return 13;
	if (tls)
		say("TLS entry %u: base %#x (ES %#x) before the handoff, base %#x (ES %#x) after: the spare's",
		    d.entry_number, g0.base_addr, es0, g1.base_addr, es1);
	else
		say("no set_thread_area(): ES %#x (SS's selector) before the handoff, %#x after: the spare's",
		    es0, es1);
	if (!es0 || (tls && g0.base_addr != 0x1234000))
		return 14;
	if (tls && (g1.base_addr != 0 || !g1.seg_not_present))
		return 15;
	return es1 == 0 ? 0 : 16;
}

HTEST(es_selector_and_gdt_tls_entries_are_the_spares_after_a_handoff)
{
	as_both(_metadata, tls_case, NULL);
}

/* ---- per-thread counters (RUSAGE_THREAD) ---------------------------- */

static int rusage_case(void *arg)
{
	struct rusage r0, r1;
	size_t len = 16 << 20;
	char *m;

	if (make_spare())
		return 9;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 9;
	for (size_t i = 0; i < len; i += 4096)
		m[i] = 1;	/* 4096 minor faults in this thread */
	if (getrusage(RUSAGE_THREAD, &r0) || hand_off("after 4096 page faults"))
		return 10;
	if (getrusage(RUSAGE_THREAD, &r1))
		return 11;
	munmap(m, len);
	say("RUSAGE_THREAD minflt %ld, nvcsw %ld before the handoff; %ld, %ld after (the spare's)",
	    r0.ru_minflt, r0.ru_nvcsw, r1.ru_minflt, r1.ru_nvcsw);
	if (r0.ru_minflt < 4096)
		return 12;
	return r1.ru_minflt < r0.ru_minflt / 2 ? 0 : 13;
}

HTEST(thread_counters_are_the_spares_after_a_handoff)
{
	as_both(_metadata, rusage_case, NULL);
}

/* ---- I/O priority: the spare shares its maker's io_context ---------- */

#define IOPRIO(cls, lvl)	((cls) << IOPRIO_CLASS_SHIFT | (lvl))

static long ioprio_of(pid_t tid)
{
	return syscall(__NR_ioprio_get, IOPRIO_WHO_PROCESS, tid);
}

static int ioprio_to(pid_t tid, int prio)
{
	return syscall(__NR_ioprio_set, IOPRIO_WHO_PROCESS, tid, prio);
}

struct maker {
	pid_t tid;
	int ready[2], done[2], rc;
};

/* Thread B: an io_context of its own (BE 7), then the spare, shared. */
static void *maker_thread(void *arg)
{
	struct maker *mk = arg;
	char ch;

	mk->tid = gettid();
	mk->rc = ioprio_to(0, IOPRIO(IOPRIO_CLASS_BE, 7)) || make_spare();
	if (write(mk->ready[1], "r", 1) != 1 || !read_within(mk->done[0], &ch, 1, 30000))
		mk->rc = 2;
	return NULL;
}

static int ioprio_case(void *arg)
{
	struct maker mk = { 0 };
	long own, after, maker_after;
	pthread_t th;
	char ch;
	int rc;

	if (pipe(mk.ready) || pipe(mk.done) || pthread_create(&th, NULL, maker_thread, &mk))
		return 9;
	if (!read_within(mk.ready[0], &ch, 1, 10000) || mk.rc) {
		rc = 10;
		goto out;
	}
	/* This thread: BE 2 in an io_context of its own. */
	if (ioprio_to(0, IOPRIO(IOPRIO_CLASS_BE, 2))) {
		rc = 11;
		goto out;
	}
	own = ioprio_of(0);
	if (hand_off("own I/O priority BE 2")) {
		rc = 12;
		goto out;
	}
	after = ioprio_of(0);
	/* Its own ioprio_set() now changes B's priority. */
	rc = ioprio_to(0, IOPRIO(IOPRIO_CLASS_BE, 3)) ? 13 : 0;
	maker_after = ioprio_of(mk.tid);
	say("I/O priority: own %#lx, after the handoff %#lx (B's BE 7: %#x); after setting BE 3 here, B's is %#lx",
	    own, after, IOPRIO(IOPRIO_CLASS_BE, 7), maker_after);
	if (!rc && (own != IOPRIO(IOPRIO_CLASS_BE, 2) || after != IOPRIO(IOPRIO_CLASS_BE, 7)))
		rc = 14;
	if (!rc && maker_after != IOPRIO(IOPRIO_CLASS_BE, 3))
		rc = 15;
out:
	if (write(mk.done[1], "d", 1) != 1)
		rc = rc ? rc : 16;
	pthread_join(th, NULL);
	return rc;
}

HTEST(io_priority_is_the_spare_makers_after_a_handoff)
{
	as_both(_metadata, ioprio_case, NULL);
}

/* ---- POSIX per-thread CPU timer ------------------------------------- */

static long thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Spins `ns` of this thread's CPU time (10 s of waiting at most). */
static void spin_cpu(long ns)
{
	volatile unsigned long spin = 0;
	long end = thread_cpu_ns() + ns;
	double t0 = now_ms();

	while (thread_cpu_ns() < end && now_ms() - t0 < 10000)
		for (int i = 0; i < 100000; i++)
			spin++;
}

static int usr2_pending(void)
{
	sigset_t p;

	sigpending(&p);
	return sigismember(&p, SIGUSR2);
}

static int cputimer_case(void *arg)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR2 };
	struct itimerspec its = { .it_value = { 0, 100 * 1000 * 1000 } };
	struct timespec zero = { 0, 0 };
	int fired_moved, fired_rearmed;
	sigset_t usr2;
	timer_t tm;

	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	if (pthread_sigmask(SIG_BLOCK, &usr2, NULL) || make_spare())
		return 9;
	sev._sigev_un._tid = gettid();
	if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &tm) || timer_settime(tm, 0, &its, NULL))
		return 9;
	if (hand_off("armed thread CPU timer"))
		return 10;
	spin_cpu(400 * 1000000L);	/* 4 times the timer's interval */
	fired_moved = usr2_pending();
	sigtimedwait(&usr2, NULL, &zero);
	/* Re-armed, the timer is queued on the task that carries the TID. */
	if (timer_settime(tm, 0, &its, NULL))
		return 11;
	spin_cpu(400 * 1000000L);
	fired_rearmed = usr2_pending();
	timer_delete(tm);
	say("a 100 ms thread CPU timer armed before the handoff: %s after 400 ms of the context's CPU; re-armed after it: %s",
	    fired_moved ? "fired" : "did not fire (it stayed with the task)",
	    fired_rearmed ? "fired" : "did not fire");
	if (fired_moved)
		return 12;
	return fired_rearmed ? 0 : 13;
}

HTEST(thread_cpu_timer_armed_before_a_handoff_stays_with_the_task)
{
	as_both(_metadata, cputimer_case, NULL);
}

/* ---- perf events on the thread -------------------------------------- */

static long perf_read(int fd)
{
	long long v = -1;

	return read(fd, &v, sizeof(v)) == sizeof(v) ? (long)v : -1;
}

static int perf_case(void *arg)
{
	struct perf_event_attr pa = {
		.type = PERF_TYPE_SOFTWARE, .size = sizeof(pa),
		.config = PERF_COUNT_SW_TASK_CLOCK, .exclude_kernel = 1, .exclude_hv = 1,
	};
	long c0, c1, c2, c3;
	int fd;

	if (make_spare())
		return 9;
	fd = syscall(__NR_perf_event_open, &pa, 0, -1, -1, 0);
	if (fd < 0) {
		say("perf_event_open(task clock, this thread): errno %d", errno);
		return errno == EACCES || errno == ENOSYS || errno == ENOENT ? CASE_SKIP : 10;
	}
	c0 = perf_read(fd);
	spin_cpu(100 * 1000000L);
	c1 = perf_read(fd);
	if (hand_off("with a task-clock event open"))
		return 11;
	c2 = perf_read(fd);
	spin_cpu(100 * 1000000L);
	c3 = perf_read(fd);
	close(fd);
	say("task clock of the thread's event: +%ld ms over 100 ms of CPU before the handoff, +%ld ms over 100 ms after it",
	    (c1 - c0) / 1000000, (c3 - c2) / 1000000);
	if (c1 - c0 < 50 * 1000000L)
		return 12;	/* the event does not count this thread at all */
	return c3 - c2 < 20 * 1000000L ? 0 : 13;
}

HTEST(perf_event_on_the_thread_counts_the_task_not_the_context)
{
	as_both(_metadata, perf_case, NULL);
}

/* ---- SysV semaphore undo list --------------------------------------- */

/*
 * pthread_join() returns at the thread's clear_child_tid wake-up, in
 * exit_mm(), before do_exit() runs exit_sem() and exit_shm(): waits
 * until the thread `tid` is gone from /proc (after both). 1 if it went.
 */
static pid_t last_tid;

static int sem_id = -1;

/* unshare(CLONE_SYSVSEM), optionally hand off, semop(+1, SEM_UNDO), exit. */
static void *sem_thread(void *arg)
{
	long handoff = (long)arg, rc = 0;
	struct sembuf up = { 0, 1, SEM_UNDO };

	if (make_spare() || unshare(CLONE_SYSVSEM))
		return (void *)1L;
	if (handoff && hand_off("own SysV undo list"))
		rc = 2;
	if (semop(sem_id, &up, 1))
		rc = 3;
	last_tid = gettid();
	return (void *)rc;
}

static int sem_value_after(long handoff)
{
	pthread_t th;
	void *rc;

	if (semctl(sem_id, 0, SETVAL, 0) ||
	    pthread_create(&th, NULL, sem_thread, (void *)handoff) || pthread_join(th, &rc) || rc ||
	    !wait_task_gone(last_tid, 5000))
		return -1;
	return semctl(sem_id, 0, GETVAL);
}

static int sem_case(void *arg)
{
	int inline_v, moved_v;

	sem_id = semget(IPC_PRIVATE, 1, 0600);
	if (sem_id < 0)
		return 9;
	inline_v = sem_value_after(0);
	moved_v = sem_value_after(1);
	semctl(sem_id, 0, IPC_RMID);
	say("semaphore after a thread with its own undo list did +1 (SEM_UNDO) and exited: %d without a handoff, %d with one (the process's list)",
	    inline_v, moved_v);
	if (inline_v != 0)
		return 10;
	return moved_v == 1 ? 0 : 11;
}

HTEST(sysv_undo_of_a_thread_that_unshared_it_is_the_process_s_after_a_handoff)
{
	int rc;

	rc = run_child(sem_case, NULL, AS_ROOT, 30000);
	EXPECT_EQ(0, rc) TH_LOG("root: %s", describe(rc));
	rc = run_child(sem_case, NULL, AS_NOBODY, 30000);
	EXPECT_EQ(0, rc) TH_LOG("nobody: %s", describe(rc));
}

/* ---- SysV shm segments under kernel.shm_rmid_forced ----------------- */


static int shm_exists(int id)
{
	struct shmid_ds ds;

	return shmctl(id, IPC_STAT, &ds) == 0;
}

/* shmget() a segment (not attached), optionally hand off, exit. */
static void *shm_thread(void *arg)
{
	long handoff = (long)arg;
	int id;

	if (make_spare())
		return (void *)-1L;
	id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	if (id < 0)
		return (void *)-1L;
	if (handoff && hand_off("after shmget()")) {
		shmctl(id, IPC_RMID, NULL);
		return (void *)-2L;
	}
	last_tid = gettid();
	return (void *)(long)id;
}

static int shm_case(void *arg)
{
	int at_exit_inline, at_exit_moved, later_moved = 1;
	pthread_t th;
	void *r1, *r2;
	double t0;

	if (pthread_create(&th, NULL, shm_thread, (void *)0L) || pthread_join(th, &r1) ||
	    (long)r1 < 0 || !wait_task_gone(last_tid, 5000))
		return 9;
	at_exit_inline = shm_exists((long)r1);
	if (pthread_create(&th, NULL, shm_thread, (void *)1L) || pthread_join(th, &r2) ||
	    (long)r2 < 0 || !wait_task_gone(last_tid, 5000))
		return 10;
	at_exit_moved = shm_exists((long)r2);
	/* The task the context left idles out (syslet_idle_msecs 500). */
	for (t0 = now_ms(); now_ms() - t0 < 5000 && later_moved; usleep(20000))
		later_moved = shm_exists((long)r2);
	say("unattached segment after its thread exited: %s without a handoff; %s with one, %s once the task it left idled out",
	    at_exit_inline ? "alive" : "destroyed", at_exit_moved ? "alive" : "destroyed",
	    later_moved ? "still alive" : "destroyed");
	shmctl((long)r1, IPC_RMID, NULL);
	shmctl((long)r2, IPC_RMID, NULL);
	if (at_exit_inline)
		return 11;	/* shm_rmid_forced is not in force */
	if (!at_exit_moved)
		return 12;
	return later_moved ? 13 : 0;
}

HTEST(sysv_shm_segment_made_before_a_handoff_dies_with_the_task_it_left)
{
	long forced = -1;
	int rc1, rc2;
	FILE *f = fopen("/proc/sys/kernel/shm_rmid_forced", "r");

	if (f) {
		if (fscanf(f, "%ld", &forced) != 1)
			forced = -1;
		fclose(f);
	}
	ASSERT_LE(0, forced) TH_LOG("no kernel.shm_rmid_forced");
	ASSERT_EQ(0, write_number("/proc/sys/kernel/shm_rmid_forced", 1));
	ASSERT_EQ(0, write_sysctl("syslet_idle_msecs", 500));
	rc1 = run_child(shm_case, NULL, AS_ROOT, 30000);
	rc2 = run_child(shm_case, NULL, AS_NOBODY, 30000);
	write_sysctl("syslet_idle_msecs", hs_orig_idle);
	write_number("/proc/sys/kernel/shm_rmid_forced", forced);
	EXPECT_EQ(0, rc1) TH_LOG("root: %s", describe(rc1));
	EXPECT_EQ(0, rc2) TH_LOG("nobody: %s", describe(rc2));
}

/* ---- cgroup v2: threads of a threaded subtree ----------------------- */

/* Writes `v` to `dir`/`file`; 0 or -1. */
static int cg_write(const char *dir, const char *file, long v)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return write_number(path, v);
}

/* The v2 line of /proc/thread-self/cgroup, its path after "0::". */
static int cg_of_thread(char *out, size_t len)
{
	char line[512];
	FILE *f = fopen("/proc/thread-self/cgroup", "r");
	int found = 0;

	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			if (strlen(line + 3) < len) {
				memcpy(out, line + 3, strlen(line + 3) + 1);
				found = 1;
			}
		}
	fclose(f);
	return found ? 0 : -1;
}

struct cg_case {
	char mnt[64], base[128], sub[160];
	char rel_base[64], rel_sub[96];
};

static int cgroup_case(void *arg)
{
	struct cg_case *cg = arg;
	char before[160] = "", mine[160] = "", after[160] = "";

	/* The process in the subtree's root; the spare made there. */
	if (cg_write(cg->base, "cgroup.procs", getpid()) || make_spare())
		return 9;
	if (cg_of_thread(before, sizeof(before)))
		return 9;
	/* This thread alone in the threaded child. */
	if (cg_write(cg->sub, "cgroup.threads", gettid()) || cg_of_thread(mine, sizeof(mine))) {
		say("moving this thread to %s: errno %d", cg->sub, errno);
		return 10;
	}
	if (hand_off("in a threaded cgroup of its own"))
		return 11;
	if (cg_of_thread(after, sizeof(after)))
		return 12;
	say("cgroup: the spare's %s, this thread's %s; after the handoff %s (the spare's: a known gap)",
	    before, mine, after);
	if (strcmp(before, cg->rel_base) || strcmp(mine, cg->rel_sub))
		return 13;
	return !strcmp(after, cg->rel_base) ? 0 : 14;
}

HTEST(cgroup_of_a_thread_is_the_spares_after_a_handoff)
{
	struct cg_case cg;
	int rc;

	ASSERT_EQ(0, geteuid()) TH_LOG("cgroup moves need root (this is not a skip)");
	strcpy(cg.mnt, "/tmp/hs-cg-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(cg.mnt));
	if (syscall(__NR_mount, "cgroup2", cg.mnt, "cgroup2", 0, NULL)) {
		rmdir(cg.mnt);
		SKIP(return, "no cgroup2: errno %d", errno);
	}
	snprintf(cg.rel_base, sizeof(cg.rel_base), "/hs-contract-%d", getpid());
	snprintf(cg.rel_sub, sizeof(cg.rel_sub), "%s/t", cg.rel_base);
	snprintf(cg.base, sizeof(cg.base), "%s%s", cg.mnt, cg.rel_base);
	snprintf(cg.sub, sizeof(cg.sub), "%s%s", cg.mnt, cg.rel_sub);
	rc = mkdir(cg.base, 0755) || mkdir(cg.sub, 0755);
	if (!rc) {
		char path[200];
		FILE *f;

		snprintf(path, sizeof(path), "%s/cgroup.type", cg.sub);
		f = fopen(path, "w");
		rc = !f || fputs("threaded\n", f) < 0;
		if (f && fclose(f))
			rc = 1;
	}
	if (!rc)
		rc = run_in_thread(cgroup_case, &cg, AS_ROOT, 30000);
	else
		TH_LOG("making %s threaded: errno %d", cg.sub, errno);
	rmdir(cg.sub);
	rmdir(cg.base);
	syscall(__NR_umount2, cg.mnt, 0);
	rmdir(cg.mnt);
	EXPECT_EQ(0, rc) TH_LOG("root: %s", describe(rc));
}

/* ---- a watchpoint a tracer left behind ------------------------------ */

/*
 * A tracer sets DR0/DR7 (a write watchpoint) on this thread and
 * detaches: the watchpoint stays with the task. A traced task does not
 * hand off; once the tracer is gone it may, and the watchpoint stays with
 * the task it left: the context's writes no longer trap.
 */
static volatile int watched;
static atomic_int traps;

static void on_trap(int sig)
{
	atomic_fetch_add(&traps, 1);
}

static int dr_case(void *arg)
{
	struct sigaction sa = { .sa_handler = on_trap };
	int status, t0, t1, t2;
	pid_t tid = gettid(), q;

	if (sigaction(SIGTRAP, &sa, NULL) || make_spare())
		return 9;
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	q = fork();
	if (q < 0)
		return 9;
	if (!q) {
		unsigned long dr7 = 1 | 1UL << 16 | 3UL << 18;	/* L0, write, 4 bytes */

		alarm(20);
		if (ptrace(PTRACE_SEIZE, tid, 0, 0) || ptrace(PTRACE_INTERRUPT, tid, 0, 0) ||
		    waitpid(tid, &status, __WALL) != tid)
			_exit(1);
		if (ptrace(PTRACE_POKEUSER, tid, offsetof(struct user, u_debugreg[0]), &watched) ||
		    ptrace(PTRACE_POKEUSER, tid, offsetof(struct user, u_debugreg[7]), dr7))
			_exit(2);
		_exit(ptrace(PTRACE_DETACH, tid, 0, 0) ? 3 : 0);
	}
	if (!wait_deadline(q, &status, 10000) || !WIFEXITED(status) || WEXITSTATUS(status)) {
		say("the tracer could not set the watchpoint: status %#x", status);
		return 10;
	}
	t0 = atomic_load(&traps);
	watched = 1;
	t1 = atomic_load(&traps);
	if (t1 == t0) {
		say("a write to the watched word did not trap: no data watchpoints on this CPU");
		return CASE_SKIP;
	}
	if (hand_off("with a tracer's watchpoint left behind"))
		return 11;
	watched = 2;
	t2 = atomic_load(&traps);
	say("SIGTRAPs of a write to the watched word: %d before the handoff, %d after it (the watchpoint stayed with the task)",
	    t1 - t0, t2 - t1);
	return t2 == t1 ? 0 : 12;
}

HTEST(watchpoint_left_by_a_tracer_stays_with_the_task)
{
	as_both(_metadata, dr_case, NULL);
}

TEST_HARNESS_MAIN
