// SPDX-License-Identifier: GPL-2.0

//! The cachemiss handoff: no thread switch unless a call really blocks.
//!
//! C glue: [`syslet/handoff.c`](srctree/syslets/syslet/handoff.c) (the
//! register frame, FPU, FS/GS, signals, TIDs); hooks in
//! `sched_submit_work()` and `do_exit()` (patches/0004).
//!
//! # The idea
//!
//! `async_exec()` runs the chain in the calling task T. While an atom's
//! system call runs, T is *armed*: `PF_SYSLET_HANDOFF` is set and
//! `worker_private` points to an [`Armed`] record on T's stack. If the call
//! sleeps, `sched_submit_work()` calls [`syslet_task_sleeping`], which
//! hands T's user context (the register frame of its `async_exec()` call,
//! FPU state, FS/GS bases, signal mask and the per-thread user pointers)
//! to a *spare thread* S and wakes it. S returns to user space as if
//! `async_exec()` had returned NULL; T sleeps on, finishes the chain,
//! posts its completion to the ring and becomes a spare thread itself. A
//! chain that never blocks costs the system calls and nothing else.
//!
//! Threadlets use the same move with a register frame saved by
//! `threadlet_on()` ([`crate::threadlet`]), and fs/aio.c's buffered
//! writes with `io_submit()`'s frame ([`run_armed`], `aio/`), whose
//! context returns the count of iocbs submitted rather than 0.
//!
//! # Spare threads
//!
//! Parked user threads of the process that take contexts: see
//! [`crate::spare`].
//!
//! # Thread ids
//!
//! The TID follows the user context (`exchange_tids()`, as exec does): the
//! caller's `gettid()` does not change across a handoff, so
//! `pthread_kill()`, PI and robust futexes (whose words hold TIDs) and
//! `clear_child_tid` keep working; T goes on under S's old TID. The
//! group leader's context takes the leadership with it, as exec's
//! `de_thread()` moves it: the TGID, process group and session links,
//! the process list and parent's `children` entries, the exit signal,
//! the name and start time, and the Yama relations, under the lock rule
//! of Documentation/handoff.md ("The group leader"), in the spare's
//! `syslet_context_restore()`. So the main flow keeps `gettid() ==
//! getpid()`, and `wait()`, job control and `/proc/<pid>` see the same
//! process; the task it came from is an ordinary thread from then on and
//! parks as a spare. `getpid()` never changes.
//!
//! # When there is no handoff
//!
//! Decided by [`crate::eligible`]: before the chain runs, with the engine's
//! async-thread model as the fallback: a ptraced task, an RT or deadline
//! task, a PI-futex or rt-mutex owner, a vfork child, an io_uring user, a
//! compat task or one with FS/GS selectors, AMX-style dynamic FPU state
//! or a user shadow stack. Decided in the hook, the atom then simply
//! blocks in the caller: a signal already pending (it is delivered when
//! `async_exec()` returns), no parked spare, or a spare with other
//! credentials, seccomp filters or `no_new_privs` than the caller's.
//!
//! # Locks
//!
//! The hook takes `SparePool::parked` and, under it, a spare's lock, both
//! raw spinlocks ([`crate::spare`]); neither is held while
//! `syslet_context_save()` (C) takes `siglock`. It never
//! sleeps, never allocates and never drops a last reference: the spare
//! it took is kept in [`Armed`] and released in process context.
//!
//! `siglock` is a `spinlock_t`, which on PREEMPT_RT is a sleeping lock:
//! the hook may block on it inside `sched_submit_work()`. That is the case
//! every `spinlock_t` user between `set_current_state()` and `schedule()`
//! is in, and PREEMPT_RT keeps the task's state across such a wait
//! (`saved_state`); `sched_submit_work()` declares an `LD_WAIT_CONFIG`
//! context, which lockdep checks: what may not be taken there is a lock
//! that sleeps on every configuration (a mutex), which would recurse into
//! the hook.

use crate::{
    eligible,
    engine::Runner,
    process::Process,
    prim::{self, current},
    signals,
    spare::{become_spare, ensure_spare, Spare},
    task::{self, Kind, Tag},
    trace::{self, AsyncReason},
    tuning::hot_chain,
};
use core::{cell::Cell, ptr};
use kernel::{
    bindings,
    prelude::*,
    sync::{Arc, ArcBorrow},
};
#[cfg(CONFIG_SYSLET_AIO)]
use kernel::{task::Task, types::ARef};

/// The record a task is armed with (see the module documentation).
#[repr(C)]
pub(crate) struct Armed {
    /// Its kind: a chain's, a threadlet's or an aio write's
    /// ([`crate::task`]).
    tag: Tag,
    /// Borrowed: see [`Process::borrow_current`].
    pub(crate) process: ArcBorrow<'static, Process>,
    /// The user register frame to hand over; null for the frame of the
    /// current system call (found when needed, off the hot path).
    regs: *const bindings::pt_regs,
    /// First atom of the chain (0 for a threadlet), for tracing.
    first: usize,
    /// The address space the context belongs to: after an execve() in a
    /// threadlet, its head is meaningless.
    mm: *mut bindings::mm_struct,
    /// Whether a handoff may happen at all.
    enabled: bool,
    /// The process's identity generation when the chain started
    /// ([`crate::identity`]).
    identity: u64,
    /// The user context has gone to a spare thread.
    handed: Cell<bool>,
    /// The spare it went to: the hook never drops a reference.
    taken: Cell<Option<Arc<Spare>>>,
    /// What the system call returns to the context once it has moved: 0
    /// (`async_exec()`'s NULL, `threadlet_on()`'s "not done"), or for an
    /// aio write (`aio/`) the count `io_submit()` returns.
    user_ret: isize,
}

// SAFETY: `Armed` is `#[repr(C)]` and begins with its `Tag`; every record
// installed with one of these kinds is an `Armed` (`Armed::arm()`; a
// threadlet's is the first field of its `#[repr(C)]` `Threadlet`).
unsafe impl task::Recorded for Armed {
    fn of_kind(kind: Kind) -> bool {
        matches!(kind, Kind::Chain | Kind::Threadlet | Kind::AioWrite)
    }
}

impl Armed {
    pub(crate) fn new(
        kind: Kind,
        process: ArcBorrow<'static, Process>,
        regs: *const bindings::pt_regs,
        first: usize,
        enabled: bool,
    ) -> Armed {
        // SAFETY: reads `current`'s own field.
        let mm = unsafe { (*current()).mm };
        let identity = process.shared.identity.now();
        Armed {
            tag: Tag(kind),
            process,
            regs,
            first,
            mm,
            enabled,
            identity,
            handed: Cell::new(false),
            taken: Cell::new(None),
            user_ret: 0,
        }
    }

    /// Whether this is a threadlet's record (boxed), not a chain's or an
    /// aio write's.
    pub(crate) fn is_threadlet(&self) -> bool {
        self.tag.0 == Kind::Threadlet
    }

    /// Whether this is a threadlet's record left over from before an
    /// `execve()` in its task (current): its head belongs to the old
    /// program.
    pub(crate) fn stale_threadlet(&self) -> bool {
        // SAFETY: `current`'s own `mm`.
        self.is_threadlet() && self.mm != unsafe { (*current()).mm }
    }

    /// Whether the user context has gone to a spare thread.
    pub(crate) fn handed(&self) -> bool {
        self.handed.get()
    }

    /// Sets `PF_SYSLET_HANDOFF` with `self` as the current task's record.
    ///
    /// # Safety
    ///
    /// `self` must stay where it is until [`Armed::disarm`] is called.
    pub(crate) unsafe fn arm(&self) {
        // SAFETY: the current task; chains and threadlets arm in user
        // tasks, which have no other record, and aio writes check the
        // task's flags. `tag` is the first field of `self` (`repr(C)`),
        // which the caller keeps where it is while it is armed.
        unsafe { task::install(current(), &self.tag, bindings::PF_SYSLET_HANDOFF) };
    }

    /// Clears what [`Armed::arm`] set.
    pub(crate) fn disarm() {
        task::uninstall(bindings::PF_SYSLET_HANDOFF);
    }

    /// Moves the user context to a parked spare thread and wakes it.
    /// Runs in the task that owns `self`, from the scheduler hook or in
    /// process context; never sleeps or allocates.
    fn hand_over(&self, reason: AsyncReason) -> bool {
        let t = current();
        // SAFETY: reads `current`'s own fields.
        if !self.enabled
            || self.handed.get()
            || unsafe { (*t).mm } != self.mm
            || unsafe { (*t).flags } & bindings::PF_EXITING != 0
            // Eligibility is decided now, against the state at this
            // moment (a tracer may have attached, the policy changed
            // since the chain started), not only before the chain ran.
            || !eligible::can_hand_off()
        {
            return false;
        }
        // Dropped (on a refusal below), the reservation puts the spare
        // back.
        let Some(res) = self.process.spares.reserve() else {
            return false;
        };
        let to = res.spare().task_ptr();
        // SAFETY: `t` is current; `to` (when set) is the reserved spare's
        // task, parked, kept alive by the spare's reference.
        if to.is_null() || !unsafe { eligible::spare_takes(t, to) } {
            return false;
        }
        // SAFETY: the spare is reserved: until it is claimed or put back,
        // nobody else writes its context, and its thread only reads it
        // once claimed. `regs` is valid while `self` is armed; the spare's
        // task is alive (it holds a reference to it).
        let saved = unsafe {
            let regs = if self.regs.is_null() { bindings::current_pt_regs() } else { self.regs };
            let ctx = res.spare().context().cast();
            bindings::syslet_context_save(ctx, regs, to, self.is_threadlet(), self.user_ret as _)
        };
        if !saved {
            return false;
        }
        self.handed.set(true);
        self.process.shared.stats.handoff();
        trace::went_async(self.first, reason);
        self.taken.set(Some(res.claim()));
        true
    }

    /// [`Armed::hand_over`] for `SYSLET_ASYNC`: in process context, so a
    /// spare can be made first.
    fn hand_over_now(&self) -> bool {
        self.handed.get() || (ensure_spare(&self.process.spares) && self.hand_over(AsyncReason::AsyncFlag))
    }
}

/// Scheduler hook: the armed task `tsk` (current) is about to sleep.
///
/// Called from `sched_submit_work()` for `PF_SYSLET_HANDOFF` tasks: takes
/// spinlocks, never sleeps or allocates.
///
/// # Safety
///
/// `tsk` must be the current task, with `PF_SYSLET_HANDOFF` set (its
/// `worker_private` is then a record of the engine's).
#[no_mangle]
pub unsafe extern "C" fn syslet_task_sleeping(tsk: *mut bindings::task_struct) {
    // SAFETY: the contract above. A parked spare's record does nothing
    // here.
    if let Some(a) = unsafe { task::record::<Armed>(tsk) } {
        // SAFETY: an installed record lives until its task uninstalls it.
        unsafe { &*a }.hand_over(AsyncReason::Blocked);
    }
}

/// Runs chains in the caller, armed around every atom outside
/// `SYSLET_SYNC` until its user context has moved.
pub(crate) struct Cachemiss(pub(crate) Armed);

impl Runner for Cachemiss {
    fn go_async(&self) -> Result {
        if self.0.hand_over_now() {
            Ok(())
        } else {
            Err(EAGAIN)
        }
    }

    fn sync_atom(&self, _running: bool) {}

    fn arm(&self, sync: bool) {
        if !sync && !self.0.handed() {
            // SAFETY: the chain loop (`tuning::hot_chain`) disarms
            // before `self` can move.
            unsafe { self.0.arm() };
        }
    }

    fn disarm(&self) {
        Armed::disarm();
        // In process context, so that no path (not even a do_exit() from
        // inside the chain) keeps the spare's reference.
        if self.0.handed() {
            drop(self.0.taken.take());
        }
    }

    /// Once the context has moved, the chain stops at an identity change.
    #[inline(always)]
    fn stale(&self) -> bool {
        self.0.handed() && self.0.process.shared.identity.changed_since(self.0.identity)
    }

    /// Once the context has moved, this task carries the chain for it.
    fn carries(&self) -> bool {
        self.0.handed()
    }

    /// In the caller, the chain ends and the signal is delivered; once the
    /// context has moved, this task only stops or dies.
    fn signalled(&self) -> Result {
        if !self.0.handed() || signals::serve_stops() {
            return Err(EINTR);
        }
        Ok(())
    }
}

/// `async_exec()` on the cachemiss path: runs the chain at `first` in the
/// caller. Returns its last atom if it never went asynchronous; otherwise
/// posts the completion to `ahu`'s ring and serves as a spare thread,
/// returning 0 to the user context it is given.
pub(crate) fn exec(
    process: ArcBorrow<'static, Process>,
    first: usize,
    first_atom: &mut crate::abi::Atom,
    ahu: usize,
) -> Result<usize> {
    // Best effort: without a spare an atom that blocks blocks the caller.
    ensure_spare(&process.spares);
    trace::submit(first, ahu, true);
    let runner = Cachemiss(Armed::new(Kind::Chain, process, ptr::null(), first, true));
    // The subsystem's hottest loop, in its own section ([`crate::tuning`]).
    let end = hot_chain(first, first_atom, &runner);
    if !runner.0.handed() {
        process.shared.stats.chain_inline(end.atoms);
        trace::complete(end.last, &end.result, false);
        return end.result.map(|()| end.last);
    }
    process.shared.stats.chain_handed_off(end.atoms);
    let posted = end.last_flags & crate::abi::flags::NO_COMPLETE == 0
        && !prim::fatal_signal_pending()
        && process.shared.post(ahu, end.last, &prim::fatal_signal_pending);
    trace::complete(end.last, &end.result, posted);
    drop(runner);
    become_spare(process.spares.clone());
    Ok(0)
}

/// Runs `io` (an fs/aio.c write, `aio/`) in the caller armed for a
/// handoff: if it sleeps, the user context of the caller's `io_submit()`
/// moves to a spare thread and returns `user_ret` (the iocbs submitted,
/// this one included). Returns `io`'s result and whether the context
/// moved (with the task that took it); if it moved, the caller must leave
/// `io_submit()` and park ([`park_handed_off`]). The caller checked
/// [`eligible::can_hand_off`], that
/// the task is not [`armed`], and that it is a user thread in its own
/// `io_submit()` (whose frame is the one that moves).
#[cfg(CONFIG_SYSLET_AIO)]
pub(crate) fn run_armed(
    process: ArcBorrow<'static, Process>,
    user_ret: isize,
    io: impl FnOnce() -> isize,
) -> ArmedWrite {
    // Best effort, as for a chain: without a spare a write that blocks
    // blocks `io_submit()`, as on stock Linux.
    ensure_spare(&process.spares);
    let armed = Armed { user_ret, ..Armed::new(Kind::AioWrite, process, ptr::null(), 0, true) };
    // SAFETY: `armed` stays in this frame until it is disarmed below.
    unsafe { armed.arm() };
    let ret = io();
    Armed::disarm();
    let moved = armed.handed();
    // Whether the context moved is `handed`, not whether a task is known:
    // a task that lost its context must never return to it.
    let taker = armed.taken.take().filter(|_| moved).and_then(|spare| spare.task());
    // The spare's reference is dropped here, in process context, like
    // `Cachemiss::disarm` does.
    ArmedWrite { ret, moved, taker }
}

/// What [`run_armed`] saw.
#[cfg(CONFIG_SYSLET_AIO)]
pub(crate) struct ArmedWrite {
    /// The write's result.
    pub(crate) ret: isize,
    /// The caller's user context moved to a spare while it ran.
    pub(crate) moved: bool,
    /// The spare's task, which took the context (when `moved`).
    pub(crate) taker: Option<ARef<Task>>,
}

/// The current task's user context moved while it ran an fs/aio.c write
/// ([`run_armed`]): it parks as a spare, as after a chain, and returns
/// when it is given another context. It must never return to the one it
/// lost, so if the process state cannot be had it exits.
#[cfg(CONFIG_SYSLET_AIO)]
pub(crate) fn park_handed_off() {
    match Process::borrow_current() {
        Ok(process) => become_spare(process.spares.clone()),
        // Not reached: the handoff went through this state.
        Err(_) => prim::exit_thread(),
    }
}

