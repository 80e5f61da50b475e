/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interface between the C glue of the syslet subsystem and its
 * Rust implementation (syslets/syslet/syslet.rs). Every function declared
 * here is defined in Rust with #[no_mangle] extern "C"; the C side only
 * forwards system call arguments.
 */
#ifndef _LINUX_SYSLET_H
#define _LINUX_SYSLET_H

#include <uapi/linux/syslet.h>

/* syslet/umem.rs: returns the new value, or -EFAULT. */
long syslet_rs_umem_add(unsigned long uptr, unsigned long inc);
/* syslet/engine.rs */
long syslet_rs_async_exec(unsigned long atom, unsigned long ahu);
long syslet_rs_async_wait(unsigned long min_wait_events,
			  unsigned long user_ring_idx, unsigned long ahu);

#ifdef CONFIG_SYSLET_KUNIT_TEST
/* Pure logic, exported for the KUnit suite (syslet/syslet_kunit.c). */
bool syslet_kunit_stops(unsigned long flags, long ret);
long syslet_kunit_next(unsigned long addr, unsigned long flags,
		       unsigned long next, long ret);
bool syslet_kunit_refused(unsigned long nr);
unsigned long syslet_kunit_ring_pending(unsigned long kernel_idx,
					unsigned long user_idx);
#endif

#endif /* _LINUX_SYSLET_H */
