// SPDX-License-Identifier: GPL-2.0
/*
 * Races of the leadership move against the core places that read a
 * group's leader (Documentation/leadership-move.md, section 2; one test
 * per place of the table in 3.6.1; tests/leader_race.h has the mover, the
 * racers and the oracle): the resource limits' lock in fork, prlimit and
 * the compat old_getrlimit, exec from another thread, a new thread's
 * leader, the hung-task scan, setsid, setpgid and the exits of a moving
 * process, and the process CPU clock. leader_race_peers_test.c has the
 * races of cgroups, Yama, wait, signals, taskstats and the xstate
 * permissions; tests/pending those of /proc, ptrace by pid and group
 * signals, and the stress test.
 *
 * Every race moves the leadership hundreds of times in one process, under
 * a deadline; the debug kernel's log must stay clean (make test fails on
 * any splat). The program must run as root.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/times.h>

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "leader_race.h"

#define HTEST_SECONDS 40
#include "handoff_fixture.h"

/* ---- P1: fork copies the limits under the per-process lock ---------- */

static int fork_limits_race(void *unused)
{
	long forks = 0;
	struct mover m;
	pthread_t th[3];
	int rc = race_setup();

	if (rc || setrlimit(RLIMIT_NOFILE, &race_pairs[0]))
		return rc ?: 2;
	mover_init(&m, RACE_ROUNDS, RACE_MS, RACE_MIN_MOVES);
	if (racers_start(th, 2, fork_and_wait, &forks) || racers_start(th + 2, 1, flip_limits, NULL))
		return 3;
	rc = race_rounds(&m, NULL, NULL, th, 3);
	say("%d rounds, %ld moves, %ld children forked", m.rounds, mover_moves(&m), forks);
	return rc ?: forks >= 20 ? 0 : race_fail(4, "only %ld forks raced the moves", forks);
}

HTEST(fork_copies_whole_limits_while_leadership_moves)
{
	RACE(fork_limits_race, NULL);
}

/* ---- P2, P8: getrlimit, setrlimit, prlimit64, RLIMIT_CPU ------------- */

static void *read_limits(void *unused)
{
	while (racing()) {
		struct rlimit a, b;

		if (getrlimit(RLIMIT_NOFILE, &a) || prlimit(getpid(), RLIMIT_NOFILE, NULL, &b))
			race_fail(10, "getrlimit/prlimit(own pid): %s", strerror(errno));
		else if (!limits_whole(&a) || !limits_whole(&b))
			race_fail(11, "torn limits: getrlimit {%lu, %lu}, prlimit {%lu, %lu}",
				  a.rlim_cur, a.rlim_max, b.rlim_cur, b.rlim_max);
	}
	return NULL;
}

/* Another process reads the limits by pid until its pipe closes. */
static int limits_from_outside(pid_t pid, int stop_fd)
{
	while (!readable_within(stop_fd, 0)) {
		struct rlimit r;

		if (prlimit(pid, RLIMIT_NOFILE, NULL, &r)) {
			say("prlimit(%d) from another process failed: %s", pid, strerror(errno));
			return 1;
		}
		if (!limits_whole(&r)) {
			say("prlimit(%d) from another process: {%lu, %lu}", pid, r.rlim_cur, r.rlim_max);
			return 2;
		}
	}
	return 0;
}

/* Each round, T reads the limits (prlimit64 as its atom); once, it sets RLIMIT_CPU. */
struct limits_atom {
	struct rlimit old, cpu;
	int cpu_round;
};

static int limits_round(struct mover *m, void *arg)
{
	struct limits_atom *la = arg;
	int cpu = m->rounds == la->cpu_round;
	unsigned long a[4] = { 0, cpu ? RLIMIT_CPU : RLIMIT_NOFILE,
			       cpu ? (unsigned long)&la->cpu : 0, cpu ? 0 : (unsigned long)&la->old };

	if (mover_round_with(m, __NR_prlimit64, 4, a))
		return atomic_load(&race_failed);
	if (m->refused)
		return 0;
	if (m->ret[1] != 0)
		return race_fail(12, "round %d: prlimit64 as T's atom = %ld", m->rounds, m->ret[1]);
	if (!cpu && !limits_whole(&la->old))
		return race_fail(13, "round %d: T's atom read {%lu, %lu}", m->rounds,
				 la->old.rlim_cur, la->old.rlim_max);
	return 0;
}

static int rlimit_race(void *unused)
{
	struct limits_atom la = { .cpu_round = RACE_MIN_MOVES / 2 };
	int rc = race_setup(), p[2], status;
	struct mover m;
	pthread_t th[3];
	pid_t outside;
	double end;

	signal(SIGXCPU, count_signal);
	if (rc || setrlimit(RLIMIT_NOFILE, &race_pairs[0]) || pipe(p))
		return rc ?: 2;
	outside = fork();
	if (!outside) {
		close(p[1]);	/* its end is the race's: closed, the reader stops */
		_exit(limits_from_outside(getppid(), p[0]));
	}
	close(p[0]);
	mover_init(&m, RACE_ROUNDS, RACE_MS, RACE_MIN_MOVES);
	if (racers_start(th, 1, flip_limits, NULL) || racers_start(th + 1, 2, read_limits, NULL))
		return 3;
	/* RLIMIT_CPU's soft limit, 2 s of CPU from now, is set by T mid-move. */
	la.cpu.rlim_cur = (rlim_t)process_cpu_s() + 2;
	la.cpu.rlim_max = RLIM_INFINITY;
	while (!rc && mover_more(&m))
		rc = limits_round(&m, &la);
	rc = racers_stop(th, 3) ?: rc ?: mover_enough(&m);
	close(p[1]);
	if (!wait_deadline(outside, &status, 5000))
		rc = rc ?: race_fail(8, "the reader in another process did not end (errno %d)", errno);
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		rc = rc ?: race_fail(5, "the reader in another process failed (status %#x)", status);
	if (rc || m.rounds <= la.cpu_round)
		return rc ?: race_fail(6, "RLIMIT_CPU was never set (%d rounds)", m.rounds);
	/* The CPU timer T armed mid-move fires once the process passes it. */
	for (end = now_ms() + 8000; !atomic_load(&signals_seen[SIGXCPU]) && now_ms() < end; )
		if (process_cpu_s() > la.cpu.rlim_cur + 2)
			break;
	say("RLIMIT_CPU %lu s, process CPU %.1f s, SIGXCPU %d", la.cpu.rlim_cur, process_cpu_s(),
	    atomic_load(&signals_seen[SIGXCPU]));
	return atomic_load(&signals_seen[SIGXCPU]) ? 0 : race_fail(7, "no SIGXCPU: the CPU limit set mid-move was lost");
}

HTEST(rlimits_stay_whole_while_leadership_moves)
{
	RACE(rlimit_race, NULL);
}

/* ---- P3: the compat old_getrlimit (int $0x80, nr 76) ----------------- */

static long int80_old_getrlimit(unsigned int *out)
{
	long ret = 76;	/* i386 getrlimit: compat old_getrlimit */

	__asm__ volatile("int $0x80" : "+a"(ret) : "b"((long)RLIMIT_NOFILE), "c"(out)
			 : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

static void *read_limits_compat(void *page)
{
	static atomic_int slot;
	unsigned int *out = (unsigned int *)page + 2 * atomic_fetch_add(&slot, 1);

	while (racing()) {
		long r = int80_old_getrlimit(out);
		struct rlimit got = { out[0], out[1] };

		if (r || !limits_whole(&got))
			race_fail(20, "compat old_getrlimit = %ld, {%u, %u}", r, out[0], out[1]);
	}
	return NULL;
}

static int compat_race(void *unused)
{
	unsigned int *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	int rc = race_setup();
	struct mover m;
	pthread_t th[3];
	long r;

	if (rc || page == MAP_FAILED || setrlimit(RLIMIT_NOFILE, &race_pairs[0]))
		return rc ?: 2;
	r = int80_old_getrlimit(page);
	if (r == -ENOSYS) {
		say("int $0x80 gives ENOSYS: IA32 emulation is off in this kernel");
		return CASE_SKIP;
	}
	if (r || page[0] != 64 || page[1] != 128)
		return race_fail(3, "compat old_getrlimit = %ld {%u, %u}, want {64, 128}", r, page[0], page[1]);
	mover_init(&m, RACE_ROUNDS, RACE_MS, RACE_MIN_MOVES);
	if (racers_start(th, 1, flip_limits, NULL) || racers_start(th + 1, 2, read_limits_compat, page))
		return 4;
	return race_rounds(&m, NULL, NULL, th, 3);
}

HTEST(compat_old_getrlimit_while_leadership_moves)
{
	RACE(compat_race, NULL);
}

/* ---- P4, T3, P11: exec from another thread, one child each ----------- */

static int exec_race(void *unused)
{
	int *moves = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long procs0 = live("processes");
	int rc = race_setup(), i, children = 0;
	double end = now_ms() + RACE_MS;

	if (rc || moves == MAP_FAILED)
		return rc ?: 2;
	for (i = 0; !rc && (i < 4 || now_ms() < end) && i < 40; i++, children++) {
		struct exec_child e = { .after = 1 + (i * 7) % 23 };
		char line[24] = "";
		int p[2], status;
		pid_t c;

		if (pipe(p))
			return 3;
		e.fd = p[1];
		c = fork();
		if (!c)
			_exit(exec_child(&e, moves));
		close(p[1]);
		if (!read_within(p[0], line, 1, 15000) || read(p[0], line + 1, sizeof(line) - 2) < 0)
			rc = race_fail(33, "child %d: the exec'd image wrote nothing", c);
		close(p[0]);
		if (!wait_deadline(c, &status, 10000))
			rc = rc ?: race_fail(34, "child %d did not end", c);
		else if (!WIFEXITED(status) || WEXITSTATUS(status) != RACE_EXEC_CODE)
			rc = rc ?: race_fail(35, "child %d (exec after %d rounds): status %#x, want exit %d",
					     c, e.after, status, RACE_EXEC_CODE);
		else if (atoi(line) != c)
			rc = race_fail(36, "the exec'd image of child %d says its pid is %s", c, line);
	}
	say("%d children exec'd from a thread mid-move, %d moves", children, *moves);
	if (!rc && *moves < RACE_MIN_MOVES)
		rc = race_fail(37, "only %d moves", *moves);
	return rc ?: live_back_to(procs0, live("spares")) ? 0 : race_fail(38, "syslet state left behind");
}

HTEST(exec_from_a_thread_while_leadership_moves)
{
	RACE(exec_race, NULL);
}

/* ---- P5: a new thread's leader, read under tasklist_lock -------------- */

static void *new_thread_body(void *unused)
{
	if (leader_check(getpid(), "in a new thread"))
		race_fail(40, "a thread created mid-move broke the group");
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
	return NULL;
}

static void *create_threads(void *count)
{
	while (racing()) {
		pthread_t t;

		if (pthread_create(&t, NULL, new_thread_body, NULL) || pthread_join(t, NULL)) {
			race_fail(41, "pthread_create/join failed");
			break;
		}
		__atomic_add_fetch((long *)count, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int new_threads_race(void *unused)
{
	long created = 0;
	struct mover m;
	pthread_t th[2];
	int rc = race_setup();

	signal(SIGUSR1, count_signal);
	mover_init(&m, RACE_ROUNDS, RACE_MS, RACE_MIN_MOVES);
	if (rc || racers_start(th, 2, create_threads, &created))
		return rc ?: 2;
	rc = race_rounds(&m, NULL, NULL, th, 2);
	say("%ld threads created mid-move, SIGUSR1 handled %d times", created, atomic_load(&signals_seen[SIGUSR1]));
	if (!rc && created < 20)
		rc = race_fail(42, "only %ld threads created", created);
	return rc ?: created == atomic_load(&signals_seen[SIGUSR1]) ? 0 : race_fail(43, "signals lost or doubled");
}

HTEST(new_threads_name_the_leader_while_leadership_moves)
{
	RACE(new_threads_race, NULL);
}

/* ---- P6: the hung-task scan's RCU break --------------------------------- */

/* The voluntary context switches of khungtaskd: one per scan, at least. */
static long khungtaskd_switches(void)
{
	char path[300], line[128];
	struct dirent *d;
	long v = -1;
	DIR *dir = opendir("/proc");

	while (dir && v < 0 && (d = readdir(dir))) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		if (atoi(d->d_name) <= 0 || !(f = fopen(path, "r")))
			continue;
		if (fgets(line, sizeof(line), f) && !strcmp(line, "khungtaskd\n")) {
			fclose(f);
			snprintf(path, sizeof(path), "/proc/%s/status", d->d_name);
			f = fopen(path, "r");
			while (f && fgets(line, sizeof(line), f))
				if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1)
					break;
		}
		if (f)
			fclose(f);
	}
	if (dir)
		closedir(dir);
	return v;
}

#define SLEEPERS 600

static int hung_task_race(void *unused)
{
	long forks = 0, scans = khungtaskd_switches();
	pthread_attr_t at;
	struct mover m;
	pthread_t th[2], t;
	int rc = race_setup(), i;

	if (rc || scans < 0 || setrlimit(RLIMIT_NOFILE, &race_pairs[0]))
		return rc ?: race_fail(2, "no khungtaskd (CONFIG_DETECT_HUNG_TASK is on in kconfig-test)");
	/* A long thread list in the moving process: the scan breaks its RCU section in it. */
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 16 << 10);
	for (i = 0; i < SLEEPERS; i++)
		if (pthread_create(&t, &at, sleep_forever, NULL))
			return race_fail(3, "thread %d of %d: cannot create", i, SLEEPERS);
	mover_init(&m, 2 * RACE_ROUNDS, 2 * RACE_MS, RACE_MIN_MOVES);
	if (racers_start(th, 2, fork_and_wait, &forks))
		return 4;
	rc = race_rounds(&m, NULL, NULL, th, 2);
	scans = khungtaskd_switches() - scans;
	say("%d rounds, %ld forks, khungtaskd woke %ld times", m.rounds, forks, scans);
	return rc ?: scans >= 3 ? 0 : race_fail(5, "the hung-task scan did not run during the race");
}

HTEST(hung_task_scan_while_leadership_moves)
{
	long interval = read_sysctl("hung_task_check_interval_secs");

	ASSERT_EQ(0, write_sysctl("hung_task_check_interval_secs", 1));
	RACE(hung_task_race, NULL);
	write_sysctl("hung_task_check_interval_secs", interval);
}

/* ---- P7, W2: setsid names the session by the pid, one child each ------ */

static int session_race(void *unused)
{
	int *moves = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int rc = race_setup(), i;
	double end = now_ms() + RACE_MS;

	if (rc || moves == MAP_FAILED)
		return rc ?: 2;
	for (i = 0; !rc && (i < 6 || now_ms() < end) && i < 30; i++) {
		struct session_child s = { .at = 1 + (i * 5) % 17, .by_atom = i & 1 };
		int status;
		pid_t c = fork();

		if (!c)
			_exit(session_child(&s, moves));
		if (!wait_deadline(c, &status, 15000) || !WIFEXITED(status) || WEXITSTATUS(status))
			rc = race_fail(54, "child %d (setsid at round %d, %s): status %#x", c, s.at,
				       s.by_atom ? "T's atom" : "a thread", status);
	}
	say("%d children, %d moves", i, *moves);
	return rc ?: *moves >= RACE_MIN_MOVES ? 0 : race_fail(55, "only %d moves", *moves);
}

HTEST(setsid_while_leadership_moves_names_the_session_by_pid)
{
	RACE(session_race, NULL);
}

/* ---- T1: setpgid(0, 0) ------------------------------------------------- */

static int setpgid_round(struct mover *m, void *unused)
{
	unsigned long a[2] = { m->rounds & 1 ? getpid() : 0, m->rounds & 1 ? getpid() : 0 };

	if (mover_round_with(m, __NR_setpgid, 2, a))
		return atomic_load(&race_failed);
	if (m->refused)
		return 0;
	if (m->ret[1] != 0)
		return race_fail(60, "round %d: setpgid(%lu, %lu) as T's atom = %ld", m->rounds, a[0], a[1], m->ret[1]);
	return getpgid(0) == getpid() ? 0 : race_fail(61, "getpgid(0) = %d, want %d", getpgid(0), getpid());
}

static int setpgid_race(void *unused)
{
	struct mover m;
	pthread_t th[2];
	int rc = race_setup();

	mover_init(&m, RACE_ROUNDS, RACE_MS, RACE_MIN_MOVES);
	if (rc || racers_start(th, 2, set_own_pgid, NULL))
		return rc ?: 2;
	while (!rc && mover_more(&m))
		rc = setpgid_round(&m, NULL);
	return racers_stop(th, 2) ?: rc ?: mover_enough(&m);
}

HTEST(setpgid_zero_while_leadership_moves)
{
	RACE(setpgid_race, NULL);
}

/* ---- P11: the exits of a moving process ---------------------------------- */

static int exits_race(void *unused)
{
	int *moves = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long procs0 = live("processes"), spares0 = live("spares");
	int rc = race_setup(), i, wrong[EXIT_KINDS] = { 0 };
	double end = now_ms() + RACE_MS;

	if (rc || moves == MAP_FAILED)
		return rc ?: 2;
	/* Every kind runs even after a failure: the report says which fail. */
	for (i = 0; (i < 3 * EXIT_KINDS || now_ms() < end) && i < 60; i++) {
		struct exit_child x = { .kind = i % EXIT_KINDS, .at = 2 + (i * 7) % 19 };
		int status;
		pid_t c = fork();

		if (!c)
			_exit(exit_child(&x, moves));
		if (!wait_deadline(c, &status, 10000)) {
			rc = race_fail(83, "child %d (kind %d) did not end", c, x.kind);
			kill_reap(c);
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != exit_want[x.kind]) {
			if (!wrong[x.kind]++)
				race_fail(84, "child %d (kind %d, at round %d): status %#x, want exit %d",
					  c, x.kind, x.at, status, exit_want[x.kind]);
			rc = rc ?: 84;
		}
	}
	say("%d children ended mid-move, %d moves; wrong statuses by kind: %d %d %d",
	    i, *moves, wrong[0], wrong[1], wrong[2]);
	if (!rc && *moves < RACE_MIN_MOVES)
		rc = race_fail(86, "only %d moves", *moves);
	return rc ?: live_back_to(procs0, spares0 + 8) ? 0 : race_fail(85, "syslet state left behind");
}

HTEST(exits_while_leadership_moves)
{
	RACE(exits_race, NULL);
}

/* ---- T2: the process CPU clock never goes back --------------------------- */

static void *spin(void *unused)
{
	while (racing())
		;
	return NULL;
}

static void *read_cpu_clocks(void *unused)
{
	double last[3] = { 0, 0, 0 };
	char line[1024];

	while (racing()) {
		struct tms t;
		double now[3];
		unsigned long ut = 0, st = 0;
		FILE *f = fopen("/proc/self/stat", "r");
		char *p = f && fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;

		if (f)
			fclose(f);
		if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) {
			race_fail(90, "/proc/self/stat unreadable");
			break;
		}
		now[0] = process_cpu_s();
		times(&t);
		now[1] = t.tms_utime + t.tms_stime;
		now[2] = ut + st;
		for (int i = 0; i < 3; i++) {
			if (now[i] < last[i])
				race_fail(91, "process CPU time went back: %s %.6f -> %.6f",
					  (const char *[]){ "CLOCK_PROCESS_CPUTIME_ID", "times()", "stat" }[i],
					  last[i], now[i]);
			last[i] = now[i];
		}
	}
	return NULL;
}

static int cpu_clock_race(void *unused)
{
	struct mover m;
	pthread_t th[3];
	int rc = race_setup();

	mover_init(&m, RACE_ROUNDS, RACE_MS, RACE_MIN_MOVES);
	if (rc || racers_start(th, 2, spin, NULL) || racers_start(th + 2, 1, read_cpu_clocks, NULL))
		return rc ?: 2;
	return race_rounds(&m, NULL, NULL, th, 3);
}

HTEST(process_cpu_clock_monotonic_while_leadership_moves)
{
	RACE(cpu_clock_race, NULL);
}

TEST_HARNESS_MAIN
