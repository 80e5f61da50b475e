// SPDX-License-Identifier: GPL-2.0

//! Async threads and the per-process state of the engine.
//!
//! C header: [`include/linux/syslet.h`](srctree/include/linux/syslet.h).
//!
//! # Threads
//!
//! An async thread is an io thread of the process (`create_io_thread()`:
//! it shares the submitter's mm, files, fs and signal handlers, lives in
//! its thread group, never returns to user space, and has every signal but
//! SIGKILL and SIGSTOP blocked), marked `PF_SYSLET_WORKER`, with its
//! [`Worker`] in `worker_private`. Threads are created on demand by the
//! submitting task in `async_exec()` (never from the scheduler hook), at
//! most `/proc/sys/kernel/syslet_max_threads` per process, and exit after
//! `/proc/sys/kernel/syslet_idle_msecs` without work, on a fatal signal
//! (`kill -9`, `exit_group()`, `execve()` all deliver one to every thread
//! of the group), or when parking fails for lack of memory.
//!
//! # Handing a chain over
//!
//! The submitter puts a [`Job`] (numbered: `Slot::seq`) into the worker's
//! slot, sets the state to `RUNNING` and waits on `chain_state` until its
//! job number shows up in `Slot::detached` or `Slot::done`. The chain is *detached* (state
//! `DETACHED`) by the first of: the scheduler calling
//! [`syslet_worker_sleeping`] because the worker is about to block (unless
//! inside a `SYSLET_SYNC` atom), an atom flagged `SYSLET_ASYNC`, or a
//! signal to the submitter. If the chain ends first, the worker stores its
//! end and sets `DONE`. Each transition is a compare-exchange made under
//! the worker's `slot` lock, and every waiter re-checks the state under that
//! lock, so no wake-up is lost. A detached chain is posted to the ring by
//! the worker, which then parks itself; a finished one is read and the
//! worker parked by the submitter (so the worker is never reused before
//! its result was taken).
//!
//! # Locks
//!
//! `Process::ring_lock` (a mutex, serializes posting to the rings of the
//! process) may be held when taking `Worker::slot` (the scheduler hook can
//! run while the worker sleeps on `ring_lock`). `Process::inner` and
//! `Worker::slot` are never held together. Nothing sleeps under a
//! spinlock; the scheduler hook takes only `Worker::slot`, never sleeps and
//! never allocates.

use crate::{
    abi::{flags, AsyncHead, SLOT_SIZE},
    engine::{self, ChainEnd, Runner},
    identity::Identity,
    trace::{self, AsyncReason},
};
use core::{
    ffi::{c_int, c_void},
    ptr,
    sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering},
};
use kernel::{
    bindings, c_str, new_condvar, new_mutex, new_spinlock,
    prelude::*,
    sync::{Arc, ArcBorrow, CondVar, CondVarTimeoutResult, Mutex, SpinLock},
    uaccess::UserSlice,
};

const IDLE: u32 = 0;
const RUNNING: u32 = 1;
const DETACHED: u32 = 2;
const DONE: u32 = 3;

pub(crate) fn sysctl(v: *const u32) -> u32 {
    // SAFETY: `v` is one of the sysctl variables of syslet/sysctl.c, which
    // live forever; a racy read of an aligned u32 is fine for a tunable.
    unsafe { ptr::read_volatile(v) }
}

pub(crate) fn msecs_to_jiffies(ms: u32) -> usize {
    // SAFETY: a pure conversion.
    unsafe { bindings::__msecs_to_jiffies(ms) as usize }
}

/// The current task, read from this CPU's `pcpu_hot.current_task` as the
/// C `get_current()` does. Inline: the engine asks for it several times
/// per atom, and a call to the `rust_helper_get_current()` wrapper costs
/// a call and a return each time (the price of which an emulating CPU
/// makes visible).
#[cfg(CONFIG_SMP)]
#[inline(always)]
pub(crate) fn current() -> *mut bindings::task_struct {
    let task: *mut bindings::task_struct;
    // SAFETY: on SMP kernels per-CPU variables are addressed through %gs,
    // and `current_task` is the first word of `pcpu_hot` (asserted
    // below); whichever CPU the task runs on, the word names the task
    // itself.
    unsafe {
        core::arch::asm!(
            "movq %gs:{hot}, {task}",
            hot = sym bindings::pcpu_hot,
            task = out(reg) task,
            options(att_syntax, nostack, readonly, preserves_flags),
        );
    }
    task
}

#[cfg(CONFIG_SMP)]
const _: () = assert!(
    core::mem::offset_of!(bindings::pcpu_hot, __bindgen_anon_1) == 0
        && core::mem::offset_of!(bindings::pcpu_hot__bindgen_ty_1__bindgen_ty_1, current_task) == 0
);

/// The current task (uniprocessor kernels: per-CPU variables are plain
/// globals there, reached by the C helper).
#[cfg(not(CONFIG_SMP))]
#[inline(always)]
pub(crate) fn current() -> *mut bindings::task_struct {
    // SAFETY: always valid in process context.
    unsafe { bindings::get_current() }
}

/// `TIF_SIGPENDING` and `TIF_NEED_RESCHED` as bits of `thread_info.flags`.
const TIF_SIGPENDING_BIT: usize = 1 << bindings::TIF_SIGPENDING;
const TIF_NEED_RESCHED_BIT: usize = 1 << bindings::TIF_NEED_RESCHED;

/// The current task's `thread_info.flags`.
#[inline(always)]
fn thread_flags() -> usize {
    // SAFETY: `current`'s own thread_info; the flags are set by other
    // CPUs with atomic bit operations, a racy read sees either value.
    unsafe { ptr::read_volatile(ptr::addr_of!((*current()).thread_info.flags)) as usize }
}

/// Whether the current task must stop what it is doing in the kernel
/// soon: a signal is pending or the scheduler wants the CPU. One load;
/// the caller then looks closer (`fatal_signal_pending()`,
/// `cond_resched()`).
#[inline(always)]
pub(crate) fn attention() -> bool {
    thread_flags() & (TIF_SIGPENDING_BIT | TIF_NEED_RESCHED_BIT) != 0
}

/// Whether a signal is pending for the current task (a cheap test in
/// front of the `fatal_signal_pending()` call).
#[inline(always)]
pub(crate) fn signal_pending() -> bool {
    thread_flags() & TIF_SIGPENDING_BIT != 0
}

/// Counts one live object in a `/sys/kernel/debug/syslet/live_*` counter
/// for as long as it exists.
pub(crate) struct Live(*mut u64);

impl Live {
    pub(crate) fn new(counter: *mut u64) -> Live {
        // SAFETY: `counter` is one of the u64s of syslet/debugfs.c, which
        // live forever and are only ever updated atomically.
        unsafe { AtomicU64::from_ptr(counter) }.fetch_add(1, Ordering::Relaxed);
        Live(counter)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // SAFETY: as in `new`.
        unsafe { AtomicU64::from_ptr(self.0) }.fetch_sub(1, Ordering::Relaxed);
    }
}

// SAFETY: the pointer is to a global counter updated atomically.
unsafe impl Send for Live {}
// SAFETY: as above.
unsafe impl Sync for Live {}

/// The state of one process (thread group), hung off its `signal_struct`.
#[pin_data]
pub(crate) struct Process {
    /// Idle workers, parked spare threads and thread counts.
    #[pin]
    pub(crate) inner: SpinLock<ProcessInner>,
    /// Spare threads in `ProcessInner::spares` (read without the lock).
    pub(crate) idle_spares: AtomicUsize,
    /// What the parked spares share with their maker (`handoff::spare_key`).
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
    _live: Live,
}

/// Per-process counters (relaxed: statistics, not synchronization).
pub(crate) struct Stats {
    atoms_inline: AtomicU64,
    atoms_async_thread: AtomicU64,
    chains: AtomicU64,
    chains_async: AtomicU64,
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
    /// Parked spare threads of the handoff, the same way.
    pub(crate) spares: KVec<Option<Arc<crate::handoff::Spare>>>,
    /// Spare threads alive.
    pub(crate) spares_alive: usize,
    /// Async threads alive.
    pub(crate) alive: usize,
    /// Most async threads alive at once.
    peak: usize,
}

impl Process {
    fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            inner <- new_spinlock!(
                ProcessInner { idle: KVec::new(), spares: KVec::new(), spares_alive: 0, alive: 0, peak: 0 },
                "syslet::Process::inner"
            ),
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
    /// A worker shares the files, fs and namespaces of the thread that
    /// made it, for good (io threads never unshare): only a caller that
    /// has the same ones gets it, so that an atom never runs against
    /// another thread's fd table, root or cwd (a thread may have unshared
    /// them).
    pub(crate) fn get_worker(self: &Arc<Self>) -> Result<Option<Arc<Worker>>> {
        let tables = Tables::of_current();
        {
            let mut inner = self.inner.lock();
            for place in inner.idle.iter_mut() {
                if place.as_ref().is_some_and(|w| w.tables == tables) {
                    return Ok(place.take());
                }
            }
            let max = sysctl(ptr::addr_of!(bindings::sysctl_syslet_max_threads));
            // One bound for every thread the engine makes (see
            // `Process::count_spare` in handoff.rs).
            if inner.alive + inner.spares_alive >= max as usize {
                return Ok(None);
            }
            inner.alive += 1;
            inner.peak = inner.peak.max(inner.alive);
        }
        Worker::spawn(self.clone()).map(Some).inspect_err(|_| self.inner.lock().alive -= 1)
    }

    /// Puts `w` back among the idle workers, unless its thread is gone.
    /// Fails only for lack of memory.
    fn park(&self, w: Arc<Worker>) -> Result {
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
    fn unpark(&self, w: &Worker) -> bool {
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

    fn thread_exited(&self) {
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
            if dying() || (signal_pending() && engine::serve_stops()) {
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

/// What a worker runs.
pub(crate) enum Work {
    /// A syslet chain: its first atom and its ring.
    Chain {
        /// User address of the first atom.
        first: usize,
        /// User address of the `async_head_user`.
        ahu: usize,
    },
    /// An fs/aio.c read or write (`aio/`); always detached.
    #[cfg(CONFIG_SYSLET_AIO)]
    Aio(crate::aio::AioRw),
    /// A work item (fs/aio.c's fsync): its function runs on the thread;
    /// always detached, and always run, even when the process is dying
    /// (it completes a request fs/aio.c waits for).
    #[cfg(CONFIG_SYSLET_AIO)]
    Callback(crate::aio::WorkItem),
}

/// Work handed to a worker, with the submitter's credentials.
struct Job {
    work: Work,
    creds: Creds,
    /// The process's identity generation at submission.
    identity: u64,
    _live: Live,
}

impl Job {
    fn new(work: Work, identity: &Identity) -> Job {
        Job {
            work,
            creds: Creds::of_current(),
            identity: identity.now(),
            _live: Live::new(ptr::addr_of_mut!(bindings::syslet_live_jobs)),
        }
    }
}

/// A reference to the submitter's credentials as of submission.
struct Creds(*const bindings::cred);

impl Creds {
    fn of_current() -> Creds {
        // SAFETY: takes a reference to `current`'s credentials.
        Creds(unsafe { bindings::get_current_cred() })
    }
}

impl Drop for Creds {
    fn drop(&mut self) {
        // SAFETY: `self.0` holds the reference taken in `of_current`.
        unsafe { bindings::put_cred(self.0) };
    }
}

// SAFETY: a cred reference may be dropped from any task.
unsafe impl Send for Creds {}

struct Slot {
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

/// The files, fs and namespaces a task sees, by pointer.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Tables {
    files: usize,
    fs: usize,
    nsproxy: usize,
}

impl Tables {
    fn of_current() -> Tables {
        let t = current();
        // SAFETY: `current`'s own pointers, which only it changes.
        unsafe { Tables { files: (*t).files as usize, fs: (*t).fs as usize, nsproxy: (*t).nsproxy as usize } }
    }
}

/// One async thread.
#[pin_data]
pub(crate) struct Worker {
    process: Arc<Process>,
    /// What its thread shares with the task that made it.
    tables: Tables,
    #[pin]
    slot: SpinLock<Slot>,
    /// The worker waits here for a job.
    #[pin]
    job_posted: CondVar,
    /// The submitter waits here for `DETACHED` or `DONE`.
    #[pin]
    chain_state: CondVar,
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
    _live: Live,
}

impl Worker {
    fn spawn(process: Arc<Process>) -> Result<Arc<Worker>> {
        let w = Arc::pin_init(
            pin_init!(Worker {
                process,
                tables: Tables::of_current(),
                slot <- new_spinlock!(
                    Slot { job: None, first: 0, seq: 0, detached: 0, done: 0, end: None, exiting: false },
                    "syslet::Worker::slot"
                ),
                job_posted <- new_condvar!("syslet::Worker::job_posted"),
                chain_state <- new_condvar!("syslet::Worker::chain_state"),
                state: AtomicU32::new(IDLE),
                in_sync_atom: AtomicBool::new(false),
                in_job: AtomicBool::new(false),
                dying: AtomicBool::new(false),
                gone: AtomicBool::new(false),
                job_identity: AtomicU64::new(0),
                _live: Live::new(ptr::addr_of_mut!(bindings::syslet_live_workers)),
            }),
            GFP_KERNEL_ACCOUNT,
        )?;
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
        let thread_ref = Arc::into_raw(w.clone()) as *mut c_void;
        // SAFETY: clones the current task as an io thread running
        // `worker_main(thread_ref)`; the thread starts only at
        // `wake_up_new_task`.
        let task = unsafe { bindings::create_io_thread(Some(worker_main), thread_ref, -1) };
        let task = match kernel::error::from_err_ptr(task) {
            Ok(t) => t,
            Err(e) => {
                // SAFETY: the thread was not created; take the reference back.
                drop(unsafe { Arc::from_raw(thread_ref as *const Worker) });
                return Err(e);
            }
        };
        // SAFETY: `task` is new and not running yet: nobody else looks at
        // these fields. `worker_private` points into the Arc the thread
        // owns, and is cleared by the thread before it drops that Arc.
        unsafe {
            (*task).worker_private = thread_ref;
            (*task).flags |= bindings::PF_SYSLET_WORKER;
            bindings::wake_up_new_task(task);
        }
        Ok(w)
    }

    /// Runs the chain at `first` on this worker and waits until it is
    /// detached or finished. Parks the worker again when it finished.
    pub(crate) fn submit(self: Arc<Self>, first: usize, ahu: usize) -> Result<Submitted> {
        let job = Job::new(Work::Chain { first, ahu }, &self.process.identity);
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
        self.job_posted.notify_one();
        let end = loop {
            if slot.detached == me {
                return Ok(Submitted::Detached);
            }
            if slot.done == me {
                break slot.end.take();
            }
            if self.chain_state.wait_interruptible(&mut slot)
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
        let process = self.process.clone();
        // A worker that cannot be parked is told to exit.
        if process.park(self.clone()).is_err() {
            self.slot.lock().exiting = true;
            self.job_posted.notify_one();
        }
        Ok(Submitted::Finished(end))
    }

    /// Hands `work` over without waiting: it runs detached. Gives the work
    /// back if the worker is exiting.
    #[cfg(CONFIG_SYSLET_AIO)]
    pub(crate) fn submit_detached(self: Arc<Self>, work: Work) -> core::result::Result<(), Work> {
        let job = Job::new(work, &self.process.identity);
        let mut slot = self.slot.lock();
        if slot.exiting {
            drop(slot);
            return Err(job.work);
        }
        slot.seq += 1;
        slot.detached = slot.seq;
        slot.job = Some(job);
        self.state.store(DETACHED, Ordering::Release);
        self.job_posted.notify_one();
        Ok(())
    }

    /// Whether the process is dying (see `dying`).
    fn is_dying(&self) -> bool {
        self.dying.load(Ordering::Acquire) || engine::fatal_signal_pending()
    }

    /// Detaches the running chain if it is still attached to its submitter.
    fn detach(&self, reason: AsyncReason) {
        let mut slot = self.slot.lock();
        if self.state.compare_exchange(RUNNING, DETACHED, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            slot.detached = slot.seq;
            trace::went_async(slot.first, reason);
            self.chain_state.notify_all();
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
            match self.job_posted.wait_interruptible_timeout(&mut slot, msecs_to_jiffies(idle_ms) as _) {
                CondVarTimeoutResult::Woken { .. } => {}
                CondVarTimeoutResult::Timeout => {
                    drop(slot);
                    // Idle too long: exit, unless a submitter just took us.
                    if self.process.unpark(self) {
                        self.slot.lock().exiting = true;
                    }
                }
                CondVarTimeoutResult::Signal { .. } => {
                    drop(slot);
                    // SAFETY: `ksignal` is plain data; zero is a valid value.
                    let mut ksig: bindings::ksignal = unsafe { core::mem::zeroed() };
                    // SAFETY: dequeues a signal for the current io thread;
                    // true means a fatal one, which io threads handle by
                    // exiting themselves.
                    if unsafe { bindings::get_signal(&mut ksig) } {
                        self.dying.store(true, Ordering::Release);
                        self.process.unpark(self);
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
            let old = unsafe { bindings::override_creds(job.creds.0) };
            let handed_back = match job.work {
                Work::Chain { first, ahu } => self.run_chain(first, ahu),
                #[cfg(CONFIG_SYSLET_AIO)]
                Work::Aio(rw) => {
                    if self.is_dying() {
                        rw.end_dying();
                    } else {
                        rw.run();
                    }
                    false
                }
                #[cfg(CONFIG_SYSLET_AIO)]
                Work::Callback(item) => {
                    item.run();
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
            if self.is_dying() || self.process.park(self.clone()).is_err() {
                self.slot.lock().exiting = true;
            }
        }
    }

    /// Runs a chain; hands its end to the submitter if still attached
    /// (returns true: the submitter then parks the worker), posts its
    /// completion otherwise.
    fn run_chain(&self, first: usize, ahu: usize) -> bool {
        let end = engine::run_chain(first, None, &WorkerRunner(self));
        let stats = &self.process.stats;
        stats.chains.fetch_add(1, Ordering::Relaxed);
        stats.atoms_async_thread.fetch_add(end.atoms, Ordering::Relaxed);
        {
            let mut slot = self.slot.lock();
            if self.state.compare_exchange(RUNNING, DONE, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                slot.end = Some(end);
                slot.done = slot.seq;
                self.chain_state.notify_all();
                return true;
            }
        }
        stats.chains_async.fetch_add(1, Ordering::Relaxed);
        let posted = end.last_flags & flags::NO_COMPLETE == 0
            && !self.is_dying()
            && self.process.post(ahu, end.last, &|| self.is_dying());
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

    /// Detached: the submitter may have changed its identity since.
    fn stale(&self) -> bool {
        self.0.state.load(Ordering::Acquire) == DETACHED
            && self.0.process.identity.changed_since(self.0.job_identity.load(Ordering::Relaxed))
    }

    /// An async thread blocks every signal but SIGKILL and SIGSTOP: stop
    /// for job control and the freezer, end the chain for a fatal signal.
    fn signalled(&self) -> Result {
        if engine::serve_stops() {
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
    // SAFETY: `arg` is the thread's reference (see `Worker::spawn`).
    let me = unsafe { Arc::from_raw(arg as *const Worker) };
    // SAFETY: names the current thread; the string is NUL-terminated.
    unsafe { bindings::__set_task_comm(current(), c_str!("syslet").as_char_ptr(), false) };
    me.serve();
    // After `gone`, `park` refuses the worker; then take it out of the
    // idle list in case a park came first.
    me.gone.store(true, Ordering::Release);
    me.process.unpark(&me);
    me.process.thread_exited();
    // SAFETY: the scheduler hook must not see the Worker once it is gone.
    unsafe { (*current()).worker_private = ptr::null_mut() };
    drop(me);
    // SAFETY: io threads end in do_exit(); nothing of ours is left.
    unsafe { bindings::do_exit(0) }
}

/// Scheduler hook: the async thread `tsk` is about to sleep. If it is
/// running an attached chain outside a `SYSLET_SYNC` atom, the chain is
/// detached and its submitter woken.
///
/// Called from `sched_submit_work()`: takes one spinlock, never sleeps or
/// allocates.
#[no_mangle]
pub extern "C" fn syslet_worker_sleeping(tsk: *mut bindings::task_struct) {
    // SAFETY: `tsk` is the current task (sched_submit_work passes current).
    let w = unsafe { (*tsk).worker_private } as *const Worker;
    if w.is_null() {
        return;
    }
    // SAFETY: a non-null `worker_private` of a PF_SYSLET_WORKER thread
    // points to its live Worker (see `worker_main`).
    let w = unsafe { &*w };
    if w.state.load(Ordering::Acquire) == RUNNING
        && w.in_job.load(Ordering::Acquire)
        && !w.in_sync_atom.load(Ordering::Acquire)
    {
        w.detach(AsyncReason::Blocked);
    }
}

/// Fills `out` with the counters of the process whose `signal_struct` is
/// `sig` (zeros if it never used the engine). For /proc/<pid>/syslet.
#[no_mangle]
pub extern "C" fn syslet_rs_stats(sig: *mut bindings::signal_struct, out: *mut bindings::syslet_stats) {
    // SAFETY: proc holds a reference to a task whose signal_struct is
    // `sig`; the field is written once, atomically (`Process::of_current`).
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
    // SAFETY: `out` points to the caller's struct.
    unsafe { out.write(st) };
}

/// Releases a process's state with its `signal_struct`.
#[no_mangle]
pub extern "C" fn syslet_free_process(sig: *mut bindings::signal_struct) {
    // SAFETY: called once, when `sig` is freed; no thread can use it.
    let p = unsafe { (*sig).syslet_process };
    if !p.is_null() {
        // SAFETY: the field's reference (see `Process::of_current`).
        drop(unsafe { Arc::from_raw(p as *const Process) });
    }
}
