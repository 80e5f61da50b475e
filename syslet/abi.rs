// SPDX-License-Identifier: GPL-2.0

//! The user ABI of [`include/uapi/linux/syslet.h`](srctree/include/uapi/linux/syslet.h),
//! decoded from user memory.
//!
//! Atoms and heads are read as arrays of words (syslet/uaccess.c) and
//! decoded field by field, so no user-controlled padding reaches the
//! kernel. Only the fields the kernel uses are read: `private` and the
//! 2007 thread entry points never are.
//!
//! The hot path reads in as few user-access windows as it can: an
//! `async_exec()` reads the head, the ring slot it fills next and the
//! first atom in one ([`Submission`]); between two atoms one window
//! stores the result and reads the next atom ([`Atom::store_and_read`]).

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

/// What `syslet_store_read_atom()` and `syslet_read_submission()` report.
type UserRead = u32;

/// Words of an atom the kernel reads (all but `private`).
const ATOM_WORDS: usize = bindings::SYSLET_ATOM_WORDS as usize;
/// Words of the head the kernel reads.
const HEAD_WORDS: usize = bindings::SYSLET_HEAD_WORDS as usize;

/// Where the chain goes after an atom ran.
pub(crate) enum AfterAtom {
    /// The result could not be stored at `ret_ptr`.
    StoreFault,
    /// The chain ends (result stored).
    End,
    /// The next atom, read (result stored).
    Next(Atom),
    /// The next atom could not be read (`EFAULT`) or has bad flags
    /// (`EINVAL`); the result was stored.
    NextFault(Error),
}

impl Atom {
    /// Reads and validates the atom at user address `addr`.
    ///
    /// Errors: `EFAULT` if it cannot be read, `EINVAL` for unknown flag
    /// bits or for `SYSLET_ASYNC` together with `SYSLET_SYNC`.
    pub(crate) fn read(addr: usize) -> Result<Atom> {
        match Self::store_and_read(0, 0, addr) {
            AfterAtom::Next(atom) => Ok(atom),
            AfterAtom::NextFault(e) => Err(e),
            AfterAtom::StoreFault | AfterAtom::End => Err(EFAULT),
        }
    }

    /// Stores `ret` at user address `ret_ptr` (0: nowhere) and reads the
    /// atom at `next` (0: the chain ends), in one user-access window.
    pub(crate) fn store_and_read(ret_ptr: usize, ret: usize, next: usize) -> AfterAtom {
        let mut words = [0usize; ATOM_WORDS];
        let mut args = [0usize; MAX_ARGS];
        // SAFETY: the buffers have the sizes syslet_store_read_atom()
        // fills; it checks every user address itself.
        let r: UserRead = unsafe {
            bindings::syslet_store_read_atom(
                ret_ptr as _,
                ret as _,
                words.as_mut_ptr() as _,
                args.as_mut_ptr() as _,
                next as _,
            ) as u32
        };
        match r {
            bindings::syslet_uread_SYSLET_UREAD_STORE_FAULT => AfterAtom::StoreFault,
            _ if next == 0 => AfterAtom::End,
            bindings::syslet_uread_SYSLET_UREAD_OK | bindings::syslet_uread_SYSLET_UREAD_ARG_FAULT => {
                match Self::decode(&words, (r == bindings::syslet_uread_SYSLET_UREAD_OK).then_some(args)) {
                    Ok(atom) => AfterAtom::Next(atom),
                    Err(e) => AfterAtom::NextFault(e),
                }
            }
            _ => AfterAtom::NextFault(EFAULT),
        }
    }

    /// Decodes the words of a `struct syslet_uatom` and the values its
    /// argument pointers point to (`None`: one could not be read).
    pub(crate) fn decode(w: &[usize; ATOM_WORDS], args: Option<[usize; MAX_ARGS]>) -> Result<Atom> {
        let f = w[0];
        if f & !flags::ALL != 0 || (f & flags::ASYNC != 0 && f & flags::SYNC != 0) {
            return Err(EINVAL);
        }
        Ok(Atom {
            flags: f,
            nr: w[1],
            ret_ptr: w[2],
            next: w[3],
            args,
        })
    }
}

/// What `async_exec()` reads before it runs anything.
pub(crate) struct Submission {
    /// The first atom.
    pub(crate) first: Atom,
}

impl Submission {
    /// Reads the head at `ahu`, the ring slot it fills next and the atom
    /// at `first`, in one user-access window.
    ///
    /// Errors, in this order: `EFAULT` for an unreadable head, `EINVAL`
    /// (or `EFAULT`, see [`AsyncHead::decode`]) for a bad ring geometry,
    /// `EFAULT` for an unreadable ring slot or atom, `EINVAL` for the
    /// atom's flags. An unreadable argument fails when the atom runs.
    pub(crate) fn read(ahu: usize, first: usize) -> Result<Submission> {
        let mut head = [0usize; HEAD_WORDS];
        let mut slot = 0usize;
        let mut words = [0usize; ATOM_WORDS];
        let mut args = [0usize; MAX_ARGS];
        // SAFETY: the buffers have the sizes syslet_read_submission()
        // fills; it checks every user address itself.
        let r: UserRead = unsafe {
            bindings::syslet_read_submission(
                head.as_mut_ptr() as _,
                &mut slot as *mut usize as _,
                words.as_mut_ptr() as _,
                args.as_mut_ptr() as _,
                ahu as _,
                first as _,
            ) as u32
        };
        match r {
            bindings::syslet_uread_SYSLET_UREAD_HEAD_FAULT => return Err(EFAULT),
            // The C side refuses exactly what `decode` does.
            bindings::syslet_uread_SYSLET_UREAD_HEAD_INVALID => {
                return AsyncHead::decode(&head).and(Err(EINVAL))
            }
            _ => {}
        }
        AsyncHead::decode(&head)?;
        let args = match r {
            bindings::syslet_uread_SYSLET_UREAD_OK => Some(args),
            bindings::syslet_uread_SYSLET_UREAD_ARG_FAULT => None,
            _ => return Err(EFAULT),
        };
        Ok(Submission { first: Atom::decode(&words, args)? })
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
        Self::decode(&read_words(addr)?)
    }

    /// Decodes the first [`HEAD_WORDS`] words of a head: `EINVAL` if
    /// `ring_size_bytes` is zero or not a whole number of slots, `EFAULT`
    /// if the ring wraps the address space.
    pub(crate) fn decode(w: &[usize; HEAD_WORDS]) -> Result<AsyncHead> {
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
}
