// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Threadlets: fn(arg) on its own stack, inline until it blocks
 * (Documentation/handoff.md; threadlet_x86_64.S does the switch). Stacks
 * the library maps have a guard page below them. Memory calls are raw so
 * that errno is never touched.
 */
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include "internal.h"

#define OWN_STACK	0x1
#define PAGE		4096UL

long sl_threadlet_enter(long (*fn)(void *), void *arg, void *stack_top,
			struct syslet_threadlet *t) SYSLET_HIDDEN;

_Static_assert(offsetof(struct syslet_threadlet, done) == 0, "the assembly stores done at 0");
_Static_assert(offsetof(struct syslet_threadlet, result) == 8, "and result at 8");

static void unmap_stack(struct syslet_threadlet *t)
{
	if (t->flags & OWN_STACK)
		sl_sys3(__NR_munmap, (long)t->stack - PAGE, (long)(t->stack_size + PAGE), 0);
	t->flags &= ~OWN_STACK;
	t->stack = NULL;
	t->stack_size = 0;
}

static int map_stack(struct syslet_threadlet *t, size_t size)
{
	long mem;

	size = (size + PAGE - 1) & ~(PAGE - 1);
	mem = syslet_raw_syscall6(__NR_mmap, 0, (long)(size + PAGE), PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (mem < 0 && mem > -4096)
		return (int)mem;
	/* The guard page: an overflow faults instead of writing below. */
	if (sl_sys3(__NR_mprotect, mem, PAGE, PROT_NONE) < 0) {
		sl_sys3(__NR_munmap, mem, (long)(size + PAGE), 0);
		return -ENOMEM;
	}
	t->stack = (void *)(mem + PAGE);
	t->stack_size = size;
	t->flags |= OWN_STACK;
	return 0;
}

SYSLET_API int syslet_threadlet_start(struct syslet_threadlet *t, long (*fn)(void *),
				      void *arg, void *stack, size_t stack_size)
{
	uintptr_t top;
	long ret;
	int err;

	if (!t || !fn)
		return -EINVAL;
	if ((stack || stack_size) && stack_size < SYSLET_THREADLET_MIN_STACK)
		return -EINVAL;
	if (stack && (uintptr_t)stack + stack_size < (uintptr_t)stack)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->result = SYSLET_RESULT_UNSET;
	if (stack) {
		t->stack = stack;
		t->stack_size = stack_size;
	} else {
		err = map_stack(t, stack_size ? stack_size : SYSLET_THREADLET_STACK);
		if (err) {
			/* Nothing ran: t is finished, without a result. */
			__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
			return err;
		}
	}
	top = ((uintptr_t)t->stack + t->stack_size) & ~(uintptr_t)15;
	ret = sl_threadlet_enter(fn, arg, (void *)top, t);
	if (ret < 0) {
		/* Nothing ran: t is finished, without a result. */
		unmap_stack(t);
		__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	}
	return (int)ret;
}

SYSLET_API int syslet_threadlet_done(const struct syslet_threadlet *t)
{
	return t && __atomic_load_n(&t->done, __ATOMIC_ACQUIRE) == 1;
}

SYSLET_API long syslet_threadlet_result(const struct syslet_threadlet *t)
{
	if (!syslet_threadlet_done(t))
		return SYSLET_RESULT_UNSET;
	return t->result;
}

SYSLET_API int syslet_threadlet_wait(struct syslet_threadlet *t, const struct timespec *timeout)
{
	struct timespec abs;
	long r;

	if (!t || sl_check_timeout(timeout))
		return -EINVAL;
	if (timeout)
		sl_deadline(&abs, timeout);
	for (;;) {
		if (syslet_threadlet_done(t))
			return 0;
		/* Absolute CLOCK_MONOTONIC deadline: spurious wake-ups do not
		 * stretch it. */
		r = syslet_raw_syscall6(__NR_futex, (long)&t->done,
					FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0,
					timeout ? (long)&abs : 0, 0, FUTEX_BITSET_MATCH_ANY);
		if (r == -ETIMEDOUT || r == -EINTR)
			return syslet_threadlet_done(t) ? 0 : (int)r;
	}
}

SYSLET_API int syslet_threadlet_release(struct syslet_threadlet *t)
{
	if (!t)
		return -EINVAL;
	if (!syslet_threadlet_done(t))
		return -EBUSY;
	unmap_stack(t);
	return 0;
}
