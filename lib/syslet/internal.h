/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libsyslet's private helpers: not installed. */
#ifndef SYSLET_INTERNAL_H
#define SYSLET_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sys/syscall.h>
#include "syslet.h"

#define SYSLET_API __attribute__((visibility("default")))
#define SYSLET_HIDDEN __attribute__((visibility("hidden")))

/* Raw calls without errno: results or -errno. */
static inline long sl_sys0(long nr)
{
	return syslet_raw_syscall6(nr, 0, 0, 0, 0, 0, 0);
}

static inline long sl_sys3(long nr, long a1, long a2, long a3)
{
	return syslet_raw_syscall6(nr, a1, a2, a3, 0, 0, 0);
}

static inline long sl_sys4(long nr, long a1, long a2, long a3, long a4)
{
	return syslet_raw_syscall6(nr, a1, a2, a3, a4, 0, 0);
}

/* A timespec as a relative timeout: 0 if valid, -EINVAL otherwise. */
static inline int sl_check_timeout(const struct timespec *ts)
{
	if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L))
		return -EINVAL;
	return 0;
}

/* now + rel on CLOCK_MONOTONIC, saturating far in the future. */
SYSLET_HIDDEN void sl_deadline(struct timespec *abs, const struct timespec *rel);
/* 1 when CLOCK_MONOTONIC has reached abs. */
SYSLET_HIDDEN int sl_passed(const struct timespec *abs);

/* The ring's slot for an index (the kernel's rule: idx % nslots). */
static inline struct syslet_uatom **sl_slot(const struct syslet_ring *r, unsigned long idx)
{
	return &r->slots[idx % r->nslots];
}

#define SL_CHAIN_MAGIC	0x736c6574636861UL	/* "sletcha" */

#endif /* SYSLET_INTERNAL_H */
