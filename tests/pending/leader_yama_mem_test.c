// SPDX-License-Identifier: GPL-2.0
/*
 * A race of the leadership move against Yama's lockless exception check,
 * that fails on the current kernel (tests/pending/README.md): under
 * ptrace_scope 1 the tracer a moving process allowed with PR_SET_PTRACER
 * opens and reads its /proc/<pid>/mem. The open checks the exception
 * without cred_guard_mutex (mm_access(), as process_vm_readv() does), and
 * about one open in fifty is refused (EPERM): the check finds the new
 * leader while the relation is still keyed by the old one
 * (yama_task_leader_moved() runs after tasklist_lock is dropped).
 * ptrace_attach() holds cred_guard_mutex and is consistent
 * (tests/leader_ptrace_test.c).
 */
#define _GNU_SOURCE
#include <fcntl.h>

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "leader_race.h"

#define HTEST_SECONDS 40
#include "handoff_fixture.h"
#include "leader_race_peers.h"

/* The allowed tracer: every open and read of the tracee's memory must work. */
static int read_while_moving(struct moving *sh)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/mem", sh->tracee);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		int rounds = 0, fd = open(path, O_RDONLY), e = errno;
		ssize_t n = fd < 0 ? -1 : pread(fd, &rounds, sizeof(rounds), (off_t)(uintptr_t)&sh->rounds);

		e = fd < 0 ? e : errno;
		if (fd >= 0)
			close(fd);
		if (__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))
			break;	/* it may be exiting */
		if (n != sizeof(rounds))
			return race_fail(47, "%s by the allowed tracer: %s %zd, errno %d after %d reads",
					 path, fd < 0 ? "open" : "pread", n, e, sh->attaches);
		sh->attaches++;
	}
	return 0;
}

static int mem_race(void *unused)
{
	struct moving *sh = moving_page();
	int rc = race_setup(), status;
	pid_t reader;

	if (rc || !sh)
		return rc ?: 2;
	reader = start_allowed(sh, read_while_moving);
	if (reader < 0)
		return 3;
	word_wait(&sh->rounds, 1 << 30, RACE_MS);
	rc = stop_moving(sh->tracee, sh);
	if (!wait_deadline(reader, &status, 10000) || !WIFEXITED(status) || WEXITSTATUS(status))
		rc = rc ?: race_fail(48, "the reader: status %#x", status);
	say("%d reads by the allowed tracer, %d rounds", sh->attaches, sh->rounds);
	return rc ?: sh->attaches >= 100 ? 0 : race_fail(49, "only %d reads", sh->attaches);
}

HTEST(ptracer_exception_reads_memory_while_leadership_moves)
{
	with_ptrace_scope_1(_metadata, mem_race);
}

TEST_HARNESS_MAIN
