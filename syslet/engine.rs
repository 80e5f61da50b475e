// SPDX-License-Identifier: GPL-2.0

//! `async_exec()` and `async_wait()`.
//!
//! # What runs where (this stage)
//!
//! The engine runs a chain *inline*, in the submitting task, atom by atom:
//! read the atom, run it (`invoke`), store its result through `ret_ptr`,
//! pick the next atom (`chain`). A chain that finishes this way has not
//! gone asynchronous: `async_exec()` returns the address of its last atom
//! and nothing is posted to the completion ring.
//!
//! Async threads (an atom that blocks continues on a thread of the
//! process, the caller gets NULL back, the completion is posted to the
//! ring) are not built yet. Until they are, an atom that blocks blocks the
//! caller, exactly like `SYSLET_SYNC`, and an atom flagged `SYSLET_ASYNC`,
//! which asks for what cannot be given yet, makes `async_exec()` fail with
//! `-EOPNOTSUPP` before that atom runs. Nothing is ever posted to the ring
//! by this stage, so `async_wait()` only validates its arguments, returns
//! at once when user space already sees `min_wait_events` completions, and
//! otherwise sleeps until a signal.
//!
//! # Bounds
//!
//! A chain may loop forever (`next` pointing back): the engine checks for
//! a fatal signal and yields the CPU (`cond_resched()`) after every atom,
//! so such a chain costs CPU time like a user loop of system calls and
//! ends with the process.

use crate::{
    abi::{flags, AsyncHead, Atom},
    chain::{self, Next},
    invoke,
};
use core::mem::size_of;
use kernel::{bindings, prelude::*, uaccess::UserSlice};

fn fatal_signal_pending() -> bool {
    // SAFETY: `current` is always a valid task.
    unsafe { bindings::fatal_signal_pending(bindings::get_current()) != 0 }
}

/// `async_exec(atom, ahu)`: runs the chain that starts at `atom`.
///
/// Returns the user address of the atom the chain ended at. Errors:
/// `EFAULT` for an unreadable head, atom or argument, or an unwritable
/// `ret_ptr` (atoms before it have run and stored their results);
/// `EINVAL` for bad flags or ring geometry; `EOPNOTSUPP` at an atom
/// flagged `SYSLET_ASYNC`; `EINTR` when a fatal signal arrives between
/// atoms.
pub(crate) fn async_exec(first: usize, ahu: usize) -> Result<usize> {
    AsyncHead::read(ahu)?;
    let mut addr = first;
    loop {
        let atom = Atom::read(addr)?;
        if atom.flags & flags::ASYNC != 0 {
            return Err(crate::eopnotsupp());
        }
        let ret = invoke::run(&atom)?;
        if atom.ret_ptr != 0 {
            UserSlice::new(atom.ret_ptr, size_of::<isize>()).writer().write(&ret)?;
        }
        match chain::next(addr, &atom, ret)? {
            Next::End => return Ok(addr),
            Next::Atom(n) => addr = n,
        }
        if fatal_signal_pending() {
            return Err(EINTR);
        }
        // SAFETY: process context, no lock held.
        unsafe { bindings::cond_resched() };
    }
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
    loop {
        let head = AsyncHead::read(ahu)?;
        let ready = crate::ring::pending(head.kernel_ring_idx, user_idx);
        if ready >= min {
            return Ok(ready);
        }
        // SAFETY: `current` is always a valid task.
        if unsafe { bindings::signal_pending(bindings::get_current()) } != 0 {
            return Err(ERESTARTSYS);
        }
        // Nothing in this stage posts completions, so there is no wake-up
        // to wait for: poll the index (user space may advance it) every
        // 10 ms, interruptibly.
        // SAFETY: process context, no lock held.
        unsafe { bindings::schedule_timeout_interruptible(ring_poll_jiffies()) };
    }
}

/// How often `async_wait()` re-reads the ring index: every 10 ms.
fn ring_poll_jiffies() -> isize {
    // SAFETY: a pure conversion.
    unsafe { bindings::__msecs_to_jiffies(10) as isize }
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
