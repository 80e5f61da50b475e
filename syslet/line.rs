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
//! takes a worker, as any job does, inside a [`Drain`] job: that thread
//! enters the line, runs its own job, then runs the line's jobs, oldest
//! first, and goes back to the pool when the line is empty. Jobs of a line
//! end in the order they joined it (aio's reads complete in submission
//! order, as on stock Linux, where each completes inside `io_submit()`).
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
//! `LineInner::drainers` counts the threads between [`Line::enter`] and
//! the [`Line::next`] that returned `None`. A job is in the line only
//! while `drainers > 0`: a job joins only then, and a thread leaves only
//! when it found the line empty, under the lock.

use crate::{
    job::{Detached, Tables},
    prim::{self, current},
    signals,
};
use kernel::{
    new_spinlock,
    prelude::*,
    sync::{Arc, SpinLock},
};

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
    fn admits(&self, key: usize, who: &(usize, Tables)) -> bool {
        self.key == key && self.creds == who.0 && self.tables == Some(who.1)
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
                    LineInner { jobs: KVec::new(), head: 0, drainers: 0, key: 0, creds: 0, tables: None },
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

    /// The current thread starts draining the line for `key`: false when
    /// threads drain it for another key or running as someone else (this
    /// one then does not).
    fn enter(&self, key: usize) -> bool {
        let who = whoami();
        let mut inner = self.inner.lock();
        if inner.drainers > 0 && !inner.admits(key, &who) {
            return false;
        }
        if inner.drainers == 0 {
            inner.key = key;
            inner.creds = who.0;
            inner.tables = Some(who.1);
        }
        inner.drainers += 1;
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
        // SAFETY: every slot was taken (`None`): nothing is left behind.
        unsafe { inner.jobs.set_len(0) };
        inner.head = 0;
        inner.drainers -= 1;
        None
    }
}

/// A worker's job: its own, then the line's.
pub(crate) struct Drain<T> {
    line: Arc<Line>,
    /// What its own job waits on ([`Line::join`]).
    key: usize,
    first: Option<T>,
}

impl<T: Detached> Drain<T> {
    pub(crate) fn new(line: Arc<Line>, key: usize, first: T) -> Drain<T> {
        Drain { line, key, first: Some(first) }
    }

    /// The job of a `Drain` no thread took.
    pub(crate) fn take_first(&mut self) -> Option<T> {
        self.first.take()
    }
}

impl<T: Detached> Detached for Drain<T> {
    fn run(&mut self, dying: bool) -> bool {
        let Some(mut first) = self.first.take() else { return false };
        if dying {
            return first.run(true);
        }
        // Entered before its own job waits: the jobs submitted meanwhile
        // join the line instead of taking threads.
        let draining = self.line.enter(self.key);
        let mut took_kill = first.run(false);
        drop(first);
        if !draining {
            return took_kill;
        }
        let mut dying = took_kill;
        while let Some(mut job) = self.line.next() {
            if !dying && prim::signal_pending() {
                // A stop is served here; a fatal signal ends the rest.
                dying = prim::fatal_signal_pending() || {
                    took_kill = signals::serve_stops();
                    took_kill
                };
            }
            took_kill |= job.run(dying);
            dying |= took_kill;
            // Freed here, outside the line's lock.
            drop(job);
        }
        took_kill
    }
}
