// SPDX-License-Identifier: GPL-2.0

//! The parked group leader.
//!
//! The thread group leader keeps its TID when its user context moves to
//! a spare ([`crate::handoff`], "Thread ids"): `wait()`, `waitid()` and
//! job control find a process by it. So it never takes over another
//! context, which would then run under the leader's TID: it parks here
//! until the process ends ([`park`]), and the main thread's context runs
//! under the TID of the spare that took it (the *main flow*; its TID
//! follows it through later handoffs, which exchange TIDs).
//!
//! While parked it
//! - serves job control, the freezer and task work;
//! - sends the signals queued for its own TID on to the main flow
//!   (`syslet_forward_signals()`): `tgkill()` and `pthread_kill()` of the
//!   main thread address the TID glibc knows for it, and glibc's
//!   `setuid()` and friends signal every thread and wait for each to
//!   answer (SIGSETXID), so a signal left with the leader hung them;
//! - ends the process when no thread is left but the engine's own (the
//!   last user thread ended with `SYS_exit`), as the exit of a stock
//!   process's last thread would: with status 0, the leader's own
//!   `pthread_exit()` ([`crate::threads`]).
//!
//! What still belongs to the leader task and not to the main flow
//! (credentials as `/proc/<pid>/status` shows them, `comm`, PI futexes
//! held under the old TID, ...) is issue #17 (Documentation/handoff.md).

use crate::{
    engine,
    pool::Process,
    prim::{msecs_to_jiffies, PidRef},
    spare::exit_thread,
};
use kernel::bindings;

/// How often a parked leader looks for signals and user threads.
const POLL_MSECS: u32 = 50;

impl Process {
    /// The group leader's context now runs under `pid` (the spare that
    /// took it): the parked leader forwards its signals there.
    pub(crate) fn main_flow_moved(&self, pid: PidRef) {
        // The old reference, if any (a leader of a program before its
        // `execve()`), is put after the lock.
        let _old = self.inner.lock().main_flow.replace(pid);
    }

    /// Takes the main flow's TID (the parked leader, once).
    fn take_main_flow(&self) -> Option<PidRef> {
        self.inner.lock().main_flow.take()
    }
}

/// The group leader's user context has moved: it sleeps until the
/// process ends (module documentation).
pub(crate) fn park() -> ! {
    // SAFETY: process context.
    unsafe { bindings::syslet_block_signals() };
    let mut main_flow: Option<PidRef> = None;
    loop {
        // SAFETY: process context, no lock held.
        unsafe { bindings::schedule_timeout_interruptible(msecs_to_jiffies(POLL_MSECS) as _) };
        if engine::fatal_signal_pending() {
            drop(main_flow);
            exit_thread();
        }
        if let Ok(process) = Process::borrow_current() {
            if process.only_engine_threads_left() {
                drop(main_flow);
                // SAFETY: process context, no lock or reference held; ends
                // every thread of the group.
                unsafe { bindings::do_group_exit(0) };
            }
            // The spare that took the context sets it once it runs it:
            // until then signals wait here.
            if main_flow.is_none() {
                main_flow = process.take_main_flow();
            }
        }
        if let Some(to) = &main_flow {
            // SAFETY: process context, no lock held; `to` holds a
            // reference to its `struct pid`.
            unsafe { bindings::syslet_forward_signals(to.as_ptr()) };
        }
        // SAFETY: `ksignal` is plain data; zero is a valid value.
        let mut ksig: bindings::ksignal = unsafe { core::mem::zeroed() };
        // SAFETY: every signal but SIGKILL and SIGSTOP is blocked (the
        // hook did it): get_signal() handles stops, freezing, task work.
        unsafe { bindings::get_signal(&mut ksig) };
    }
}
