// SPDX-License-Identifier: GPL-2.0
/*
 * Threadlets: threadlet_exec() of random bounded functions (the helper in
 * tools/threadlet/threadlet.h), and raw threadlet_on()/threadlet_off()
 * sequences in a thread of their own, with fork, execve, signals and exit
 * inside.
 *
 * Raw sequences: once threadlet_on() has returned 1, anything that sleeps
 * may make it return a second time, with 0, in a spare thread that takes
 * the caller's context; raw_thl_on() below makes that thread exit at once
 * (SYS_exit, without touching the stack), and the sequence goes on in the
 * task that blocked. A threadlet_off() after such a move never returns
 * (the task parks as a spare): the runner marks each threadlet_off() it
 * enters so the iteration can tell a parked runner from a hung one.
 * Everything that runs in a threadlet uses raw system calls and no TLS.
 */
#include "fuzz.h"
#include "../threadlet/threadlet.h"
#include <linux/futex.h>

enum { STACK = 64 << 10 };

static void word_wake(volatile int *w, int v)
{
	__atomic_store_n(w, v, __ATOMIC_RELEASE);
	rsys3(__NR_futex, w, FUTEX_WAKE_PRIVATE, 0x7fffffff);
}

/* Waits up to ms for *w to become nonzero. */
static int word_wait(volatile int *w, int ms)
{
	double end = now_ms() + ms;

	while (!__atomic_load_n(w, __ATOMIC_ACQUIRE)) {
		struct timespec ts = { 0, 2000000 };

		if (now_ms() > end)
			return 0;
		rsys4(__NR_futex, w, FUTEX_WAIT_PRIVATE, 0, &ts);
	}
	return 1;
}

static char *new_stack(size_t size)
{
	char *s = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (s == MAP_FAILED)
		return NULL;
	memset(s, 0x5a, size);	/* every page touched: no fault sleeps in the threadlet */
	return s;
}

/* ---- threadlet_exec() ---------------------------------------------------------------- */

enum { T_GETPID, T_UMEM, T_SLEEP, T_TIMERFD, T_WRITE, T_READ_NB, T_ASYNC_EXEC, T_NESTED_ON,
       T_FDUP, T_SIGNAL, T_FORK_EXIT, T_OFF, T_NSTEPS };
static const char *const t_name[T_NSTEPS] = {
	"getpid", "umem_add", "nanosleep", "timerfd-read", "write", "read-nonblocking",
	"async_exec", "nested-threadlet_on", "fdup", "signal-self", "fork-exit", "threadlet_off",
};

struct thl_job {
	int nsteps;
	int step[8];
	long res[8];
	long pid;
	unsigned long ctr, inc;
	int timerfd, pipe_r, pipe_w;
	struct syslet_uatom *atom;
	struct async_head_user *ahu;
	const struct timespec *ts;
	volatile int done;
	volatile int runs;
	volatile int at;	/* the step running */
};

static void thl_fn(void *arg)
{
	struct thl_job *j = arg;
	char buf[8];

	for (int i = 0; i < j->nsteps; i++) {
		long v = 0;

		j->at = i;
		switch (j->step[i]) {
		case T_GETPID: v = rsys0(__NR_getpid); break;
		case T_UMEM: v = rsys2(__NR_umem_add, &j->ctr, j->inc); break;
		case T_SLEEP: v = rsys2(__NR_nanosleep, j->ts, NULL); break;
		case T_TIMERFD: v = rsys3(__NR_read, j->timerfd, buf, 8); break;
		case T_WRITE: v = rsys3(__NR_write, j->pipe_w, "t", 1); break;
		case T_READ_NB: v = rsys3(__NR_read, j->pipe_r, buf, 1); break;
		case T_ASYNC_EXEC: v = rsys2(__NR_async_exec, j->atom, j->ahu); break;
		case T_NESTED_ON: v = rsys1(__NR_threadlet_on, 0); break;
		case T_FDUP:
			v = rsys2(__NR_fdup, j->pipe_r, 0);
			if (v >= 0)
				rsys1(__NR_close, v);
			break;
		case T_SIGNAL:
			v = rsys3(__NR_tgkill, j->pid, rsys0(__NR_gettid), SIGUSR1);
			break;
		case T_FORK_EXIT:
			v = rsys0(__NR_fork);
			if (v == 0)
				rsys1(__NR_exit_group, 3);
			if (v > 0) {
				int st = 0;
				long w;

				do
					w = rsys4(__NR_wait4, v, &st, 0, NULL);
				while (w == -EINTR);
				v = w == v ? st : w;
			}
			break;
		case T_OFF: v = rsys0(__NR_threadlet_off); break;
		}
		j->res[i] = v;
	}
	__atomic_add_fetch(&j->runs, 1, __ATOMIC_RELAXED);
	word_wake(&j->done, 1);
}

/* What seccomp makes a call return in this thread, or 0. */
static long denied(struct ctx *c, unsigned long nr)
{
	return c->seccomp_main && c->deny_errno[nr] ? -(long)c->deny_errno[nr] : 0;
}

static void judge_job(struct ctx *c, struct thl_job *j, long ret, unsigned long ctr0)
{
	for (int i = 0; i < j->nsteps; i++) {
		if (j->step[i] == T_UMEM)	/* each one adds inc again */
			ctr0 += j->inc;
		long v = j->res[i];
		int bad = 0;

		check(c);
		cov(c, "threadlet:step:%s", t_name[j->step[i]]);
		switch (j->step[i]) {
		case T_GETPID: bad = v != j->pid; break;
		case T_UMEM:
			bad = v != (denied(c, __NR_umem_add) ?: (long)ctr0);
			break;
		case T_SLEEP: bad = v != 0 && v != -EINTR; break;
		case T_TIMERFD: bad = v != 8 && v != -EINTR && v != -EBADF; break;
		case T_ASYNC_EXEC:
			/* a chain inside a threadlet runs inline: never NULL */
			bad = v != (denied(c, __NR_async_exec) ?: (long)j->atom) && v != -EFAULT;
			break;
		case T_NESTED_ON: bad = v != -EBUSY && !(i > 0 && j->step[0] == T_OFF && v == 1); break;
		case T_FDUP: bad = v >= 0 ? 0 : v != -EBADF && v != -EMFILE; break;
		case T_FORK_EXIT:
			bad = v >= 0 ? !(WIFEXITED(v) && WEXITSTATUS(v) == 3) : v != -EAGAIN && v != -ENOMEM;
			break;
		case T_OFF: bad = v != 1; break;
		}
		if (bad) {
			fail(c, "threadlet (returned %ld) step %d (%s) gave %ld", ret, i,
			     t_name[j->step[i]], v);
			return;
		}
	}
}

void op_threadlet(struct ctx *c, struct rng *r)
{
	int n = 1 + rnd(r, chance(r, 20) ? 8 : 2), i, k;
	struct thl_job *jobs = calloc(n, sizeof(*jobs)), warm = { 0 };
	long *ret = calloc(n, sizeof(long)), tid0, leader;
	struct syslet_uatom *atoms = atom_alloc(c, n);
	char **stacks = calloc(n, sizeof(char *));

	if (!jobs || !ret || !atoms || !stacks)
		return;
	warm.nsteps = 0;
	{
		void (*volatile call)(void *) = thl_fn;

		call(&warm);	/* its code page, mapped before any threadlet */
	}
	for (i = 0; i < n; i++) {
		struct thl_job *j = &jobs[i];

		stacks[i] = new_stack(STACK);
		if (!stacks[i])
			return;
		j->pid = rsys0(__NR_getpid);
		j->ctr = rnd64(r);
		j->inc = rnd(r, 100);
		j->timerfd = c->timerfd;
		j->pipe_r = c->nb_pipe[0];
		j->pipe_w = c->nb_pipe[1];
		j->ts = (const struct timespec *)c->ro_vals[3];
		atoms[i].nr = __NR_getpid;
		j->atom = &atoms[i];
		j->ahu = c->heads[0].ahu;
		j->nsteps = 1 + rnd(r, 6);
		for (k = 0; k < j->nsteps; k++) {
			do
				j->step[k] = rnd(r, T_NSTEPS);
			while ((j->step[k] == T_OFF && k) ||
			       /* after its own threadlet_off, a raw threadlet_on
				* would return twice into compiled code */
			       (j->step[k] == T_NESTED_ON && j->step[0] == T_OFF) ||
			       /* and async_exec() is an ordinary one: it may go
				* asynchronous (a signal detaches it on the
				* async-thread model), its completion in a ring
				* this op does not reap */
			       (j->step[k] == T_ASYNC_EXEC && j->step[0] == T_OFF) ||
			       (j->step[k] == T_FORK_EXIT && disabled_name("threadlet-fork")) ||
			       (j->step[k] == T_SIGNAL && disabled_name("threadlet-signal")));
		}
	}
	tid0 = rsys0(__NR_gettid);
	leader = tid0 == rsys0(__NR_getpid);
	flog(c, "  %d threadlet%s, first: %d steps starting with %s", n, n > 1 ? "s" : "",
	     jobs[0].nsteps, t_name[jobs[0].step[0]]);
	hang_ok(c, 0);
	for (i = 0; i < n; i++) {
		unsigned long ctr0 = jobs[i].ctr;

		ret[i] = threadlet_exec(thl_fn, &jobs[i], stacks[i], STACK);
		count_exec(c, 2 + jobs[i].nsteps);
		jobs[i].res[7] = ctr0;	/* (room: at most 6 steps) */
	}
	for (i = 0; i < n; i++) {
		struct thl_job *j = &jobs[i];

		cov(c, "threadlet:returned:%s", ret[i] == 1 ? "inline" : ret[i] == 0 ? "went-async" :
		    errname(-ret[i]));
		check(c);
		if (ret[i] == THREADLET_WENT_ASYNC) {
			long tid = rsys0(__NR_gettid);

			c->bg_chains = 1;

			/* The leader's too: its context takes the leadership. */
			if (tid != tid0)
				fail(c, "threadlet went asynchronous from thread %ld%s: its TID must follow the context, gettid() is %ld",
				     tid0, leader ? " (the group leader)" : "", tid);
			if (!word_wait(&j->done, O.hang_secs * 500) && j->step[0] == T_OFF && j->at == 0) {
				/* It moved before its own threadlet_off() (a stop, a
				 * signal handler that faulted): that call then parks
				 * the function's task for good, as documented. */
				cov(c, "threadlet:parked-in-its-own-threadlet_off");
				continue;
			}
			if (!j->done) {
				char steps[160] = "";

				for (k = 0; k < j->nsteps; k++)
					snprintf(steps + strlen(steps), sizeof(steps) - strlen(steps), "%s%s",
						 k ? "," : "", t_name[j->step[k]]);
				fail(c, "threadlet %d went asynchronous and never completed: stuck in step %d of %s",
				     i, j->at, steps);
				return;	/* leaks: its thread may still run on them */
			}
		} else if (ret[i] == THREADLET_INLINE) {
			if (!j->done)
				fail(c, "threadlet_exec returned 1 (inline) but the function did not finish");
		} else if (!(ret[i] == -EINVAL && j->step[0] == T_OFF)) {
			fail(c, "threadlet_exec = %ld", ret[i]);
			return;
		}
		if (__atomic_load_n(&j->runs, __ATOMIC_ACQUIRE) != 1)
			fail(c, "threadlet %d ran %d times", i, j->runs);
		judge_job(c, j, ret[i], j->res[7]);
	}
	/* The calling thread is not in threadlet mode. */
	check(c);
	k = rsys0(__NR_threadlet_off);
	if (k != -EINVAL)
		fail(c, "threadlet_off() after threadlet_exec returned %d, expected -EINVAL", k);
	/* Stacks of threadlets that went asynchronous may still be in use
	 * (the function's epilogue and threadlet_off run on them): leak. */
	free(ret);
}

/* ---- raw sequences in a thread of their own ------------------------------------------ */

/* threadlet_on(flags); the spare that takes the context over exits at once. */
static __attribute__((naked, noinline)) long raw_thl_on(long flags __attribute__((unused)))
{
	__asm__("	mov $" THREADLET_STR(__NR_threadlet_on) ",%eax\n"
		"	syscall\n"
		"	test %rax,%rax\n"
		"	jnz 1f\n"
		"	mov $60,%eax\n"		/* SYS_exit of this thread, with */
		"	mov $" THREADLET_STR(FZ_EXIT_SPARE_THREAD) ",%edi\n"	/* a code no process exits with */
		"	syscall\n"
		"	ud2\n"
		"1:	ret\n");
}

enum { R_ON, R_ON_BAD, R_OFF, R_GETPID, R_SLEEP, R_TIMERFD, R_SIGNAL, R_FORK_EXIT,
       R_FORK_THL_EXEC, R_FORK_THL_EXIT, R_ASYNC_EXEC, R_EXIT, R_NSTEPS };
static const char *const r_name[R_NSTEPS] = {
	"on", "on-bad-flags", "off", "getpid", "nanosleep", "timerfd-read", "signal-self",
	"fork-exit", "fork-threadlet-execve", "fork-threadlet-exit", "async_exec", "exit-thread",
};

struct raw_prog {
	int n;
	int step[16];
	long res[16];
	long pid;
	int timerfd;
	const struct timespec *ts;
	struct syslet_uatom *atom;
	struct async_head_user *ahu;
	const char *exe;
	char *const *argv;
	volatile int progress;	/* steps done */
	volatile int in_off;	/* the step index of the threadlet_off entered, or -1 */
	volatile int done;
};

static long raw_fork_child(struct raw_prog *p, int what)
{
	long pid = rsys0(__NR_fork);

	if (pid == 0) {
		long on = raw_thl_on(0);

		if (on == 1 && what == 1) {
			rsys2(__NR_nanosleep, p->ts, NULL);
			rsys3(__NR_execve, p->exe, p->argv, NULL);
			rsys1(__NR_exit_group, 126);
		}
		if (on == 1)
			rsys2(__NR_nanosleep, p->ts, NULL);
		rsys1(__NR_exit_group, on == 1 ? 5 : 6);
	}
	if (pid > 0) {
		int st = 0;
		long w;

		do
			w = rsys4(__NR_wait4, pid, &st, 0, NULL);
		while (w == -EINTR);
		return w == pid ? st : w;
	}
	return pid;
}

static void *raw_thread(void *arg)
{
	struct raw_prog *p = arg;

	for (int i = 0; i < p->n; i++) {
		long v = 0;

		switch (p->step[i]) {
		case R_ON: v = raw_thl_on(0); break;
		case R_ON_BAD: v = raw_thl_on(1 + (i & 3)); break;
		case R_OFF:
			p->in_off = i;
			v = rsys0(__NR_threadlet_off);
			p->in_off = -1;
			break;
		case R_GETPID: v = rsys0(__NR_getpid); break;
		case R_SLEEP: v = rsys2(__NR_nanosleep, p->ts, NULL); break;
		case R_TIMERFD: {
			char b[8];

			v = rsys3(__NR_read, p->timerfd, b, 8);
			break;
		}
		case R_SIGNAL: v = rsys3(__NR_tgkill, p->pid, rsys0(__NR_gettid), SIGUSR1); break;
		case R_FORK_EXIT: v = raw_fork_child(p, 0); break;
		case R_FORK_THL_EXEC: v = raw_fork_child(p, 1); break;
		case R_FORK_THL_EXIT: v = raw_fork_child(p, 2); break;
		case R_ASYNC_EXEC: v = rsys2(__NR_async_exec, p->atom, p->ahu); break;
		case R_EXIT:
			p->res[i] = 0;
			p->progress = i + 1;
			word_wake(&p->done, 2);
			rsys1(__NR_exit, FZ_EXIT_RAW_THREAD);
			break;
		}
		p->res[i] = v;
		p->progress = i + 1;
	}
	word_wake(&p->done, 1);
	/* never back into glibc (see the top of this file); the code is one
	 * no process exits with: if the process ends with it, the kernel
	 * took this thread for its last */
	rsys1(__NR_exit, FZ_EXIT_RAW_THREAD);
	return NULL;
}

void op_threadlet_raw(struct ctx *c, struct rng *r)
{
	static char *probe_argv[] = { "syslet-fuzz", "--exec-probe", NULL };
	struct raw_prog *p = calloc(1, sizeof(*p));
	struct syslet_uatom *atom = atom_alloc(c, 1);
	char *stack = new_stack(256 << 10);
	pthread_attr_t at;
	pthread_t t;
	int i, on = 0, moved_possible = 0;

	if (!p || !atom || !stack)
		return;
	atom->nr = __NR_getppid;
	p->pid = rsys0(__NR_getpid);
	p->timerfd = c->timerfd;
	p->ts = (const struct timespec *)c->ro_vals[3];
	p->atom = atom;
	p->ahu = c->heads[1].ahu;
	p->exe = O.self_exe;
	p->argv = probe_argv;
	p->in_off = -1;
	p->n = 1 + rnd(r, 12);
	for (i = 0; i < p->n; i++) {
		int s;

		do
			s = chance(r, 30) ? (on ? R_OFF : R_ON) : rnd(r, R_NSTEPS);
		while ((s == R_FORK_THL_EXEC && disabled_name("threadlet-exec")) ||
		       ((s == R_FORK_EXIT || s == R_FORK_THL_EXIT) && disabled_name("threadlet-fork")) ||
		       (s == R_SIGNAL && disabled_name("threadlet-signal")) ||
		       (s == R_EXIT && disabled_name("threadlet-exit")) ||
		       (s == R_EXIT && i + 1 < p->n) ||
		       /* outside a threadlet async_exec() is an ordinary one
			* and may go asynchronous: only inside, where it runs
			* inline */
		       (s == R_ASYNC_EXEC && !on));
		p->step[i] = s;
		if (s == R_ON)
			on = 1;
		if (s == R_OFF)
			on = 0;
	}
	flog(c, "  raw threadlet sequence of %d steps:", p->n);
	for (i = 0; i < p->n; i++)
		flog(c, "    %s", r_name[p->step[i]]);
	pthread_attr_init(&at);
	pthread_attr_setstack(&at, stack, 256 << 10);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, raw_thread, p)) {
		pthread_attr_destroy(&at);
		return;
	}
	pthread_attr_destroy(&at);
	count_exec(c, p->n);
	/* Done, or parked in a threadlet_off() after a move. */
	{
		double end = now_ms() + O.hang_secs * 600.0;

		while (!p->done && now_ms() < end) {
			if (p->in_off >= 0 && now_ms() > end - O.hang_secs * 400.0)
				break;
			word_wait(&p->done, 20);
		}
	}
	check(c);
	if (!p->done && p->in_off < 0) {
		fail(c, "raw threadlet thread stuck after step %d of %d (%s)", p->progress, p->n,
		     p->progress < p->n ? r_name[p->step[p->progress]] : "end");
		return;
	}
	if (!p->done)
		cov(c, "threadlet-raw:parked-in-threadlet_off");
	/* Judge the steps it finished, replaying the on/off state. */
	on = 0;
	for (i = 0; i < p->progress; i++) {
		long v = p->res[i];
		int bad = 0;

		check(c);
		cov(c, "threadlet-raw:%s:%s", r_name[p->step[i]], v >= 0 ? "ok" : errname(-v));
		switch (p->step[i]) {
		case R_ON:
			bad = on ? v != -EBUSY : v != 1;
			if (!on && v == 1) {
				on = 1;
				moved_possible = 0;
			}
			break;
		case R_ON_BAD:
			bad = v != -EINVAL && !(on && v == -EBUSY);
			break;
		case R_OFF:
			bad = on ? v != 1 : v != -EINVAL;
			on = 0;
			break;
		case R_GETPID: bad = v != p->pid; break;
		case R_SLEEP: bad = v != 0 && v != -EINTR; moved_possible |= on; break;
		case R_TIMERFD: bad = v != 8 && v != -EINTR && v != -EBADF; moved_possible |= on; break;
		case R_FORK_EXIT: case R_FORK_THL_EXIT: case R_FORK_THL_EXEC:
			/* the child starts a threadlet of its own (exit 6: it
			 * was already in threadlet mode, inherited) */
			bad = v < 0 ? v != -EAGAIN && v != -ENOMEM :
			      !WIFEXITED(v) || WEXITSTATUS(v) != (p->step[i] == R_FORK_THL_EXEC ? 0 : 5);
			if (!bad || v < 0)
				break;
			fail(c, "raw threadlet step %d (%s): the child ended with status %#lx%s", i,
			     r_name[p->step[i]], v, WIFEXITED(v) && WEXITSTATUS(v) == 6 ?
			     " (a child forked inside a threadlet was itself in threadlet mode)" : "");
			bad = 0;
			i = p->progress;
			break;
		case R_ASYNC_EXEC:
			bad = v != (denied(c, __NR_async_exec) ?: (long)atom);
			break;
		}
		if (bad) {
			fail(c, "raw threadlet step %d (%s, threadlet %s) returned %ld", i,
			     r_name[p->step[i]], on ? "on" : "off", v);
			break;
		}
	}
	(void)moved_possible;
	/* p and the stack leak: a parked runner still owns them. */
}
