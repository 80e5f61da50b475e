// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side check of threadlet.h's assembly, on any x86-64 kernel: the
 * threadlet system calls are replaced by calls every kernel has, chosen
 * by FAKE at build time (the numbers are baked into the code):
 *
 *   FAKE=1  threadlet_on = getppid (> 0: "inline"), threadlet_off =
 *           getpid: fn runs on the given stack, 16-byte aligned at its
 *           entry, the caller's callee-saved registers survive, and
 *           threadlet_exec() returns threadlet_off()'s value;
 *   FAKE=2  threadlet_on = sched_yield (0: "went asynchronous"): returns
 *           0 at once without running fn;
 *   FAKE=0  the real numbers: -ENOSYS from a kernel without threadlets,
 *           1 from one with them (fn never blocks here).
 *
 * Built from two files (-DSECOND) that both use the header (add -flto to
 * check that it links under LTO too). Build and run from the top of the
 * tree:
 *
 *   for f in 0 1 2; do
 *     flags="-O2 -fno-omit-frame-pointer -Wall -Werror -D__user= -DFAKE=$f
 *            -Iinclude/uapi -Itools/threadlet"
 *     gcc $flags -DSECOND -c -o /tmp/thc2.o tools/threadlet/host-check.c &&
 *     gcc $flags -o /tmp/thc tools/threadlet/host-check.c /tmp/thc2.o &&
 *     /tmp/thc || echo FAILED
 *   done
 *
 * (The real tests are tests/threadlet_test.c and, in Rust,
 * tests/rust/tests/threadlet.rs; they need the patched kernel.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

#if FAKE == 1
#define __NR_threadlet_on	__NR_getppid
#define __NR_threadlet_off	__NR_getpid
#elif FAKE == 2
#define __NR_threadlet_on	__NR_sched_yield
#define __NR_threadlet_off	__NR_getpid
#endif
#include "threadlet.h"

#ifdef SECOND
/* The second translation unit: a user of the header, nothing more. */
long second_unit_exec(void (*fn)(void *), void *arg, void *stack, size_t size)
{
	return threadlet_exec(fn, arg, stack, size);
}
#else
long second_unit_exec(void (*fn)(void *), void *arg, void *stack, size_t size);

enum { SIZE = 16 << 10 };
static char stack[SIZE] __attribute__((aligned(16)));

struct seen {
	int ran;
	char *frame;
};

static __attribute__((noinline)) void fn(void *arg)
{
	struct seen *s = arg;

	/* With frame pointers this is the entry %rsp - 8: 16-byte aligned. */
	s->frame = __builtin_frame_address(0);
	s->ran++;
}

static int failures;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "host-check FAKE=%d: %s:%d: %s\n", FAKE, __FILE__, __LINE__, #cond); \
		failures++; \
	} \
} while (0)

int main(void)
{
	/* Values live across the call, in callee-saved registers at -O2. */
	volatile unsigned long in[8] = { 11, 22, 33, 44, 55, 66, 77, 88 };
	unsigned long v0 = in[0], v1 = in[1], v2 = in[2], v3 = in[3];
	unsigned long v4 = in[4], v5 = in[5], v6 = in[6], v7 = in[7];
	struct seen s = { 0 };
	long r, r2;

	r = threadlet_exec(fn, &s, stack, SIZE);
	r2 = second_unit_exec(fn, &s, stack + 8, SIZE - 8);
	CHECK(v0 * 3 + v1 * 5 + v2 * 7 + v3 * 11 + v4 * 13 + v5 * 17 + v6 * 19 + v7 * 23 ==
	      11 * 3 + 22 * 5 + 33 * 7 + 44 * 11 + 55 * 13 + 66 * 17 + 77 * 19 + 88 * 23);
	CHECK(threadlet_exec(fn, &s, NULL, SIZE) == -EINVAL);
#if FAKE == 1
	CHECK(r == getpid());
	CHECK(r2 == getpid());
	CHECK(s.ran == 2);
	CHECK(s.frame > stack && s.frame < stack + SIZE);
	CHECK(((unsigned long)s.frame & 15) == 0);
#elif FAKE == 2
	CHECK(r == THREADLET_WENT_ASYNC);
	CHECK(r2 == THREADLET_WENT_ASYNC);
	CHECK(s.ran == 0);
#else
	CHECK(r == -ENOSYS || r == THREADLET_INLINE);
	CHECK(r2 == r);
	CHECK(s.ran == (r == THREADLET_INLINE ? 2 : 0));
#endif
	printf("host-check FAKE=%d: %s (returned %ld)\n", FAKE, failures ? "FAIL" : "ok", r);
	return failures != 0;
}
#endif
