// SPDX-License-Identifier: GPL-2.0

//! Lines of detached work: jobs that mostly wait (for I/O already
//! started), run in turn by one async thread instead of a thread each.
//!
//! aio's cold reads are its one user ([`crate::aio`], `to_line`): their
//! device I/O starts inside `io_submit()`, and what is left to an async
//! thread is to wait for the pages and copy them. On a thread of its own
//! a cold read cost three wake-ups (its thread's when it was submitted,
//! the same thread's when the device answered, the reaper's in
//! `io_getevents()`), and 64 reads in flight kept 64 threads.
//!
//! A [`Line`] is a queue of such jobs and the threads draining it. A job
//! joins the line ([`Line::join`]) while a thread drains it; otherwise it
//! takes a worker, as any job does, inside a [`Drain`] job, and if the
//! line had no drainer the submitter counts that thread as its drainer at
//! once ([`Line::open`]), so that the jobs submitted before the thread
//! runs join the line too. The thread runs its own job, then the line's,
//! oldest first, and goes back to the pool when the line is empty. With
//! one thread draining, jobs end in the order they joined (aio's reads in
//! submission order, as stock's); a job passed on ends when its thread
//! finishes it.
//!
//! A job in a line may wait only for what the line's key names (aio: its
//! device). Before it would wait for anything else (for an aio read, a
//! file system's lock, or a destination page whose fault waits for a
//! userfaultfd pager, a FUSE daemon or NFS: any of which could wait for a
//! job behind it in the line) it passes the line on
//! ([`Detached::run_in_line`]): another thread takes the draining
//! thread's place if jobs wait, and the thread finishes that job alone.
//! When no thread can be had (the process's thread limit, no memory, a
//! signal pending) the job stops instead, before that wait
//! ([`InLine::Deferred`]), and the line *stalls*: no job joins it, the
//! thread drains the jobs in it, then leaves it and finishes the jobs that
//! stopped. So nothing in line waits behind a job that waits for anything
//! but the key: what that job waits for (a pager's own read, queued
//! behind it or submitted after) is read first, or not in the line.
//!
//! A line serves one *key* at a time, what its jobs wait on (aio: the
//! device), so that a job that waits long (a device that stopped
//! answering) holds up only jobs that would have waited as long; and a job
//! joins only a line drained by threads running as its submitter would: the same credentials (the same `struct cred`, which a job runs
//! with: `Job::creds`) and the same [`Tables`] (files, fs, namespaces,
//! seccomp filter, which the worker shares with the task that made it).
//! Otherwise, or when the line has no room (it grows with `GFP_NOWAIT`
//! under its lock), the caller gives the job a thread of its own.
//!
//! Between jobs a draining thread stops for job control and the freezer
//! (`signals::serve_stops()`), so that a busy line never keeps the
//! process from stopping; the process dying, it runs the jobs left with
//! `dying` set (they end without being done).
//!
//! # Locks
//!
//! `Line::inner`, a spinlock, is taken by submitters and by draining
//! threads, never together with another lock of the engine's. Under it
//! nothing sleeps and no job runs or is dropped.
//!
//! # Invariants
//!
//! `LineInner::drainers` counts the threads counted by [`Line::open`] (or
//! given such a thread's place when it passed the line on), until the
//! [`Line::next`] that returned `None` or [`Line::leave_if_empty`]. A job is in the line only
//! while `drainers > 0`: a job joins only then, and a thread leaves only
//! when it found the line empty, under the lock.

#[cfg(CONFIG_SYSLET_KUNIT_TEST)]
pub(crate) mod kunit;

use crate::{
    job::{Detached, InLine, Tables},
    prim::{self, current},
    signals,
    worker::WorkerPool,
};
use kernel::{
    bindings, new_spinlock,
    prelude::*,
    sync::{Arc, SpinLock},
};

/// Slots an empty line keeps (a line longer than that once, as at a queue
/// depth above it, frees them when it empties).
const LINE_KEPT: usize = 64;

/// A line of detached jobs (module documentation).
#[pin_data]
pub(crate) struct Line {
    #[pin]
    inner: SpinLock<LineInner>,
}

struct LineInner {
    /// The jobs waiting, oldest at `head`; the slots before it are empty.
    jobs: KVec<Option<KBox<dyn Detached>>>,
    head: usize,
    /// Threads draining the line (module invariants).
    drainers: usize,
    /// While `drainers > 0`: what the jobs wait on, and who the draining
    /// threads run as (the address of their credentials, their tables).
    key: usize,
    creds: usize,
    tables: Option<Tables>,
    /// Its drainer waits for something other than the key: no job joins.
    stalled: bool,
}

/// The current task's credentials (by address: only compared) and
/// tables. For an async thread running a job, the job's credentials
/// (`override_creds()`), which are its submitter's.
fn whoami() -> (usize, Tables) {
    // SAFETY: `current`'s own subjective credentials pointer, read and
    // not dereferenced.
    let creds = unsafe { (*current()).cred } as usize;
    (creds, Tables::of_current())
}

impl LineInner {
    /// The current thread leaves the line, found empty: a line that grew
    /// long gives its memory back; a stalled one takes jobs again.
    fn leave(&mut self) {
        if self.jobs.capacity() > LINE_KEPT {
            // Empty slots only (every job was taken): freed, not dropped
            // jobs, which is allowed under the lock.
            self.jobs = KVec::new();
        } else {
            // SAFETY: every slot was taken (`None`): nothing is left
            // behind.
            unsafe { self.jobs.set_len(0) };
        }
        self.head = 0;
        self.drainers -= 1;
        self.stalled = false;
    }

    fn admits(&self, key: usize, who: &(usize, Tables)) -> bool {
        !self.stalled && self.key == key && self.creds == who.0 && self.tables == Some(who.1)
    }

    /// Moves the waiting jobs to the front, reusing the slots of those
    /// taken: the line grows only with the jobs waiting at once.
    fn compact(&mut self) {
        let (head, len) = (self.head, self.jobs.len());
        let slots = self.jobs.as_mut_slice();
        for i in head..len {
            slots[i - head] = slots[i].take();
        }
        // SAFETY: the slots from `len - head` on were taken (`None`):
        // shortening leaves nothing behind that holds anything.
        unsafe { self.jobs.set_len(len - head) };
        self.head = 0;
    }
}

impl Line {
    pub(crate) fn new() -> Result<Arc<Line>> {
        Arc::pin_init(
            pin_init!(Line {
                inner <- new_spinlock!(
                    LineInner {
                        jobs: KVec::new(),
                        head: 0,
                        drainers: 0,
                        key: 0,
                        creds: 0,
                        tables: None,
                        stalled: false,
                    },
                    "syslet::Line::inner"
                ),
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    /// Puts `job`, which waits on `key`, at the end of the line if a
    /// thread drains it for that key that may run it; gives it back
    /// otherwise.
    pub(crate) fn join<T: Detached + 'static>(&self, key: usize, job: KBox<T>) -> core::result::Result<(), KBox<T>> {
        let who = whoami();
        let mut inner = self.inner.lock();
        if inner.drainers == 0 || !inner.admits(key, &who) {
            return Err(job);
        }
        if inner.head > 0 && inner.jobs.len() == inner.jobs.capacity() {
            inner.compact();
        }
        // Room first: `push` drops what it cannot store, and a job dropped
        // unrun would leave its request incomplete.
        if inner.jobs.reserve(1, GFP_NOWAIT).is_err() {
            return Err(job);
        }
        // SAFETY: the pointer comes from `KBox::into_raw` and goes straight
        // back into a box of the same allocation (unsized to the trait).
        let job = unsafe { KBox::from_raw(KBox::into_raw(job) as *mut dyn Detached) };
        // With room reserved, `push` stores without allocating.
        let _ = inner.jobs.push(Some(job), GFP_NOWAIT);
        Ok(())
    }

    /// A thread will drain the line for `key`, as the current task runs:
    /// called by a submitter that holds a worker for a [`Drain`] job, or
    /// by a draining thread (its job's credentials). True when the line
    /// had no drainer: it counts that thread from now on, so that the
    /// jobs submitted before it runs join the line instead of taking
    /// threads of their own; the caller then hands over a `Drain` made
    /// with `entered` (or, if that fails, calls [`Line::abandon`]).
    pub(crate) fn open(&self, key: usize) -> bool {
        let who = whoami();
        let mut inner = self.inner.lock();
        if inner.drainers > 0 {
            return false;
        }
        inner.key = key;
        inner.creds = who.0;
        inner.tables = Some(who.1);
        inner.drainers = 1;
        true
    }

    /// A thread counted by [`Line::open`] never came (the process is
    /// dying: its worker was exiting): the jobs that joined meanwhile are
    /// run dying (they end without being done) by the caller, unless
    /// another thread drains the line.
    pub(crate) fn abandon(&self) {
        while let Some(mut job) = self.next() {
            job.run(true);
            drop(job);
        }
    }

    /// A job of the line stopped before a wait it may not make in line,
    /// no other thread being able to take the line: no job joins until
    /// the line is empty (its drainer then finishes that job) or another
    /// thread took it ([`Line::unstall`]).
    fn stall(&self) {
        self.inner.lock().stalled = true;
    }

    /// Another thread took the line: jobs join again.
    fn unstall(&self) {
        self.inner.lock().stalled = false;
    }

    /// The current thread leaves the line if no job waits in it.
    fn leave_if_empty(&self) -> bool {
        let mut inner = self.inner.lock();
        if inner.head < inner.jobs.len() {
            return false;
        }
        inner.leave();
        true
    }

    /// The oldest job of the line; `None` when it is empty, and then the
    /// thread has left it.
    fn next(&self) -> Option<KBox<dyn Detached>> {
        let mut inner = self.inner.lock();
        while inner.head < inner.jobs.len() {
            let i = inner.head;
            inner.head += 1;
            if let Some(job) = inner.jobs.as_mut_slice()[i].take() {
                return Some(job);
            }
        }
        inner.leave();
        None
    }
}

/// A worker's job: its own, then, if it was counted as the line's
/// drainer ([`Line::open`]), the line's.
pub(crate) struct Drain<T> {
    line: Arc<Line>,
    /// Where a drainer that must wait for something else finds a thread
    /// to pass the line on to.
    pool: Arc<WorkerPool>,
    /// What the line's jobs wait on ([`Line::join`]).
    key: usize,
    /// Counted by `open` (or passed the place of a thread that was).
    entered: bool,
    first: Option<T>,
}

impl<T: Detached + 'static> Drain<T> {
    pub(crate) fn new(line: Arc<Line>, pool: Arc<WorkerPool>, key: usize, entered: bool, first: T) -> Drain<T> {
        Drain { line, pool, key, entered, first: Some(first) }
    }

    /// The job of a `Drain` no thread took.
    pub(crate) fn take_first(&mut self) -> Option<T> {
        self.first.take()
    }

    /// The current thread, a drainer, must wait for something other than
    /// the line's key: it stops draining. True: its place went to another
    /// thread (jobs wait), or it left the empty line. False: no thread
    /// could be had, and the line stalls until it is empty.
    fn pass_on(line: &Arc<Line>, pool: &Arc<WorkerPool>, key: usize) -> bool {
        if line.leave_if_empty() {
            return true;
        }
        let next = Drain::<T> { line: line.clone(), pool: pool.clone(), key, entered: true, first: None };
        if let Ok(job) = KBox::new(next, GFP_KERNEL_ACCOUNT) {
            if let Ok(Some(worker)) = pool.get() {
                // Unstalled before the other thread drains: it may empty
                // the line, and a stall after that is another drainer's.
                line.unstall();
                if worker.submit_detached(job).is_ok() {
                    return true;
                }
            }
        }
        line.stall();
        false
    }
}

impl<T: Detached + 'static> Detached for Drain<T> {
    fn run(&mut self, dying: bool) -> bool {
        let first = self.first.take();
        if !self.entered {
            return first.map_or(false, |mut f| f.run(dying));
        }
        let (line, pool, key) = (&self.line, &self.pool, self.key);
        // A job passed the line on: this thread no longer drains it.
        let mut passed = false;
        let mut took_kill = false;
        // The jobs that stopped before a wait they may not make in line,
        // no thread having taken it: finished once the line is empty
        // (stalled, it takes no more) or passed on ([`finish_stopped`]).
        let mut stopped = KVec::<Option<KBox<dyn Detached>>>::new();
        if let Some(mut first) = first {
            if dying {
                took_kill = first.run(true);
            } else {
                match first.run_in_line(&mut || {
                    passed = Self::pass_on(line, pool, key);
                    passed
                }) {
                    InLine::Ran(kill) => took_kill = kill,
                    InLine::Deferred => match KBox::<T>::new_uninit(GFP_KERNEL) {
                        Ok(slot) => {
                            let job = slot.write(first);
                            // SAFETY: the pointer comes from `KBox::into_raw`
                            // and goes straight back into a box of the same
                            // allocation (unsized to the trait).
                            keep(&mut stopped, unsafe { KBox::from_raw(KBox::into_raw(job) as *mut dyn Detached) });
                        }
                        // No memory: finished now, holding up the line.
                        Err(_) => took_kill = first.run(false),
                    },
                }
            }
            after_job();
        }
        let mut dying = dying || took_kill;
        while !passed {
            let Some(mut job) = line.next() else { break };
            dying = between_jobs(dying, &mut took_kill);
            let ran = if dying {
                InLine::Ran(job.run(true))
            } else {
                job.run_in_line(&mut || {
                    // Behind a job that stopped, this one stops too: it
                    // must not wait on this thread before that one ends.
                    if !stopped.is_empty() {
                        return false;
                    }
                    passed = Self::pass_on(line, pool, key);
                    passed
                })
            };
            match ran {
                InLine::Ran(kill) => took_kill |= kill,
                InLine::Deferred => {
                    keep(&mut stopped, job);
                    after_job();
                    continue;
                }
            }
            dying |= took_kill;
            // Freed here, outside the line's lock.
            drop(job);
            after_job();
        }
        finish_stopped(pool, stopped, dying || took_kill) || took_kill
    }
}

/// Between two jobs of a draining thread: a pending stop (SIGSTOP, a
/// tracer's) is served here, so that a busy line never keeps the process
/// from stopping; a fatal signal makes the rest run dying. Returns whether
/// the thread is dying now; `took_kill` is set when serving the stop took
/// the thread's fatal signal (it is false while `dying` is: a kill taken
/// makes the thread dying).
fn between_jobs(dying: bool, took_kill: &mut bool) -> bool {
    if dying || !prim::signal_pending() {
        return dying;
    }
    prim::fatal_signal_pending() || {
        *took_kill = signals::serve_stops();
        *took_kill
    }
}

/// Keeps `job`, stopped in line, for [`finish_stopped`]; without the room
/// to (no memory), finishes it now, holding up the line.
fn keep(stopped: &mut KVec<Option<KBox<dyn Detached>>>, mut job: KBox<dyn Detached>) {
    // Room first: `push` drops what it cannot store.
    if stopped.reserve(1, GFP_KERNEL).is_err() {
        job.run(false);
        return;
    }
    // With room reserved, `push` stores without allocating.
    let _ = stopped.push(Some(job), GFP_KERNEL);
}

/// A job that stopped in line, on a thread of its own (`None` once run,
/// or given back).
struct Stopped(Option<KBox<dyn Detached>>);

impl Detached for Stopped {
    fn run(&mut self, dying: bool) -> bool {
        self.0.take().map_or(false, |mut job| job.run(dying))
    }
}

/// Finishes the jobs that stopped in line, the current thread having left
/// it (they may wait for one another: a pager's read among them). Stops
/// served first (a thread is not made while one is pending), then each
/// job that can have a thread of its own gets one, then the rest run
/// here, in order, stops served between them. True when one took the
/// thread's fatal signal.
fn finish_stopped(pool: &Arc<WorkerPool>, mut stopped: KVec<Option<KBox<dyn Detached>>>, mut dying: bool) -> bool {
    let mut took_kill = false;
    for pass in 0..2 {
        for slot in stopped.iter_mut() {
            dying = between_jobs(dying, &mut took_kill);
            let Some(mut job) = slot.take() else { continue };
            if pass == 0 {
                if !dying {
                    job = match give_away(pool, job) {
                        Ok(()) => continue,
                        Err(job) => job,
                    };
                }
                *slot = Some(job);
                continue;
            }
            took_kill |= job.run(dying);
            dying |= took_kill;
            drop(job);
            after_job();
        }
    }
    took_kill
}

/// `job` on a thread of its own, if one can be had; else given back.
fn give_away(pool: &Arc<WorkerPool>, job: KBox<dyn Detached>) -> core::result::Result<(), KBox<dyn Detached>> {
    // The slot before the worker: a worker taken and given no work would
    // be lost to the pool.
    let Ok(slot) = KBox::<Stopped>::new_uninit(GFP_KERNEL) else { return Err(job) };
    let Ok(Some(worker)) = pool.get() else { return Err(job) };
    match worker.submit_detached(slot.write(Stopped(Some(job)))) {
        Ok(()) => Ok(()),
        // Handed back unrun (the thread was exiting): still there.
        Err(mut back) => match back.0.take() {
            Some(job) => Err(job),
            None => Ok(()),
        },
    }
}

/// What a job left as task work (the final fput() of a file its
/// completion released) runs after it, as after any job, not when the
/// line is empty; a job's temporary signal mask goes.
fn after_job() {
    // SAFETY: process context, no lock held (a draining thread between
    // jobs).
    unsafe {
        bindings::syslet_block_signals();
        bindings::task_work_run();
    }
}
