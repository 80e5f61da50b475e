/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the cachemiss handoff tests share (cachemiss_*_test.c, after
 * kselftest_harness.h and syslet_test.h): a read atom on a pipe, a
 * writer that fills the pipe once the submitter waits for it, a child
 * process that hands its main thread's context over, one that sets up
 * and waits to be killed (live_back_to(), the live_* counters' return to
 * where a test found them, is in syslet_test.h).
 */
#ifndef CACHEMISS_TEST_H
#define CACHEMISS_TEST_H

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

struct reader {
	struct syslet_uatom atom;
	unsigned long fd, buf, len;
	long ret;
	char data[16];
};

static inline void reader_init(struct reader *r, int fd)
{
	r->fd = fd;
	r->buf = (unsigned long)r->data;
	r->len = sizeof(r->data);
	r->ret = -12345;
	atom_set(&r->atom, 0, __NR_read, &r->ret, NULL, ATOM_ARGS(&r->fd, &r->buf, &r->len));
}

/*
 * Writes "cachemiss" to a pipe once the submitter, thread `waiter`, got
 * control back and sleeps in async_wait() for the completion, or after
 * 2 s anyway (a chain that blocked in place is released so, and its
 * checks fail rather than hang). With `signal_tid`, it first sends
 * SIGUSR1 to that thread and SIGUSR2 to the process, and waits (2 s at
 * most) for `*handled` to count both: the handlers ran while the chain
 * was still blocked.
 */
struct late_writer {
	int fd;
	pid_t waiter;		/* the submitter's TID (it moves with the context) */
	double wrote_at;
	pid_t signal_tid;	/* tgkill this TID with SIGUSR1 first, if set */
	int *handled;		/* the handlers' word_add()s, with signal_tid */
};

static inline void *late_write(void *arg)
{
	struct late_writer *w = arg;

	if (!wait_in_syscall(w->waiter, __NR_async_wait, 2000))
		printf("# late writer: thread %d not in async_wait() after 2 s\n", w->waiter);
	if (w->signal_tid) {
		syscall(SYS_tgkill, getpid(), w->signal_tid, SIGUSR1);
		kill(getpid(), SIGUSR2);
		if (!word_wait(w->handled, 2, 2000))
			printf("# late writer: the signal handlers did not both run within 2 s\n");
	}
	w->wrote_at = now_ms();
	if (write(w->fd, "cachemiss", 9) != 9)
		w->wrote_at = -1;
	return NULL;
}

/* Runs fn in a child process: its exit code, or -1 if it did not exit. */
static inline int exit_code_of(int (*fn)(void))
{
	int status;
	pid_t child = fork();

	if (child < 0)
		return -1;
	if (!child)
		exit(fn());
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* A child whose main thread handed its context over several times. */
static inline int child_with_handoffs(int rounds, int block_forever)
{
	struct syslet_uatom *ring[16] = { 0 };
	struct async_head_user ahu = RING_HEAD(ring);
	static struct reader r[8];
	int p[2], i;

	if (pipe(p))
		return 1;
	for (i = 0; i < rounds; i++) {
		reader_init(&r[i], p[0]);
		r[i].len = 1;
		if (sys_async_exec(&r[i].atom, &ahu) != 0)
			return 2;
		if (!block_forever) {
			if (write(p[1], "x", 1) != 1)
				return 3;
			if (reap(&ahu, ring, 16) != &r[i].atom)
				return 4;
		}
	}
	return 0;
}

/*
 * Forks a child that runs fn() and then waits to be killed. Returns once
 * the child has said fn() returned (a byte on a pipe) and every thread
 * of it is off the CPU (its chains blocked, its spares parked), or after
 * `ms` anyway; -1 if it could not fork.
 */
static inline pid_t fork_settled(int (*fn)(void), int ms)
{
	double end = now_ms() + ms;
	struct pollfd ready;
	int p[2];
	pid_t child;

	if (pipe(p))
		return -1;
	child = fork();
	if (!child) {
		int rc = fn();

		if (write(p[1], "r", 1) != 1)
			rc = 100;
		pause();
		_exit(rc);
	}
	close(p[1]);
	ready = (struct pollfd){ .fd = p[0], .events = POLLIN };
	if (child > 0 && (poll(&ready, 1, ms) != 1 ||
			  !threads_settled(child, (int)(end - now_ms()))))
		printf("# child %d not set up and settled within %d ms\n", child, ms);
	close(p[0]);
	return child;
}

#endif /* CACHEMISS_TEST_H */
