// SPDX-License-Identifier: GPL-2.0
/*
 * What /proc shows of a process whose main thread's context, and with it
 * the group's leadership, moves to a spare thread again and again
 * (Documentation/handoff.md, "The group leader"; issue 17): every read of
 * /proc/<pid>/comm, status and stat, and the first entry of
 * /proc/<pid>/task/, shows the main flow, as if nothing moved. A reader
 * that found the task under the pid before a move and read it after saw
 * the other task's name, start time or exit signal, or a listing that
 * began with the spare's TID (patches/0026 retries such a read).
 *
 * tests/leader_race.h has the mover, the racers and the oracle; the
 * debug kernel's log must stay clean (make test fails on any splat). The
 * program must run as root.
 */
#define _GNU_SOURCE

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "leader_race.h"

#define HTEST_SECONDS 40
#include "handoff_fixture.h"
#include "leader_test.h"

static char proc_start[32];	/* stat field 22 before the race */
static atomic_int proc_reads;	/* rounds of the readers */

/* One read of each file; 0, or the failure (said). */
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
	if (!strstr(buf, "Name:\tmainflow\n") || !strstr(buf, "\nPid:") || !strstr(buf, "Tgid:") ||
	    sscanf(strstr(buf, "\nPid:"), "\nPid: %d", &pid_seen) != 1 ||
	    sscanf(strstr(buf, "Tgid:"), "Tgid: %d", &tgid_seen) != 1 || pid_seen != pid || tgid_seen != pid)
		return race_fail(11, "/proc/%d/status: Pid %d, Tgid %d, name \"%.20s\"", pid, pid_seen,
				 tgid_seen, strncmp(buf, "Name:\t", 6) ? buf : buf + 6);
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
		atomic_fetch_add(&proc_reads, 1);
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
	/* The deadline ends the rounds, not their count. */
	mover_init(&m, 1 << 30, RACE_MS, RACE_MIN_MOVES);
	if (racers_start(th, 2, read_proc, NULL))
		return 3;
	/* The readers' own names are other ones. */
	for (int i = 0; i < 2; i++)
		pthread_setname_np(th[i], "reader");
	rc = race_rounds(&m, NULL, NULL, th, 2) ?: read_proc_once(getpid());
	say("%ld moves, %d reads of comm, status, stat and task/", mover_moves(&m),
	    atomic_load(&proc_reads));
	return rc;
}

HTEST(proc_files_while_leadership_moves)
{
	RACE(proc_race, NULL);
}

TEST_HARNESS_MAIN
