/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The race tests of the leadership move (issue #17; the places they race
 * are Documentation/leadership-move.md, section 2, one test per place of
 * the table in 3.6.1): leader_race_test.c, leader_race_peers_test.c (and
 * leader_race_peers.h), and those of tests/pending. After
 * kselftest_harness.h and handoff_test.h.
 *
 * A race runs in the main thread of a child process (RACE()): a mover
 * hands the main flow's context off round after round, each time with
 * async_exec() of a chain whose first atom has SYSLET_ASYNC, so the
 * context moves at once, and T, the task it left, runs the rest of the
 * chain (a racing call as "T's atom") while S applies the context and
 * takes the leadership. Racer threads (racers_start()) hammer the place
 * meanwhile. After every round the mover checks the common oracle:
 * gettid() == getpid() in the main flow, and the kernel's own
 * /sys/kernel/debug/syslet/leader_check says "ok" for the group. Rounds
 * stop at RACE_ROUNDS or at the deadline, and a race that made fewer
 * than its minimum of moves fails: none can pass without racing.
 * A race returns a nonzero code (its child's exit code) after saying
 * what broke on stderr; racer threads report through race_fail().
 */
#ifndef LEADER_RACE_H
#define LEADER_RACE_H

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define LEADER_CHECK	"/sys/kernel/debug/syslet/leader_check"

#ifndef RACE_ROUNDS
#define RACE_ROUNDS	500	/* moves of one race at most */
#endif
#define RACE_MS		5000	/* and its rounds stop after this long */
#define RACE_MIN_MOVES	60	/* a race that made fewer failed */
#define RACE_CHILD_MS	25000	/* a race child still running then is killed */

/* ---- the oracle ------------------------------------------------------ */

static int race_oracle_fd = -1;	/* kept open for a child that drops root */
static pid_t race_oracle_owner;

/* Opens the oracle for this process now (before dropping root); 0 or -1. */
static inline int leader_check_keep(void)
{
	race_oracle_fd = open(LEADER_CHECK, O_RDWR | O_CLOEXEC);
	race_oracle_owner = getpid();
	return race_oracle_fd < 0 ? -1 : 0;
}

/*
 * The kernel's verdict on the thread group of `pid`: 0 "ok", 1 an
 * invariant broken (said, with `when`), -1 the oracle not answering.
 */
static inline int leader_check(pid_t pid, const char *when)
{
	char buf[96];
	int fd, n, kept = 0;

	fd = open(LEADER_CHECK, O_RDWR | O_CLOEXEC);
	if (fd < 0 && race_oracle_owner == getpid() && race_oracle_fd >= 0) {
		fd = race_oracle_fd;	/* only the main flow uses it */
		kept = 1;
	}
	if (fd < 0) {
		say("%s: cannot open %s: %s", when, LEADER_CHECK, strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%d", pid);
	if (write(fd, buf, n) != n) {
		say("%s: leader_check of %d: write: %s", when, pid, strerror(errno));
		n = -1;
	} else {
		n = read(fd, buf, sizeof(buf) - 1);
	}
	if (!kept)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	if (!strcmp(buf, "ok\n"))
		return 0;
	say("%s: leader_check of %d: %s", when, pid, strtok(buf, "\n"));
	return 1;
}

/* ---- racers ---------------------------------------------------------- */

static atomic_int race_stop;	/* set: racers end their loops */
static atomic_int race_failed;	/* the first failure code of the race */

/* Records the first failure (code, what) of the race; returns code. */
__attribute__((format(printf, 2, 3)))
static inline int race_fail(int code, const char *fmt, ...)
{
	char line[400];
	va_list ap;
	int zero = 0;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	say("%s", line);
	atomic_compare_exchange_strong(&race_failed, &zero, code);
	return code;
}

/* A child of a race starts with no failure and its racers not stopped. */
static inline void race_reset(void)
{
	atomic_store(&race_stop, 0);
	atomic_store(&race_failed, 0);
}

static inline int racing(void)
{
	return !atomic_load(&race_stop) && !atomic_load(&race_failed);
}

/* Starts n threads running fn(arg); 0, or -1 (then none is left running). */
static inline int racers_start(pthread_t *th, int n, void *(*fn)(void *), void *arg)
{
	pthread_attr_t at;
	int i;

	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 64 << 10);
	for (i = 0; i < n; i++)
		if (pthread_create(&th[i], &at, fn, arg)) {
			atomic_store(&race_stop, 1);
			while (i--)
				pthread_join(th[i], NULL);
			return -1;
		}
	return 0;
}

/* Stops every racer, joins n of them; the race's first failure or 0. */
static inline int racers_stop(pthread_t *th, int n)
{
	atomic_store(&race_stop, 1);
	while (n--)
		pthread_join(th[n], NULL);
	return atomic_load(&race_failed);
}

/* ---- the mover -------------------------------------------------------- */

struct mover {
	struct syslet_uatom atom[2];	/* the move; T's atom, if any */
	long ret[2];
	unsigned long arg[6];
	struct syslet_uatom *ring[8];
	struct async_head_user ahu;
	long handoffs0;
	double end;
	int rounds, max_rounds, min_moves;
	int eagain;		/* rounds refused for want of a spare */
	int refused;		/* the last one was: not counted in rounds */
};

static inline void mover_init(struct mover *m, int max_rounds, int ms, int min_moves)
{
	memset(m, 0, sizeof(*m));
	m->ahu.completion_ring = m->ring;
	m->ahu.ring_size_bytes = sizeof(m->ring);
	m->max_rounds = max_rounds;
	m->min_moves = min_moves;
	m->end = now_ms() + ms;
	m->handoffs0 = syslet_stat("handoffs");
}

static inline int mover_more(const struct mover *m)
{
	return m->rounds < m->max_rounds && now_ms() < m->end && !atomic_load(&race_failed);
}

static inline long mover_moves(const struct mover *m)
{
	return syslet_stat("handoffs") - m->handoffs0;
}

/*
 * One round: the main flow's context moves (SYSLET_ASYNC getppid), and T
 * then runs nr(args[0..nargs-1]) if nr >= 0; its result is m->ret[1].
 * Checks the common oracle. 0, or a failure code (said).
 */
static inline int mover_round_with(struct mover *m, long nr, int nargs, const unsigned long *args)
{
	struct syslet_uatom *last = &m->atom[nr >= 0], *got;
	unsigned long *ptr[6] = { 0 };
	long r;
	int i, refused;

	for (i = 0; i < nargs && i < 6; i++) {
		m->arg[i] = args[i];
		ptr[i] = &m->arg[i];
	}
	atom_set(&m->atom[0], SYSLET_ASYNC, __NR_getppid, &m->ret[0], nr >= 0 ? &m->atom[1] : NULL, NULL);
	if (nr >= 0)
		atom_set(&m->atom[1], 0, nr, &m->ret[1], NULL, ptr);
	m->ret[0] = m->ret[1] = NO_ATOM;
	do {
		errno = 0;
		r = sys_async_exec(&m->atom[0], &m->ahu);
	} while (r == -1 && errno == EINTR);
	/* No spare to be had this time (async_exec(2), EAGAIN): not a move. */
	m->refused = refused = r == -1 && errno == EAGAIN && m->ret[0] == NO_ATOM;
	m->eagain += refused;
	if (r == 0) {
		while (!(got = reap(&m->ahu, m->ring, 8)) && errno == EINTR)
			;
		if (got != last)
			return race_fail(101, "round %d: completion %p, want %p (errno %d)",
					 m->rounds, (void *)got, (void *)last, errno);
	} else if (r != (long)last && !refused) {
		return race_fail(102, "round %d: async_exec() = %ld (errno %d)", m->rounds, r, errno);
	}
	m->rounds += !refused;
	if (m->ret[0] != getppid() && !refused)
		return race_fail(103, "round %d: the moved atom's getppid() = %ld, want %d",
				 m->rounds, m->ret[0], getppid());
	if (syscall(SYS_gettid) != getpid())
		return race_fail(104, "round %d: gettid() %ld != getpid() %d in the main flow",
				 m->rounds, syscall(SYS_gettid), getpid());
	if (leader_check(getpid(), "after a move"))
		return race_fail(105, "round %d: the group's leadership is broken", m->rounds);
	return 0;
}

static inline int mover_round(struct mover *m)
{
	return mover_round_with(m, -1, 0, NULL);
}

/*
 * One handoff of the calling thread, any thread (a mover round without
 * the main-thread checks): SYSLET_ASYNC getppid(), reaped.
 */
static inline void thread_hand_off(void)
{
	struct syslet_uatom atom, *ring[8] = { 0 };
	struct async_head_user ahu = RING_HEAD(ring);
	long ret = NO_ATOM, r;

	atom_set(&atom, SYSLET_ASYNC, __NR_getppid, &ret, NULL, NULL);
	do {
		errno = 0;
		r = sys_async_exec(&atom, &ahu);
	} while (r == -1 && errno == EINTR);
	if (r == 0)
		while (!reap(&ahu, ring, 8) && errno == EINTR)
			;
}

/* After the rounds: 0 if the race moved the leadership often enough. */
static inline int mover_enough(const struct mover *m)
{
	long moves = mover_moves(m);

	if (moves >= m->min_moves)
		return 0;
	return race_fail(106, "only %ld moves in %d rounds, %d refused with EAGAIN (want at least %d moves)",
			 moves, m->rounds, m->eagain, m->min_moves);
}

/*
 * Rounds until the deadline; after each, each(m, arg) adds the test's own
 * checks (NULL: none). Then the racers are stopped and joined; returns
 * the first failure, or mover_enough().
 */
static inline int race_rounds(struct mover *m, int (*each)(struct mover *, void *), void *arg,
			      pthread_t *th, int nth)
{
	int rc = 0;

	while (!rc && mover_more(m)) {
		rc = mover_round(m);
		if (!rc && each)
			rc = each(m, arg);
	}
	rc = racers_stop(th, nth) ?: rc;
	return rc ?: mover_enough(m);
}

/*
 * The test's process, as root, with the handoff on and idle spares that
 * exit after 10 ms, so that a demoted leader is soon freed and a stale
 * pointer to it becomes a KASAN report rather than a silent read.
 */
static inline int race_setup(void)
{
	race_reset();
	write_sysctl("syslet_handoff", 1);
	write_sysctl("syslet_idle_msecs", 10);
	return leader_check(getpid(), "before the race") ? 107 : 0;
}

/* In a test: fn(arg) in the main thread of a child, as root. */
#define RACE(fn, arg) expect_case(_metadata, run_child(fn, arg, AS_ROOT, RACE_CHILD_MS), AS_ROOT)

/* ---- shared racers ---------------------------------------------------- */

/* A handler that counts the signals of each number. */
static atomic_int signals_seen[65];

static inline void count_signal(int sig)
{
	atomic_fetch_add(&signals_seen[sig], 1);
}

/* The two limit pairs the races alternate between: a mix is a torn copy. */
static const struct rlimit race_pairs[2] = { { 64, 128 }, { 96, 256 } };

static inline int limits_whole(const struct rlimit *r)
{
	return (r->rlim_cur == 64 && r->rlim_max == 128) || (r->rlim_cur == 96 && r->rlim_max == 256);
}

/* Racer: alternates RLIMIT_NOFILE between the two pairs. */
static inline void *flip_limits(void *unused)
{
	for (unsigned long i = 0; racing(); i++) {
		if (setrlimit(RLIMIT_NOFILE, &race_pairs[i & 1]))
			race_fail(110, "setrlimit(NOFILE, pair %lu): %s", i & 1, strerror(errno));
	}
	return NULL;
}

/*
 * Racer: fork(); the child exits 0 if its RLIMIT_NOFILE is one of the
 * pairs, 1 if a mix; the parent waits for it. Counts in *arg (a long).
 */
static inline void *fork_and_wait(void *arg)
{
	while (racing()) {
		struct rlimit r;
		int status;
		pid_t c = fork();

		if (c == 0)
			_exit(getrlimit(RLIMIT_NOFILE, &r) || !limits_whole(&r) ? 1 : 0);
		if (c < 0) {
			race_fail(111, "fork: %s", strerror(errno));
			break;
		}
		if (waitpid(c, &status, 0) != c)
			race_fail(112, "waitpid(%d): %s", c, strerror(errno));
		else if (!WIFEXITED(status) || WEXITSTATUS(status))
			race_fail(113, "a child forked mid-move got torn limits (status %#x)", status);
		__atomic_add_fetch((long *)arg, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Racer: setpgid(0, 0) and setpgid(pid, pid) always succeed. */
static inline void *set_own_pgid(void *unused)
{
	while (racing()) {
		if (setpgid(0, 0) || setpgid(getpid(), getpid()))
			race_fail(120, "setpgid of the process mid-move: %s", strerror(errno));
		else if (getpgid(0) != getpid())
			race_fail(121, "getpgid(0) = %d, want %d", getpgid(0), getpid());
	}
	return NULL;
}

/*
 * Attaches to `pid` by its pid, stops it, reads its registers and
 * detaches: 0, or the step that failed (errno kept; step 3 with
 * ETIMEDOUT: no stop of `pid` came within 5 s). The caller traces from
 * one thread at a time.
 */
static inline int seize_and_detach(pid_t pid)
{
	struct { unsigned long r[27]; } regs;
	double end = now_ms() + 5000;
	int status;

	if (ptrace(PTRACE_SEIZE, pid, 0, 0))
		return 1;
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0))
		return 2;
	for (;;) {	/* polled: a stop of another task must not block us */
		pid_t w = waitpid(pid, &status, __WALL | WNOHANG);

		if (w == pid && WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP)
			break;
		if (w == pid && WIFSTOPPED(status)) {	/* a signal stop: let it go */
			ptrace(PTRACE_CONT, pid, 0, WSTOPSIG(status));
			ptrace(PTRACE_INTERRUPT, pid, 0, 0);
		} else if (w < 0 && errno != EINTR) {
			return 3;
		} else if (now_ms() > end) {
			errno = ETIMEDOUT;
			return 3;
		}
		usleep(200);
	}
	if (ptrace(PTRACE_GETREGS, pid, 0, &regs))
		return 4;
	return ptrace(PTRACE_DETACH, pid, 0, 0) ? 5 : 0;
}

/* The process's CPU time (CLOCK_PROCESS_CPUTIME_ID), in seconds. */
static inline double process_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A thread that only sleeps (pause() is a cancellation point). */
static inline void *sleep_forever(void *unused)
{
	for (;;)
		pause();
	return NULL;
}

/* The text of the file at path (printf-style) into buf, "" if unreadable; its length. */
__attribute__((format(printf, 3, 4)))
static inline int slurp(char *buf, size_t len, const char *fmt, ...)
{
	char path[300];
	va_list ap;
	FILE *f;
	int n;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	f = fopen(path, "r");
	n = f ? fread(buf, 1, len - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	return n;
}

/* ---- another image: exec'd by the exec races -------------------------- */

#define RACE_EXEC_MARK	"--leader-race-exec"
#define RACE_EXEC_CODE	7

/*
 * The image a thread of a moving process execs: writes its pid as text
 * to fd argv[2] and exits RACE_EXEC_CODE (glibc passes argc and argv to
 * constructors).
 */
__attribute__((constructor)) static void race_exec_image(int argc, char **argv)
{
	char line[24];
	int n;

	if (argc < 3 || strcmp(argv[1], RACE_EXEC_MARK))
		return;
	n = snprintf(line, sizeof(line), "%d\n", getpid());
	_exit(write(atoi(argv[2]), line, n) == n ? RACE_EXEC_CODE : 1);
}

/* Execs the image above, telling it to write to `fd`; returns only on error. */
static inline int race_exec(int fd)
{
	char num[16], *argv[] = { "/proc/self/exe", RACE_EXEC_MARK, num, NULL };

	snprintf(num, sizeof(num), "%d", fd);
	execv(argv[0], argv);
	return -1;
}

/*
 * ---- children that end mid-move: exec, setsid, exit ----------------
 * Each runs in a child process of a race, moves the leadership and adds
 * its moves to *moves (a word shared with the race).
 */

struct exec_child {
	int fd, after;		/* the pipe the new image writes to; exec after that many rounds */
	int rounds;		/* the mover's rounds, for the exec'ing thread */
};

static void *exec_after_rounds(void *arg)
{
	struct exec_child *e = arg;

	word_wait(&e->rounds, e->after, 10000);
	race_exec(e->fd);
	race_fail(30, "exec from a thread failed: %s", strerror(errno));
	return NULL;
}

/* The child: moves until the exec'ing thread's exec ends it. */
static inline int exec_child(struct exec_child *e, int *moves)
{
	struct mover m;
	pthread_t th;

	race_reset();
	mover_init(&m, 5 * RACE_ROUNDS, 10000, 0);
	if (racers_start(&th, 1, exec_after_rounds, e))
		return 31;
	while (mover_more(&m) && !mover_round(&m)) {
		word_set(&e->rounds, m.rounds);
		__atomic_add_fetch(moves, 1, __ATOMIC_RELAXED);
	}
	return atomic_load(&race_failed) ?: 32;	/* the exec never came */
}

struct session_child {
	int at, by_atom;	/* setsid at that round: from a thread, or as T's atom */
	int rounds;
};

static void *setsid_at_round(void *arg)
{
	struct session_child *s = arg;
	pid_t sid;

	word_wait(&s->rounds, s->at, 10000);
	sid = setsid();
	if (sid != getpid())
		race_fail(50, "setsid() from a thread mid-move = %d (errno %d), want %d", sid, errno, getpid());
	return NULL;
}

static inline int session_child(struct session_child *s, int *moves)
{
	struct mover m;
	pthread_t th;
	int rc = 0;

	race_reset();
	mover_init(&m, s->at + 15, RACE_MS, 0);
	if (!s->by_atom && racers_start(&th, 1, setsid_at_round, s))
		return 51;
	while (!rc && mover_more(&m)) {
		if (s->by_atom && m.rounds == s->at) {
			rc = mover_round_with(&m, __NR_setsid, 0, NULL);
			if (!rc && !m.refused && m.ret[1] != getpid())
				rc = race_fail(52, "setsid() as T's atom = %ld, want %d", m.ret[1], getpid());
		} else {
			rc = mover_round(&m);
		}
		word_set(&s->rounds, m.rounds);
		__atomic_add_fetch(moves, 1, __ATOMIC_RELAXED);
	}
	if (!s->by_atom)
		rc = racers_stop(&th, 1) ?: rc;
	if (!rc && (getsid(0) != getpid() || getpgid(0) != getpid()))
		rc = race_fail(53, "after setsid: getsid %d, getpgid %d, pid %d", getsid(0), getpgid(0), getpid());
	return rc;
}

/*
 * How a moving process ends, at round `at`: its main flow calls _exit(3)
 * right after a move, while T still runs the chain; or pthread_exit()s
 * then, and the last user thread leaves by exit(2) with 9: the process's
 * status is the last thread's code, 9, as on stock Linux (the last thread
 * to exit sets the group's code: kernel/exit.c, synchronize_group_exit());
 * or another thread calls _exit(5) between moves.
 */
enum exit_kind { MAIN_EXITS, MAIN_THREAD_EXITS, OTHER_EXIT_GROUP, EXIT_KINDS };
static const int exit_want[EXIT_KINDS] = { 3, 9, 5 };

struct exit_child {
	enum exit_kind kind;
	int at, rounds;
};

static void *exit_other(void *arg)
{
	struct exit_child *x = arg;

	word_wait(&x->rounds, x->kind == OTHER_EXIT_GROUP ? x->at : 1 << 30, 15000);
	if (x->kind == OTHER_EXIT_GROUP)
		_exit(5);
	/* The main flow left (a zombie, polled: nothing to wait on). */
	for (double end = now_ms() + 3000; thread_state(getpid()) != 'Z' && now_ms() < end; )
		usleep(1000);
	raw_syscall4(__NR_exit, 9, 0, 0, 0);
	return NULL;
}

static inline int exit_child(struct exit_child *x, int *moves)
{
	struct mover m;
	pthread_t th;
	long r;

	race_reset();
	mover_init(&m, x->at + 40, 10000, 0);
	if (racers_start(&th, 1, exit_other, x))
		return 80;
	while (mover_more(&m)) {
		if (m.rounds + 1 == x->at && x->kind != OTHER_EXIT_GROUP) {
			/* Leave right after the move, while T still runs the chain. */
			atom_set(&m.atom[0], SYSLET_ASYNC, __NR_getppid, &m.ret[0], NULL, NULL);
			r = sys_async_exec(&m.atom[0], &m.ahu);
			if (r == -1 && errno == EAGAIN)
				continue;	/* no spare this time: again */
			if (r != 0)
				return 81;
			if (x->kind == MAIN_EXITS)
				_exit(3);
			word_set(&x->rounds, 1 << 30);
			pthread_exit(NULL);
		}
		if (mover_round(&m))
			return atomic_load(&race_failed);
		word_set(&x->rounds, m.rounds);
		__atomic_add_fetch(moves, 1, __ATOMIC_RELAXED);
	}
	return 82;	/* the exit never came */
}

#endif /* LEADER_RACE_H */
