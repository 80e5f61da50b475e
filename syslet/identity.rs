// SPDX-License-Identifier: GPL-2.0

//! The identity of a detached chain's submitting context.
//!
//! A chain that went asynchronous runs on another task than the user
//! context that submitted it: the task that blocked (the cachemiss
//! handoff, [`handoff`](crate::handoff)) or an async thread
//! ([`worker`](crate::worker)). That task keeps the credentials, seccomp mode
//! and filter, `no_new_privs`, namespaces, fs and files the context had
//! when the chain went asynchronous. The context itself goes on in user
//! space and may change any of them: drop privileges, enter seccomp,
//! `unshare()` its files, `chroot()` after `unshare(CLONE_FS)`. An atom
//! must never run with more than its submitting context has when the atom
//! starts (the invariant of `Documentation/handoff.md`, "The identity
//! contract").
//!
//! Every place in the kernel where a thread's identity changes calls
//! [`syslet_identity_changed`](crate::process::syslet_identity_changed)
//! (patches/0010): `commit_creds()` (the
//! `set*id` calls, `capset()`, keyrings, Landlock, user namespaces,
//! exec), `seccomp_assign_mode()` (strict mode and each filter, TSYNC
//! included), `PR_SET_NO_NEW_PRIVS`, `unshare()`, `setns()` and
//! `close_range(CLOSE_RANGE_UNSHARE)`. Each call
//! advances the process's [`Identity`] generation. A chain that went
//! asynchronous compares the generation it started with against the
//! current one before each atom; when they differ the atom is not run:
//! its result is `-ECANCELED`, and it is the completion posted to the
//! ring.
//!
//! The generation is per process, not per context: a change made by any
//! thread stops every detached chain of the process. That is stricter than
//! the invariant needs (a change by an unrelated thread would not widen
//! what a chain may do), and cheap to get right: the context a chain came
//! from may itself have moved to another task meanwhile.

use crate::prim::current;
use core::{
    ffi::c_void,
    ptr,
    sync::atomic::{AtomicU64, Ordering},
};
use kernel::bindings;

/// The identity generation of a process: how many identity changes any of
/// its threads made.
pub(crate) struct Identity(AtomicU64);

impl Identity {
    pub(crate) const fn new() -> Identity {
        Identity(AtomicU64::new(0))
    }

    /// The generation now, to compare later with [`Identity::changed_since`].
    #[inline(always)]
    pub(crate) fn now(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Whether an identity change happened after [`Identity::now`]
    /// returned `seen`.
    #[inline(always)]
    pub(crate) fn changed_since(&self, seen: u64) -> bool {
        self.now() != seen
    }

    /// One more identity change ([`syslet_identity_changed`](crate::process::syslet_identity_changed)).
    pub(crate) fn advance(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// What parked spares must share with a caller to take its context, as
/// one word: its credentials, files, fs, namespaces and seccomp filter
/// (their pointers, mixed) and, in bit 0, its `no_new_privs`. Spares are made by the
/// caller, so they share all of them; when the caller's key changes (it
/// changed credentials or unshared a table since), they are retired and
/// remade ([`crate::spare::SparePool`]). A key is only a hint: two callers
/// whose keys collide get each other's spares, and syslet/handoff.c,
/// which compares every pointer before it moves a context, refuses them.
#[inline(always)]
pub(crate) fn key() -> *mut c_void {
    let t = current();
    // SAFETY: reads `current`'s own fields (only it changes its cred,
    // files, fs and nsproxy pointers); `atomic_flags` is only changed
    // with atomic bit operations, a racy read sees either value.
    let (cred, files, fs, ns, filter, flags) = unsafe {
        (
            (*t).cred as usize,
            (*t).files as usize,
            (*t).fs as usize,
            (*t).nsproxy as usize,
            (*t).seccomp.filter as usize,
            ptr::read_volatile(ptr::addr_of!((*t).atomic_flags)),
        )
    };
    let nnp = (flags >> bindings::PFA_NO_NEW_PRIVS) & 1;
    // The filter too: `syslet_context_save()` refuses a spare with
    // another one, and a key without it left a filtered thread with
    // spares it could never use (its writes blocked every time).
    let mixed = cred ^ files.rotate_left(16) ^ fs.rotate_left(32) ^ ns.rotate_left(48) ^ filter.rotate_left(8);
    ((mixed & !1) | nnp as usize) as *mut c_void
}
