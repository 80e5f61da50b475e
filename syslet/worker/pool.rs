// SPDX-License-Identifier: GPL-2.0

//! The idle async threads of one process: where a submitter finds a
//! worker, and where a worker parks between jobs ([`super`] has the
//! threads and their life).

use super::Worker;
use crate::{job::Tables, shared::Shared};
use core::sync::atomic::Ordering;
use kernel::{
    list::{List, ListArc},
    new_spinlock,
    prelude::*,
    sync::{Arc, SpinLock},
};

/// The async threads of one process that wait for work.
///
/// # Invariants
///
/// A worker is in `idle` only while its thread has not left `serve()`
/// (`Worker::gone` is checked under `idle`, which the leaving thread
/// takes after setting it), only between jobs, and only in its own pool's
/// (`Worker::pool`): the one list its links serve.
#[pin_data]
pub(crate) struct WorkerPool {
    pub(super) shared: Arc<Shared>,
    /// Parked workers, linked through [`Worker::links`].
    #[pin]
    idle: SpinLock<List<Worker>>,
}

impl WorkerPool {
    pub(crate) fn new(shared: Arc<Shared>) -> Result<Arc<WorkerPool>> {
        Arc::pin_init(
            pin_init!(WorkerPool { shared, idle <- new_spinlock!(List::new(), "syslet::WorkerPool::idle") }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    /// A parked worker, or a new one if the process has fewer than
    /// `syslet_max_threads`; `None` when it has that many, all busy.
    ///
    /// A worker shares the files, fs, namespaces and seccomp filter of
    /// the thread that made it, for good (io threads never unshare): only
    /// a caller that has the same ones gets it, so that an atom never runs
    /// against another thread's fd table, root or cwd (a thread may have
    /// unshared them), and a filtered aio submitter's worker never takes
    /// an unfiltered submitter's chain.
    pub(crate) fn get(self: &Arc<Self>) -> Result<Option<Arc<Worker>>> {
        let tables = Tables::of_current();
        if let Some(w) = self.take_idle(&tables) {
            return Ok(Some(w));
        }
        // One bound for every thread the engine makes (threads.rs). At the
        // bound, a worker that parked since the look above is taken: `idle`
        // and the count are under two locks, never held together.
        if !self.shared.reserve_thread() {
            return Ok(self.take_idle(&tables));
        }
        Worker::spawn(self.clone()).map(Some).inspect_err(|_| self.shared.thread_not_started())
    }

    /// An idle worker made with `tables`, taken out of the list.
    pub(super) fn take_idle(&self, tables: &Tables) -> Option<Arc<Worker>> {
        let mut idle = self.idle.lock();
        let mut cursor = idle.cursor_front();
        while let Some(c) = cursor {
            if c.current().tables == *tables {
                return Some(c.remove().into_arc());
            }
            cursor = c.next();
        }
        None
    }

    /// Puts `w` back among the idle workers, unless its thread is gone.
    /// Allocates nothing and cannot fail.
    pub(super) fn park(&self, w: Arc<Worker>) {
        // Its only `ListArc` (it parks between jobs); `Err`: parked already.
        let Ok(w) = ListArc::try_from_arc(w) else { return };
        let mut idle = self.idle.lock();
        // The type's invariant: a gone worker is never added.
        if w.gone.load(Ordering::Acquire) {
            drop(idle);
            drop(w);
            return;
        }
        idle.push_back(w);
    }

    /// Takes `w` out of the idle workers; false if it was not parked
    /// (a submitter took it).
    pub(super) fn unpark(&self, w: &Worker) -> bool {
        let taken = {
            let mut idle = self.idle.lock();
            // SAFETY: `w` is in no list but this pool's `idle` (the type's
            // invariant), and `unpark` is called on `w.pool`.
            unsafe { idle.remove(w) }
        };
        // Dropped unlocked; the thread still holds its own reference.
        taken.is_some()
    }
}
