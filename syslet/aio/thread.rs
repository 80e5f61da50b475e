// SPDX-License-Identifier: GPL-2.0

//! Reads and writes on async threads: the request, its iterator copied,
//! handed to the process's [`WorkerPool`](crate::worker::WorkerPool) as
//! detached work, and completed there as fs/aio.c would complete it.

use super::{
    call_rw,
    cancel::{cancelled_result, unstarted_result, Cancel},
    cold::{read_in_line, to_line},
    dest, forward_sigxfsz, rw_done, with_done,
};
use crate::{
    job::{Detached, InLine},
    process::Process,
};
use core::{ffi::c_void, ptr};
use kernel::{bindings, prelude::*, sync::Arc, task::Task, types::ARef};

/// An aio read or write handed to an async thread.
pub(crate) struct AioRw {
    req: *mut bindings::kiocb,
    iter: bindings::iov_iter,
    /// The copied iovec array (null for a single-buffer iterator).
    iov: *const c_void,
    write: bool,
    /// Bytes a read already got inside `io_submit()` (its iterator and
    /// position are past them): the result is counted from there.
    done: isize,
    /// The task that called io_submit(): it gets the SIGXFSZ of a write
    /// past RLIMIT_FSIZE, as with a synchronous write.
    submitter: ARef<Task>,
    /// The request is armed for `io_cancel()` with this record.
    cancel: Arc<Cancel>,
}

// SAFETY: the request and the copied iovec are owned by this object until
// `run` completes the request; fs/aio.c keeps the request alive until then.
unsafe impl Send for AioRw {}

impl AioRw {
    /// Performs the I/O on the current (async) thread and completes the
    /// request.
    pub(crate) fn run(mut self) {
        let ret = if self.cancel.start() {
            // SAFETY: a started request, ours until completed: a live aio
            // request whose file has the method (checked by
            // aio_read/aio_write before offering it); `iter` is our copy.
            with_done(self.done, unsafe { call_rw(self.req, &mut self.iter, self.write) })
        } else {
            unstarted_result(self.done)
        };
        self.complete(ret);
    }

    /// As [`AioRw::run`], for a read waiting in a line: it waits for its
    /// device only ([`read_in_line`]). `Err`: it stopped before another
    /// wait, no thread having taken the line (`pass_on` said false), and
    /// not started any more ([`Cancel::pause`]): `run` finishes it later.
    fn run_in_line(mut self, pass_on: &mut dyn FnMut() -> bool) -> core::result::Result<(), AioRw> {
        if self.write {
            self.run();
            return Ok(());
        }
        let ret = if self.cancel.start() {
            // SAFETY: a started read, not completed, and our own copy of
            // its iterator.
            match unsafe { read_in_line(self.req, &mut self.iter, &mut self.done, pass_on) } {
                Some(ret) => ret,
                None if self.cancel.pause() => return Err(self),
                // Cancelled while it ran: what it read so far.
                None => unstarted_result(self.done),
            }
        } else {
            unstarted_result(self.done)
        };
        self.complete(ret);
        Ok(())
    }

    /// Completes the request with `ret`, as fs/aio.c would.
    fn complete(mut self, ret: isize) {
        let cancelled = self.cancel.finish();
        // SAFETY: `iov` came from `dup_iter` (or is null).
        unsafe { bindings::kfree(self.iov) };
        self.iov = ptr::null();
        // generic_write_checks() sent SIGXFSZ to *this* thread, where it
        // stays blocked: the submitter gets it instead, once, as a
        // synchronous write would have sent it.
        if self.write {
            forward_sigxfsz(ret, &self.submitter);
        }
        let ret = if cancelled { cancelled_result(ret) } else { ret };
        // SAFETY: `req` was just run (or not started, cancelled).
        unsafe { rw_done(self.req, ret) };
    }

    /// The request, for its line's key.
    pub(super) fn req(&self) -> *mut bindings::kiocb {
        self.req
    }
}

impl Detached for Option<AioRw> {
    fn run(&mut self, dying: bool) -> bool {
        match self.take() {
            Some(rw) if dying => rw.end_dying(),
            Some(rw) => rw.run(),
            None => {}
        }
        false
    }

    fn run_in_line(&mut self, pass_on: &mut dyn FnMut() -> bool) -> InLine {
        if let Some(rw) = self.take() {
            if let Err(rw) = rw.run_in_line(pass_on) {
                *self = Some(rw);
                return InLine::Deferred;
            }
        }
        InLine::Ran(false)
    }
}

impl AioRw {
    /// No thread takes it after all: true if it was cancelled meanwhile
    /// (it is completed so), else false with the request disarmed, for
    /// the caller to run it.
    pub(super) fn give_back(self) -> bool {
        if self.cancel.finish() {
            // SAFETY: the request is ours, not completed.
            unsafe { rw_done(self.req, unstarted_result(self.done)) };
            return true;
        }
        // SAFETY: the armed request, not completed.
        unsafe { bindings::syslet_aio_disarm(self.req) };
        false
    }

    /// Ends the request without doing the I/O: the process is dying.
    pub(crate) fn end_dying(self) {
        let errno = if self.cancel.finish() { bindings::ECANCELED } else { bindings::EINTR };
        // SAFETY: completes the request once (`run` is not called).
        unsafe {
            if let Some(complete) = (*self.req).ki_complete {
                complete(self.req, -(errno as isize) as _);
            }
        }
    }
}

impl Drop for AioRw {
    fn drop(&mut self) {
        // SAFETY: frees the copy if `run` did not (work given back).
        unsafe { bindings::kfree(self.iov) };
    }
}

/// Hands the request, `done` bytes of it read already, to an async
/// thread of the process; false when none takes it (nothing changed).
/// `cold`: a read whose device I/O `io_submit()` started for all the rest
/// of it, which waits in the process's line ([`super::cold`]).
///
/// # Safety
///
/// As [`syslet_aio_rw`].
pub(super) unsafe fn to_thread(
    req: *mut bindings::kiocb,
    iter: *mut bindings::iov_iter,
    write: bool,
    done: isize,
    cold: bool,
) -> bool {
    let Ok(process) = Process::of_current() else { return false };
    // SAFETY: `iter` is valid; the copy is ours. A single-buffer iterator
    // holds its buffer inline; others point to an iovec array that lives
    // on the submitter's stack, which `dup_iter` copies.
    let (copy, iov) = unsafe {
        let mut copy: bindings::iov_iter = core::ptr::read(iter);
        if (*iter).iter_type == bindings::iter_type_ITER_UBUF as u8 {
            (copy, ptr::null())
        } else {
            let iov = bindings::dup_iter(&mut copy, iter, bindings::GFP_KERNEL);
            if iov.is_null() {
                return false;
            }
            (copy, iov)
        }
    };
    // SAFETY: `current` is valid, and `Task` is a transparent wrapper of
    // `task_struct`; `ARef::from` takes a counted reference.
    let submitter = ARef::from(unsafe { &*(bindings::get_current() as *const Task) });
    // SAFETY: a prepared request, not armed; the record is kept in the
    // AioRw until the request is completed or disarmed.
    let Ok(cancel) = (unsafe { Cancel::arm(req, ptr::null_mut()) }) else {
        // SAFETY: `iov` came from `dup_iter` (or is null).
        unsafe { bindings::kfree(iov) };
        return false;
    };
    // Copied and armed before a worker is taken: a worker taken and then
    // not given work would be lost to the pool.
    let rw = AioRw { req, iter: copy, iov, write, done, submitter, cancel };
    // Into the line only a read whose destination's faults wait for
    // nothing but memory, as far as io_submit() can tell (a program that
    // maps something else there meanwhile: its read leaves the line).
    // SAFETY: `iter` is the request's, of the current task's memory.
    if cold && unsafe { dest::in_line(iter) } {
        return to_line(&process, rw);
    }
    // The pool's work item (one allocation per request), made before a
    // worker is taken, as above.
    let Ok(item) = KBox::<Option<AioRw>>::new_uninit(GFP_KERNEL_ACCOUNT) else {
        return rw.give_back();
    };
    let Ok(Some(worker)) = process.workers.get() else { return rw.give_back() };
    match worker.submit_detached(item.write(Some(rw))) {
        Ok(()) => true,
        // The thread was exiting: run it the stock way.
        Err(mut rw) => rw.take().is_some_and(AioRw::give_back),
    }
}
