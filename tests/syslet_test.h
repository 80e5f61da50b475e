/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw system call wrappers for the syslet tests: glibc knows none of these
 * calls, and the tests want the kernel's answer unfiltered. Each returns
 * what syscall(2) returns: the result, or -1 with errno set.
 */
#ifndef SYSLET_TEST_H
#define SYSLET_TEST_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <linux/syslet.h>

static inline long sys_umem_add(unsigned long *uptr, unsigned long inc)
{
	return syscall(__NR_umem_add, uptr, inc);
}

static inline long sys_async_exec(void *atom, void *ahu)
{
	return syscall(__NR_async_exec, atom, ahu);
}

static inline long sys_async_wait(unsigned long min_wait_events,
				  unsigned long user_ring_idx, void *ahu)
{
	return syscall(__NR_async_wait, min_wait_events, user_ring_idx, ahu);
}

/*
 * threadlet_on() returns a second time, in another thread, if anything
 * blocks before threadlet_off(): between the two raw calls do no I/O and
 * nothing else that may sleep (tools/threadlet/threadlet.h does it right).
 */
static inline long sys_threadlet_on(unsigned long flags)
{
	return syscall(__NR_threadlet_on, flags);
}

static inline long sys_threadlet_off(void)
{
	return syscall(__NR_threadlet_off);
}

/*
 * kselftest's rule: a kernel without the subsystem skips the whole
 * program (exit 4) rather than failing every test in it. umem_add() of
 * nothing answers anything but ENOSYS on a kernel that has it.
 */
__attribute__((constructor)) static void syslet_test_require_kernel(void)
{
	errno = 0;
	if (syscall(__NR_umem_add, NULL, 0) == -1 && errno == ENOSYS) {
		printf("TAP version 13\n1..0 # SKIP the kernel has no syslets (ENOSYS)\n");
		exit(4);
	}
}

/* The number in a /proc or /sys file, or -1. */
static inline long read_number(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Writes a number to a /proc or /sys file; 0 or -1. */
static inline int write_number(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = fprintf(f, "%ld\n", v) > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/*
 * The async threads of this process (threads named "syslet"): their
 * count, -1 if /proc/self/task cannot be read. With `ids`, also their
 * thread ids, at most `max` of them.
 */
static inline int async_thread_ids(pid_t *ids, int max)
{
	char path[300], comm[32];
	struct dirent *d;
	int n = 0;
	DIR *dir = opendir("/proc/self/task");

	if (!dir)
		return -1;
	while ((d = readdir(dir)) && (!ids || n < max)) {
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "syslet", 6)) {
			if (ids)
				ids[n] = atoi(d->d_name);
			n++;
		}
		fclose(f);
	}
	closedir(dir);
	return n;
}

/* CLOCK_MONOTONIC in milliseconds. */
static inline double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One counter of /proc/self/syslet; -1 if absent, -2 without the file. */
static inline long syslet_stat(const char *name)
{
	char key[64];
	long v, found = -1;
	FILE *f = fopen("/proc/self/syslet", "r");

	if (!f)
		return -2;
	while (fscanf(f, "%63s %ld", key, &v) == 2)
		if (!strcmp(key, name))
			found = v;
	fclose(f);
	return found;
}

/* A /sys/kernel/debug/syslet/live_* counter: objects alive system-wide. */
static inline long live(const char *what)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/kernel/debug/syslet/live_%s", what);
	return read_number(path);
}

/*
 * Polls, for 5 s, until the live_* counters are back to `procs` and at
 * most `spares` (this process's own idle spares may exit meanwhile). A
 * poll: what ended has no event this process could wait on. Says what it
 * found on stderr (the harness's test process ends with _exit(), which
 * would drop buffered stdout).
 */
static inline int live_back_to(long procs, long spares)
{
	for (int i = 0; i < 500; i++) {
		if (live("processes") == procs && live("spares") <= spares)
			return 1;
		usleep(10000);
	}
	fprintf(stderr, "# live: processes %ld (want %ld), spares %ld (want <= %ld)\n",
		live("processes"), procs, live("spares"), spares);
	return 0;
}

/* Waits for the next completion of the ring and consumes it (the fio way). */
static inline struct syslet_uatom *reap(struct async_head_user *ahu,
					struct syslet_uatom **ring,
					unsigned long slots)
{
	struct syslet_uatom *a;

	if (sys_async_wait(1, ahu->user_ring_idx, ahu) < 1)
		return NULL;
	a = __atomic_load_n(&ring[ahu->user_ring_idx % slots], __ATOMIC_ACQUIRE);
	ring[ahu->user_ring_idx % slots] = NULL;
	ahu->user_ring_idx++;
	return a;
}

/* Initializer of a struct async_head_user over the array `ring`. */
#define RING_HEAD(ring) { .completion_ring = (ring), .ring_size_bytes = sizeof(ring) }

/*
 * Fills one atom. Arguments are pointers to unsigned longs (the v6 ABI
 * passes arguments by reference); pass fewer than six and the rest are
 * NULL, which ends the argument list.
 */
#define ATOM_ARGS(...) ((unsigned long *[6]){ __VA_ARGS__ })
static inline void atom_set(struct syslet_uatom *a, unsigned long flags,
			    unsigned long nr, long *ret,
			    struct syslet_uatom *next, unsigned long **args)
{
	int i;

	a->flags = flags;
	a->nr = nr;
	a->ret_ptr = ret;
	a->next = next;
	for (i = 0; i < 6; i++)
		a->arg_ptr[i] = args ? args[i] : NULL;
	a->private = NULL;
}

/*
 * A system call without libc: no errno, no cancellation state (threadlet
 * bodies, syscall user dispatch, code that must not touch glibc's state).
 */
static inline long raw_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline long raw_syscall4(long nr, long a1, long a2, long a3, long a4)
{
	return raw_syscall6(nr, a1, a2, a3, a4, 0, 0);
}

/*
 * A word one thread sets and another waits for, with futex wake-ups:
 * raw calls on the setting side, which may run in a threadlet or a
 * signal handler.
 */
static inline void word_set(int *word, int v)
{
	__atomic_store_n(word, v, __ATOMIC_RELEASE);
	raw_syscall4(__NR_futex, (long)word, FUTEX_WAKE_PRIVATE, 1 << 30, 0);
}

/* Adds n to the word and wakes its waiters; safe in a threadlet. */
static inline void word_add(int *word, int n)
{
	__atomic_add_fetch(word, n, __ATOMIC_RELEASE);
	raw_syscall4(__NR_futex, (long)word, FUTEX_WAKE_PRIVATE, 1 << 30, 0);
}

/* Waits up to ms for *word to become at least `target`. */
static inline int word_wait(int *word, int target, int ms)
{
	double end = now_ms() + ms;
	int v;

	while ((v = __atomic_load_n(word, __ATOMIC_ACQUIRE)) < target && now_ms() < end) {
		struct timespec ts = { 0, 2 * 1000000 };

		syscall(__NR_futex, word, FUTEX_WAIT_PRIVATE, v, &ts, NULL, 0);
	}
	return v >= target;
}

/*
 * Waits up to `ms` for thread `tid` of this process to sleep in system
 * call `nr`: /proc/<pid>/task/<tid>/syscall shows the call's number
 * while the thread sleeps in one, "running" while it runs. 1 if seen.
 * What a test waits for when another thread must have reached a call
 * (and blocked in it) before the test goes on.
 */
static inline int wait_in_syscall(pid_t tid, long nr, int ms)
{
	double end = now_ms() + ms;
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	do {
		if (read_number(path) == nr)
			return 1;
		usleep(1000);
	} while (now_ms() < end);
	return 0;
}

/* The states of `pid`'s threads (one letter each) and their CPU ticks. */
static inline int task_stats(pid_t pid, char *states, size_t n, long *ticks)
{
	char path[300], line[512];
	struct dirent *d;
	size_t k = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	*ticks = 0;
	while ((d = readdir(dir))) {
		unsigned long ut, st;
		char state, *p;
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid, d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
		fclose(f);
		if (!p || sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				 &state, &ut, &st) != 3)
			continue;
		if (k + 1 < n)
			states[k++] = state;
		*ticks += ut + st;
	}
	states[k] = 0;
	closedir(dir);
	return 0;
}

/*
 * Waits up to `ms` for every thread of process `pid` to be off the CPU
 * (no "R" among task_stats()' states); 1 if a look found them so.
 */
static inline int threads_settled(pid_t pid, int ms)
{
	double end = now_ms() + ms;
	char states[256];
	long ticks;

	do {
		if (task_stats(pid, states, sizeof(states), &ticks))
			return 0;
		if (*states && !strchr(states, 'R'))
			return 1;
		usleep(1000);
	} while (now_ms() < end);
	return 0;
}

/* The state letter of thread `tid` of this process (/proc), 0 if none. */
static inline char thread_state(pid_t tid)
{
	char path[64], line[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	fclose(f);
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Waits up to `ms` for thread `tid` of this process to be gone; 1 if it is. */
static inline int wait_task_gone(pid_t tid, int ms)
{
	char path[64];
	double end = now_ms() + ms;

	snprintf(path, sizeof(path), "/proc/self/task/%d", tid);
	while (!access(path, F_OK)) {
		if (now_ms() > end)
			return 0;
		usleep(2000);
	}
	return 1;
}

#endif /* SYSLET_TEST_H */
