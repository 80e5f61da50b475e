// SPDX-License-Identifier: GPL-2.0

//! The per-task record: what the engine keeps in a task's `worker_private`.
//!
//! Three kinds of task carry a record, each marked by a `PF_` flag that
//! the scheduler hook of `sched_submit_work()` dispatches on
//! (patches/0004):
//!
//! | task | flag | record | installed |
//! |------|------|--------|-----------|
//! | armed: running a chain, a threadlet or an aio write inline | `PF_SYSLET_HANDOFF` | [`Armed`](crate::handoff::Armed) (a threadlet's is the first field of its boxed [`Threadlet`](crate::threadlet)) | while armed |
//! | a parked spare | `PF_SYSLET_HANDOFF` | its [`Spare`](crate::spare::Spare) (the thread's reference) | while parked |
//! | an async thread | `PF_SYSLET_WORKER` | its [`Worker`](crate::worker::Worker) (the thread's reference) | for the thread's life |
//!
//! Every record type is `#[repr(C)]` and begins with a [`Tag`] that says
//! which one it is: [`record`] decodes `worker_private` in this one
//! place, and nothing else reads it. Each record type says which kinds
//! are its own ([`Recorded`]), so this module, the lowest layer, names
//! none of them. `execve()` takes a threadlet's flag
//! away while it runs ([`crate::threadlet`]), leaving its record: readers
//! that ask whether a task is *armed* look at the flag first.
//!
//! `worker_private` belongs to the engine only in these tasks: io-wq,
//! workqueue workers and kthreads use it for their own threads, which
//! never run the engine's calls and never carry its flags.

use crate::prim::current;
use core::{ffi::c_void, ptr};
use kernel::bindings;

/// Which record a [`Tag`] begins.
#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// An [`Armed`](crate::handoff::Armed) of `async_exec()`'s inline chain.
    Chain = 1,
    /// The `Armed` of a threadlet.
    Threadlet = 2,
    /// The `Armed` of an fs/aio.c write run in `io_submit()`.
    AioWrite = 3,
    /// A [`Spare`](crate::spare::Spare).
    Spare = 4,
    /// A [`Worker`](crate::worker::Worker).
    Worker = 5,
}

/// The first field of every record.
#[repr(C)]
pub(crate) struct Tag(pub(crate) Kind);

/// A record type: what `worker_private` points to when its [`Tag`] is of
/// a kind [`Recorded::of_kind`] accepts. Implemented next to each record
/// type, so that this module names none of them.
///
/// # Safety
///
/// The type must be `#[repr(C)]` with a [`Tag`] as its first field, and
/// every record installed with a tag of a kind `of_kind` accepts must be
/// of this type.
pub(crate) unsafe trait Recorded {
    /// Whether a record of `kind` is of this type.
    fn of_kind(kind: Kind) -> bool;
}

/// The record of `t` if there is one and it is a `T`.
///
/// # Safety
///
/// `t` must be the current task (only a task installs and clears its own
/// record; an async thread's is installed before it runs), and the
/// caller must not use what it returns after the record is cleared.
#[inline(always)]
pub(crate) unsafe fn record<T: Recorded>(t: *mut bindings::task_struct) -> Option<*const T> {
    // SAFETY: the caller's own field (see above).
    let wp = unsafe { (*t).worker_private } as *const Tag;
    if wp.is_null() {
        return None;
    }
    // SAFETY: a non-null `worker_private` of a task that runs the engine's
    // code is one of the records (module documentation), each of which
    // begins with a `Tag`.
    let kind = unsafe { (*wp).0 };
    // `T`'s contract: a record of a kind it accepts is a `T`.
    T::of_kind(kind).then(|| wp.cast())
}

/// The current task's record, if it is a `T`.
#[inline(always)]
pub(crate) fn record_of_current<T: Recorded>() -> Option<*const T> {
    // SAFETY: the current task.
    unsafe { record(current()) }
}

/// Installs `tag`'s record in `t` and sets `flag` (`PF_SYSLET_HANDOFF` or
/// `PF_SYSLET_WORKER`).
///
/// # Safety
///
/// `t` must be the current task, or a new one that does not run yet.
/// `tag` must be the first field of a record of the kind it says, which
/// must stay where it is until [`uninstall`].
#[inline(always)]
pub(crate) unsafe fn install(t: *mut bindings::task_struct, tag: *const Tag, flag: u32) {
    // SAFETY: by the contract above nobody else uses these fields now.
    unsafe {
        (*t).worker_private = tag as *mut c_void;
        (*t).flags |= flag;
    }
}

/// Clears the current task's record and `flag`.
#[inline(always)]
pub(crate) fn uninstall(flag: u32) {
    let t = current();
    // SAFETY: the current task's own fields.
    unsafe {
        (*t).flags &= !flag;
        (*t).worker_private = ptr::null_mut();
    }
}
