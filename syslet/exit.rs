// SPDX-License-Identifier: GPL-2.0

//! The `do_exit()` hook (patches/0004): what the engine keeps of each
//! exiting thread of a process that used it. A parked spare gives back
//! its reference and its place ([`crate::spare`]), a threadlet that never
//! ended its record ([`crate::threadlet`]), and a user thread its exit
//! code, for the parked leader ([`crate::leader`]). Async threads uncount
//! themselves ([`crate::worker`]).

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
    // A user thread: if it is the last, the parked leader ends the
    // process with its code (`leader`).
    if let Ok(process) = Process::borrow_current() {
        process.shared.user_thread_exited(code);
    }
}
