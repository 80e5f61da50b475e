// SPDX-License-Identifier: GPL-2.0

//! The `do_exit()` hooks (patches/0004, patches/0024): what the engine
//! keeps of each exiting thread of a process that used it, and the end of
//! a process whose user threads have all exited.
//!
//! Before the thread leaves `signal->live` ([`syslet_rs_task_exit`]): a
//! parked spare gives back its reference and its place ([`crate::spare`]),
//! a threadlet that never ended its record ([`crate::threadlet`]), and a
//! user thread records its exit code. Async threads uncount
//! themselves ([`crate::worker`]).
//!
//! After it left ([`syslet_rs_task_left`]): if no user thread is left, the
//! engine's threads (parked spares, async threads) would keep the process
//! alive where stock Linux ends it. The thread that finds it so ends the
//! group, as `exit_group()` would, with the code stock Linux reports: the
//! last user thread's.

use crate::{prim::current, process::Process, spare, threadlet};
use kernel::bindings;

/// `do_exit()` hook for each thread of a process that used the engine,
/// with its exit code (see the module documentation).
///
/// # Safety
///
/// `tsk` must be a live task; the hook acts only when it is current.
#[no_mangle]
pub unsafe extern "C" fn syslet_rs_task_exit(tsk: *mut bindings::task_struct, code: core::ffi::c_long) {
    const NOT_USER: u32 = bindings::PF_SYSLET_WORKER | bindings::PF_IO_WORKER | bindings::PF_USER_WORKER;
    if tsk != current() {
        return;
    }
    // SAFETY: the exiting task's own flags.
    let flags = unsafe { (*tsk).flags };
    if flags & NOT_USER != 0 {
        // An async thread (it uncounts itself), or an io-wq or vhost
        // worker, whose `worker_private` is not ours to read.
        return;
    }
    if flags & bindings::PF_SYSLET_HANDOFF != 0 {
        // SAFETY: `tsk` is current, exiting, with `PF_SYSLET_HANDOFF`.
        if unsafe { spare::spare_exiting(tsk) } {
            return;
        }
        threadlet::task_exit(tsk);
    }
    // A user thread: if it is the last, how it ended decides the code.
    if let Ok(process) = Process::borrow_current() {
        process.shared.user_thread_exited(code);
    }
}

/// `do_exit()` hook for each thread of a process that used the engine,
/// once it has left `signal->live` without ending the group (see the
/// module documentation).
///
/// # Safety
///
/// `tsk` must be a live task; the hook acts only when it is current.
#[no_mangle]
pub unsafe extern "C" fn syslet_rs_task_left(tsk: *mut bindings::task_struct) {
    if tsk != current() {
        return;
    }
    let Ok(process) = Process::borrow_current() else {
        return;
    };
    if process.shared.no_user_threads_left() {
        // SAFETY: current, in `do_exit()` past `exit_signals()`; takes
        // siglock itself. Does nothing if the group is already exiting.
        unsafe { bindings::syslet_end_group(process.shared.user_exit_code()) };
    }
}
