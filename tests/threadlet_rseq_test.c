// SPDX-License-Identifier: GPL-2.0
/*
 * A threadlet whose task sleeps inside rseq's own work on the way back
 * to user space.
 *
 * The handoff gives the context the thread's rseq area (it goes on with
 * the thread's TLS) and takes it from the task at once. A threadlet's
 * task is armed in user space too, so a sleep anywhere on its way out
 * could hand the context on, rseq's resume work included: a fault on the
 * area that has to read the page. That work reads the task's rseq
 * pointer again after the fault, found it gone, and force_sigsegv()
 * killed the process for a fault it never made (make fuzz: "a SIGSEGV at
 * address 0 right after a system call in a threadlet", a fork() having
 * made the TLS page copy-on-write). Now that work pauses the handoff
 * (patches/0015): the task sleeps there in place, and the head moves
 * only at another sleep.
 *
 * Here the area is a private mapping of /dev/nullb0 (5 ms per read), its
 * page dropped (root: BLKFLSBUF); a signal to the threadlet makes rseq read the area
 * (rseq_signal_deliver()): the read sleeps 5 ms in place, the threadlet
 * finishes inline, and the signal is delivered in it as in a thread of
 * its own. An attempt whose head moved at some other sleep is checked
 * too: the caller keeps the area, the threadlet's task has none.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/rseq.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/rseq.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "handoff_test.h"
#include "aio_test.h"
#include "threadlet.h"

enum { STACK_SIZE = 64 << 10, ATTEMPTS = 20, AREA_LEN = 32 };

/* Where the areas are read from (the device has 1 GiB): clear of the aio tests' ranges. */
#define AREA_BASE (768LL << 20)

/* What the child process exits with. */
enum {
	SLEPT_IN_PLACE = 42,	/* rseq's read slept 5 ms, the head stayed; all checks held */
	NEVER_SLEPT = 3,	/* no attempt's read slept there: nothing was checked */
	SETUP = 4,		/* mmap, open, pthread or the rseq unregistration failed */
	NO_COMPLETION = 5,	/* the threadlet never said it was done */
	CALLER_LOST_AREA = 6,	/* the caller's registration did not come along */
	TASK_KEPT_AREA = 7,	/* the threadlet's task still had the area */
	HANDLER = 8,		/* the signal's handler did not run exactly once */
};

struct attempt {
	struct rseq *area;	/* the context's */
	struct rseq *spare_area;	/* the threadlet task's probe */
	int fd;
	off_t off;
	int done;
	long remap, kill, probe, unreg;
	long long kill_ns;	/* how long the signal's delivery took */
};

static volatile int handled;

static void on_usr1(int sig)
{
	handled++;
}

/*
 * The threadlet: drops the area's copy (mapping the device's page again in
 * its place), then a signal to itself, whose delivery reads the area.
 * Raw calls only, no TLS: once the head moved this task runs beside the
 * caller on the caller's TLS.
 */
static void signal_fn(void *arg)
{
	struct attempt *a = arg;
	struct timespec t0, t1;
	long pid = raw_syscall4(__NR_getpid, 0, 0, 0, 0);
	long tid = raw_syscall4(__NR_gettid, 0, 0, 0, 0);

	a->remap = raw_syscall6(__NR_mmap, (long)a->area, 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_FIXED, a->fd, a->off);
	raw_syscall4(__NR_clock_gettime, CLOCK_MONOTONIC, (long)&t0, 0, 0);
	a->kill = raw_syscall4(__NR_tgkill, pid, tid, SIGUSR1, 0);
	raw_syscall4(__NR_clock_gettime, CLOCK_MONOTONIC, (long)&t1, 0, 0);
	a->kill_ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + t1.tv_nsec - t0.tv_nsec;
	/* Registering another area works only if this task let go of its own. */
	a->probe = raw_syscall4(__NR_rseq, (long)a->spare_area, AREA_LEN, 0, RSEQ_SIG);
	if (a->probe == 0)
		a->unreg = raw_syscall4(__NR_rseq, (long)a->spare_area, AREA_LEN,
					RSEQ_FLAG_UNREGISTER, RSEQ_SIG);
	word_set(&a->done, 1);
}

/* Drops glibc's registration for this thread (its length is not exported). */
static int unregister_glibc(void)
{
	struct rseq *own = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
	unsigned int lens[] = { __rseq_size, 32, 64, 128, 256 };

	if (!__rseq_size)
		return 0;
	for (unsigned int i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		if (!syscall(__NR_rseq, own, lens[i], RSEQ_FLAG_UNREGISTER, RSEQ_SIG))
			return 0;
	return -1;
}

static int setup_failed(const char *what)
{
	say("%s: %s", what, strerror(errno));
	return SETUP;
}

static int one_attempt(int fd, int n, char *stack)
{
	static struct rseq spare __attribute__((aligned(32)));
	struct attempt a = { .spare_area = &spare, .fd = fd, .off = AREA_BASE + (off_t)n * 4096 };
	double end;
	long ret;

	a.area = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, a.off);
	if (a.area == MAP_FAILED)
		return setup_failed("mmap of " NULLB);
	if (syscall(__NR_rseq, a.area, AREA_LEN, 0, RSEQ_SIG))
		return setup_failed("rseq registration");
	/*
	 * The area is a private copy of the device's page by now: the page
	 * can go (root: BLKFLSBUF; the test kernel has no fadvise()). The
	 * threadlet drops the copy: its next read waits for the device.
	 */
	if (ioctl(fd, BLKFLSBUF, 0))
		return setup_failed("BLKFLSBUF");
	handled = 0;
	ret = threadlet_exec(signal_fn, &a, stack, STACK_SIZE);
	if (!word_wait(&a.done, 1, 5000))
		return NO_COMPLETION;
	if (a.remap != (long)a.area) {
		errno = -a.remap;
		return setup_failed("mmap(MAP_FIXED) over the area");
	}
	/* Delivered in the threadlet, or (moved before) to the caller. */
	end = now_ms() + 2000;
	while (handled < 1 && now_ms() < end)
		usleep(1000);
	if (handled != 1) {
		say("the handler ran %d times", handled);
		return HANDLER;
	}
	if (ret == THREADLET_INLINE) {
		/* 4 ms: the device's 5, not a preemption's. */
		int slept = a.kill_ns >= 4000000;

		if (syscall(__NR_rseq, a.area, AREA_LEN, RSEQ_FLAG_UNREGISTER, RSEQ_SIG))
			return setup_failed("rseq unregistration");
		munmap(a.area, 4096);
		if (a.kill != 0 || a.probe != -EINVAL) {
			say("inline threadlet: tgkill %ld, a second area %ld (want -EINVAL: it has one)",
			    a.kill, a.probe);
			return TASK_KEPT_AREA;
		}
		return slept ? SLEPT_IN_PLACE : NEVER_SLEPT;
	}
	if (ret != THREADLET_WENT_ASYNC)
		return setup_failed("threadlet_exec");
	/* The caller's registration came with its context. */
	errno = 0;
	if (syscall(__NR_rseq, a.area, AREA_LEN, 0, RSEQ_SIG) != -1 || errno != EBUSY)
		return CALLER_LOST_AREA;
	if (a.kill != 0 || a.probe != 0 || a.unreg != 0) {
		say("threadlet: tgkill %ld, a second area %ld, its unregistration %ld",
		    a.kill, a.probe, a.unreg);
		return TASK_KEPT_AREA;
	}
	/*
	 * Moved at another sleep, cleanly: not what is looked for here. The
	 * area is this thread's again; let it go for the next attempt.
	 */
	if (syscall(__NR_rseq, a.area, AREA_LEN, RSEQ_FLAG_UNREGISTER, RSEQ_SIG))
		return setup_failed("rseq unregistration after the handoff");
	munmap(a.area, 4096);
	return NEVER_SLEPT;
}

static void *thread_main(void *arg)
{
	char *stack = malloc(STACK_SIZE);
	int fd = open(NULLB, O_RDONLY);
	int r = NEVER_SLEPT;

	if (!stack || fd < 0)
		return (void *)(long)setup_failed("malloc or open of " NULLB);
	if (unregister_glibc())
		return (void *)(long)setup_failed("unregistering glibc's rseq area");
	memset(stack, 0x5a, STACK_SIZE);	/* no first-touch fault in the threadlet */
	for (int i = 0; i < ATTEMPTS && r == NEVER_SLEPT; i++)
		r = one_attempt(fd, i, stack);
	/* the areas stay mapped and registered: the process ends here */
	return (void *)(long)r;
}

static int child(void *unused)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	pthread_t t;
	void *r;

	alarm(60);
	if (sigaction(SIGUSR1, &sa, NULL) || pthread_create(&t, NULL, thread_main, NULL) ||
	    pthread_join(t, &r))
		return setup_failed("sigaction or pthread");
	return (int)(long)r;
}

TEST(signal_in_a_threadlet_whose_rseq_read_sleeps)
{
	int rc;

	if (access(NULLB, R_OK))
		SKIP(return, "no " NULLB " (boot with tools/vm --nullblk)");
	if (geteuid() != 0)
		SKIP(return, "dropping the device's cached page takes root (BLKFLSBUF)");
	if (syscall(__NR_rseq, NULL, 0, 0, 0) == -1 && errno == ENOSYS)
		SKIP(return, "a kernel without rseq (CONFIG_RSEQ)");
	reset_sysctls();	/* the handoff on */
	rc = run_child(child, NULL, AS_ROOT, 70000);
	ASSERT_NE(RUN_SIGNALED(SIGSEGV), rc)
		TH_LOG("SIGSEGV: the threadlet's task lost the rseq area inside rseq's own work");
	ASSERT_EQ(SLEPT_IN_PLACE, rc)
		TH_LOG("exit %d (3: rseq's read never slept in place in %d attempts (it moved the "
		       "head?), 4: setup, 5: no completion, 6: the caller lost its area, "
		       "7: the threadlet's task kept it, 8: handler; 1000+n: signal n)", rc, ATTEMPTS);
}

TEST_HARNESS_MAIN
