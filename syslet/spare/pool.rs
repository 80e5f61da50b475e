// SPDX-License-Identifier: GPL-2.0

//! The parked spares of one process: making one before a chain runs,
//! parking, retiring them when the caller's identity changed, and the
//! reservation through which the handoff hook takes one ([`super`] has
//! the spare threads and their states).

use super::{spare_main, Spare, SpareState};
use crate::{identity, shared::Shared, wait};
use core::{
    ffi::c_void,
    mem::ManuallyDrop,
    ptr,
    sync::atomic::{AtomicPtr, AtomicUsize, Ordering},
};
use kernel::{
    bindings,
    list::{List, ListArc},
    new_raw_spinlock,
    prelude::*,
    sync::{Arc, RawSpinLock},
    types::ForeignOwnable,
};

/// The parked spares of one process.
///
/// # Invariants
///
/// `idle_spares` is the number of spares in `parked`, changed only under
/// `parked`; a spare in `parked` is `Idle` or, while a hook holds
/// `parked`, `Reserved`. A spare is only ever in its own pool's `parked`
/// (`Spare::pool`), the one list its links serve.
#[pin_data]
pub(crate) struct SparePool {
    pub(super) shared: Arc<Shared>,
    /// Parked spare threads, linked through [`Spare::links`]. Raw: the
    /// handoff hook takes a spare from it.
    #[pin]
    parked: RawSpinLock<List<Spare>>,
    /// Spare threads in `parked` (read without the lock).
    idle_spares: AtomicUsize,
    /// What the parked spares share with their maker ([`identity::key`]).
    spare_key: AtomicPtr<c_void>,
}

/// [`SparePool::ensure`] for a borrowed pool; the fast path (a spare is
/// parked) takes no reference.
#[inline(always)]
pub(crate) fn ensure_spare(pool: &Arc<SparePool>) -> bool {
    if pool.spare_key.load(Ordering::Acquire) == identity::key() && pool.idle_spares() > 0 {
        return true;
    }
    ensure_spare_slow(pool)
}

/// [`ensure_spare`] when no spare with the caller's key is parked.
#[cold]
fn ensure_spare_slow(pool: &Arc<SparePool>) -> bool {
    pool.ensure()
}

impl SparePool {
    pub(crate) fn new(shared: Arc<Shared>) -> Result<Arc<SparePool>> {
        Arc::pin_init(
            pin_init!(SparePool {
                shared,
                parked <- new_raw_spinlock!(List::new(), "syslet::SparePool::parked"),
                idle_spares: AtomicUsize::new(0),
                spare_key: AtomicPtr::new(ptr::null_mut()),
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    /// Makes sure a spare is parked: spawns one and waits for it to park
    /// if none is. False when none can be had (the cap, no memory).
    fn ensure(self: &Arc<Self>) -> bool {
        let key = identity::key();
        if self.spare_key.load(Ordering::Acquire) != key {
            self.retire(key);
        }
        if self.idle_spares() > 0 {
            return true;
        }
        if !self.shared.reserve_thread() {
            return false;
        }
        let spare = match Spare::new(self.clone()) {
            Ok(s) => s,
            Err(_) => {
                self.shared.thread_not_started();
                return false;
            }
        };
        let raw = spare.clone().into_foreign() as *mut c_void;
        // SAFETY: starts a thread running `spare_main(raw)`, which owns
        // the reference `raw`.
        if unsafe { bindings::syslet_spawn_spare(Some(spare_main), raw) } < 0 {
            // SAFETY: the thread was not created; take the reference back.
            drop(unsafe { <Arc<Spare> as ForeignOwnable>::from_foreign(raw) });
            self.shared.thread_not_started();
            return false;
        }
        let mut inner = spare.inner.lock();
        while inner.state == SpareState::Starting {
            inner = wait::wait_uninterruptible(&spare.inner, inner, |i| &mut i.spawner);
        }
        inner.state != SpareState::Exit
    }

    /// The caller's credentials or `no_new_privs` are not those the
    /// parked spares were made with (it changed them since): the spares
    /// could not run its context (the hook would refuse them), so they
    /// exit, and new ones are made from the caller.
    pub(super) fn retire(&self, key: *mut c_void) {
        let mut parked = self.parked.lock();
        self.spare_key.store(key, Ordering::Release);
        let mut kept = List::<Spare>::new();
        while let Some(s) = parked.pop_front() {
            if s.reserve() {
                self.idle_spares.fetch_sub(1, Ordering::AcqRel);
                // Order: `parked`, then the spare's. Its thread holds its
                // own reference: this one is not the last.
                s.set_state(SpareState::Exit);
            } else {
                kept.push_back(s);
            }
        }
        parked.push_all_back(&mut kept);
    }

    pub(super) fn idle_spares(&self) -> usize {
        self.idle_spares.load(Ordering::Acquire)
    }

    /// Adds `s` to the parked spares. Allocates nothing and cannot fail.
    pub(super) fn park(&self, s: Arc<Spare>) {
        // Its only `ListArc` (it parks before it is `Idle`); `Err`: parked
        // already.
        let Ok(s) = ListArc::try_from_arc(s) else { return };
        let mut parked = self.parked.lock();
        parked.push_back(s);
        self.idle_spares.fetch_add(1, Ordering::AcqRel);
    }

    /// Takes `s` out of the parked spares, if it is there.
    pub(super) fn unpark(&self, s: &Spare) {
        let taken = {
            let mut parked = self.parked.lock();
            // SAFETY: `s` is in no list but this pool's `parked` (the
            // type's invariant), and `unpark` is called on `s.pool`.
            let t = unsafe { parked.remove(s) };
            if t.is_some() {
                self.idle_spares.fetch_sub(1, Ordering::AcqRel);
            }
            t
        };
        // Dropped unlocked; the thread still holds its own reference.
        drop(taken);
    }

    /// Reserves a parked spare and takes it out of the list. For the
    /// hook: no sleeping, no allocation, never drops a reference.
    pub(crate) fn reserve(&self) -> Option<Reservation<'_>> {
        let mut parked = self.parked.lock();
        let mut cursor = parked.cursor_front();
        while let Some(c) = cursor {
            if c.current().reserve() {
                self.idle_spares.fetch_sub(1, Ordering::AcqRel);
                // INVARIANT: `reserve()` made it `Reserved`; `remove()`
                // took it out of this pool's list.
                return Some(Reservation { pool: self, spare: ManuallyDrop::new(c.remove()) });
            }
            cursor = c.next();
        }
        None
    }
}

/// A spare [`SparePool::reserve`] took: dropping it puts the spare back
/// (parked, `Idle` again); [`Reservation::claim`] gives it the context
/// saved into it instead. Either allocates nothing and drops no last
/// reference (the spare's thread holds its own), as the hook requires.
///
/// # Invariants
///
/// `spare` is `Reserved`, in no list, a spare of `pool`, and owned here
/// until `drop` or `claim` takes it out (once).
pub(crate) struct Reservation<'a> {
    pool: &'a SparePool,
    spare: ManuallyDrop<ListArc<Spare>>,
}

impl Reservation<'_> {
    /// The reserved spare.
    pub(crate) fn spare(&self) -> &Spare {
        &self.spare
    }

    /// `Reserved` -> `Claimed`: the spare's thread runs the context saved
    /// into it. Returns the reference the caller keeps meanwhile.
    pub(crate) fn claim(self) -> Arc<Spare> {
        let mut me = ManuallyDrop::new(self);
        // SAFETY: `me` is never dropped, so the spare is taken out once
        // (the type's invariant).
        let s = unsafe { ManuallyDrop::take(&mut me.spare) };
        s.claim();
        s.into_arc()
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        // SAFETY: `drop` runs once and `claim` never lets it run: the
        // spare is taken out once (the type's invariant).
        let s = unsafe { ManuallyDrop::take(&mut self.spare) };
        let mut parked = self.pool.parked.lock();
        // `Idle` and in the list under `parked`, in lock order (`parked`,
        // then the spare's): a thread exit that sees `Idle` unparks it
        // after this, under `parked`.
        s.inner.lock().state = SpareState::Idle;
        parked.push_back(s);
        self.pool.idle_spares.fetch_add(1, Ordering::AcqRel);
    }
}
