// SPDX-License-Identifier: GPL-2.0

//! Cold reads in the process's line ([`crate::line`]): a read whose
//! device I/O `io_submit()` started ([`super::start_io`]) waits for its
//! pages on the thread draining the line for its device, in turn with the
//! other cold reads of that device, instead of on a thread of its own.
//!
//! In the line a read may wait for its device and nothing else: a read
//! waiting for anything else (a lock a writer holds while it faults on a
//! userfaultfd page; a destination page whose fault waits for a pager, a
//! FUSE daemon or a file system) would hold up the reads behind it, and
//! the one that thing waits for could be among them. So a read in line
//! ([`read_in_line`]) tries with `IOCB_NOWAIT` and page faults off (a
//! block device's inode lock only tried: `syslet_read_iter_line()`), and
//! between tries waits only for a page being read
//! (`syslet_page_wait()`) or faults in anonymous memory that no
//! userfaultfd watches ([`dest::fault_in`]). A try that fails for
//! any other reason makes the read leave the line (`pass_on`) before it
//! reads the rest as any async thread would, waiting for whatever it must.
//! If no thread can take the line, the read stops instead, and its thread
//! finishes it after the line's other reads ([`crate::line`]).

use super::{call_rw, dest, iter_left, thread::AioRw, with_done, EIOCBQUEUED, IOCB_NOWAIT};
use crate::{line::Drain, prim, process::Process};
use core::ptr;
use kernel::{bindings, prelude::*};

/// `-EAGAIN`: the try would have waited (a page not read yet, a lock).
const EAGAIN: isize = -(bindings::EAGAIN as isize);
/// `-EFAULT`: the copy without faults stopped at its destination.
const EFAULT: isize = -(bindings::EFAULT as isize);
/// Tries in a row without progress after which a read leaves the line
/// (each after a wait for the device or a fault-in: a page read, then
/// the destination faulted in, then the next page reclaimed meanwhile).
const STUCK_ROUNDS: u32 = 4;

/// Reads the rest of the cold read `req` (`*done` bytes of it read so
/// far, counted on) as a job of the line, and returns the read's result.
/// Before it would wait for anything but the device it calls `pass_on`
/// (module documentation); `None` when that said no thread took the
/// line: the read stops there, its iterator, position and `*done` where
/// it got to.
///
/// # Safety
///
/// `req` is a started aio read, not completed, and `iter` its iterator.
pub(super) unsafe fn read_in_line(
    req: *mut bindings::kiocb,
    iter: *mut bindings::iov_iter,
    done: &mut isize,
    pass_on: &mut dyn FnMut() -> bool,
) -> Option<isize> {
    // SAFETY: the request's file is valid while the request is.
    let file = unsafe { (*req).ki_filp };
    // What stopped the last try that made no progress, and how many such
    // tries in a row: a wait or a fault-in that did not help the next
    // try, which stopped for the same reason, or too many rounds of them,
    // and the read leaves the line.
    let (mut last, mut rounds) = (1, 0);
    loop {
        // `IOCB_NOWAIT` without `IOCB_NOIO`: a page missing (reclaimed
        // since `io_submit()`) or marked for read-ahead has its device
        // I/O started, which the line waits for.
        // SAFETY: the request is ours until completed (# Safety); the
        // flag is taken off before anyone else sees it (unless the file
        // system took the request: `-EIOCBQUEUED`, below).
        let ret = unsafe {
            (*req).ki_flags |= IOCB_NOWAIT as i32;
            bindings::syslet_read_iter_line(req, iter)
        };
        if ret == -EIOCBQUEUED {
            return Some(ret); // the file system's now: not touched
        }
        // SAFETY: as above. `iter` is valid (# Safety). The mapping's
        // host is valid while the file is; a racy read of `i_size` is
        // `i_size_read()` on 64-bit.
        let (left, pos, size) = unsafe {
            (*req).ki_flags &= !(IOCB_NOWAIT as i32);
            (
                iter_left(iter),
                (*req).ki_pos,
                ptr::read_volatile(ptr::addr_of!((*(*(*file).f_mapping).host).i_size)),
            )
        };
        if ret > 0 {
            *done += ret;
            (last, rounds) = (1, 0);
        }
        if ret >= 0 && (left == 0 || pos >= size) {
            return Some(*done);
        }
        if ret > 0 {
            continue; // the next try says why this one stopped
        }
        let ready = ret != last
            && rounds < STUCK_ROUNDS
            && match ret {
                // SAFETY: the request's file, open while it is.
                EAGAIN | 0 => unsafe { bindings::syslet_page_wait(file, pos) },
                // SAFETY: our own iterator, of the current task's memory.
                EFAULT => unsafe { dest::fault_in(iter) },
                // Any other error: the read that may wait answers.
                _ => false,
            };
        if !ready {
            break;
        }
        (last, rounds) = (ret, rounds + 1);
    }
    // Interrupted (io_cancel()'s private SIGKILL, the group dying): the
    // read that may wait would end at once too; no thread for that.
    if prim::fatal_signal_pending() {
        return Some(with_done(*done, -(bindings::EINTR as isize)));
    }
    if !pass_on() {
        return None;
    }
    // SAFETY: a live aio read whose file has `read_iter` (checked before
    // it was offered), and its iterator.
    Some(with_done(*done, unsafe { call_rw(req, iter, false) }))
}

/// A cold read: into the process's line if a thread drains it for the
/// read's device, else to a worker that will ([`Drain`]); false when none
/// takes it (nothing changed).
pub(super) fn to_line(process: &Process, rw: AioRw) -> bool {
    let key = device_of(rw.req());
    let Ok(item) = KBox::<Option<AioRw>>::new_uninit(GFP_KERNEL_ACCOUNT) else {
        return rw.give_back();
    };
    let mut item = match process.line.join(key, item.write(Some(rw))) {
        Ok(()) => return true,
        Err(item) => item,
    };
    let Some(rw) = item.take() else { return false };
    let Ok(slot) = KBox::<Drain<Option<AioRw>>>::new_uninit(GFP_KERNEL_ACCOUNT) else {
        return rw.give_back();
    };
    let Ok(Some(worker)) = process.workers.get() else { return rw.give_back() };
    // Counted as the line's drainer from now (if it had none), so that
    // the reads submitted before the thread runs join the line.
    let entered = process.line.open(key);
    let drain = Drain::new(process.line.clone(), process.workers.clone(), key, entered, Some(rw));
    match worker.submit_detached(slot.write(drain)) {
        Ok(()) => true,
        Err(mut job) => {
            // The thread was exiting: the process is dying.
            if entered {
                process.line.abandon();
            }
            // Run it the stock way.
            job.take_first().flatten().is_some_and(AioRw::give_back)
        }
    }
}

/// What a read of `req` waits on, as a line's key: the device. A block
/// device's mapping is its own (its host inode); a file's, its file
/// system's (its superblock).
fn device_of(req: *mut bindings::kiocb) -> usize {
    // SAFETY: a prepared request's file, its mapping and host inode are
    // valid while the request is.
    unsafe {
        let host = (*(*(*req).ki_filp).f_mapping).host;
        if (*host).i_mode as u32 & bindings::S_IFMT == bindings::S_IFBLK {
            host as usize
        } else {
            (*host).i_sb as usize
        }
    }
}
