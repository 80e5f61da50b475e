// SPDX-License-Identifier: GPL-2.0
/*
 * Buffered writes through unmodified libaio calls (kernel.syslet_aio=1):
 * a write that sleeps, from a thread other than the main one, moves the
 * submitter's context to a spare (the cachemiss handoff) and ends
 * io_submit() with a partial count; one that does not sleep completes
 * inside io_submit(); the main thread's take the same path, and its TID
 * stays the PID (the group's leadership moves with it); io_submit()
 * as a chain's atom; kill and exit with such a write in flight; a write
 * past RLIMIT_FSIZE. The writes that must sleep go to uncached blocks
 * of /dev/nullb0 (5 ms per I/O: make test boots with --nullblk 5000000).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "syslet_test.h"
#include "aio_test.h"

/*
 * Buffered writes that sleep take the cachemiss path from a thread other
 * than the main one: io_submit() returns at once, with the count of iocbs
 * submitted so far, this one included. A write of 100 bytes into a
 * 512-byte block of the device, whose page is not cached, reads the block
 * first (5 ms): it blocks. Each test body runs in a second thread, and
 * once in the main thread, whose context moves with the group's
 * leadership (its TID stays the PID).
 */
#define BLOCKING_WRITES 4
#define BLOCKING_LEN 100

struct blocking_writes {
	int fd, calls, events_ok, data_ok;
	long handoffs;
	pid_t tid_before, tid_after;
	char bufs[BLOCKING_WRITES][BLOCKING_LEN];
};

/* Submits BLOCKING_WRITES writes into uncached blocks, resubmitting after
 * each partial count; waits for every event and reads the data back. */
static void *blocking_writes(void *arg)
{
	struct blocking_writes *w = arg;
	struct iocb cbs[BLOCKING_WRITES], *cbp[BLOCKING_WRITES];
	struct io_event ev[BLOCKING_WRITES];
	io_context_t ctx = 0;
	char back[BLOCKING_LEN];
	int i, got = 0, submitted = 0;

	w->tid_before = syscall(SYS_gettid);
	if (io_setup(BLOCKING_WRITES, &ctx))
		return NULL;
	for (i = 0; i < BLOCKING_WRITES; i++) {
		memset(w->bufs[i], 'P' + i, BLOCKING_LEN);
		io_prep_pwrite(&cbs[i], w->fd, w->bufs[i], BLOCKING_LEN,
			       (long long)i * STRIDE + 100);
		cbp[i] = &cbs[i];
	}
	while (submitted < BLOCKING_WRITES) {
		int k = io_submit(ctx, BLOCKING_WRITES - submitted, cbp + submitted);

		if (k <= 0)
			return NULL;
		submitted += k;
		w->calls++;
	}
	w->events_ok = 1;
	while (got < BLOCKING_WRITES) {
		int n = io_getevents(ctx, 1, BLOCKING_WRITES, ev, NULL);

		if (n <= 0)
			return NULL;
		for (i = 0; i < n; i++)
			w->events_ok &= (long)ev[i].res == BLOCKING_LEN;
		got += n;
	}
	w->handoffs = syslet_stat("handoffs");
	w->tid_after = syscall(SYS_gettid);
	/* The data went where it was written, around it the fill. */
	w->data_ok = 1;
	for (i = 0; i < BLOCKING_WRITES; i++) {
		w->data_ok &= pread(w->fd, back, BLOCKING_LEN, (off_t)i * STRIDE + 100) == BLOCKING_LEN &&
			      !memcmp(back, w->bufs[i], BLOCKING_LEN);
		w->data_ok &= pread(w->fd, back, 1, (off_t)i * STRIDE + 99) == 1 &&
			      back[0] == 'a' + i;
	}
	io_destroy(ctx);
	return NULL;
}

static int open_uncached_device(void)
{
	if (set_syslet_aio(1) || fill_device())
		return -1;
	drop_caches();
	return open(NULLB, O_RDWR);
}

TEST(blocking_buffered_write_ends_io_submit_with_a_partial_count)
{
	static struct blocking_writes w;
	pthread_t th;

	if (access(NULLB, W_OK))
		SKIP(return, "no " NULLB);
	w.fd = open_uncached_device();
	ASSERT_LE(0, w.fd);
	ASSERT_EQ(0, pthread_create(&th, NULL, blocking_writes, &w));
	ASSERT_EQ(0, pthread_join(th, NULL));
	TH_LOG("%d io_submit calls, %ld handoffs", w.calls, w.handoffs);
	/* Each write blocked: each io_submit() took exactly one. */
	ASSERT_EQ(BLOCKING_WRITES, w.calls);
	ASSERT_GE(w.handoffs, BLOCKING_WRITES);
	ASSERT_TRUE(w.events_ok);
	ASSERT_TRUE(w.data_ok);
	/* The thread's TID follows its context. */
	ASSERT_EQ(w.tid_before, w.tid_after);
	close(w.fd);
}

/* The main thread's writes take the cachemiss path too: each moves its
 * context, which keeps the PID as its TID. */
TEST(main_thread_writes_end_io_submit_with_a_partial_count)
{
	static struct blocking_writes w;

	if (access(NULLB, W_OK))
		SKIP(return, "no " NULLB);
	w.fd = open_uncached_device();
	ASSERT_LE(0, w.fd);
	ASSERT_EQ(getpid(), syscall(SYS_gettid));
	blocking_writes(&w);
	TH_LOG("%d io_submit calls, %ld handoffs", w.calls, w.handoffs);
	ASSERT_EQ(BLOCKING_WRITES, w.calls);
	ASSERT_GE(w.handoffs, BLOCKING_WRITES);
	ASSERT_TRUE(w.events_ok);
	ASSERT_TRUE(w.data_ok);
	ASSERT_EQ(getpid(), w.tid_before);
	ASSERT_EQ(getpid(), w.tid_after);
	ASSERT_EQ(getpid(), syscall(SYS_gettid));
	close(w.fd);
}

struct inline_write {
	int fd, ok, inline_done, moved;
	long threads_peak;
};

/*
 * A write that does not sleep runs in io_submit(): its event is there when
 * io_submit() returns, and no async thread was involved. Whether a
 * buffered write sleeps is not up to the test (on PREEMPT_RT a contended
 * sleeping lock in the write path does): a write during which the
 * caller's context moved to a spare (the handoff count went up) really
 * slept, and its event comes later. Every write that did not move must
 * have completed inside io_submit(), and most must not have moved (on
 * PREEMPT_RT too: every inode_lock() moved the context there until
 * patches/0017, as rwbase_write_lock() ran the pre-schedule work before
 * each rwsem write lock; up to 8 of 8 writes moved in one run).
 */
static void *nonblocking_writes(void *arg)
{
	struct inline_write *w = arg;
	static char buf[4096];
	struct timespec zero = { 0, 0 }, later = { 10, 0 };
	struct iocb cb, *cbp = &cb;
	struct io_event ev;
	io_context_t ctx = 0;
	long h0, h1;
	int i, got;

	if (io_setup(4, &ctx))
		return NULL;
	memset(buf, 'w', sizeof(buf));
	w->ok = 1;
	for (i = 0; i < 8; i++) {
		io_prep_pwrite(&cb, w->fd, buf, sizeof(buf), (long long)i * 4096);
		h0 = syslet_stat("handoffs");
		w->ok &= io_submit(ctx, 1, &cbp) == 1;
		got = io_getevents(ctx, 0, 1, &ev, &zero);
		h1 = syslet_stat("handoffs");
		if (h1 == h0) {
			w->inline_done++;
		} else {
			w->moved++;
			if (got == 0)
				got = io_getevents(ctx, 1, 1, &ev, &later);
		}
		w->ok &= got == 1 && (long)ev.res == 4096;
	}
	w->threads_peak = syslet_stat("threads_peak");
	io_destroy(ctx);
	return NULL;
}

TEST(nonblocking_buffered_write_completes_inside_io_submit)
{
	struct inline_write w = { .fd = temp_file() };
	pthread_t th;

	ASSERT_LE(0, w.fd);
	ASSERT_EQ(0, set_syslet_aio(1));
	ASSERT_EQ(0, pthread_create(&th, NULL, nonblocking_writes, &w));
	ASSERT_EQ(0, pthread_join(th, NULL));
	TH_LOG("%d of 8 writes completed inside io_submit(), %d slept and moved", w.inline_done, w.moved);
	ASSERT_TRUE(w.ok);
	ASSERT_LE(6, w.inline_done);
	ASSERT_EQ(0, w.threads_peak);
	ASSERT_EQ(8 * 4096, lseek(w.fd, 0, SEEK_END));
	close(w.fd);
}

/*
 * A blocking write submitted by a chain's atom never moves a context of its
 * own: the frame is async_exec()'s. Flagged SYSLET_SYNC (the task is not
 * armed), the write goes to an async thread, the atom returns 1 and the
 * chain ends inline with no handoff at all. Unflagged, the atom is armed as
 * any other: the chain may go asynchronous while io_submit() sleeps (making
 * the async thread), and then completes into the ring; either way the atom
 * returns 1 and the write completes once. Run from a second thread.
 */
struct chain_write {
	int fd;
	long end[2], ret[2], res[2], handoffs_sync, atom, reaped;
};

static void *chain_writes(void *arg)
{
	static char buf[BLOCKING_LEN];
	static struct syslet_uatom *ring[4], atom;
	static struct async_head_user ahu = RING_HEAD(ring);
	struct chain_write *w = arg;
	unsigned long ctx_arg, one = 1, cbpp_arg;
	struct iocb cb, *cbp = &cb;
	struct io_event ev;
	io_context_t ctx = 0;
	long handoffs;
	int round;

	if (io_setup(4, &ctx))
		return NULL;
	ctx_arg = (unsigned long)ctx;
	cbpp_arg = (unsigned long)&cbp;
	w->atom = (long)&atom;
	for (round = 0; round < 2; round++) {
		memset(buf, 'c' + round, sizeof(buf));
		io_prep_pwrite(&cb, w->fd, buf, sizeof(buf), (long long)(6 + round) * STRIDE + 100);
		atom_set(&atom, round ? 0 : SYSLET_SYNC, __NR_io_submit, &w->ret[round], NULL,
			 ATOM_ARGS(&ctx_arg, &one, &cbpp_arg));
		handoffs = syslet_stat("handoffs");
		w->end[round] = sys_async_exec(&atom, &ahu);
		if (!round)
			w->handoffs_sync = syslet_stat("handoffs") - handoffs;
		if (!w->end[round])
			w->reaped = (long)reap(&ahu, ring, 4);
		w->res[round] = io_getevents(ctx, 1, 1, &ev, NULL) == 1 ? (long)ev.res : -1;
	}
	io_destroy(ctx);
	return NULL;
}

TEST(io_submit_inside_a_chain_does_not_hand_off)
{
	static struct chain_write w;
	pthread_t th;

	if (access(NULLB, W_OK))
		SKIP(return, "no " NULLB);
	w.fd = open_uncached_device();
	ASSERT_LE(0, w.fd);
	ASSERT_EQ(0, pthread_create(&th, NULL, chain_writes, &w));
	ASSERT_EQ(0, pthread_join(th, NULL));
	/* SYSLET_SYNC: inline, no handoff. */
	ASSERT_EQ(w.atom, w.end[0]);
	ASSERT_EQ(0, w.handoffs_sync);
	ASSERT_EQ(1, w.ret[0]);
	ASSERT_EQ(BLOCKING_LEN, w.res[0]);
	/* Unflagged: inline, or asynchronous with its completion reaped. */
	if (!w.end[1]) {
		ASSERT_EQ(w.atom, w.reaped);
	} else {
		ASSERT_EQ(w.atom, w.end[1]);
	}
	ASSERT_EQ(1, w.ret[1]);
	ASSERT_EQ(BLOCKING_LEN, w.res[1]);
	close(w.fd);
}

/* A process killed while a write that moved its context is in flight:
 * nothing hangs, every request ends. */
static void *write_then_die(void *arg)
{
	static char buf[BLOCKING_LEN];
	long round = (long)arg;
	struct iocb cb, *cbp = &cb;
	io_context_t ctx = 0;
	int fd = open(NULLB, O_WRONLY);

	if (fd < 0 || io_setup(4, &ctx))
		_exit(2);
	io_prep_pwrite(&cb, fd, buf, sizeof(buf), (long long)(round + 8) * STRIDE + 100);
	if (io_submit(ctx, 1, &cbp) != 1)
		_exit(3);
	/* Odd rounds exit, even ones are killed. */
	if (round & 1)
		_exit(0);
	kill(getpid(), SIGKILL);
	_exit(4);
}

TEST(kill_with_a_handed_off_write_in_flight)
{
	long round;

	if (access(NULLB, W_OK))
		SKIP(return, "no " NULLB);
	ASSERT_EQ(0, set_syslet_aio(1));
	for (round = 0; round < 4; round++) {
		pid_t pid = fork();
		int status;

		ASSERT_GE(pid, 0);
		if (pid == 0) {
			pthread_t th;

			drop_caches();
			if (pthread_create(&th, NULL, write_then_die, (void *)round))
				_exit(5);
			pthread_join(th, NULL);
			_exit(6);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		if (round & 1) {
			ASSERT_TRUE(WIFEXITED(status));
			ASSERT_EQ(0, WEXITSTATUS(status));
		} else {
			ASSERT_TRUE(WIFSIGNALED(status));
			ASSERT_EQ(SIGKILL, WTERMSIG(status));
		}
	}
}

static volatile int xfsz;

static void on_xfsz(int sig)
{
	(void)sig;
	word_add((int *)&xfsz, 1);
}

TEST(write_past_rlimit_fsize_is_efbig_with_one_sigxfsz)
{
	struct rlimit rl = { 8192, 8192 };
	char b[4096];
	struct iocb cbs[2], *cbp[2] = { &cbs[0], &cbs[1] };
	struct io_event ev[2];
	io_context_t ctx = 0;
	int fd, n, got = 0;

	ASSERT_EQ(0, set_syslet_aio(1));
	signal(SIGXFSZ, on_xfsz);
	fd = temp_file();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &rl));
	memset(b, 'z', sizeof(b));
	ASSERT_EQ(0, io_setup(4, &ctx));
	io_prep_pwrite(&cbs[0], fd, b, sizeof(b), 0);		/* fits */
	io_prep_pwrite(&cbs[1], fd, b, sizeof(b), 16384);	/* past the limit */
	ASSERT_EQ(2, io_submit(ctx, 2, cbp));
	while (got < 2) {
		n = io_getevents(ctx, 1, 2, ev + got, NULL);
		/* The SIGXFSZ handler may run while this waits: EINTR, as
		 * with any wait a handler interrupts. */
		if (n == -EINTR)
			continue;
		ASSERT_GT(n, 0);
		got += n;
	}
	for (n = 0; n < 2; n++) {
		long want = ev[n].obj == &cbs[0] ? 4096 : -EFBIG;

		EXPECT_EQ(want, (long)ev[n].res);
	}
	/*
	 * The signal may come after the events (an async thread's write
	 * forwards it): wait for it, 2 s at most. Then a window, not a wait
	 * for anything, in which a second one would arrive.
	 */
	word_wait((int *)&xfsz, 1, 2000);
	usleep(20 * 1000);
	/* Raised once, to the submitter, as a synchronous write would. */
	ASSERT_EQ(1, xfsz);
	io_destroy(ctx);
	close(fd);
}

TEST_HARNESS_MAIN
