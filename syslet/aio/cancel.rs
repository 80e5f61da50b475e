// SPDX-License-Identifier: GPL-2.0

//! Cancelling an aio request that waits on an async thread: `io_cancel()`,
//! and `io_destroy()` and exit, which cancel whatever is in flight.
//!
//! C glue: fs/aio.c (`syslet_aio_arm_cancel()` and friends) and
//! syslet/syscalls.c (`syslet_interrupt()`); the semantics are
//! Documentation/aio.md's, "Cancellation".
//!
//! A request handed to a thread is *armed*: it sits on the context's
//! `active_reqs` list with [`syslet_aio_cancel`] as its `ki_cancel` and a
//! [`Cancel`] record, which is how stock Linux lets a driver cancel. Then:
//!
//! * not started yet: the thread never starts it; the request completes
//!   with `-ECANCELED`;
//! * a read or write that runs: the thread's sleeps are interrupted as a
//!   `SIGKILL` would interrupt them (a private one, which the thread takes
//!   back before it does anything else), so a read waiting for the device
//!   stops there. Its result is `-ECANCELED` if it moved no byte, the
//!   bytes moved otherwise (as for a read a signal interrupts);
//! * an fsync that runs cannot be interrupted (writeback waits are
//!   uninterruptible): its request completes with `-ECANCELED` at once,
//!   from the system workqueue, and the thread finishes the flush on its
//!   own reference to the file;
//! * finished (completing): `ki_cancel` returns `-EAGAIN`, so
//!   `io_cancel()` does, and the event carries the request's own result.
//!
//! # Locks
//!
//! One order: fs/aio.c's `ctx_lock` (held by whoever calls `ki_cancel`),
//! then the thread's `siglock` (`syslet_interrupt()`). The thread takes
//! its `siglock` (`syslet_uninterrupt()`) and `ctx_lock` (its request's
//! completion, `syslet_aio_disarm()`) one after the other, never nested.
//! Both are irq-safe: `ki_cancel` may run with interrupts off, and from
//! an RCU callback (the context's last `users` reference).
//!
//! # Invariants
//!
//! The record lives as long as the request: the request holds a
//! reference from arming until fs/aio.c destroys it
//! (`syslet_aio_put_record()`), the thread's job another. `ki_cancel` only
//! runs under `ctx_lock` while the request is on `active_reqs`, so while
//! it is alive. A request leaves `active_reqs` before it is freed: a read
//! or write in `aio_complete_rw()`, whoever completes it (a file system
//! that answered `-EIOCBQUEUED` too; a driver's own cancel method, set
//! with `kiocb_set_cancel_fn()`, replaces the engine's); an fsync or a
//! request given back is disarmed first.

use crate::{job::Detached, prim::current};
use core::{
    cell::UnsafeCell,
    ffi::{c_int, c_void},
    ptr,
    sync::atomic::{AtomicUsize, Ordering},
};
use kernel::{
    bindings,
    prelude::*,
    sync::Arc,
    task::Task,
    types::{ARef, ForeignOwnable},
};

/// The thread started the request (and recorded itself in `task`).
const RUNNING: usize = 1;
/// `ki_cancel` ran before the request was done.
const CANCELLED: usize = 2;
/// The thread is done with the I/O: too late to cancel.
const DONE: usize = 4;

/// A cancellable request's state, shared by its thread and `ki_cancel`.
pub(crate) struct Cancel {
    /// `RUNNING | CANCELLED | DONE` bits.
    state: AtomicUsize,
    /// The thread running it: written by that thread before it sets
    /// `RUNNING` (Release), again only after a [`Cancel::pause`] that
    /// took `RUNNING` back; read by `ki_cancel` after it saw `RUNNING`
    /// (Acquire), which no pause then takes back.
    task: UnsafeCell<Option<ARef<Task>>>,
    /// An fsync's work item (it completes it from `ki_cancel`); null for
    /// a read or write.
    fsync: *mut bindings::work_struct,
}

// SAFETY: `task` is written only while `RUNNING` is not set and read
// only after it was seen set; the rest is atomic or immutable.
unsafe impl Sync for Cancel {}
// SAFETY: as above; the work item pointer is only used by whoever wins
// the state.
unsafe impl Send for Cancel {}

impl Cancel {
    /// Arms `req` (a read or write when `fsync` is null, else the request
    /// of that fsync work item), which has just been prepared and is not
    /// on `active_reqs`.
    ///
    /// # Safety
    ///
    /// `req` is a live aio request not completed and not armed; the
    /// caller keeps the returned record until the request left
    /// `active_reqs` (module invariants).
    pub(crate) unsafe fn arm(req: *mut bindings::kiocb, fsync: *mut bindings::work_struct) -> Result<Arc<Cancel>> {
        let rec = Arc::new(
            Cancel { state: AtomicUsize::new(0), task: UnsafeCell::new(None), fsync },
            GFP_KERNEL,
        )?;
        // SAFETY: see # Safety. The request keeps a reference of its own
        // until fs/aio.c destroys it (`syslet_aio_put_record`).
        unsafe { bindings::syslet_aio_arm_cancel(req, rec.clone().into_foreign() as *mut c_void) };
        Ok(rec)
    }

    /// The thread starts the request: false if it was cancelled before
    /// (the thread then must not run it).
    pub(crate) fn start(&self) -> bool {
        let me = current();
        // SAFETY: only the running thread writes `task`, while `RUNNING`
        // is not set (before it is published, or after a pause took it
        // back: no canceller reads it then); `current` is valid and
        // `Task` a transparent wrapper.
        unsafe { *self.task.get() = Some(ARef::from(&*(me as *const Task))) };
        self.state.compare_exchange(0, RUNNING, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// The thread stops running the request before it is done, to start
    /// it again later ([`Cancel::start`]; a read in line that must wait
    /// for something else and found no thread to take the line): false
    /// when it was cancelled meanwhile (the canceller saw `RUNNING`: the
    /// thread ends it now, with [`Cancel::finish`]). A cancel after a
    /// pause finds it not started, and `start` then says so.
    pub(crate) fn pause(&self) -> bool {
        self.state.compare_exchange(RUNNING, 0, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// The thread is done with the I/O (or did not start it): whether the
    /// request was cancelled. A private `SIGKILL` `ki_cancel` sent is
    /// taken back here, before the thread does anything else.
    pub(crate) fn finish(&self) -> bool {
        let was = self.state.fetch_or(DONE, Ordering::AcqRel);
        if was & (RUNNING | CANCELLED) == RUNNING | CANCELLED && self.fsync.is_null() {
            // SAFETY: process context, current's own signal state; a
            // canceller that saw `RUNNING` holds our siglock while it
            // checks `DONE`, so it has sent its signal or will not.
            unsafe { bindings::syslet_uninterrupt() };
        }
        was & CANCELLED != 0
    }
}

/// A read's or write's result when it was cancelled: `-ECANCELED` for
/// an interrupted sleep that moved no byte (`-EINTR` or a restart code);
/// anything else as it is (the bytes moved before the interruption, a
/// real error, 0 at the end of the file).
pub(crate) fn cancelled_result(ret: isize) -> isize {
    if crate::restart_to_eintr(ret) == -(bindings::EINTR as isize) {
        -(bindings::ECANCELED as isize)
    } else {
        ret
    }
}

/// The result of a read or write cancelled before its thread started it:
/// what the inline try read already (`done` bytes), else `-ECANCELED`.
pub(crate) fn unstarted_result(done: isize) -> isize {
    if done > 0 {
        done
    } else {
        -(bindings::ECANCELED as isize)
    }
}

/// fs/aio.c destroys a request armed with `rec`: its reference goes.
///
/// # Safety
///
/// `rec` is the reference [`Cancel::arm`] gave the request, once.
#[no_mangle]
pub unsafe extern "C" fn syslet_aio_put_record(rec: *mut c_void) {
    // SAFETY: see # Safety; may run in any context (the last reference
    // drops a task reference, which put_task_struct() allows).
    drop(unsafe { <Arc<Cancel> as ForeignOwnable>::from_foreign(rec) });
}

/// `ki_cancel` of an armed request, called by fs/aio.c under its
/// context's `ctx_lock` with interrupts off (`io_cancel()`, or the
/// context's end: `io_destroy()`, exit): 0 when the request will complete
/// cancelled (or with the bytes it moved), `-EAGAIN` when it is done.
///
/// # Safety
///
/// `iocb` is an armed request, on `active_reqs`, under `ctx_lock`.
#[no_mangle]
pub unsafe extern "C" fn syslet_aio_cancel(iocb: *mut bindings::kiocb) -> c_int {
    // SAFETY: armed requests carry their record, alive while the request
    // is (module invariants).
    let rec = unsafe { <Arc<Cancel> as ForeignOwnable>::borrow(bindings::syslet_aio_record(iocb)) };
    let was = rec.state.fetch_or(CANCELLED, Ordering::AcqRel);
    if was & (DONE | CANCELLED) != 0 {
        return -(bindings::EAGAIN as c_int);
    }
    if !rec.fsync.is_null() {
        // We won: nobody else completes it. Later, from the workqueue:
        // fs/aio.c drops it from active_reqs after this returns, and
        // frees it once completed.
        // SAFETY: the request is live and ours to complete.
        unsafe { bindings::syslet_aio_fsync_done(rec.fsync, -(bindings::ECANCELED as isize), true) };
    } else if was & RUNNING != 0 {
        // SAFETY: `task` was written before `RUNNING`, which we saw; the
        // record holds the task's reference. The thread's `finish` takes
        // its siglock after setting `DONE`, which is checked under it.
        unsafe {
            if let Some(t) = &*rec.task.get() {
                let t = &**t as *const Task as *mut bindings::task_struct;
                bindings::syslet_interrupt(t, rec.state.as_ptr() as *mut _, DONE as _);
            }
        }
    }
    0
}

/// The record of an fsync request taken by a thread: its own reference
/// to the file, whether fdatasync, and the cancel state.
pub(crate) struct AioFsync {
    work: *mut bindings::work_struct,
    req: *mut bindings::kiocb,
    file: *mut bindings::file,
    datasync: bool,
    cancel: Arc<Cancel>,
}

// SAFETY: the file reference is ours; the work item is only used by
// whoever wins the cancel state.
unsafe impl Send for AioFsync {}

impl AioFsync {
    /// Takes fs/aio.c's fsync work item: a file reference of its own and
    /// the request armed.
    ///
    /// # Safety
    ///
    /// `work` is the initialized, not queued work item of a prepared
    /// fsync request (`aio_fsync()`).
    pub(crate) unsafe fn new(work: *mut bindings::work_struct) -> Result<AioFsync> {
        let mut file = ptr::null_mut();
        let mut datasync = false;
        // SAFETY: see # Safety; the file comes with a reference of ours.
        let req = unsafe { bindings::syslet_aio_fsync_req(work, &mut file, &mut datasync) };
        // SAFETY: a live fsync request not armed; the record is kept in
        // the returned job until the request is disarmed (`run`).
        match unsafe { Cancel::arm(req, work) } {
            Ok(cancel) => Ok(AioFsync { work, req, file, datasync, cancel }),
            Err(e) => {
                // SAFETY: the reference taken above.
                unsafe { bindings::fput(file) };
                Err(e)
            }
        }
    }

    /// No thread takes it after all: true if it was cancelled meanwhile
    /// (its canceller completes it), else false with the request
    /// disarmed, for fs/aio.c to queue it as stock Linux does.
    pub(crate) fn give_back(self) -> bool {
        if self.cancel.finish() {
            return true;
        }
        // SAFETY: the armed request, not completed.
        unsafe { bindings::syslet_aio_disarm(self.req) };
        false
    }

    /// Runs the fsync on the current (async) thread and completes the
    /// request, unless it was cancelled (its canceller completed it).
    pub(crate) fn run(self) {
        if self.cancel.start() {
            // SAFETY: our reference to the file.
            let res = unsafe { bindings::vfs_fsync(self.file, self.datasync as c_int) };
            if !self.cancel.finish() {
                // SAFETY: not cancelled, so still ours: disarms and
                // completes it once.
                unsafe { bindings::syslet_aio_fsync_done(self.work, res as isize, false) };
            }
        } else {
            self.cancel.finish();
        }
    }
}

impl Drop for AioFsync {
    fn drop(&mut self) {
        // SAFETY: our reference to the file.
        unsafe { bindings::fput(self.file) };
    }
}

impl Detached for Option<AioFsync> {
    /// Always run, even when the process is dying: it completes a request
    /// fs/aio.c waits for, unless cancelled.
    fn run(&mut self, _dying: bool) -> bool {
        if let Some(job) = self.take() {
            job.run();
        }
        false
    }
}
