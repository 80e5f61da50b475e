// SPDX-License-Identifier: GPL-2.0
/*
 * Races of the leadership move against signals, that fail on the current
 * kernel (tests/pending/README.md; Documentation/leadership-move.md,
 * section 2; one test per place of the table in 3.6.1; tests/leader_race.h
 * has the mover, the racers and the oracle, leader_race_peers.h the
 * signal counts): group signals with group stops and thread churn; then
 * hundreds of moves racing fork, setpgid, setsid, setrlimit, exec, ptrace
 * attach and exit at once. The other races of signals, taskstats and the
 * xstate permissions pass: tests/leader_race_peers_test.c.
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

/* ---- P10: group signals, group stop, thread creation ----------------- */

static void *churn_threads(void *unused)
{
	while (racing()) {
		pthread_t t;

		if (pthread_create(&t, NULL, sleep_forever, NULL) == 0)
			pthread_cancel(t), pthread_join(t, NULL);
	}
	return NULL;
}

static int group_signal_child(int *moves)
{
	pthread_t th;
	int rc;

	if (racers_start(&th, 1, churn_threads, NULL))
		return 70;
	rc = move_while_signalled(1, moves);
	return racers_stop(&th, 1) ?: rc ?: each_once(0);
}

static pid_t sig_target;

static int queue_to_process(int sig, int k)
{
	return sigqueue(sig_target, sig, (union sigval){ .sival_int = k });
}

static int group_signal_race(void *unused)
{
	int *moves = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int rc = race_setup(), status, stops = 0;

	if (rc || moves == MAP_FAILED)
		return rc ?: 2;
	count_queued();
	sig_target = fork();
	if (!sig_target)
		_exit(group_signal_child(moves));
	word_wait(moves, 1, 10000);	/* polls: the word is shared, its wake private */
	for (int part = 0; !rc && part < 4; part++) {
		/* A group stop, mid-move, between parts of the storm. */
		kill(sig_target, SIGSTOP);
		if (waitpid(sig_target, &status, WUNTRACED) != sig_target || !WIFSTOPPED(status))
			rc = race_fail(71, "no stop report after SIGSTOP (status %#x)", status);
		kill(sig_target, SIGCONT);
		stops++;
		word_wait(moves, *moves + 5, 3000);
	}
	rc = rc ?: send_all(SIGRTMIN, queue_to_process);
	if (!wait_deadline(sig_target, &status, 20000) || !WIFEXITED(status) || WEXITSTATUS(status))
		rc = rc ?: race_fail(72, "the child: status %#x", status);
	say("%d signals, %d group stops, %d moves", QUEUED, stops, *moves);
	return rc;
}

HTEST(group_signals_while_leadership_moves)
{
	RACE(group_signal_race, NULL);
}

/* ---- stress: everything at once ------------------------------------------- */

/* A moving child hammered by fork, setpgid and setrlimit until *stop. */
static int stress_mover(int *stop, int *moves)
{
	long forks = 0;
	struct mover m;
	pthread_t th[3];
	int rc = 0;

	mover_init(&m, 1 << 30, RACE_CHILD_MS - 5000, 0);
	if (setrlimit(RLIMIT_NOFILE, &race_pairs[0]) || racers_start(th, 1, fork_and_wait, &forks) ||
	    racers_start(th + 1, 1, set_own_pgid, NULL) || racers_start(th + 2, 1, flip_limits, NULL))
		return 100;
	while (!rc && mover_more(&m) && !__atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
		rc = mover_round(&m);
		__atomic_add_fetch(moves, 1, __ATOMIC_RELAXED);
	}
	return racers_stop(th, 3) ?: rc;
}

/* Child i ends mid-move: by exec from a thread, after setsid, or by an exit. */
static pid_t stress_child(int i, int *moves, int fd, int *want)
{
	struct exec_child e = { .fd = fd, .after = 1 + (i * 5) % 13 };
	struct session_child s = { .at = 1 + (i * 3) % 11, .by_atom = i & 1 };
	struct exit_child x = { .kind = (i / 3) % EXIT_KINDS, .at = 2 + (i * 7) % 13 };
	pid_t c;

	*want = i % 3 == 0 ? RACE_EXEC_CODE : i % 3 == 1 ? 0 : exit_want[x.kind];
	c = fork();
	if (!c)
		_exit(i % 3 == 0 ? exec_child(&e, moves) : i % 3 == 1 ? session_child(&s, moves) :
		      exit_child(&x, moves));
	return c;
}

/*
 * Reaps every child (ptrace children too: a task traced by pid that is
 * no longer the pid's is reaped by us) until `pid` is; its status, or -1
 * after 15 s.
 */
static int reap_all_until(pid_t pid)
{
	for (double end = now_ms() + 15000; now_ms() < end; usleep(1000)) {
		int status;
		pid_t w = waitpid(-1, &status, __WALL | WNOHANG);

		if (w == pid && (WIFEXITED(status) || WIFSIGNALED(status)))
			return status;
		if (w < 0 && errno == ECHILD)
			break;
	}
	return -1;
}

/* The stress runs to its end whatever fails: every failure is said once, by kind. */
static int stress_race(void *unused)
{
	int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int rc = race_setup(), i, status, attaches = 0, p[2], bad[4] = { 0 };
	double end = now_ms() + 2 * RACE_MS;
	pid_t hammered;

	if (rc || shared == MAP_FAILED || pipe(p))
		return rc ?: 2;
	hammered = fork();
	if (!hammered)
		_exit(stress_mover(&shared[0], &shared[1]));
	for (i = 0; (now_ms() < end || i < 9) && i < 200; i++) {
		int want, step;
		pid_t c = stress_child(i, &shared[1], p[1], &want);
		char line[16] = "";

		/* While child c ends, ptrace attaches by pid to the hammered one. */
		step = seize_and_detach(hammered);
		if (step && !bad[3]++)
			race_fail(101, "attach by pid to the hammered child: step %d, errno %d", step, errno);
		attaches += !step;
		if (!wait_deadline(c, &status, 15000)) {
			kill_reap(c);
			status = -1;
		}
		if (i % 3 == 0 && (!read_within(p[0], line, 1, 1000) ||
				   read(p[0], line + 1, sizeof(line) - 2) < 0 || atoi(line) != c))
			status = -2;
		if ((status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != want) && !bad[i % 3]++)
			race_fail(102 + i % 3, "child %d (kind %d): status %#x (-1: no end, -2: the exec'd "
				  "image says %.15s), want exit %d", c, i % 3, status, line, want);
	}
	__atomic_store_n(&shared[0], 1, __ATOMIC_RELEASE);
	status = reap_all_until(hammered);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status))
		race_fail(105, "the hammered child: status %#x", status);
	say("%d children ended mid-move (wrong: exec %d, setsid %d, exit %d), %d attaches (%d failed), "
	    "%d moves in all", i, bad[0], bad[1], bad[2], attaches, bad[3], shared[1]);
	rc = atomic_load(&race_failed);
	return rc ?: shared[1] >= 300 ? 0 : race_fail(106, "only %d moves", shared[1]);
}

HTEST(stress_moves_race_fork_setpgid_setsid_setrlimit_exec_ptrace_and_exit)
{
	RACE(stress_race, NULL);
}

TEST_HARNESS_MAIN
