// SPDX-License-Identifier: GPL-2.0

//! `async_exec()` and `async_wait()`, the system calls: where a chain
//! runs, and waiting for completions.
//!
//! # Where a chain runs
//!
//! `async_exec()` hands the chain to an async thread of the calling
//! process ([`pool`](crate::pool)) and waits. Whichever comes first
//! decides what the caller sees:
//!
//! * the chain finishes: `async_exec()` returns the address of its last
//!   atom, and nothing is posted to the ring (it did not go asynchronous);
//! * the async thread is about to sleep in an atom (it blocked), or reaches
//!   an atom flagged `SYSLET_ASYNC`, or the caller gets a signal: the chain
//!   is *detached*. `async_exec()` returns NULL; the async thread finishes
//!   the chain and posts its last atom to the completion ring.
//!
//! That is the "simple model": a thread switch per chain. It is the
//! fallback. The normal path is the cachemiss handoff
//! ([`handoff`](crate::handoff)): the caller runs the chain itself, and
//! only when an atom blocks does a spare thread take over its user
//! context and return NULL, while the caller finishes the chain and
//! posts it. The simple model runs the chains of callers whose context
//! cannot move ([`eligible::can_hand_off`]).
//!
//! A chain runs inline in the caller, never going asynchronous, when the
//! caller is under seccomp filtering (the filter then applies as to a
//! direct call) or when the process already has `syslet_max_threads`
//! async threads busy; `SYSLET_ASYNC` then fails with `-EAGAIN`
//! (`-EOPNOTSUPP` under seccomp).

use crate::{
    abi::{self, AsyncHead},
    eligible,
    engine::{run_chain, Inline},
    handoff, prim,
    process::Process,
    threadlet, trace,
    worker::Submitted,
};
use core::mem::MaybeUninit;
use kernel::prelude::*;

/// `async_exec(atom, ahu)`: runs the chain that starts at `atom`.
///
/// Returns the user address of the atom the chain ended at, or 0 when it
/// went asynchronous. Errors (synchronous chains only): `EFAULT` for an
/// unreadable head, ring slot, atom or argument or an unwritable `ret_ptr`
/// (atoms before it have run); `EINVAL` for bad flags or ring geometry;
/// `EAGAIN`/`EOPNOTSUPP` for `SYSLET_ASYNC` when the chain must run
/// inline; `EINTR` when a fatal signal ends the chain.
pub(crate) fn async_exec(first: usize, ahu: usize) -> Result<usize> {
    // Bad heads, rings and first atoms fail here, before any thread is
    // involved.
    let mut buf = MaybeUninit::uninit();
    let first_atom = abi::read_submission(ahu, first, &mut buf)?;
    // Under seccomp the chain runs inline, where the filter applies to
    // each atom exactly as to a direct call (a thread cloned from this
    // task would carry its filter to other submitters' work).
    let seccomp = prim::under_seccomp();
    // Inside a threadlet the chain runs inline too: blocking moves the
    // threadlet's head, not this call.
    let nested = threadlet::armed();
    if !seccomp && !nested && eligible::can_hand_off() {
        return handoff::exec(Process::borrow_current()?, first, first_atom, ahu);
    }
    // No async thread to be had (the cap, or creating one failed:
    // RLIMIT_NPROC, memory): the chain runs inline.
    let worker = if seccomp || nested {
        None
    } else {
        Process::of_current().and_then(|p| p.workers.get()).unwrap_or(None)
    };
    trace::submit(first, ahu, worker.is_none());
    let end = match worker.map(|w| w.submit(first, ahu)).transpose()? {
        Some(Submitted::Detached) => return Ok(0),
        Some(Submitted::Finished(end)) => end,
        // No async thread to be had (all busy, or the one we got was
        // exiting), or seccomp: run inline.
        Some(Submitted::Refused) | None => {
            let error = if seccomp { crate::eopnotsupp() } else { EAGAIN };
            let end = run_chain(first, Some(first_atom), &Inline { error });
            if let Ok(p) = Process::borrow_current() {
                p.shared.stats.chain_inline(end.atoms);
            }
            end
        }
    };
    trace::complete(end.last, &end.result, false);
    end.result.map(|()| end.last)
}

/// `async_wait(min_wait_events, user_ring_idx, ahu)`: waits until at least
/// `min_wait_events` completions lie in the ring past `user_ring_idx`, and
/// returns how many do.
///
/// Errors: `EFAULT`/`EINVAL` for the head as in `async_exec()`; `EINVAL`
/// when `min_wait_events` exceeds the ring's slots (it could never be
/// met); `ERESTARTSYS` when a signal arrives first.
pub(crate) fn async_wait(min: usize, user_idx: usize, ahu: usize) -> Result<usize> {
    let head = AsyncHead::read(ahu)?;
    if min > head.slots {
        return Err(EINVAL);
    }
    let process = Process::of_current()?;
    loop {
        let seen = process.shared.posts();
        let head = AsyncHead::read(ahu)?;
        let ready = crate::ring::pending(head.kernel_ring_idx, user_idx);
        if ready >= min {
            return Ok(ready);
        }
        // Sleeps until a completion is posted in this process, a signal,
        // or 10 ms (another thread may advance the index itself).
        if process.shared.wait_for_post(seen) {
            return Err(ERESTARTSYS);
        }
    }
}

/// Body of `sys_async_exec()`.
#[no_mangle]
pub extern "C" fn syslet_rs_async_exec(atom: usize, ahu: usize) -> isize {
    crate::to_syscall_ret(async_exec(atom, ahu).map(|a| a as isize))
}

/// Body of `sys_async_wait()`.
#[no_mangle]
pub extern "C" fn syslet_rs_async_wait(min_wait_events: usize, user_ring_idx: usize, ahu: usize) -> isize {
    crate::to_syscall_ret(async_wait(min_wait_events, user_ring_idx, ahu).map(|n| n as isize))
}
