/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Syslets: asynchronous system calls, after Ingo Molnar's and Zach
 * Brown's 2007 series (v6 ABI on x86-64).
 *
 * System call numbers. The subsystem owns the block 600..615 on x86-64:
 * well clear of mainline's allocations (6.12 ends at 462; 6.13 and later
 * take numbers from 463 upward) and above the x32 block 512..547.
 * The numbers are also in arch/x86/entry/syscalls/syscall_64.tbl (see
 * patches/); tools/build-kernel refuses to build if the two disagree.
 *
 *   600  async_exec(atom, ahu)
 *   601  async_wait(min_wait_events, user_ring_idx, ahu)
 *   602  umem_add(uptr, inc)
 *   603  threadlet_on(flags)
 *   604  threadlet_off()
 *   605  fdup(fd, flags) (include/uapi/linux/fdspace.h)
 *   606..615 reserved
 *
 * The guards let a program include this header together with a libc whose
 * <sys/syscall.h> already knows the numbers.
 */
#ifndef _UAPI_LINUX_SYSLET_H
#define _UAPI_LINUX_SYSLET_H

#ifndef __NR_async_exec
#define __NR_async_exec		600
#endif
#ifndef __NR_async_wait
#define __NR_async_wait		601
#endif
#ifndef __NR_umem_add
#define __NR_umem_add		602
#endif
#ifndef __NR_threadlet_on
#define __NR_threadlet_on	603
#endif
#ifndef __NR_threadlet_off
#define __NR_threadlet_off	604
#endif

/*
 * Threadlets (Documentation/syslets.md, "Threadlets"): a user function
 * run inline on a user stack; if it blocks, a spare thread of the process
 * takes over the caller's user context at the return of threadlet_on()
 * and the function goes on in its own thread.
 *
 * threadlet_on(flags): flags must be 0. Remembers the caller's user
 * context. Returns THREADLET_INLINE; returns a second time, with
 * THREADLET_WENT_ASYNC, in the spare thread that took the context over
 * when the function blocked. Errors: -EINVAL (flags), -EBUSY (already on).
 *
 * threadlet_off(): ends the threadlet. Returns THREADLET_INLINE when the
 * function never blocked (the caller goes on); in a threadlet that went
 * asynchronous it does not return: the thread becomes a spare thread of
 * the process. Errors: -EINVAL (no threadlet on).
 */
#define THREADLET_WENT_ASYNC	0
#define THREADLET_INLINE	1

/*
 * struct syslet_uatom: one system call of a chain ("atom"), the v3-v6
 * layout with native-width fields (88 bytes on x86-64). The kernel only
 * reads atoms; it writes results through ret_ptr.
 *
 * @flags:   SYSLET_* below; unknown bits give -EINVAL.
 * @nr:      system call number (x86-64 numbering).
 * @ret_ptr: where the kernel stores the call's return value (a long);
 *           NULL: the value is not stored (stop conditions still see it).
 * @next:    the next atom; NULL ends the chain.
 * @arg_ptr: pointers to the arguments (each an unsigned long); the kernel
 *           reads them in order up to the first NULL pointer, so a call
 *           with two arguments has arg_ptr[2] == NULL. Pointers, not
 *           values, so that atoms can share variables (loops, umem_add).
 * @private: never touched by the kernel; for user space to find its
 *           request when the atom appears in the completion ring.
 */
struct syslet_uatom {
	unsigned long				flags;
	unsigned long				nr;
	long __user				*ret_ptr;
	struct syslet_uatom __user		*next;
	unsigned long __user			*arg_ptr[6];
	void __user				*private;
};

/* Go asynchronous at once: do not try this atom inline. */
#define SYSLET_ASYNC				0x00000001
/* Never go asynchronous while this atom runs, even if it blocks. */
#define SYSLET_SYNC				0x00000002
/* Do not put the chain's completion into the ring if it ends here. */
#define SYSLET_NO_COMPLETE			0x00000004
/* Stop the chain after this atom if its result is ... */
#define SYSLET_STOP_ON_NONZERO			0x00000008
#define SYSLET_STOP_ON_ZERO			0x00000010
#define SYSLET_STOP_ON_NEGATIVE			0x00000020
#define SYSLET_STOP_ON_NON_POSITIVE		0x00000040
#define SYSLET_STOP_MASK	(SYSLET_STOP_ON_NONZERO | SYSLET_STOP_ON_ZERO | \
				 SYSLET_STOP_ON_NEGATIVE | SYSLET_STOP_ON_NON_POSITIVE)
/* On a stop condition, continue with the atom that follows this one in
 * memory (atom + 1) instead of stopping: how chains branch. */
#define SYSLET_SKIP_TO_NEXT_ON_STOP		0x00000080

/*
 * struct async_head_user: one completion ring and its indices, passed to
 * every async_exec() and async_wait() call (v3-v6 layout, 64 bytes).
 *
 * @kernel_ring_idx:  next ring slot the kernel fills; written by the kernel.
 * @user_ring_idx:    next slot user space consumes; the kernel never
 *                    writes it (async_wait() takes the value as argument).
 * @completion_ring:  array of ring_size_bytes / sizeof(pointer) slots, zero
 *                    at start. For each chain that went asynchronous the
 *                    kernel stores the address of its last atom into the
 *                    slot kernel_ring_idx % nslots and advances
 *                    kernel_ring_idx; user space reads the slot, clears it
 *                    to NULL and advances user_ring_idx.
 * @ring_size_bytes:  a non-zero multiple of sizeof(pointer), else -EINVAL.
 * @head_stack, @head_eip, @new_thread_stack, @new_thread_eip:
 *                    the 2007 user-space entry points of cachemiss threads;
 *                    reserved for the cachemiss handoff (issue 4), ignored.
 *
 * See Documentation/syslets.md for the ordering contract.
 */
struct async_head_user {
	unsigned long				kernel_ring_idx;
	unsigned long				user_ring_idx;
	struct syslet_uatom __user * __user	*completion_ring;
	unsigned long				ring_size_bytes;
	void __user				*head_stack;
	void __user				*head_eip;
	void __user				*new_thread_stack;
	void __user				*new_thread_eip;
};

#endif /* _UAPI_LINUX_SYSLET_H */
