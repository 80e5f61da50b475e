// SPDX-License-Identifier: GPL-2.0

//! Tracepoints: `syslet:syslet_submit`, `syslet:syslet_async`,
//! `syslet:syslet_complete` ([`include/trace/events/syslet.h`](srctree/include/trace/events/syslet.h)).
//!
//! Tracepoints are C static inlines, so each is emitted through a one-line
//! C wrapper in `trace.c`; a disabled tracepoint costs that call.

use kernel::{bindings, prelude::*};

/// Why a chain went asynchronous (the `reason` field).
#[derive(Clone, Copy)]
pub(crate) enum AsyncReason {
    /// The async thread was about to sleep in an atom.
    Blocked = 0,
    /// An atom flagged `SYSLET_ASYNC`.
    AsyncFlag = 1,
    /// A signal to the submitter.
    Signal = 2,
}

/// `async_exec()` accepted a chain.
pub(crate) fn submit(atom: usize, ahu: usize, inline: bool) {
    // SAFETY: a tracepoint wrapper; plain values.
    unsafe { bindings::syslet_trace_submit(atom, ahu, inline) }
}

/// A chain went asynchronous.
pub(crate) fn went_async(atom: usize, reason: AsyncReason) {
    // SAFETY: as above; callable from the scheduler hook (no sleeping).
    unsafe { bindings::syslet_trace_async(atom, reason as i32) }
}

/// A chain ended with `result`: returned to the caller, or `posted`.
pub(crate) fn complete(atom: usize, result: &Result, posted: bool) {
    let error = match result {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    };
    // SAFETY: as above.
    unsafe { bindings::syslet_trace_complete(atom, error, posted) }
}
