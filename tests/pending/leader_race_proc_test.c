// SPDX-License-Identifier: GPL-2.0
/*
 * Races of the leadership move against what other tasks see of a moving
 * process, that fail on the current kernel (tests/pending/README.md;
 * Documentation/leadership-move.md, section 2; one test per place of the
 * table in 3.6.1; tests/leader_race.h has the mover, the racers and the
 * oracle, leader_race_peers.h the moving child and the tracer):
 * /proc/<pid>/comm, status, stat and task/, ptrace attach by pid, and
 * Yama's ptracer exception. The other races of this kind pass:
 * tests/leader_race_peers_test.c.
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
#include "leader_race_peers.h"
#include "leader_test.h"

/* ---- W2, W3, W4, T6: /proc/<pid>/comm, status, stat, task/ ----------- */

static char proc_start[32];	/* stat field 22 before the race */

static int read_proc_once(pid_t pid)
{
	char path[64], buf[4096], comm[64] = "", start[32] = "";
	int pid_seen = -2, tgid_seen = -2, first = -1, n;
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
	if (stat_field(pid, 2, comm, sizeof(comm)) || stat_field(pid, 22, start, sizeof(start)) ||
	    strcmp(start, proc_start) || strcmp(comm, "mainflow")) {
		if (stat_field(pid, 22, buf, sizeof(buf)))
			strcpy(buf, "?");
		return race_fail(12, "/proc/%d/stat: name %s, start %s (was %s; read again: %s)", pid,
				 comm, start, proc_start, buf);
	}
	if (stat_field(pid, 38, start, sizeof(start)) || atoi(start) != SIGCHLD)
		return race_fail(15, "/proc/%d/stat: exit signal %s", pid, start);
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
	struct mover m;
	pthread_t th[2];
	int rc = race_setup();

	if (rc || prctl(PR_SET_NAME, "mainflow", 0, 0, 0) ||
	    stat_field(getpid(), 22, proc_start, sizeof(proc_start)))
		return rc ?: 2;
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

/* ---- ptrace attach by pid, Yama's ptracer exception ------------------- */

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

TEST_HARNESS_MAIN
