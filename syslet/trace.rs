// SPDX-License-Identifier: GPL-2.0

//! Tracepoints: `syslet:syslet_submit`, `syslet:syslet_async`,
//! `syslet:syslet_complete` ([`include/trace/events/syslet.h`](srctree/include/trace/events/syslet.h)).
//!
//! Tracepoints are C static inlines, so each is emitted through a one-line
//! C wrapper in `trace.c`. The wrapper is only called when the tracepoint
//! is enabled (its static key's count, read here), so a disabled one
//! costs a load and a branch.

#[cfg(CONFIG_TRACEPOINTS)]
use core::ptr;
use kernel::{bindings, prelude::*};

/// Whether the tracepoint `tp` is enabled (`static_key_enabled()`).
#[cfg(CONFIG_TRACEPOINTS)]
#[inline(always)]
fn enabled(tp: *const bindings::tracepoint) -> bool {
    // SAFETY: `tp` is one of this file's static tracepoints, which live
    // forever; `enabled` is an atomic_t, read once.
    unsafe { ptr::read_volatile(ptr::addr_of!((*tp).key.enabled.counter)) > 0 }
}

/// Whether a tracepoint is enabled, by name (`false` without
/// `CONFIG_TRACEPOINTS`, where the C wrappers are empty and the
/// tracepoints do not exist).
macro_rules! on {
    ($tp:ident) => {{
        #[cfg(CONFIG_TRACEPOINTS)]
        let on = enabled(ptr::addr_of!(bindings::$tp));
        #[cfg(not(CONFIG_TRACEPOINTS))]
        let on = false;
        on
    }};
}

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
#[inline]
pub(crate) fn submit(atom: usize, ahu: usize, inline: bool) {
    if !on!(__tracepoint_syslet_submit) {
        return;
    }
    // SAFETY: a tracepoint wrapper; plain values.
    unsafe { bindings::syslet_trace_submit(atom, ahu, inline) }
}

/// A chain went asynchronous.
pub(crate) fn went_async(atom: usize, reason: AsyncReason) {
    // SAFETY: as above; callable from the scheduler hook (no sleeping).
    unsafe { bindings::syslet_trace_async(atom, reason as i32) }
}

/// A chain ended with `result`: returned to the caller, or `posted`.
#[inline]
pub(crate) fn complete(atom: usize, result: &Result, posted: bool) {
    if !on!(__tracepoint_syslet_complete) {
        return;
    }
    let error = match result {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    };
    // SAFETY: the C tracepoint wrapper takes plain values and never
    // sleeps.
    unsafe { bindings::syslet_trace_complete(atom, error, posted) }
}
