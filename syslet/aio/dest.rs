// SPDX-License-Identifier: GPL-2.0

//! Where a cold read in line may copy to ([`super::cold`]): memory whose
//! faults wait for nothing but memory.
//!
//! A read in line must not wait for anything but its device, and the copy
//! to its destination faults. A fault on private anonymous memory that is
//! writable, no shadow stack, and watched by no userfaultfd allocates a
//! page and waits for nothing else (a swap-in excepted, which
//! [`fault_in`] refuses); a fault anywhere else may wait for a file
//! system, a driver, a FUSE daemon or a userfaultfd handler, whose
//! progress may depend on a read queued behind. [`in_line`] asks that of
//! the whole destination in `io_submit()`, before a read joins the line;
//! [`fault_in`] asks it again of the page a read in line stopped at, and
//! faults that page in.
//!
//! Both only *try* the mmap lock (`io_submit()` must not wait behind a
//! writer of the lock, which may itself wait for a fault): taken, the
//! answer is false and the read takes the path that may wait.
//!
//! C glue: `syslet_iter_seg()` (syslet/syscalls.c) reads an iterator's
//! user segments, and `syslet_vm_shadow_stack` is `VM_SHADOW_STACK` (a
//! `BIT()` where shadow stacks are configured, which bindgen cannot
//! evaluate); `rust/helpers/syslet.c` wraps the mmap lock and the VMA
//! lookups, static inlines.

use super::iter_left;
use kernel::bindings;

/// The most segments of a destination [`in_line`] checks: a read with
/// more takes the thread path.
const LINE_SEGS: usize = 8;

/// The flags a VMA's faults wait for nothing but memory with: writable.
const VM_WRITE: bindings::vm_flags_t = bindings::VM_WRITE as bindings::vm_flags_t;

/// The current task's mmap lock, held for reading.
///
/// # Invariants
///
/// `mm` is the current task's `mm_struct`, read-locked by this token
/// (taken by [`MmapRead::try_current`], released by `Drop`), and the task
/// does not change its mm while the token lives (it is a local of a
/// function of that task).
struct MmapRead {
    mm: *mut bindings::mm_struct,
}

impl MmapRead {
    /// The lock, if the current task has an mm and the lock is free of
    /// writers now; never waits.
    fn try_current() -> Option<MmapRead> {
        // SAFETY: `current`'s own `mm`, which only the task itself
        // changes (exec, exit).
        let mm = unsafe { (*bindings::get_current()).mm };
        if mm.is_null() {
            return None;
        }
        // SAFETY: `mm` is the current task's, alive while it runs.
        if !unsafe { bindings::mmap_read_trylock(mm) } {
            return None;
        }
        // INVARIANT: read-locked above, the current task's.
        Some(MmapRead { mm })
    }

    /// The VMA that holds `addr`, if one does and faults in it wait for
    /// nothing but memory (module documentation).
    fn anon_vma_at(&self, addr: usize) -> Option<*mut bindings::vm_area_struct> {
        // SAFETY: the lock is held (type invariant), so the tree's VMAs
        // stay while it is.
        let vma = unsafe { bindings::vma_lookup(self.mm, addr as _) };
        if vma.is_null() {
            return None;
        }
        // SAFETY: a VMA of the tree, stable under the read lock.
        let (anon, uffd, flags) = unsafe {
            (
                bindings::vma_is_anonymous(vma),
                bindings::userfaultfd_armed(vma),
                (*vma).__bindgen_anon_2.vm_flags,
            )
        };
        // SAFETY: a constant of syslet/syscalls.c.
        let shadow = unsafe { bindings::syslet_vm_shadow_stack };
        (anon && !uffd && flags & VM_WRITE != 0 && flags & shadow == 0).then_some(vma)
    }
}

impl Drop for MmapRead {
    fn drop(&mut self) {
        // SAFETY: read-locked by this token (type invariant), once.
        unsafe { bindings::mmap_read_unlock(self.mm) };
    }
}

/// User segment `i` of `iter`'s remaining destination: its address and
/// length (the first one from where the iterator got to); `None` past the
/// last, or for an iterator of kernel memory.
///
/// # Safety
///
/// `iter` is a valid iterator.
unsafe fn segment(iter: *const bindings::iov_iter, i: usize) -> Option<(usize, usize)> {
    let (mut addr, mut len) = (0, 0);
    // SAFETY: `iter` is valid (# Safety); the outputs are ours.
    unsafe { bindings::syslet_iter_seg(iter, i as _, &mut addr, &mut len) }.then_some((addr as usize, len))
}

/// Whether the whole destination of the cold read `iter` (at most
/// [`LINE_SEGS`] segments) is memory whose faults wait for nothing but
/// memory, as far as `io_submit()` can tell without waiting: false for a
/// file or device mapping, a userfaultfd range, a hole, more segments, or
/// the mmap lock taken (the read then takes the thread path). A program
/// that maps something else there meanwhile finds its read leaving the
/// line ([`fault_in`]).
///
/// # Safety
///
/// `iter` is a valid iterator of the current task's memory.
pub(super) unsafe fn in_line(iter: *const bindings::iov_iter) -> bool {
    // SAFETY: `iter` is valid (# Safety).
    let mut left = unsafe { iter_left(iter) };
    // SAFETY: `iter` is valid (# Safety).
    if unsafe { segment(iter, LINE_SEGS) }.is_some() {
        return false;
    }
    let Some(mm) = MmapRead::try_current() else { return false };
    let mut i = 0;
    while left > 0 {
        // SAFETY: as above.
        let Some((mut addr, len)) = (unsafe { segment(iter, i) }) else { return false };
        let len = len.min(left);
        left -= len;
        let end = addr.saturating_add(len);
        while addr < end {
            let Some(vma) = mm.anon_vma_at(addr) else { return false };
            // SAFETY: a VMA of the tree, under the read lock `mm` holds.
            addr = unsafe { (*vma).__bindgen_anon_1.__bindgen_anon_1.vm_end } as usize;
        }
        i += 1;
    }
    true
}

/// For a read in line whose copy without faults stopped at a destination
/// page that is not there: faults that page in for writing, if its fault
/// waits for nothing but memory (module documentation) and for no swap-in
/// (`FAULT_FLAG_RETRY_NOWAIT`: such a fault answers `VM_FAULT_RETRY` at
/// once). False otherwise, or with the mmap lock taken: the read leaves
/// the line before it faults.
///
/// # Safety
///
/// `iter` is a valid iterator of the current task's memory.
pub(super) unsafe fn fault_in(iter: *const bindings::iov_iter) -> bool {
    // SAFETY: `iter` is valid (# Safety).
    if unsafe { iter_left(iter) } == 0 {
        return false;
    }
    // SAFETY: `iter` is valid (# Safety).
    let Some((addr, _)) = (unsafe { segment(iter, 0) }) else { return false };
    let Some(mm) = MmapRead::try_current() else { return false };
    let Some(vma) = mm.anon_vma_at(addr) else { return false };
    let flags = bindings::fault_flag_FAULT_FLAG_WRITE
        | bindings::fault_flag_FAULT_FLAG_KILLABLE
        | bindings::fault_flag_FAULT_FLAG_ALLOW_RETRY
        | bindings::fault_flag_FAULT_FLAG_RETRY_NOWAIT;
    // SAFETY: `vma` holds `addr`, under the read lock `mm` holds, which
    // `FAULT_FLAG_RETRY_NOWAIT` keeps held whatever the fault answers.
    let ret = unsafe { bindings::handle_mm_fault(vma, addr as _, flags as _, core::ptr::null_mut()) };
    drop(mm);
    ret & (bindings::VM_FAULT_ERROR | bindings::vm_fault_reason_VM_FAULT_RETRY) == 0
}
