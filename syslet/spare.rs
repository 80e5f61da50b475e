// SPDX-License-Identifier: GPL-2.0

//! Spare threads of the cachemiss handoff ([`crate::handoff`]).
//!
//! A spare is a user thread of the process (CLONE_VM|FS|FILES|SIGHAND|
//! THREAD|SYSVSEM|IO) parked in the kernel with every signal blocked.
//! New ones start in [`spare_main`] (`user_mode_thread()`: they begin in
//! the kernel and leave through `ret_from_fork` with the frame they were
//! given); a task whose context was taken parks inside its own system call
//! (`async_exec()` or `threadlet_off()`, [`become_spare`]), which then
//! returns 0 to the context it is given. Spares are made before a chain
//! runs (the hook never forks), at most `syslet_max_threads` per process
//! together with every other thread of the engine, and exit after
//! `syslet_idle_msecs` idle. The thread group leader's context moves
//! with the leadership of the group (`syslet_context_restore()`): the
//! task it came from parks as a spare like any other.
//!
//! # States
//!
//! `Starting` (the thread has not parked) -> `Idle` (parked, in
//! `SparePool::parked`) -> `Reserved` (a hook took it out of the list and
//! saves a context into it) -> `Claimed` (the context is complete; the
//! thread runs it) or back to `Idle` (the hook gave up). `Exit` from any
//! state but `Reserved`, which the hook always leaves at once.
//!
//! # Locks
//!
//! The scheduler hook takes `SparePool::parked`, then a `Spare::inner`:
//! both are [`RawSpinLock`]s, always in that order, with nothing else
//! taken under them (no allocation, no `spinlock_t`, no last reference
//! dropped: `wake_up_process()` is the only call). The waits on a spare
//! use [`crate::wait`], not a `CondVar`, for that reason.
//! `Shared::inner` (a `spinlock_t`: the counts) is never held with them.

use crate::{
    prim::{current, exit_thread, fatal_signal_pending, sysctl, Live},
    signals,
    task::{self, Kind, Tag},
    wait::{self, Waiter, Woke},
};
use core::{
    ffi::{c_int, c_void},
    ptr,
};
use kernel::{
    bindings,
    // `TryNewListArc`: 6.12's `impl_list_arc_safe!` names it unqualified.
    list::{impl_has_list_links, impl_list_arc_safe, impl_list_item},
    list::{AtomicTracker, ListLinks, TryNewListArc},
    new_raw_spinlock,
    prelude::*,
    sync::{Arc, ArcBorrow, RawSpinLock},
    task::Task,
    time::msecs_to_jiffies,
    types::{ARef, ForeignOwnable},
};

#[cfg(CONFIG_SYSLET_KUNIT_TEST)]
pub(crate) mod kunit;
mod pool;
pub(crate) use pool::{ensure_spare, SparePool};

/// Where a spare is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SpareState {
    /// Its thread has not parked yet.
    Starting,
    /// Parked, free to take.
    Idle,
    /// Taken by a hook that is saving a context into it.
    Reserved,
    /// Holds a context to run.
    Claimed,
    /// Its thread is exiting.
    Exit,
}

/// A `syslet_context` buffer (syslet/handoff.c), owned by one spare.
///
/// A raw allocation, not a `KVec` the spare could borrow: C writes it
/// through the pointer while the spare is shared.
///
/// # Invariants
///
/// `self.0`/`self.1` are the pointer and length of a `KVec<u8>` given up
/// with `into_raw_parts`, freed only by `drop`.
struct ContextBuf(*mut u8, usize);

impl ContextBuf {
    fn new() -> Result<ContextBuf> {
        // SAFETY: a pure query.
        let size = unsafe { bindings::syslet_context_size() };
        let (p, len, _) = KVec::from_elem(0u8, size, GFP_KERNEL_ACCOUNT)?.into_raw_parts();
        Ok(ContextBuf(p, len))
    }
}

impl Drop for ContextBuf {
    fn drop(&mut self) {
        // SAFETY: the type's invariant: these came from `into_raw_parts`.
        drop(unsafe { KVec::from_raw_parts(self.0, self.1, self.1) });
    }
}

/// One spare thread.
#[pin_data]
#[repr(C)]
pub(crate) struct Spare {
    /// Its thread's record ([`crate::task`]) while parked.
    tag: Tag,
    pool: Arc<SparePool>,
    /// Taken by the scheduler hook: raw.
    #[pin]
    inner: RawSpinLock<SpareInner>,
    /// Written by the hook while `Reserved`, read by the thread once
    /// `Claimed`.
    ctx: ContextBuf,
    /// Its place in `SparePool::parked` while `Idle`.
    #[pin]
    links: ListLinks,
    /// Whether the `ListArc` that `parked` (or a reserving hook) holds
    /// exists.
    #[pin]
    list_tracker: AtomicTracker,
    _live: Live,
}

impl_has_list_links! { impl HasListLinks<0> for Spare { self.links } }
impl_list_arc_safe! { impl ListArcSafe<0> for Spare { tracked_by list_tracker: AtomicTracker; } }
impl_list_item! { impl ListItem<0> for Spare { using ListLinks; } }

// SAFETY: `Spare` is `#[repr(C)]` and begins with its `Tag`, the only
// record installed with `Kind::Spare` (`Spare::serve`).
unsafe impl task::Recorded for Spare {
    fn of_kind(kind: Kind) -> bool {
        kind == Kind::Spare
    }
}

struct SpareInner {
    state: SpareState,
    /// The thread's task; set by the thread before it parks.
    task: Option<ARef<Task>>,
    /// The spare's thread, waiting for a context (or to exit).
    thread: Waiter,
    /// The task that spawned it, waiting for it to park.
    spawner: Waiter,
}

// SAFETY: the context buffer is accessed under the state protocol above;
// the task pointer holds a reference valid from any thread.
unsafe impl Send for Spare {}
// SAFETY: shared access goes through `inner` (a lock) and the atomics;
// the context buffer is read or written only by whoever the state makes
// its owner (the reserving hook, then the claimed thread).
unsafe impl Sync for Spare {}

impl Spare {
    fn new(pool: Arc<SparePool>) -> Result<Arc<Spare>> {
        let ctx = ContextBuf::new()?;
        Arc::pin_init(
            pin_init!(Spare {
                tag: Tag(Kind::Spare),
                pool,
                inner <- new_raw_spinlock!(
                    SpareInner { state: SpareState::Starting, task: None, thread: Waiter::new(), spawner: Waiter::new() },
                    "syslet::Spare::inner"
                ),
                ctx,
                links <- ListLinks::new(),
                list_tracker <- AtomicTracker::new(),
                _live: Live::new(ptr::addr_of_mut!(bindings::syslet_live_spares)),
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    /// The thread's task, for the hook: a pointer, so that the hook
    /// never drops a reference. Null before the thread parked.
    pub(crate) fn task_ptr(&self) -> *mut bindings::task_struct {
        self.inner.lock().task.as_deref().map_or(ptr::null_mut(), |t| t as *const Task as *mut _)
    }

    /// The thread's task, once it parked.
    pub(crate) fn task(&self) -> Option<ARef<Task>> {
        self.inner.lock().task.clone()
    }

    /// The context buffer, for syslet/handoff.c.
    pub(crate) fn context(&self) -> *mut c_void {
        self.ctx.0.cast()
    }

    /// `Idle` -> `Reserved`; false in any other state.
    fn reserve(&self) -> bool {
        let mut inner = self.inner.lock();
        if inner.state == SpareState::Idle {
            inner.state = SpareState::Reserved;
            true
        } else {
            false
        }
    }

    /// `Reserved` -> `Claimed`, and wakes the thread.
    fn claim(&self) {
        let mut inner = self.inner.lock();
        inner.state = SpareState::Claimed;
        inner.thread.wake();
    }

    /// Sets `to` and wakes everyone waiting on this spare.
    fn set_state(&self, to: SpareState) {
        let mut inner = self.inner.lock();
        inner.state = to;
        inner.thread.wake();
        inner.spawner.wake();
    }

    /// Parks the current thread as this spare until a context is handed
    /// to it, then applies it and returns. Exits the thread instead when
    /// it idles too long, the process dies, it is retired or it cannot
    /// park.
    ///
    /// While parked, the thread's reference is its record
    /// ([`crate::task`], `PF_SYSLET_HANDOFF` set), so that the
    /// `do_exit()` hook takes it back however the thread ends, even from
    /// inside `get_signal()` (a SIGKILL during a group stop).
    fn serve(self: Arc<Self>) {
        let t = current();
        self.inner.lock().task = Some(ARef::from(kernel::current!()));
        let me = Arc::into_raw(self);
        // SAFETY: the current task, a spare that has no other record;
        // the reference (whose `tag` is its first field) is taken back
        // below or by `syslet_rs_task_exit()`.
        unsafe { task::install(t, ptr::addr_of!((*me).tag), bindings::PF_SYSLET_HANDOFF) };
        // SAFETY: `me` is alive as long as the thread (see above).
        let this = unsafe { &*me };
        // With the record installed, so that however the thread ends
        // here (a fatal signal, an exec's zap while stopped in
        // `signals::take()`), `thread_exited()` gives its place back.
        // A task that still leads its group once its context was taken
        // is one whose group is dying: the spare's restore moves the
        // leadership with the context, and skips it only then.
        // SAFETY: `current`'s own field, written under tasklist_lock by
        // that restore, which the wait orders before this read.
        if !wait_context_taken() || unsafe { (*t).exit_signal } >= 0 {
            exit_thread();
        }
        // SAFETY: `me` came from `Arc::into_raw` above and its reference
        // is held by the record until this thread takes it back.
        this.pool.park(unsafe { ArcBorrow::from_raw(me) }.into());
        this.set_state(SpareState::Idle);
        loop {
            let inner = this.inner.lock();
            match inner.state {
                SpareState::Claimed => break,
                // Retired (`SparePool::retire`), already unparked.
                SpareState::Exit => {
                    drop(inner);
                    exit_thread();
                }
                SpareState::Idle | SpareState::Reserved | SpareState::Starting => {}
            }
            let timeout = msecs_to_jiffies(sysctl(ptr::addr_of!(bindings::sysctl_syslet_idle_msecs)));
            let (mut st, res) = wait::wait(&this.inner, inner, |i| &mut i.thread, timeout as isize);
            let leave = match res {
                Woke::Woken => false,
                Woke::Timeout => true,
                Woke::Signal => fatal_signal_pending(),
            };
            if leave {
                if st.state == SpareState::Idle {
                    st.state = SpareState::Exit;
                    drop(st);
                    exit_thread();
                }
                // Reserved: the hook decides at once; Claimed: run it
                // (a dying process ends on the way to user space).
                drop(st);
                // SAFETY: process context, no lock held.
                unsafe { bindings::cond_resched() };
                continue;
            }
            // Claimed meanwhile: restore first. A stop or the freezer then
            // acts on the context on its way to user space, not here,
            // where it would hold the context (and a giver that exits,
            // which waits for it) until SIGCONT or the thaw.
            let claimed = st.state == SpareState::Claimed;
            drop(st);
            if res == Woke::Signal && !claimed {
                signals::take();
            }
        }
        task::uninstall(bindings::PF_SYSLET_HANDOFF);
        // SAFETY: the reference is ours again.
        let me = unsafe { Arc::from_raw(me) };
        // SAFETY: claimed: the hook finished writing the context (the
        // state lock orders it), and only this thread reads it now.
        unsafe { bindings::syslet_context_restore(me.context()) };
        // This thread now runs a user context; the task that gave it up
        // carries the rest of its chain and takes over this thread's
        // place in the count (`Shared::reserve_thread`) until it exits or
        // parks as a spare in its turn (`become_spare`).
    }

    /// The thread of this spare is exiting (the `do_exit()` hook).
    fn thread_exited(&self) {
        let claimed = loop {
            let mut inner = self.inner.lock();
            let was = inner.state;
            // The hook saving into it decides at once.
            if was == SpareState::Reserved {
                drop(inner);
                // SAFETY: process context, no lock held.
                unsafe { bindings::cond_resched() };
                continue;
            }
            inner.state = SpareState::Exit;
            inner.spawner.wake();
            break was == SpareState::Claimed;
        };
        if claimed {
            // SAFETY: a claimed context this thread will not run; with
            // the state `Exit` nobody else touches the buffer.
            unsafe { bindings::syslet_context_drop(self.context()) };
        }
        self.pool.unpark(self);
        self.pool.shared.spare_done();
    }
}

/// Waits until the user context the current task gave away, if any, has
/// been applied or dropped by the spare that took it. Its TID is the
/// context's until then: `syslet_context_restore()` exchanges TIDs with
/// this task, so a context given to it meanwhile would take the first
/// context's TID, and the first context the second one's. False when a
/// fatal signal is pending.
fn wait_context_taken() -> bool {
    loop {
        // SAFETY: process context, no lock held; the signals are blocked
        // but for those `signals::take()` handles.
        if unsafe { bindings::syslet_wait_context_taken() } == 0 {
            return true;
        }
        if fatal_signal_pending() {
            return false;
        }
        signals::take();
    }
}

/// Body of a new spare thread.
///
/// # Safety
///
/// Only `syslet_spawn_spare()` calls it, with the reference made by
/// `SparePool::ensure`.
unsafe extern "C" fn spare_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the thread's reference, made by `into_foreign`.
    let spare = unsafe { <Arc<Spare> as ForeignOwnable>::from_foreign(arg) };
    spare.pool.shared.thread_started(true);
    // SAFETY: process context.
    unsafe { bindings::syslet_block_signals() };
    spare.serve();
    // Returns to user space through ret_from_fork with the frame given.
    0
}

/// The current task's user context has moved: it parks as a spare until
/// it is given another, and returns then. Takes the caller's reference
/// to the pool: a thread that exits here never returns to drop it (so
/// callers must hold no other reference either).
pub(crate) fn become_spare(pool: Arc<SparePool>) {
    // Deferred work of the chain (the final fput() of a file an atom
    // closed) runs now, not whenever this thread next wakes.
    // SAFETY: process context, no lock held.
    unsafe { bindings::task_work_run() };
    // A threadlet may have unblocked signals, an atom's ppoll() mask may
    // come back: a parked thread takes none.
    // SAFETY: process context.
    unsafe { bindings::syslet_block_signals() };
    // This task carried a chain of a context that moved: it holds that
    // spare's place in the count (see `Spare::serve`). If it led its
    // group, the spare that takes the context takes the leadership too
    // (`Spare::serve` waits for that before it parks).
    match Spare::new(pool.clone()) {
        Ok(spare) => {
            drop(pool);
            spare.serve()
        }
        Err(_) => {
            pool.shared.spare_done();
            drop(pool);
            exit_thread()
        }
    }
}

/// For the `do_exit()` hook ([`crate::exit`]): if the exiting task is a
/// parked spare, takes back its reference and its place in the process's
/// list, and returns true.
///
/// # Safety
///
/// `tsk` must be the current task, exiting, with `PF_SYSLET_HANDOFF` set
/// (its `worker_private` is then a record of the engine's).
pub(crate) unsafe fn spare_exiting(tsk: *mut bindings::task_struct) -> bool {
    // SAFETY: the exiting task is current, with a record of ours (the
    // contract above).
    let Some(s) = (unsafe { task::record::<Spare>(tsk) }) else {
        return false;
    };
    task::uninstall(bindings::PF_SYSLET_HANDOFF);
    // SAFETY: the reference `Spare::serve` installed.
    let spare = unsafe { Arc::from_raw(s) };
    spare.thread_exited();
    true
}
