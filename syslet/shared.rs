// SPDX-License-Identifier: GPL-2.0

//! The per-process state every part of the engine shares.
//!
//! [`Shared`] is the bottom of the per-process layer: the completion
//! rings' lock and posting ([`Shared::post`]), the wait for a post, the
//! counts that bound the engine's threads ([`crate::threads`]), the
//! identity generation ([`crate::identity`]), how the process ends
//! ([`crate::exit`]) and the counters of `/proc/<pid>/syslet`. The
//! pools above it, the async threads ([`crate::worker::WorkerPool`]) and
//! the spares ([`crate::spare::SparePool`]), each hold a reference; the
//! process's [`crate::process::Process`] holds all three.
//!
//! # Locks
//!
//! The order of the whole engine, outermost first: `Shared::ring_lock`
//! (a mutex: posting to the rings), then one of
//! - `Shared::inner` (a `spinlock_t`: thread counts; never taken by a
//!   scheduler hook),
//! - `WorkerPool::idle` (a `spinlock_t`: idle async threads),
//! - the raw locks the scheduler hooks take: `SparePool::parked` then
//!   `Spare::inner`, or `Worker::slot`.
//!
//! No two of those three groups are held together, and nothing sleeps,
//! allocates or takes a `spinlock_t` under a raw lock.

use crate::{
    abi::{AsyncHead, SLOT_SIZE},
    identity::Identity,
    prim::{signal_pending, Live},
    signals,
};
use core::{
    ptr,
    sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering},
};
use kernel::{
    bindings, new_condvar, new_mutex, new_spinlock,
    prelude::*,
    sync::{Arc, CondVar, CondVarTimeoutResult, Mutex, SpinLock},
    time::msecs_to_jiffies,
    uaccess::UserSlice,
};

/// The state of one process (thread group) that every part of the engine
/// shares.
#[pin_data]
pub(crate) struct Shared {
    /// Thread counts.
    #[pin]
    pub(crate) inner: SpinLock<SharedInner>,
    /// Serializes posting to the completion rings of this process.
    #[pin]
    ring_lock: Mutex<()>,
    /// Notified (under `inner`) after every post, for `async_wait()`.
    #[pin]
    posted: CondVar,
    /// Completions posted so far.
    post_count: AtomicU64,
    /// Counters for /proc/<pid>/syslet.
    pub(crate) stats: Stats,
    /// Identity changes of the process's threads ([`crate::identity`]).
    pub(crate) identity: Identity,
    /// How the process ends once only the engine's threads are left
    /// ([`crate::threads`]): the `do_exit()` code of the user thread that
    /// exited last.
    pub(crate) last_exit: AtomicI32,
    /// Threadlets on in the process's threads ([`crate::threadlet`]): one
    /// whose head moved runs user code in a task that counts as an engine
    /// thread, so the process does not end under it.
    pub(crate) threadlets: AtomicUsize,
    _live: Live,
}

/// Per-process counters (relaxed: statistics, not synchronization).
pub(crate) struct Stats {
    pub(crate) atoms_inline: AtomicU64,
    pub(crate) atoms_async_thread: AtomicU64,
    pub(crate) chains: AtomicU64,
    pub(crate) chains_async: AtomicU64,
    handoffs: AtomicU64,
}

impl Stats {
    /// A chain ran in the caller and went asynchronous by a handoff.
    pub(crate) fn chain_handed_off(&self, atoms: u64) {
        self.chain_inline(atoms);
        self.chains_async.fetch_add(1, Ordering::Relaxed);
    }

    /// A user context moved to a spare thread.
    pub(crate) fn handoff(&self) {
        self.handoffs.fetch_add(1, Ordering::Relaxed);
    }

    /// A chain ran inline in the caller.
    pub(crate) fn chain_inline(&self, atoms: u64) {
        self.chains.fetch_add(1, Ordering::Relaxed);
        self.atoms_inline.fetch_add(atoms, Ordering::Relaxed);
    }
}

pub(crate) struct SharedInner {
    /// Spare threads alive.
    pub(crate) spares_alive: usize,
    /// Async threads alive.
    pub(crate) alive: usize,
    /// Places reserved for engine threads being made: counted against
    /// `syslet_max_threads`, not yet in `alive` or `spares_alive` (see
    /// `Shared::no_user_threads_left`).
    pub(crate) starting: usize,
    /// Most async threads alive at once.
    pub(crate) peak: usize,
}

impl Shared {
    pub(crate) fn new() -> Result<Arc<Shared>> {
        Arc::pin_init(Self::init(), GFP_KERNEL_ACCOUNT)
    }

    fn init() -> impl PinInit<Self> {
        pin_init!(Self {
            inner <- new_spinlock!(
                SharedInner {
                    spares_alive: 0,
                    alive: 0,
                    starting: 0,
                    peak: 0,
                },
                "syslet::Shared::inner"
            ),
            ring_lock <- new_mutex!((), "syslet::Shared::ring_lock"),
            posted <- new_condvar!("syslet::Shared::posted"),
            post_count: AtomicU64::new(0),
            stats: Stats {
                atoms_inline: AtomicU64::new(0),
                atoms_async_thread: AtomicU64::new(0),
                chains: AtomicU64::new(0),
                chains_async: AtomicU64::new(0),
                handoffs: AtomicU64::new(0),
            },
            identity: Identity::new(),
            last_exit: AtomicI32::new(0),
            threadlets: AtomicUsize::new(0),
            _live: Live::new(ptr::addr_of_mut!(bindings::syslet_live_processes)),
        })
    }

    pub(crate) fn thread_exited(&self) {
        self.inner.lock().alive -= 1;
    }

    /// Posts `atom` as a completion to the ring of `ahu`; returns whether
    /// it did. A full ring (the slot to fill is not NULL) is waited on,
    /// killably, until user space frees it: a completion is never dropped
    /// or written twice. A fault on the head or the ring, or a fatal
    /// signal while the ring is full, loses the completion (the
    /// `syslet_complete` tracepoint then says `returned`, not `posted`).
    pub(crate) fn post(&self, ahu: usize, atom: usize, dying: &dyn Fn() -> bool) -> bool {
        loop {
            let guard = self.ring_lock.lock();
            let Ok(head) = AsyncHead::read(ahu) else { return false };
            let slot = head.next_slot();
            let Ok(cur) = UserSlice::new(slot, SLOT_SIZE).reader().read::<usize>() else {
                return false;
            };
            if cur == 0 {
                let next = head.kernel_ring_idx.wrapping_add(1);
                // The slot is written before the index that publishes it;
                // x86 keeps stores in order, the barrier documents it.
                if UserSlice::new(slot, SLOT_SIZE).writer().write(&atom).is_err() {
                    return false;
                }
                core::sync::atomic::fence(Ordering::Release);
                if UserSlice::new(ahu, SLOT_SIZE).writer().write(&next).is_err() {
                    // The index cannot be published: take the slot back,
                    // so the ring is as it was (best effort: the ring
                    // was writable a moment ago) and the completion is
                    // lost, as documented, rather than left in a slot
                    // that no index covers and the next post waits on.
                    let _ = UserSlice::new(slot, SLOT_SIZE).writer().write(&0usize);
                    return false;
                }
                drop(guard);
                self.post_count.fetch_add(1, Ordering::AcqRel);
                let _inner = self.inner.lock();
                self.posted.notify_all();
                return true;
            }
            drop(guard);
            // The task posting has no user context (a carrier, an async
            // thread): it stops here for job control and the freezer
            // rather than spin, and a fatal signal ends the wait.
            if dying() || (signal_pending() && signals::serve_stops()) {
                return false;
            }
            // Full: wait for user space to clear the slot.
            // SAFETY: process context, no lock held.
            unsafe { bindings::schedule_timeout_interruptible(msecs_to_jiffies(1) as isize) };
        }
    }

    /// Completions posted in this process so far.
    pub(crate) fn posts(&self) -> u64 {
        self.post_count.load(Ordering::Acquire)
    }

    /// Sleeps until a completion is posted after `seen` posts, for at most
    /// 10 ms. Returns true if a signal is pending.
    pub(crate) fn wait_for_post(&self, seen: u64) -> bool {
        let mut inner = self.inner.lock();
        if self.post_count.load(Ordering::Acquire) != seen {
            return false;
        }
        matches!(
            self.posted.wait_interruptible_timeout(&mut inner, msecs_to_jiffies(10) as _),
            CondVarTimeoutResult::Signal { .. }
        )
    }
}

impl Shared {
    /// The counters of `/proc/<pid>/syslet`.
    pub(crate) fn fill_stats(&self, st: &mut bindings::syslet_stats) {
        let (alive, peak, spares) = {
            let inner = self.inner.lock();
            (inner.alive, inner.peak, inner.spares_alive)
        };
        st.atoms_inline = self.stats.atoms_inline.load(Ordering::Relaxed);
        st.atoms_async_thread = self.stats.atoms_async_thread.load(Ordering::Relaxed);
        st.chains = self.stats.chains.load(Ordering::Relaxed);
        st.chains_async = self.stats.chains_async.load(Ordering::Relaxed);
        st.completions = self.post_count.load(Ordering::Relaxed);
        st.threads_alive = alive as u64;
        st.threads_peak = peak as u64;
        st.handoffs = self.stats.handoffs.load(Ordering::Relaxed);
        st.spares_alive = spares as u64;
    }
}
