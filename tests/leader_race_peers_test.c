// SPDX-License-Identifier: GPL-2.0
/*
 * Races of the leadership move against what other tasks do to the moving
 * process or ask of it (Documentation/leadership-move.md, section 2; one
 * test per place of the table in 3.6.1; tests/leader_race.h has the
 * mover, the racers and the oracle, leader_race_peers.h the moving child
 * and the signal counts): cgroup migration of the whole process, Yama's
 * descendant check, the parent's waitpid() with job control, signals
 * directed at the main thread (pthread_sigqueue(), tgkill() and
 * rt_tgsigqueueinfo() by pid from another process), TASKSTATS_CMD_GET of
 * a thread, and ARCH_REQ_XCOMP_PERM. The races of /proc files, of ptrace
 * attach by pid, of group signals and the stress test show open bugs:
 * tests/pending.
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
#include "leader_race_peers.h"

/* ---- T4: cgroup migration of the whole process ------------------------ */

struct cg_pair {
	char mnt[64], dir[2][128], rel[2][64];
};

/* 1 if every thread of this process is in cgroup `rel` (tasks that are gone skipped). */
static int all_threads_in(const char *rel)
{
	char path[300], line[300], want[80];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/task");
	int ok = dir != NULL;

	snprintf(want, sizeof(want), "0::%s\n", rel);
	while (ok && (d = readdir(dir))) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/cgroup", d->d_name);
		if (d->d_name[0] == '.' || !(f = fopen(path, "r")))
			continue;
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "0::", 3) && strcmp(line, want)) {
				say("thread %s is in %s", d->d_name, line + 3);
				ok = 0;
			}
		fclose(f);
	}
	if (dir)
		closedir(dir);
	return ok;
}

static void *migrate(void *arg)
{
	struct cg_pair *cg = arg;
	char path[160];

	for (int i = 0; racing(); i++) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir[i & 1]);
		if (write_number(path, getpid()))
			race_fail(20, "writing %d to %s: %s", getpid(), path, strerror(errno));
		else if (!all_threads_in(cg->rel[i & 1]))
			race_fail(21, "a thread missed the migration to %s", cg->rel[i & 1]);
	}
	return NULL;
}

static int cgroup_race(void *arg)
{
	struct cg_pair *cg = arg;
	char path[160], line[32];
	int rc = race_setup(), listed = 0, others = 0;
	struct mover m;
	pthread_t th;
	FILE *f;

	/* Spares that idle out would be skipped by a migration (PF_EXITING). */
	write_sysctl("syslet_idle_msecs", 60000);
	mover_init(&m, RACE_ROUNDS, RACE_MS, RACE_MIN_MOVES);
	if (rc || racers_start(&th, 1, migrate, cg))
		return rc ?: 2;
	rc = race_rounds(&m, NULL, NULL, &th, 1);
	/* Moves paused: the process is listed once, under its pid. */
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir[0]);
	write_number(path, getpid());
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		atoi(line) == getpid() ? listed++ : others++;
	if (f)
		fclose(f);
	if (!rc && (listed != 1 || others))
		rc = race_fail(22, "%s lists the pid %d times and %d other pids", path, listed, others);
	return rc ?: all_threads_in(cg->rel[0]) ? 0 : race_fail(23, "threads left behind");
}

HTEST(cgroup_procs_migration_while_leadership_moves)
{
	struct cg_pair cg;
	int i, made = 0;

	strcpy(cg.mnt, "/tmp/leader-race-cg-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(cg.mnt));
	ASSERT_EQ(0, syscall(__NR_mount, "cgroup2", cg.mnt, "cgroup2", 0, NULL))
		TH_LOG("mounting cgroup2: %s (CONFIG_CGROUPS is on in kconfig-test)", strerror(errno));
	for (i = 0; i < 2; i++) {
		snprintf(cg.rel[i], sizeof(cg.rel[i]), "/leader-race-%d-%c", getpid(), 'a' + i);
		snprintf(cg.dir[i], sizeof(cg.dir[i]), "%s%s", cg.mnt, cg.rel[i]);
		made += !mkdir(cg.dir[i], 0755);
	}
	if (made == 2)
		RACE(cgroup_race, &cg);
	else
		TH_LOG("mkdir in %s: %s", cg.mnt, strerror(errno));
	for (i = 0; i < 2; i++)
		rmdir(cg.dir[i]);
	syscall(__NR_umount2, cg.mnt, 0);
	rmdir(cg.mnt);
	EXPECT_EQ(2, made);
}

/* ---- Yama's descendant check, while the tracer moves ------------------- */

/* The tracer moves its own leadership; a thread of it attaches to its child. */
static void *trace_my_child(void *arg)
{
	struct moving *sh = arg;
	trace_by_pid(sh, 0);	/* a failure is the race's */
	return NULL;
}

static int descendant_race(void *unused)
{
	struct moving *sh = moving_page();
	struct mover m;
	pthread_t th;
	pid_t child;
	int rc = race_setup();

	if (rc || !sh || leader_check_keep() || become_nobody())
		return rc ?: 2;
	child = fork();
	if (!child)
		sleep_forever(NULL);
	sh->tracee = child;
	mover_init(&m, RACE_ROUNDS, RACE_MS, RACE_MIN_MOVES);
	if (racers_start(&th, 1, trace_my_child, sh))
		return 3;
	__atomic_store_n(&sh->stop, 0, __ATOMIC_RELEASE);
	while (!rc && mover_more(&m)) {
		rc = mover_round(&m);
		/* the tracer thread waits for a move after each attach */
		__atomic_store_n(&sh->rounds, m.rounds, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	rc = racers_stop(&th, 1) ?: rc ?: mover_enough(&m);
	kill_reap(sh->tracee);
	say("%d attaches to the child", sh->attaches);
	return rc ?: sh->attaches >= 10 ? 0 : race_fail(47, "only %d attaches", sh->attaches);
}

HTEST(yama_descendant_check_while_the_tracer_moves)
{
	with_ptrace_scope_1(_metadata, descendant_race);
}

/* ---- W8: the parent's waitpid() and job control --------------------------- */

static atomic_int chld_count, chld_other;
static pid_t chld_want;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	atomic_fetch_add(si->si_pid == chld_want ? &chld_count : &chld_other, 1);
}

/* Waits (polling: no event to wait on with WNOHANG) for one report; its status or -1. */
static int one_report(pid_t c, int flags)
{
	int status;

	for (double end = now_ms() + 5000; now_ms() < end; usleep(500)) {
		pid_t w = waitpid(c, &status, WNOHANG | flags);

		if (w == c)
			return status;
		if (w < 0)
			return race_fail(50, "waitpid(%d): %s while it lives", c, strerror(errno)), -1;
	}
	return -1;
}

static int parent_wait_race(void *unused)
{
	struct sigaction sa = { .sa_sigaction = on_chld, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct moving *sh = moving_page();
	int rc = race_setup(), stops = 0, st;

	if (rc || !sh)
		return rc ?: 2;
	sh->code = 42;
	sigaction(SIGCHLD, &sa, NULL);
	chld_want = sh->tracee = start_moving(sh, AS_ROOT);
	for (double end = now_ms() + RACE_MS; !rc && sh->tracee > 0 && now_ms() < end; stops++) {
		if (waitpid(sh->tracee, &st, WNOHANG | WUNTRACED | WCONTINUED) != 0)
			rc = race_fail(51, "waitpid(%d) reported %#x (errno %d) with nothing sent",
				       sh->tracee, st, errno);
		kill(sh->tracee, SIGSTOP);
		st = one_report(sh->tracee, WUNTRACED | WCONTINUED);
		if (!rc && (st == -1 || !WIFSTOPPED(st)))
			rc = race_fail(52, "after SIGSTOP: %#x, want one stop report", st);
		kill(sh->tracee, SIGCONT);
		st = one_report(sh->tracee, WUNTRACED | WCONTINUED);
		if (!rc && (st == -1 || !WIFCONTINUED(st)))
			rc = race_fail(53, "after SIGCONT: %#x, want one continue report", st);
		word_wait(&sh->rounds, sh->rounds + 3, 2000);	/* moves between the stops */
	}
	rc = stop_moving(sh->tracee, sh) ?: rc;
	say("%d stops and continues; SIGCHLD %d from the child, %d from others", stops,
	    atomic_load(&chld_count), atomic_load(&chld_other));
	/* SIGCHLD is not queued: a stop's and a continue's may make one. */
	if (!rc && (atomic_load(&chld_other) || atomic_load(&chld_count) < stops))
		rc = race_fail(54, "SIGCHLD si_pid wrong or signals missing");
	return rc ?: stops >= 5 ? 0 : race_fail(55, "only %d stops", stops);
}

HTEST(parent_waits_while_child_leadership_moves)
{
	RACE(parent_wait_race, NULL);
}

/* ---- signals directed at the main thread --------------------------------- */

static pthread_t main_thread;
static pid_t sig_target;

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

/*
 * The same at a second thread that hands off again and again: each of
 * QUEUED rt_tgsigqueueinfo() from another process to its TID must be
 * handled once. A send whose lookup found the thread just before a
 * handoff exchanged its TID queued the signal on the task that gave the
 * TID away, which never delivers it (patches/0027).
 */
static pid_t worker_tid;

static int queue_to_worker(int sig, int k)
{
	siginfo_t si = { .si_signo = sig, .si_code = SI_QUEUE };

	/* paced, so that the thread moves between the signals, not after */
	if (k % 4 == 0)
		usleep(500);
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = k;
	return syscall(SYS_rt_tgsigqueueinfo, sig_target, worker_tid, sig, &si);
}

static void *hand_off_until_signalled(void *arg)
{
	double end = now_ms() + 4 * RACE_MS;

	word_set((int *)&worker_tid, (int)syscall(SYS_gettid));
	while (atomic_load(&senders_done) < 1 && now_ms() < end) {
		thread_hand_off();
		__atomic_add_fetch((int *)arg, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int worker_race(void *unused)
{
	int rounds = 0, rc = race_setup(), status;
	long handoffs = syslet_stat("handoffs");
	pthread_t w;
	pid_t other;

	if (rc)
		return rc;
	count_queued();
	sig_target = getpid();
	if (pthread_create(&w, NULL, hand_off_until_signalled, &rounds) ||
	    !word_wait((int *)&worker_tid, 1, 10000))
		return 3;
	other = fork();
	if (!other)
		_exit(send_all(SIGRTMIN + 2, queue_to_worker) ? 1 : 0);
	pthread_join(w, NULL);
	if (!wait_deadline(other, &status, 10000) || !WIFEXITED(status) || WEXITSTATUS(status))
		rc = race_fail(83, "the other process: status %#x", status);
	handoffs = syslet_stat("handoffs") - handoffs;
	say("%d rounds, %ld moves of the second thread; %d signals to it", rounds, handoffs, QUEUED);
	if (!rc && atomic_load(&senders_done) < 1)
		rc = race_fail(84, "the sender's last signal never arrived");
	if (!rc && handoffs < RACE_MIN_MOVES)
		rc = race_fail(85, "only %ld moves while the signals came", handoffs);
	return rc ?: each_once(1);
}

HTEST(thread_directed_signals_reach_a_second_thread_during_its_handoffs)
{
	RACE(worker_race, NULL);
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

TEST_HARNESS_MAIN
