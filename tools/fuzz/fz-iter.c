// SPDX-License-Identifier: GPL-2.0
/*
 * One iteration: a process of its own that runs `nops` operations, each
 * drawn from the PRNG of (SEED, ITER, op index), checks what the kernel
 * answers, and exits with a status the supervisor classifies. Its log,
 * its failure text, counters and coverage go to its slot.
 *
 * A watchdog thread ends the process when an op runs longer than
 * --hang-secs (FZ_EXIT_HANG, a failure; FZ_EXIT_LOOPED when the op was one
 * that may legitimately not end, such as a mutated chain), and sends the
 * kicks (SIGUSR2) that end calls waiting for something that may never come.
 */
#include "fz-chain.h"
#include <sys/prctl.h>
#include <ucontext.h>

volatile sig_atomic_t sig_usr1, sig_usr2, sig_pipe, sig_xfsz;
static struct ctx *the_ctx;

/* The ops and their weights (the op of an index is drawn among all of
 * them, so --no-NAME leaves the other indices unchanged). */
const struct opdef opdefs[] = {
	{ "chain", op_chain, 20, 0 },
	{ "chain-loop", op_chain_loop, 6, 0 },
	{ "chain-mutate", op_chain_mutate, 4, 0 },
	{ "chain-thread", op_chain_thread, 4, 0 },
	{ "async-wait", op_async_wait, 6, 0 },
	{ "ring", op_ring, 3, 0 },
	{ "reap", op_reap, 3, 0 },
	{ "umem", op_umem, 5, 0 },
	{ "threadlet", op_threadlet, 7, 0 },
	{ "threadlet-raw", op_threadlet_raw, 5, 0 },
	{ "fdup", op_fdup, 6, 0 },
	{ "fd-create", op_fd_create, 6, 0 },
	{ "close-range", op_close_range, 3, 0 },
	{ "scm", op_scm, 3, 0 },
	{ "fd-check", op_fd_check, 3, 0 },
	{ "fd-fork", op_fd_fork, 2, 0 },
	{ "fd-exec", op_fd_exec, 2, 0 },
	{ "aio", op_aio, 7, 0 },
	{ "aio-verify", op_aio_verify, 2, 0 },
	{ "fork", op_fork, 2, 0 },
	{ "exec", op_exec, 2, 0 },
	{ "signal", op_signal, 4, 0 },
	{ "stop-loop", op_stop_loop, 1, 0 },
	{ "kill-loop", op_kill_loop, 1, 0 },
	{ "seccomp", op_seccomp, 1, 0 },
	{ "setuid", op_setuid, 1, 1 },
	{ "rlimit", op_rlimit, 1, 0 },
};
const int nopdefs = sizeof(opdefs) / sizeof(opdefs[0]);

/* --no-NAME also takes these: parts of ops, and what the supervisor does. */
static const char *const extra_names[] = {
	"threadlet-exec", "threadlet-fork", "threadlet-signal", "threadlet-exit",
	"chaos-stop", "chaos-kill", "chaos-signal", "sysctl-flip",
};
#define N_EXTRA (int)(sizeof(extra_names) / sizeof(extra_names[0]))

int name_count(void)
{
	return nopdefs + N_EXTRA;
}

const char *name_at(int i)
{
	return i < nopdefs ? opdefs[i].name : extra_names[i - nopdefs];
}

int name_index(const char *name)
{
	for (int i = 0; i < name_count(); i++)
		if (!strcmp(name, name_at(i)))
			return i;
	return -1;
}

int disabled_name(const char *name)
{
	return disabled(name_index(name));
}

/* ---- helpers ------------------------------------------------------------------ */

double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	return rsys2(__NR_nanosleep, &ts, NULL);
}

void count_exec(struct ctx *c, int n)
{
	__atomic_add_fetch(&c->slot->execs, n, __ATOMIC_RELAXED);
}

void check(struct ctx *c)
{
	__atomic_add_fetch(&c->slot->checks, 1, __ATOMIC_RELAXED);
}

const char *errname(long e)
{
	const char *n = e > 0 && e < 4096 ? strerrorname_np(e) : NULL;

	if (n)
		return n;
	return e == 512 ? "ERESTARTSYS" : e == 513 ? "ERESTARTNOINTR" : e == 514 ? "ERESTARTNOHAND" :
	       e == 516 ? "ERESTART_RESTARTBLOCK" : "E-unknown";
}

static void log_line(struct slot *s, const char *line)
{
	int idx = __atomic_fetch_add(&s->nlines, 1, __ATOMIC_RELAXED);

	/* The first 48 lines stay; after that the rest is a ring. */
	if (idx >= FZ_LOG_LINES)
		idx = 48 + (idx - 48) % (FZ_LOG_LINES - 48);
	snprintf(s->log[idx], FZ_LOG_LEN, "%s", line);
	if (s->log_fd >= 0) {
		char buf[FZ_LOG_LEN + 8];
		int n = snprintf(buf, sizeof(buf), "| %s\n", line);

		if (write(s->log_fd, buf, n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1) < 0)
			s->log_fd = -1;
	}
}

void flog(struct ctx *c, const char *fmt, ...)
{
	char line[FZ_LOG_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_line(c->slot, line);
}

void fail(struct ctx *c, const char *fmt, ...)
{
	char line[FZ_LOG_LEN];
	va_list ap;
	int first;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	first = __atomic_fetch_add(&c->slot->nfail, 1, __ATOMIC_RELAXED) == 0;
	if (first)
		snprintf(c->slot->fail, FZ_FAIL_LEN, "op %d: %s", c->op, line);
	log_line(c->slot, "FAIL:");
	log_line(c->slot, line);
}

static uint64_t fnv(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h ? h : 1;
}

void cov(struct ctx *c, const char *fmt, ...)
{
	char key[FZ_COV_KEY];
	struct cov_ent *t = c->slot->cov;
	uint64_t h;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	h = fnv(key);
	for (unsigned i = h % FZ_COV_SLOT, n = 0; n < FZ_COV_SLOT; n++, i = (i + 1) % FZ_COV_SLOT) {
		uint64_t cur = __atomic_load_n(&t[i].hash, __ATOMIC_ACQUIRE), zero = 0;

		if (cur == 0 && __atomic_compare_exchange_n(&t[i].hash, &zero, h, 0,
							    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			memcpy(t[i].key, key, sizeof(key));
			cur = h;
		} else if (cur == 0) {
			cur = zero;
		}
		if (cur == h) {
			__atomic_add_fetch(&t[i].count, 1, __ATOMIC_RELAXED);
			return;
		}
	}
}

void cov_err(struct ctx *c, const char *call, long ret)
{
	cov(c, "ret:%s:%s", call, ret < 0 && ret > -4096 ? errname(-ret) : "ok");
}

void hang_ok(struct ctx *c, int on)
{
	c->slot->may_hang = on;
}

/* Kicks: the watchdog thread sends SIGUSR2 to the thread that armed it,
 * every 50 ms from `ms` on, until unkick(). */
static volatile long kick_tid;
static volatile long kick_at;	/* ms, 0: none */

int kick_me(struct ctx *c, int ms)
{
	(void)c;
	kick_tid = rsys0(__NR_gettid);
	__atomic_store_n(&kick_at, (long)now_ms() + ms, __ATOMIC_RELEASE);
	return 0;
}

void unkick(int id)
{
	(void)id;
	__atomic_store_n(&kick_at, 0, __ATOMIC_RELEASE);
}

/* Waits for child pid up to secs (clamped under the hang limit), then
 * kills it; fails when it had to. 0: *status is set. */
long spawn_wait(struct ctx *c, pid_t pid, int secs, int *status)
{
	double end, t0 = now_ms();

	if (secs > O.hang_secs / 2)
		secs = O.hang_secs / 2;
	end = t0 + secs * 1000.0;
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG | __WALL);

		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR) {
			fail(c, "waitpid(%d): %s", pid, strerror(errno));
			return -1;
		}
		if (now_ms() > end)
			break;
		sleep_ms(3);
	}
	kill(pid, SIGKILL);
	end = now_ms() + O.hang_secs * 250.0;
	while (now_ms() < end) {
		if (waitpid(pid, status, WNOHANG | __WALL) == pid) {
			fail(c, "child %d did not end within %d s (killed)", pid, secs);
			return -1;
		}
		sleep_ms(5);
	}
	fail(c, "child %d did not end within %d s, and not after kill -9 either", pid, secs);
	return -1;
}

static void on_signal(int sig)
{
	switch (sig) {
	case SIGUSR1: sig_usr1++; break;
	case SIGUSR2: sig_usr2++; break;
	case SIGPIPE: sig_pipe++; break;
	case SIGXFSZ: sig_xfsz++; break;
	}
}

/* A fault in the fuzzer's own process: say where, then die of it. */
static void on_fault(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;
	char line[FZ_LOG_LEN];

	extern char __executable_start[];

	/* si_code tells a fault (> 0) from the kernel's own (SI_KERNEL) or a
	 * sender's (<= 0, with its pid) */
	snprintf(line, sizeof(line), "%s (si_code %d, sender %d) at address %p, rip %#llx (binary+%#llx) rsp %#llx, thread %ld, op %d",
		 strsignal(sig), si->si_code, si->si_code <= 0 ? si->si_pid : 0, si->si_addr,
		 (unsigned long long)uc->uc_mcontext.gregs[REG_RIP],
		 (unsigned long long)(uc->uc_mcontext.gregs[REG_RIP] - (uintptr_t)__executable_start),
		 (unsigned long long)uc->uc_mcontext.gregs[REG_RSP], rsys0(__NR_gettid),
		 the_ctx ? the_ctx->slot->cur_op : -1);
	if (the_ctx) {
		log_line(the_ctx->slot, line);
		if (!the_ctx->slot->fail[0])
			snprintf(the_ctx->slot->fail, FZ_FAIL_LEN, "%s", line);
	}
	/* SA_RESETHAND: returning faults again, with the default action */
}

static void *watchdog(void *arg)
{
	struct ctx *c = arg;
	struct slot *s = c->slot;

	for (;;) {
		double now = now_ms();
		long k = __atomic_load_n(&kick_at, __ATOMIC_ACQUIRE);

		if (k && now >= k) {
			rsys3(__NR_tgkill, c->pid, kick_tid, SIGUSR2);
			__atomic_store_n(&kick_at, (long)now + 50, __ATOMIC_RELEASE);
		}
		if (s->cur_op >= 0 && now - s->op_start_ms > O.hang_secs * 1000.0) {
			if (s->may_hang) {
				log_line(s, "(the op may legitimately not end: out of time, not a failure)");
				_exit(FZ_EXIT_LOOPED);
			}
			fail(c, "op %d hung: still running after %d s", s->cur_op, O.hang_secs);
			_exit(FZ_EXIT_HANG);
		}
		sleep_ms(k ? 5 : 50);
	}
	return NULL;
}

void start_watchdog(struct ctx *c)
{
	pthread_t wd;

	pthread_create(&wd, NULL, watchdog, c);
}

int iter_nops(uint64_t seed, uint64_t iter)
{
	struct rng r = rng_at(seed_of(seed, iter), 0);

	return 4 + rnd(&r, O.ops > 4 ? O.ops - 3 : 1);
}

static int pick_op(struct rng *r)
{
	int total = 0, i, x;

	for (i = 0; i < nopdefs; i++)
		total += opdefs[i].weight;
	x = rnd(r, total);
	for (i = 0; i < nopdefs; i++) {
		if (x < opdefs[i].weight)
			return i;
		x -= opdefs[i].weight;
	}
	return 0;
}

/* The name of op k of an iteration (--plan). */
const char *plan_op(uint64_t seed, uint64_t iter, int k)
{
	struct rng r = rng_at(seed_of(seed, iter), k + 1);

	return opdefs[pick_op(&r)].name;
}

static int selected(int k)
{
	if (!O.nonly)
		return 1;
	for (int i = 0; i < O.nonly; i++)
		if (O.only[i] == k)
			return 1;
	return 0;
}

/*
 * An iteration ends with _exit(), never with exit(): glibc's exit() runs
 * in it only when a pthread returning from its function finds itself the
 * last thread (start_thread()'s count of the threads it made), which
 * means a thread's function returned twice (a context that ran on in two
 * tasks) or the main flow vanished; or when something else called
 * exit(). Either way the process was about to end with 0.
 */
static pid_t iteration_pid;

/*
 * After every op, in the main flow: it runs under the process's TID (its
 * context takes the group's leadership at a handoff), and the kernel's
 * view of the leadership is whole (debugfs syslet/leader_check: root,
 * with debugfs mounted; left out otherwise).
 */
static void leader_invariants(struct ctx *c)
{
	char pid[16], got[96] = "";
	long tid = rsys0(__NR_gettid);
	ssize_t n;
	int fd;

	check(c);
	if (tid != c->pid)
		fail(c, "the main flow runs under TID %ld, not the process's %d", tid, c->pid);
	fd = open("/sys/kernel/debug/syslet/leader_check", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	check(c);
	n = snprintf(pid, sizeof(pid), "%d", c->pid);
	if (write(fd, pid, n) != n)
		fail(c, "leader_check: write of pid %d: %s", c->pid, strerror(errno));
	else if ((n = read(fd, got, sizeof(got) - 1)) <= 0 || strcmp(got, "ok\n"))
		fail(c, "leader_check of pid %d: %s", c->pid, n > 0 ? got : strerror(errno));
	close(fd);
}

static void exit_trap(void)
{
	struct slot *s = cur_slot;

	if (!s || getpid() != iteration_pid || s->cur_op == -2)
		return;		/* a forked child, or the iteration's own end */
	if (__atomic_fetch_add(&s->nfail, 1, __ATOMIC_RELAXED) == 0)
		snprintf(s->fail, FZ_FAIL_LEN, "op %d: glibc's exit() ran in thread %ld in the middle "
			 "of the op: the last pthread returned from its function (one returned twice, "
			 "or the main flow is gone)", s->cur_op, (long)rsys0(__NR_gettid));
	_exit(FZ_EXIT_LIBC_EXIT);
}

void run_iteration(struct slot *s, uint64_t seed, uint64_t iter)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct sigaction sa = { .sa_handler = on_signal };
	pthread_t wd;
	int nops, k;
	double budget = O.hang_secs * 300.0;

	alarm(O.hang_secs * 3);
	if (!c)
		_exit(FZ_EXIT_SETUP);
	the_ctx = c;
	c->slot = s;
	c->seed = seed;
	c->iter = iter;
	c->iseed = seed_of(seed, iter);
	c->pid = getpid();
	iteration_pid = c->pid;
	atexit(exit_trap);
	c->root = geteuid() == 0;
	c->t0 = now_ms();
	c->op = -1;
	s->cur_op = -1;
	pthread_mutex_init(&c->fd_lock, NULL);
	pthread_mutex_init(&c->chain_lock, NULL);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGXFSZ, &sa, NULL);
	sa.sa_flags = 0;	/* SIGUSR2 interrupts: the kicks rely on it */
	sigaction(SIGUSR2, &sa, NULL);
	{
		struct sigaction fa = { .sa_sigaction = on_fault,
					.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER };
		static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE };

		for (int i = 0; i < 4; i++)
			sigaction(sigs[i], &fa, NULL);
	}
	{
		sigset_t set;	/* blocked by the supervisor until now */

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigaddset(&set, SIGUSR2);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	}
	if (arena_setup(c) || fds_setup(c)) {
		snprintf(s->fail, FZ_FAIL_LEN, "iteration setup failed: %s", strerror(errno));
		_exit(FZ_EXIT_SETUP);
	}
	if (pthread_create(&wd, NULL, watchdog, c))
		_exit(FZ_EXIT_SETUP);
	(void)the_ctx;
	nops = iter_nops(seed, iter);
	flog(c, "iteration %llu:%llu, pid %d, %d ops", (unsigned long long)seed,
	     (unsigned long long)iter, c->pid, nops);
	for (k = 0; k < nops; k++) {
		struct rng r = rng_at(c->iseed, k + 1);
		int op = pick_op(&r);

		if (!selected(k) || disabled(op) || (opdefs[op].root_only && !c->root))
			continue;
		if (now_ms() - c->t0 > budget && !O.replay) {
			flog(c, "(time budget used up after op %d)", k - 1);
			break;
		}
		c->op = k;
		s->op_start_ms = now_ms();
		s->cur_op = k;
		flog(c, "op %d: %s", k, opdefs[op].name);
		cov(c, "op:%s", opdefs[op].name);
		opdefs[op].fn(c, &r);
		s->cur_op = -1;
		s->may_hang = 0;
		reap_all(c, 0, 0);
		leader_invariants(c);
	}
	/* Teardown: chains and aio requests in flight must all complete. */
	c->op = nops;
	s->op_start_ms = now_ms();
	s->cur_op = nops;
	flog(c, "teardown");
	reap_all(c, O.hang_secs * 300, 1);
	aio_teardown(c);
	s->cur_op = -2;		/* finished: exit 0 now means success */
	_exit(s->nfail ? FZ_EXIT_VIOLATION : FZ_EXIT_OK);
}
