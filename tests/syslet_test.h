/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw system call wrappers for the syslet tests: glibc knows none of these
 * calls, and the tests want the kernel's answer unfiltered. Each returns
 * what syscall(2) returns: the result, or -1 with errno set.
 */
#ifndef SYSLET_TEST_H
#define SYSLET_TEST_H

#include <unistd.h>
#include <sys/syscall.h>
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

#endif /* SYSLET_TEST_H */
