/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interface between the C glue of the syslet subsystem and its
 * Rust implementation (syslets/syslet/syslet.rs). Every function declared
 * here is defined in Rust with #[no_mangle] extern "C"; the C side only
 * forwards arguments.
 */
#ifndef _LINUX_SYSLET_H
#define _LINUX_SYSLET_H

#include <uapi/linux/syslet.h>

struct signal_struct;
struct task_struct;

#ifdef CONFIG_SYSLET
/* syslet/umem.rs: returns the new value, or -EFAULT. */
long syslet_rs_umem_add(unsigned long uptr, unsigned long inc);
/* syslet/engine.rs */
long syslet_rs_async_exec(unsigned long atom, unsigned long ahu);
long syslet_rs_async_wait(unsigned long min_wait_events,
			  unsigned long user_ring_idx, unsigned long ahu);

/*
 * syslet/pool.rs. syslet_worker_sleeping() is called by sched_submit_work()
 * for a PF_SYSLET_WORKER task about to sleep: it must not sleep or
 * allocate. syslet_free_process() releases the per-process state when
 * its signal_struct is freed (any context, no async thread left).
 */
void syslet_worker_sleeping(struct task_struct *tsk);
void syslet_free_process(struct signal_struct *sig);

/* syslet/sysctl.c: /proc/sys/kernel/syslet_* */
extern unsigned int sysctl_syslet_max_threads;
extern unsigned int sysctl_syslet_idle_msecs;
#else
static inline void syslet_worker_sleeping(struct task_struct *tsk) { }
static inline void syslet_free_process(struct signal_struct *sig) { }
#endif

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
