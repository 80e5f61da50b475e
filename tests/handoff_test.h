/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the handoff safety tests (handoff_identity_test.c,
 * handoff_state_test.c, handoff_refusal_test.c, handoff_contract_test.c):
 * children run as root or as nobody with a deadline, sysctls saved and
 * restored, pipes written late, completions reaped with a deadline, a
 * chain that blocks and what became of it (handed off or refused).
 * Nothing here waits without a bound.
 */
#ifndef HANDOFF_TEST_H
#define HANDOFF_TEST_H

#include <errno.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "syslet_test.h"

#define NOBODY		65534
#define NO_ATOM		(-12345L)	/* a result no call returns */

enum who { AS_ROOT, AS_NOBODY };

static inline const char *who_name(enum who w)
{
	return w == AS_ROOT ? "root" : "nobody";
}

/* A diagnostic line from a child (stderr is unbuffered: no duplicates). */
static inline void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "# [pid %d] ", getpid());
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}

/* ---- sysctls -------------------------------------------------------- */

static inline int write_sysctl(const char *name, long v)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	return write_number(path, v);
}

static inline long read_sysctl(const char *name)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	return read_number(path);
}

/*
 * The values found at start, restored by the main process at exit (the
 * harness runs each test in a child; a test killed by its timeout cannot
 * restore) and by reset_sysctls() at the start of every test.
 */
static pid_t hs_main_pid;
static long hs_orig_handoff = 1, hs_orig_max = 64, hs_orig_idle = 5000;

__attribute__((constructor)) static void hs_save_sysctls(void)
{
	long v;

	hs_main_pid = getpid();
	if ((v = read_sysctl("syslet_handoff")) >= 0)
		hs_orig_handoff = v;
	if ((v = read_sysctl("syslet_max_threads")) > 0)
		hs_orig_max = v;
	if ((v = read_sysctl("syslet_idle_msecs")) > 0)
		hs_orig_idle = v;
}

/* Every test expects the handoff on and the start values otherwise. */
static inline void reset_sysctls(void)
{
	if (geteuid() != 0)
		return;
	write_sysctl("syslet_handoff", 1);
	write_sysctl("syslet_max_threads", hs_orig_max);
	write_sysctl("syslet_idle_msecs", hs_orig_idle);
}

__attribute__((destructor)) static void hs_restore_sysctls(void)
{
	if (getpid() != hs_main_pid || geteuid() != 0)
		return;
	write_sysctl("syslet_handoff", hs_orig_handoff);
	write_sysctl("syslet_max_threads", hs_orig_max);
	write_sysctl("syslet_idle_msecs", hs_orig_idle);
}

/*
 * Sets no_new_privs and adds a seccomp filter: system call `nr` gets
 * `action` (SECCOMP_RET_KILL_THREAD, SECCOMP_RET_ERRNO | EPERM, ...),
 * every other native call runs, a non-native one kills the process.
 * `flags`: 0 (this thread) or SECCOMP_FILTER_FLAG_TSYNC. 0 or -1.
 */
static inline int filter_one_call(int nr, unsigned int action, unsigned int flags)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* ---- children ------------------------------------------------------- */

/* Drops to nobody (all ids, no groups); keeps the process traceable. */
static inline int become_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return -1;
	/* A uid change makes the mm non-dumpable: /proc and ptrace by the
	 * same uid need it dumpable. */
	return prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

/* Waits up to `ms` for `pid` to end; 1 if it was reaped (status in *status). */
static inline int wait_deadline(pid_t pid, int *status, int ms)
{
	double end = now_ms() + ms;

	do {
		pid_t r = waitpid(pid, status, WNOHANG | __WALL);

		/* Stops of a traced child are not its end. */
		if (r == pid && (WIFEXITED(*status) || WIFSIGNALED(*status)))
			return 1;
		if (r < 0 && errno != EINTR)
			return 0;
		usleep(2000);
	} while (now_ms() < end);
	return 0;
}

/* Ends `pid` whatever state it is in, and reaps it (5 s at most). */
static inline void kill_reap(pid_t pid)
{
	int status;

	kill(pid, SIGCONT);
	kill(pid, SIGKILL);
	if (!wait_deadline(pid, &status, 5000))
		say("pid %d did not die within 5 s of SIGKILL", pid);
}

#define CHILD_DROP_FAILED	250
#define RUN_TIMEOUT		(-1)	/* killed at the deadline */
#define RUN_FORK_FAILED		(-2)
#define RUN_NOT_ROOT		(-3)
#define RUN_SIGNALED(sig)	(1000 + (sig))

/* What run_child() returned, in words. */
static inline const char *describe(int rc)
{
	static __thread char buf[64];

	if (rc == 0)
		return "passed";
	if (rc == RUN_TIMEOUT)
		return "did not end before its deadline (killed)";
	if (rc == RUN_FORK_FAILED)
		return "fork failed";
	if (rc == RUN_NOT_ROOT)
		return "needs root: run the test program as root";
	if (rc == CHILD_DROP_FAILED)
		return "could not drop to nobody";
	if (rc >= 1000)
		snprintf(buf, sizeof(buf), "killed by signal %d", rc - 1000);
	else
		snprintf(buf, sizeof(buf), "failed check %d (see the lines above)", rc);
	return buf;
}

/*
 * Runs fn(arg) in a child process as `who`; returns its exit code, or
 * one of the RUN_* values. A child still running after `ms` is killed.
 */
static inline int run_child(int (*fn)(void *), void *arg, enum who who, int ms)
{
	int status;
	pid_t pid;

	if (geteuid() != 0)
		return RUN_NOT_ROOT;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return RUN_FORK_FAILED;
	if (!pid) {
		if (who == AS_NOBODY && become_nobody())
			_exit(CHILD_DROP_FAILED);
		_exit(fn(arg) & 0xff);
	}
	if (!wait_deadline(pid, &status, ms)) {
		say("child %d (%s) still running after %d ms: killing it", pid, who_name(who), ms);
		kill_reap(pid);
		return RUN_TIMEOUT;
	}
	if (WIFSIGNALED(status))
		return RUN_SIGNALED(WTERMSIG(status));
	return WEXITSTATUS(status);
}

/* ---- pipes and completions ------------------------------------------ */

/*
 * Writes one byte to `fd` once `*gate` is set (the submitter got control
 * back), or after `max_ms` anyway, so a caller that blocks in place is
 * released too (and found out by its checks, not by a hang).
 */
struct late_writer {
	int fd;
	int max_ms;
	atomic_int gate;
	double wrote_at;
	pthread_t th;
};

static void *late_write_fn(void *arg)
{
	struct late_writer *w = arg;
	double t0 = now_ms();

	while (!atomic_load(&w->gate) && now_ms() - t0 < w->max_ms)
		usleep(1000);
	usleep(20000);
	w->wrote_at = now_ms();
	if (write(w->fd, "x", 1) != 1)
		w->wrote_at = -1;
	return NULL;
}

static inline int late_writer_start(struct late_writer *w, int fd, int max_ms)
{
	w->fd = fd;
	w->max_ms = max_ms;
	atomic_store(&w->gate, 0);
	return pthread_create(&w->th, NULL, late_write_fn, w);
}

/*
 * Waits up to `ms` for the next completion of the ring and consumes it;
 * NULL if none came. Polls (async_wait() with 0 only counts), so that it
 * never hangs.
 */
static inline struct syslet_uatom *reap_deadline(struct async_head_user *ahu,
						 struct syslet_uatom **ring,
						 unsigned long slots, int ms)
{
	double end = now_ms() + ms;
	struct syslet_uatom *a;

	while (sys_async_wait(0, ahu->user_ring_idx, ahu) < 1) {
		if (now_ms() > end)
			return NULL;
		usleep(2000);
	}
	a = __atomic_load_n(&ring[ahu->user_ring_idx % slots], __ATOMIC_ACQUIRE);
	ring[ahu->user_ring_idx % slots] = NULL;
	ahu->user_ring_idx++;
	return a;
}

/* 1 if `fd` has data within `ms`. */
static inline int readable_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & (POLLIN | POLLHUP));
}

/* Reads exactly `len` bytes within `ms`; 1 on success. */
static inline int read_within(int fd, void *buf, size_t len, int ms)
{
	double end = now_ms() + ms;
	size_t got = 0;

	while (got < len) {
		int left = (int)(end - now_ms());
		ssize_t n;

		if (left <= 0 || !readable_within(fd, left))
			return 0;
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return 0;
		got += n;
	}
	return 1;
}

/* ---- one blocking chain: handed off, or refused --------------------- */

/* A chain of one read(fd, buf, 1) atom, with its own ring. */
struct reader {
	struct syslet_uatom atom;
	unsigned long fd, buf, len;
	long ret;
	char data[8];
	struct syslet_uatom *ring[8];
	struct async_head_user ahu;
};

static inline void reader_init(struct reader *r, int fd, unsigned long flags)
{
	r->fd = fd;
	r->buf = (unsigned long)r->data;
	r->len = 1;
	r->ret = NO_ATOM;
	atom_set(&r->atom, flags, __NR_read, &r->ret, NULL, ATOM_ARGS(&r->fd, &r->buf, &r->len));
	memset(r->ring, 0, sizeof(r->ring));
	memset(&r->ahu, 0, sizeof(r->ahu));
	r->ahu.completion_ring = r->ring;
	r->ahu.ring_size_bytes = sizeof(r->ring);
}

/*
 * A spare made now: one made after a thread changed its own state would
 * have inherited some of it at clone (PR_SET_IO_FLUSHER's flags are), and
 * a handoff to it would hide the loss. 0 on success.
 */
static inline int make_spare(void)
{
	struct reader r;

	reader_init(&r, -1, 0);
	atom_set(&r.atom, 0, __NR_getppid, &r.ret, NULL, NULL);
	if (sys_async_exec(&r.atom, &r.ahu) != (long)&r.atom || r.ret != getppid())
		return -1;
	return syslet_stat("spares_alive") > 0 ? 0 : -1;
}

/* What one read(empty pipe) chain did; the pipe is written late. */
struct chain_run {
	long exec_ret, atom, atom_ret;
	int exec_errno, completed;
	long handoffs_before, handoffs_after;
	double ms;	/* async_exec()'s duration */
};

/*
 * Runs a chain whose only atom reads an empty pipe; a late writer fills
 * it once async_exec() returned, or after `writer_max_ms` (an atom that
 * blocks in place is released so). Reaps the completion if it went
 * asynchronous. -1 if it could not set up.
 */
static inline int blocking_chain(struct chain_run *c, int writer_max_ms)
{
	struct late_writer w;
	struct reader r;
	double t0;
	int q[2];

	memset(c, 0, sizeof(*c));
	if (pipe(q))
		return -1;
	if (late_writer_start(&w, q[1], writer_max_ms)) {
		close(q[0]);
		close(q[1]);
		return -1;
	}
	reader_init(&r, q[0], 0);
	c->atom = (long)&r.atom;
	c->handoffs_before = syslet_stat("handoffs");
	t0 = now_ms();
	errno = 0;
	c->exec_ret = sys_async_exec(&r.atom, &r.ahu);
	c->exec_errno = errno;
	c->ms = now_ms() - t0;
	atomic_store(&w.gate, 1);
	if (c->exec_ret == 0)
		c->completed = reap_deadline(&r.ahu, r.ring, 8, 10000) == &r.atom && r.ret == 1;
	else
		c->completed = c->exec_ret == (long)&r.atom && r.ret == 1;
	c->atom_ret = r.ret;
	pthread_join(w.th, NULL);
	c->handoffs_after = syslet_stat("handoffs");
	close(q[0]);
	close(q[1]);
	return 0;
}

static inline void chain_say(const char *what, const struct chain_run *c)
{
	say("%s: async_exec() = %s (%#lx, errno %d) after %.0f ms, read %ld, completed %d, handoffs %ld -> %ld",
	    what, c->exec_ret == 0 ? "0 (asynchronous)" :
	    c->exec_ret == c->atom ? "&atom (blocked in place)" : "something else",
	    c->exec_ret, c->exec_errno, c->ms, c->atom_ret, c->completed,
	    c->handoffs_before, c->handoffs_after);
}

/* 0 if `c` was refused a handoff and blocked in place to its end. */
static inline int check_refused(const struct chain_run *c)
{
	if (c->handoffs_before < 0)
		return 1;	/* no /proc/self/syslet counter */
	if (c->exec_ret != c->atom)
		return 2;	/* handed off (0), or failed */
	if (!c->completed)
		return 3;
	return c->handoffs_after == c->handoffs_before ? 0 : 4;
}

/* 0 if `c` handed off, was counted and completed (the control). */
static inline int check_handed_off(const struct chain_run *c)
{
	if (c->exec_ret != 0)
		return 1;
	if (!c->completed)
		return 2;
	return c->handoffs_after == c->handoffs_before + 1 ? 0 : 3;
}

/*
 * 0 if `c` did not hand off and completed: blocked in place (refused in
 * the hook), or run on the async threads (refused by can_hand_off()
 * before the chain; async_exec() then returns 0 too).
 */
static inline int check_no_handoff(const struct chain_run *c)
{
	if (c->handoffs_before < 0)
		return 1;
	if (c->exec_ret != 0 && c->exec_ret != c->atom)
		return 2;
	if (!c->completed)
		return 3;
	return c->handoffs_after == c->handoffs_before ? 0 : 4;
}

/*
 * The calling thread's context handed off once (the control of a refusal,
 * or the move a "moves" row is about); 0 if it did. Says what happened.
 */
static inline int hand_off(const char *what)
{
	struct chain_run c;

	if (blocking_chain(&c, 3000))
		return 1;
	chain_say(what, &c);
	return check_handed_off(&c) ? 2 : 0;
}

/* ---- a case in a thread that is not the leader ---------------------- */

#define CASE_SKIP	200	/* a case's exit code: the kernel or CPU lacks it */

/*
 * Runs fn(arg) in a new thread of a child process (as `who`, killed
 * after `ms`) and returns what fn returned, or a RUN_* value. The thread
 * is not the group leader: its TID moves with its context, and a leader
 * whose context moved would sleep until the process ends.
 */
static struct {
	int (*fn)(void *);
	void *arg;
	int rc;
} hs_job;

static void *hs_job_thread(void *unused)
{
	hs_job.rc = hs_job.fn(hs_job.arg);
	return NULL;
}

static inline int hs_job_run(void *unused)
{
	pthread_t th;

	hs_job.rc = -1;
	if (pthread_create(&th, NULL, hs_job_thread, NULL) || pthread_join(th, NULL))
		return 9;
	return hs_job.rc;
}

static inline int run_in_thread(int (*fn)(void *), void *arg, enum who who, int ms)
{
	hs_job.fn = fn;
	hs_job.arg = arg;
	return run_child(hs_job_run, NULL, who, ms);
}

#endif /* HANDOFF_TEST_H */
