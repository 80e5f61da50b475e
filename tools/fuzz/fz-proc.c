// SPDX-License-Identifier: GPL-2.0
/*
 * Processes, signals and identity around chains and threadlets: fork and
 * execve with chains in flight, signals at the caller, SIGSTOP and kill -9
 * of a process looping in a chain, seccomp filters (SECCOMP_RET_ERRNO) and
 * setuid transitions, resource limits.
 */
#include "fz-chain.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <grp.h>
#include <sys/resource.h>

/* A short chain of getpid and a 1-3 ms sleep, maybe SYSLET_ASYNC: something
 * in flight. Returns what async_exec() returned. */
long run_simple_chain(struct ctx *c, struct rng *r, int inline_expected)
{
	struct syslet_uatom *a = atom_alloc(c, 2);
	long ret;

	(void)inline_expected;
	if (!a)
		return -ENOMEM;
	a[0].nr = __NR_getpid;
	a[0].next = &a[1];
	a[0].flags = chance(r, 50) ? SYSLET_ASYNC : 0;
	a[1].nr = __NR_nanosleep;
	a[1].arg_ptr[0] = (unsigned long *)&c->ro_vals[chance(r, 50) ? 3 : 4];
	a[1].ret_ptr = ret_slot(c);
	ret = rsys2(__NR_async_exec, a, c->heads[rnd(r, FZ_HEADS)].ahu);
	count_exec(c, 1);
	return ret;
}

/* An endless chain: a[0] loops on itself (getppid), or a[0] -> a[1] -> a[0]
 * with a sleep in between. */
static struct syslet_uatom *endless_chain(struct ctx *c, struct rng *r, int sleeps, int async)
{
	struct syslet_uatom *a = atom_alloc(c, 2);

	if (!a)
		return NULL;
	a[0].nr = chance(r, 50) ? __NR_getppid : __NR_sched_yield;
	a[0].flags = async ? SYSLET_ASYNC : 0;
	a[0].next = sleeps ? &a[1] : &a[0];
	a[1].nr = __NR_nanosleep;
	a[1].arg_ptr[0] = (unsigned long *)&c->ro_vals[3];
	a[1].next = &a[0];
	return a;
}

void op_fork(struct ctx *c, struct rng *r)
{
	static const op_fn sub[] = { op_chain, op_threadlet, op_fdup, op_umem, op_async_wait,
				     op_chain_loop };
	int status, n = 1 + rnd(r, 4);
	pid_t pid;

	pid = fork();
	count_exec(c, 1);
	if (pid < 0)
		return;
	if (pid == 0) {
		struct rng cr = { rnd64(r) };

		c->forked_child = 1;
		c->pid = getpid();
		chains_forget(c);
		alarm(O.hang_secs);
		start_watchdog(c);	/* threads do not survive fork: the kicks need one */
		for (int i = 0; i < n; i++) {
			int k = rnd(&cr, sizeof(sub) / sizeof(sub[0]));

			if (k == 1 && disabled_name("threadlet"))
				continue;
			sub[k](c, &cr);
		}
		reap_all(c, 2000, 1);
		_exit(c->slot->nfail ? FZ_EXIT_VIOLATION : 0);
	}
	cov(c, "proc:fork");
	flog(c, "  fork: child %d runs %d ops", pid, n);
	if (spawn_wait(c, pid, O.hang_secs, &status))
		return;
	check(c);
	if (!WIFEXITED(status) || (WEXITSTATUS(status) && WEXITSTATUS(status) != FZ_EXIT_VIOLATION))
		fail(c, "forked child running ops ended with status %#x (%s)", status,
		     WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exit");
}

struct exec_thr {
	char **argv;
};

static void *exec_from_thread(void *arg)
{
	execv(O.self_exe, ((struct exec_thr *)arg)->argv);
	_exit(127);
}

void op_exec(struct ctx *c, struct rng *r)
{
	static char *argv[] = { "syslet-fuzz", "--exec-probe", NULL };
	int status, how = rnd(r, 4);
	pid_t pid;

	if (how == 3 && disabled_name("threadlet-exec"))
		how = 0;
	pid = fork();
	count_exec(c, 1);
	if (pid < 0)
		return;
	if (pid == 0) {
		c->forked_child = 1;
		c->pid = getpid();
		chains_forget(c);
		alarm(O.hang_secs);
		for (int i = 0; i < 1 + (int)rnd(r, 4); i++)
			run_simple_chain(c, r, 0);
		if (how == 1) {		/* from a second thread: de_thread() */
			struct exec_thr t = { argv };
			pthread_t th;

			if (!pthread_create(&th, NULL, exec_from_thread, &t))
				pause();
		} else if (how == 3) {	/* with a threadlet on in the caller */
			if (rsys1(__NR_threadlet_on, 0) == 1)
				rsys3(__NR_execve, O.self_exe, argv, environ);
			_exit(0);	/* (the spare's return) */
		}
		execv(O.self_exe, argv);
		_exit(127);
	}
	cov(c, "proc:exec:%s", (const char *[]){ "chains-in-flight", "from-second-thread",
						 "chains-in-flight", "threadlet-on" }[how]);
	flog(c, "  exec: child %d, variant %d", pid, how);
	if (spawn_wait(c, pid, O.hang_secs, &status))
		return;
	check(c);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail(c, "child that exec'd with chains in flight (variant %d) ended with status %#x", how, status);
}

void op_signal(struct ctx *c, struct rng *r)
{
	long tid = rsys0(__NR_gettid), pid = rsys0(__NR_getpid);
	int sig = chance(r, 50) ? SIGUSR1 : SIGUSR2, how = rnd(r, 4), timer;

	switch (how) {
	case 0:
		rsys3(__NR_tgkill, pid, tid, sig);
		break;
	case 1:
		rsys2(__NR_kill, pid, sig);
		break;
	case 2:	/* during a chain that sleeps: it detaches, or its sleep is cut short */
		timer = kick_me(c, 1 + rnd(r, 3));
		op_chain(c, r);
		unkick(timer);
		break;
	default:	/* during a threadlet */
		timer = kick_me(c, 1 + rnd(r, 3));
		if (!disabled_name("threadlet"))
			op_threadlet(c, r);
		unkick(timer);
		break;
	}
	count_exec(c, 1);
	cov(c, "signal:%s:%s", sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2",
	    (const char *[]){ "thread", "process", "during-chain", "during-threadlet" }[how]);
	flog(c, "  signal %d, variant %d", sig, how);
}

/* Waits up to ms for pid to stop (WUNTRACED); 1 if it did. */
static int wait_stopped(pid_t pid, int ms, int *status)
{
	double end = now_ms() + ms;

	while (now_ms() < end) {
		pid_t w = waitpid(pid, status, WUNTRACED | WNOHANG);

		if (w == pid)
			return WIFSTOPPED(*status) ? 1 : -1;
		sleep_ms(5);
	}
	return 0;
}

/* A child loops in a chain; SIGSTOP must stop it, kill -9 must end it. */
static void loop_child(struct ctx *c, struct rng *r, int stop)
{
	/* Documentation/syslets.md, "Signals between atoms": SIGSTOP stops a
	 * chain running in the caller and the tasks carrying detached ones. */
	int sleeps = chance(r, 30), async = chance(r, 30), seccomp = chance(r, 20);
	int status, st;
	pid_t pid;

	if (c->deny_errno[__NR_async_exec])
		return;		/* seccomp refuses async_exec in this process */
	pid = fork();
	count_exec(c, 1);
	if (pid < 0)
		return;
	if (pid == 0) {
		struct syslet_uatom *a;

		c->forked_child = 1;
		c->pid = getpid();
		chains_forget(c);
		alarm(O.hang_secs * 2);
		if (seccomp) {
			struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
			struct sock_fprog prog = { .len = 1, .filter = f };

			prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
			syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
		}
		for (int i = 0; i < (int)rnd(r, 3); i++)
			run_simple_chain(c, r, 0);
		a = endless_chain(c, r, sleeps, async && !seccomp);
		if (!a)
			_exit(1);
		for (;;) {
			long ret = rsys2(__NR_async_exec, a, c->heads[0].ahu);

			if (ret == 0)
				break;		/* detached: the loop runs on elsewhere */
			if (ret == -EINTR)
				continue;	/* a stop or a signal between atoms: again */
			if ((ret == -EAGAIN || ret == -EOPNOTSUPP) && a[0].flags) {
				a[0].flags = 0;	/* SYSLET_ASYNC refused: without it */
				continue;
			}
			_exit(1);
		}
		for (;;)
			pause();
	}
	cov(c, "proc:%s:%s%s%s", stop ? "stop-loop" : "kill-loop", sleeps ? "sleeping-loop" : "busy-loop",
	    async ? ":async" : "", seccomp ? ":seccomp" : "");
	flog(c, "  %s: child %d loops (sleeps %d, async %d, seccomp %d)",
	     stop ? "SIGSTOP" : "kill -9", pid, sleeps, async, seccomp);
	sleep_ms(30 + rnd(r, 150));
	check(c);
	if (waitpid(pid, &status, WNOHANG) == pid) {
		fail(c, "a process looping in a chain ended by itself (status %#x)", status);
		return;
	}
	if (stop) {
		kill(pid, SIGSTOP);
		st = wait_stopped(pid, 3000, &status);
		check(c);
		if (st == 0)
			fail(c, "SIGSTOP did not stop a process looping in a chain within 3 s "
			     "(%s loop%s, seccomp %d)", sleeps ? "sleeping" : "busy",
			     async ? ", detached by SYSLET_ASYNC" : "", seccomp);
		else if (st < 0)
			fail(c, "a process looping in a chain died on SIGSTOP (status %#x)", status);
		kill(pid, SIGCONT);
		if (st < 0)
			return;
	}
	kill(pid, SIGKILL);
	hang_ok(c, 0);
	if (spawn_wait(c, pid, 5, &status))
		return;
	check(c);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail(c, "kill -9 of a process looping in a chain: status %#x", status);
}

void op_stop_loop(struct ctx *c, struct rng *r)
{
	loop_child(c, r, 1);
}

void op_kill_loop(struct ctx *c, struct rng *r)
{
	loop_child(c, r, 0);
}

void op_seccomp(struct ctx *c, struct rng *r)
{
	static const unsigned long nrs[] = { __NR_getppid, __NR_getuid, __NR_sched_yield,
					     __NR_umem_add, __NR_async_wait, __NR_getppid,
					     __NR_async_exec };
	unsigned long nr = nrs[rnd(r, chance(r, 10) ? 7 : 6)];
	unsigned int e = 1 + rnd(r, 133), tsync = chance(r, 30);
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | e),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = f };
	long ret, direct;

	if (c->forked_child)
		return;
	c->ident_gen++;		/* no_new_privs and the filter: detached chains stop */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	ret = rsys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, tsync ? SECCOMP_FILTER_FLAG_TSYNC : 0, &prog);
	count_exec(c, 2);
	cov(c, "seccomp:errno:%s%s", nr_name(nr), tsync ? ":tsync" : "");
	cov_err(c, "seccomp", ret);
	flog(c, "  seccomp: %s -> errno %u%s = %ld", nr_name(nr), e, tsync ? " (TSYNC)" : "", ret);
	if (ret < 0)
		return;
	c->seccomp_main = 1;
	c->seccomp_all |= tsync;
	c->deny_errno[nr] = e;
	/* A direct call gets the errno. */
	direct = rsys3(nr, 0, 0, 0);
	check(c);
	if (direct != -(long)e)
		fail(c, "after a seccomp filter giving %s errno %u, a direct call returned %ld",
		     nr_name(nr), e, direct);
}

void op_setuid(struct ctx *c, struct rng *r)
{
	int how = rnd(r, 4);
	long ret = 0;

	if (!c->root || c->forked_child)
		return;
	c->ident_gen++;		/* detached chains stop with -ECANCELED */
	switch (how) {
	case 0:	/* the effective uid, all threads (glibc's broadcast), and back */
		ret = seteuid(65534) ? -errno : 0;
		op_chain(c, r);
		c->ident_gen++;
		if (seteuid(0))
			fail(c, "seteuid(0) back failed: %s", strerror(errno));
		break;
	case 1:	/* this thread only (raw), and back */
		ret = rsys3(__NR_setresuid, -1, 65534, -1);
		op_chain(c, r);
		if (!disabled_name("threadlet"))
			op_threadlet(c, r);
		c->ident_gen++;
		if (rsys3(__NR_setresuid, -1, 0, -1))
			fail(c, "raw setresuid back to root failed");
		break;
	case 2:	/* groups, then back */
		ret = setresgid(-1, 65534, -1) ? -errno : 0;
		op_chain(c, r);
		c->ident_gen++;
		if (setresgid(-1, 0, -1))
			fail(c, "setresgid back failed: %s", strerror(errno));
		break;
	default:	/* for good: root-only ops stop */
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			ret = -errno;
		else
			c->root = 0;
		break;
	}
	count_exec(c, 2);
	cov(c, "setuid:%s", (const char *[]){ "euid-and-back", "thread-only-and-back",
					      "gid-and-back", "drop-for-good" }[how]);
	flog(c, "  setuid variant %d = %ld", how, ret);
}

void op_rlimit(struct ctx *c, struct rng *r)
{
	struct rlimit old, low;
	int which = chance(r, 70) ? RLIMIT_NOFILE : RLIMIT_FSIZE;

	if (getrlimit(which, &old))
		return;
	low = old;
	low.rlim_cur = which == RLIMIT_NOFILE ? 3 + rnd(r, 40) : rnd(r, 1 << 16);
	if (setrlimit(which, &low))
		return;
	cov(c, "rlimit:%s", which == RLIMIT_NOFILE ? "nofile" : "fsize");
	flog(c, "  rlimit %s = %lu for a few ops", which == RLIMIT_NOFILE ? "NOFILE" : "FSIZE",
	     (unsigned long)low.rlim_cur);
	c->rlimit_low = 1;
	for (int i = 0; i < 3; i++) {
		switch (rnd(r, 5)) {
		case 0: op_fdup(c, r); break;
		case 1: op_fd_create(c, r); break;
		case 2: op_scm(c, r); break;
		case 3: if (!disabled_name("aio")) op_aio(c, r); break;
		default: op_chain(c, r); break;
		}
	}
	setrlimit(which, &old);
	c->rlimit_low = 0;
}
