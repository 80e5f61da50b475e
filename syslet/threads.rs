// SPDX-License-Identifier: GPL-2.0

//! The count of a process's engine threads.
//!
//! One bound, `kernel.syslet_max_threads`, covers every thread the engine
//! makes for a process: async threads ([`crate::worker`]), spares
//! ([`crate::spare`]) and the tasks carrying chains whose context moved
//! to a spare (each takes over the place of the spare it gave its
//! context to). The same count tells the exit of a thread when only the
//! engine's threads are left ([`Shared::no_user_threads_left`]).
//!
//! # Invariants
//!
//! `SharedInner::spares_alive + alive` never exceeds the engine threads
//! `signal->live` holds: a new thread counts itself in its first step
//! (until then its place is `starting`, bounded but not counted), and an
//! exiting one is uncounted before `live` drops it (a spare in the
//! `do_exit()` hook, an async thread at the end of `worker_main`). All
//! counts are under `Shared::inner`. No engine thread ends inside a job
//! without passing there: a task carrying another context's chain runs
//! no seccomp filter of its own (`invoke::seccomp_check`), and the calls
//! that end a thread are refused in chains.

use crate::{
    prim::{current, sysctl},
    shared::Shared,
};
use core::{ptr, sync::atomic::Ordering};
use kernel::bindings;

impl Shared {
    /// Reserves a place for one more engine thread; false at
    /// `syslet_max_threads`, which bounds every thread the engine makes
    /// for a process: async threads, spares, and the tasks carrying chains
    /// whose context moved to a spare (each takes over the count of the
    /// spare it gave its context to). The place is `starting` until the
    /// new thread runs ([`Shared::thread_started`]) or is not made
    /// ([`Shared::thread_not_started`]).
    pub(crate) fn reserve_thread(&self) -> bool {
        let max = sysctl(ptr::addr_of!(bindings::sysctl_syslet_max_threads)) as usize;
        let mut inner = self.inner.lock();
        if inner.spares_alive + inner.alive + inner.starting >= max {
            return false;
        }
        inner.starting += 1;
        true
    }

    /// The thread a place was reserved for runs: it is in `signal->live`
    /// now, and counts as a spare or an async thread from here on.
    pub(crate) fn thread_started(&self, spare: bool) {
        let mut inner = self.inner.lock();
        inner.starting = inner.starting.saturating_sub(1);
        if spare {
            inner.spares_alive += 1;
        } else {
            inner.alive += 1;
            inner.peak = inner.peak.max(inner.alive);
        }
    }

    /// The thread a place was reserved for was not made.
    pub(crate) fn thread_not_started(&self) {
        let mut inner = self.inner.lock();
        inner.starting = inner.starting.saturating_sub(1);
    }

    /// Whether every live thread of the process is a thread of the
    /// engine, none of them running a threadlet function. Asked by a
    /// thread that has left `signal->live` (the `do_exit()` hook after the
    /// decrement, [`crate::exit`]): the last user thread to leave, or an
    /// engine thread that leaves after it, finds it true; and by the task
    /// of a threadlet whose head moved, when its function has ended
    /// ([`crate::threadlet`]).
    ///
    /// Never true while a user thread lives: an engine thread is counted
    /// from its own first step, after `copy_process()` put it in `live`,
    /// and uncounted before `live` drops it (a spare in the `do_exit()`
    /// hook, an async thread at the end of `worker_main`), and `live` is
    /// read under the lock that orders those steps, so the count never
    /// exceeds the engine threads `live` holds. A spare that took a
    /// context and has not applied it yet counts as a user thread: the
    /// task it came from carries its place. (Counted from the
    /// reservation, a thread being made looked like one, and a process
    /// whose one user thread looped in a chain ended with status 0: fuzz
    /// seed 20261202, iteration 985. Read before the lock, `live` could
    /// miss a thread that counted itself in between.)
    pub(crate) fn no_user_threads_left(&self) -> bool {
        let inner = self.inner.lock();
        // SAFETY: `current`'s signal_struct. `live` is an atomic_t; under
        // `inner` no engine thread counts or uncounts itself, and a user
        // thread starting or ending only makes the answer false now and
        // right at the next look.
        let live = unsafe { ptr::read_volatile(ptr::addr_of!((*(*current()).signal).live.counter)) };
        live >= 1 && live as usize == inner.spares_alive + inner.alive && self.threadlets.load(Ordering::Acquire) == 0
    }

    /// The current task, a thread that is not the engine's, exits with
    /// `do_exit()` code `code`.
    pub(crate) fn user_thread_exited(&self, code: core::ffi::c_long) {
        self.last_exit.store(code as i32, Ordering::Relaxed);
    }

    /// The code of a process whose user threads have all ended, which
    /// the engine's threads would keep alive: the `do_exit()` code of the
    /// user thread that exited last, as on stock Linux, where the last
    /// thread to exit sets the group's code (`synchronize_group_exit()`).
    /// A seccomp `KILL_THREAD` verdict for the last thread so ends the
    /// process by SIGSYS, as on stock Linux, where `signal->live` is one
    /// then (without the core dump). (Relaxed: on x86 the exit's store is
    /// seen before its `live` decrement, a locked instruction, which the
    /// reader reads first.)
    pub(crate) fn user_exit_code(&self) -> core::ffi::c_int {
        self.last_exit.load(Ordering::Relaxed)
    }

    /// A spare thread (or a task carrying a chain) stopped being one.
    /// Saturating: a claimed spare killed before it took its context and
    /// the task that gave it both give the place up (the process is dying).
    pub(crate) fn spare_done(&self) {
        let mut inner = self.inner.lock();
        inner.spares_alive = inner.spares_alive.saturating_sub(1);
    }
}
