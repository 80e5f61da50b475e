// SPDX-License-Identifier: GPL-2.0
/*
 * The stress test of issue 17 (Documentation/handoff.md, "The group
 * leader"): a child process moves its leadership hundreds of times while
 * its own threads fork, setpgid() and flip resource limits, and the test
 * process meanwhile starts children that end mid-move (exec from a
 * thread, setsid() then exit, exit or exit_group() from either thread) and
 * attaches to the hammered child by pid with ptrace after each one.
 * Every attach must work (patches/0025), every child end with the status
 * stock Linux gives it, the oracle hold after every move, and the debug
 * kernel's log stay clean. The program must run as root.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "leader_race.h"

#define HTEST_SECONDS 40
#include "handoff_fixture.h"

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
