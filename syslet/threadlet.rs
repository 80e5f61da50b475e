// SPDX-License-Identifier: GPL-2.0

//! Threadlets: `threadlet_on()` and `threadlet_off()`.
//!
//! A threadlet is a user function that runs inline on a stack the caller
//! supplies, and becomes a thread of its own only if it blocks (Ingo's
//! "optional threads", v3 of the 2007 series). The user helper
//! (`tools/threadlet/threadlet.h`, `tools/syslet-rs`) does:
//!
//! 1. `threadlet_on(0)`: the kernel saves the register frame of this call
//!    (its *head*) in a [`Threadlet`] and arms the task for the whole
//!    threadlet ([`handoff`](crate::handoff)); it returns
//!    `THREADLET_INLINE`.
//! 2. The helper switches to the threadlet's stack and calls the function.
//! 3. If the task sleeps meanwhile, the hook hands the head to a spare
//!    thread, which returns from step 1 a second time with
//!    `THREADLET_WENT_ASYNC` (0) on the caller's stack, with the caller's
//!    TID; the function goes on in the task that blocked.
//! 4. `threadlet_off()`: if the head never moved, returns
//!    `THREADLET_INLINE` and the helper returns to the caller. Otherwise
//!    the task, whose user context now is only the finished function,
//!    parks as a spare thread and never returns from this call.
//!
//! A task that cannot hand its context over ([`eligible::can_hand_off`])
//! still gets a threadlet: it simply never goes asynchronous.

use crate::{
    eligible,
    handoff::Armed,
    process::Process,
    prim::current,
    spare,
    task::{self, Kind},
};
use core::{ffi::c_int, ptr, sync::atomic::Ordering};
use kernel::{bindings, prelude::*};

/// Whether the current task is armed or in a threadlet.
/// A threadlet record left over from before an `execve()` (its head
/// belongs to the old program) is freed here.
#[inline]
pub(crate) fn armed() -> bool {
    // SAFETY: reads `current`'s own flags.
    let flags = unsafe { (*current()).flags };
    flags & bindings::PF_SYSLET_HANDOFF != 0 && armed_record_live()
}

/// [`armed`] once the flag is seen set.
#[cold]
fn armed_record_live() -> bool {
    let Some(a) = task::record_of_current::<Armed>() else {
        return true;
    };
    // SAFETY: an installed record lives until it is uninstalled, which
    // only this task does. (execve() frees a threadlet's record when it
    // succeeds, `syslet_exec_end`: the address space cannot differ; the
    // test stays, and never re-enters this function.)
    if unsafe { (*a).stale_threadlet() } {
        drop(take());
        return false;
    }
    true
}

/// The record of a task in threadlet mode ([`crate::task`]).
#[repr(C)]
pub(crate) struct Threadlet {
    /// Its `Armed::regs` points to `head`: the record is boxed and never
    /// moves while installed.
    armed: Armed,
    head: bindings::pt_regs,
}

/// `threadlet_on(flags)`. Errors: `EINVAL` for flags, `EBUSY` when the
/// task is already in a threadlet, `ENOMEM`.
fn threadlet_on(flags: usize) -> Result<isize> {
    if flags != 0 {
        return Err(EINVAL);
    }
    if armed() {
        return Err(EBUSY);
    }
    let process = Process::borrow_current()?;
    let enabled = eligible::can_hand_off() && spare::ensure_spare(&process.spares);
    // SAFETY: the register frame of the current system call.
    let head = unsafe { *bindings::current_pt_regs() };
    let mut t = KBox::new(
        Threadlet { armed: Armed::new(Kind::Threadlet, process, ptr::null(), 0, enabled), head },
        GFP_KERNEL,
    )?;
    // Given back when the record is dropped (`Drop for Threadlet`).
    process.shared.threadlets.fetch_add(1, Ordering::AcqRel);
    let head_ptr: *const bindings::pt_regs = &t.head;
    t.armed = Armed::new(Kind::Threadlet, process, head_ptr, 0, enabled);
    let raw = KBox::into_raw(t);
    // SAFETY: `raw` stays allocated until `threadlet_off()` or the exit
    // hook takes it back, and both disarm first.
    unsafe { (*raw).armed.arm() };
    Ok(bindings::THREADLET_INLINE as isize)
}

/// Takes the current task's threadlet record back, disarming it.
///
/// Looks at the flag itself, not through [`armed`], which calls
/// this function (a threadlet record outliving its program).
pub(crate) fn take() -> Option<KBox<Threadlet>> {
    let a = armed_record(current())?;
    // SAFETY: an installed record lives until this task uninstalls it.
    let threadlet = unsafe { (*a).is_threadlet() };
    Armed::disarm();
    // SAFETY: a threadlet's `Armed` is the first field (`repr(C)`) of the
    // `Threadlet` that `threadlet_on()` leaked; the task is disarmed,
    // nothing else refers to it. A chain's or an aio write's record is on
    // the stack of the system call that armed it, and stays there.
    threadlet.then(|| unsafe { KBox::from_raw(a.cast_mut().cast::<Threadlet>()) })
}

impl Drop for Threadlet {
    fn drop(&mut self) {
        self.armed.process.shared.threadlets.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `threadlet_off()`. Errors: `EINVAL` when no threadlet is on.
fn threadlet_off() -> Result<isize> {
    if !armed() {
        return Err(EINVAL);
    }
    let t = take().ok_or(EINVAL)?;
    if !t.armed.handed() {
        return Ok(bindings::THREADLET_INLINE as isize);
    }
    let process = t.armed.process;
    let spares = process.spares.clone();
    drop(t);
    // The function ran on after every user thread had exited (their
    // exits left the process to it): it ends the process now, as the
    // last of them would have.
    if process.shared.no_user_threads_left() {
        let code = process.shared.user_exit_code();
        drop(spares);
        // SAFETY: current, in process context (the `threadlet_off()`
        // system call), not exiting and holding no lock; `spares` was the
        // only counted reference of this frame (`process` is a borrow), so
        // nothing is left to drop when it does not return. It ends every
        // thread of the group with `code` (with the group's own code if
        // the group is already exiting).
        unsafe { bindings::do_group_exit(code) }
    }
    spare::become_spare(spares);
    // A user context was handed to this task: it returns 0 to it.
    Ok(0)
}

/// The `Armed` record of `t` (current), if `PF_SYSLET_HANDOFF` is set
/// with one (not a parked spare's).
fn armed_record(t: *mut bindings::task_struct) -> Option<*const Armed> {
    // SAFETY: `t` is current; its own flags.
    if unsafe { (*t).flags } & bindings::PF_SYSLET_HANDOFF == 0 {
        return None;
    }
    // SAFETY: `t` is current with `PF_SYSLET_HANDOFF` set, so its
    // `worker_private` is a record of the engine's (`task::record`'s
    // contract).
    unsafe { task::record::<Armed>(t) }
}

/// `execve()` is about to run in `task` (current): a threadlet's handoff
/// is disarmed while it does. Its head must not move in the middle of an
/// exec (the context would take the caller's signal mask along, and the
/// new program would start with every signal blocked). Returns whether
/// it disarmed one, for [`syslet_exec_end`].
///
/// # Safety
///
/// `task` must be a live task; nothing is done unless it is current.
#[no_mangle]
pub unsafe extern "C" fn syslet_exec_begin(task: *mut bindings::task_struct) -> bool {
    if task != current() || armed_record(task).is_none() {
        return false;
    }
    // SAFETY: current's own flags; the record stays in `worker_private`
    // (no longer armed: the hook and `armed()` look at the flag first).
    unsafe { (*task).flags &= !bindings::PF_SYSLET_HANDOFF };
    true
}

/// `execve()` ended with `ret` in `task` (current), after
/// [`syslet_exec_begin`] returned `disarmed`. A successful exec frees the
/// threadlet record (the head belongs to the old program: the new one
/// starts with no threadlet on); a failed one arms it again, and the
/// threadlet goes on.
///
/// # Safety
///
/// `task` must be a live task; nothing is done unless it is current.
#[no_mangle]
pub unsafe extern "C" fn syslet_exec_end(task: *mut bindings::task_struct, disarmed: bool, ret: c_int) {
    if !disarmed || task != current() {
        return;
    }
    // SAFETY: current's own flags.
    unsafe { (*task).flags |= bindings::PF_SYSLET_HANDOFF };
    if ret >= 0 {
        end_without_parking();
    }
}

/// Frees the record of a task that exits in a threadlet.
pub(crate) fn task_exit(tsk: *mut bindings::task_struct) {
    if tsk == current() {
        end_without_parking();
    }
}

/// Ends the current task's threadlet where its task will not park as a
/// spare (it exits, or `execve()` replaced its program). If the head had
/// moved, the task carried the place in the process's thread count of the
/// spare that took it ([`spare`], `Spare::serve`): it gives it back, as
/// `become_spare()` does for a task that will not park. Otherwise the
/// count stays one too high for good, and the exit of the program's last
/// user thread would take another user thread for an engine thread and
/// end the process under it ([`crate::exit`]).
fn end_without_parking() {
    if let Some(t) = take() {
        if t.armed.handed() {
            t.armed.process.shared.spare_done();
        }
    }
}

/// Body of `sys_threadlet_on()`.
#[no_mangle]
pub extern "C" fn syslet_rs_threadlet_on(flags: usize) -> isize {
    crate::to_syscall_ret(threadlet_on(flags))
}

/// Body of `sys_threadlet_off()`.
#[no_mangle]
pub extern "C" fn syslet_rs_threadlet_off() -> isize {
    crate::to_syscall_ret(threadlet_off())
}
