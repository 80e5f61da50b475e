/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the handoff safety tests (handoff_identity_test.c,
 * handoff_state_test.c): children run as root or as nobody with a
 * deadline, sysctls saved and restored, pipes written late, completions
 * reaped with a deadline. Nothing here waits without a bound.
 */
#ifndef HANDOFF_TEST_H
#define HANDOFF_TEST_H

#include <errno.h>
#include <grp.h>
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

#endif /* HANDOFF_TEST_H */
