// SPDX-License-Identifier: GPL-2.0

//! The C ABI of the private fd space: what `include/linux/fdspace.h`
//! declares and `fs/file.c`, `fs/proc/` and the other hooks call
//! (patches/0007-0011). Each function takes the `fdspace` field of a
//! `files_struct` and works on the [`FdSpace`] published there, made on
//! first use ([`get_or_make`]).

use crate::{get_or_make, random_u32, space, FdSpace, CHUNK_SLOTS, NONLINEAR_FD};
use core::{
    ffi::{c_int, c_void},
    ptr, slice,
    sync::atomic::{AtomicPtr, Ordering},
};
use kernel::{bindings, prelude::*};

/// `fd`'s entry in the space of `field`, for `__fget_files_rcu()`:
/// NULL if `fd` is not one of its slots. Lock-free; RCU or a reference
/// to the files_struct keeps the result valid.
///
/// # Safety
///
/// `field` is the `fdspace` field of a live `files_struct` (RCU or a
/// reference to the `files_struct` keeps it alive for the call).
#[no_mangle]
pub unsafe extern "C" fn fdspace_entry(field: *mut *mut c_void, fd: u32) -> *mut *mut bindings::file {
    // SAFETY: the caller's contract.
    let Some(s) = (unsafe { space(field) }) else { return ptr::null_mut() };
    s.slot_of(fd).and_then(|slot| s.entry(slot)).map_or(ptr::null_mut(), |e| e.as_ptr())
}

/// Reserves a private descriptor in the space of `field`; `nofile` is
/// `RLIMIT_NOFILE`. Returns it, or `-EMFILE`/`-ENOMEM`.
///
/// # Safety
///
/// `field` is the `fdspace` field of a live `files_struct` (RCU or a
/// reference to the `files_struct` keeps it alive for the call).
#[no_mangle]
pub unsafe extern "C" fn fdspace_reserve(field: *mut *mut c_void, nofile: u64) -> i32 {
    // SAFETY: the caller's contract.
    match unsafe { get_or_make(field, || (random_u32(), random_u32())) }.and_then(|s| s.reserve(nofile)) {
        Ok(fd) => fd as i32,
        Err(e) => e.to_errno(),
    }
}

/// Allocates a private descriptor in the space of `field` and installs
/// `file` there (consuming the reference on success). Returns the
/// descriptor, or `-EMFILE`/`-ENOMEM` (the reference is the caller's).
///
/// # Safety
///
/// `field` is the `fdspace` field of a live `files_struct` (RCU or a
/// reference to the `files_struct` keeps it alive for the call); `file` is a
/// file reference the caller owns.
#[no_mangle]
pub unsafe extern "C" fn fdspace_alloc_install(field: *mut *mut c_void, file: *mut bindings::file, nofile: u64) -> i32 {
    // SAFETY: the caller's contract.
    let res = unsafe { get_or_make(field, || (random_u32(), random_u32())) }.and_then(|s| {
        let fd = s.reserve(nofile)?;
        // The slot is ours and its chunk exists (`reserve`).
        if let Some(e) = s.slot_of(fd).and_then(|slot| s.entry(slot)) {
            e.store(file, Ordering::Release);
        }
        Ok(fd)
    });
    match res {
        Ok(fd) => fd as i32,
        Err(e) => e.to_errno(),
    }
}

/// Installs `file` into the reserved descriptor `fd` (consumes the
/// reference, like `fd_install()`).
///
/// # Safety
///
/// `field` is the `fdspace` field of a live `files_struct` (RCU or a
/// reference to the `files_struct` keeps it alive for the call); `fd` was
/// reserved in that space by [`fdspace_reserve`] and nothing is
/// installed in it yet; `file` is a file reference the caller owns.
#[no_mangle]
pub unsafe extern "C" fn fdspace_install(field: *mut *mut c_void, fd: u32, file: *mut bindings::file) {
    // SAFETY: the caller's contract.
    let entry = unsafe { fdspace_entry(field, fd) };
    // SAFETY: `fd` was reserved by `fdspace_reserve` on this space (the
    // caller's contract), so its slot's chunk exists and the slot is ours
    // and empty: `entry` is not null.
    unsafe { AtomicPtr::from_ptr(entry) }.store(file, Ordering::Release);
}

/// Frees a reserved descriptor no file was installed into.
///
/// # Safety
///
/// `field` is the `fdspace` field of a live `files_struct` (RCU or a
/// reference to the `files_struct` keeps it alive for the call); `fd` was
/// reserved there and nothing was installed in it.
#[no_mangle]
pub unsafe extern "C" fn fdspace_unreserve(field: *mut *mut c_void, fd: u32) {
    // SAFETY: the caller's contract.
    if let Some(s) = unsafe { space(field) } {
        if let Some(slot) = s.slot_of(fd) {
            s.release_slot(slot);
        }
    }
}

/// Closes private descriptor `fd`: returns its file (the caller
/// `filp_close()`s it) or NULL if it is not open.
///
/// # Safety
///
/// `field` is the `fdspace` field of a live `files_struct` (RCU or a
/// reference to the `files_struct` keeps it alive for the call).
#[no_mangle]
pub unsafe extern "C" fn fdspace_close(field: *mut *mut c_void, fd: u32) -> *mut bindings::file {
    // SAFETY: the caller's contract.
    unsafe { space(field) }.map_or(ptr::null_mut(), |s| s.close(fd))
}

/// Closes every private descriptor of `files` (exec, exit).
///
/// # Safety
///
/// `field` is the `fdspace` field of `files`, a live `files_struct`; the
/// caller may sleep.
#[no_mangle]
pub unsafe extern "C" fn fdspace_close_all(files: *mut bindings::files_struct, field: *mut *mut c_void) {
    // SAFETY: the caller's contract, which is `fdspace_close_range`'s.
    unsafe { fdspace_close_range(files, field, 0, u32::MAX) };
}

/// Closes the private descriptors of `files` numbered `lo..=hi`
/// (`close_range()` with `CLOSE_RANGE_NONLINEAR`).
///
/// In batches collected on the stack (no allocation that could fail and
/// leave a descriptor open across an exec): closing runs filp_close(),
/// which may sleep, so it is not done inside the walk.
///
/// # Safety
///
/// `field` is the `fdspace` field of `files`, a live `files_struct`; the
/// caller may sleep.
#[no_mangle]
pub unsafe extern "C" fn fdspace_close_range(
    files: *mut bindings::files_struct,
    field: *mut *mut c_void,
    lo: u32,
    hi: u32,
) {
    const BATCH: usize = 32;
    // SAFETY: the caller's contract.
    let Some(s) = (unsafe { space(field) }) else { return };
    let next = s.next();
    let mut from = 0;
    while from < next {
        let mut batch = [0u32; BATCH];
        let mut n = 0;
        from = s.for_each_in(from..next, |fd, _| {
            if fd >= lo && fd <= hi {
                batch[n] = fd;
                n += 1;
            }
            n < BATCH
        });
        // Stopped at a full batch: its last slot is done.
        if n == BATCH {
            from += 1;
        }
        for &fd in &batch[..n] {
            let file = s.close(fd);
            if !file.is_null() {
                // SAFETY: the descriptor's reference, now ours.
                unsafe { bindings::filp_close(file, files as _) };
            }
            // SAFETY: process context, no lock held.
            unsafe { bindings::cond_resched() };
        }
    }
}

/// Copies the private descriptors of `src` into the new `dst` (fork):
/// same numbers, one more reference on each file. 0 or `-ENOMEM`.
///
/// # Safety
///
/// `src` is the `fdspace` field of a live `files_struct`, `dst` that of
/// a new one nobody else uses yet; the caller may sleep.
#[no_mangle]
pub unsafe extern "C" fn fdspace_dup(dst: *mut *mut c_void, src: *mut *mut c_void) -> i32 {
    // SAFETY: the caller's contract.
    let Some(old) = (unsafe { space(src) }) else { return 0 };
    let res = (|| -> Result {
        // SAFETY: `dst` is the new files_struct's field (the contract).
        let new = unsafe { get_or_make(dst, || (old.mult, old.key)) }?;
        // Slots the parent allocates from here on are not the child's.
        let next = old.next();
        let mut err = Ok(());
        old.for_each_in(0..next, |fd, e| {
            let Some(slot) = old.slot_of(fd) else { return true };
            if let Err(x) = new.populate(slot) {
                err = Err(x);
                return false;
            }
            // A reference for the child, unless another thread of the
            // parent closed the descriptor meanwhile (then the child does
            // not get it, as with the fd array).
            // SAFETY: `e` is a slot of a live space; the C side holds RCU.
            let file = unsafe { bindings::fdspace_get_file(e.as_ptr() as _) };
            if !file.is_null() {
                if let Some(ne) = new.entry(slot) {
                    ne.store(file, Ordering::Release);
                    new.alloc.lock().open += 1;
                    // Inherited: counted, whatever the limit says now.
                    new.total.fetch_add(1, Ordering::Relaxed);
                }
            }
            true
        });
        err?;
        // The child's free slots are the ones it has no file in, whatever
        // the parent's free list says meanwhile (a slot closed during the
        // walk must not end up both installed and free).
        let mut free = KVec::new();
        for slot in (0..next).rev() {
            let empty = new.entry(slot).map_or(true, |e| e.load(Ordering::Relaxed).is_null());
            if empty && new.fd_of(slot) != NONLINEAR_FD {
                free.push(slot, GFP_KERNEL_ACCOUNT)?;
            }
        }
        let mut a = new.alloc.lock();
        a.next = next;
        a.free = free;
        Ok(())
    })();
    match res {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Frees the space of a dying `files_struct` after closing what is left.
///
/// # Safety
///
/// `field` is the `fdspace` field of `files`, a `files_struct` that is
/// being freed: nobody else uses it any more.
#[no_mangle]
pub unsafe extern "C" fn fdspace_release(files: *mut bindings::files_struct, field: *mut *mut c_void) {
    // SAFETY: the caller's contract (a dying files_struct is live until
    // this returns).
    unsafe { fdspace_close_all(files, field) };
    // SAFETY: the files_struct is dying: nobody else uses the field.
    let p = unsafe { AtomicPtr::from_ptr(field) }.swap(ptr::null_mut(), Ordering::AcqRel) as *mut FdSpace;
    if p.is_null() {
        return;
    }
    // SAFETY: as above; the space is no longer reachable. Dropping it
    // frees its chunks.
    drop(unsafe { KBox::from_raw(p) });
}

/// Takes a reference to the files of up to `max` private descriptors of
/// the space of `field`, from slot `*pos` on, into `fds` and `files`
/// (the /proc/<pid>/fdspace listing); returns how many. Scans one chunk
/// of slots at most, then sets `*pos` to the slot to go on from, or to
/// `u32::MAX` when the walk is over. Never sleeps: the caller holds
/// `task_lock` and drops it between calls.
///
/// # Safety
///
/// `field` is the `fdspace` field of a live `files_struct`; `pos` is
/// valid for reads and writes, `fds` and `files` for `max` writes.
#[no_mangle]
pub unsafe extern "C" fn fdspace_collect(
    field: *mut *mut c_void,
    pos: *mut u32,
    fds: *mut u32,
    files: *mut *mut bindings::file,
    max: u32,
) -> u32 {
    // SAFETY: the caller's contract.
    let (pos, fds, files) = unsafe {
        (
            &mut *pos,
            slice::from_raw_parts_mut(fds, max as usize),
            slice::from_raw_parts_mut(files, max as usize),
        )
    };
    // SAFETY: the caller's contract.
    let Some(s) = (unsafe { space(field) }) else {
        *pos = u32::MAX;
        return 0;
    };
    let (from, next) = (*pos, s.next());
    if from >= next || fds.is_empty() {
        *pos = u32::MAX;
        return 0;
    }
    let end = from.saturating_add(CHUNK_SLOTS as u32).min(next);
    let mut n = 0;
    *pos = s.for_each_in(from..end, |fd, e| {
        if n == fds.len() {
            return false; // this slot is the next call's
        }
        // SAFETY: a slot of a live space (the caller's task_lock keeps
        // the files_struct); RCU is taken inside.
        let file = unsafe { bindings::fdspace_get_file(e.as_ptr() as _) };
        if !file.is_null() {
            fds[n] = fd;
            files[n] = file;
            n += 1;
        }
        true
    });
    n as u32
}

/// `iterate_fd()` over the private descriptors of the space of `field`,
/// after the linear ones: calls `f(p, file, fd)` for each, in slot order,
/// until it returns non-zero, and returns that (0 if it never did).
///
/// `start` is `iterate_fd()`'s: up to `NONLINEAR_FD + 1` the walk starts
/// at the first slot; above, it is a private descriptor plus one (what
/// callers that stop early return, and pass back to resume) and the walk
/// resumes after that descriptor's slot.
///
/// The file passed to `f` is referenced for the call: a private
/// descriptor can be closed without the table's `file_lock`, which the
/// caller holds; `fput()` is fine in atomic context. Never sleeps.
///
/// # Safety
///
/// `field` is the `fdspace` field of a live `files_struct` whose
/// `file_lock` the caller holds; `f` and `p` are `iterate_fd()`'s.
#[no_mangle]
pub unsafe extern "C" fn fdspace_iterate(
    field: *mut *mut c_void,
    start: u32,
    f: Option<unsafe extern "C" fn(*const c_void, *mut bindings::file, u32) -> c_int>,
    p: *const c_void,
) -> c_int {
    // SAFETY: the caller's contract.
    let (Some(s), Some(f)) = (unsafe { space(field) }, f) else { return 0 };
    let from = if start <= NONLINEAR_FD + 1 {
        0
    } else {
        // `start - 1` is a descriptor number; not one of this space (a
        // slot out of range): nothing after it.
        match s.slot_of(start - 1) {
            Some(slot) => slot + 1,
            None => return 0,
        }
    };
    let mut res = 0;
    s.for_each_in(from..s.next(), |fd, e| {
        // SAFETY: a slot of a live space; RCU is taken inside.
        let file = unsafe { bindings::fdspace_get_file(e.as_ptr() as _) };
        if file.is_null() {
            return true; // closed meanwhile
        }
        // SAFETY: `file` is referenced; `f` and `p` are the caller's.
        res = unsafe { f(p, file, fd) };
        // SAFETY: the reference taken above.
        unsafe { bindings::fput(file) };
        res == 0
    });
    res
}

/// Private descriptors open (or reserved) in the space of `field`, 0
/// without a space: `select()` refuses an nfds that reaches the private
/// space only in a process that has some.
///
/// # Safety
///
/// `field` is the `fdspace` field of a live `files_struct` (RCU or a
/// reference to the `files_struct` keeps it alive for the call).
#[no_mangle]
pub unsafe extern "C" fn fdspace_private_count(field: *mut *mut c_void) -> u32 {
    // SAFETY: the caller's contract.
    unsafe { space(field) }.map_or(0, |s| s.alloc.lock().open)
}

/// Charges a new linear descriptor to the space of `field`: 0, or
/// `-EMFILE` when linear and private descriptors are `nofile` already.
/// Called under the table's `file_lock` (see [`FdSpace::total`]); never
/// sleeps.
///
/// # Safety
///
/// `field` is the `fdspace` field of a live `files_struct` (RCU or a
/// reference to the `files_struct` keeps it alive for the call).
#[no_mangle]
pub unsafe extern "C" fn fdspace_charge(field: *mut *mut c_void, nofile: u64) -> c_int {
    // SAFETY: the caller's contract.
    match unsafe { space(field) }.map_or(Ok(()), |s| s.charge(nofile)) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Uncharges a closed linear descriptor from the space of `field`.
/// Called under the table's `file_lock`; never sleeps.
///
/// # Safety
///
/// `field` is the `fdspace` field of a live `files_struct` (RCU or a
/// reference to the `files_struct` keeps it alive for the call).
#[no_mangle]
pub unsafe extern "C" fn fdspace_uncharge(field: *mut *mut c_void) {
    // SAFETY: the caller's contract.
    if let Some(s) = unsafe { space(field) } {
        s.uncharge();
    }
}
