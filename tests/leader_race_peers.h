/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the races in which other tasks act on a moving process share
 * (leader_race_peers_test.c, leader_ptrace_test.c, and
 * tests/pending/leader_race_*_test.c; after kselftest_harness.h, handoff_test.h,
 * leader_race.h and handoff_fixture.h): a moving child that its parent
 * stops, waits for or traces by pid, a tracer by pid under Yama's
 * ptrace_scope 1, and signals queued with a number each and counted as
 * they are handled.
 */
#ifndef LEADER_RACE_PEERS_H
#define LEADER_RACE_PEERS_H

/* ---- a moving child, and what other processes do to it ------------- */

/* Shared with a moving child (MAP_SHARED). */
struct moving {
	int rounds, stop, code;		/* the child exits `code` once stopped */
	int ptracer, revoke, revoked;	/* PR_SET_PTRACER(ptracer); revoke it when asked */
	int revoking;			/* set just before the revocation */
	long moves;
	int attaches, refusals;		/* by a tracer process */
	pid_t tracee;
};

static inline struct moving *moving_page(void)
{
	struct moving *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return sh == MAP_FAILED ? NULL : sh;
}

/* The child's main flow: moves until the race says stop. */
static inline int move_until_stopped(struct moving *sh)
{
	struct mover m;
	int rc = 0;

	if (sh->ptracer && prctl(PR_SET_PTRACER, sh->ptracer, 0, 0, 0))
		return race_fail(2, "PR_SET_PTRACER(%d): %s", sh->ptracer, strerror(errno));
	mover_init(&m, 1 << 30, RACE_CHILD_MS - 5000, 0);
	while (!rc && mover_more(&m) && !__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		rc = mover_round(&m);
		if (__atomic_load_n(&sh->revoke, __ATOMIC_ACQUIRE) && !sh->revoked) {
			/* a refusal from here on is the revocation's */
			__atomic_store_n(&sh->revoking, 1, __ATOMIC_RELEASE);
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
static inline pid_t start_moving(struct moving *sh, enum who who)
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
static inline int stop_moving(pid_t c, struct moving *sh)
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

/* ---- tracing by pid, under Yama -------------------------------------- */

/* A tracer: attach, stop, read, detach the tracee by pid until stopped. */
static inline int trace_by_pid(struct moving *sh, int checked_by_yama)
{
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		int revoked = __atomic_load_n(&sh->revoked, __ATOMIC_ACQUIRE);
		int rounds = __atomic_load_n(&sh->rounds, __ATOMIC_ACQUIRE);
		int r = seize_and_detach(sh->tracee), e = errno;

		if (__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))
			break;	/* it may be exiting */
		if (r == 0 && !revoked) {
			sh->attaches++;
			/* A traced task does not hand off: let it move again. */
			word_wait(&sh->rounds, rounds + 1, 500);
		} else if (r == 1 && e == EPERM && checked_by_yama &&
			   __atomic_load_n(&sh->revoking, __ATOMIC_ACQUIRE)) {
			sh->refusals++;
		} else {
			return race_fail(40, "tracing %d by pid (%s): step %d, errno %d", sh->tracee,
					 revoked ? "after PR_SET_PTRACER(0)" : "allowed", r, e);
		}
	}
	return 0;
}

/*
 * Forks the tracer, as nobody, to run fn(sh) once the tracee is known;
 * then the moving tracee, as nobody, which allows that tracer with
 * PR_SET_PTRACER. The tracer's pid, or -1.
 */
static inline pid_t start_allowed(struct moving *sh, int (*fn)(struct moving *))
{
	pid_t tracer = fork();

	if (!tracer) {
		if (become_nobody() || !word_wait(&sh->tracee, 1, 10000))
			_exit(CHILD_DROP_FAILED);
		_exit(fn(sh));
	}
	if (tracer < 0)
		return -1;
	sh->ptracer = tracer;
	sh->tracee = start_moving(sh, AS_NOBODY);
	word_set(&sh->tracee, sh->tracee);
	if (sh->tracee < 0) {
		kill_reap(tracer);
		return -1;
	}
	return tracer;
}

/* Yama's ptrace_scope 1 for fn, then the value found. */
static inline void with_ptrace_scope_1(struct __test_metadata *_metadata, int (*fn)(void *))
{
	const char *knob = "/proc/sys/kernel/yama/ptrace_scope";
	long scope = read_number(knob);

	if (scope < 0)
		SKIP(return, "no Yama in this kernel (%s)", knob);
	ASSERT_EQ(0, write_number(knob, 1));
	RACE(fn, NULL);
	write_number(knob, scope);
}

/* ---- counting queued signals ---------------------------------------- */

/*
 * Queued signals, each with its number k in si_value: tally[i][k] counts
 * the runs of the handler for sender i: 0 SIGRTMIN (to the process),
 * 1 SIGRTMIN + 2 and 2 SIGRTMIN + 3 (to the main thread: the handler must
 * run in the main flow, as for SIGUSR1). SIGRTMIN + 4 says a sender is
 * done: RT signals are taken lowest first.
 */
#define QUEUED		800
static unsigned char tally[3][QUEUED];
static atomic_int senders_done, usr1_seen, off_main_flow;

static inline void on_queued(int sig, siginfo_t *si, void *uc)
{
	int i = sig == SIGRTMIN ? 0 : sig == SIGRTMIN + 2 ? 1 : sig == SIGRTMIN + 3 ? 2 : -1;
	int k = si->si_value.sival_int;

	if ((i > 0 || sig == SIGUSR1) && syscall(SYS_gettid) != getpid())
		atomic_fetch_add(&off_main_flow, 1);
	if (sig == SIGRTMIN + 4)
		atomic_fetch_add(&senders_done, 1);
	else if (sig == SIGUSR1)
		atomic_fetch_add(&usr1_seen, 1);
	else if (i >= 0 && k >= 0 && k < QUEUED)
		__atomic_add_fetch(&tally[i][k], 1, __ATOMIC_RELAXED);
}

static inline void count_queued(void)
{
	struct sigaction sa = { .sa_sigaction = on_queued, .sa_flags = SA_SIGINFO | SA_RESTART };
	int sigs[] = { SIGRTMIN, SIGRTMIN + 4, SIGRTMIN + 2, SIGRTMIN + 3, SIGUSR1 };

	for (int i = 0; i < 5; i++)
		sigaction(sigs[i], &sa, NULL);
}

/*
 * 0 if every signal of sender i was handled exactly once, once the
 * handlers that may still run on other threads had 3 s (a poll: they
 * signal nothing).
 */
static inline int each_once(int i)
{
	double end = now_ms() + 3000;
	int n;

	do {
		n = 0;
		for (int k = 0; k < QUEUED; k++)
			n += __atomic_load_n(&tally[i][k], __ATOMIC_RELAXED);
	} while (n < QUEUED && now_ms() < end && !usleep(1000));
	for (int k = 0; k < QUEUED; k++)
		if (tally[i][k] != 1) {
			char st[4096], *pnd = st;

			slurp(st, sizeof(st), "/proc/self/status");
			pnd = strstr(st, "SigPnd:") ?: st;
			pnd[strcspn(pnd, "B")] = 0;	/* SigPnd and ShdPnd, up to SigBlk */
			return race_fail(60 + i, "sender %d: signal %d handled %d times (%s)", i, k,
					 tally[i][k], pnd);
		}
	return 0;
}

/* Queues QUEUED signals `sig` with send(k), then SIGRTMIN + 4; 0 or -1. */
static inline int send_all(int sig, int (*send)(int sig, int k))
{
	for (int k = 0; k <= QUEUED; k++)
		while (send(k < QUEUED ? sig : SIGRTMIN + 4, k))
			if (errno != EAGAIN)
				return race_fail(63, "queueing signal %d (%d): %s", sig, k, strerror(errno));
	return 0;
}

/* Moves until `senders` said done (and the signals came) or the deadline. */
static inline int move_while_signalled(int senders, int *moves)
{
	struct mover m;
	int rc = 0;

	mover_init(&m, 100 * RACE_ROUNDS, 2 * RACE_MS, RACE_MIN_MOVES);
	while (!rc && mover_more(&m) &&
	       (atomic_load(&senders_done) < senders || mover_moves(&m) < RACE_MIN_MOVES)) {
		rc = mover_round(&m);
		__atomic_store_n(moves, m.rounds, __ATOMIC_RELEASE);
	}
	rc = rc ?: mover_enough(&m);
	if (!rc && atomic_load(&senders_done) < senders)
		rc = race_fail(64, "%d of %d senders done", atomic_load(&senders_done), senders);
	return rc;
}

#endif /* LEADER_RACE_PEERS_H */
