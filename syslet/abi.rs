// SPDX-License-Identifier: GPL-2.0

//! The user ABI of [`include/uapi/linux/syslet.h`](srctree/include/uapi/linux/syslet.h),
//! decoded from user memory.
//!
//! Atoms and heads are read as arrays of words (syslet/uaccess.c): a
//! head is decoded field by field; an atom is read in place into an
//! [`Atom`], whose first words mirror `struct syslet_uatom` and whose
//! flags are checked before it runs. No user-controlled padding reaches
//! the kernel. Only the fields the kernel uses are read: `private` and
//! the 2007 thread entry points never are.
//!
//! The hot path reads in as few user-access windows as it can: an
//! `async_exec()` reads the head, the ring slot it fills next and the
//! first atom in one ([`read_submission`]); between two atoms one window
//! stores the result and reads the next atom ([`Atom::store_and_read`]).

use core::{
    mem::{size_of, MaybeUninit},
    ptr,
};
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

/// One atom as the kernel uses it, laid out as syslet/uaccess.c reads
/// it: the words of `struct syslet_uatom` the kernel reads (all but
/// `private`), then the values the argument pointers point to. A chain
/// reads each atom into the same `Atom`, in place, never copying it
/// ([`crate::tuning`]).
#[repr(C)]
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
    /// The argument pointers (words 4-9 of the atom).
    arg_ptrs: [usize; MAX_ARGS],
    /// The values the argument pointers point to, up to the first NULL
    /// one; 0 after it.
    pub(crate) args: [usize; MAX_ARGS],
    /// Whether `args` could be read; if not, the atom fails with `EFAULT`
    /// when it runs.
    pub(crate) args_read: bool,
}

/// What `syslet_store_read_atom()` and `syslet_read_submission()` report.
type UserRead = u32;

/// Words of the head the kernel reads.
const HEAD_WORDS: usize = bindings::SYSLET_HEAD_WORDS as usize;

// The C reads fill `flags` .. `arg_ptrs` as the `SYSLET_ATOM_WORDS` words
// of an atom the kernel reads (all but `private`).
const _: () =
    assert!(core::mem::offset_of!(Atom, args) == bindings::SYSLET_ATOM_WORDS as usize * size_of::<usize>());

/// Where the chain goes after an atom ran.
pub(crate) enum AfterAtom {
    /// The result could not be stored at `ret_ptr`.
    StoreFault,
    /// The chain ends (result stored).
    End,
    /// The next atom was read into the chain's `Atom` (result stored).
    Next,
    /// The next atom could not be read (`EFAULT`) or has bad flags
    /// (`EINVAL`); the result was stored. The chain's `Atom` holds
    /// whatever was read of it.
    NextFault(Error),
}

impl Atom {
    /// An atom with these fields and no arguments (the KUnit suite's).
    #[cfg(CONFIG_SYSLET_KUNIT_TEST)]
    pub(crate) fn with(flags: usize, next: usize) -> Atom {
        Atom { flags, next, ..Self::empty() }
    }

    /// All zeroes.
    pub(crate) const fn empty() -> Atom {
        Atom {
            flags: 0,
            nr: 0,
            ret_ptr: 0,
            next: 0,
            arg_ptrs: [0; MAX_ARGS],
            args: [0; MAX_ARGS],
            args_read: false,
        }
    }

    /// Reads and validates the atom at user address `addr` into `into`.
    ///
    /// Errors: `EFAULT` if it cannot be read, `EINVAL` for unknown flag
    /// bits or for `SYSLET_ASYNC` together with `SYSLET_SYNC`.
    pub(crate) fn read(addr: usize, into: &mut MaybeUninit<Atom>) -> Result<&mut Atom> {
        let atom = into.write(Self::empty());
        match Self::store_and_read(0, 0, addr, atom) {
            AfterAtom::Next => Ok(atom),
            AfterAtom::NextFault(e) => Err(e),
            AfterAtom::StoreFault | AfterAtom::End => Err(EFAULT),
        }
    }

    /// Stores `ret` at user address `ret_ptr` (0: nowhere) and reads the
    /// atom at `next` (0: the chain ends) into `into`, in one user-access
    /// window.
    #[inline(always)]
    pub(crate) fn store_and_read(ret_ptr: usize, ret: usize, next: usize, into: &mut Atom) -> AfterAtom {
        // SAFETY: `into` starts with `SYSLET_ATOM_WORDS` words followed by
        // `MAX_ARGS` words (`#[repr(C)]`, checked above), the buffers
        // syslet_store_read_atom() fills (the first pointer is derived
        // from the whole `Atom`, which it writes beyond `flags`); it
        // checks every user address itself.
        let r: UserRead = unsafe {
            bindings::syslet_store_read_atom(
                ret_ptr as _,
                ret as _,
                ptr::from_mut(into).cast(),
                into.args.as_mut_ptr().cast(),
                next as _,
            ) as u32
        };
        if r == bindings::syslet_uread_SYSLET_UREAD_OK && next != 0 {
            // The common case first: one test.
            return into.read_as(true);
        }
        match r {
            bindings::syslet_uread_SYSLET_UREAD_STORE_FAULT => AfterAtom::StoreFault,
            _ if next == 0 => AfterAtom::End,
            bindings::syslet_uread_SYSLET_UREAD_ARG_FAULT => into.read_as(false),
            _ => AfterAtom::NextFault(EFAULT),
        }
    }

    /// An atom just read (its arguments too, if `args_read`): the next
    /// one of the chain, or `NextFault` for bad flags.
    #[inline(always)]
    fn read_as(&mut self, args_read: bool) -> AfterAtom {
        self.args_read = args_read;
        match self.check() {
            Ok(()) => AfterAtom::Next,
            Err(e) => AfterAtom::NextFault(e),
        }
    }

    /// Checks the flags read: `EINVAL` for unknown bits, or for
    /// `SYSLET_ASYNC` together with `SYSLET_SYNC` (one test for both).
    #[inline(always)]
    pub(crate) fn check(&self) -> Result {
        const _: () = assert!(flags::SYNC == flags::ASYNC << 1);
        let f = self.flags;
        if (f & !flags::ALL) | (f & (f >> 1) & flags::ASYNC) != 0 {
            return Err(EINVAL);
        }
        Ok(())
    }
}

/// Reads what `async_exec()` reads before it runs anything: the head at
/// `ahu`, the ring slot it fills next and the first atom, at `first`,
/// into `atom`, in one user-access window. Returns the atom.
///
/// The atom is read into the caller's storage, not returned by value:
/// moving it (17 words) would compile to a `rep movs` ([`crate::tuning`]).
///
/// Errors, in this order: `EFAULT` for an unreadable head, `EINVAL` (or
/// `EFAULT`, see [`AsyncHead::decode`]) for a bad ring geometry, `EFAULT`
/// for an unreadable ring slot or atom, `EINVAL` for the atom's flags. An
/// unreadable argument fails when the atom runs.
pub(crate) fn read_submission(ahu: usize, first: usize, atom: &mut MaybeUninit<Atom>) -> Result<&mut Atom> {
    let mut head = [0usize; HEAD_WORDS];
    let mut slot = 0usize;
    let words = atom.as_mut_ptr();
    // SAFETY: `words` points to an `Atom`, whose words and arguments
    // syslet_read_submission() fills as in `Atom::store_and_read` (raw
    // pointers: it is not initialized yet); `head` and `slot` have the
    // sizes it fills; it checks every user address itself.
    let r: UserRead = unsafe {
        bindings::syslet_read_submission(
            head.as_mut_ptr() as _,
            &mut slot as *mut usize as _,
            words.cast(),
            ptr::addr_of_mut!((*words).args).cast(),
            ahu as _,
            first as _,
        ) as u32
    };
    // The C side refuses exactly the heads `AsyncHead::decode` does
    // (`HEAD_INVALID`, decoded here for its error), so the head of any
    // other result is valid and is not decoded again.
    let args_read = match r {
        bindings::syslet_uread_SYSLET_UREAD_OK => true,
        bindings::syslet_uread_SYSLET_UREAD_ARG_FAULT => false,
        bindings::syslet_uread_SYSLET_UREAD_HEAD_INVALID => return AsyncHead::decode(&head).and(Err(EINVAL)),
        // The head, the ring slot or the atom could not be read.
        _ => return Err(EFAULT),
    };
    // SAFETY: with the atom read (`OK` or `ARG_FAULT`), the C side wrote
    // every word and every argument (0 for those it did not read), and
    // `args_read` is the one field left.
    let atom = unsafe {
        ptr::addr_of_mut!((*words).args_read).write(args_read);
        atom.assume_init_mut()
    };
    atom.check()?;
    Ok(atom)
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
