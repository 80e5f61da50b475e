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
 *   600  async_exec(atom, ahu)                   engine (-ENOSYS until it lands)
 *   601  async_wait(min_wait_events, user_ring_idx, ahu)   idem
 *   602  umem_add(uptr, inc)
 *   603..615 reserved (async_thread, threadlets, fd space)
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

#endif /* _UAPI_LINUX_SYSLET_H */
