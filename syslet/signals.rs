// SPDX-License-Identifier: GPL-2.0

//! Signals of the engine's own tasks: async threads, parked spares and
//! tasks carrying a chain whose user context moved. None of them has a user context to deliver a signal to; each
//! runs with every signal but SIGKILL and SIGSTOP blocked, and lets
//! `get_signal()` do what such a signal asks of it: stop for job control,
//! freeze, run task work, or (for SIGKILL) report that the task dies.
//! [`take`] is the one place that calls `get_signal()`.

use crate::prim;
use kernel::bindings;

/// Lets `get_signal()` handle what is pending for the current task, whose
/// signals are blocked but SIGKILL and SIGSTOP: stops, the freezer, task
/// work. Returns true for a fatal signal, which `get_signal()` hands back
/// only to an io thread (an async thread, which then exits on its own);
/// for a user thread it does not return then.
pub(crate) fn take() -> bool {
    // SAFETY: `ksignal` is plain data; zero is a valid value.
    let mut ksig: bindings::ksignal = unsafe { core::mem::zeroed() };
    // SAFETY: process context (every caller is a task's own loop, with no
    // lock and no reference it would leak held); with every other signal
    // blocked, `get_signal()` only stops, freezes or ends the task.
    unsafe { bindings::get_signal(&mut ksig) }
}

/// For a task that has no user context of its own (a task carrying a
/// detached chain, an async thread): with every signal but SIGKILL and
/// SIGSTOP blocked (a `ppoll()` atom's temporary mask is dropped), lets
/// `get_signal()` stop it for job control or the freezer and run its task
/// work, so that a pending stop never makes a loop spin. Returns whether
/// the task is dying (`get_signal()` does not return to an ordinary task
/// for SIGKILL; an async thread exits on its own). The caller holds no
/// lock and no reference it would leak.
pub(crate) fn serve_stops() -> bool {
    // SAFETY: process context; blocks the current task's signals and
    // clears a pending mask restore.
    unsafe { bindings::syslet_block_signals() };
    if prim::fatal_signal_pending() {
        return true;
    }
    if !prim::signal_pending() {
        return false;
    }
    take()
}
