// SPDX-License-Identifier: GPL-2.0
/*
 * Threadlets and the kernel's sleeping locks: a lock nobody holds is no
 * sleep (the threadlet stays inline), a contended one is (it goes
 * asynchronous, so that its caller can go on and, here, release what the
 * lock's holder waits for), and a PI futex wait calls no scheduler hook
 * (it waits in place). Documentation/handoff.md, "rt-mutex waiter".
 * PREEMPT_RT is where these differ from one another: its mutexes and
 * rwsems are rt-mutexes (make check-configs CONFIGS=rt).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "syslet_test.h"
#include "threadlet.h"
#include "threadlet_test.h"

/* A threadlet that takes write locks nobody contends, and what it got. */
struct locker {
	int memfd;
	int rounds;
	long bad;	/* the first failed call's return, 0 if none */
	int done;
	char byte;
};

enum { LOCK_ROUNDS = 32, LOCK_TRIES = 5 };

static void lock_fn(void *arg)
{
	struct locker *l = arg;

	for (int i = 0; i < LOCK_ROUNDS && !l->bad; i++) {
		/* mmap() and munmap(): the mm's write lock */
		long p = raw_syscall6(__NR_mmap, 0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
				      -1, 0);
		long r = p < 0 ? p : raw_syscall3(__NR_munmap, p, 4096, 0);

		/* a write to a cached tmpfs page: the inode's write lock */
		if (!r)
			r = raw_syscall4(__NR_pwrite64, l->memfd, (long)&l->byte, 1, i) - 1;
		l->bad = r;
		l->rounds++;
	}
	word_add(&l->done, 1);
}

/*
 * An rwsem write lock nobody holds is no sleep: the threadlet stays inline.
 * PREEMPT_RT's rwbase_write_lock() ran the pre-schedule work, and with it
 * the scheduler hook, before every such lock; the context was handed over
 * there, at each mmap() (make check-configs CONFIGS=rt: every try went
 * asynchronous; patches/0017). One try in five may meet a real holder of
 * the mm's lock (a kernel thread scanning it) and go asynchronous.
 */
TEST(uncontended_write_locks_keep_a_threadlet_inline)
{
	struct locker warm = { .byte = 'x' };
	char page[4096] = { 0 };
	int inline_runs = 0;
	int memfd = memfd_create("locks", 0);

	ASSERT_LE(0, memfd);
	ASSERT_EQ(sizeof(page), pwrite(memfd, page, sizeof(page), 0));
	warm.memfd = memfd;
	warm_up(lock_fn, &warm);
	ASSERT_EQ(0, warm.bad);
	for (int t = 0; t < LOCK_TRIES; t++) {
		/* each try its own record and stack: an asynchronous one runs on */
		struct locker *l = calloc(1, sizeof(*l));
		char *stack = new_stack();
		int ret;

		ASSERT_NE(NULL, l);
		ASSERT_NE(NULL, stack);
		l->memfd = memfd;
		l->byte = 'x';
		ret = threadlet_exec(lock_fn, l, stack, STACK_SIZE);
		ASSERT_TRUE(ret == THREADLET_INLINE || ret == THREADLET_WENT_ASYNC);
		ASSERT_EQ(1, wait_for(&l->done, 1, 5000));
		ASSERT_EQ(0, l->bad);
		ASSERT_EQ(LOCK_ROUNDS, l->rounds);
		if (ret == THREADLET_INLINE)
			inline_runs++;
		else
			TH_LOG("try %d went asynchronous", t);
	}
	ASSERT_LE(LOCK_TRIES - 1, inline_runs);
	close(memfd);
}

/* A PI lock another thread holds for HOLD_MS, and a threadlet that takes it. */
enum { HOLD_MS = 300 };

struct pi_holder {
	int *word;
	int held;
	long unlock_ret;
};

static void *pi_hold(void *arg)
{
	struct pi_holder *h = arg;
	int tid = syscall(__NR_gettid), expected = 0;

	if (!__atomic_compare_exchange_n(h->word, &expected, tid, 0, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return NULL;
	word_add(&h->held, 1);
	usleep(HOLD_MS * 1000);
	expected = tid;
	/* A waiter set FUTEX_WAITERS: the kernel hands the lock over. */
	if (!__atomic_compare_exchange_n(h->word, &expected, 0, 0, __ATOMIC_RELEASE,
					 __ATOMIC_RELAXED))
		h->unlock_ret = syscall(__NR_futex, h->word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL);
	return NULL;
}

struct pi_waiter {
	int *word;
	long lock_ret, unlock_ret, tid, word_tid;
	int done;
};

static void pi_lock_fn(void *arg)
{
	struct pi_waiter *w = arg;

	w->lock_ret = raw_syscall4(__NR_futex, (long)w->word, FUTEX_LOCK_PI_PRIVATE, 0, 0);
	w->word_tid = __atomic_load_n(w->word, __ATOMIC_ACQUIRE) & FUTEX_TID_MASK;
	w->tid = raw_gettid();
	w->unlock_ret = raw_syscall3(__NR_futex, (long)w->word, FUTEX_UNLOCK_PI_PRIVATE, 0);
	word_add(&w->done, 1);
}

/*
 * FUTEX_LOCK_PI on a lock another thread holds waits in an rt-mutex proxy
 * wait, which calls no scheduler hook (rt_mutex_futex_pre_schedule()): the
 * threadlet waits in place and returns inline once the holder lets go
 * (Documentation/handoff.md, "rt-mutex waiter"), on every kernel. It gets
 * the lock with its task's TID in the word, and gives it back.
 */
TEST(a_threadlet_waiting_for_a_pi_lock)
{
	static int word, free_word;
	struct pi_holder h = { .word = &word };
	struct pi_waiter warm = { .word = &free_word };
	struct pi_waiter *w = calloc(1, sizeof(*w));	/* outlives a failed test */
	char *stack = new_stack();
	pthread_t holder;
	double t0, elapsed;
	int ret;

	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, stack);
	w->word = &word;
	/* Its code page mapped, on a free lock: taken and given back at once. */
	warm_up(pi_lock_fn, &warm);
	ASSERT_EQ(0, warm.lock_ret);
	ASSERT_EQ(0, warm.unlock_ret);
	ASSERT_EQ(0, pthread_create(&holder, NULL, pi_hold, &h));
	ASSERT_EQ(1, wait_for(&h.held, 1, 5000));
	t0 = now_ms();
	ret = threadlet_exec(pi_lock_fn, w, stack, STACK_SIZE);
	elapsed = now_ms() - t0;
	ASSERT_EQ(1, wait_for(&w->done, 1, 5000));
	ASSERT_EQ(0, pthread_join(holder, NULL));
	TH_LOG("threadlet_exec() returned %d after %.1f ms (the holder keeps the lock %d ms)", ret,
	       elapsed, HOLD_MS);
	ASSERT_EQ(0, w->lock_ret);
	ASSERT_EQ(0, w->unlock_ret);
	ASSERT_EQ(0, h.unlock_ret);
	ASSERT_EQ(w->tid, w->word_tid);
	ASSERT_EQ(0, word);
	ASSERT_EQ(THREADLET_INLINE, ret);
	ASSERT_LE(HOLD_MS / 2, elapsed);
}

/* A pty pair, a reader on the slave, and a feeder that ends every wait. */
enum { FEED_MS = 2000 };

struct pty {
	int master, slave;
	int reading;		/* the reader is about to read */
	pid_t reader_tid;
	long reader_ret;
	char reader_byte;
};

static void *pty_reader(void *arg)
{
	struct pty *p = arg;

	p->reader_tid = gettid();
	word_add(&p->reading, 1);
	p->reader_ret = read(p->slave, &p->reader_byte, 1);
	return NULL;
}

/* Writes to the master after FEED_MS whatever happened: no wait outlives it. */
static void *pty_feeder(void *arg)
{
	struct pty *p = arg;

	usleep(FEED_MS * 1000);
	return (void *)(long)write(p->master, "yy", 2);
}

struct pty_read {
	int fd;
	long ret;
	char byte;
	int done;
};

static void pty_read_fn(void *arg)
{
	struct pty_read *r = arg;

	r->ret = raw_syscall3(__NR_read, r->fd, (long)&r->byte, 1);
	word_add(&r->done, 1);
}

/*
 * A blocking read of a pty slave takes its line discipline's read mutex
 * (n_tty_read(): ldata->atomic_read_lock), which a reader already waiting
 * for input holds. The threadlet sleeps on the contended mutex: it must go
 * asynchronous there, so that its caller goes on and writes the input
 * that both reads wait for. Waiting in place instead would hang until the
 * feeder writes after FEED_MS (PREEMPT_RT, where the mutex's wait starts
 * in rt_mutex_pre_schedule(), with the hooks ignoring a running task's
 * call: a fix under review did that).
 */
TEST(a_threadlet_on_a_contended_mutex_goes_async)
{
	struct pty p = { .master = posix_openpt(O_RDWR | O_NOCTTY) };
	struct pty_read warm = { .fd = -1 };
	struct pty_read *r = calloc(1, sizeof(*r));	/* outlives a failed test */
	char *stack = new_stack();
	pthread_t reader, feeder;
	struct termios tio;
	void *fed;
	double t0, elapsed;
	int ret;

	ASSERT_NE(NULL, r);
	ASSERT_NE(NULL, stack);
	ASSERT_LE(0, p.master) TH_LOG("posix_openpt: %s", strerror(errno));
	ASSERT_EQ(0, grantpt(p.master));
	ASSERT_EQ(0, unlockpt(p.master));
	p.slave = open(ptsname(p.master), O_RDWR | O_NOCTTY);
	ASSERT_LE(0, p.slave);
	ASSERT_EQ(0, tcgetattr(p.slave, &tio));
	cfmakeraw(&tio);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	ASSERT_EQ(0, tcsetattr(p.slave, TCSANOW, &tio));
	r->fd = p.slave;
	warm_up(pty_read_fn, &warm);	/* read(-1): EBADF, its code page mapped */
	ASSERT_EQ(-EBADF, warm.ret);
	ASSERT_EQ(0, pthread_create(&feeder, NULL, pty_feeder, &p));
	ASSERT_EQ(0, pthread_create(&reader, NULL, pty_reader, &p));
	ASSERT_EQ(1, wait_for(&p.reading, 1, 5000));
	/* The reader waits inside n_tty_read() (5 s at most; the checks below
	 * find out if it did not). */
	wait_in_syscall(p.reader_tid, __NR_read, 5000);
	t0 = now_ms();
	ret = threadlet_exec(pty_read_fn, r, stack, STACK_SIZE);
	elapsed = now_ms() - t0;
	if (ret == THREADLET_WENT_ASYNC)
		ASSERT_EQ(2, write(p.master, "zz", 2));
	ASSERT_EQ(1, wait_for(&r->done, 1, 3 * FEED_MS));
	ASSERT_EQ(0, pthread_join(reader, NULL));
	ASSERT_EQ(0, pthread_join(feeder, &fed));
	TH_LOG("threadlet_exec() returned %d after %.1f ms; the threads read %ld ('%c') and %ld ('%c')",
	       ret, elapsed, p.reader_ret, p.reader_byte, r->ret, r->byte);
	ASSERT_EQ(THREADLET_WENT_ASYNC, ret);
	ASSERT_GT(FEED_MS / 4, elapsed);
	ASSERT_EQ(1, p.reader_ret);
	ASSERT_EQ(1, r->ret);
	ASSERT_EQ('z', p.reader_byte);
	ASSERT_EQ('z', r->byte);
	ASSERT_EQ(2, (long)fed);
	close(p.slave);
	close(p.master);
}

TEST_HARNESS_MAIN
