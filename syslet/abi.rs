// SPDX-License-Identifier: GPL-2.0

//! The user ABI of [`include/uapi/linux/syslet.h`](srctree/include/uapi/linux/syslet.h),
//! decoded from user memory.
//!
//! Atoms and heads are read as arrays of words (`FromBytes` for `[usize; N]`)
//! and decoded field by field, so no `unsafe` and no user-controlled
//! padding reaches the kernel. Only the fields the kernel uses are kept:
//! `private` and the 2007 thread entry points are never read.

use core::mem::size_of;
use kernel::{bindings, prelude::*};

/// Reads `N` words of user memory at `addr` (syslet/uaccess.c).
///
/// Errors: `EFAULT`.
pub(crate) fn read_words<const N: usize>(addr: usize) -> Result<[usize; N]> {
    let mut w = [0usize; N];
    // SAFETY: `w` has room for `N` words; the C side checks `addr`.
    let r = unsafe { bindings::syslet_read_words(w.as_mut_ptr() as _, addr as _, N as u32) };
    if r == 0 {
        Ok(w)
    } else {
        Err(EFAULT)
    }
}

/// Reads the word of user memory at `addr`. Errors: `EFAULT`.
pub(crate) fn get_word(addr: usize) -> Result<usize> {
    let mut w = 0usize;
    // SAFETY: `w` is a word; the C side checks `addr`.
    if unsafe { bindings::syslet_get_word(&mut w as *mut usize as _, addr as _) } == 0 {
        Ok(w)
    } else {
        Err(EFAULT)
    }
}

/// Writes `v` to the word of user memory at `addr`. Errors: `EFAULT`.
pub(crate) fn put_word(addr: usize, v: usize) -> Result {
    // SAFETY: the C side checks `addr`.
    if unsafe { bindings::syslet_put_word(addr as _, v as _) } == 0 {
        Ok(())
    } else {
        Err(EFAULT)
    }
}

/// `SYSLET_*` flag bits of `struct syslet_uatom`.
pub(crate) mod flags {
    /// Go asynchronous at once.
    pub(crate) const ASYNC: usize = 0x01;
    /// Never go asynchronous while this atom runs.
    pub(crate) const SYNC: usize = 0x02;
    /// No ring entry if the chain ends here.
    pub(crate) const NO_COMPLETE: usize = 0x04;
    /// Stop if the result is not zero.
    pub(crate) const STOP_ON_NONZERO: usize = 0x08;
    /// Stop if the result is zero.
    pub(crate) const STOP_ON_ZERO: usize = 0x10;
    /// Stop if the result is negative.
    pub(crate) const STOP_ON_NEGATIVE: usize = 0x20;
    /// Stop if the result is zero or negative.
    pub(crate) const STOP_ON_NON_POSITIVE: usize = 0x40;
    /// On a stop condition continue at the atom after this one in memory.
    pub(crate) const SKIP_TO_NEXT_ON_STOP: usize = 0x80;
    /// Every defined bit; others give `-EINVAL`.
    pub(crate) const ALL: usize = 0xff;
}

/// Size of `struct syslet_uatom` on x86-64.
pub(crate) const ATOM_SIZE: usize = 11 * size_of::<usize>();
/// Number of argument pointers in an atom.
pub(crate) const MAX_ARGS: usize = 6;

/// One atom as the kernel uses it.
#[derive(Clone, Copy)]
pub(crate) struct Atom {
    /// `SYSLET_*` bits, validated.
    pub(crate) flags: usize,
    /// System call number.
    pub(crate) nr: usize,
    /// Where to store the result; 0 for nowhere.
    pub(crate) ret_ptr: usize,
    /// The next atom; 0 ends the chain.
    pub(crate) next: usize,
    /// The values its argument pointers (up to the first NULL) point to,
    /// read with the atom; `None` if one of them could not be read (the
    /// atom then fails with `EFAULT` when it runs).
    pub(crate) args: Option<[usize; MAX_ARGS]>,
}

impl Atom {
    /// Reads and validates the atom at user address `addr`.
    ///
    /// Errors: `EFAULT` if it cannot be read, `EINVAL` for unknown flag
    /// bits or for `SYSLET_ASYNC` together with `SYSLET_SYNC`.
    pub(crate) fn read(addr: usize) -> Result<Atom> {
        let mut words = [0usize; 11];
        let mut args = [0usize; MAX_ARGS];
        // SAFETY: the buffers have the sizes syslet_read_atom() fills; it
        // checks every user address itself.
        let r = unsafe {
            bindings::syslet_read_atom(words.as_mut_ptr() as _, args.as_mut_ptr() as _, addr as _)
        };
        if r < 0 {
            return Err(EFAULT);
        }
        let mut atom = Self::decode(&words)?;
        atom.args = (r == 0).then_some(args);
        Ok(atom)
    }

    /// Decodes the words of a `struct syslet_uatom`.
    pub(crate) fn decode(w: &[usize; 11]) -> Result<Atom> {
        let f = w[0];
        if f & !flags::ALL != 0 || (f & flags::ASYNC != 0 && f & flags::SYNC != 0) {
            return Err(EINVAL);
        }
        Ok(Atom {
            flags: f,
            nr: w[1],
            ret_ptr: w[2],
            next: w[3],
            args: Some([0; MAX_ARGS]),
        })
    }
}

/// Size of one completion ring slot (a pointer).
pub(crate) const SLOT_SIZE: usize = size_of::<usize>();

/// The part of `struct async_head_user` the kernel uses.
#[derive(Clone, Copy)]
pub(crate) struct AsyncHead {
    /// Next slot the kernel fills.
    pub(crate) kernel_ring_idx: usize,
    /// User address of the ring.
    pub(crate) completion_ring: usize,
    /// Number of slots, at least one.
    pub(crate) slots: usize,
}

impl AsyncHead {
    /// Reads the head at `addr` and checks the ring's geometry.
    ///
    /// Errors: `EFAULT` if it cannot be read, or if the ring wraps the
    /// address space; `EINVAL` if `ring_size_bytes` is zero or not a whole
    /// number of slots.
    pub(crate) fn read(addr: usize) -> Result<AsyncHead> {
        // Only the first four words are the kernel's business; reading
        // the rest (user-owned, `head_stack` ...) would only cost.
        let w: [usize; 4] = read_words(addr)?;
        let (ring, size) = (w[2], w[3]);
        if size == 0 || size % SLOT_SIZE != 0 {
            return Err(EINVAL);
        }
        ring.checked_add(size).ok_or(EFAULT)?;
        Ok(AsyncHead {
            kernel_ring_idx: w[0],
            completion_ring: ring,
            slots: size / SLOT_SIZE,
        })
    }

    /// User address of the slot the kernel fills next.
    pub(crate) fn next_slot(&self) -> usize {
        // Cannot overflow: `read` checked `completion_ring + size`.
        self.completion_ring + crate::ring::slot(self.kernel_ring_idx, self.slots) * SLOT_SIZE
    }

    /// Checks that the slot the kernel fills next can be read, so that a
    /// bad ring pointer fails at submission with `EFAULT` rather than
    /// losing a completion later.
    pub(crate) fn check_ring(&self) -> Result {
        get_word(self.next_slot())?;
        Ok(())
    }
}
