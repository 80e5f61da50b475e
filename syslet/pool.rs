// SPDX-License-Identifier: GPL-2.0

//! The per-process state of the engine.
//!
//! C header: [`include/linux/syslet.h`](srctree/include/linux/syslet.h).
//!
//! [`Process`] hangs off the `signal_struct` of a process that used the
//! engine: its idle async threads ([`crate::worker`]), its parked spares
//! ([`crate::spare`]), the counts that bound both, the ring lock, the
//! identity generation ([`crate::identity`]) and the counters of
//! `/proc/<pid>/syslet`.
//!
//! # Locks
//!
//! One order, outermost first: `Process::ring_lock` (a mutex: posting to
//! the rings), then either `Process::inner` (a `spinlock_t`: idle workers
//! and thread counts; never taken by a scheduler hook) or the raw locks
//! the hooks take, `Process::parked` then `Spare::inner`, or
//! `Worker::slot`. `inner` and a raw lock are never held together, and
//! nothing sleeps, allocates or takes a `spinlock_t` under a raw lock.

use crate::{
    abi::{AsyncHead, SLOT_SIZE},
    identity::Identity,
    prim::{current, msecs_to_jiffies, signal_pending, Live},
    signals,
    spare::Spare,
    worker::{Tables, Worker},
};
use core::{
    ffi::c_void,
    ptr,
    sync::atomic::{AtomicI32, AtomicPtr, AtomicU64, AtomicUsize, Ordering},
};
use kernel::{
    bindings, new_condvar, new_mutex, new_raw_spinlock, new_spinlock,
    prelude::*,
    sync::{Arc, ArcBorrow, CondVar, CondVarTimeoutResult, Mutex, RawSpinLock, SpinLock},
    uaccess::UserSlice,
};

/// The state of one process (thread group), hung off its `signal_struct`.
#[pin_data]
pub(crate) struct Process {
    /// Idle workers and thread counts.
    #[pin]
    pub(crate) inner: SpinLock<ProcessInner>,
    /// Parked spare threads; `None` is a free place (KVec cannot
    /// remove). Raw: the handoff hook takes a spare from it.
    #[pin]
    pub(crate) parked: RawSpinLock<KVec<Option<Arc<Spare>>>>,
    /// Spare threads in `parked` (read without the lock).
    pub(crate) idle_spares: AtomicUsize,
    /// What the parked spares share with their maker (`spare::spare_key`).
    pub(crate) spare_key: AtomicPtr<c_void>,
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
    /// ([`crate::threads`]): the main flow's `do_exit()` code, and that of
    /// the user thread that exited last if seccomp killed it (else 0).
    pub(crate) main_exit: AtomicI32,
    pub(crate) last_killed: AtomicI32,
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

pub(crate) struct ProcessInner {
    /// Parked workers; `None` is a free place (KVec cannot remove).
    idle: KVec<Option<Arc<Worker>>>,
    /// Spare threads alive.
    pub(crate) spares_alive: usize,
    /// Async threads alive.
    pub(crate) alive: usize,
    /// Places reserved for engine threads being made: counted against
    /// `syslet_max_threads`, not yet in `alive` or `spares_alive` (see
    /// `Process::only_engine_threads_left`).
    pub(crate) starting: usize,
    /// Most async threads alive at once.
    pub(crate) peak: usize,
}

impl Process {
    fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            inner <- new_spinlock!(
                ProcessInner {
                    idle: KVec::new(),
                    spares_alive: 0,
                    alive: 0,
                    starting: 0,
                    peak: 0,
                },
                "syslet::Process::inner"
            ),
            parked <- new_raw_spinlock!(KVec::new(), "syslet::Process::parked"),
            idle_spares: AtomicUsize::new(0),
            spare_key: AtomicPtr::new(ptr::null_mut()),
            ring_lock <- new_mutex!((), "syslet::Process::ring_lock"),
            posted <- new_condvar!("syslet::Process::posted"),
            post_count: AtomicU64::new(0),
            stats: Stats {
                atoms_inline: AtomicU64::new(0),
                atoms_async_thread: AtomicU64::new(0),
                chains: AtomicU64::new(0),
                chains_async: AtomicU64::new(0),
                handoffs: AtomicU64::new(0),
            },
            identity: Identity::new(),
            main_exit: AtomicI32::new(0),
            last_killed: AtomicI32::new(0),
            _live: Live::new(ptr::addr_of_mut!(bindings::syslet_live_processes)),
        })
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
            // SAFETY: `p` came from `Arc::into_raw` below, and the field's
            // reference lives until the signal_struct is freed.
            return Ok(unsafe { ArcBorrow::from_raw(p as *const Process) }.into());
        }
        let new = Arc::pin_init(Self::new(), GFP_KERNEL_ACCOUNT)?;
        let raw = Arc::into_raw(new.clone()) as *mut c_void;
        match field.compare_exchange(ptr::null_mut(), raw, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => Ok(new),
            Err(other) => {
                // SAFETY: `raw` is the reference made above, not published.
                drop(unsafe { Arc::from_raw(raw as *const Process) });
                // SAFETY: as for `p` above.
                Ok(unsafe { ArcBorrow::from_raw(other as *const Process) }.into())
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
        // SAFETY: `p` came from `Arc::into_raw` in `of_current`; the
        // field's reference lives until the signal_struct is freed, after
        // every task of the process (see above).
        Ok(unsafe { ArcBorrow::from_raw(p as *const Process) })
    }

    /// [`Process::borrow_current`] the first time.
    #[cold]
    fn borrow_new() -> Result<ArcBorrow<'static, Process>> {
        drop(Self::of_current()?);
        Self::borrow_current()
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
    pub(crate) fn get_worker(self: &Arc<Self>) -> Result<Option<Arc<Worker>>> {
        let tables = Tables::of_current();
        {
            let mut inner = self.inner.lock();
            for place in inner.idle.iter_mut() {
                if place.as_ref().is_some_and(|w| w.tables == tables) {
                    return Ok(place.take());
                }
            }
            // One bound for every thread the engine makes (threads.rs).
            if !inner.reserve_thread() {
                return Ok(None);
            }
        }
        Worker::spawn(self.clone()).map(Some).inspect_err(|_| self.thread_not_started())
    }

    /// Puts `w` back among the idle workers, unless its thread is gone.
    /// Fails only for lack of memory.
    pub(crate) fn park(&self, w: Arc<Worker>) -> Result {
        let mut inner = self.inner.lock();
        // Checked under `inner`, which the exiting thread takes after
        // setting `gone` (see `worker_main`): a gone worker is never added.
        if w.gone.load(Ordering::Acquire) {
            drop(inner);
            drop(w);
            return Ok(());
        }
        if let Some(place) = inner.idle.iter_mut().find(|p| p.is_none()) {
            *place = Some(w);
            return Ok(());
        }
        // Under a spinlock: no sleeping allocation.
        let res = inner.idle.push(Some(w), GFP_ATOMIC);
        drop(inner);
        res.map_err(|_| ENOMEM)
    }

    /// Takes `w` out of the idle workers; false if it was not parked
    /// (a submitter took it).
    pub(crate) fn unpark(&self, w: &Worker) -> bool {
        let taken = {
            let mut inner = self.inner.lock();
            inner
                .idle
                .iter_mut()
                .find(|p| p.as_ref().is_some_and(|x| ptr::eq(&**x, w)))
                .and_then(|p| p.take())
        };
        // Dropped unlocked; the thread still holds its own reference.
        taken.is_some()
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


/// Fills `out` with the counters of the process whose `signal_struct` is
/// `sig` (zeros if it never used the engine). For /proc/<pid>/syslet.
///
/// # Safety
///
/// `sig` must be the `signal_struct` of a task the caller holds a
/// reference to; `out` must be valid for a write.
#[no_mangle]
pub unsafe extern "C" fn syslet_rs_stats(sig: *mut bindings::signal_struct, out: *mut bindings::syslet_stats) {
    // SAFETY: `sig` lives as long as the caller's task reference (the
    // contract); the field is written once, atomically
    // (`Process::of_current`).
    let field = unsafe { AtomicPtr::from_ptr(ptr::addr_of_mut!((*sig).syslet_process)) };
    let p = field.load(Ordering::Acquire) as *const Process;
    let mut st = bindings::syslet_stats::default();
    if !p.is_null() {
        // SAFETY: the field's reference keeps the Process alive as long as
        // `sig` is.
        let p = unsafe { &*p };
        let (alive, peak, spares) = {
            let inner = p.inner.lock();
            (inner.alive, inner.peak, inner.spares_alive)
        };
        st.atoms_inline = p.stats.atoms_inline.load(Ordering::Relaxed);
        st.atoms_async_thread = p.stats.atoms_async_thread.load(Ordering::Relaxed);
        st.chains = p.stats.chains.load(Ordering::Relaxed);
        st.chains_async = p.stats.chains_async.load(Ordering::Relaxed);
        st.completions = p.post_count.load(Ordering::Relaxed);
        st.threads_alive = alive as u64;
        st.threads_peak = peak as u64;
        st.handoffs = p.stats.handoffs.load(Ordering::Relaxed);
        st.spares_alive = spares as u64;
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
    // SAFETY: `sig` is being freed: no task reads its main flow.
    unsafe { bindings::syslet_main_flow_free(sig) };
    // SAFETY: called once, when `sig` is freed; no thread can use it.
    let p = unsafe { (*sig).syslet_process };
    if !p.is_null() {
        // SAFETY: the field's reference (see `Process::of_current`).
        drop(unsafe { Arc::from_raw(p as *const Process) });
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
    // SAFETY: `task` is live (the contract) and its `signal_struct` lives
    // at least as long; the field is written once, atomically
    // (`Process::of_current`).
    let field = unsafe { AtomicPtr::from_ptr(core::ptr::addr_of_mut!((*(*task).signal).syslet_process)) };
    let p = field.load(Ordering::Acquire) as *const Process;
    if !p.is_null() {
        // SAFETY: the field's reference keeps the process state alive as
        // long as the `signal_struct`.
        unsafe { &*p }.identity.advance();
    }
}
