// SPDX-License-Identifier: GPL-2.0

//! The engine's state of one process, hung off its `signal_struct`.
//!
//! C header: [`include/linux/syslet.h`](srctree/include/linux/syslet.h).
//!
//! [`Process`] is the top of the per-process layer and owns one
//! reference to each part below it: the state every part shares
//! ([`Shared`]), the async threads ([`WorkerPool`]) and the spares of the
//! handoff ([`SparePool`]). The pools know only [`Shared`], never each
//! other nor this type, as io-wq knows only its own `io_wq`; the users of
//! the engine (`async_exec()`, the handoff, threadlets, aio) find all
//! three here. The lock order is [`crate::shared`]'s.
//!
//! # Invariants
//!
//! `signal_struct::syslet_process` is null or holds one reference to the
//! process's [`Process`] (made by [`Process::of_current`], set once with a
//! compare-exchange, dropped by [`syslet_free_process`] when the
//! `signal_struct` is freed, after every task of the process).

use crate::{line::Line, prim::current, shared::Shared, spare::SparePool, worker::WorkerPool};
use core::{
    ffi::c_void,
    ptr,
    sync::atomic::{AtomicPtr, Ordering},
};
use kernel::{
    bindings,
    prelude::*,
    sync::{Arc, ArcBorrow},
    types::ForeignOwnable,
};

/// The engine's state of one process.
pub(crate) struct Process {
    pub(crate) shared: Arc<Shared>,
    pub(crate) workers: Arc<WorkerPool>,
    pub(crate) spares: Arc<SparePool>,
    /// Its line of detached jobs that mostly wait: aio's cold reads.
    pub(crate) line: Arc<Line>,
}

impl Process {
    fn new() -> Result<Arc<Process>> {
        let shared = Shared::new()?;
        let workers = WorkerPool::new(shared.clone())?;
        let spares = SparePool::new(shared.clone())?;
        let line = Line::new()?;
        Ok(Arc::new(Process { shared, workers, spares, line }, GFP_KERNEL_ACCOUNT)?)
    }

    /// The `signal_struct` field that owns one reference to the process's
    /// state, as an atomic.
    #[inline]
    fn field() -> &'static AtomicPtr<c_void> {
        // SAFETY: `current`'s signal_struct outlives every use here (the
        // caller runs in one of its threads), and the field is only ever
        // accessed atomically (here) or when the struct is freed.
        unsafe { AtomicPtr::from_ptr(ptr::addr_of_mut!((*(*current()).signal).syslet_process)) }
    }

    /// The current process's state, made on first use.
    pub(crate) fn of_current() -> Result<Arc<Process>> {
        let field = Self::field();
        let p = field.load(Ordering::Acquire);
        if !p.is_null() {
            // SAFETY: `p` came from `into_foreign` below, and the field's
            // reference lives until the signal_struct is freed.
            return Ok(unsafe { <Arc<Process> as ForeignOwnable>::borrow(p) }.into());
        }
        let new = Self::new()?;
        let raw = new.clone().into_foreign() as *mut c_void;
        match field.compare_exchange(ptr::null_mut(), raw, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => Ok(new),
            Err(other) => {
                // SAFETY: `raw` is the reference made above, not published.
                drop(unsafe { <Arc<Process> as ForeignOwnable>::from_foreign(raw) });
                // SAFETY: as for `p` above.
                Ok(unsafe { <Arc<Process> as ForeignOwnable>::borrow(other) }.into())
            }
        }
    }

    /// [`Process::of_current`] without taking a reference: the state lives
    /// as long as the process's `signal_struct`, so as long as any of its
    /// tasks. Only for use by a task of the process, while it runs.
    #[inline]
    pub(crate) fn borrow_current() -> Result<ArcBorrow<'static, Process>> {
        let p = Self::field().load(Ordering::Acquire);
        if p.is_null() {
            return Self::borrow_new();
        }
        // SAFETY: `p` came from `into_foreign` in `of_current`; the
        // field's reference lives until the signal_struct is freed, after
        // every task of the process (see above).
        Ok(unsafe { <Arc<Process> as ForeignOwnable>::borrow(p) })
    }

    /// [`Process::borrow_current`] the first time.
    #[cold]
    fn borrow_new() -> Result<ArcBorrow<'static, Process>> {
        drop(Self::of_current()?);
        Self::borrow_current()
    }

    /// The state of the process whose `signal_struct` is `sig`, if it
    /// used the engine.
    ///
    /// # Safety
    ///
    /// `sig` must be live for `'a`.
    unsafe fn of_signal<'a>(sig: *mut bindings::signal_struct) -> Option<ArcBorrow<'a, Process>> {
        // SAFETY: `sig` is live (the contract); the field is written once,
        // atomically (`Process::of_current`).
        let field = unsafe { AtomicPtr::from_ptr(ptr::addr_of_mut!((*sig).syslet_process)) };
        let p = field.load(Ordering::Acquire);
        // SAFETY: `p` came from `into_foreign`, and the field's reference
        // keeps the Process alive as long as `sig` (the type's invariant).
        (!p.is_null()).then(|| unsafe { <Arc<Process> as ForeignOwnable>::borrow(p) })
    }
}

/// Fills `out` with the counters of the process whose `signal_struct` is
/// `sig` (zeros if it never used the engine). For /proc/<pid>/syslet.
///
/// # Safety
///
/// `sig` must be the `signal_struct` of a task the caller holds a
/// reference to; `out` must be valid for a write.
#[no_mangle]
pub unsafe extern "C" fn syslet_rs_stats(sig: *mut bindings::signal_struct, out: *mut bindings::syslet_stats) {
    let mut st = bindings::syslet_stats::default();
    // SAFETY: `sig` lives as long as the caller's task reference.
    if let Some(p) = unsafe { Process::of_signal(sig) } {
        p.shared.fill_stats(&mut st);
    }
    // SAFETY: `out` is valid for a write (the contract).
    unsafe { out.write(st) };
}

/// Releases a process's state with its `signal_struct`.
///
/// # Safety
///
/// `sig` must be a `signal_struct` being freed, passed once: no task uses
/// it any more.
#[no_mangle]
pub unsafe extern "C" fn syslet_free_process(sig: *mut bindings::signal_struct) {
    // SAFETY: called once, when `sig` is freed; no thread can use it.
    let p = unsafe { (*sig).syslet_process };
    if !p.is_null() {
        // SAFETY: the field's reference (the type's invariant), made by
        // `into_foreign`.
        drop(unsafe { <Arc<Process> as ForeignOwnable>::from_foreign(p) });
    }
}

/// `task`'s credentials, seccomp state, `no_new_privs`, namespaces, fs or
/// files changed. Called by core kernel code (see [`crate::identity`]),
/// in any context a task can change those in, sometimes under `siglock`:
/// one atomic add, never sleeps.
///
/// # Safety
///
/// `task` must be live for the call: current, or a thread of current's
/// group under `siglock` (seccomp's TSYNC).
#[no_mangle]
pub unsafe extern "C" fn syslet_identity_changed(task: *mut bindings::task_struct) {
    // SAFETY: `task` is live (the contract), and its `signal_struct` at
    // least as long.
    if let Some(p) = unsafe { Process::of_signal((*task).signal) } {
        p.shared.identity.advance();
    }
}
