// SPDX-License-Identifier: GPL-2.0

//! What the async threads of [`crate::worker`] run: jobs, each a chain or
//! an item of detached work, with the credentials and identity generation
//! of its submitter; and the tables a thread shares with its maker.

use crate::{
    identity::Identity,
    prim::{current, Live},
};
use core::ptr::{self, NonNull};
use kernel::{
    bindings,
    prelude::*,
    types::{ARef, AlwaysRefCounted, Opaque},
};

/// Work that runs detached on an async thread, submitted by a user of
/// the pool (fs/aio.c's requests, `aio/`): the pool runs it and knows
/// nothing else of it, as io-wq knows nothing of io_uring's requests.
pub(crate) trait Detached: Send {
    /// Runs the work on the current (async) thread; `dying`: the process
    /// is dying, and the work must end without being done if it can.
    /// Returns true when the work took the thread's fatal signal (through
    /// `signals::serve_stops()`): the thread must exit.
    fn run(&mut self, dying: bool) -> bool;

    /// Runs the work as a job of a line ([`crate::line`]), where it may
    /// wait only for what the line's key names: before it would wait for
    /// anything else it calls `pass_on`, once. True: another thread took
    /// the line, and the work finishes alone. False: none could, and the
    /// work stops there, to be finished later with `run`
    /// ([`InLine::Deferred`]). By default, as `run`.
    fn run_in_line(&mut self, pass_on: &mut dyn FnMut() -> bool) -> InLine {
        let _ = pass_on;
        InLine::Ran(self.run(false))
    }
}

/// What [`Detached::run_in_line`] did.
pub(crate) enum InLine {
    /// The work ran; true when it took the thread's fatal signal (as
    /// [`Detached::run`]'s result).
    Ran(bool),
    /// It stopped before a wait it may not make in line: `run` finishes
    /// it, after the line's other jobs.
    Deferred,
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
    /// Detached work; always detached from its submitter.
    Detached(KBox<dyn Detached>),
}

/// Work handed to a worker, with the submitter's credentials.
pub(crate) struct Job {
    pub(crate) work: Work,
    pub(crate) creds: ARef<Cred>,
    /// The process's identity generation at submission.
    pub(crate) identity: u64,
    _live: Live,
}

impl Job {
    pub(crate) fn new(work: Work, identity: &Identity) -> Job {
        Job::with_creds(work, Cred::of_current(), identity)
    }

    pub(crate) fn with_creds(work: Work, creds: ARef<Cred>, identity: &Identity) -> Job {
        Job {
            work,
            creds,
            identity: identity.now(),
            _live: Live::new(ptr::addr_of_mut!(bindings::syslet_live_jobs)),
        }
    }
}

/// A task's credentials (`struct cred`), counted.
///
/// # Invariants
///
/// A `Cred` only exists behind a counted reference (`ARef<Cred>`, each
/// holding one count taken with `get_cred()`), so the object is live.
#[repr(transparent)]
pub(crate) struct Cred(Opaque<bindings::cred>);

// SAFETY: a published `cred` is never changed, and its count is atomic:
// any task may read it or drop a reference.
unsafe impl Send for Cred {}
// SAFETY: a `&Cred` gives only reads of fields that never change after
// publication and atomic count operations.
unsafe impl Sync for Cred {}

// SAFETY: `get_cred()` and `put_cred()` take and drop a count that keeps
// the object alive while held.
unsafe impl AlwaysRefCounted for Cred {
    fn inc_ref(&self) {
        // SAFETY: the object is live (the type's invariant).
        unsafe { bindings::get_cred(self.0.get()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller gives up a count it holds.
        unsafe { bindings::put_cred(obj.cast::<bindings::cred>().as_ptr()) };
    }
}

impl Cred {
    /// The current task's credentials, as of now.
    pub(crate) fn of_current() -> ARef<Cred> {
        // SAFETY: `get_current_cred()` returns a counted reference to the
        // current task's credentials, never null; the `ARef` owns that
        // count (`Cred` is a transparent wrapper of `cred`).
        unsafe { ARef::from_raw(NonNull::new_unchecked(bindings::get_current_cred().cast_mut().cast())) }
    }

    pub(crate) fn as_ptr(&self) -> *const bindings::cred {
        self.0.get()
    }
}

/// The files, fs, namespaces and seccomp state a task has, by pointer:
/// what an io thread takes from the task that makes it, for good.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tables {
    files: usize,
    fs: usize,
    nsproxy: usize,
    /// A worker made under a filter (an aio submitter's, `aio/`) serves
    /// only tasks under the same one: never an unfiltered submitter's
    /// chain, whose atoms a worker under seccomp would not run
    /// (`WorkerRunner::stale`).
    seccomp_mode: i32,
    seccomp_filter: usize,
}

impl Tables {
    pub(crate) fn of_current() -> Tables {
        let t = current();
        // SAFETY: `current`'s own pointers, which only it changes (TSYNC
        // sets another thread's filter; a stale read only makes a worker
        // match no one).
        unsafe {
            Tables {
                files: (*t).files as usize,
                fs: (*t).fs as usize,
                nsproxy: (*t).nsproxy as usize,
                seccomp_mode: (*t).seccomp.mode,
                seccomp_filter: (*t).seccomp.filter as usize,
            }
        }
    }

    /// Tables that match no worker made with `t` (another filter mode),
    /// for the KUnit cases.
    #[cfg(CONFIG_SYSLET_KUNIT_TEST)]
    pub(crate) fn other_than(t: &Tables) -> Tables {
        Tables { seccomp_mode: t.seccomp_mode + 1, ..*t }
    }
}
