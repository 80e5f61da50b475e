// SPDX-License-Identifier: GPL-2.0

//! Waiting for a state kept under a raw spinlock.
//!
//! The state the scheduler hooks change (a spare's, a worker's slot) is
//! under [`RawSpinLock`]s: a `spinlock_t` sleeps on PREEMPT_RT, and the
//! hooks run inside `sched_submit_work()`. A `CondVar` can be neither
//! waited on nor notified under such a lock, because its wait queue is
//! guarded by a `spinlock_t` (lockdep's `PROVE_RAW_LOCK_NESTING` says so).
//!
//! Each such state has at most one waiter at a time (a spare's thread, the
//! task that spawned it, a worker's thread, its submitter), so a
//! [`Waiter`] kept in the locked data names it, and whoever changes the
//! state calls [`Waiter::wake`] under the same lock: `wake_up_process()`
//! takes only raw locks.
//!
//! # Invariants
//!
//! A [`Waiter`] is non-null only while the task it names is inside
//! [`wait`], between setting it and clearing it, both under the lock that
//! guards it: whoever reads it under that lock sees a live task.

use crate::prim::{current, signal_pending};
use core::ptr;
use kernel::{
    bindings,
    sync::{
        lock::{raw_spinlock::RawSpinLockBackend, Guard},
        RawSpinLock,
    },
};

/// The task waiting for a change of the state it is kept with.
pub(crate) struct Waiter(*mut bindings::task_struct);

// SAFETY: only read and written under the lock of the data it lives in,
// and the task it names is alive while it is set (see the invariants).
unsafe impl Send for Waiter {}

impl Waiter {
    pub(crate) const fn new() -> Waiter {
        Waiter(ptr::null_mut())
    }

    /// Wakes the waiting task, if there is one. Call with the lock of the
    /// data `self` lives in held, after changing that data.
    pub(crate) fn wake(&self) {
        if !self.0.is_null() {
            // SAFETY: by the invariants the task is alive while it is set
            // and the lock is held; `wake_up_process()` takes raw locks
            // only and may be called from any context.
            unsafe { bindings::wake_up_process(self.0) };
        }
    }
}

/// How [`wait`] ended.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Woke {
    /// Woken (or spuriously): look at the state again.
    Woken,
    /// `timeout` jiffies passed.
    Timeout,
    /// A signal is pending.
    Signal,
}

/// No time limit, for [`wait`].
pub(crate) const MAX_SCHEDULE_TIMEOUT: isize = isize::MAX;

/// Records the current task in the [`Waiter`] `waiter` picks out of the
/// data, marks it `state`, releases `guard`, sleeps for at most `timeout`
/// jiffies, and returns the lock held again with the waiter cleared, and
/// the jiffies left. No wake-up is lost: the task is marked sleeping
/// before the lock is released, and a wake after that makes the sleep
/// return at once.
fn sleep<'a, T>(
    lock: &'a RawSpinLock<T>,
    mut guard: Guard<'a, T, RawSpinLockBackend>,
    waiter: fn(&mut T) -> &mut Waiter,
    state: u32,
    timeout: isize,
) -> (Guard<'a, T, RawSpinLockBackend>, isize) {
    waiter(&mut *guard).0 = current();
    // SAFETY: marks the current task sleeping, with the barrier that
    // orders it before the unlock below.
    unsafe { bindings::set_current_state(state) };
    drop(guard);
    // SAFETY: process context, no lock held; returns with the task
    // running, at once if it was woken since (or, interruptible, if a
    // signal is pending).
    let left = unsafe { bindings::schedule_timeout(timeout) };
    let mut guard = lock.lock();
    waiter(&mut *guard).0 = ptr::null_mut();
    (guard, left as isize)
}

/// Sleeps, interruptibly and for at most `timeout` jiffies
/// ([`MAX_SCHEDULE_TIMEOUT`]: no limit), until the state of `lock`
/// changes; see [`sleep`].
pub(crate) fn wait<'a, T>(
    lock: &'a RawSpinLock<T>,
    guard: Guard<'a, T, RawSpinLockBackend>,
    waiter: fn(&mut T) -> &mut Waiter,
    timeout: isize,
) -> (Guard<'a, T, RawSpinLockBackend>, Woke) {
    let (guard, left) = sleep(lock, guard, waiter, bindings::TASK_INTERRUPTIBLE, timeout);
    let woke = if signal_pending() {
        Woke::Signal
    } else if left == 0 {
        Woke::Timeout
    } else {
        Woke::Woken
    };
    (guard, woke)
}

/// [`wait`] with no time limit that does not care how it ended: for a
/// wait whose caller only looks at the state again.
pub(crate) fn wait_uninterruptible<'a, T>(
    lock: &'a RawSpinLock<T>,
    guard: Guard<'a, T, RawSpinLockBackend>,
    waiter: fn(&mut T) -> &mut Waiter,
) -> Guard<'a, T, RawSpinLockBackend> {
    sleep(lock, guard, waiter, bindings::TASK_UNINTERRUPTIBLE, MAX_SCHEDULE_TIMEOUT).0
}
