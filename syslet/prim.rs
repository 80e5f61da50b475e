// SPDX-License-Identifier: GPL-2.0

//! The kernel primitives every part of the engine uses, and nothing
//! else: the current task and its flags, sysctls, and the live
//! counters of `/sys/kernel/debug/syslet`. The bottom layer: it uses no
//! other module of the crate.

use core::{
    ptr,
    sync::atomic::{AtomicU64, Ordering},
};
use kernel::bindings;

pub(crate) fn sysctl(v: *const u32) -> u32 {
    // SAFETY: `v` is one of the sysctl variables of syslet/sysctl.c, which
    // live forever; a racy read of an aligned u32 is fine for a tunable.
    unsafe { ptr::read_volatile(v) }
}


/// The current task, read from this CPU's `pcpu_hot.current_task` as the
/// C `get_current()` does. Inline: the engine asks for it several times
/// per atom, and the `rust_helper_get_current()` wrapper would cost a
/// call and a return each time ([`crate::tuning`]).
#[cfg(CONFIG_SMP)]
#[inline(always)]
pub(crate) fn current() -> *mut bindings::task_struct {
    let task: *mut bindings::task_struct;
    // SAFETY: on SMP kernels per-CPU variables are addressed through %gs,
    // and `current_task` is the first word of `pcpu_hot` (asserted
    // below); whichever CPU the task runs on, the word names the task
    // itself.
    unsafe {
        core::arch::asm!(
            "movq %gs:{hot}, {task}",
            hot = sym bindings::pcpu_hot,
            task = out(reg) task,
            options(att_syntax, nostack, readonly, preserves_flags),
        );
    }
    task
}

#[cfg(CONFIG_SMP)]
const _: () = assert!(
    core::mem::offset_of!(bindings::pcpu_hot, __bindgen_anon_1) == 0
        && core::mem::offset_of!(bindings::pcpu_hot__bindgen_ty_1__bindgen_ty_1, current_task) == 0
);

/// The current task (uniprocessor kernels: per-CPU variables are plain
/// globals there, reached by the C helper).
#[cfg(not(CONFIG_SMP))]
#[inline(always)]
pub(crate) fn current() -> *mut bindings::task_struct {
    // SAFETY: always valid in process context.
    unsafe { bindings::get_current() }
}

/// `TIF_SIGPENDING` and `TIF_NEED_RESCHED` as bits of `thread_info.flags`.
const TIF_SIGPENDING_BIT: usize = 1 << bindings::TIF_SIGPENDING;
const TIF_NEED_RESCHED_BIT: usize = 1 << bindings::TIF_NEED_RESCHED;

/// The current task's `thread_info.flags`.
#[inline(always)]
fn thread_flags() -> usize {
    // SAFETY: `current`'s own thread_info; the flags are set by other
    // CPUs with atomic bit operations, a racy read sees either value.
    unsafe { ptr::read_volatile(ptr::addr_of!((*current()).thread_info.flags)) as usize }
}

/// Whether the current task must stop what it is doing in the kernel
/// soon: a signal is pending or the scheduler wants the CPU. One load;
/// the caller then looks closer (`fatal_signal_pending()`,
/// `cond_resched()`).
#[inline(always)]
pub(crate) fn attention() -> bool {
    thread_flags() & (TIF_SIGPENDING_BIT | TIF_NEED_RESCHED_BIT) != 0
}

/// Whether a signal is pending for the current task (a cheap test in
/// front of the `fatal_signal_pending()` call).
#[inline(always)]
pub(crate) fn signal_pending() -> bool {
    thread_flags() & TIF_SIGPENDING_BIT != 0
}

/// Whether a fatal signal is pending for the current task.
#[inline]
pub(crate) fn fatal_signal_pending() -> bool {
    // SAFETY: `current` is always a valid task.
    signal_pending() && unsafe { bindings::fatal_signal_pending(current()) != 0 }
}

/// Ends the current thread. References held by the caller's frame are
/// not dropped: callers drop theirs first.
pub(crate) fn exit_thread() -> ! {
    // SAFETY: a user thread may end in do_exit(); the caller holds no lock.
    unsafe { bindings::do_exit(0) }
}

/// `SECCOMP_MODE_DEAD` (kernel/seccomp.c): a KILL verdict was given; the
/// task is dying.
pub(crate) const SECCOMP_MODE_DEAD: i32 = 3;

/// Whether the current task is under seccomp (a filter or strict mode).
#[inline(always)]
pub(crate) fn under_seccomp() -> bool {
    // SAFETY: `current` is a valid task; it reads its own seccomp mode
    // (TSYNC may set it from another thread: either value is fine, see
    // `invoke::seccomp_check`).
    unsafe { (*current()).seccomp.mode != 0 }
}

/// Counts one live object in a `/sys/kernel/debug/syslet/live_*` counter
/// for as long as it exists.
pub(crate) struct Live(*mut u64);

impl Live {
    pub(crate) fn new(counter: *mut u64) -> Live {
        // SAFETY: `counter` is one of the u64s of syslet/debugfs.c, which
        // live forever and are only ever updated atomically.
        unsafe { AtomicU64::from_ptr(counter) }.fetch_add(1, Ordering::Relaxed);
        Live(counter)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // SAFETY: as in `new`.
        unsafe { AtomicU64::from_ptr(self.0) }.fetch_sub(1, Ordering::Relaxed);
    }
}

// SAFETY: the pointer is to a global counter updated atomically.
unsafe impl Send for Live {}
// SAFETY: `&Live` only allows the atomic decrement of `Drop`'s caller and
// nothing else: sharing it between threads is sound.
unsafe impl Sync for Live {}
