// SPDX-License-Identifier: GPL-2.0
/*
 * A race of the leadership move against Yama's lockless exception check:
 * under ptrace_scope 1 the tracer a moving process allowed with
 * PR_SET_PTRACER reads its memory, by turns through /proc/<pid>/mem and
 * process_vm_readv() (where the kernel has CONFIG_CROSS_MEMORY_ATTACH;
 * the test kernel does not). Both check the exception without cred_guard_mutex
 * (mm_access()), where the move rekeys the relation only after the
 * leader changed: the check now matches the tracee's thread group (its
 * signal_struct), which the move does not change (patches/0022). Before
 * that, one read in 193-304 was refused (EACCES), 3 runs of 3.
 * ptrace_attach() holds cred_guard_mutex (tests/leader_ptrace_test.c).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "leader_race.h"

#define HTEST_SECONDS 40
#include "handoff_fixture.h"
#include "leader_race_peers.h"

static bool vm_readv_works = true;

/* The allowed tracer: every open and read of the tracee's memory must work. */
static int read_while_moving(struct moving *sh)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/mem", sh->tracee);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		int rounds = 0, fd = -1, e;
		bool by_vm = vm_readv_works && (sh->attaches & 1);
		struct iovec local = { &rounds, sizeof(rounds) };
		struct iovec remote = { &sh->rounds, sizeof(rounds) };
		ssize_t n;

		if (by_vm) {
			n = process_vm_readv(sh->tracee, &local, 1, &remote, 1, 0);
		} else {
			fd = open(path, O_RDONLY);
			n = fd < 0 ? -1 : pread(fd, &rounds, sizeof(rounds),
						(off_t)(uintptr_t)&sh->rounds);
		}
		e = errno;
		if (fd >= 0)
			close(fd);
		if (__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))
			break;	/* it may be exiting */
		if (by_vm && n < 0 && e == ENOSYS) {
			/* CONFIG_CROSS_MEMORY_ATTACH is off: /proc/<pid>/mem only */
			say("process_vm_readv(): ENOSYS, reading /proc/%d/mem only", sh->tracee);
			vm_readv_works = false;
			continue;
		}
		if (n != sizeof(rounds))
			return race_fail(47, "%s by the allowed tracer: %s %zd, errno %d after %d reads",
					 by_vm ? "process_vm_readv()" : path,
					 by_vm || fd >= 0 ? "read" : "open", n, e, sh->attaches);
		if (rounds < 1)
			return race_fail(50, "read %d rounds from the tracee", rounds);
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
