// SPDX-License-Identifier: GPL-2.0

//! Async threads: the engine's fallback when a chain cannot run in the
//! caller.
//!
//! # Threads
//!
//! An async thread is an io thread of the process (`create_io_thread()`:
//! it shares the submitter's mm, files, fs and signal handlers, lives in
//! its thread group, never returns to user space, and has every signal but
//! SIGKILL and SIGSTOP blocked), marked `PF_SYSLET_WORKER`, with its
//! [`Worker`] as its record ([`crate::task`]). Threads are created on
//! demand by the submitting task in `async_exec()` (never from the
//! scheduler hook), at most `/proc/sys/kernel/syslet_max_threads` per
//! process, and exit after `/proc/sys/kernel/syslet_idle_msecs` without
//! work, or on a fatal signal (`kill -9`, `exit_group()`, `execve()` all
//! deliver one to every thread of the group). Parking cannot fail: the
//! idle list is a [`List`] linked through the workers themselves.
//!
//! # Handing a chain over
//!
//! The submitter puts a [`Job`] (numbered: `Slot::seq`) into the worker's
//! slot, sets the state to `RUNNING` and waits until its job number shows
//! up in `Slot::detached` or `Slot::done`. The chain is *detached* (state
//! `DETACHED`) by the first of: the scheduler calling
//! [`syslet_worker_sleeping`] because the worker is about to block (unless
//! inside a `SYSLET_SYNC` atom), an atom flagged `SYSLET_ASYNC`, or a
//! signal to the submitter. If the chain ends first, the worker stores its
//! end and sets `DONE`. Each transition is a compare-exchange made under
//! the worker's `slot` lock, and every waiter re-checks the state under
//! that lock, so no wake-up is lost. A detached chain is posted to the
//! ring by the worker, which then parks itself; a finished one is read and
//! the worker parked by the submitter (so the worker is never reused
//! before its result was taken).
//!
//! # Locks
//!
//! `Worker::slot` is a [`RawSpinLock`]: the scheduler hook takes it. The
//! two waits on it (the thread for a job, the submitter for its job's
//! state) use [`crate::wait`]. Under it: no allocation, no `spinlock_t`,
//! no last reference dropped (a job is moved in and out, never dropped
//! there). `Shared::ring_lock` (a mutex) may be held when taking it (the
//! hook can run while the worker sleeps on `ring_lock`);
//! `Shared::inner` and `WorkerPool::idle` are never held with it.

use crate::{
    abi::flags,
    engine::{self, ChainEnd, Runner},
    job::{Cred, Detached, Job, Tables, Work},
    prim::{self, current, sysctl, under_seccomp, Live},
    signals,
    task::{self, Kind, Tag},
    trace::{self, AsyncReason},
    wait::{self, Waiter, Woke},
};
use core::{
    ffi::{c_int, c_void},
    ptr,
    sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
};
use kernel::{
    bindings, c_str,
    // `TryNewListArc`: 6.12's `impl_list_arc_safe!` names it unqualified.
    list::{impl_has_list_links, impl_list_arc_safe, impl_list_item},
    list::{AtomicTracker, ListLinks, TryNewListArc},
    new_raw_spinlock,
    prelude::*,
    sync::{Arc, RawSpinLock},
    time::msecs_to_jiffies,
    types::ForeignOwnable,
};

#[cfg(CONFIG_SYSLET_KUNIT_TEST)]
pub(crate) mod kunit;
mod pool;
pub(crate) use pool::WorkerPool;

const IDLE: u32 = 0;
const RUNNING: u32 = 1;
const DETACHED: u32 = 2;
const DONE: u32 = 3;

pub(crate) struct Slot {
    job: Option<Job>,
    /// First atom of the job handed over last (for tracing).
    first: usize,
    /// Number of the last job handed over; jobs are numbered so that a
    /// submitter never mistakes a later job's state for its own.
    seq: u64,
    /// Number of the last job detached.
    detached: u64,
    /// Number of the last job that finished attached, and its end.
    done: u64,
    end: Option<ChainEnd>,
    exiting: bool,
    /// The worker's thread, waiting for a job.
    thread: Waiter,
    /// The submitter, waiting for its job to detach or finish.
    submitter: Waiter,
}

/// What `Worker::submit` saw.
pub(crate) enum Submitted {
    /// The chain went asynchronous; its completion will be posted.
    Detached,
    /// The chain finished without going asynchronous.
    Finished(ChainEnd),
    /// The worker was exiting; nothing ran.
    Refused,
}

/// One async thread.
#[pin_data]
#[repr(C)]
pub(crate) struct Worker {
    /// Its thread's record ([`crate::task`]).
    tag: Tag,
    pool: Arc<WorkerPool>,
    /// What its thread shares with the task that made it.
    tables: Tables,
    /// Taken by the scheduler hook: raw.
    #[pin]
    slot: RawSpinLock<Slot>,
    state: AtomicU32,
    /// Inside a `SYSLET_SYNC` atom: blocking does not detach.
    in_sync_atom: AtomicBool,
    /// The thread is running a job it took. Sleeping outside one (about
    /// to wait for the job, or in task work after the last one) must not
    /// detach a chain the submitter has just handed over.
    in_job: AtomicBool,
    /// `get_signal()` took a fatal signal: SIGKILL is no longer pending
    /// (nor can it be sent again), so this flag is what says the process
    /// is dying. Work handed over after that is ended, not run.
    dying: AtomicBool,
    /// The thread has left `serve()`: `park` must not add the worker back.
    gone: AtomicBool,
    /// The process's identity generation when the running job was
    /// submitted (only the worker's thread uses it).
    job_identity: AtomicU64,
    /// Its place in `WorkerPool::idle` while parked.
    #[pin]
    links: ListLinks,
    /// Whether the `ListArc` that `idle` holds exists.
    #[pin]
    list_tracker: AtomicTracker,
    _live: Live,
}

impl_has_list_links! { impl HasListLinks<0> for Worker { self.links } }
impl_list_arc_safe! { impl ListArcSafe<0> for Worker { tracked_by list_tracker: AtomicTracker; } }
impl_list_item! { impl ListItem<0> for Worker { using ListLinks; } }

// SAFETY: `Worker` is `#[repr(C)]` and begins with its `Tag`, the only
// record installed with `Kind::Worker` (`Worker::spawn`).
unsafe impl task::Recorded for Worker {
    fn of_kind(kind: Kind) -> bool {
        kind == Kind::Worker
    }
}

impl Worker {
    /// A worker without its thread yet ([`Worker::spawn`]).
    fn new(pool: Arc<WorkerPool>) -> Result<Arc<Worker>> {
        Arc::pin_init(
            pin_init!(Worker {
                tag: Tag(Kind::Worker),
                pool,
                tables: Tables::of_current(),
                slot <- new_raw_spinlock!(
                    Slot {
                        job: None,
                        first: 0,
                        seq: 0,
                        detached: 0,
                        done: 0,
                        end: None,
                        exiting: false,
                        thread: Waiter::new(),
                        submitter: Waiter::new(),
                    },
                    "syslet::Worker::slot"
                ),
                state: AtomicU32::new(IDLE),
                in_sync_atom: AtomicBool::new(false),
                in_job: AtomicBool::new(false),
                dying: AtomicBool::new(false),
                gone: AtomicBool::new(false),
                job_identity: AtomicU64::new(0),
                links <- ListLinks::new(),
                list_tracker <- AtomicTracker::new(),
                _live: Live::new(ptr::addr_of_mut!(bindings::syslet_live_workers)),
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    fn spawn(pool: Arc<WorkerPool>) -> Result<Arc<Worker>> {
        let w = Worker::new(pool)?;
        // Async threads share the submitter's io_context (CLONE_IO), so an
        // I/O scheduler sees one stream per submitter, not one per thread
        // (the cfq problem of 2007). A task gets its io_context lazily, on
        // its first I/O; CLONE_IO of a task without one shares nothing, so
        // make it now (class NONE, level 0: what a missing one means).
        // SAFETY: `current` is valid; only `current` sets its own field.
        if unsafe { (*current()).io_context.is_null() } {
            // SAFETY: as above. Best effort: without memory the thread
            // gets its own io_context later, as io-wq workers would.
            let _ = unsafe { bindings::set_task_ioprio(current(), 0) };
        }
        let thread_ref = w.clone().into_foreign() as *mut c_void;
        // SAFETY: clones the current task as an io thread running
        // `worker_main(thread_ref)`; the thread starts only at
        // `wake_up_new_task`.
        let task = unsafe { bindings::create_io_thread(Some(worker_main), thread_ref, -1) };
        let task = match kernel::error::from_err_ptr(task) {
            Ok(t) => t,
            Err(e) => {
                // SAFETY: the thread was not created; take the reference back.
                drop(unsafe { <Arc<Worker> as ForeignOwnable>::from_foreign(thread_ref) });
                return Err(e);
            }
        };
        // SAFETY: `task` is new and not running yet. The record is the
        // Worker the thread's reference keeps alive (`tag` is its first
        // field), uninstalled by the thread before it drops that reference.
        unsafe {
            task::install(task, ptr::addr_of!(w.tag), bindings::PF_SYSLET_WORKER);
            bindings::wake_up_new_task(task);
        }
        Ok(w)
    }

    /// Runs the chain at `first` on this worker and waits until it is
    /// detached or finished. Parks the worker again when it finished.
    pub(crate) fn submit(self: Arc<Self>, first: usize, ahu: usize) -> Result<Submitted> {
        let job = Job::new(Work::Chain { first, ahu }, &self.pool.shared.identity);
        let mut slot = self.slot.lock();
        if slot.exiting {
            drop(slot);
            return Ok(Submitted::Refused);
        }
        slot.seq += 1;
        slot.first = first;
        let me = slot.seq;
        slot.job = Some(job);
        self.state.store(RUNNING, Ordering::Release);
        slot.thread.wake();
        let end = loop {
            if slot.detached == me {
                return Ok(Submitted::Detached);
            }
            if slot.done == me {
                break slot.end.take();
            }
            let woke;
            (slot, woke) = wait::wait(&self.slot, slot, |s| &mut s.submitter, wait::MAX_SCHEDULE_TIMEOUT);
            if woke == Woke::Signal
                && self.state.compare_exchange(RUNNING, DETACHED, Ordering::AcqRel, Ordering::Acquire).is_ok()
            {
                // A signal for the submitter: let it go, the chain continues.
                slot.detached = me;
                trace::went_async(first, AsyncReason::Signal);
                return Ok(Submitted::Detached);
            }
        };
        self.state.store(IDLE, Ordering::Release);
        drop(slot);
        let end = end.ok_or(EINVAL)?;
        self.pool.park(self.clone());
        Ok(Submitted::Finished(end))
    }

    /// Hands `work` over without waiting: it runs detached. Gives the work
    /// back if the worker is exiting.
    pub(crate) fn submit_detached<T: Detached + 'static>(
        self: Arc<Self>,
        work: KBox<T>,
    ) -> core::result::Result<(), KBox<T>> {
        let creds = Cred::of_current();
        let mut slot = self.slot.lock();
        if slot.exiting {
            drop(slot);
            return Err(work);
        }
        // SAFETY: the pointer comes from `KBox::into_raw` and goes straight
        // back into a box of the same allocation (unsized to the trait).
        let work = unsafe { KBox::from_raw(KBox::into_raw(work) as *mut dyn Detached) };
        let job = Job::with_creds(Work::Detached(work), creds, &self.pool.shared.identity);
        slot.seq += 1;
        slot.detached = slot.seq;
        slot.job = Some(job);
        self.state.store(DETACHED, Ordering::Release);
        slot.thread.wake();
        Ok(())
    }

    /// Whether the process is dying (see `dying`).
    fn is_dying(&self) -> bool {
        self.dying.load(Ordering::Acquire) || prim::fatal_signal_pending()
    }

    /// Detaches the running chain if it is still attached to its submitter.
    fn detach(&self, reason: AsyncReason) {
        let mut slot = self.slot.lock();
        if self.state.compare_exchange(RUNNING, DETACHED, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            slot.detached = slot.seq;
            trace::went_async(slot.first, reason);
            slot.submitter.wake();
        }
    }

    /// Waits for a job; `None` when the thread must exit. A job handed
    /// over before `exiting` was set is always returned (and run): work is
    /// never dropped on the floor.
    fn next_job(&self) -> Option<Job> {
        loop {
            let mut slot = self.slot.lock();
            if let Some(job) = slot.job.take() {
                self.in_job.store(true, Ordering::Release);
                return Some(job);
            }
            if slot.exiting {
                return None;
            }
            let idle_ms = sysctl(ptr::addr_of!(bindings::sysctl_syslet_idle_msecs));
            let woke;
            (slot, woke) = wait::wait(&self.slot, slot, |s| &mut s.thread, msecs_to_jiffies(idle_ms) as isize);
            match woke {
                Woke::Woken => {}
                Woke::Timeout => {
                    drop(slot);
                    // Idle too long: exit, unless a submitter just took us.
                    if self.pool.unpark(self) {
                        self.slot.lock().exiting = true;
                    }
                }
                Woke::Signal => {
                    drop(slot);
                    // True for a fatal signal, which an io thread handles
                    // by exiting itself.
                    if signals::take() {
                        self.dying.store(true, Ordering::Release);
                        self.pool.unpark(self);
                        self.slot.lock().exiting = true;
                    }
                }
            }
        }
    }

    /// The thread's life: run jobs until told to exit.
    fn serve(self: &Arc<Self>) {
        while let Some(job) = self.next_job() {
            self.job_identity.store(job.identity, Ordering::Relaxed);
            // SAFETY: `job.creds` holds a reference for the whole job.
            let old = unsafe { bindings::override_creds(job.creds.as_ptr()) };
            let handed_back = match job.work {
                Work::Chain { first, ahu } => self.run_chain(first, ahu),
                Work::Detached(mut work) => {
                    if work.run(self.is_dying()) {
                        self.dying.store(true, Ordering::Release);
                    }
                    // Freed here, outside any lock.
                    drop(work);
                    false
                }
            };
            self.in_job.store(false, Ordering::Release);
            // SAFETY: restores what `override_creds` returned.
            unsafe { bindings::revert_creds(old) };
            // A last `ppoll()` atom may have left its temporary mask: an
            // async thread takes no signal but SIGKILL and SIGSTOP.
            // SAFETY: process context, no lock held.
            unsafe { bindings::syslet_block_signals() };
            // Deferred work queued on this thread (the final fput of a
            // file an atom closed, ...) runs now, not at thread exit.
            // SAFETY: process context, no lock held.
            unsafe { bindings::task_work_run() };
            drop(job.creds);
            if handed_back {
                // The submitter takes the chain's end and parks us.
                continue;
            }
            self.state.store(IDLE, Ordering::Release);
            if self.is_dying() {
                self.slot.lock().exiting = true;
            } else {
                self.pool.park(self.clone());
            }
        }
    }

    /// Runs a chain; hands its end to the submitter if still attached
    /// (returns true: the submitter then parks the worker), posts its
    /// completion otherwise.
    fn run_chain(&self, first: usize, ahu: usize) -> bool {
        let end = engine::run_chain(first, None, &WorkerRunner(self));
        let stats = &self.pool.shared.stats;
        stats.chains.fetch_add(1, Ordering::Relaxed);
        stats.atoms_async_thread.fetch_add(end.atoms, Ordering::Relaxed);
        {
            let mut slot = self.slot.lock();
            if self.state.compare_exchange(RUNNING, DONE, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                slot.end = Some(end);
                slot.done = slot.seq;
                slot.submitter.wake();
                return true;
            }
        }
        stats.chains_async.fetch_add(1, Ordering::Relaxed);
        let posted = end.last_flags & flags::NO_COMPLETE == 0
            && !self.is_dying()
            && self.pool.shared.post(ahu, end.last, &|| self.is_dying());
        trace::complete(end.last, &end.result, posted);
        false
    }
}

struct WorkerRunner<'a>(&'a Worker);

impl Runner for WorkerRunner<'_> {
    fn go_async(&self) -> Result {
        self.0.detach(AsyncReason::AsyncFlag);
        Ok(())
    }

    fn sync_atom(&self, running: bool) {
        self.0.in_sync_atom.store(running, Ordering::Release);
    }

    fn dying(&self) -> bool {
        self.0.is_dying()
    }

    /// Detached: the submitter may have changed its identity since. And
    /// attached or not: a seccomp filter reached this thread. A chain is
    /// only handed over by a task not under seccomp (`engine`), to a
    /// thread made under no filter (`Tables`), so it came with TSYNC
    /// after the chain started, and the submitter has it too.
    fn stale(&self) -> bool {
        (self.0.state.load(Ordering::Acquire) == DETACHED
            && self.0.pool.shared.identity.changed_since(self.0.job_identity.load(Ordering::Relaxed)))
            || under_seccomp()
    }

    fn carries(&self) -> bool {
        true
    }

    /// An async thread blocks every signal but SIGKILL and SIGSTOP: stop
    /// for job control and the freezer, end the chain for a fatal signal.
    fn signalled(&self) -> Result {
        if signals::serve_stops() {
            self.0.dying.store(true, Ordering::Release);
        }
        if self.0.is_dying() {
            Err(EINTR)
        } else {
            Ok(())
        }
    }
}

/// Body of an async thread.
///
/// # Safety
///
/// Only `create_io_thread()` calls it, with the reference made by
/// `Worker::spawn`.
unsafe extern "C" fn worker_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the thread's reference, made by `into_foreign` in
    // `Worker::spawn`.
    let me = unsafe { <Arc<Worker> as ForeignOwnable>::from_foreign(arg) };
    me.pool.shared.thread_started(false);
    // SAFETY: names the current thread; the string is NUL-terminated.
    unsafe { bindings::__set_task_comm(current(), c_str!("syslet").as_char_ptr(), false) };
    me.serve();
    // After `gone`, `park` refuses the worker; then take it out of the
    // idle list in case a park came first.
    me.gone.store(true, Ordering::Release);
    me.pool.unpark(&me);
    me.pool.shared.thread_exited();
    // The scheduler hook must not see the Worker once it is gone; the flag
    // stays (io-wq's hook must not take this io thread for one of its own).
    task::uninstall(0);
    drop(me);
    // SAFETY: io threads end in do_exit(); nothing of ours is left.
    unsafe { bindings::do_exit(0) }
}

/// Scheduler hook: the async thread `tsk` is about to sleep. If it is
/// running an attached chain outside a `SYSLET_SYNC` atom, the chain is
/// detached and its submitter woken.
///
/// Called from `sched_submit_work()`: takes `Worker::slot` (raw), never
/// sleeps or allocates.
///
/// # Safety
///
/// `tsk` must be the current task, with `PF_SYSLET_WORKER` set (an async
/// thread, whose `worker_private` is its `Worker`).
#[no_mangle]
pub unsafe extern "C" fn syslet_worker_sleeping(tsk: *mut bindings::task_struct) {
    // SAFETY: the contract above.
    let Some(w) = (unsafe { task::record::<Worker>(tsk) }) else {
        return;
    };
    // SAFETY: the thread's reference, live until `worker_main` uninstalls
    // it (see there).
    let w = unsafe { &*w };
    if w.state.load(Ordering::Acquire) == RUNNING
        && w.in_job.load(Ordering::Acquire)
        && !w.in_sync_atom.load(Ordering::Acquire)
    {
        w.detach(AsyncReason::Blocked);
    }
}
