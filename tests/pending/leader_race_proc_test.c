// SPDX-License-Identifier: GPL-2.0
/*
 * Races of the leadership move against what other tasks see of a moving
 * process (Documentation/leadership-move.md, section 2; one test per
 * place of the table in 3.6.1; tests/leader_race.h has the mover, the
 * racers and the oracle): /proc/<pid>/comm, status, stat and task/,
 * cgroup migration, ptrace attach by pid, Yama's ptracer exception and
 * descendant check, and the parent's waitpid() with job control.
 *
 * Every race moves the leadership hundreds of times in one process, under
 * a deadline; the debug kernel's log must stay clean (make test fails on
 * any splat). The program must run as root.
 */
#define _GNU_SOURCE

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "leader_race.h"

#define HTEST_SECONDS 40
#include "handoff_fixture.h"

/* ---- a moving child, and what other processes do to it ------------- */

/* Shared with a moving child (MAP_SHARED). */
struct moving {
	int rounds, stop, code;		/* the child exits `code` once stopped */
	int ptracer, revoke, revoked;	/* PR_SET_PTRACER(ptracer); revoke it when asked */
	long moves;
	int attaches, refusals;		/* by a tracer process */
	pid_t tracee;
};

static struct moving *moving_page(void)
{
	struct moving *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return sh == MAP_FAILED ? NULL : sh;
}

/* The child's main flow: moves until the race says stop. */
static int move_until_stopped(struct moving *sh)
{
	struct mover m;
	int rc = 0;

	if (sh->ptracer && prctl(PR_SET_PTRACER, sh->ptracer, 0, 0, 0))
		return race_fail(2, "PR_SET_PTRACER(%d): %s", sh->ptracer, strerror(errno));
	mover_init(&m, 1 << 30, RACE_CHILD_MS - 5000, 0);
	while (!rc && mover_more(&m) && !__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		rc = mover_round(&m);
		if (__atomic_load_n(&sh->revoke, __ATOMIC_ACQUIRE) && !sh->revoked) {
			if (prctl(PR_SET_PTRACER, 0, 0, 0, 0))
				rc = race_fail(3, "PR_SET_PTRACER(0): %s", strerror(errno));
			__atomic_store_n(&sh->revoked, m.rounds, __ATOMIC_RELEASE);
		}
		__atomic_store_n(&sh->rounds, m.rounds, __ATOMIC_RELEASE);
	}
	sh->moves = mover_moves(&m);
	return rc ?: sh->code;
}

/* Forks the moving child (as `who`) and waits for its first move; -1 if none. */
static pid_t start_moving(struct moving *sh, enum who who)
{
	pid_t c = fork();

	if (!c) {
		if (who == AS_NOBODY && (leader_check_keep() || become_nobody()))
			_exit(CHILD_DROP_FAILED);
		_exit(move_until_stopped(sh));
	}
	if (c > 0 && !word_wait(&sh->rounds, 1, 10000)) {
		race_fail(4, "child %d made no move in 10 s", c);
		kill_reap(c);
		return -1;
	}
	return c;
}

/* Stops the moving child: 0 if it exited sh->code after enough moves. */
static int stop_moving(pid_t c, struct moving *sh)
{
	int status;

	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	if (!wait_deadline(c, &status, 15000)) {
		kill_reap(c);
		return race_fail(5, "the moving child %d did not stop", c);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != sh->code)
		return race_fail(6, "the moving child: status %#x, want exit %d", status, sh->code);
	say("the moving child made %ld moves in %d rounds", sh->moves, sh->rounds);
	return sh->moves >= RACE_MIN_MOVES ? 0 : race_fail(7, "only %ld moves", sh->moves);
}

/* ---- W2, W3, W4, T6: /proc/<pid>/comm, status, stat, task/ ----------- */

/* Field n (1-based, as in proc(5)) of /proc/<pid>/stat, or -1; the name in comm. */
static long long stat_field(pid_t pid, int n, char *comm, size_t len)
{
	char path[64], line[1024], *open_, *close_, *tok;
	long long v = -1;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	open_ = fgets(line, sizeof(line), f) ? strchr(line, '(') : NULL;
	fclose(f);
	close_ = open_ ? strrchr(open_, ')') : NULL;
	if (!close_)
		return -1;
	snprintf(comm, len, "%.*s", (int)(close_ - open_ - 1), open_ + 1);
	for (i = 3, tok = strtok(close_ + 2, " "); tok; i++, tok = strtok(NULL, " "))
		if (i == n)
			v = atoll(tok);
	return v;
}

static long long proc_start;	/* field 22 before the race */

static int read_proc_once(pid_t pid)
{
	char path[64], buf[4096], comm[64];
	int pid_seen = -2, tgid_seen = -2, first = -1, n;
	long long start;
	struct dirent *d;
	DIR *dir;

	slurp(buf, sizeof(buf), "/proc/%d/comm", pid);
	if (strcmp(buf, "mainflow\n"))
		return race_fail(10, "/proc/%d/comm: \"%s\"", pid, buf);
	slurp(buf, sizeof(buf), "/proc/%d/status", pid);
	if (!strstr(buf, "Name:\tmainflow\n") || !strstr(buf, "Pid:") || !strstr(buf, "Tgid:") ||
	    sscanf(strstr(buf, "Pid:"), "Pid: %d", &pid_seen) != 1 ||
	    sscanf(strstr(buf, "Tgid:"), "Tgid: %d", &tgid_seen) != 1 || pid_seen != pid || tgid_seen != pid)
		return race_fail(11, "/proc/%d/status: Pid %d, Tgid %d, or the name is not mainflow",
				 pid, pid_seen, tgid_seen);
	start = stat_field(pid, 22, comm, sizeof(comm));
	if (start != proc_start || strcmp(comm, "mainflow"))
		return race_fail(12, "/proc/%d/stat: name %s, start %lld (was %lld; read again: %lld)", pid,
				 comm, start, proc_start, stat_field(pid, 22, buf, sizeof(buf)));
	if ((start = stat_field(pid, 38, comm, sizeof(comm))) != SIGCHLD)
		return race_fail(15, "/proc/%d/stat: name %s, exit signal %lld", pid, comm, start);
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	while (dir && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		if (first < 0)
			first = atoi(d->d_name);
		/* Only members: a task that is gone has no status any more. */
		n = slurp(buf, sizeof(buf), "/proc/%d/task/%s/status", pid, d->d_name);
		if (n && (!strstr(buf, "Tgid:") || atoi(strstr(buf, "Tgid:") + 5) != pid))
			race_fail(13, "/proc/%d/task/ lists %s, of another process", pid, d->d_name);
	}
	if (dir)
		closedir(dir);
	return first == pid ? 0 : race_fail(14, "/proc/%d/task/ starts with %d", pid, first);
}

static void *read_proc(void *unused)
{
	while (racing() && !read_proc_once(getpid()))
		;
	return NULL;
}

static int proc_race(void *unused)
{
	char comm[64];
	struct mover m;
	pthread_t th[2];
	int rc = race_setup();

	if (rc || prctl(PR_SET_NAME, "mainflow", 0, 0, 0))
		return rc ?: 2;
	proc_start = stat_field(getpid(), 22, comm, sizeof(comm));
	mover_init(&m, RACE_ROUNDS, RACE_MS, RACE_MIN_MOVES);
	/* The readers' own names are other ones. */
	if (racers_start(th, 2, read_proc, NULL))
		return 3;
	for (int i = 0; i < 2; i++)
		pthread_setname_np(th[i], "reader");
	return race_rounds(&m, NULL, NULL, th, 2) ?: read_proc_once(getpid());
}

HTEST(proc_files_while_leadership_moves)
{
	RACE(proc_race, NULL);
}

/* ---- T4: cgroup migration of the whole process ------------------------ */

struct cg_pair {
	char mnt[64], dir[2][128], rel[2][64];
};

/* 1 if every thread of this process is in cgroup `rel` (tasks that are gone skipped). */
static int all_threads_in(const char *rel)
{
	char path[300], line[300], want[80];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/task");
	int ok = dir != NULL;

	snprintf(want, sizeof(want), "0::%s\n", rel);
	while (ok && (d = readdir(dir))) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/cgroup", d->d_name);
		if (d->d_name[0] == '.' || !(f = fopen(path, "r")))
			continue;
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "0::", 3) && strcmp(line, want)) {
				say("thread %s is in %s", d->d_name, line + 3);
				ok = 0;
			}
		fclose(f);
	}
	if (dir)
		closedir(dir);
	return ok;
}

static void *migrate(void *arg)
{
	struct cg_pair *cg = arg;
	char path[160];

	for (int i = 0; racing(); i++) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir[i & 1]);
		if (write_number(path, getpid()))
			race_fail(20, "writing %d to %s: %s", getpid(), path, strerror(errno));
		else if (!all_threads_in(cg->rel[i & 1]))
			race_fail(21, "a thread missed the migration to %s", cg->rel[i & 1]);
	}
	return NULL;
}

static int cgroup_race(void *arg)
{
	struct cg_pair *cg = arg;
	char path[160], line[32];
	int rc = race_setup(), listed = 0, others = 0;
	struct mover m;
	pthread_t th;
	FILE *f;

	/* Spares that idle out would be skipped by a migration (PF_EXITING). */
	write_sysctl("syslet_idle_msecs", 60000);
	mover_init(&m, RACE_ROUNDS, RACE_MS, RACE_MIN_MOVES);
	if (rc || racers_start(&th, 1, migrate, cg))
		return rc ?: 2;
	rc = race_rounds(&m, NULL, NULL, &th, 1);
	/* Moves paused: the process is listed once, under its pid. */
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir[0]);
	write_number(path, getpid());
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		atoi(line) == getpid() ? listed++ : others++;
	if (f)
		fclose(f);
	if (!rc && (listed != 1 || others))
		rc = race_fail(22, "%s lists the pid %d times and %d other pids", path, listed, others);
	return rc ?: all_threads_in(cg->rel[0]) ? 0 : race_fail(23, "threads left behind");
}

HTEST(cgroup_procs_migration_while_leadership_moves)
{
	struct cg_pair cg;
	int i, made = 0;

	strcpy(cg.mnt, "/tmp/leader-race-cg-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(cg.mnt));
	ASSERT_EQ(0, syscall(__NR_mount, "cgroup2", cg.mnt, "cgroup2", 0, NULL))
		TH_LOG("mounting cgroup2: %s (CONFIG_CGROUPS is on in kconfig-test)", strerror(errno));
	for (i = 0; i < 2; i++) {
		snprintf(cg.rel[i], sizeof(cg.rel[i]), "/leader-race-%d-%c", getpid(), 'a' + i);
		snprintf(cg.dir[i], sizeof(cg.dir[i]), "%s%s", cg.mnt, cg.rel[i]);
		made += !mkdir(cg.dir[i], 0755);
	}
	if (made == 2)
		RACE(cgroup_race, &cg);
	else
		TH_LOG("mkdir in %s: %s", cg.mnt, strerror(errno));
	for (i = 0; i < 2; i++)
		rmdir(cg.dir[i]);
	syscall(__NR_umount2, cg.mnt, 0);
	rmdir(cg.mnt);
	EXPECT_EQ(2, made);
}

/* ---- ptrace attach by pid, Yama's exception and descendant check ----- */

/* A tracer: attach, stop, read, detach the tracee by pid until stopped. */
static int trace_by_pid(struct moving *sh, int checked_by_yama)
{
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		int revoked = __atomic_load_n(&sh->revoked, __ATOMIC_ACQUIRE);
		int r = seize_and_detach(sh->tracee), e = errno;

		if (__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))
			break;	/* it may be exiting */
		if (r == 0 && !revoked) {
			sh->attaches++;
		} else if (r == 1 && e == EPERM && checked_by_yama &&
			   __atomic_load_n(&sh->revoked, __ATOMIC_ACQUIRE)) {
			sh->refusals++;
		} else {
			return race_fail(40, "tracing %d by pid (%s): step %d, errno %d", sh->tracee,
					 revoked ? "after PR_SET_PTRACER(0)" : "allowed", r, e);
		}
	}
	return 0;
}

static int ptrace_race(void *unused)
{
	struct moving *sh = moving_page();
	int rc = race_setup();

	if (rc || !sh || (sh->tracee = start_moving(sh, AS_ROOT)) < 0)
		return rc ?: 2;
	for (double end = now_ms() + RACE_MS; !rc && now_ms() < end; ) {
		int rounds = __atomic_load_n(&sh->rounds, __ATOMIC_ACQUIRE), step = seize_and_detach(sh->tracee);

		if (step) {
			rc = race_fail(41, "attach by pid %d: step %d, errno %d", sh->tracee, step, errno);
			/* Another task of it may be traced, by us: our exit detaches it. */
			kill(sh->tracee, SIGKILL);
			return rc;
		}
		sh->attaches++;
		/* A traced task does not hand off: let it move again first. */
		word_wait(&sh->rounds, rounds + 2, 2000);
	}
	rc = stop_moving(sh->tracee, sh) ?: rc;
	say("%d attaches by pid", sh->attaches);
	return rc ?: sh->attaches >= 20 ? 0 : race_fail(42, "only %d attaches", sh->attaches);
}

HTEST(ptrace_attach_by_pid_while_leadership_moves)
{
	RACE(ptrace_race, NULL);
}

/* Yama's ptrace_scope 1 for fn, then the value found. */
static void with_ptrace_scope_1(struct __test_metadata *_metadata, int (*fn)(void *))
{
	const char *knob = "/proc/sys/kernel/yama/ptrace_scope";
	long scope = read_number(knob);

	if (scope < 0)
		SKIP(return, "no Yama in this kernel (%s)", knob);
	ASSERT_EQ(0, write_number(knob, 1));
	RACE(fn, NULL);
	write_number(knob, scope);
}

/*
 * A tracer process (not an ancestor, without CAP_SYS_PTRACE) attaches to
 * a moving tracee that allowed it with PR_SET_PTRACER; after the tracee
 * revokes it, every attach gets EPERM.
 */
static int ptracer_race(void *unused)
{
	struct moving *sh = moving_page();
	int rc = race_setup(), status, revoked_at;
	pid_t tracer;

	if (rc || !sh)
		return rc ?: 2;
	tracer = fork();
	if (!tracer) {
		if (become_nobody() || !word_wait(&sh->tracee, 1, 10000))
			_exit(CHILD_DROP_FAILED);
		_exit(trace_by_pid(sh, 1));
	}
	sh->ptracer = tracer;
	sh->tracee = start_moving(sh, AS_NOBODY);
	word_set(&sh->tracee, sh->tracee);
	if (sh->tracee < 0)
		return 3;
	word_wait(&sh->rounds, 1 << 30, RACE_MS);	/* the first phase: a deadline */
	__atomic_store_n(&sh->revoke, 1, __ATOMIC_RELEASE);
	if (!word_wait(&sh->revoked, 1, 5000))
		rc = race_fail(43, "the tracee did not revoke");
	revoked_at = sh->revoked;
	word_wait(&sh->rounds, revoked_at + 50, 8000);
	rc = stop_moving(sh->tracee, sh) ?: rc;
	if (!wait_deadline(tracer, &status, 10000) || !WIFEXITED(status) || WEXITSTATUS(status))
		rc = rc ?: race_fail(44, "the tracer: status %#x", status);
	say("%d attaches allowed, %d refused after revocation at round %d, %d rounds",
	    sh->attaches, sh->refusals, revoked_at, sh->rounds);
	if (!rc && sh->rounds < revoked_at + 50)
		rc = race_fail(45, "fewer than 50 moves after the revocation");
	return rc ?: sh->attaches >= 10 && sh->refusals >= 1 ? 0 : race_fail(46, "too few attaches");
}

HTEST(ptracer_exception_survives_leadership_moves)
{
	with_ptrace_scope_1(_metadata, ptracer_race);
}

/* The tracer moves its own leadership; a thread of it attaches to its child. */
static void *trace_my_child(void *arg)
{
	struct moving *sh = arg;
	trace_by_pid(sh, 0);	/* a failure is the race's */
	return NULL;
}

static int descendant_race(void *unused)
{
	struct moving *sh = moving_page();
	struct mover m;
	pthread_t th;
	pid_t child;
	int rc = race_setup();

	if (rc || !sh || leader_check_keep() || become_nobody())
		return rc ?: 2;
	child = fork();
	if (!child)
		sleep_forever(NULL);
	sh->tracee = child;
	mover_init(&m, RACE_ROUNDS, RACE_MS, RACE_MIN_MOVES);
	if (racers_start(&th, 1, trace_my_child, sh))
		return 3;
	__atomic_store_n(&sh->stop, 0, __ATOMIC_RELEASE);
	while (!rc && mover_more(&m))
		rc = mover_round(&m);
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	rc = racers_stop(&th, 1) ?: rc ?: mover_enough(&m);
	kill_reap(sh->tracee);
	say("%d attaches to the child", sh->attaches);
	return rc ?: sh->attaches >= 10 ? 0 : race_fail(47, "only %d attaches", sh->attaches);
}

HTEST(yama_descendant_check_while_the_tracer_moves)
{
	with_ptrace_scope_1(_metadata, descendant_race);
}

/* ---- W8: the parent's waitpid() and job control --------------------------- */

static atomic_int chld_count, chld_other;
static pid_t chld_want;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	atomic_fetch_add(si->si_pid == chld_want ? &chld_count : &chld_other, 1);
}

/* Waits (polling: no event to wait on with WNOHANG) for one report; its status or -1. */
static int one_report(pid_t c, int flags)
{
	int status;

	for (double end = now_ms() + 5000; now_ms() < end; usleep(500)) {
		pid_t w = waitpid(c, &status, WNOHANG | flags);

		if (w == c)
			return status;
		if (w < 0)
			return race_fail(50, "waitpid(%d): %s while it lives", c, strerror(errno)), -1;
	}
	return -1;
}

static int parent_wait_race(void *unused)
{
	struct sigaction sa = { .sa_sigaction = on_chld, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct moving *sh = moving_page();
	int rc = race_setup(), stops = 0, st;

	if (rc || !sh)
		return rc ?: 2;
	sh->code = 42;
	sigaction(SIGCHLD, &sa, NULL);
	chld_want = sh->tracee = start_moving(sh, AS_ROOT);
	for (double end = now_ms() + RACE_MS; !rc && sh->tracee > 0 && now_ms() < end; stops++) {
		if (waitpid(sh->tracee, &st, WNOHANG | WUNTRACED | WCONTINUED) != 0)
			rc = race_fail(51, "waitpid(%d) reported %#x (errno %d) with nothing sent",
				       sh->tracee, st, errno);
		kill(sh->tracee, SIGSTOP);
		st = one_report(sh->tracee, WUNTRACED | WCONTINUED);
		if (!rc && (st == -1 || !WIFSTOPPED(st)))
			rc = race_fail(52, "after SIGSTOP: %#x, want one stop report", st);
		kill(sh->tracee, SIGCONT);
		st = one_report(sh->tracee, WUNTRACED | WCONTINUED);
		if (!rc && (st == -1 || !WIFCONTINUED(st)))
			rc = race_fail(53, "after SIGCONT: %#x, want one continue report", st);
		word_wait(&sh->rounds, sh->rounds + 3, 2000);	/* moves between the stops */
	}
	rc = stop_moving(sh->tracee, sh) ?: rc;
	say("%d stops and continues; SIGCHLD %d from the child, %d from others", stops,
	    atomic_load(&chld_count), atomic_load(&chld_other));
	/* SIGCHLD is not queued: a stop's and a continue's may make one. */
	if (!rc && (atomic_load(&chld_other) || atomic_load(&chld_count) < stops))
		rc = race_fail(54, "SIGCHLD si_pid wrong or signals missing");
	return rc ?: stops >= 5 ? 0 : race_fail(55, "only %d stops", stops);
}

HTEST(parent_waits_while_child_leadership_moves)
{
	RACE(parent_wait_race, NULL);
}

TEST_HARNESS_MAIN
