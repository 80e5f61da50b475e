// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection through every system call of the project (issue 14).
 *
 * The per-task "fail-nth" of Documentation/fault-injection/
 * fault-injection.rst: writing N to /proc/thread-self/fail-nth makes the
 * Nth fault point the task reaches fail (failslab: a slab allocation;
 * fail_page_alloc: a page allocation of order >= min-order;
 * fail_usercopy: a copy_{from,to}_user() or strncpy_from_user()), and
 * reading it back says whether it was reached (0) or not (what is left
 * of the count). fail-nth overrides probability, interval, times and
 * space, but not the per-capability filters, so failslab and
 * fail_page_alloc get ignore-gfp-wait=N (else every GFP_KERNEL
 * allocation is exempt) and fail_page_alloc ignore-gfp-highmem=N;
 * verbose=0 keeps the console quiet, probability=0 and task-filter=Y
 * make sure nothing else fails meanwhile. min-order stays at its
 * default (1): order-0 pages would make the user page faults around
 * the call fail too.
 *
 * For N = 1, 2, ...: a fresh child (so that the first use's allocations,
 * the per-process state, the first spare or async thread, the private fd
 * space, are the ones failing) prepares, writes N to fail-nth, makes the
 * one call, reads fail-nth back, checks that the call succeeded or failed
 * cleanly (-1 with a documented errno, its effects whole or absent), undoes
 * what it did, checks that the engine or the fd space still works, and
 * exits. The loop stops when fail-nth reads back non-zero (the call has
 * fewer than N fault points) or at N = 200. The parent watches the child
 * for hangs (a stack dump of its threads, then SIGKILL) and crashes;
 * after the loop the engine's /sys/kernel/debug/syslet/live_* counters
 * must be back where they were within 5 s.
 *
 * A kernel without the fault-injection options fails every test here
 * (the test kernel must have them: tools/kconfig/test.config).
 * FAULT_INJECT_DRY_RUN=1 in the environment runs each loop once with no
 * fault at all (a development aid for kernels without the options);
 * FAULT_INJECT_VERBOSE=1 prints the outcome of every N.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "syslet_test.h"
#include <linux/fdspace.h>

#define FI_MAX_N		200	/* fault points tried per call, at most */
#define FI_CHILD_TIMEOUT_MS	8000	/* one child, prepared, faulted, checked */
#define FI_LOOP_MAX_MS		20000	/* a loop's share of the harness's 30 s */
#define FI_PROGRAM_MS		88000	/* the whole program, under TCG */
#define FI_LOOPS		17	/* the fault loops below */
#define SENTINEL		(-12345L)

static const char *const fi_dirs[] = { "failslab", "fail_page_alloc", "fail_usercopy" };

/* A debugfs setting, what it must be here, and what it was before. */
struct knob {
	const char *dir, *name, *value;
	char saved[64];
	int have;
};

static struct knob knobs[] = {
	{ "failslab", "task-filter", "Y" },
	{ "failslab", "probability", "0" },
	{ "failslab", "interval", "1" },
	{ "failslab", "times", "-1" },
	{ "failslab", "space", "0" },
	{ "failslab", "verbose", "0" },
	{ "failslab", "ignore-gfp-wait", "N" },
	{ "failslab", "cache-filter", "N" },
	{ "fail_page_alloc", "task-filter", "Y" },
	{ "fail_page_alloc", "probability", "0" },
	{ "fail_page_alloc", "interval", "1" },
	{ "fail_page_alloc", "times", "-1" },
	{ "fail_page_alloc", "space", "0" },
	{ "fail_page_alloc", "verbose", "0" },
	{ "fail_page_alloc", "ignore-gfp-wait", "N" },
	{ "fail_page_alloc", "ignore-gfp-highmem", "N" },
	{ "fail_usercopy", "task-filter", "Y" },
	{ "fail_usercopy", "probability", "0" },
	{ "fail_usercopy", "interval", "1" },
	{ "fail_usercopy", "times", "-1" },
	{ "fail_usercopy", "space", "0" },
	{ "fail_usercopy", "verbose", "0" },
};

#define SYSCTL_HANDOFF	"/proc/sys/kernel/syslet_handoff"
#define SYSCTL_AIO	"/proc/sys/kernel/syslet_aio"

static long saved_handoff = -1, saved_aio = -1;
static double program_start;
static int dry_run, verbose;

static void knob_path(const struct knob *k, char *path, size_t len)
{
	snprintf(path, len, "/sys/kernel/debug/%s/%s", k->dir, k->name);
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	return close(fd) == 0 && ok ? 0 : -1;
}

static int read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/*
 * Sets every knob; 0, or -1 with `why` filled in. Done by each test (a
 * process of its own), undone once by main().
 */
static int fi_configure(char *why, size_t len)
{
	char path[128];
	unsigned int i;

	if (dry_run)
		return 0;
	for (i = 0; i < sizeof(fi_dirs) / sizeof(fi_dirs[0]); i++) {
		struct stat st;

		snprintf(path, sizeof(path), "/sys/kernel/debug/%s", fi_dirs[i]);
		if (stat(path, &st)) {
			snprintf(why, len, "%s is missing (%s): the test kernel needs CONFIG_FAULT_INJECTION, "
				 "CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_USERCOPY "
				 "and CONFIG_FAULT_INJECTION_DEBUG_FS, and debugfs mounted",
				 path, strerror(errno));
			return -1;
		}
	}
	if (access("/proc/thread-self/fail-nth", R_OK | W_OK)) {
		snprintf(why, len, "/proc/thread-self/fail-nth is missing (%s): the test kernel needs "
			 "CONFIG_FAULT_INJECTION", strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		knob_path(&knobs[i], path, sizeof(path));
		if (write_str(path, knobs[i].value)) {
			snprintf(why, len, "cannot set %s to %s: %s", path, knobs[i].value, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void fi_save(void)
{
	char path[128];
	unsigned int i;

	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		knob_path(&knobs[i], path, sizeof(path));
		knobs[i].have = !read_str(path, knobs[i].saved, sizeof(knobs[i].saved));
	}
	saved_handoff = read_number(SYSCTL_HANDOFF);
	saved_aio = read_number(SYSCTL_AIO);
}

static void fi_restore(void)
{
	char path[128];
	unsigned int i;

	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		knob_path(&knobs[i], path, sizeof(path));
		if (knobs[i].have && write_str(path, knobs[i].saved))
			printf("# could not restore %s to %s\n", path, knobs[i].saved);
	}
	if (saved_handoff >= 0)
		write_number(SYSCTL_HANDOFF, saved_handoff);
	if (saved_aio >= 0)
		write_number(SYSCTL_AIO, saved_aio);
}

/* ---- In the child: arming, reading back, reporting ---------------------- */

/*
 * What a child reports to the loop (shared memory). `stage` points to a
 * string literal: the same address in the parent, which forked it.
 */
struct fi_shared {
	int hit;		/* fail-nth read back 0: the Nth point failed */
	int finished;		/* the child got to its end */
	const char *stage;	/* where it is, for a hang */
	char kind[48];		/* the outcome, tallied by the loop */
	char bad[1024];		/* what was wrong; empty: nothing */
	char note[256];		/* accepted but worth a line */
};

static struct fi_shared *sh;
static int fi_fd = -1;

static void append(char *dst, size_t size, const char *fmt, va_list ap)
{
	size_t used = strlen(dst);

	if (used && used + 3 < size) {
		strcpy(dst + used, "; ");
		used += 2;
	}
	if (used < size)
		vsnprintf(dst + used, size - used, fmt, ap);
}

static void __attribute__((format(printf, 1, 2))) bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	append(sh->bad, sizeof(sh->bad), fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	append(sh->note, sizeof(sh->note), fmt, ap);
	va_end(ap);
}

static void kind(const char *k)
{
	snprintf(sh->kind, sizeof(sh->kind), "%s", k);
}

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "E?";
}

/*
 * Opens the calling thread's own fail-nth (after a handoff the main flow
 * runs on another task), in place of the one open before if any: the
 * bodies that count descriptors call it first, so that arming adds none.
 */
static void fi_prepare(void)
{
	if (dry_run)
		return;
	if (fi_fd >= 0)
		close(fi_fd);
	fi_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (fi_fd < 0)
		bad("cannot open /proc/thread-self/fail-nth: %s", strerror(errno));
}

/*
 * Arms the calling thread: its Nth fault point from now on fails.
 * Nothing else runs between the write of N and the caller's call.
 */
static void fi_arm(int n)
{
	char buf[16];
	int len;

	sh->stage = "the faulted call";
	if (dry_run)
		return;
	fi_prepare();
	if (fi_fd < 0)
		return;
	len = snprintf(buf, sizeof(buf), "%d", n);
	if (write(fi_fd, buf, len) != len)
		bad("cannot write %d to fail-nth: %s", n, strerror(errno));
}

/*
 * Reads the armed task's fail-nth back and clears it: 0 when the Nth
 * fault point was reached (and failed), what was left otherwise. The read
 * is a fault point itself (its copy to user space): if the count was 1
 * then, the read fails with EFAULT, and the count was not 0.
 */
static int fi_left(void)
{
	char buf[16] = { 0 };
	ssize_t r;
	int left;

	sh->stage = "reading fail-nth back";
	if (dry_run)
		return 1;
	if (fi_fd < 0)
		return -1;
	r = pread(fi_fd, buf, sizeof(buf) - 1, 0);
	left = r > 0 ? atoi(buf) : (r < 0 && errno == EFAULT ? 1 : -1);
	/* Its own copy from user space may take the last count: 0 either way. */
	if (write(fi_fd, "0", 1) != 1 && errno != EFAULT)
		bad("cannot clear fail-nth: %s", strerror(errno));
	if (left < 0)
		bad("cannot read fail-nth back: %s", r < 0 ? strerror(errno) : "empty");
	return left;
}

static void fi_done(int left)
{
	sh->hit = left == 0;
}

/*
 * A clean error: -1 with one of the errnos any call may give under
 * memory or user-copy failure, or `also` (a documented one), not 0.
 * Records the outcome's kind.
 */
static int clean_errno(const char *call, int e, int also)
{
	switch (e) {
	case ENOMEM: case EFAULT: case EAGAIN: case EINTR: case ENOSPC: case EMFILE:
		break;
	default:
		if (!also || e != also) {
			bad("%s failed with %s (%d), not an error it may give", call, errname(e), e);
			return 0;
		}
	}
	kind(errname(e));
	return 1;
}

/*
 * Waits up to `ms` for the next completion and reaps it; NULL if none
 * came. With `ret`, the result of the chain's last atom, gives up 300 ms
 * after that result is stored (the completion is posted right after).
 */
static struct syslet_uatom *reap_within(struct async_head_user *ahu,
					struct syslet_uatom **ring,
					unsigned long slots, int ms, const long *ret)
{
	double end = now_ms() + ms, stored = 0;

	for (;;) {
		long k = sys_async_wait(0, ahu->user_ring_idx, ahu);

		if (k >= 1)
			return reap(ahu, ring, slots);
		if (k < 0) {
			bad("async_wait(0) failed: %s", strerror(errno));
			return NULL;
		}
		if (ret && !stored && __atomic_load_n(ret, __ATOMIC_ACQUIRE) != SENTINEL)
			stored = now_ms();
		if (now_ms() > end || (stored && now_ms() > stored + 300))
			return NULL;
		usleep(2000);
	}
}

static int ring_untouched(struct async_head_user *ahu, struct syslet_uatom **ring,
			  unsigned long slots)
{
	unsigned long i;

	for (i = 0; i < slots; i++)
		if (ring[i])
			return 0;
	return ahu->kernel_ring_idx == 0;
}

/*
 * Afterwards, with no fault: a SYSLET_ASYNC atom (a handoff, or an async
 * thread) goes asynchronous and completes, and a chain runs inline.
 */
static void engine_still_works(void)
{
	static struct syslet_uatom a, b, *ring[4];
	static struct async_head_user ahu;
	static long ret, ret_b;
	long r;

	sh->stage = "the engine afterwards";
	memset(ring, 0, sizeof(ring));
	ahu = (struct async_head_user){ .completion_ring = ring, .ring_size_bytes = sizeof(ring) };
	ret = SENTINEL;
	atom_set(&a, SYSLET_ASYNC, __NR_getppid, &ret, NULL, NULL);
	r = sys_async_exec(&a, &ahu);
	if (r != 0) {
		bad("afterwards a SYSLET_ASYNC atom gave %ld (%s), not NULL: the engine did not recover",
		    r, r == -1 ? errname(errno) : "-");
		return;
	}
	if (reap_within(&ahu, ring, 4, 3000, NULL) != &a || ret != getppid())
		bad("afterwards a SYSLET_ASYNC atom went asynchronous but its completion "
		    "did not come within 3 s (result %ld)", ret);
	ret_b = SENTINEL;
	atom_set(&b, 0, __NR_getppid, &ret_b, NULL, NULL);
	r = sys_async_exec(&b, &ahu);
	if (r != (long)&b || ret_b != getppid())
		bad("afterwards an inline getppid chain gave %ld (result %ld)", r, ret_b);
}

/* ---- The parent: one loop over N ---------------------------------------- */

typedef void (*fi_body)(int n);

struct live4 {
	long processes, workers, jobs, spares;
};

static struct live4 live_now(void)
{
	return (struct live4){ live("processes"), live("workers"), live("jobs"), live("spares") };
}

static int live_same(struct live4 a, struct live4 b)
{
	return a.processes == b.processes && a.workers == b.workers &&
	       a.jobs == b.jobs && a.spares == b.spares;
}

/* Prints what each thread of a hung child is doing. */
static void dump_child(pid_t pid)
{
	char path[128], line[256];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		int lines = 0, tid = atoi(de->d_name);
		FILE *f;

		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
		if (read_str(path, line, sizeof(line)))
			continue;
		printf("#   task %d (%s)", tid, line);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", pid, tid);
		if (!read_str(path, line, sizeof(line)))
			printf(" wchan %s", line);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
		if (!read_str(path, line, sizeof(line))) {
			char *p = strrchr(line, ')');

			if (p && p[1])
				printf(" state %c", p[2]);
		}
		printf("\n");
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stack", pid, tid);
		f = fopen(path, "r");
		while (f && lines++ < 24 && fgets(line, sizeof(line), f))
			printf("#     %s", line);
		if (f)
			fclose(f);
	}
	closedir(d);
	fflush(stdout);
}

/* Waits up to `ms` for the child to exit; 1 and its status, or 0. */
static int wait_child(pid_t pid, int ms, int *status)
{
	int pfd = syscall(SYS_pidfd_open, pid, 0);
	double end = now_ms() + ms;

	if (pfd >= 0) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		int r;

		do
			r = poll(&p, 1, ms);
		while (r < 0 && errno == EINTR && now_ms() < end);
		close(pfd);
		if (r <= 0)
			return 0;
		return waitpid(pid, status, 0) == pid;
	}
	while (now_ms() < end) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 1;
		usleep(5000);
	}
	return 0;
}

struct tally {
	char kind[48];
	int n;
};

static void tally_add(struct tally *t, int max, const char *k)
{
	int i;

	for (i = 0; i < max && t[i].n; i++)
		if (!strcmp(t[i].kind, k))
			break;
	if (i == max)
		return;
	snprintf(t[i].kind, sizeof(t[i].kind), "%s", k[0] ? k : "?");
	t[i].n++;
}

/*
 * Runs `body` in a fresh child for N = 1, 2, ... (see the top of the
 * file). `must_have_points`: the call allocates on first use, so it has
 * at least one fault point (else fault injection is not working).
 * `ordinal`: this loop's place among the FI_LOOPS, for the time budget.
 */
static void fault_loop(struct __test_metadata *_metadata, const char *name, fi_body body,
		       int must_have_points, int ordinal)
{
	struct tally tally[12] = { { { 0 } } };
	struct live4 before, after;
	char why[512], summary[768] = "";
	int n, points = -1, failures = 0, notes = 0, stopped_for_time = 0, i;
	double t0 = now_ms(), budget, left_ms;

	ASSERT_EQ(0, fi_configure(why, sizeof(why))) TH_LOG("%s", why);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	/* A fair share of what is left of the program's time, within the harness's 30 s. */
	left_ms = FI_PROGRAM_MS - (t0 - program_start);
	budget = left_ms / (FI_LOOPS - ordinal + 1);
	if (budget > FI_LOOP_MAX_MS)
		budget = FI_LOOP_MAX_MS;
	if (budget < 4000)
		budget = 4000;
	before = live_now();
	for (n = 1; n <= FI_MAX_N; n++) {
		int status;
		pid_t child;

		memset(sh, 0, sizeof(*sh));
		sh->stage = "preparing";
		fflush(stdout);
		fflush(stderr);
		child = fork();
		ASSERT_LE(0, child) TH_LOG("fork: %s", strerror(errno));
		if (!child) {
			signal(SIGPIPE, SIG_IGN);
			body(n);
			sh->finished = 1;
			_exit(0);
		}
		if (!wait_child(child, FI_CHILD_TIMEOUT_MS, &status)) {
			printf("# %s: N=%d: the child hung in %s; its threads:\n", name, n, sh->stage);
			dump_child(child);
			kill(child, SIGKILL);
			if (!wait_child(child, 5000, &status))
				printf("# %s: N=%d: the child did not die of SIGKILL within 5 s\n", name, n);
			TH_LOG("%s: N=%d: hang in %s (stacks above)%s%s", name, n, sh->stage,
			       sh->bad[0] ? "; " : "", sh->bad);
			failures++;
			break;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) || !sh->finished) {
			TH_LOG("%s: N=%d: the child %s %d in %s%s%s", name, n,
			       WIFSIGNALED(status) ? "was killed by signal" : "exited with",
			       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
			       sh->stage, sh->bad[0] ? "; " : "", sh->bad);
			failures++;
			if (failures >= 3)
				break;
			continue;
		}
		if (sh->bad[0]) {
			TH_LOG("%s: N=%d (%s): %s", name, n, sh->hit ? "fault injected" : "no fault", sh->bad);
			failures++;
		}
		if (sh->note[0] && ++notes <= 4)
			TH_LOG("%s: N=%d: note: %s", name, n, sh->note);
		tally_add(tally, 12, sh->kind);
		if (verbose)
			printf("# %s: N=%d: %s: %s%s%s\n", name, n, sh->hit ? "fault injected" : "no fault",
			       sh->kind, sh->note[0] ? "; " : "", sh->note);
		if (!sh->hit) {
			points = n - 1;
			break;
		}
		if (failures >= 3)
			break;
		if (now_ms() - t0 > budget) {
			stopped_for_time = 1;
			break;
		}
	}
	for (i = 0; i < 12 && tally[i].n; i++)
		snprintf(summary + strlen(summary), sizeof(summary) - strlen(summary),
			 "%s%s x%d", i ? ", " : "", tally[i].kind, tally[i].n);
	if (points >= 0)
		TH_LOG("%s: %d fault points, each failed in turn, in %.1f s; outcomes (the last "
		       "run with no fault): %s", name, points, (now_ms() - t0) / 1000, summary);
	else
		TH_LOG("%s: stopped at N=%d%s after %.1f s (more fault points not tried): %s", name,
		       n > FI_MAX_N ? FI_MAX_N : n,
		       stopped_for_time ? " for the time budget" : (failures ? " after failures" : ""),
		       (now_ms() - t0) / 1000, summary);
	if (notes > 4)
		TH_LOG("%s: %d notes in all", name, notes);
	EXPECT_EQ(0, failures);
	if (must_have_points && !dry_run && points == 0)
		EXPECT_TRUE(0) TH_LOG("%s: no fault point at all on first use: fault injection is not working",
				      name);
	/* Nothing left behind: the engine's objects are back within 5 s. */
	for (i = 0; i < 500; i++) {
		after = live_now();
		if (live_same(before, after))
			break;
		usleep(10000);
	}
	EXPECT_TRUE(live_same(before, after))
		TH_LOG("%s: live processes %ld workers %ld jobs %ld spares %ld, before the loop %ld %ld %ld %ld",
		       name, after.processes, after.workers, after.jobs, after.spares,
		       before.processes, before.workers, before.jobs, before.spares);
	munmap(sh, sizeof(*sh));
}

/* ---- The mechanism itself ------------------------------------------------ */

/*
 * pipe() with its first fault point failing must fail and read back 0:
 * fail-nth, the knobs and the read-back work as this file assumes.
 */
static void body_pipe(int n)
{
	int p[2], left, r, e;

	fi_arm(n);
	r = pipe(p);
	e = errno;
	left = fi_left();
	fi_done(left);
	if (r == 0) {
		kind("succeeded");
		close(p[0]);
		close(p[1]);
	} else {
		clean_errno("pipe", e, ENFILE);
	}
}

TEST(fault_injection_is_configured)
{
	char why[512];
	struct fi_shared *s;
	int status;
	pid_t child;

	ASSERT_EQ(0, fi_configure(why, sizeof(why))) TH_LOG("%s", why);
	if (dry_run)
		return;
	s = sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, s);
	memset(s, 0, sizeof(*s));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		body_pipe(1);
		s->finished = 1;
		_exit(0);
	}
	ASSERT_TRUE(wait_child(child, FI_CHILD_TIMEOUT_MS, &status));
	ASSERT_TRUE(s->finished);
	EXPECT_STREQ("", s->bad);
	EXPECT_TRUE(s->hit) TH_LOG("pipe() with fail-nth=1 reached no fault point: fault injection is not working");
	EXPECT_STRNE("succeeded", s->kind) TH_LOG("pipe() succeeded with its first fault point failing");
}

/* ---- async_exec() -------------------------------------------------------- */

/* A synchronous chain: three getppid atoms. */
static void body_sync_chain(int n)
{
	static struct syslet_uatom atoms[3], *ring[4];
	static struct async_head_user ahu;
	static long rets[3];
	long r, ppid = getppid(), tid0 = syscall(SYS_gettid);
	int i, e, left, ran = 1;

	ahu = (struct async_head_user){ .completion_ring = ring, .ring_size_bytes = sizeof(ring) };
	for (i = 0; i < 3; i++) {
		rets[i] = SENTINEL;
		atom_set(&atoms[i], 0, __NR_getppid, &rets[i], i < 2 ? &atoms[i + 1] : NULL, NULL);
	}
	fi_arm(n);
	r = sys_async_exec(&atoms[0], &ahu);
	e = errno;
	if (syscall(SYS_gettid) != tid0) {
		bad("a chain of getppid atoms moved the caller's context");
		usleep(20000);
	}
	left = fi_left();
	fi_done(left);
	if (r == (long)&atoms[2]) {
		kind("succeeded");
		for (i = 0; i < 3; i++)
			if (rets[i] != ppid)
				bad("async_exec returned its last atom but atom %d stored %ld", i, rets[i]);
	} else if (r == -1) {
		clean_errno("async_exec", e, 0);
		/* The atoms that ran are a prefix, with right results. */
		for (i = 0; i < 3; i++) {
			if (rets[i] != SENTINEL && (!ran || rets[i] != ppid))
				bad("async_exec failed but atom %d stored %ld", i, rets[i]);
			ran = rets[i] != SENTINEL;
		}
	} else if (r == 0) {
		bad("a chain of getppid atoms went asynchronous");
		reap_within(&ahu, ring, 4, 3000, NULL);
	} else {
		bad("async_exec returned %ld: neither its last atom, NULL nor -1", r);
	}
	if (r != 0 && !ring_untouched(&ahu, ring, 4))
		bad("a chain that did not go asynchronous touched the ring");
	/* The same chain again, with no fault. */
	for (i = 0; i < 3; i++)
		rets[i] = SENTINEL;
	r = sys_async_exec(&atoms[0], &ahu);
	if (r != (long)&atoms[2] || rets[0] != ppid || rets[2] != ppid)
		bad("afterwards the same chain gave %ld (%s), results %ld %ld", r,
		    r == -1 ? errname(errno) : "-", rets[0], rets[2]);
	engine_still_works();
}

TEST(async_exec_of_a_synchronous_chain)
{
	ASSERT_EQ(0, write_number(SYSCTL_HANDOFF, 1));
	fault_loop(_metadata, "async_exec(getppid x3)", body_sync_chain, 1, 1);
}

/* Writes "cachemiss" into `fd` `ms` after it starts, whatever happens. */
struct late {
	int fd, ms;
};

static void *late_write(void *arg)
{
	struct late *w = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	usleep(w->ms * 1000);
	if (write(w->fd, "cachemiss", 9) != 9)
		return (void *)1;
	return NULL;
}

static void check_read_result(long ret, const char *data)
{
	if (ret == 9 && !memcmp(data, "cachemiss", 9))
		return;
	if (ret == -EFAULT) {
		/* A fault in the pipe's copy to user space. */
		strncat(sh->kind, ", read EFAULT", sizeof(sh->kind) - strlen(sh->kind) - 1);
		return;
	}
	bad("the read atom stored %ld (data \"%.9s\"), not 9 bytes or -EFAULT", ret, data);
}

/* The thread ids of this process, at most `max`; how many. */
static int list_tids(pid_t *tids, int max)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) && n < max)
		if (de->d_name[0] != '.')
			tids[n++] = atoi(de->d_name);
	closedir(d);
	return n;
}

/*
 * After a handoff (from the group leader too: its context takes the
 * leadership), the TID went with the context (exchange_tids()), so the
 * fail-nth opened before the call now names the spare that took it. The task that carried the
 * chain has the spare's old TID: the one thread not there before the call
 * (the call made one spare). Reads and clears its count, as fi_left().
 */
static int left_of_the_carrier(const pid_t *before, int nbefore)
{
	pid_t now[64], found = 0;
	char path[64], buf[16] = { 0 };
	int i, j, k = list_tids(now, 64), cand = 0, fd, left;
	ssize_t r;

	for (i = 0; i < k; i++) {
		for (j = 0; j < nbefore && before[j] != now[i]; j++)
			;
		if (j == nbefore) {
			cand++;
			found = now[i];
		}
	}
	if (cand == 0) {
		/* Spare::new() failed after the chain: it exited, as designed. */
		note("the task that carried the chain is gone (it could not become a spare)");
		return 0;
	}
	if (cand > 1) {
		bad("%d threads appeared in the call: cannot tell which carried the chain", cand);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", found);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		bad("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	r = pread(fd, buf, sizeof(buf) - 1, 0);
	left = r > 0 ? atoi(buf) : -1;
	if (write(fd, "0", 1) != 1)
		bad("cannot clear %s: %s", path, strerror(errno));
	close(fd);
	if (left < 0)
		bad("cannot read %s", path);
	return left;
}

/*
 * A chain that blocks: a read from a pipe that another thread fills
 * 50 ms later. With the handoff, a spare takes the caller's context and
 * async_exec() returns NULL there while the caller finishes the chain, so
 * the faults go on in the caller after the return: its fail-nth is read
 * once the completion is in and the caller has parked (a thread's TID
 * follows its context, the group leader's too, and the caller is found
 * under the spare's old one). On async threads (syslet_handoff=0) the caller's faults end
 * with the call: the chain runs on a thread of its own.
 */
static void body_blocking_chain(int n)
{
	static struct syslet_uatom atom, *ring[8];
	static struct async_head_user ahu;
	static unsigned long fd, buf, len;
	static char data[16];
	static long ret;
	static struct late w;
	pid_t before[64];
	struct syslet_uatom *a;
	long r, tid0, handoff = read_number(SYSCTL_HANDOFF);
	int p[2], e, left = -1, carried, nbefore;
	pthread_t th;

	if (pipe(p)) {
		bad("pipe: %s", strerror(errno));
		return;
	}
	ahu = (struct async_head_user){ .completion_ring = ring, .ring_size_bytes = sizeof(ring) };
	fd = p[0];
	buf = (unsigned long)data;
	len = sizeof(data);
	ret = SENTINEL;
	atom_set(&atom, 0, __NR_read, &ret, NULL, ATOM_ARGS(&fd, &buf, &len));
	w = (struct late){ .fd = p[1], .ms = 50 };
	if (pthread_create(&th, NULL, late_write, &w)) {
		bad("pthread_create failed");
		return;
	}
	tid0 = syscall(SYS_gettid);
	nbefore = list_tids(before, 64);
	fi_arm(n);
	r = sys_async_exec(&atom, &ahu);
	e = errno;
	/* Went asynchronous by a handoff: the caller goes on faulting. */
	carried = r == 0 && handoff == 1;
	if (!carried)
		left = fi_left();
	sh->stage = "waiting for the completion";
	if (r == 0) {
		kind("went asynchronous");
		a = reap_within(&ahu, ring, 8, 3000, &ret);
		if (a == &atom) {
			check_read_result(ret, data);
		} else if (a) {
			bad("the completion is %p, not the atom %p", (void *)a, (void *)&atom);
		} else if (ret == SENTINEL) {
			bad("went asynchronous, but the read atom had not finished 3 s after the call");
		} else if (ring[0] == &atom && ahu.kernel_ring_idx == 0) {
			kind("half-posted");
			note("the completion is in ring[0] but kernel_ring_idx stayed 0 "
			     "(the index store faulted after the slot store)");
		} else if (ring_untouched(&ahu, ring, 8)) {
			kind("completion lost");
			note("the chain ended (result %ld) but its completion never came: "
			     "lost, as documented for a fault on the ring", ret);
		} else {
			bad("no completion, and the ring holds %p at index %lu", (void *)ring[0],
			    ahu.kernel_ring_idx);
		}
	} else if (r == (long)&atom) {
		kind("ran synchronously");
		check_read_result(ret, data);
		if (!ring_untouched(&ahu, ring, 8))
			bad("a chain that returned its atom posted a completion");
	} else if (r == -1) {
		clean_errno("async_exec", e, 0);
		if (ret != SENTINEL)
			bad("async_exec failed (%s) but its read atom ran and stored %ld", errname(e), ret);
		if (!ring_untouched(&ahu, ring, 8))
			bad("async_exec failed but the ring was written");
	} else {
		bad("async_exec returned %ld: neither its atom, NULL nor -1", r);
	}
	if (syscall(SYS_gettid) != tid0)
		bad("the flow's TID went from %ld to %ld (async_exec returned %ld, handoff %ld)",
		    tid0, (long)syscall(SYS_gettid), r, handoff);
	if (carried) {
		/* The caller has posted; let it park before reading its count. */
		usleep(20000);
		left = left_of_the_carrier(before, nbefore);
	}
	fi_done(left);
	sh->stage = "joining the writer";
	pthread_join(th, NULL);
	close(p[0]);
	close(p[1]);
	engine_still_works();
}

TEST(async_exec_of_a_blocking_chain_with_the_handoff)
{
	ASSERT_EQ(0, write_number(SYSCTL_HANDOFF, 1));
	fault_loop(_metadata, "async_exec(read of a pipe), handoff", body_blocking_chain, 1, 2);
}

TEST(async_exec_of_a_blocking_chain_on_async_threads)
{
	ASSERT_EQ(0, write_number(SYSCTL_HANDOFF, 0));
	fault_loop(_metadata, "async_exec(read of a pipe), syslet_handoff=0", body_blocking_chain, 1, 3);
	EXPECT_EQ(0, write_number(SYSCTL_HANDOFF, 1));
}

/* ---- async_wait() -------------------------------------------------------- */

/* In a process that never used the engine: the per-process state is made. */
static void body_wait_first_use(int n)
{
	static struct syslet_uatom *ring[4];
	static struct async_head_user ahu;
	long r;
	int e;

	ahu = (struct async_head_user){ .completion_ring = ring, .ring_size_bytes = sizeof(ring) };
	fi_arm(n);
	r = sys_async_wait(0, 0, &ahu);
	e = errno;
	fi_done(fi_left());
	if (r == 0)
		kind("succeeded");
	else if (r == -1)
		clean_errno("async_wait", e, 0);
	else
		bad("async_wait(0) on an empty ring returned %ld", r);
	if (!ring_untouched(&ahu, ring, 4))
		bad("async_wait wrote the ring");
	r = sys_async_wait(0, 0, &ahu);
	if (r != 0)
		bad("afterwards async_wait(0) gave %ld (%s)", r, r == -1 ? errname(errno) : "-");
	engine_still_works();
}

TEST(async_wait_first_use)
{
	ASSERT_EQ(0, write_number(SYSCTL_HANDOFF, 1));
	fault_loop(_metadata, "async_wait(0), first use", body_wait_first_use, 1, 4);
}

/* With one completion in the ring. */
static void body_wait_completion(int n)
{
	static struct syslet_uatom a, *ring[4];
	static struct async_head_user ahu;
	static long ret;
	double end;
	long r;
	int e;

	ahu = (struct async_head_user){ .completion_ring = ring, .ring_size_bytes = sizeof(ring) };
	ret = SENTINEL;
	atom_set(&a, SYSLET_ASYNC, __NR_getppid, &ret, NULL, NULL);
	if (sys_async_exec(&a, &ahu) != 0) {
		bad("a SYSLET_ASYNC atom did not go asynchronous: %s", strerror(errno));
		return;
	}
	end = now_ms() + 3000;
	while (__atomic_load_n(&ahu.kernel_ring_idx, __ATOMIC_ACQUIRE) == 0 && now_ms() < end)
		usleep(2000);
	if (ahu.kernel_ring_idx != 1) {
		bad("the SYSLET_ASYNC atom's completion did not come");
		return;
	}
	/* Armed on the thread that runs the flow now (the context moved). */
	fi_arm(n);
	r = sys_async_wait(1, 0, &ahu);
	e = errno;
	fi_done(fi_left());
	if (r == 1)
		kind("succeeded");
	else if (r == -1)
		clean_errno("async_wait", e, 0);
	else
		bad("async_wait(1) with one completion returned %ld", r);
	if (reap(&ahu, ring, 4) != &a || ret != getppid())
		bad("afterwards the completion could not be reaped (result %ld)", ret);
}

TEST(async_wait_with_a_completion)
{
	ASSERT_EQ(0, write_number(SYSCTL_HANDOFF, 1));
	fault_loop(_metadata, "async_wait(1), one completion", body_wait_completion, 0, 5);
}

/* ---- umem_add() ---------------------------------------------------------- */

static void body_umem_add(int n)
{
	static unsigned long word;
	long r;
	int e;

	word = 41;
	fi_arm(n);
	r = sys_umem_add(&word, 1);
	e = errno;
	fi_done(fi_left());
	if (r == 42 && word == 42) {
		kind("succeeded");
	} else if (r == -1 && e == EFAULT) {
		kind("EFAULT");
		if (word != 41)
			bad("umem_add failed with EFAULT but the word is %lu, not 41 (unchanged)", word);
	} else {
		bad("umem_add(41 + 1) returned %ld (%s), the word is %lu", r,
		    r == -1 ? errname(e) : "-", word);
	}
}

TEST(umem_add)
{
	fault_loop(_metadata, "umem_add", body_umem_add, 0, 6);
}

/* ---- threadlet_on() + threadlet_off() ------------------------------------ */

/*
 * threadlet_on(0) and threadlet_off() back to back in one asm statement:
 * nothing in between may sleep (the threadlet would go asynchronous and
 * a spare would return from threadlet_on() a second time on this stack).
 */
static void threadlet_pair(long *on, long *off)
{
	long a, b;

	__asm__ volatile(
		"syscall\n\t"
		"mov %%rax, %[on]\n\t"
		"mov %[off_nr], %%eax\n\t"
		"syscall"
		: "=a"(b), [on] "=&r"(a)
		: "a"((long)__NR_threadlet_on), "D"(0L), [off_nr] "i"(__NR_threadlet_off)
		: "rcx", "r11", "memory");
	*on = a;
	*off = b;
}

static void body_threadlet(int n)
{
	long on, off;

	/* The code and stack of the pair are touched before it runs. */
	syscall(SYS_getppid);
	fi_arm(n);
	threadlet_pair(&on, &off);
	fi_done(fi_left());
	if (on == THREADLET_INLINE && off == THREADLET_INLINE) {
		kind("succeeded");
	} else if (on < 0 && on > -4096) {
		clean_errno("threadlet_on", (int)-on, 0);
		if (off != -EINVAL)
			bad("threadlet_on failed (%s) but threadlet_off gave %ld, not -EINVAL",
			    errname((int)-on), off);
	} else {
		bad("threadlet_on gave %ld, then threadlet_off %ld", on, off);
	}
	errno = 0;
	if (sys_threadlet_off() != -1 || errno != EINVAL)
		bad("afterwards the thread is still in threadlet mode");
	threadlet_pair(&on, &off);
	if (on != THREADLET_INLINE || off != THREADLET_INLINE)
		bad("afterwards threadlet_on/off gave %ld/%ld", on, off);
	engine_still_works();
}

TEST(threadlet_on_and_off)
{
	ASSERT_EQ(0, write_number(SYSCTL_HANDOFF, 1));
	fault_loop(_metadata, "threadlet_on+threadlet_off", body_threadlet, 1, 7);
}

/* ---- The private fd space ------------------------------------------------ */

static int is_private(long fd)
{
	return fd > 0 && (fd & NONLINEAR_FD) && fd != NONLINEAR_FD;
}

/* Open linear descriptors: the size /proc/self/fd reports. */
static int linear_open(void)
{
	struct stat st;

	return stat("/proc/self/fd", &st) ? -1 : (int)st.st_size;
}

/* Private descriptors listed in /proc/self/fdspace; -1 without it. */
static int private_listed(void)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/fdspace", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

/*
 * RLIMIT_NOFILE counts linear and private descriptors together: with the
 * soft limit at what is open plus 4, exactly 4 private opens succeed. A
 * failed call that charged without uncharging (or the reverse) shows here.
 */
static void check_room(void)
{
	struct rlimit old, lim;
	long fds[8];
	int i, got = 0, lin = linear_open();

	sh->stage = "checking RLIMIT_NOFILE room";
	if (lin < 0 || getrlimit(RLIMIT_NOFILE, &old)) {
		bad("cannot count descriptors");
		return;
	}
	lim = old;
	lim.rlim_cur = lin + 4;
	if (lim.rlim_cur > lim.rlim_max || setrlimit(RLIMIT_NOFILE, &lim)) {
		bad("cannot set RLIMIT_NOFILE");
		return;
	}
	for (i = 0; i < 6; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_NONLINEAR);
		if (!is_private(fds[i]))
			break;
		got++;
	}
	if (i < 6 && (fds[i] != -1 || errno != EMFILE))
		bad("the private open past RLIMIT_NOFILE gave %ld (%s), not EMFILE", fds[i],
		    fds[i] == -1 ? errname(errno) : "-");
	while (got-- > 0)
		close(fds[got]);
	setrlimit(RLIMIT_NOFILE, &old);
	if (i != 4)
		bad("with room for 4 descriptors under RLIMIT_NOFILE, %d private opens succeeded "
		    "(the shared count is off)", i);
}

/* After the call and the clean-up: no descriptor more or less than before. */
static void check_tables(int lin0)
{
	int lin = linear_open(), priv = private_listed();

	if (lin != lin0)
		bad("%d linear descriptors open, %d before the call", lin, lin0);
	if (priv != 0)
		bad("/proc/self/fdspace lists %d private descriptors after every one was closed", priv);
	check_room();
}

/* Every reference to a pipe's read end is gone: a write gets EPIPE. */
static void check_no_reader(int wfd)
{
	sh->stage = "checking the pipe's readers";
	errno = 0;
	if (write(wfd, "x", 1) != -1 || errno != EPIPE)
		bad("the pipe still has a reader after every descriptor of its read end was "
		    "closed: a file reference leaked");
}

/* A private descriptor of a pipe's read end: close-on-exec, and it reads. */
static void check_private_reader(long fd, int wfd, const char *call)
{
	char c = 0;

	if (!is_private(fd)) {
		bad("%s returned %ld, not a private descriptor", call, fd);
		return;
	}
	if (fcntl(fd, F_GETFD) != FD_CLOEXEC)
		bad("%s: the private descriptor is not close-on-exec", call);
	if (write(wfd, "p", 1) != 1 || read(fd, &c, 1) != 1 || c != 'p')
		bad("%s: the private descriptor does not read the pipe", call);
}

enum dup_how { BY_FDUP, BY_DUP2 };

static void body_dup(int n, enum dup_how how)
{
	const char *call = how == BY_FDUP ? "fdup" : "dup2(fd, NONLINEAR_FD)";
	int p[2], lin0, e;
	long r;

	if (pipe(p)) {
		bad("pipe: %s", strerror(errno));
		return;
	}
	fi_prepare();
	lin0 = linear_open();
	fi_arm(n);
	if (how == BY_FDUP)
		r = syscall(__NR_fdup, p[0], 0);
	else
		r = dup2(p[0], NONLINEAR_FD);
	e = errno;
	fi_done(fi_left());
	if (r >= 0) {
		kind("succeeded");
		check_private_reader(r, p[1], call);
		if (close(r))
			bad("close of the new descriptor: %s", strerror(errno));
	} else {
		clean_errno(call, e, 0);
	}
	check_tables(lin0);
	close(p[0]);
	check_no_reader(p[1]);
	close(p[1]);
}

static void body_fdup(int n)
{
	body_dup(n, BY_FDUP);
}

static void body_dup2(int n)
{
	body_dup(n, BY_DUP2);
}

TEST(fdup)
{
	fault_loop(_metadata, "fdup", body_fdup, 1, 8);
}

TEST(dup2_to_nonlinear_fd)
{
	fault_loop(_metadata, "dup2(fd, NONLINEAR_FD)", body_dup2, 1, 9);
}

/*
 * fdup() that needs a new chunk of slots: 512 private descriptors (a
 * chunk's worth) are open first, so the first use's space exists and the
 * failing allocations are the chunk's.
 */
static void body_fdup_new_chunk(int n)
{
	static long held[512];
	struct rlimit lim;
	int p[2], i, lin0, e;
	long r;

	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < 1024 && lim.rlim_max >= 1024) {
		lim.rlim_cur = 1024;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	if (pipe(p)) {
		bad("pipe: %s", strerror(errno));
		return;
	}
	for (i = 0; i < 512; i++) {
		held[i] = open("/dev/null", O_RDONLY | O_NONLINEAR);
		if (!is_private(held[i])) {
			bad("private open %d: %s", i, strerror(errno));
			return;
		}
	}
	fi_prepare();
	lin0 = linear_open();
	fi_arm(n);
	r = syscall(__NR_fdup, p[0], 0);
	e = errno;
	fi_done(fi_left());
	if (r >= 0) {
		kind("succeeded");
		check_private_reader(r, p[1], "fdup");
		close(r);
	} else {
		clean_errno("fdup", e, 0);
	}
	for (i = 0; i < 512; i++)
		close(held[i]);
	check_tables(lin0);
	close(p[0]);
	check_no_reader(p[1]);
	close(p[1]);
}

TEST(fdup_into_a_new_chunk)
{
	fault_loop(_metadata, "fdup, 513th private descriptor", body_fdup_new_chunk, 0, 10);
}

/*
 * open(O_NONLINEAR) of a pipe's read end again, through /proc/self/fd/N,
 * so that a leaked file reference shows as a reader that never goes.
 */
static void body_open(int n)
{
	char path[64];
	int p[2], lin0, e, t;
	long r;

	if (pipe(p)) {
		bad("pipe: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	/* Warm the path's dentries (a linear open: the space is not made). */
	t = open(path, O_RDONLY);
	if (t < 0) {
		bad("open %s: %s", path, strerror(errno));
		return;
	}
	close(t);
	fi_prepare();
	lin0 = linear_open();
	fi_arm(n);
	r = open(path, O_RDONLY | O_NONLINEAR);
	e = errno;
	fi_done(fi_left());
	if (r >= 0) {
		kind("succeeded");
		check_private_reader(r, p[1], "open(O_NONLINEAR)");
		if (!(fcntl(r, F_GETFL) & O_NONLINEAR))
			bad("F_GETFL of the private descriptor lacks O_NONLINEAR");
		close(r);
	} else {
		clean_errno("open(O_NONLINEAR)", e, 0);
	}
	check_tables(lin0);
	close(p[0]);
	check_no_reader(p[1]);
	close(p[1]);
}

TEST(open_o_nonlinear)
{
	fault_loop(_metadata, "open(O_NONLINEAR)", body_open, 1, 11);
}

static void body_memfd(int n)
{
	char buf[8] = { 0 };
	int lin0, e;
	long r;

	fi_prepare();
	lin0 = linear_open();
	fi_arm(n);
	r = syscall(SYS_memfd_create, "fault-inject", MFD_NONLINEAR);
	e = errno;
	fi_done(fi_left());
	if (r >= 0) {
		kind("succeeded");
		if (!is_private(r))
			bad("memfd_create(MFD_NONLINEAR) returned %ld, not a private descriptor", r);
		else if (fcntl(r, F_GETFD) != FD_CLOEXEC)
			bad("the private memfd is not close-on-exec");
		else if (pwrite(r, "memfd", 5, 0) != 5 || pread(r, buf, 5, 0) != 5 || memcmp(buf, "memfd", 5))
			bad("the private memfd does not keep what is written");
		close(r);
	} else {
		clean_errno("memfd_create(MFD_NONLINEAR)", e, 0);
	}
	check_tables(lin0);
}

TEST(memfd_create_mfd_nonlinear)
{
	fault_loop(_metadata, "memfd_create(MFD_NONLINEAR)", body_memfd, 1, 12);
}

/* A thread sharing the descriptor table, for CLOSE_RANGE_UNSHARE. */
struct holder {
	int ctl;		/* read end: a byte means "check and close" */
	long *fds;
	int open_seen;
};

static void *hold(void *arg)
{
	struct holder *h = arg;
	sigset_t all;
	char c;
	int i;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (read(h->ctl, &c, 1) != 1)
		return NULL;
	for (i = 0; i < 3; i++) {
		if (fcntl(h->fds[i], F_GETFD) == FD_CLOEXEC)
			h->open_seen++;
		close(h->fds[i]);
	}
	return NULL;
}

static void body_close_range(int n, int unshare)
{
	static long fds[3];
	unsigned int flags = CLOSE_RANGE_NONLINEAR | (unshare ? CLOSE_RANGE_UNSHARE : 0);
	struct holder h = { 0 };
	int p[2], ctl[2] = { -1, -1 }, i, lin0, e, still = 0;
	pthread_t th;
	long r;

	if (pipe(p)) {
		bad("pipe: %s", strerror(errno));
		return;
	}
	for (i = 0; i < 3; i++) {
		fds[i] = syscall(__NR_fdup, p[0], 0);
		if (!is_private(fds[i])) {
			bad("fdup: %s", strerror(errno));
			return;
		}
	}
	close(p[0]);
	if (unshare) {
		if (pipe(ctl)) {
			bad("pipe: %s", strerror(errno));
			return;
		}
		h = (struct holder){ .ctl = ctl[0], .fds = fds };
		if (pthread_create(&th, NULL, hold, &h)) {
			bad("pthread_create failed");
			return;
		}
	}
	fi_prepare();
	lin0 = linear_open();
	fi_arm(n);
	r = syscall(SYS_close_range, NONLINEAR_FD, ~0U, flags);
	e = errno;
	fi_done(fi_left());
	for (i = 0; i < 3; i++)
		still += fcntl(fds[i], F_GETFD) == FD_CLOEXEC;
	if (r == 0) {
		kind("succeeded");
		if (still)
			bad("close_range succeeded but %d of the 3 private descriptors are still open", still);
	} else if (r == -1) {
		clean_errno("close_range", e, 0);
		/* CLOSE_RANGE_UNSHARE fails before anything is closed. */
		if (unshare && still != 3)
			bad("close_range(CLOSE_RANGE_UNSHARE) failed (%s) but closed %d descriptors",
			    errname(e), 3 - still);
	} else {
		bad("close_range returned %ld", r);
	}
	if (unshare) {
		sh->stage = "the other thread's table";
		if (write(ctl[1], "c", 1) != 1)
			bad("cannot wake the other thread");
		pthread_join(th, NULL);
		/* Its table is the old one, untouched, in both cases. */
		if (h.open_seen != 3)
			bad("the thread sharing the old table sees %d of its 3 private descriptors",
			    h.open_seen);
		close(ctl[0]);
		close(ctl[1]);
		lin0 -= 2;
	}
	for (i = 0; i < 3; i++)
		close(fds[i]);
	check_tables(lin0);
	check_no_reader(p[1]);
	close(p[1]);
}

static void body_close_range_plain(int n)
{
	body_close_range(n, 0);
}

static void body_close_range_unshare(int n)
{
	body_close_range(n, 1);
}

TEST(close_range_nonlinear)
{
	fault_loop(_metadata, "close_range(CLOSE_RANGE_NONLINEAR)", body_close_range_plain, 0, 13);
}

TEST(close_range_nonlinear_unshare)
{
	fault_loop(_metadata, "close_range(CLOSE_RANGE_NONLINEAR | CLOSE_RANGE_UNSHARE)",
		   body_close_range_unshare, 1, 14);
}

/* Sends fd over the datagram socket s with SCM_RIGHTS. */
static int send_fd(int s, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "f", .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(s, &mh, 0) == 1 ? 0 : -1;
}

/* Receives what is queued on s without waiting; closes what it carried. */
static void drain(int s)
{
	char ctl[CMSG_SPACE(4 * sizeof(int))], c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr mh;
	struct cmsghdr *cm;
	int fd;

	for (;;) {
		mh = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = ctl, .msg_controllen = sizeof(ctl) };
		if (recvmsg(s, &mh, MSG_DONTWAIT) < 0)
			return;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_type == SCM_RIGHTS) {
				memcpy(&fd, CMSG_DATA(cm), sizeof(int));
				close(fd);
			}
	}
}

/*
 * recvmsg(MSG_CMSG_NONLINEAR) of a message carrying a pipe's read end,
 * whose only reference is the one in flight.
 */
static void body_scm_rights(int n)
{
	static char ctl[CMSG_SPACE(sizeof(int))], c;
	static struct iovec iov;
	static struct msghdr mh;
	struct cmsghdr *cm;
	int sv[2], p[2], lin0, e, fd;
	long r;

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) || pipe(p)) {
		bad("socketpair/pipe: %s", strerror(errno));
		return;
	}
	if (send_fd(sv[0], p[0])) {
		bad("sendmsg: %s", strerror(errno));
		return;
	}
	close(p[0]);
	memset(ctl, 0, sizeof(ctl));
	c = 0;
	iov = (struct iovec){ .iov_base = &c, .iov_len = 1 };
	mh = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	fi_prepare();
	lin0 = linear_open();
	fi_arm(n);
	r = recvmsg(sv[1], &mh, MSG_CMSG_NONLINEAR);
	e = errno;
	fi_done(fi_left());
	cm = r == 1 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (r == 1 && cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int))) {
		kind("succeeded");
		if (c != 'f')
			bad("the byte received is %#x, not 'f'", c);
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		check_private_reader(fd, p[1], "recvmsg(MSG_CMSG_NONLINEAR)");
		close(fd);
	} else if (r == 1 && !cm && (mh.msg_flags & MSG_CTRUNC)) {
		/* As at the RLIMIT_NOFILE limit: the descriptor is dropped. */
		kind("message without its descriptor, MSG_CTRUNC");
	} else if (r == 1) {
		bad("recvmsg got the byte but neither a descriptor nor MSG_CTRUNC (flags %#x, cmsg %p)",
		    mh.msg_flags, (void *)cm);
	} else if (r == -1) {
		clean_errno("recvmsg(MSG_CMSG_NONLINEAR)", e, 0);
	} else {
		bad("recvmsg returned %ld", r);
	}
	drain(sv[1]);
	check_tables(lin0);
	close(sv[0]);
	close(sv[1]);
	check_no_reader(p[1]);
	close(p[1]);
}

TEST(recvmsg_scm_rights_msg_cmsg_nonlinear)
{
	fault_loop(_metadata, "recvmsg(SCM_RIGHTS, MSG_CMSG_NONLINEAR)", body_scm_rights, 1, 15);
}

/* ---- io_submit() through the engine -------------------------------------- */

static int aio_read_back(io_context_t ctx, struct iocb *cb, long *res)
{
	struct timespec ts = { 5, 0 };
	struct io_event ev;
	int got = io_getevents(ctx, 1, 1, &ev, &ts);

	if (got != 1)
		return got;
	if (ev.obj != cb)
		bad("the event is for %p, not the iocb %p", (void *)ev.obj, (void *)cb);
	*res = (long)ev.res;
	return 1;
}

/* A buffered 4 KiB read of a tmpfs file: an async thread reads it. */
static void body_io_submit(int n)
{
	static char data[4096], buf[4096];
	char path[] = "/tmp/fault-inject-XXXXXX";
	struct iocb cb, *cbs[1] = { &cb };
	io_context_t ctx = 0;
	long res = SENTINEL;
	int fd, r, got, i;

	for (i = 0; i < 4096; i++)
		data[i] = 'a' + i % 26;
	fd = mkstemp(path);
	if (fd < 0 || unlink(path) || pwrite(fd, data, 4096, 0) != 4096) {
		bad("cannot make the file: %s", strerror(errno));
		return;
	}
	r = io_setup(4, &ctx);
	if (r) {
		bad("io_setup: %s", strerror(-r));
		return;
	}
	memset(buf, 0, sizeof(buf));
	io_prep_pread(&cb, fd, buf, 4096, 0);
	fi_arm(n);
	r = io_submit(ctx, 1, cbs);
	fi_done(fi_left());
	sh->stage = "io_getevents";
	if (r == 1) {
		got = aio_read_back(ctx, &cb, &res);
		if (got != 1) {
			bad("io_submit took the read but no event came within 5 s (io_getevents %d)", got);
			/* io_destroy() and the exit would wait for it. */
			sh->finished = 1;
			_exit(0);
		}
		if (res == 4096) {
			kind("succeeded");
			if (memcmp(buf, data, 4096))
				bad("the read completed with 4096 but the data differ");
		} else if (res < 0 && res > -4096) {
			kind("event with an error");
			if (res != -EFAULT && res != -ENOMEM && res != -EINTR && res != -EAGAIN)
				bad("the read's event has %s, not a clean error", errname((int)-res));
		} else {
			bad("the read's event has %ld", res);
		}
	} else if (r < 0) {
		clean_errno("io_submit", -r, 0);
	} else {
		bad("io_submit of one iocb returned %d", r);
	}
	/* Again, with no fault. */
	memset(buf, 0, sizeof(buf));
	io_prep_pread(&cb, fd, buf, 4096, 0);
	r = io_submit(ctx, 1, cbs);
	if (r != 1 || aio_read_back(ctx, &cb, &res) != 1 || res != 4096 || memcmp(buf, data, 4096))
		bad("afterwards a read gave io_submit %d, event %ld", r, res);
	sh->stage = "io_destroy";
	r = io_destroy(ctx);
	if (r)
		bad("io_destroy: %s", strerror(-r));
	close(fd);
}

TEST(io_submit_read_with_syslet_aio)
{
	ASSERT_EQ(0, write_number(SYSCTL_AIO, 1));
	fault_loop(_metadata, "io_submit(buffered read), syslet_aio=1", body_io_submit, 1, 16);
}

/*
 * Last: a chain that blocks, inside a threadlet-free child, with the
 * handoff, where the main thread is not the group leader (the leader's
 * context moves under a new TID; another thread's keeps its TID).
 */
static void *blocking_chain_thread(void *arg)
{
	body_blocking_chain((int)(long)arg);
	return NULL;
}

static void body_blocking_chain_in_a_thread(int n)
{
	pthread_t th;

	if (pthread_create(&th, NULL, blocking_chain_thread, (void *)(long)n)) {
		bad("pthread_create failed");
		return;
	}
	pthread_join(th, NULL);
}

TEST(async_exec_of_a_blocking_chain_from_a_second_thread)
{
	ASSERT_EQ(0, write_number(SYSCTL_HANDOFF, 1));
	fault_loop(_metadata, "async_exec(read of a pipe), handoff, second thread",
		   body_blocking_chain_in_a_thread, 1, 17);
}

int main(int argc, char **argv)
{
	int ret;

	dry_run = getenv("FAULT_INJECT_DRY_RUN") && atoi(getenv("FAULT_INJECT_DRY_RUN"));
	verbose = getenv("FAULT_INJECT_VERBOSE") && atoi(getenv("FAULT_INJECT_VERBOSE"));
	program_start = now_ms();
	fi_save();
	ret = test_harness_run(argc, argv);
	fi_restore();
	return ret;
}
