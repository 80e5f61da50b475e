/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the threadlet tests (threadlet_test.c, threadlet_lock_test.c):
 * raw system calls safe in a threadlet, futex words to wait on (set with
 * syslet_test.h's word_add()), stacks and code pages touched before a
 * threadlet runs (a first-touch fault inside it could sleep and send it
 * asynchronous).
 */
#ifndef THREADLET_TEST_H
#define THREADLET_TEST_H

#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "syslet_test.h"

enum { STACK_SIZE = 64 << 10 };

static inline long raw_syscall3(long nr, long a1, long a2, long a3)
{
	return raw_syscall4(nr, a1, a2, a3, 0);
}

static inline long raw_gettid(void)
{
	return raw_syscall3(__NR_gettid, 0, 0, 0);
}

/* Waits up to `ms` for *word to reach `target`; returns its last value. */
static inline int wait_for(int *word, int target, int ms)
{
	double end = now_ms() + ms;
	int v;

	while ((v = __atomic_load_n(word, __ATOMIC_ACQUIRE)) < target) {
		long left = (long)(end - now_ms()) + 1;
		struct timespec ts = { left / 1000, (left % 1000) * 1000000 };

		if (left <= 1)
			break;
		syscall(__NR_futex, word, FUTEX_WAIT_PRIVATE, v, &ts, NULL, 0);
	}
	return v;
}

/*
 * A threadlet stack, every page touched now: a first-touch fault inside
 * the threadlet could sleep and send it asynchronous. (Not zeroes: the
 * compiler may turn malloc()+memset(0) into calloc(), which need not
 * touch fresh pages.) Never freed: a threadlet that went asynchronous
 * still runs on its stack after it signals completion (threadlet.h), and
 * each test runs in a process of its own.
 */
static inline void *new_stack(void)
{
	void *s = malloc(STACK_SIZE);

	if (s)
		memset(s, 0x5a, STACK_SIZE);
	return s;
}

/*
 * Runs fn once, directly, so that its code page is mapped: a fault on it
 * inside a threadlet could sleep and send the threadlet asynchronous.
 * (Through a volatile pointer: an inlined copy would not touch fn's page.)
 */
static inline void warm_up(void (*fn)(void *), void *arg)
{
	void (*volatile call)(void *) = fn;

	call(arg);
}

#endif
