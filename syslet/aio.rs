// SPDX-License-Identifier: GPL-2.0

//! Generic AIO on the syslet engine: fs/aio.c's reads of cached data
//! complete inline and the others run on async threads, its buffered
//! writes run inline with the cachemiss handoff.
//!
//! C header: [`include/linux/syslet.h`](srctree/include/linux/syslet.h).
//!
//! fs/aio.c keeps its ring, its accounting, its completion path and every
//! check of `io_submit()`; only the *execution* of a buffered
//! `IOCB_CMD_PREAD`, `PWRITE`, `PREADV` and `PWRITEV` moves. Where stock
//! Linux calls `->read_iter()`/`->write_iter()` inside `io_submit()`
//! (synchronously, for buffered I/O), `aio_read()`/`aio_write()` first
//! offer the request to [`syslet_aio_rw`]. When it takes it, the request's
//! iterator is copied, the request is handed to an async thread of the
//! process, and `io_submit()` goes on to the next iocb at once. The async
//! thread makes the same `->read_iter()`/`->write_iter()` call with the
//! submitter's credentials and completes the request exactly as
//! `aio_rw_done()` would (`-EIOCBQUEUED`: the file system completes it;
//! restart codes become `-EINTR`; anything else through `ki_complete`,
//! which posts the io_event to the aio ring).
//!
//! Not taken (the stock path runs): `kernel.syslet_aio = 0`; files other
//! than regular files and block devices (pipes, sockets, character
//! devices: their I/O may never end, and `io_destroy()` waits for every
//! request in flight); `O_DIRECT`
//! (`IOCB_DIRECT`, already asynchronous in the block layer);
//! `RWF_NOWAIT` (must answer `-EAGAIN` at once, as stock does); no
//! async thread to be had (`syslet_max_threads` busy); no memory for
//! the copy.
//! `IOCB_CMD_FSYNC`/`FDSYNC` were already punted by fs/aio.c, to the
//! system workqueue: [`syslet_aio_work`] has an async thread of the
//! process make their `vfs_fsync()` instead. `POLL` keeps its wait-queue
//! path. A request on a thread is cancellable ([`cancel`]).
//!
//! # Writes: the cachemiss path
//!
//! A buffered write usually copies into the page cache without sleeping,
//! and handing each to a thread cost more than it saved (fio's 4 KiB
//! random writes with an fsync every 64 ran at 0.67-0.78x stock libaio).
//! So when the caller's context can move ([`eligible::can_hand_off`]) and
//! it is not the main thread (see `write_inline`), a write runs inline,
//! in `io_submit()`, armed like a chain's atom
//! ([`handoff::run_armed`]): if it never sleeps, it completes before
//! `io_submit()` goes on, as on stock Linux; if it sleeps, the user
//! context moves to a spare thread and `io_submit()` returns there at once
//! with the number of iocbs submitted so far, this one included (a
//! partial submission: callers resubmit the rest, as they must for any
//! short count). The task that blocked finishes the write, completes it,
//! leaves `io_submit()`'s loop, drops its references and parks as a spare
//! ([`syslet_aio_park`]).
//!
//! `io_submit()`'s loop asks one hook what to do next ([`syslet_aio_next`]):
//! before each iocb, which records the count `io_submit()` returns if that
//! iocb is submitted (`task_struct::syslet_aio_nr`), and after the last,
//! which says whether the context moved meanwhile (then the task parks,
//! [`syslet_aio_park`]). The context's return value reaches user space
//! through a task work
//! (syslet/handoff.c), since a new spare leaves through
//! `ret_from_fork()`, which clears the return register. The compat
//! `io_submit()` never sets the count (compat tasks cannot hand off).
//!
//! # Reads: cached ones inline
//!
//! A read first runs inline with `IOCB_NOWAIT` ([`read_nowait`]) where
//! the file honours it: what the page cache holds completes inside
//! `io_submit()`, as on stock Linux; only the part that would wait for
//! the device goes to an async thread (the one event counts both parts),
//! its device I/O started inside `io_submit()`, as stock's is
//! ([`start_io`]). Such a cold read then waits for its pages in the
//! process's line ([`cold`]): one async thread waits for the reads of a
//! device in turn, instead of a thread each.
//! tmpfs reads, which never wait for a device, run the stock way. Reads
//! that would wait keep async threads rather than handing off: a cold
//! read always blocks, and a handoff per iocb would cut every batch short.

use crate::{
    eligible, handoff,
    process::Process,
    prim::current,
    threadlet,
};
use core::ptr;
use kernel::{bindings, prelude::*, task::Task};

pub(crate) mod cancel;
mod cold;
mod dest;
mod thread;
use cancel::AioFsync;
use thread::to_thread;

/// The file system will complete the request itself (include/linux/errno.h).
const EIOCBQUEUED: isize = bindings::EIOCBQUEUED as isize;
/// `IOCB_NOWAIT`: the request may not wait (for a lock, a page, a device).
/// It is `RWF_NOWAIT` through a cast bindgen cannot evaluate: patches/0003
/// gives it to the bindings as a constant.
const IOCB_NOWAIT: u32 = bindings::IOCB_NOWAIT as u32;
/// `FMODE_NOWAIT`: the file honours `IOCB_NOWAIT` (patches/0003 likewise).
const FMODE_NOWAIT: u32 = bindings::FMODE_NOWAIT;
/// `IOCB_NOIO`: a page cache read starts no I/O, not even read-ahead.
const IOCB_NOIO: u32 = bindings::IOCB_NOIO;
/// The most of a read's destination faulted in inside `io_submit()`
/// before the inline read tries again (the rest is the async thread's).
const FAULT_IN_MAX: isize = 64 << 10;
/// tmpfs's superblock magic (include/uapi/linux/magic.h).
const TMPFS_MAGIC: usize = bindings::TMPFS_MAGIC as usize;

/// Makes the request's `->read_iter()` or `->write_iter()` call, as
/// fs/aio.c would (`-EINVAL` without the method).
///
/// # Safety
///
/// `req` is a prepared aio request and `iter` its iterator.
unsafe fn call_rw(req: *mut bindings::kiocb, iter: *mut bindings::iov_iter, write: bool) -> isize {
    // SAFETY: the request's file and its operations are valid (see
    // # Safety).
    unsafe {
        let fops = (*(*req).ki_filp).f_op;
        let call = if write { (*fops).write_iter } else { (*fops).read_iter };
        match call {
            Some(f) => f(req, iter),
            None => -(bindings::EINVAL as isize),
        }
    }
}

/// The result of a read that had read `done` bytes before the call that
/// returned `ret` (for the rest): what one blocking read would have
/// returned, the bytes read so far when the rest failed.
fn with_done(done: isize, ret: isize) -> isize {
    match ret {
        // The file system's to complete: never counted here.
        _ if done == 0 || ret == -EIOCBQUEUED => ret,
        r if r >= 0 => done + r,
        _ => done,
    }
}

/// What is left of `iter` to read or write (`iov_iter_count()`).
///
/// # Safety
///
/// `iter` is a valid iterator.
unsafe fn iter_left(iter: *const bindings::iov_iter) -> usize {
    // SAFETY: `iter` is valid (# Safety); `count` is the same word in
    // every kind of iterator.
    unsafe { (*iter).__bindgen_anon_1.__bindgen_anon_1.as_ref().count }
}

/// The most of a cold read whose device I/O [`start_io`] starts inside
/// `io_submit()`; the async thread reads the rest as any read would.
const START_IO_MAX: isize = 128 << 10;

/// Starts the device's I/O of a cold read of `count` bytes at `pos`
/// inside `io_submit()`, as a stock read starts it there, so that it runs
/// while the request waits for its async thread (a cold read at queue
/// depth 1 ran at 0.89x stock when the thread started it). At most
/// [`START_IO_MAX`] bytes; nothing while the file's invalidate lock is
/// taken (`syslet_readahead()`), which `io_submit()` does not wait for.
/// Returns whether the I/O of all `count` bytes was started (a hint): the
/// read then waits in the process's line ([`cold`]).
fn start_io(file: *mut bindings::file, pos: i64, count: isize) -> bool {
    if count <= 0 {
        return false;
    }
    let n = count.min(START_IO_MAX);
    let first = (pos as u64) >> bindings::PAGE_SHIFT;
    let last = (pos as u64 + n as u64 - 1) >> bindings::PAGE_SHIFT;
    // SAFETY: `file` is an open file the caller holds (its request's).
    let started = unsafe { bindings::syslet_readahead(file, first as _, (last - first + 1) as _) };
    started && n == count
}

/// What a read tried inside `io_submit()` without blocking did.
enum Nowait {
    /// Completed there (or owned by the file system: `-EIOCBQUEUED`), as
    /// on stock Linux, where a cached read never leaves `io_submit()`.
    Completed,
    /// Read this many bytes, and the rest is not in the page cache; true:
    /// its device I/O was started ([`start_io`]).
    Partial(isize, bool),
    /// Nothing read: not cached, or the file ignores `IOCB_NOWAIT`; true:
    /// the device I/O of the read was started ([`start_io`]).
    WouldBlock(bool),
}

/// Tries a read with `IOCB_NOWAIT`, inline: a read of cached pages
/// completes inside `io_submit()` as on stock Linux, and only one that
/// would wait for I/O goes to an async thread (a thread round trip cost
/// a cached 4 KiB read 11 times its stock time).
///
/// # Safety
///
/// As [`syslet_aio_rw`], for a read.
unsafe fn read_nowait(req: *mut bindings::kiocb, iter: *mut bindings::iov_iter) -> Nowait {
    // SAFETY: the request's file is valid (see # Safety).
    let fmode = unsafe { (*(*req).ki_filp).f_mode };
    if fmode & FMODE_NOWAIT == 0 {
        return Nowait::WouldBlock(false);
    }
    // SAFETY: the request's file is valid (see # Safety); the inode of
    // an open file's mapping is valid, and a racy read of `i_size` is
    // what `i_size_read()` does on 64-bit. The mapping's: a block
    // device's node (`f_inode`, on devtmpfs) has size 0, its mapping's
    // host the device's size.
    let (file, size) = unsafe {
        let file = (*req).ki_filp;
        (file, ptr::read_volatile(ptr::addr_of!((*(*(*file).f_mapping).host).i_size)))
    };
    // SAFETY: `iter` is valid (# Safety).
    let count = unsafe { iter_left(iter) } as isize;
    // A read whose first page is not cached is not tried: the try would
    // only return -EAGAIN, but on its way it could wait in io_submit()
    // (the atime update of `file_accessed()`, which runs on that exit
    // too, may wait for the journal; a block device's read takes its
    // inode lock). The check is a hint, lockless and without a reference
    // (a reference-counted lookup cost every cached read 6% more
    // instructions: `make profile`). At or past the end of the file the
    // read returns 0 at once, as on stock Linux.
    // SAFETY: `req` is a prepared read (# Safety); `ki_pos` is its own.
    let pos = unsafe { (*req).ki_pos };
    // SAFETY: `file` is the request's (# Safety).
    if pos < size && !unsafe { bindings::syslet_page_cached(file, pos) } {
        return Nowait::WouldBlock(start_io(file, pos, count.min((size - pos) as isize)));
    }
    // With `IOCB_NOIO` as well: `IOCB_NOWAIT` alone still issues the
    // read-ahead of a missing page, with the file's read-ahead window
    // (16 cold reads took as long as stock's synchronous ones); the
    // missing rest's I/O is `start_io()`'s, exactly, below.
    // SAFETY: the request is ours until completed (see # Safety).
    unsafe { (*req).ki_flags |= (IOCB_NOWAIT | IOCB_NOIO) as i32 };
    // Without faulting the destination in: a fault could wait for I/O
    // (swap, a file mapping) or for a userfaultfd handler. What is not
    // copied is read by the async thread, faulting.
    // SAFETY: a prepared read and its iterator.
    let mut ret = unsafe { bindings::syslet_read_iter_nofault(req, iter) };
    if ret == -(bindings::EFAULT as isize) {
        // SAFETY: `req` is a prepared read (# Safety).
        let pos = unsafe { (*req).ki_pos };
        // Nothing copied: the destination is not resident, or not
        // writable at all. A stock read faults it in while it copies
        // (without I/O for anonymous memory); so does this one, as far as
        // the file goes and at most FAULT_IN_MAX bytes (under the mmap
        // lock), without writing to it, then tries again.
        let want = count.min((size - pos).max(0) as isize).min(FAULT_IN_MAX) as usize;
        // SAFETY: `iter` is a valid user iterator (see # Safety).
        let left = unsafe { bindings::fault_in_iov_iter_writeable(iter, want) };
        if want > 0 && left == want {
            // Not even its first page: a bad address, or one that only a
            // real fault reaches (GUP does not grow a stack down to it).
            // One read that faults, of the cached part only (still
            // IOCB_NOWAIT | IOCB_NOIO), answers as stock's would.
            // SAFETY: a prepared read and its iterator.
            ret = unsafe { call_rw(req, iter, false) };
            if ret == -(bindings::EFAULT as isize) {
                // SAFETY: the request is ours and not completed.
                unsafe {
                    (*req).ki_flags &= !((IOCB_NOWAIT | IOCB_NOIO) as i32);
                    rw_done(req, ret);
                }
                return Nowait::Completed;
            }
        } else {
            // SAFETY: as the first try.
            ret = unsafe { bindings::syslet_read_iter_nofault(req, iter) };
        }
    }
    if ret == -EIOCBQUEUED {
        return Nowait::Completed; // the file system's now: not touched
    }
    // SAFETY: as above; not completed yet.
    unsafe { (*req).ki_flags &= !((IOCB_NOWAIT | IOCB_NOIO) as i32) };
    // An error (-EAGAIN; -EFAULT for a destination not resident; what a
    // file system says to IOCB_NOWAIT, as ocfs2's -EOPNOTSUPP) is not
    // the read's answer: the async thread asks again, as stock would.
    if ret < 0 {
        return Nowait::WouldBlock(false);
    }
    // SAFETY: `req` is a prepared read (# Safety); the read moved
    // `ki_pos`, which only this task touches until it completes it.
    let at_eof = unsafe { (*req).ki_pos } >= size;
    if ret < count && !at_eof {
        // The rest is not cached: its I/O starts here too.
        // SAFETY: as above.
        let pos = unsafe { (*req).ki_pos };
        let cold = start_io(file, pos, (count - ret).min((size - pos) as isize));
        // Nothing read before the end: "0 if IOCB_NOIO" (filemap.c).
        return if ret == 0 { Nowait::WouldBlock(cold) } else { Nowait::Partial(ret, cold) };
    }
    // SAFETY: the read returned `ret` and was not completed.
    unsafe { rw_done(req, ret) };
    Nowait::Completed
}

/// After a write that returned `ret` on a task other than the one whose
/// write it is (an async thread, or one whose context moved away): a
/// SIGXFSZ that generic_write_checks() sent to the current task, where it
/// stays blocked, goes to `to` instead. (An EFBIG past the file system's
/// size limit sends none.)
fn forward_sigxfsz(ret: isize, to: &Task) {
    if ret == -(bindings::EFBIG as isize) && sigxfsz_pending() {
        // `Task` is a transparent wrapper of `task_struct`.
        let task = to as *const Task as *mut bindings::task_struct;
        // SAFETY: `task` is kept alive by the caller's reference.
        unsafe { bindings::send_sig(bindings::SIGXFSZ as i32, task, 0) };
    }
}

/// What fs/aio.c's `aio_rw_done()` does with the result of a read or
/// write: `-EIOCBQUEUED` (the file system completes it) nothing; anything
/// else completes the request, restart codes as `-EINTR`.
///
/// # Safety
///
/// `req` is an aio request whose I/O call returned `ret`, not completed
/// yet.
unsafe fn rw_done(req: *mut bindings::kiocb, ret: isize) {
    if ret == -EIOCBQUEUED {
        return;
    }
    let ret = crate::restart_to_eintr(ret);
    // SAFETY: completes the request once (see # Safety).
    unsafe {
        if let Some(complete) = (*req).ki_complete {
            complete(req, ret as _);
        }
    }
}

/// `io_submit` on x86-64.
const NR_IO_SUBMIT: usize = bindings::__NR_io_submit as usize;

/// A write through the cachemiss path (module documentation), if it may
/// take it. `None` (the thread path) unless the caller is a user thread
/// in its own `io_submit()` system call, inside the loop, not in a
/// threadlet, whose context can move. An `io_submit()` made by a chain's
/// atom runs in `async_exec()`'s frame (or on an async thread, whose
/// `worker_private` is its own): that context is the chain's to move, not
/// this write's. The main thread's writes take this path too: its context
/// moves with its TID and the group's leadership (Documentation/
/// handoff.md, "The group leader"), so nothing a program sees changes.
///
/// # Safety
///
/// As [`syslet_aio_rw`], for a write.
unsafe fn write_inline(req: *mut bindings::kiocb, iter: *mut bindings::iov_iter) -> Option<bool> {
    const NOT_USER: u32 = bindings::PF_SYSLET_WORKER | bindings::PF_IO_WORKER | bindings::PF_USER_WORKER;
    let t = current();
    // SAFETY: `current`'s own fields; a user task in a system call has
    // its user frame at `current_pt_regs()`.
    let (nr, flags, syscall) = unsafe { ((*t).syslet_aio_nr, (*t).flags, (*bindings::current_pt_regs()).orig_ax) };
    if nr <= 0 || flags & NOT_USER != 0 || syscall != NR_IO_SUBMIT {
        return None;
    }
    if threadlet::armed() || !eligible::can_hand_off() {
        return None;
    }
    let process = Process::borrow_current().ok()?;
    // SAFETY: `req` is a prepared write (see # Safety), `iter` its
    // iterator; `req` stays valid until completed.
    let w = handoff::run_armed(process, nr, || unsafe { call_rw(req, iter, true) });
    if w.moved {
        // This task's SIGXFSZ would be dropped when it parks: the thread
        // that took the context gets it, as after a direct write.
        if let Some(taker) = &w.taker {
            forward_sigxfsz(w.ret, taker);
        }
        // SAFETY: `current`'s own field: io_submit() leaves its loop.
        unsafe { (*t).syslet_aio_nr = -1 };
    }
    // SAFETY: the write returned `w.ret`.
    unsafe { rw_done(req, w.ret) };
    Some(true)
}

/// Whether SIGXFSZ is pending for the current task alone
/// (generic_write_checks() sends it to the writer for a write past
/// RLIMIT_FSIZE).
fn sigxfsz_pending() -> bool {
    // SAFETY: reads `current`'s own pending set; a racing sender can only
    // add bits, and a stale read only misses a signal sent after the
    // write returned.
    let word = unsafe { ptr::read_volatile(ptr::addr_of!((*current()).pending.signal.sig[0])) };
    word & (1 << (bindings::SIGXFSZ - 1)) != 0
}

/// io_submit()'s loop, before iocb `i` of `nr` and once after the last
/// (`i == nr`): what it does next.
///
/// `task_struct::syslet_aio_nr` is the count `io_submit()` returns if the
/// context moves while iocb `i` runs (`i + 1`: the iocb that blocked is
/// submitted), -1 once it moved ([`write_inline`]), 0 when the loop is
/// over. A loop left early by an error (a fault reading `iocbpp`, a bad
/// iocb) leaves the count of that iocb behind: only [`write_inline`]
/// reads it, inside the loop, after this hook set it.
#[no_mangle]
pub extern "C" fn syslet_aio_next(i: isize, nr: isize) -> bindings::syslet_aio_step {
    let t = current();
    // SAFETY: `current`'s own field, which only the task itself writes.
    let moved = unsafe { (*t).syslet_aio_nr } < 0;
    if moved {
        // The task that blocked: it parks (the field is cleared there).
        return bindings::syslet_aio_step_SYSLET_AIO_PARK;
    }
    let (count, step) = if i < nr {
        (i + 1, bindings::syslet_aio_step_SYSLET_AIO_SUBMIT)
    } else {
        (0, bindings::syslet_aio_step_SYSLET_AIO_DONE)
    };
    // SAFETY: `current`'s own field, written only by the task itself.
    unsafe { (*t).syslet_aio_nr = count };
    step
}

/// io_submit(), once its context moved and its references are dropped:
/// the task parks as a spare ([`handoff::park_handed_off`]). Returns (to
/// the context it is given) 0; a context handed over from `io_submit()`
/// gets its count from the task work of syslet/handoff.c.
#[no_mangle]
pub extern "C" fn syslet_aio_park() -> isize {
    // SAFETY: `current`'s own field: it leaves io_submit()'s loop.
    unsafe { (*current()).syslet_aio_nr = 0 };
    handoff::park_handed_off();
    0
}

/// Offered fs/aio.c's fsync/fdatasync work items, in `io_submit()`, in
/// place of `schedule_work()`. Returns true when an async thread of the
/// process took it (and will run it), false to let fs/aio.c queue it on
/// the system workqueue as stock Linux does.
///
/// # Safety
///
/// Only fs/aio.c calls it, with an initialized work item that is not
/// queued anywhere.
#[no_mangle]
pub unsafe extern "C" fn syslet_aio_work(work: *mut bindings::work_struct) -> bool {
    if !offered() {
        return false;
    }
    let Ok(process) = Process::of_current() else { return false };
    // Armed before a worker is taken: a worker taken and then not given
    // work would be lost to the pool.
    // SAFETY: see # Safety.
    let Ok(job) = (unsafe { AioFsync::new(work) }) else { return false };
    // The pool's work item (one allocation per request), made before a
    // worker is taken for the same reason.
    let Ok(item) = KBox::<Option<AioFsync>>::new_uninit(GFP_KERNEL_ACCOUNT) else {
        return job.give_back();
    };
    let Ok(Some(worker)) = process.workers.get() else { return job.give_back() };
    match worker.submit_detached(item.write(Some(job))) {
        Ok(()) => true,
        // The thread was exiting: fs/aio.c queues it as stock Linux does.
        Err(mut job) => job.take().is_some_and(AioFsync::give_back),
    }
}

/// Whether aio work may go to async threads at all: the switch is on.
/// A task under seccomp (every container's) is no exception: what an
/// async thread does for an iocb is no system call its filter could
/// judge, and the thread is one made by a task with the same filter
/// (`WorkerPool::get`), which runs no chain of another's.
fn offered() -> bool {
    // SAFETY: a sysctl variable of syslet/sysctl.c, read racily on purpose.
    unsafe { ptr::read_volatile(ptr::addr_of!(bindings::sysctl_syslet_aio)) != 0 }
}

/// Offered every read and write by fs/aio.c, in `io_submit()`, in place of
/// calling `->read_iter()`/`->write_iter()`. Returns true when it took
/// the request (an async thread will complete it), false to let fs/aio.c
/// run it as stock Linux does.
///
/// # Safety
///
/// Only fs/aio.c calls it, with a prepared request and its iterator
/// (which lives on the caller's stack: it is copied here).
#[no_mangle]
pub unsafe extern "C" fn syslet_aio_rw(req: *mut bindings::kiocb, iter: *mut bindings::iov_iter, write: bool) -> bool {
    // SAFETY: `req` is valid (see # Safety).
    let flags = unsafe { (*req).ki_flags } as u32;
    if !offered() || flags & (bindings::IOCB_DIRECT | IOCB_NOWAIT) != 0 {
        return false;
    }
    // Only regular files and block devices, whose I/O ends by itself: a
    // read of an empty pipe or socket handed to a thread could keep
    // io_destroy() waiting forever, where stock Linux blocks io_submit().
    // SAFETY: the request's file and inode are valid.
    let mode = unsafe { (*(*(*req).ki_filp).f_inode).i_mode } as u32;
    let fmt = mode & bindings::S_IFMT;
    if fmt != bindings::S_IFREG && fmt != bindings::S_IFBLK {
        return false;
    }
    let (mut done, mut cold) = (0, false);
    if write {
        // SAFETY: as this function's.
        if let Some(taken) = unsafe { write_inline(req, iter) } {
            return taken;
        }
    } else {
        // tmpfs ignores IOCB_NOWAIT, and its reads wait for no device (a
        // swapped-out page is read in, as on stock Linux): inline. Only a
        // regular file: a block device's node in /dev is on devtmpfs,
        // whose magic is tmpfs's too (the cold reads of /dev/nullb0 ran
        // the stock way, in io_submit()).
        // SAFETY: the request's file, inode and superblock are valid.
        if fmt == bindings::S_IFREG && unsafe { (*(*(*(*req).ki_filp).f_inode).i_sb).s_magic } == TMPFS_MAGIC {
            return false;
        }
        // SAFETY: as this function's, for a read.
        match unsafe { read_nowait(req, iter) } {
            Nowait::Completed => return true,
            Nowait::Partial(n, started) => (done, cold) = (n, started),
            Nowait::WouldBlock(started) => cold = started,
        }
    }
    // SAFETY: as this function's.
    if unsafe { to_thread(req, iter, write, done, cold) } {
        return true;
    }
    if done == 0 {
        return false; // fs/aio.c runs it, as stock Linux does
    }
    // Part of it was read here: fs/aio.c would count only the rest, so
    // the rest is read here too, blocking, as stock Linux reads it.
    // SAFETY: the request's read, part done, not completed.
    unsafe { rw_done(req, with_done(done, call_rw(req, iter, false))) };
    true
}
