// SPDX-License-Identifier: GPL-2.0

//! The parked group leader.
//!
//! The thread group leader keeps its TID when its user context moves to
//! a spare ([`crate::handoff`], "Thread ids"): `wait()`, `waitid()` and
//! job control find a process by it. So it never takes over another
//! context, which would then run under the leader's TID: once it has
//! carried the rest of its chain it parks here until the process ends
//! ([`park`]). The main thread's context runs under the TID of the spare
//! that took it (the *main flow*, `signal->syslet_main_flow`, set by
//! `syslet_context_restore()`; the TID follows the context through later
//! handoffs, which exchange TIDs).
//!
//! # Signals for the main thread
//!
//! glibc keeps the leader's TID in the main thread's descriptor:
//! `pthread_kill()` of the main thread, and SIGSETXID, with which a
//! `setuid()` family call signals every thread and waits for each to
//! answer, address it. They are the context's:
//! - what was queued for the leader's TID when the context moved goes
//!   with it (`syslet_context_restore()`);
//! - `tgkill()`, `tkill()` and `rt_tgsigqueueinfo()` to the leader's TID
//!   go straight to the main flow (`syslet_signal_target()`, called by
//!   `do_send_specific()`, patches/0014), with the permission check
//!   against it;
//! - what other paths still queue for the leader's TID (a POSIX timer's
//!   `SIGEV_THREAD_ID`, a thread pidfd, `F_SETOWN_EX`) the parked leader
//!   sends on every [`POLL_MSECS`], siginfo unchanged
//!   (`syslet_forward_signals()`, at most 64 per poll);
//! - what the leader's own chain raised against it while it carried it
//!   (SIGPIPE, SIGXFSZ) is dropped when it parks, as every task carrying
//!   a chain drops it (Documentation/syslets.md).
//!
//! # The end of the process
//!
//! When no thread is left but the engine's own (the last user thread
//! ended with `SYS_exit`, or was killed alone by a seccomp `KILL_THREAD`
//! verdict), the leader ends the process as the exit of a stock
//! process's last thread would: with that thread's code
//! ([`Shared::user_exit_code`]).
//!
//! What still belongs to the leader task and not to the main flow
//! (credentials as `/proc/<pid>/status` shows them, `comm`, PI futexes
//! held under its TID, ...) is issue #17 (Documentation/handoff.md).

use crate::{
    prim::{self, exit_thread},
    shared::Shared,
    signals,
};
use kernel::{bindings, sync::ArcBorrow, time::msecs_to_jiffies};

/// How often a parked leader looks for signals and user threads.
const POLL_MSECS: u32 = 50;

/// At most this many signals forwarded per poll: a sender that refills
/// the queue cannot keep the leader on the CPU.
const FORWARD_BATCH: i32 = 64;

/// What a chain raises against the task that carries it: dropped when
/// the leader parks (Documentation/syslets.md), as any carrier drops it.
/// Anything else queued for its TID stays: a SIGKILL of `exit_group()`,
/// exec or a core dump, a timer's signal to forward.
const CHAIN_RAISED: [u32; 2] = [bindings::SIGPIPE, bindings::SIGXFSZ];

/// The group leader's user context has moved and its chain has ended: it
/// sleeps until the process ends (module documentation). `shared` is its
/// process's: borrowed, as the leader never returns to drop a reference.
pub(crate) fn park(shared: ArcBorrow<'static, Shared>) -> ! {
    let drop = CHAIN_RAISED.iter().fold(0usize, |m, &sig| m | 1 << (sig - 1));
    // SAFETY: process context.
    unsafe {
        bindings::syslet_block_signals();
        bindings::syslet_drop_own_signals(drop as _);
    }
    loop {
        // SAFETY: process context, no lock held.
        unsafe { bindings::schedule_timeout_interruptible(msecs_to_jiffies(POLL_MSECS) as _) };
        if prim::fatal_signal_pending() {
            exit_thread();
        }
        if shared.only_engine_threads_left() {
            let code = shared.user_exit_code();
            // SAFETY: process context, no lock or reference held; ends
            // every thread of the group.
            unsafe { bindings::do_group_exit(code) };
        }
        // SAFETY: process context, no lock held.
        unsafe { bindings::syslet_forward_signals(FORWARD_BATCH) };
        // Every signal but SIGKILL and SIGSTOP is blocked (the hook did
        // it): stops, freezing, task work.
        signals::take();
    }
}
