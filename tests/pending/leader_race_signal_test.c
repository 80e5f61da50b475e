// SPDX-License-Identifier: GPL-2.0
/*
 * Races of the leadership move against signals, taskstats and the
 * xstate permissions, and the stress test (Documentation/
 * leadership-move.md, section 2; one test per place of the table in
 * 3.6.1; tests/leader_race.h has the mover, the racers and the oracle):
 * group signals with group stops and thread churn, signals directed at
 * the main thread (pthread_sigqueue(), tgkill() and rt_tgsigqueueinfo()
 * by pid from another process), TASKSTATS_CMD_GET of a thread, and
 * ARCH_REQ_XCOMP_PERM; then hundreds of moves racing fork, setpgid,
 * setsid, setrlimit, exec, ptrace attach and exit at once.
 *
 * Every race moves the leadership hundreds of times in one process, under
 * a deadline; the debug kernel's log must stay clean (make test fails on
 * any splat). The program must run as root.
 */
#define _GNU_SOURCE
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "leader_race.h"

#define HTEST_SECONDS 40
#include "handoff_fixture.h"

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

static void on_queued(int sig, siginfo_t *si, void *uc)
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

static void count_queued(void)
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
static int each_once(int i)
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
static int send_all(int sig, int (*send)(int sig, int k))
{
	for (int k = 0; k <= QUEUED; k++)
		while (send(k < QUEUED ? sig : SIGRTMIN + 4, k))
			if (errno != EAGAIN)
				return race_fail(63, "queueing signal %d (%d): %s", sig, k, strerror(errno));
	return 0;
}

/* Moves until `senders` said done (and the signals came) or the deadline. */
static int move_while_signalled(int senders, int *moves)
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

/* ---- signals directed at the main thread --------------------------------- */

static pthread_t main_thread;

static int queue_to_main_thread(int sig, int k)
{
	int e = pthread_sigqueue(main_thread, sig, (union sigval){ .sival_int = k });

	errno = e;
	return e ? -1 : 0;
}

static void *send_to_main_thread(void *unused)
{
	send_all(SIGRTMIN + 2, queue_to_main_thread);
	return NULL;
}

/* From another process: rt_tgsigqueueinfo(pid, pid), and tgkill(pid, pid). */
static int queue_by_tgid(int sig, int k)
{
	siginfo_t si = { .si_signo = sig, .si_code = SI_QUEUE };

	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = k;
	if (k % 100 == 0 && syscall(SYS_tgkill, sig_target, sig_target, SIGUSR1))
		return -1;
	return syscall(SYS_rt_tgsigqueueinfo, sig_target, sig_target, sig, &si);
}

static int directed_race(void *unused)
{
	int moves = 0, rc = race_setup(), status;
	pthread_t th;
	pid_t other;

	if (rc)
		return rc;
	count_queued();
	main_thread = pthread_self();
	sig_target = getpid();
	other = fork();
	if (!other)
		_exit(send_all(SIGRTMIN + 3, queue_by_tgid) ? 1 : 0);
	if (racers_start(&th, 1, send_to_main_thread, NULL))
		return 3;
	rc = move_while_signalled(2, &moves);
	rc = racers_stop(&th, 1) ?: rc;
	if (!wait_deadline(other, &status, 10000) || !WIFEXITED(status) || WEXITSTATUS(status))
		rc = rc ?: race_fail(80, "the other process: status %#x", status);
	say("%d moves; %d signals each from a thread and from another process, SIGUSR1 %d",
	    moves, QUEUED, atomic_load(&usr1_seen));
	if (!rc && atomic_load(&off_main_flow))
		rc = race_fail(81, "%d handlers ran outside the main flow", atomic_load(&off_main_flow));
	if (!rc && atomic_load(&usr1_seen) < 1)
		rc = race_fail(82, "tgkill(pid, pid, SIGUSR1) never arrived");
	return rc ?: each_once(1) ?: each_once(2);
}

HTEST(thread_directed_signals_reach_the_main_flow_during_moves)
{
	RACE(directed_race, NULL);
}

/* ---- P9: taskstats of a thread, whose leader moves --------------------- */

struct genl_msg {
	struct nlmsghdr n;
	struct genlmsghdr g;
	char buf[2048];
};

/* Sends one request with one attribute; receives the answer into m. 0 or -1. */
static int genl_ask(int fd, __u16 family, __u8 cmd, __u16 type, const void *data, int len,
		    struct genl_msg *m)
{
	struct nlattr *a = (struct nlattr *)m->buf;

	memset(m, 0, sizeof(*m));
	m->n.nlmsg_type = family;
	m->n.nlmsg_flags = NLM_F_REQUEST;
	m->g.cmd = cmd;
	m->g.version = 1;
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	m->n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN) + NLA_ALIGN(a->nla_len);
	if (send(fd, m, m->n.nlmsg_len, 0) < 0 || recv(fd, m, sizeof(*m), 0) < (int)NLMSG_HDRLEN)
		return -1;
	return m->n.nlmsg_type == NLMSG_ERROR ? -1 : 0;
}

/* The attribute `type` among those from `a` over `len` bytes, or NULL. */
static struct nlattr *genl_attr(struct nlattr *a, int len, int type)
{
	while (len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
		len -= NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
	}
	return NULL;
}

static __u16 taskstats_family;

/* Racer: taskstats of its own TID (bacct_add_tsk() reads its leader's start). */
static void *ask_taskstats(void *unused)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	__u32 tid = syscall(SYS_gettid);
	struct genl_msg m;
	__u64 btime0 = 0;

	while (fd >= 0 && racing()) {
		struct nlattr *agg, *st;
		struct taskstats *ts;

		if (genl_ask(fd, taskstats_family, TASKSTATS_CMD_GET, TASKSTATS_CMD_ATTR_PID,
			     &tid, sizeof(tid), &m) ||
		    !(agg = genl_attr((struct nlattr *)m.buf, m.n.nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN),
				      TASKSTATS_TYPE_AGGR_PID)) ||
		    !(st = genl_attr(agg + 1, agg->nla_len - NLA_HDRLEN, TASKSTATS_TYPE_STATS))) {
			race_fail(30, "TASKSTATS_CMD_GET of thread %u: no answer", tid);
			break;
		}
		ts = (struct taskstats *)((char *)st + NLA_HDRLEN);
		if (!btime0)
			btime0 = ts->ac_btime;
		if (ts->ac_pid != tid || ts->ac_btime + 1 < btime0 || ts->ac_btime > btime0 + 1)
			race_fail(31, "taskstats of %u: ac_pid %u, ac_btime %llu (first %llu)", tid,
				  ts->ac_pid, (unsigned long long)ts->ac_btime, (unsigned long long)btime0);
	}
	if (fd < 0)
		race_fail(32, "netlink socket: %s", strerror(errno));
	else
		close(fd);
	return NULL;
}

static int taskstats_race(void *unused)
{
	struct nlattr *id;
	struct genl_msg m;
	struct mover m2;
	pthread_t th[2];
	int rc = race_setup(), fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);

	if (rc || fd < 0)
		return rc ?: 2;
	if (genl_ask(fd, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME,
		     TASKSTATS_GENL_NAME, sizeof(TASKSTATS_GENL_NAME), &m)) {
		say("no TASKSTATS generic netlink family: CONFIG_TASKSTATS is not set in this kernel");
		return CASE_SKIP;
	}
	id = genl_attr((struct nlattr *)m.buf, m.n.nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN),
		       CTRL_ATTR_FAMILY_ID);
	if (!id)
		return 3;
	taskstats_family = *(__u16 *)(id + 1);
	close(fd);
	mover_init(&m2, RACE_ROUNDS, RACE_MS, RACE_MIN_MOVES);
	if (racers_start(th, 2, ask_taskstats, NULL))
		return 4;
	return race_rounds(&m2, NULL, NULL, th, 2);
}

HTEST(taskstats_while_leadership_moves)
{
	RACE(taskstats_race, NULL);
}

/* ---- W7: ARCH_REQ_XCOMP_PERM while the leadership moves -------------- */

#define ARCH_GET_XCOMP_SUPP	0x1021
#define ARCH_GET_XCOMP_PERM	0x1022
#define ARCH_REQ_XCOMP_PERM	0x1023
#define XTILEDATA		18

static int xcomp_round;	/* the request comes after that round; set: it came */
static atomic_int xcomp_granted;

static int has_tiledata(const char *who)
{
	unsigned long perm = 0;

	if (syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &perm) || !(perm & (1UL << XTILEDATA)))
		return race_fail(90, "%s: ARCH_GET_XCOMP_PERM %#lx lost the granted tile data", who, perm);
	return 0;
}

static void *request_and_check_perm(void *unused)
{
	word_wait(&xcomp_round, RACE_MIN_MOVES / 2, 10000);
	if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XTILEDATA))
		race_fail(91, "ARCH_REQ_XCOMP_PERM: %s", strerror(errno));
	atomic_store(&xcomp_granted, 1);
	while (racing() && !has_tiledata("a racer"))
		;
	return NULL;
}

static int xcomp_each(struct mover *m, void *unused)
{
	word_set(&xcomp_round, m->rounds);
	return atomic_load(&xcomp_granted) ? has_tiledata("the main flow") : 0;
}

static int xcomp_race(void *unused)
{
	unsigned long supp = 0;
	struct mover m;
	pthread_t th;
	int rc = race_setup();

	if (rc || syscall(SYS_arch_prctl, ARCH_GET_XCOMP_SUPP, &supp))
		return rc ?: 2;
	if (!(supp & (1UL << XTILEDATA))) {
		say("the CPU has no AMX tile data (XCOMP_SUPP %#lx; QEMU TCG emulates none)", supp);
		return CASE_SKIP;
	}
	mover_init(&m, RACE_ROUNDS, RACE_MS, RACE_MIN_MOVES);
	if (racers_start(&th, 1, request_and_check_perm, NULL))
		return 3;
	rc = race_rounds(&m, xcomp_each, NULL, &th, 1);
	return rc ?: atomic_load(&xcomp_granted) ? 0 : race_fail(92, "never requested");
}

HTEST(xcomp_perm_while_leadership_moves)
{
	RACE(xcomp_race, NULL);
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
