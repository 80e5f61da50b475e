// SPDX-License-Identifier: GPL-2.0
/*
 * ptrace attach by TID while that thread's user context moves to a spare
 * (issue 17; Documentation/handoff.md, "The group leader").
 *
 * A handoff moves the context and its TID from the task that blocked to
 * a spare; the main thread's also moves the group's leadership. A tracer
 * that looked the TID up while the context was on its way used to attach
 * the task it was leaving: the TID then named the spare, so
 * PTRACE_INTERRUPT and PTRACE_DETACH by TID failed with ESRCH and
 * waitpid() of it with ECHILD. ptrace_attach() now claims a tracee only if
 * its TID still names it and no context moves to or from it, and else
 * waits for the move and looks the TID up again (patches/0025,
 * syslet_ptrace_claim()).
 *
 * A tracer process seizes, interrupts, reads the registers of and detaches
 * by TID, each step required to work: a moving main thread (by its PID),
 * the same under Yama's PR_SET_PTRACER exception and its revocation, and a
 * second thread that hands off again and again (its TID must stay its
 * own). And a threadlet function that asks to be traced (PTRACE_TRACEME)
 * while its caller's context moves. The program must run as root; the
 * debug kernel's log must stay clean.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "leader_race.h"

#define HTEST_SECONDS 40
#include "handoff_fixture.h"
#include "leader_race_peers.h"
#include "threadlet.h"
#include "threadlet_test.h"

/* ---- the main thread: attach by PID, Yama's ptracer exception -------- */

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
static int trace_allowed(struct moving *sh)
{
	return trace_by_pid(sh, 1);
}

static int ptracer_race(void *unused)
{
	struct moving *sh = moving_page();
	int rc = race_setup(), status, revoked_at;
	pid_t tracer;

	if (rc || !sh)
		return rc ?: 2;
	tracer = start_allowed(sh, trace_allowed);
	if (tracer < 0)
		return 3;
	word_wait(&sh->rounds, 1 << 30, RACE_MS);	/* the first phase: a deadline */
	__atomic_store_n(&sh->revoke, 1, __ATOMIC_RELEASE);
	if (!word_wait(&sh->revoked, 1, 5000))
		rc = race_fail(43, "the tracee did not revoke");
	revoked_at = sh->revoked;
	/* 50 moves after it, and enough in all (a traced tracee moves less) */
	word_wait(&sh->rounds, revoked_at + 50 > RACE_MIN_MOVES + 10 ? revoked_at + 50 :
		  RACE_MIN_MOVES + 10, 8000);
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

/* ---- a second thread: attach by TID ------------------------------------ */

/* Shared with the tracee (MAP_SHARED). */
struct moving_thread {
	int tid, rounds, stop, bad_tid;
	long moves;
};

/* The tracee's second thread: hands off (SYSLET_ASYNC getppid) until stopped. */
static void *hand_off_until_stopped(void *arg)
{
	struct moving_thread *sh = arg;
	long handoffs0 = syslet_stat("handoffs");
	int tid = syscall(SYS_gettid);

	word_set(&sh->tid, tid);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		thread_hand_off();
		if (syscall(SYS_gettid) != tid) {
			word_set(&sh->bad_tid, (int)syscall(SYS_gettid));
			break;
		}
		__atomic_add_fetch(&sh->rounds, 1, __ATOMIC_RELEASE);
	}
	sh->moves = syslet_stat("handoffs") - handoffs0;
	return NULL;
}

/* The tracee process: its main thread waits while the second one moves. */
static int tracee_main(struct moving_thread *sh)
{
	pthread_t t;

	if (pthread_create(&t, NULL, hand_off_until_stopped, sh))
		return 2;
	pthread_join(t, NULL);
	return 0;
}

static int thread_race(void *unused)
{
	struct moving_thread *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int rc = race_setup(), attaches = 0, status;
	pid_t c;

	if (rc || sh == MAP_FAILED)
		return rc ?: 2;
	c = fork();
	if (!c)
		_exit(tracee_main(sh));
	if (c < 0 || !word_wait(&sh->tid, 1, 10000) || !word_wait(&sh->rounds, 1, 10000)) {
		kill_reap(c);
		return race_fail(3, "the tracee's thread made no round in 10 s");
	}
	for (double end = now_ms() + RACE_MS; !rc && now_ms() < end; ) {
		int rounds = __atomic_load_n(&sh->rounds, __ATOMIC_ACQUIRE);
		int step = seize_and_detach(sh->tid);

		if (step) {
			rc = race_fail(4, "attach by TID %d: step %d, errno %d", sh->tid, step, errno);
			break;
		}
		attaches++;
		/* A traced task does not hand off: let it move again first. */
		word_wait(&sh->rounds, rounds + 2, 2000);
	}
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	if (!wait_deadline(c, &status, 15000)) {
		kill_reap(c);
		return rc ?: race_fail(5, "the tracee did not stop");
	}
	say("%d attaches by TID; the thread made %d rounds, %ld moves", attaches, sh->rounds, sh->moves);
	if (sh->bad_tid)
		return rc ?: race_fail(6, "the thread's TID changed from %d to %d", sh->tid, sh->bad_tid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return rc ?: race_fail(7, "the tracee: status %#x", status);
	if (!rc && sh->moves < RACE_MIN_MOVES)
		rc = race_fail(8, "only %ld moves", sh->moves);
	return rc ?: attaches >= 20 ? 0 : race_fail(9, "only %d attaches", attaches);
}

HTEST(ptrace_attach_by_tid_while_a_thread_hands_off)
{
	RACE(thread_race, NULL);
}

/* ---- PTRACE_TRACEME from a threadlet whose caller's context moves ---- */

/*
 * The threadlet function of a child's main thread blocks (its caller's
 * context, with the TID, goes to a spare), then at once asks to be traced
 * and stops itself by TID. PTRACE_TRACEME waits until the context has
 * gone (patches/0025), so the TID the tracer sees in the stop stays the
 * tracee's: PTRACE_CONT by it works. Before, the stop could be reported
 * under the TID that the restore then gave to the main flow, and the
 * tracer's PTRACE_CONT by it failed (ESRCH), the tracee stopped for good.
 */
static int traceme_done;

static void traceme_fn(void *arg)
{
	struct timespec brief = { 0, (long)arg * 1000 };

	raw_syscall4(__NR_nanosleep, (long)&brief, 0, 0, 0);
	raw_syscall4(__NR_ptrace, PTRACE_TRACEME, 0, 0, 0);
	raw_syscall4(__NR_tgkill, raw_syscall4(__NR_getpid, 0, 0, 0, 0),
		     raw_syscall4(__NR_gettid, 0, 0, 0, 0), SIGSTOP, 0);
	word_set(&traceme_done, 1);
}

static int traceme_child(long us)
{
	void *stack = new_stack();

	if (!stack)
		return 2;
	alarm(20);
	threadlet_exec(traceme_fn, (void *)us, stack, STACK_SIZE);
	return word_wait(&traceme_done, 1, 10000) ? 0 : 3;
}

/* One child: every stop of its tasks continued by its TID; its status. */
static int trace_one_child(long us, int *stops, int *bad_cont)
{
	double end = now_ms() + 15000;
	pid_t c = fork();
	int status = -1;

	if (!c)
		_exit(traceme_child(us));
	while (c > 0 && now_ms() < end) {
		int st;
		pid_t w = waitpid(-1, &st, __WALL | WNOHANG);

		if (w == c && (WIFEXITED(st) || WIFSIGNALED(st)))
			status = st;
		else if (w > 0 && WIFSTOPPED(st)) {
			(*stops)++;
			if (ptrace(PTRACE_CONT, w, 0, 0))
				(*bad_cont)++;
		} else if (w < 0 && errno == ECHILD)
			break;
		else if (w <= 0)
			usleep(500);
	}
	if (status == -1 && c > 0)
		kill_reap(c);
	while (waitpid(-1, NULL, __WALL | WNOHANG) > 0)
		;
	return status;
}

static int traceme_case(void *unused)
{
	int stops = 0, bad_cont = 0, bad_end = 0, rc = race_setup();

	if (rc)
		return rc;
	for (long i = 0; i < 30; i++) {
		int status = trace_one_child(1 + i % 30, &stops, &bad_cont);

		if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			say("child %ld (a %ld us sleep): status %#x (-1: not ended in 15 s)", i,
			    1 + i % 30, status);
			bad_end++;
		}
	}
	say("30 children: %d stops, %d PTRACE_CONT by TID failed, %d did not end well",
	    stops, bad_cont, bad_end);
	if (bad_cont || bad_end)
		return race_fail(50, "PTRACE_CONT by the stopped TID failed %d times, %d children "
				 "did not exit 0", bad_cont, bad_end);
	return stops >= 30 ? 0 : race_fail(51, "only %d stops", stops);
}

HTEST(traceme_from_a_threadlet_whose_callers_context_moves)
{
	RACE(traceme_case, NULL);
}

TEST_HARNESS_MAIN
