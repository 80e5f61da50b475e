// SPDX-License-Identifier: LGPL-2.1-or-later
/* The subsystem's raw calls and the library's clock helpers. */
#include "internal.h"

SYSLET_API long syslet_async_exec(struct syslet_uatom *atom, struct async_head_user *ahu)
{
	return sl_sys3(__NR_async_exec, (long)atom, (long)ahu, 0);
}

SYSLET_API long syslet_async_wait(unsigned long min_wait_events, unsigned long user_ring_idx,
				  struct async_head_user *ahu)
{
	return sl_sys3(__NR_async_wait, (long)min_wait_events, (long)user_ring_idx, (long)ahu);
}

SYSLET_API long syslet_umem_add(unsigned long *uptr, unsigned long inc)
{
	return sl_sys3(__NR_umem_add, (long)uptr, (long)inc, 0);
}

/* Timeouts longer than this (about 31 years) mean "no timeout". */
#define FOREVER_SEC	1000000000L

void sl_deadline(struct timespec *abs, const struct timespec *rel)
{
	clock_gettime(CLOCK_MONOTONIC, abs);
	if (rel->tv_sec >= FOREVER_SEC) {
		abs->tv_sec += FOREVER_SEC;
		return;
	}
	abs->tv_sec += rel->tv_sec;
	abs->tv_nsec += rel->tv_nsec;
	if (abs->tv_nsec >= 1000000000L) {
		abs->tv_sec++;
		abs->tv_nsec -= 1000000000L;
	}
}

int sl_passed(const struct timespec *abs)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > abs->tv_sec ||
	       (now.tv_sec == abs->tv_sec && now.tv_nsec >= abs->tv_nsec);
}
