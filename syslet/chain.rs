// SPDX-License-Identifier: GPL-2.0

//! How a chain moves from one atom to the next: the stop conditions and
//! `SYSLET_SKIP_TO_NEXT_ON_STOP`. Pure functions, tested by KUnit.
//!
//! After an atom ran with result `ret`:
//! * if one of its `SYSLET_STOP_ON_*` conditions holds, the chain stops,
//!   unless `SYSLET_SKIP_TO_NEXT_ON_STOP` is set: then it continues with
//!   the atom that follows in memory (`atom + 1`), which is how chains
//!   branch;
//! * otherwise it continues at `next`, and ends when `next` is NULL.
//!
//! The atom the chain ends at is the one `async_exec()` reports.

use crate::abi::{flags, Atom, ATOM_SIZE};
use kernel::prelude::*;

/// Whether the `SYSLET_STOP_ON_*` bits of `f` stop the chain on `ret`.
pub(crate) fn stops(f: usize, ret: isize) -> bool {
    const ANY: usize = flags::STOP_ON_NONZERO
        | flags::STOP_ON_ZERO
        | flags::STOP_ON_NEGATIVE
        | flags::STOP_ON_NON_POSITIVE;
    if f & ANY == 0 {
        return false;
    }
    (f & flags::STOP_ON_NONZERO != 0 && ret != 0)
        || (f & flags::STOP_ON_ZERO != 0 && ret == 0)
        || (f & flags::STOP_ON_NEGATIVE != 0 && ret < 0)
        || (f & flags::STOP_ON_NON_POSITIVE != 0 && ret <= 0)
}

/// Where a chain goes after an atom.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Next {
    /// Run the atom at this user address.
    Atom(usize),
    /// The chain ends at the atom just run.
    End,
}

/// The successor of the atom at `addr` that returned `ret`.
///
/// Errors: `EFAULT` when `atom + 1` would wrap the address space.
pub(crate) fn next(addr: usize, atom: &Atom, ret: isize) -> Result<Next> {
    if stops(atom.flags, ret) {
        if atom.flags & flags::SKIP_TO_NEXT_ON_STOP != 0 {
            return addr.checked_add(ATOM_SIZE).map(Next::Atom).ok_or(EFAULT);
        }
        return Ok(Next::End);
    }
    Ok(if atom.next == 0 { Next::End } else { Next::Atom(atom.next) })
}

/// KUnit entry points: the C suite (`syslet_kunit.c`) calls these.
#[cfg(CONFIG_SYSLET_KUNIT_TEST)]
mod kunit_hooks {
    use super::*;

    /// `stops()` for the KUnit suite.
    #[no_mangle]
    pub extern "C" fn syslet_kunit_stops(f: usize, ret: isize) -> bool {
        stops(f, ret)
    }

    /// `next()` for the KUnit suite: the next address, 0 for the end of
    /// the chain, or a negative errno.
    #[no_mangle]
    pub extern "C" fn syslet_kunit_next(addr: usize, f: usize, next_ptr: usize, ret: isize) -> isize {
        let atom = Atom::with(f, next_ptr);
        match next(addr, &atom, ret) {
            Ok(Next::Atom(a)) => a as isize,
            Ok(Next::End) => 0,
            Err(e) => e.to_errno() as isize,
        }
    }
}
#[cfg(CONFIG_SYSLET_KUNIT_TEST)]
pub use kunit_hooks::{syslet_kunit_next, syslet_kunit_stops};
